// The agent desktop: signs in with an API token, then draws the desk the ACD pushes over
// GET /api/v1/agents/{agent}/events (Server-Sent Events read with fetch, so the token goes in the
// Authorization header, never in the URL). One stream, reconnected if it drops; only the callback
// list, which the stream does not carry, is fetched again now and then (see loadCallbacks).
"use strict";

const API = "/api/v1";
const STATE_LABELS = {
  logged_out: "logged out", ready: "ready", reserved: "ringing",
  on_call: "on call", wrap_up: "wrap-up", paused: "paused",
};
const STOPPING = new Set([401, 403, 404]); // no point reconnecting: the token or the agent is wrong

// For tests and curious people: what the page has seen.
// callbacksEveryMs: how often the callback list is fetched again (read at each fetch).
window.agentDesk = { loadedAt: Date.now(), frames: 0, desk: null, streams: 0, callbacksEveryMs: 15000 };

const $ = (id) => document.getElementById(id);
let session = null; // {token, agent}
let stream = null; // the AbortController of the open stream
let clockOffset = 0; // this browser's clock minus the ACD's
let formCall = null; // the call the wrap-up form was filled for
let customerForm = null; // {call, id}: the customer form is open for this call (id null: a new customer)

// The one row of a table with nothing to list: its text across the table's seven columns.
function emptyRow(text) {
  const tr = document.createElement("tr");
  const td = document.createElement("td");
  td.colSpan = 7;
  td.className = "muted";
  td.textContent = text;
  tr.append(td);
  return tr;
}

function say(text, kind = "ok") {
  const box = $("message");
  box.textContent = text;
  box.dataset.kind = kind;
  box.hidden = !text;
}

function feed(state, text) {
  $("feed").dataset.state = state;
  $("feed").textContent = text;
}

