// The dashboard page's script (served as /app.js: the content security policy allows
// no inline script).
"use strict";
let me = null;
let source = null;
const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c]));

async function api(method, path, body, background) {
  const headers = {"Content-Type": "application/json"};
  // The board's own refresh is not activity: an unattended page still times out.
  if (background) headers["X-Accesswatch-Background"] = "1";
  if (method !== "GET" && me) headers["X-CSRF-Token"] = me.csrf;
  const r = await fetch(path, {method, headers, body: body ? JSON.stringify(body) : undefined, credentials: "same-origin"});
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.error || r.statusText), {status: r.status});
  return data;
}

function show(view) {
  for (const v of ["board", "charts", "subject", "audit"]) $("view-" + v).classList.toggle("hidden", v !== view);
  if (view === "charts") charts();
  if (view === "audit") audit();
}

async function start() {
  try { me = await api("GET", "/api/me"); } catch (e) { me = null; }
  $("login").classList.toggle("hidden", !!me);
  $("nav").classList.toggle("hidden", !me);
  $("signout").classList.toggle("hidden", !me);
  if (!me) return;
  $("who").textContent = me.user + " (" + me.role + ")" + (me.pseudonyms ? ": staff shown as pseudonyms" : "");
  if (me.role === "auditor") { show("audit"); return; }
  show("board");
  await board();
  live();
}

$("login").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  $("login-error").textContent = "";
  try {
    await api("POST", "/api/login", {user: $("login-user").value, password: $("login-password").value});
    await start();
  } catch (e) { $("login-error").textContent = e.message; }
});
$("signout").onclick = async () => { await api("POST", "/api/logout").catch(() => {}); if (source) source.close(); location.reload(); };
$("nav-board").onclick = () => show("board");
$("nav-charts").onclick = () => show("charts");
$("nav-subject").onclick = () => show("subject");
$("nav-audit").onclick = () => show("audit");
$("f-apply").onclick = () => board();
$("board-scroll").addEventListener("mouseleave", releaseHeld);

function filters() {
  const f = {};
  for (const k of ["severity", "rule", "unit", "user", "system", "status"]) { const v = $("f-" + k).value.trim(); if (v) f[k] = v; }
  return f;
}

function matches(row) {
  const f = filters(), a = row.alert;
  return (!f.severity || a.severity === f.severity) && (!f.rule || a.rule === f.rule) && (!f.unit || a.unit === f.unit)
    && (!f.user || a.user_id === f.user) && (!f.system || a.system === f.system) && (!f.status || row.status === f.status);
}

function rowHtml(row) {
  const a = row.alert;
  return `<td>${esc(a.severity)}</td><td>${esc(a.event_ts)}</td><td>${esc(a.rule)}</td><td>${esc(a.user_id)}</td>`
    + `<td>${esc(a.unit)}</td><td>${esc(a.system)}</td><td class="status">${esc(row.status)}</td><td>${esc(a.reason)}</td>`;
}

// The board keeps at most this many rows in the page; older ones stay a filter away.
const BOARD_ROWS = 2000;
// New alerts that arrived while the pointer was on the board: rows do not move under
// the hand that is about to click one. They go in when the pointer leaves.
let held = [];

function putRow(row, fresh) {
  const body = $("board").tBodies[0];
  let tr = body.querySelector(`tr[data-id="${CSS.escape(row.alert.alert_id)}"]`);
  if (!tr) {
    if (fresh && $("board-scroll").matches(":hover")) {
      held = held.filter((h) => h.alert.alert_id !== row.alert.alert_id).concat([row]);
      $("held").textContent = `${held.length} new alert${held.length === 1 ? "" : "s"} held while the pointer is on the board`;
      return;
    }
    tr = document.createElement("tr"); tr.dataset.id = row.alert.alert_id; tr.onclick = () => detail(row.alert.alert_id);
    body.prepend(tr);
    while (body.rows.length > BOARD_ROWS) body.lastElementChild.remove();
  }
  tr.className = "sev-" + row.alert.severity + (fresh ? " fresh" : "");
  tr.innerHTML = rowHtml(row);
}

function releaseHeld() {
  const rows = held;
  held = [];
  $("held").textContent = "";
  for (const row of rows) putRow(row, true);
}

