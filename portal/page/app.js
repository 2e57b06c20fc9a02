// The portal page: plain JS, no build. The token stays in sessionStorage (gone when the tab closes); every
// value from the API is written with textContent, never as HTML.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const KEY = "byoc-portal-token";
  let me = null;
  let selectedJob = null;
  let timer = null;

  function say(text, isError) {
    const m = $("#message");
    m.textContent = text || "";
    m.className = isError ? "error" : "";
  }

  async function api(method, url) {
    const res = await fetch(url, { method, headers: { Authorization: "Bearer " + sessionStorage.getItem(KEY) } });
    const body = await res.json().catch(() => ({}));
    if (!res.ok) {
      const problems = (body.problems || []).map((p) => p.path + ": " + p.message).join("; ");
      const err = new Error((body.error || res.statusText) + (problems ? " — " + problems : ""));
      err.status = res.status;
      throw err;
    }
    return body;
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }
  const stateCell = (tr, state) => cell(tr, state, "state state-" + state);
  const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

  function fill(tableSel, rows, render) {
    const tbody = $(tableSel + " tbody");
    const frag = document.createDocumentFragment();
    for (const row of rows) frag.appendChild(render(row));
    tbody.replaceChildren(frag);
  }

  async function refresh() {
    try {
      const [customers, jobs, requests] = await Promise.all([api("GET", "/api/customers"), api("GET", "/api/jobs?limit=50"), api("GET", "/api/access-requests?limit=100")]);
      fill("#customers", customers.customers, (c) => {
        const tr = document.createElement("tr");
        tr.dataset.customerId = c.id;
        cell(tr, c.stack);
        cell(tr, c.name);
        cell(tr, c.environment);
        stateCell(tr, c.status);
        // The API phase: configured, with the applied one first while they differ; the portal's note on hover.
        const a = c.apiAccess || {};
        const api = cell(tr, a.applied && a.applied !== a.phase ? a.applied + " → " + a.phase : a.phase, "api-access");
        if (a.note) api.title = a.note;
        cell(tr, c.lastJob ? c.lastJob.kind + " " + c.lastJob.state : "");
        return tr;
      });
      fill("#requests", requests.requests, (r) => {
        const tr = document.createElement("tr");
        tr.dataset.requestId = r.id;
        cell(tr, r.id);
        cell(tr, r.customer);
        cell(tr, r.engineer);
        cell(tr, r.reason);
        cell(tr, r.hours);
        stateCell(tr, r.state);
        cell(tr, when(r.notAfter));
        const actions = cell(tr, "");
        const canDecide = me.roles.includes("approver") && r.state === "pending" && r.engineer !== me.user;
        if (canDecide) {
          for (const decision of ["approve", "deny"]) {
            const b = document.createElement("button");
            b.type = "button";
            b.className = decision;
            b.textContent = decision === "approve" ? "Approve" : "Deny";
            b.addEventListener("click", () => decide(r.id, decision, b));
            actions.appendChild(b);
          }
        } else if (r.certificatePem) {
          const d = document.createElement("details");
          const s = document.createElement("summary");
          s.textContent = "certificate";
          const pre = document.createElement("pre");
          pre.className = "certificate";
          pre.textContent = r.certificatePem;
          d.append(s, pre);
          actions.appendChild(d);
        } else if (r.certificateNote) {
          actions.textContent = r.certificateNote;
          actions.className = "muted";
        }
        return tr;
      });
      fill("#jobs", jobs.jobs, (j) => {
        const tr = document.createElement("tr");
        tr.className = "selectable";
        tr.dataset.jobId = j.id;
        cell(tr, j.id);
        cell(tr, j.customer);
        cell(tr, j.kind);
        stateCell(tr, j.state);
        cell(tr, j.message || "");
        cell(tr, when(j.createdAt));
        tr.addEventListener("click", () => {
          selectedJob = j.id;
          showJob();
        });
        return tr;
      });
      if (selectedJob) await showJob();
      if (me.roles.includes("auditor")) {
        const audit = await api("GET", "/api/audit?limit=5000");
        fill("#audit", audit.entries.slice(-200).reverse(), (a) => {
          const tr = document.createElement("tr");
          cell(tr, a.seq);
          cell(tr, when(a.at));
          cell(tr, a.actor);
          cell(tr, a.action);
          cell(tr, a.subject);
          return tr;
        });
      }
    } catch (err) {
      say(err.message, true);
      if (err.status === 401) signOut();
    }
  }

  async function showJob() {
    const { job } = await api("GET", "/api/jobs/" + encodeURIComponent(selectedJob));
    $("#job-detail").hidden = false;
    $("#job-id").textContent = job.id + " (" + job.kind + " " + job.customer + ", " + job.state + ")";
    $("#job-log").textContent = job.log || "(no output yet)";
  }

  async function decide(id, decision, button) {
    button.disabled = true;
    try {
      await api("POST", "/api/access-requests/" + encodeURIComponent(id) + "/" + decision);
      say(id + ": " + (decision === "approve" ? "approved; applying the grant" : "denied"));
    } catch (err) {
      say(err.message, true);
    }
    await refresh();
  }

  async function signIn(token) {
    sessionStorage.setItem(KEY, token);
    try {
      me = await api("GET", "/api/me");
    } catch (err) {
      sessionStorage.removeItem(KEY);
      say(err.message, true);
      return;
    }
    $("#signin").hidden = true;
    $("#whoami").hidden = false;
    $("#user").textContent = me.user;
    $("#roles").textContent = "(" + me.roles.join(", ") + "; " + me.engine + " engine)";
    $("#audit-section").hidden = !me.roles.includes("auditor");
    $("#app").hidden = false;
    say("");
    await refresh();
    timer = setInterval(refresh, 1000);
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    me = null;
    if (timer) clearInterval(timer);
    $("#app").hidden = true;
    $("#whoami").hidden = true;
    $("#signin").hidden = false;
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("#signin").addEventListener("submit", (e) => {
      e.preventDefault();
      const token = $("#token").value.trim();
      $("#token").value = "";
      if (token) signIn(token);
    });
    $("#signout").addEventListener("click", signOut);
    const saved = sessionStorage.getItem(KEY);
    if (saved) signIn(saved);
  });
})();