async function api(method, path, body) {
  const init = { method, headers: { Authorization: `Bearer ${session.token}` } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (_) {
    return { status: 0, ok: false, data: { message: "the ACD cannot be reached" } };
  }
  let data = null;
  try { data = await response.json(); } catch (_) { data = null; }
  return { status: response.status, ok: response.ok, data };
}

function refusal(status, data) {
  const message = data && data.message ? data.message : `the ACD answered ${status}`;
  return status ? `${status}: ${message}` : message;
}

// -- signing in and out ------------------------------------------------------------------------

async function signIn(token, agent) {
  session = { token, agent };
  let answer;
  if (agent) {
    answer = await api("GET", `/agents/${encodeURIComponent(agent)}`);
  } else {
    answer = await api("GET", "/agents");
    if (answer.ok) {
      const agents = answer.data.agents;
      if (agents.length !== 1) {
        session = null;
        say(`This token sees ${agents.length} agents: enter the agent id.`, "error");
        return false;
      }
      session.agent = agents[0].id;
    }
  }
  if (!answer.ok) {
    session = null;
    say(refusal(answer.status, answer.data), "error");
    return false;
  }
  sessionStorage.setItem("acd.token", session.token);
  sessionStorage.setItem("acd.agent", session.agent);
  $("sign-in").hidden = true;
  $("desk").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = session.agent;
  say("");
  connect();
  loadTransferQueues();
  loadCallbacks();
  loadScorecard();
  return true;
}

// Suggestions for the transfer's queue: the queues this token sees (GET /queues; an agent's own);
// any other queue's name may be typed in.
async function loadTransferQueues() {
  const answer = await api("GET", "/queues");
  if (!answer.ok) return;
  $("transfer-queues").replaceChildren(...answer.data.queues.map((q) => new Option(q.name)));
}

function signOut(text, kind) {
  if (stream) stream.abort();
  stream = null;
  session = null;
  if (callbacksTimer !== null) clearTimeout(callbacksTimer);
  callbacksTimer = null;
  sessionStorage.removeItem("acd.token");
  sessionStorage.removeItem("acd.agent");
  $("desk").hidden = true;
  $("sign-in").hidden = false;
  $("sign-out").hidden = true;
  $("who").textContent = "";
  feed("off", "signed out");
  say(text || "", kind);
}

// -- the stream --------------------------------------------------------------------------------

function parseMessages(buffer, onMessage) {
  // Complete messages end with a blank line; the rest waits for more bytes.
  const parts = buffer.split(/\r?\n\r?\n/);
  const rest = parts.pop();
  for (const part of parts) {
    let event = "message";
    const data = [];
    for (const line of part.split(/\r?\n/)) {
      if (line.startsWith(":")) continue; // keepalive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length) onMessage(event, data.join("\n"));
  }
  return rest;
}

async function connect() {
  const controller = new AbortController();
  stream = controller;
  feed("connecting", "connecting…");
  let retry = 2000;
  try {
    const response = await fetch(`${API}/agents/${encodeURIComponent(session.agent)}/events`, {
      headers: { Authorization: `Bearer ${session.token}`, Accept: "text/event-stream" },
      signal: controller.signal,
    });
    if (!response.ok) {
      let data = null;
      try { data = await response.json(); } catch (_) { data = null; }
      if (STOPPING.has(response.status)) {
        signOut(refusal(response.status, data), "error");
        return;
      }
      say(refusal(response.status, data), "error");
    } else {
      window.agentDesk.streams += 1;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer = parseMessages(buffer + decoder.decode(value, { stream: true }), (event, data) => {
          if (event === "desk") {
            draw(JSON.parse(data));
            feed("live", "live");
          }
        });
      }
    }
  } catch (error) {
    if (controller.signal.aborted) return; // signed out
  }
  if (stream !== controller) return;
  feed("lost", "reconnecting…");
  setTimeout(() => { if (stream === controller) connect(); }, retry);
}

// -- drawing -----------------------------------------------------------------------------------

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

function tick() {
  const desk = window.agentDesk.desk;
  const since = desk && desk.agent.since;
  $("in-state").textContent = since ? duration((Date.now() - clockOffset - Date.parse(since)) / 1000) : "";
}

function drawState(agent, queues) {
  const state = $("state");
  state.dataset.state = agent.state;
  const label = STATE_LABELS[agent.state] || agent.state;
  state.textContent = agent.reason && agent.state === "paused" ? `${label} (${agent.reason})` : label;
  $("who").textContent = `${agent.name} (${agent.id})${agent.reachable ? "" : " – phone unreachable"}`;
  $("queues").textContent = queues.length ? `queues: ${queues.join(", ")}` : "";
  const enabled = {
    login: agent.state === "logged_out",
    ready: agent.state === "wrap_up",
    resume: agent.state === "paused",
    pause: agent.state !== "logged_out" && agent.state !== "paused",
    logout: agent.state !== "logged_out",
  };
  for (const button of document.querySelectorAll("#actions button")) {
    button.disabled = !enabled[button.dataset.action];
  }
}

function drawCustomer(call) {
  const box = $("customer");
  const customer = call.customer;
  box.dataset.customer = customer ? customer.id : "";
  box.dataset.lookup = call.lookup;
  $("customer-card").hidden = !customer;
  const none = {
    pending: "looking up the caller…",
    unknown: "the caller is not in the customer directory",
    unavailable: "customer records cannot be read now",
    found: "the caller is not in the customer directory",
  };
  $("customer-none").textContent = customer ? "" : none[call.lookup] || "";
  $("customer-notes").textContent = customer && customer.notes ? customer.notes : "";
  if (customerForm !== null && customerForm.call !== call.id) closeCustomerForm();
  // A record to edit, or (the caller not in the directory) a new one to start with the caller's number.
  const editable = customer || ((call.lookup === "found" || call.lookup === "unknown") && call.caller);
  $("customer-edit").hidden = !editable || (customerForm !== null && customerForm.call === call.id);
  $("customer-edit").textContent = customer ? "Edit customer" : "New customer";
  if (customer) {
    $("customer-name").textContent = customer.name || "(no name)";
    $("customer-tier").textContent = customer.tier;
    $("customer-tier").dataset.tier = customer.tier;
    $("customer-number").textContent = customer.phone_number;
    $("customer-since").textContent = when(customer.since);
    $("customer-id").textContent = customer.id;
  }
  const rows = call.history.map((h) => {
    const tr = document.createElement("tr");
    for (const text of [when(h.arrived_at), h.queue, h.outcome || "open", h.agent_id || "",
      h.disposition || "", h.notes || ""]) {
      const td = document.createElement("td");
      td.textContent = text;
      tr.append(td);
    }
    const td = document.createElement("td");
    if (h.recorded) {
      const play = document.createElement("button");
      play.type = "button";
      play.className = "play";
      play.textContent = "play";
      play.addEventListener("click", () => playRecording(h.id));
      td.append(play);
    }
    tr.append(td);
    return tr;
  });
  if (!rows.length) rows.push(emptyRow(customer ? "no earlier interactions" : ""));
  document.querySelector("#history tbody").replaceChildren(...rows);
}

// A call's recording (GET /interactions/{id}/recording): fetched with the token, played from a
// blob: URL (a URL with the token in it would end up in logs). Supervisors and admins of the call's
// queue may listen; an agent only to their own calls, when the ACD allows it.
let playing = null; // the blob: URL in the player
async function playRecording(id) {
  let response;
  try {
    response = await fetch(`${API}/interactions/${encodeURIComponent(id)}/recording`,
      { headers: { Authorization: `Bearer ${session.token}` } });
  } catch (_) {
    say("the ACD cannot be reached", "error");
    return;
  }
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch (_) { data = null; }
    say(refusal(response.status, data), "error");
    return;
  }
  const player = $("player");
  if (playing) URL.revokeObjectURL(playing);
  playing = URL.createObjectURL(await response.blob());
  player.src = playing;
  player.dataset.interaction = id;
  player.hidden = false;
  player.play().catch(() => {}); // a browser may want a gesture first: the controls are there
}

