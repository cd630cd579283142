// The page of irsa-local ui. Everything it shows comes from the server's
// JSON; it is put on the page as text (never as HTML), since trail records
// carry names any caller chose.
"use strict";

const $ = (id) => document.getElementById(id);

// el builds an element: el("p", {class: "x"}, "text", child...).
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

async function api(path, init) {
  const res = await fetch(path, init);
  const body = await res.json().catch(() => ({ error: `${res.status} ${res.statusText}` }));
  if (!res.ok) throw new Error(body.error || `${res.status} ${res.statusText}`);
  return body;
}

function say(id, text, isError) {
  const p = $(id);
  p.textContent = text;
  p.classList.toggle("error", !!isError);
}

// ---- Views and keys ----

const tabs = ["chain", "inventory", "token", "advisor"];

function show(name, focus) {
  for (const t of tabs) {
    const on = t === name;
    const tab = $("tab-" + t);
    tab.setAttribute("aria-selected", on);
    tab.tabIndex = on ? 0 : -1;
    $("view-" + t).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (name === "inventory") loadInventory();
}

for (const t of tabs) {
  $("tab-" + t).addEventListener("click", () => show(t));
  $("tab-" + t).addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(t);
    if (ev.key === "ArrowRight") show(tabs[(i + 1) % tabs.length], true);
    else if (ev.key === "ArrowLeft") show(tabs[(i + tabs.length - 1) % tabs.length], true);
    else return;
    ev.preventDefault();
  });
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  if (t.closest && t.closest("input, textarea, select")) return;
  if (ev.key >= "1" && ev.key <= "4") show(tabs[Number(ev.key) - 1], true);
  else if (ev.key === "r") { show("chain"); checkChain(); }
  else if (ev.key === "/") { show("chain"); $("filter-text").focus(); }
  else return;
  ev.preventDefault();
});

// ---- The environment and its inventory ----

let inventory = null;

async function loadInventory() {
  try {
    inventory = await api("/api/inventory");
  } catch (e) {
    say("inventory-status", "Cannot list the environment: " + e.message, true);
    return;
  }
  const env = inventory.environment;
  $("env").textContent = `${env.name} · cluster ${env.clusterMode} · account ${env.accountId} · issuer ${env.issuer}`;
  say("inventory-status", (inventory.notes || []).join(" "));
  fillPickers();
  renderInventory();
}

// The service accounts the chain can be checked for: those naming a role,
// and those with a Pod Identity association.
function workloads() {
  const seen = new Map();
  for (const sa of inventory.serviceAccounts || []) {
    if (sa.roleArn) seen.set(sa.namespace + "/" + sa.name, sa.roleArn);
  }
  for (const a of inventory.associations || []) {
    seen.set(a.namespace + "/" + a.serviceAccount, a.roleArn + " (Pod Identity)");
  }
  return [...seen.entries()].sort();
}

function fillPickers() {
  const pick = $("chain-sa");
  const current = $("chain-ns").value + "/" + $("chain-name").value;
  pick.replaceChildren(el("option", { value: "" , text: "type it →" }));
  for (const [key, role] of workloads()) {
    pick.append(el("option", { value: key, text: `${key} → ${short(role)}` }));
  }
  if ([...pick.options].some((o) => o.value === current)) pick.value = current;
  else if (!$("chain-name").value && pick.options.length > 1) {
    pick.selectedIndex = 1;
    pickWorkload();
  }
  const roles = $("advisor-role");
  const chosen = roles.value;
  roles.replaceChildren(...(inventory.roles || []).map((r) => el("option", { value: r.arn, text: r.name })));
  if (chosen) roles.value = chosen;
}

function pickWorkload() {
  const v = $("chain-sa").value;
  if (!v) return;
  const [ns, name] = v.split("/");
  $("chain-ns").value = ns;
  $("chain-name").value = name;
  checkChain();
}
$("chain-sa").addEventListener("change", pickWorkload);

function short(arn) {
  return arn.slice(arn.lastIndexOf("/") + 1);
}