async function board() {
  held = [];
  $("held").textContent = "";
  const rows = await api("POST", "/api/alerts", filters());
  $("board").tBodies[0].innerHTML = "";
  for (const row of rows.reverse()) putRow(row, false);
  await counts();
  await risk();
}

async function counts(background) {
  const c = await api("GET", "/api/counts", undefined, background);
  $("counts").innerHTML = ["red", "amber", "green"].map((s) => `<span class="c-${s}">${s} ${c.severity[s] || 0}</span>`).join("")
    + ` <span class="open-count">open ${Object.entries(c.status).filter(([k]) => ["new", "acknowledged", "assigned", "escalated", "closure_proposed"].includes(k)).reduce((n, [, v]) => n + v, 0)}</span>`;
}

async function risk(background) {
  const r = await api("GET", "/api/risk", undefined, background);
  $("risk").innerHTML = r.map((u) => `<li>${esc(u.user_id)}: ${u.score} (${u.alerts} alerts, ${u.red} red)</li>`).join("");
}

function live() {
  if (source) source.close();
  source = new EventSource("/api/stream");
  source.onopen = () => { $("live-state").textContent = "live"; };
  source.onerror = () => { $("live-state").textContent = "reconnecting"; };
  source.addEventListener("alert", (ev) => {
    const alert = JSON.parse(ev.data);
    const tr = $("board").tBodies[0].querySelector(`tr[data-id="${CSS.escape(alert.alert_id)}"]`);
    const status = tr ? tr.querySelector(".status").textContent : "new";
    const row = {alert, status};
    if (matches(row)) putRow(row, !tr);
  });
}

// Counts and the risk ranking are read (and audited) every half minute, not per alert.
setInterval(() => { if (me && me.role !== "auditor" && !$("view-board").classList.contains("hidden")) { counts(true); risk(true); } }, 30000);