// Pause or resume the recording of the call in hand (a card number is being read out).
async function recording(action) {
  const call = $("call").dataset.call;
  if (!call) return;
  const { status, ok, data } = await api("POST", `/calls/${encodeURIComponent(call)}/recording`, { action });
  if (ok) say(data.recording === "paused" ? "recording paused" : "recording resumed");
  else say(refusal(status, data), "error");
}

function drawCall(call, state) {
  const article = $("call");
  article.hidden = !call;
  article.dataset.call = call ? call.id : "";
  $("recording-controls").hidden = !call || state !== "on_call";
  if (!call) {
    if (customerForm !== null) closeCustomerForm();
    return;
  }
  article.dataset.ringing = String(call.ringing);
  $("call-title").textContent = call.ringing ? "Incoming call" : "Call";
  $("call-caller").textContent = call.caller || (call.lookup === "pending" ? "…" : "withheld or unknown");
  $("call-queue").textContent = call.queue || "";
  $("call-priority").textContent = call.priority === null ? "" : String(call.priority);
  $("call-wait").textContent = duration(call.wait_seconds);
  $("call-id").textContent = call.id;
  drawCustomer(call);
}

// The wrap-up picker: the codes of the call's queue catalogue ("kind/sub-code"), grouped by kind,
// each with what the phone dials for it: *55<n>, n its place in the catalogue (docs/dialplan.md).
function drawCodes(codes) {
  const select = $("wrapup-code");
  const shown = Array.from(select.querySelectorAll("option[data-code]"), (o) => o.value);
  if (shown.length === codes.length && shown.every((c, i) => c === codes[i])) return;
  const chosen = select.value;
  select.replaceChildren(new Option("choose…", ""));
  const groups = new Map();
  for (const [index, code] of codes.entries()) {
    const kind = code.split("/")[0];
    if (!groups.has(kind)) {
      const group = document.createElement("optgroup");
      group.label = kind;
      groups.set(kind, group);
      select.append(group);
    }
    const option = new Option(`${code} (*55${index + 1})`, code);
    option.dataset.code = "";
    groups.get(kind).append(option);
  }
  if (codes.includes(chosen)) select.value = chosen;
}

