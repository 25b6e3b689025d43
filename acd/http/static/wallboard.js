// The wallboard page: draws each board the ACD pushes over Server-Sent Events (/wallboard/events).
// No polling: one stream stays open and is reopened if it drops. The stream needs a bearer token
// (a read-only wallboard token; a supervisor's or an admin's works too); EventSource cannot send
// one, so the stream is read with fetch() and a ReadableStream. The token is typed once and kept in localStorage, never put in a URL.
"use strict";

const STATE_LABELS = {
  logged_out: "logged out", ready: "ready", reserved: "ringing",
  on_call: "on call", wrap_up: "wrap-up", paused: "paused",
};

// Set once when the page loads; a test reads it back to prove the page was never reloaded.
window.wallboardLoadedAt = Date.now();
window.wallboardBoards = 0;

function duration(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(r).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

function percent(ratio) {
  return ratio === null ? "–" : `${(ratio * 100).toFixed(1)} %`;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function otfCell(q) {
  // OTF today: settled verdicts on time and full; the pending ones wait for their repeat window
  const td = cell(percent(q.otf), "otf");
  td.title = `${q.otf_met} of ${q.otf_settled} settled on time and full`;
  if (q.otf_pending > 0) {
    const open = document.createElement("span");
    open.className = "otf-pending";
    open.textContent = ` (${q.otf_pending} pending)`;
    td.append(open);
  }
  return td;
}

function drawQueues(queues) {
  const rows = queues.map((q) => {
    const tr = document.createElement("tr");
    tr.dataset.queue = q.name;
    const sl = document.createElement("span");
    sl.className = `sl ${q.status}`;
    sl.textContent = percent(q.service_level);
    sl.title = `${q.within_sla} of ${q.counted} calls within ${q.threshold} s`;
    const slCell = cell("", "service-level");
    slCell.dataset.status = q.status;
    slCell.append(sl);
    tr.append(
      cell(q.name, "name"),
      cell(String(q.waiting), "waiting"),
      cell(duration(q.oldest_wait), "oldest-wait"),
      slCell,
      cell(`${Math.round(q.target * 100)} % in ${q.threshold} s`, "target"),
      otfCell(q),
      cell(String(q.agents_available), "available"),
    );
    return tr;
  });
  document.querySelector("#queues tbody").replaceChildren(...rows);
}

function drawAgents(agents) {
  const tiles = agents.map((a) => {
    const div = document.createElement("div");
    div.className = `tile ${a.state}${a.reachable ? "" : " unreachable"}`;
    div.dataset.agent = a.id;
    div.dataset.state = a.state;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = a.name;
    const what = document.createElement("div");
    what.className = "what";
    const label = STATE_LABELS[a.state] || a.state;
    what.textContent = `${label}${a.reason ? ` (${a.reason})` : ""} ${duration(a.in_state)}`.trim();
    div.append(who, what);
    return div;
  });
  document.getElementById("agents").replaceChildren(...tiles);
}

const OBJECTIVE_STATUS = {
  met: ["met", "ok"],
  on_track: ["on track", "ok"],
  at_risk: ["at risk", "at_risk"],
  missed: ["missed", "breached"],
  no_data: ["no data", "none"],
};
const RATIO_METRICS = new Set(["service_level", "abandonment", "occupancy", "otf", "fcr"]);
const SECOND_METRICS = new Set(["asa", "aht"]);

function figure(metric, value) {
  if (value === null || value === undefined) return "–";
  if (RATIO_METRICS.has(metric)) return percent(value);
  if (SECOND_METRICS.has(metric)) return `${Math.round(value)} s`;
  return String(Math.round(value * 10) / 10);
}

function drawObjectives(objectives) {
  const list = objectives || [];
  document.getElementById("objectives-section").hidden = list.length === 0;
  const tiles = list.map((o) => {
    const [label, colour] = OBJECTIVE_STATUS[o.status] || [o.status, "none"];
    const div = document.createElement("div");
    div.className = `tile objective ${colour}`;
    div.dataset.objective = o.name;
    div.dataset.status = o.status;
    const who = document.createElement("div");
    who.className = "who";
    who.textContent = o.name;
    const now = document.createElement("div");
    now.className = "attainment";
    now.textContent = `${figure(o.metric, o.attainment)} (${o.comparison} ${figure(o.metric, o.target)})`;
    const what = document.createElement("div");
    what.className = "what";
    what.textContent = `${label} · heading for ${figure(o.metric, o.projection)}`;
    div.append(who, now, what);
    return div;
  });
  document.getElementById("objectives").replaceChildren(...tiles);
}

function draw(board) {
  drawQueues(board.queues);
  drawObjectives(board.objectives);
  drawAgents(board.agents);
  for (const el of document.querySelectorAll(".points")) el.textContent = String(board.at_risk_points);
  const since = new Date(board.since * 1000);
  const midnight = since.getHours() === 0 && since.getMinutes() === 0 && since.getSeconds() === 0;
  document.getElementById("since").textContent = midnight ? "midnight" : since.toLocaleTimeString();
  document.getElementById("clock").textContent = new Date(board.at * 1000).toLocaleTimeString();
  window.wallboardBoards += 1;
}

function feedState(state, text) {
  const feed = document.getElementById("feed");
  feed.dataset.state = state;
  feed.textContent = text;
}

const TOKEN_KEY = "acd.wallboard.token";
const RETRY_MS = 2000;

function askForToken(message) {
  const form = document.getElementById("login");
  document.getElementById("login-message").textContent = message;
  form.hidden = false;
  feedState("login", "token needed");
}

// One SSE message ("event: board\ndata: {...}") off the stream; returns nothing for comments.
function dispatch(block) {
  let event = "message", data = "";
  for (const line of block.split("\n")) {
    if (line.startsWith("event: ")) event = line.slice(7);
    else if (line.startsWith("data: ")) data += line.slice(6);
  }
  if (event === "board" && data) {
    draw(JSON.parse(data));
    feedState("live", "live");
  }
}

async function follow() {
  const token = localStorage.getItem(TOKEN_KEY);
  if (!token) {
    askForToken("Type this screen's wallboard token (acd tokens add --role wallboard) once; it keeps it.");
    return;
  }
  let response;
  try {
    response = await fetch("/wallboard/events", {headers: {Authorization: `Bearer ${token}`}, cache: "no-store"});
  } catch (error) {
    feedState("lost", "reconnecting…");
    setTimeout(follow, RETRY_MS);
    return;
  }
  if (response.status === 401 || response.status === 403) {
    const body = await response.json().catch(() => ({}));
    localStorage.removeItem(TOKEN_KEY);
    askForToken(body.message || "This token may not see the wallboard.");
    return;
  }
  if (!response.ok || !response.body) {
    // 429: too many bad tokens from this address, or this token holds its most streams; wait as told
    const wait = Number(response.headers.get("Retry-After")) * 1000;
    feedState("lost", "reconnecting…");
    setTimeout(follow, Math.max(RETRY_MS, wait || 0));
    return;
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += value;
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  } catch (error) {
    // the connection dropped: reconnect below
  }
  feedState("lost", "reconnecting…");
  setTimeout(follow, RETRY_MS);
}

document.getElementById("login").addEventListener("submit", (submitted) => {
  submitted.preventDefault();
  const field = document.getElementById("token");
  const token = field.value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  field.value = "";
  document.getElementById("login").hidden = true;
  feedState("connecting", "connecting…");
  follow();
});

follow();