async function detail(id) {
  const d = await api("GET", "/api/alerts/" + encodeURIComponent(id));
  const a = d.alert, sup = me.role === "supervisor" || me.role === "admin";
  const events = d.events ? `<table><tr><th>Time</th><th>System</th><th>Action</th><th>Subject</th><th>Reason code</th><th>Reference</th><th>Event</th></tr>`
      + d.events.map((e) => `<tr><td>${esc(e.ts)}</td><td>${esc(e.system)}</td><td>${esc(e.action)}</td><td>${esc(e.subject_hidden ? "(hidden: " + e.subject_hidden + ")" : e.subject_name || e.subject_id || e.subject_vrm || "")}</td><td>${esc(e.reason_code)}</td><td>${esc(e.reference)}</td><td>${esc(e.event_id)}</td></tr>`).join("") + `</table>`
    : `<p>Evidence events: ${esc(a.event_ids.join(", "))} (no archive configured).</p>`;
  const found = new Set((d.events || []).map((e) => e.event_id));
  const missing = d.events ? a.event_ids.filter((id) => !found.has(id)) : [];
  const pending = missing.length ? `<p>Not in the archive yet (it is written every few seconds; open the alert again): ${esc(missing.join(", "))}</p>` : "";
  const rows = (d.watchlist_rows || []).map((r) => `<pre>${esc(JSON.stringify(r))}</pre>`).join("");
  const hist = d.history.map((h) => `<li>${esc(h.at)} ${esc(h.by)}: ${esc(h.status)}${h.assignee ? " to " + esc(h.assignee) : ""}${h.note ? ": " + esc(h.note) : ""}</li>`).join("");
  const proposal = d.proposal ? `<p class="pending">Closure as ${esc(d.proposal.outcome)} proposed by ${esc(d.proposal.proposed_by)} at ${esc(d.proposal.proposed_at)}: a second supervisor must approve.
      ${sup ? `<button class="act" id="btn-approve">Approve closure</button> <button class="act" id="btn-reject">Reject</button>` : ""}</p>` : "";
  const reveal = sup ? `<input id="reveal-reason" placeholder="reason to reveal this officer to analysts"> <button class="act" id="btn-reveal">Reveal for this alert</button>` : "";
  $("detail").innerHTML = `<h3>${esc(a.rule)} <small>${esc(a.severity)}</small></h3>
    <p class="reason">${esc(a.reason)}</p>
    <p class="meta">Confidence: ${esc(a.confidence || "high")}${a.watchlist && a.watchlist.flagged_at_access === false ? " &middot; the subject was put on the list only after this access" : ""}</p>
    ${a.resolved ? `<p class="resolved">Resolved ${esc(a.resolved.at)}: ${esc(a.resolved.reason)}</p>` : ""}
    <p>Status: <b id="triage-status">${esc(d.status)}</b>${d.assignee ? " (assigned to " + esc(d.assignee) + ")" : ""}</p>${proposal}
    <div>
      <button class="act" id="btn-ack">Acknowledge</button>
      <button class="act" id="btn-escalate">Escalate</button>
      <input id="triage-note" placeholder="note"> <button class="act" id="btn-note">Add note</button>
      ${sup ? `<input id="assignee" placeholder="assign to"> <button class="act" id="btn-assign">Assign</button>
      <select id="outcome"><option>justified</option><option>misconduct</option><option>criminal</option><option>no_further_action</option></select>
      <button class="act" id="btn-close">Close</button>` : ""}
      <button class="act" id="btn-timeline">User timeline</button>
      ${reveal}
      <p id="triage-error" class="error"></p>
    </div>
    <h4>Evidence</h4>${events}${pending}
    <h4>Watch-list entry</h4>${rows || "<p>None.</p>"}
    <h4>Triage history</h4><ol id="history">${hist}</ol>`;
  $("detail").classList.remove("hidden");
  const act = async (body) => {
    $("triage-error").textContent = "";
    try {
      const r = await api("POST", "/api/alerts/" + encodeURIComponent(id) + "/triage", body);
      $("triage-status").textContent = r.status;
      const tr = $("board").tBodies[0].querySelector(`tr[data-id="${CSS.escape(id)}"]`);
      if (tr) tr.querySelector(".status").textContent = r.status;
      $("history").innerHTML = r.history.map((h) => `<li>${esc(h.at)} ${esc(h.by)}: ${esc(h.status)}${h.note ? ": " + esc(h.note) : ""}</li>`).join("");
      counts();
    } catch (e) { $("triage-error").textContent = e.message; }
  };
  $("btn-ack").onclick = () => act({action: "acknowledge", note: $("triage-note").value});
  $("btn-escalate").onclick = () => act({action: "escalate", note: $("triage-note").value});
  $("btn-note").onclick = () => act({action: "note", note: $("triage-note").value});
  if (sup) {
    $("btn-assign").onclick = () => act({action: "assign", assignee: $("assignee").value});
    $("btn-close").onclick = () => act({action: "close", outcome: $("outcome").value, note: $("triage-note").value}).then(() => detail(id));
    $("btn-reveal").onclick = async () => {
      try { await api("POST", "/api/reveals", {alert_id: id, reason: $("reveal-reason").value}); detail(id); }
      catch (e) { $("triage-error").textContent = e.message; }
    };
    if (d.proposal) {
      $("btn-approve").onclick = () => act({action: "approve_closure", note: $("triage-note").value}).then(() => detail(id));
      $("btn-reject").onclick = () => act({action: "reject_closure", note: $("triage-note").value}).then(() => detail(id));
    }
  }
  $("btn-timeline").onclick = () => timeline(a.user_id);
}

async function timeline(user) {
  const t = await api("POST", "/api/timeline", {user_id: user});
  const items = [];
  for (const a of t.alerts) items.push({ts: a.event_ts, html: `<tr class="sev-${esc(a.severity)}"><td>${esc(a.event_ts)}</td><td>alert</td><td>${esc(a.rule)}</td><td colspan="3">${esc(a.reason)}</td></tr>`});
  for (const e of t.accesses || []) items.push({ts: e.ts, html: `<tr><td>${esc(e.ts)}</td><td>${esc(e.action)}</td><td>${esc(e.system)}</td><td>${esc(e.subject_hidden ? "(hidden: " + e.subject_hidden + ")" : e.subject_name || e.subject_id || e.subject_vrm || e.subject_type)}</td><td>${esc(e.reason_code)}</td><td>${esc(e.explanation ?? (e.reference || "no reference"))}</td></tr>`});
  items.sort((x, y) => (x.ts < y.ts ? -1 : 1));
  $("timeline").innerHTML = `<h3>Timeline of ${esc(t.user_id)}</h3><p>${t.alerts.length} alerts${t.accesses ? ", " + t.accesses.length + " accesses" : " (no archive: accesses not shown)"}</p>${incomplete(t)}
    <table id="timeline-table"><tr><th>Time</th><th>What</th><th>Rule / system</th><th>Subject / why</th><th>Reason code</th><th>Explanation</th></tr>${items.map((i) => i.html).join("")}</table>`;
  $("timeline").classList.remove("hidden");
  $("timeline").scrollIntoView();
}