function drawWrapup(call, state) {
  const form = $("wrapup");
  const open = Boolean(call) && (state === "on_call" || state === "wrap_up");
  form.hidden = !open;
  if (!open) return;
  if (formCall !== call.id) {
    formCall = call.id;
    form.reset();
  }
  drawCodes(call.dispositions || []);
  form.dataset.call = call.id;
  $("wrapup-submit").textContent = state === "wrap_up" ? "Save and finish wrap-up" : "Save (wrap-up follows the call)";
}

// The transfer of the call in conversation: blind to a queue, an agent or a number the admin allows,
// or attended (a consult first; then "Complete" or "Back to caller") to an agent, to the agent the ACD
// picks for a queue, or to a number the admin allows. The open consult
// comes with the desk (call.consult), so every browser of the agent, and a reload, shows it and its
// buttons, whether it was started here, in another browser or from the phone; they go when the
// consult completes or goes back. Between this desk's request and the PBX's word the consult asked
// for is shown from here (``asked``) for as long as the phone system may take to ring the agent.
const ASKED_MS = 30000;
let asked = null; // {call, agent, at}: a consult this desk asked for, not on the desk yet
let consult = null; // {call, agent}: the consult shown
const TARGETS = ["queue", "agent", "number"];

function drawTransferFields() {
  const attended = $("transfer-kind").value === "attended";
  const to = $("transfer-to").value;
  for (const target of TARGETS) $(`transfer-${target}`).closest("label").hidden = target !== to;
  $("transfer-submit").textContent = attended ? "Consult (attended transfer)" : "Transfer (blind)";
}

function drawTransfer(call, state) {
  const form = $("transfer");
  const open = Boolean(call) && state === "on_call" && !call.ringing;
  const onDesk = open && call.consult ? call.consult : null;
  if (asked !== null && (!open || asked.call !== call.id || onDesk || Date.now() - asked.at > ASKED_MS)) asked = null;
  const shown = onDesk ? { call: call.id, agent: onDesk.target, since: onDesk.since }
    : asked ? { call: asked.call, agent: asked.agent, since: null } : null;
  if (shown === null || consult === null || shown.call !== consult.call || shown.agent !== consult.agent
    || shown.since !== consult.since) {
    for (const id of ["consult-complete", "consult-back"]) $(id).disabled = false;
  }
  consult = shown;
  form.hidden = !open || consult !== null;
  $("consult").hidden = consult === null;
  $("consult").dataset.call = consult ? consult.call : "";
  $("consult").dataset.since = consult && consult.since ? consult.since : "";
  if (consult !== null) {
    $("consult-agent").textContent = consult.agent;
    $("consult-note").textContent = consult.since
      ? "The caller is on hold while you talk with the agent."
      : "The phone system is calling the agent…";
  }
  tickConsult();
  if (!open) {
    form.reset();
    drawTransferFields();
    return;
  }
  form.dataset.call = call.id;
}

async function transfer(event) {
  event.preventDefault();
  const call = $("transfer").dataset.call;
  const kind = $("transfer-kind").value;
  const to = $("transfer-to").value;
  const value = $(`transfer-${to}`).value.trim();
  if (!call || !value) {
    say(`transfer: enter the ${to} to transfer to`, "error");
    return;
  }
  const answer = await api("POST", `/calls/${encodeURIComponent(call)}/transfer`, { kind, target: { [to]: value } });
  if (!answer.ok) {
    say(refusal(answer.status, answer.data), "error");
    return;
  }
  window.agentDesk.transfers = (window.agentDesk.transfers || 0) + 1;
  if (kind === "attended") {
    const whom = to === "queue" ? `the next agent of ${value}` : value;
    asked = { call, agent: whom, at: Date.now() };
    const desk = window.agentDesk.desk;
    if (desk) drawTransfer(desk.call, desk.agent.state);
    say(`consulting ${whom}: the phone system is calling them`);
  } else {
    say(`transfer to ${value}: handed to the phone system`);
  }
}

