// The wallboard page: draws each board the ACD pushes over Server-Sent Events (/wallboard/events).
// No polling: EventSource holds one stream open and reconnects by itself if it drops.
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

function draw(board) {
  drawQueues(board.queues);
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

const source = new EventSource("/wallboard/events");
source.addEventListener("board", (message) => {
  draw(JSON.parse(message.data));
  feedState("live", "live");
});
source.addEventListener("error", () => feedState("lost", "reconnecting…"));