$("subject-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const body = {};
  for (const [k, id] of [["subject_id", "s-id"], ["name", "s-name"], ["dob", "s-dob"], ["vrm", "s-vrm"], ["from", "s-from"], ["to", "s-to"]]) { const v = $(id).value.trim(); if (v) body[k] = v; }
  try {
    const r = await api("POST", "/api/subject", body);
    $("subject-result").innerHTML = `<p>${r.accesses.length} accesses${r.hidden ? ` (and ${r.hidden.accesses} not shown: ${esc(r.hidden.why)})` : ""}</p>${incomplete(r)}<table><tr><th>Time</th><th>User</th><th>System</th><th>Action</th><th>Explanation</th><th>Match</th></tr>`
      + r.accesses.map((e) => `<tr class="${e.explained === false ? "sev-amber" : ""}"><td>${esc(e.ts)}</td><td>${esc(e.user_id)}</td><td>${esc(e.system)}</td><td>${esc(e.action)}</td><td>${esc(e.explanation ?? (e.reference || "no reference"))}</td><td>${esc(e.match)}</td></tr>`).join("") + `</table>`;
  } catch (e) { $("subject-result").innerHTML = `<p class="error">${esc(e.message)}</p>`; }
});

// An answer the archive could not give whole: some of its files could not be read.
function incomplete(r) {
  return r.incomplete ? `<p class="error">Incomplete: ${Number(r.incomplete)} archive file(s) could not be read and are left out of these accesses.</p>` : "";
}

function bars(rows, keys, colours, label) {
  const w = 720, h = 20 * rows.length + 10, max = Math.max(1, ...rows.map((r) => keys.reduce((n, k) => n + r[k], 0)));
  let y = 0, out = `<svg width="${w}" height="${h}">`;
  for (const r of rows) {
    let x = 160;
    out += `<text x="0" y="${y + 13}">${esc(label(r))}</text>`;
    for (let i = 0; i < keys.length; i++) {
      const bw = (w - 220) * r[keys[i]] / max;
      out += `<rect x="${x}" y="${y + 2}" width="${bw}" height="14" fill="${colours[i]}"><title>${esc(keys[i])} ${r[keys[i]]}</title></rect>`;
      x += bw;
    }
    out += `<text x="${x + 4}" y="${y + 13}">${keys.reduce((n, k) => n + r[k], 0)}</text>`;
    y += 20;
  }
  return out + "</svg>";
}

async function charts() {
  const c = await api("GET", "/api/charts");
  $("chart-days").innerHTML = bars(c.by_day, ["red", "amber", "green"], ["#c62828", "#ef8f00", "#2e7d32"], (r) => r.day);
  $("chart-rules").innerHTML = bars(c.by_rule, ["n"], ["#1a5fb4"], (r) => r.rule);
  $("chart-risk").innerHTML = bars(c.top_risk.map((u) => ({...u, s: u.score})), ["s"], ["#6a1b9a"], (r) => r.user_id);
}

async function audit() {
  $("audit-error").textContent = "";
  try {
    const rows = await api("GET", "/api/audit");
    $("audit").innerHTML = `<table><tr><th>When</th><th>Who</th><th>Role</th><th>What</th><th>Target</th></tr>`
      + rows.map((r) => `<tr><td>${esc(r.at)}</td><td>${esc(r.who)}</td><td>${esc(r.role)}</td><td>${esc(r.action)}</td><td>${esc(r.target)}</td></tr>`).join("") + `</table>`;
  } catch (e) { $("audit").innerHTML = ""; $("audit-error").textContent = e.status === 403 ? "Not allowed: the audit trail is for auditors." : e.message; }
}

start();