// The buttons stay disabled until the desk says what the PBX did (the consult gone, or another one).
async function finishConsult(action) {
  if (consult === null) return;
  const { call, agent } = consult;
  for (const id of ["consult-complete", "consult-back"]) $(id).disabled = true;
  const answer = await api("POST", `/calls/${encodeURIComponent(call)}/transfer/${action}`, {});
  asked = null; // finished or refused: from now on the desk alone says whether a consult is open
  if (!answer.ok) {
    for (const id of ["consult-complete", "consult-back"]) $(id).disabled = false;
    say(refusal(answer.status, answer.data), "error");
  } else {
    say(action === "complete" ? `transfer to ${agent}: completed` : "back to the caller");
  }
  const desk = window.agentDesk.desk;
  if (desk) drawTransfer(desk.call, desk.agent.state);
}

function tickConsult() {
  const since = consult && consult.since;
  $("consult-since").textContent = since ? duration((Date.now() - clockOffset - Date.parse(since)) / 1000) : "";
}

// -- scheduled callbacks -------------------------------------------------------------------------
// "Schedule a callback" (POST /callbacks) in one of the agent's queues, the number prefilled with the
// current or last caller's; the list (GET /callbacks) shows the agent's queues' ones, each pending one
// with a cancel button (DELETE /callbacks/{id}).
let lastCaller = ""; // digits of the current or last caller's number
let callbackQueues = "";

function drawCallbackForm(desk) {
  const joined = desk.queues.join("\n");
  if (joined !== callbackQueues) {
    callbackQueues = joined;
    const select = $("cb-queue");
    const chosen = select.value;
    select.replaceChildren(...desk.queues.map((q) => new Option(q)));
    if (desk.queues.includes(chosen)) select.value = chosen;
    else if (desk.call && desk.queues.includes(desk.call.queue)) select.value = desk.call.queue;
  }
  const caller = desk.call && desk.call.caller ? desk.call.caller.replace(/\D/g, "") : "";
  if (caller && caller !== lastCaller) {
    const number = $("cb-number");
    if (!number.value || number.value === lastCaller) number.value = caller; // never over what the agent typed
    if (desk.call.customer && !$("cb-customer").value) $("cb-customer").value = desk.call.customer.name || "";
    if (desk.call.queue && desk.queues.includes(desk.call.queue)) $("cb-queue").value = desk.call.queue;
    lastCaller = caller;
  }
}

// The list follows changes by itself. The stream carries no callbacks: what the list shows (customer,
// note, who scheduled, cancelled and done ones) is in PostgreSQL, not in the core the desk is built
// from, and reading it for every desk built would put the database in each push. So the list is
// fetched again every window.agentDesk.callbacksEveryMs (15 s) while signed in, and at once after
// this desk schedules or cancels one. A refusal or an unreachable ACD
// says so above the list (the rows last fetched stay) and the next try waits twice as long, up to
// eight times the usual pace; a good answer brings the pace back.
let callbacksTimer = null;
let callbacksDelay = 0;

function scheduleCallbacks(ok) {
  if (callbacksTimer !== null) clearTimeout(callbacksTimer);
  callbacksTimer = null;
  if (session === null) return;
  const every = window.agentDesk.callbacksEveryMs;
  callbacksDelay = ok || !callbacksDelay ? every : Math.min(8 * every, callbacksDelay * 2);
  window.agentDesk.callbacksDelayMs = callbacksDelay;
  callbacksTimer = setTimeout(() => { callbacksTimer = null; if (session !== null) loadCallbacks(); }, callbacksDelay);
}