function renderInventory() {
  const sas = $("sa-table").tBodies[0];
  sas.replaceChildren();
  for (const sa of inventory.serviceAccounts || []) {
    const ann = Object.entries(sa.annotations || {}).map(([k, v]) => el("div", {}, `${k}: ${v}`));
    const go = el("button", { type: "button", onclick: () => {
      $("chain-ns").value = sa.namespace; $("chain-name").value = sa.name; show("chain", true); checkChain();
    } }, "Show its chain");
    sas.append(el("tr", {}, el("td", {}, sa.namespace), el("td", {}, sa.name), el("td", {}, sa.roleArn || "—"), el("td", {}, ann.length ? ann : "—"), el("td", {}, go)));
  }
  if (!sas.rows.length) sas.append(el("tr", {}, el("td", { colspan: 5 }, "No service account names a role.")));
  const assoc = $("assoc-table").tBodies[0];
  assoc.replaceChildren();
  for (const a of inventory.associations || []) {
    assoc.append(el("tr", {}, el("td", {}, a.associationId), el("td", {}, a.namespace), el("td", {}, a.serviceAccount), el("td", {}, a.roleArn), el("td", {}, a.targetRoleArn || "—")));
  }
  if (!assoc.rows.length) assoc.append(el("tr", {}, el("td", { colspan: 5 }, "None.")));
  $("roles").replaceChildren(...(inventory.roles || []).map((r) => el("article", { class: "role" },
    el("h3", {}, r.name), el("div", { class: "arn" }, r.arn),
    r.error ? el("p", { class: "status-line error" }, r.error) : null,
    el("details", {}, el("summary", {}, "Trust policy"), el("pre", {}, r.trust)),
    (r.policies || []).map((p) => el("details", {}, el("summary", {}, "Permissions: " + p.name), el("pre", {}, p.document))),
    (r.policies || []).length ? null : el("p", { class: "help" }, "No permission policy."))));
}

// ---- The chain ----

const linkTitles = {
  "cluster": "Cluster",
  "issuer": "Token",
  "jwks": "Issuer & JWKS",
  "oidc-provider": "OIDC provider",
  "service-account": "Service account",
  "webhook": "Webhook",
  "agent": "Pod Identity agent",
  "trust-policy": "Role & trust policy",
  "assume": "Chained session",
  "permissions": "Service call",
};
const marks = { ok: ["✓", "OK"], fail: ["✗", "BROKEN"], skip: ["–", "SKIPPED"] };

function renderChain(list, report) {
  list.replaceChildren(...report.map((c) => {
    const [mark, word] = marks[c.status] || ["?", c.status];
    return el("li", { class: "link " + c.status, "data-check": c.name, "data-status": c.status, tabindex: c.status === "fail" ? 0 : null },
      el("h3", {}, el("span", { class: "mark", "aria-hidden": "true" }, mark), linkTitles[c.name] || c.name, el("span", { class: "state" }, word)),
      el("div", { class: "check-name" }, c.name),
      el("p", { class: "detail" }, c.status === "skip" ? "skipped: " + c.detail : c.detail),
      c.status === "fail" && c.fix ? el("div", { class: "fix" }, el("strong", {}, "Fix"), el("pre", {}, c.fix)) : null);
  }));
}

let chainBusy = false, chainAgain = false;