async function loadCallbacks() {
  if (session === null) return;
  const answer = await api("GET", "/callbacks");
  if (session === null) return;
  if (!answer.ok) {
    const problem = $("callback-problem");
    problem.textContent = `The callback list cannot be refreshed: ${refusal(answer.status, answer.data)}`;
    problem.hidden = false;
    window.agentDesk.callbackRefusals = (window.agentDesk.callbackRefusals || 0) + 1;
    scheduleCallbacks(false);
    return;
  }
  scheduleCallbacks(true);
  $("callback-problem").hidden = true;
  const rows = answer.data.callbacks.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.callback = c.id;
    tr.dataset.status = c.status;
    for (const value of [when(c.at), c.queue, c.number, c.customer || "", c.note || "", c.status]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    const td = document.createElement("td");
    if (c.status === "pending") {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "cancel";
      button.textContent = "cancel";
      button.addEventListener("click", () => cancelCallback(c));
      td.append(button);
    }
    tr.append(td);
    return tr;
  });
  if (!rows.length) rows.push(emptyRow("no scheduled callbacks"));
  document.querySelector("#callback-list tbody").replaceChildren(...rows);
  window.agentDesk.callbackLists = (window.agentDesk.callbackLists || 0) + 1;
}

// The agent's own scorecard since local midnight (GET /reports/agents; docs/kpis.md, "Agent scorecard").
function percent(ratio) {
  return ratio === null || ratio === undefined ? "–" : `${Math.round(ratio * 100)} %`;
}

async function loadScorecard() {
  const now = new Date();
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  const until = new Date(now.getTime() + 60000);
  const query = `from=${encodeURIComponent(midnight.toISOString())}&to=${encodeURIComponent(until.toISOString())}`
    + `&agent=${encodeURIComponent(session.agent)}`;
  const answer = await api("GET", `/reports/agents?${query}`);
  if (!answer.ok) {
    say(refusal(answer.status, answer.data), "error");
    return;
  }
  const card = answer.data.scorecards[0];
  const figures = card ? [
    ["answered", String(card.answered)],
    ["average handle time", card.aht === null ? "–" : duration(card.aht)],
    ["wrap-up share", percent(card.wrapup_share)],
    ["missed offers", String(card.missed)],
    ["rejected offers", String(card.rejected)],
    ["occupancy", percent(card.occupancy)],
    ["OTF", percent(card.otf) + (card.otf_pending ? ` (${card.otf_pending} pending)` : "")],
    ...Object.entries(card.pause_by_reason).map(([reason, seconds]) => [`paused: ${reason || "no reason"}`, duration(seconds)]),
    ...Object.entries(card.dispositions).map(([code, calls]) => [`code ${code || "none"}`, String(calls)]),
  ] : [];
  const rows = figures.map(([name, value]) => {
    const tr = document.createElement("tr");
    tr.dataset.figure = name;
    const th = document.createElement("th");
    th.textContent = name;
    const td = document.createElement("td");
    td.textContent = value;
    tr.append(th, td);
    return tr;
  });
  if (!rows.length) rows.push(emptyRow("no calls yet today"));
  document.querySelector("#scorecard-figures tbody").replaceChildren(...rows);
  const still = card ? card.still_handling : 0;
  $("scorecard-open").hidden = still === 0;
  $("scorecard-open").textContent = `${still} call(s) still in talk or wrap-up: not in the figures yet`;
  showObjectives(card);
  window.agentDesk.scorecards = (window.agentDesk.scorecards || 0) + 1;
}

// A figure as its metric's kind reads: a ratio in percent, seconds as a duration, a count as is.
function figure(kind, value) {
  if (value === null || value === undefined) return "–";
  if (kind === "ratio") return percent(value);
  if (kind === "seconds") return duration(value);
  return String(value);
}