async function checkChain() {
  if (chainBusy) { chainAgain = true; return; }
  const ns = $("chain-ns").value.trim(), name = $("chain-name").value.trim();
  if (!name) { say("chain-status", "Choose or type a service account."); return; }
  chainBusy = true;
  const q = new URLSearchParams({ namespace: ns || "default", serviceAccount: name });
  const action = $("chain-action").value.trim(), resource = $("chain-resource").value.trim();
  if (action || resource) { q.set("action", action); q.set("resource", resource); }
  try {
    const report = await api("/api/chain?" + q);
    renderChain($("chain"), report);
    const broken = report.filter((c) => c.status === "fail").map((c) => linkTitles[c.name] || c.name);
    const held = report.filter((c) => c.status === "ok").length;
    const skipped = report.filter((c) => c.status === "skip").length;
    say("chain-status", `${ns || "default"}/${name}: ` + (broken.length ? `✗ broken at ${broken.join(", ")}` : `✓ no link broken (${held} hold${skipped ? `, ${skipped} not checked` : ""})`) + ` · checked ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    say("chain-status", "Cannot check the chain: " + e.message, true);
  } finally {
    chainBusy = false;
    if (chainAgain) { chainAgain = false; checkChain(); }
  }
}

$("chain-form").addEventListener("submit", (ev) => { ev.preventDefault(); checkChain(); });
setInterval(() => { if (!document.hidden && !$("view-chain").hidden) checkChain(); }, 10000);

// ---- The live trail ----

const maxRows = 500;
const entries = [];
const decisionWords = { allow: "✓ allowed", deny: "✗ denied", error: "! failed" };

function matches(e) {
  const sa = $("filter-sa").value, role = $("filter-role").value, d = $("filter-decision").value;
  const text = $("filter-text").value.trim().toLowerCase();
  if (sa && e.serviceAccount !== sa) return false;
  if (role && e.role !== role) return false;
  if (d && e.decision !== d) return false;
  if (text && !JSON.stringify(e).toLowerCase().includes(text)) return false;
  return true;
}

function row(e) {
  const when = new Date(e.time);
  const explain = el("div", { class: "explain" },
    e.errorCode ? el("p", {}, el("strong", {}, e.errorCode), e.errorMessage ? ": " + e.errorMessage : "") : null,
    e.reason ? el("p", {}, el("strong", {}, "Why: "), e.reason) : null,
    e.role ? el("p", {}, "Role: " + e.role) : null,
    el("p", {}, "Caller: " + e.caller),
    (e.checks || []).length ? el("p", {}, "Checks: ", e.checks.map((c) => `${c.allowed ? "✓" : "✗"} ${c.action} on ${c.resource}`).join("; ")) : null);
  return el("li", { class: e.decision, "data-decision": e.decision, "data-action": e.action },
    el("details", {},
      el("summary", {},
        el("span", { class: "when" }, when.toLocaleTimeString()),
        el("span", { class: "verdict" }, decisionWords[e.decision] || e.decision),
        el("span", { class: "what" }, `${e.service}:${e.action}`),
        e.serviceAccount ? el("span", { class: "who" }, e.serviceAccount) : null,
        e.role ? el("span", { class: "who" }, "as " + short(e.role)) : null,
        el("span", { class: "target" }, e.target || ""),
        // A refusal says why at once, as irsa-local trail does; the rest
        // opens with the row.
        e.decision !== "allow" ? el("span", { class: "why" }, "why: " + (e.reason || e.errorMessage || e.errorCode)) : null),
      explain));
}

function addOption(select, value) {
  if (!value || [...select.options].some((o) => o.value === value)) return;
  select.append(el("option", { value, text: value }));
}

function renderTrail() {
  const list = $("trail");
  list.replaceChildren(...entries.filter(matches).map(row));
  $("trail-empty").hidden = entries.length > 0;
}

let rerender = 0;
function onRecord(e) {
  entries.unshift(e);
  if (entries.length > maxRows) entries.length = maxRows;
  addOption($("filter-sa"), e.serviceAccount);
  addOption($("filter-role"), e.role);
  if (matches(e)) {
    $("trail").prepend(row(e));
    const list = $("trail");
    while (list.children.length > maxRows) list.lastChild.remove();
  }
  $("trail-empty").hidden = true;
  // IAM and EKS writes can break or mend a link: check the chain again,
  // and the inventory on its next view.
  if ((e.service === "iam" || e.service === "eks") && e.decision === "allow") {
    clearTimeout(rerender);
    rerender = setTimeout(() => { checkChain(); loadInventory(); }, 100);
  }
}

for (const id of ["filter-sa", "filter-role", "filter-decision"]) $(id).addEventListener("change", renderTrail);
$("filter-text").addEventListener("input", renderTrail);

function connectTrail() {
  const src = new EventSource("/api/trail");
  const live = $("live");
  src.addEventListener("open", () => {
    // A reconnect replays the newest records again.
    entries.length = 0;
    $("trail").replaceChildren();
    live.className = "live on";
    live.replaceChildren(el("span", { "aria-hidden": "true" }, "●"), " trail: live");
  });
  src.addEventListener("record", (m) => onRecord(JSON.parse(m.data)));
  src.addEventListener("failure", (m) => say("chain-status", "The trail stopped: " + JSON.parse(m.data).error, true));
  src.addEventListener("error", () => {
    live.className = "live off";
    live.replaceChildren(el("span", { "aria-hidden": "true" }, "○"), " trail: reconnecting");
  });
}

// ---- The token inspector ----

function claimList(obj) {
  return el("dl", { class: "claims" }, Object.entries(obj).map(([k, v]) => [el("dt", {}, k), el("dd", {}, typeof v === "string" ? v : JSON.stringify(v))]));
}

$("token-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("token-result");
  out.replaceChildren();
  say("token-status", "Checking…");
  let r;
  try {
    r = await api("/api/inspect", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: $("token-input").value }) });
  } catch (e) {
    say("token-status", e.message, true);
    return;
  }
  say("token-status", r.serviceAccount ? `A token of ${r.namespace}/${r.serviceAccount}.` : "The token's subject names no service account.");
  const verdict = r.refused
    ? el("div", { class: "verdict-box fail", role: "alert" }, `✗ Refused at ${linkTitles[r.refused.name] || r.refused.name}: ${r.refused.detail}`)
    : el("div", { class: "verdict-box ok" }, "✓ No link refuses this token.");
  const times = el("table", {}, el("thead", {}, el("tr", {}, el("th", {}, "Claim"), el("th", {}, "Time (UTC)"), el("th", {}, "From now"))),
    el("tbody", {}, (r.times || []).map((t) => el("tr", {}, el("td", {}, t.claim), el("td", {}, t.time), el("td", {}, t.relative)))));
  const chain = el("ol", { class: "chain", "aria-label": "The chain with this token" });
  renderChain(chain, r.report || []);
  out.append(verdict, el("h2", {}, "Claims"), claimList(r.claims || {}), el("h2", {}, "Times"), times,
    el("h2", {}, "Header"), claimList(r.header || {}), el("h2", {}, "The chain with this token"), chain);
});

// ---- The policy advisor ----

function finding(kind, text) {
  return el("p", { class: "finding " + kind }, text);
}

$("advisor-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("advisor-result");
  out.replaceChildren();
  const role = $("advisor-role").value;
  if (!role) { say("advisor-status", "No role to choose: create one first.", true); return; }
  const q = new URLSearchParams({ role });
  const since = $("advisor-since").value.trim();
  if (since) q.set("since", since);
  say("advisor-status", "Reading the trail…");
  let r;
  try {
    r = await api("/api/suggest?" + q);
  } catch (e) {
    say("advisor-status", e.message, true);
    return;
  }
  if (!(r.calls || []).length) {
    say("advisor-status", `No call by a session of ${r.role} in the trail: run the workload first.`);
    return;
  }
  say("advisor-status", `${r.calls.length} distinct call(s) by sessions of ${r.role}.`);
  const policy = JSON.stringify(r.policy, null, 2);
  const copy = el("button", { type: "button", onclick: async () => {
    try { await navigator.clipboard.writeText(policy); copy.textContent = "Copied"; } catch { copy.textContent = "Select the text to copy it"; }
  } }, "Copy the policy");
  const c = r.comparison || {};
  const findings = [
    ...(c.unused || []).map((g) => finding("unused", `Never used: ${g.policy} statement ${g.sid || g.statement}: ${g.action.join(", ")} on ${g.resource.join(", ")}`)),
    ...(c.broader || []).map((g) => finding("broader", `Broader than the use: ${g.policy} statement ${g.sid || g.statement}: ${g.action.join(", ")} on ${g.resource.join(", ")}; used only for ${(g.used || []).join("; ")}`)),
    ...(c.missing || []).map((m) => finding("missing", `Missing: ${m.action} on ${m.resource} was refused ${m.refused} time(s)`)),
  ];
  out.append(el("div", {},
    el("h2", {}, "Calls"),
    el("ul", {}, r.calls.map((k) => el("li", {}, `${k.refused ? "✗" : "✓"} ${k.action} on ${k.resource} (allowed ${k.allowed}${k.refused ? `, refused ${k.refused}` : ""})`))),
    el("h2", {}, "Least-privilege policy"), el("pre", { id: "advisor-policy" }, policy), copy,
    el("h2", {}, "Compared with the role's policies"),
    r.compared ? (findings.length ? findings : el("p", {}, "✓ They allow exactly what was used.")) : el("p", { class: "help" }, "Not compared: the role is not in this environment's default account, or the environment is down."),
    c.add ? [el("h2", {}, "Statements to add for the refused calls"), el("pre", {}, JSON.stringify(c.add, null, 2))] : null));
});

// ---- Start ----

// Choosing the first service account checks its chain.
loadInventory();
connectTrail();