// The objectives of the agent's team and the agent's own, each with the agent's figure of today against
// its target (docs/kpis.md, "Agent scorecard"); an agent in no team is told so.
function showObjectives(card) {
  const team = card ? card.team : null;
  $("scorecard-team").textContent = !card ? "" : team ? `team ${team}` : "no team: no team objectives";
  const checks = card ? card.objectives : [];
  const rows = checks.map((c) => {
    const tr = document.createElement("tr");
    tr.dataset.objective = c.objective;
    tr.dataset.met = c.met === null ? "" : String(c.met);
    const result = c.met === null ? "not yet" : c.met ? "met" : "not met";
    for (const value of [c.objective, figure(c.kind, c.value), `${c.comparison} ${figure(c.kind, c.target)}`, result]) {
      const td = document.createElement("td");
      td.textContent = value;
      tr.append(td);
    }
    return tr;
  });
  if (!rows.length) rows.push(emptyRow(!card ? "no calls yet today" : team ? "none for this team" : "none"));
  document.querySelector("#scorecard-objectives tbody").replaceChildren(...rows);
}

async function scheduleCallback(event) {
  event.preventDefault();
  const local = $("cb-at").value;
  const at = local ? new Date(local) : null;
  if (!at || Number.isNaN(at.getTime())) {
    say("callback: choose the date and time to call", "error");
    return;
  }
  const body = { queue: $("cb-queue").value, number: $("cb-number").value.trim(), at: at.toISOString() };
  const customer = $("cb-customer").value.trim();
  const note = $("cb-note").value.trim();
  if (customer) body.customer = customer;
  if (note) body.note = note;
  const answer = await api("POST", "/callbacks", body);
  if (!answer.ok) {
    const fields = answer.data && answer.data.details && answer.data.details.fields;
    const named = fields ? ` (${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ")})` : "";
    say(refusal(answer.status, answer.data) + named, "error");
    return;
  }
  const saved = answer.data.callback;
  $("cb-note").value = "";
  say(`callback scheduled: ${saved.number} in ${saved.queue} at ${when(saved.at)}`);
  await loadCallbacks();
}

async function cancelCallback(callback) {
  const answer = await api("DELETE", `/callbacks/${encodeURIComponent(callback.id)}`);
  if (answer.ok) say(`callback to ${callback.number} at ${when(callback.at)}: cancelled`);
  else say(refusal(answer.status, answer.data), "error");
  await loadCallbacks();
}

function draw(desk) {
  clockOffset = Date.now() - Date.parse(desk.at);
  window.agentDesk.desk = desk;
  window.agentDesk.frames += 1;
  drawState(desk.agent, desk.queues);
  drawCall(desk.call, desk.agent.state);
  drawWrapup(desk.call, desk.agent.state);
  drawTransfer(desk.call, desk.agent.state);
  drawCallbackForm(desk);
  tick();
}

// -- actions -----------------------------------------------------------------------------------

async function act(action) {
  const body = action === "pause" ? { reason: $("pause-reason").value } : undefined;
  const answer = await api("POST", `/agents/${encodeURIComponent(session.agent)}/${action}`, body);
  if (answer.ok) say(`${action}: now ${STATE_LABELS[answer.data.agent.state] || answer.data.agent.state}`);
  else say(refusal(answer.status, answer.data), "error");
}

async function wrapUp(event) {
  event.preventDefault();
  const desk = window.agentDesk.desk;
  const body = {
    code: $("wrapup-code").value,
    notes: $("wrapup-notes").value,
    done: Boolean(desk) && desk.agent.state === "wrap_up",
  };
  const answer = await api("POST", `/agents/${encodeURIComponent(session.agent)}/wrapup`, body);
  if (answer.ok) {
    say(`wrap-up saved: ${body.code}${body.done ? "; ready for the next call" : ""}`);
    window.agentDesk.wrapups = (window.agentDesk.wrapups || 0) + 1;
  } else {
    say(refusal(answer.status, answer.data), "error");
  }
}

// -- the customer record ------------------------------------------------------------------------

function closeCustomerForm() {
  customerForm = null;
  $("customer-form").hidden = true;
  $("customer-form").reset();
}

async function openCustomerForm() {
  const desk = window.agentDesk.desk;
  const call = desk && desk.call;
  if (!call) return;
  const form = $("customer-form");
  form.reset();
  if (call.customer) {
    const answer = await api("GET", `/customers/${encodeURIComponent(call.customer.id)}?changes=0`);
    if (!answer.ok) {
      say(refusal(answer.status, answer.data), "error");
      return;
    }
    const record = answer.data.customer;
    customerForm = { call: call.id, id: record.id };
    $("customer-form-title").textContent = "Edit customer";
    $("cf-name").value = record.name;
    $("cf-tier").value = record.tier;
    $("cf-number").value = record.phone_number;
    $("cf-numbers").value = record.numbers.join(", ");
    $("cf-notes").value = record.notes;
    $("cf-consent-recording").checked = record.consent_recording;
    $("cf-consent-marketing").checked = record.consent_marketing;
  } else {
    customerForm = { call: call.id, id: null };
    $("customer-form-title").textContent = "New customer";
    $("cf-number").value = call.caller || "";
  }
  form.hidden = false;
  $("customer-edit").hidden = true;
  $("cf-name").focus();
}

async function saveCustomer(event) {
  event.preventDefault();
  if (customerForm === null) return;
  const body = {
    phone_number: $("cf-number").value.trim(),
    numbers: $("cf-numbers").value.split(",").map((n) => n.trim()).filter((n) => n),
    name: $("cf-name").value.trim(),
    tier: $("cf-tier").value,
    notes: $("cf-notes").value,
    consent_recording: $("cf-consent-recording").checked,
    consent_marketing: $("cf-consent-marketing").checked,
  };
  const id = customerForm.id;
  const answer = id === null
    ? await api("POST", "/customers", body)
    : await api("PATCH", `/customers/${encodeURIComponent(id)}`, body);
  if (!answer.ok) {
    const fields = answer.data && answer.data.details && answer.data.details.fields;
    const named = fields ? ` (${Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join("; ")})` : "";
    say(refusal(answer.status, answer.data) + named, "error");
    return;
  }
  const saved = answer.data.customer;
  window.agentDesk.customerSaved = saved.id;
  closeCustomerForm();
  $("customer-edit").hidden = false;
  say(`customer saved: ${saved.name || saved.phone_number}${id === null ? " (new)" : ""}`);
}

$("customer-edit").addEventListener("click", openCustomerForm);
$("customer-form").addEventListener("submit", saveCustomer);
$("cf-cancel").addEventListener("click", () => { closeCustomerForm(); $("customer-edit").hidden = false; });

$("sign-in").addEventListener("submit", async (event) => {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  await signIn(token, $("agent").value.trim());
});
$("sign-out").addEventListener("click", () => signOut("signed out"));
for (const button of document.querySelectorAll("#actions button")) {
  button.addEventListener("click", () => act(button.dataset.action));
}
$("wrapup").addEventListener("submit", wrapUp);
for (const button of document.querySelectorAll("[data-recording]")) {
  button.addEventListener("click", () => recording(button.dataset.recording));
}
$("transfer").addEventListener("submit", transfer);
$("transfer-kind").addEventListener("change", drawTransferFields);
$("transfer-to").addEventListener("change", drawTransferFields);
$("consult-complete").addEventListener("click", () => finishConsult("complete"));
$("consult-back").addEventListener("click", () => finishConsult("cancel"));
$("callback-form").addEventListener("submit", scheduleCallback);
$("scorecard-refresh").addEventListener("click", loadScorecard);
drawTransferFields();
setInterval(() => { tick(); tickConsult(); }, 1000);

const kept = sessionStorage.getItem("acd.token");
if (kept) signIn(kept, sessionStorage.getItem("acd.agent") || "");
