// The portal page: plain JS, no build. The token stays in sessionStorage (gone when the tab closes); every
// value from the API is written with textContent, never as HTML.
//
// Every second the page asks for what it shows (one page of each list) and updates only what changed: rows are
// keyed by id, moved or patched in place, so an opened certificate stays open, a selection in a log stays
// selected and a half-typed form keeps its text. A selected job's log is streamed (text/event-stream over
// fetch, so the bearer token goes in a header) and appended to, never replaced.
"use strict";
(function () {
  const $ = (sel, root) => (root || document).querySelector(sel);
  const KEY = "byoc-portal-token";
  const PAGE = 50;
  let me = null;
  let timer = null;
  let refreshing = false;
  const has = (role) => !!me && me.roles.includes(role);
  const sameUser = (a, b) => String(a).trim().toLowerCase() === String(b).trim().toLowerCase();

  // Cursor stacks: cursors[i] is what page i was asked with (undefined for the first page).
  const pages = {
    customers: { cursors: [undefined], next: null },
    jobs: { cursors: [undefined], next: null },
    audit: { cursors: [undefined], next: null },
  };

  function say(text, isError) {
    const m = $("#message");
    m.textContent = text || "";
    m.className = isError ? "error" : "";
  }

  const authHeader = () => ({ Authorization: "Bearer " + sessionStorage.getItem(KEY) });

  async function api(method, url, body) {
    const headers = authHeader();
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) {
      const problems = (data.problems || []).map((p) => p.path + ": " + p.message).join("; ");
      const err = new Error((data.error || res.statusText) + (problems ? " — " + problems : ""));
      err.status = res.status;
      throw err;
    }
    return data;
  }

  const query = (params) => {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
    const s = q.toString();
    return s ? "?" + s : "";
  };
  const when = (iso) => (iso ? iso.replace("T", " ").replace(/\.\d+Z$/, "Z") : "");

  // ------------------------------------------------------------------ keyed rows

  /** Writes text into a node only when it differs (no needless DOM writes, selections survive). */
  function setText(node, text) {
    const t = text == null ? "" : String(text);
    if (node.textContent !== t) node.textContent = t;
  }
  function setClass(node, cls) {
    if (node.className !== cls) node.className = cls;
  }

  /**
   * Makes tbody show `items` in order: rows are found by key (data-key), created when new, patched by `update`,
   * moved only when out of place, removed when gone.
   */
  function sync(tbody, items, keyOf, create, update) {
    const existing = new Map();
    for (const tr of Array.from(tbody.children)) existing.set(tr.dataset.key, tr);
    let prev = null;
    for (const item of items) {
      const key = keyOf(item);
      let tr = existing.get(key);
      if (tr) existing.delete(key);
      else {
        tr = create(item);
        tr.dataset.key = key;
      }
      update(tr, item);
      const want = prev ? prev.nextSibling : tbody.firstChild;
      if (tr !== want) tbody.insertBefore(tr, want);
      prev = tr;
    }
    for (const tr of existing.values()) tr.remove();
  }

  function row(n) {
    const tr = document.createElement("tr");
    for (let i = 0; i < n; i++) tr.appendChild(document.createElement("td"));
    return tr;
  }

  function button(label, cls, onClick) {
    const b = document.createElement("button");
    b.type = "button";
    b.className = cls;
    b.textContent = label;
    b.addEventListener("click", (e) => {
      e.stopPropagation();
      onClick(b);
    });
    return b;
  }

  /** Rebuilds a cell's controls only when their signature changes (state, role), so an opened <details> stays open. */
  function actions(td, signature, build) {
    if (td.dataset.sig === signature) return;
    td.dataset.sig = signature;
    td.replaceChildren();
    build(td);
  }

  async function act(button, work, done) {
    if (button) button.disabled = true;
    try {
      const r = await work();
      if (done) say(done(r));
    } catch (err) {
      say(err.message, true);
    } finally {
      if (button) button.disabled = false;
    }
    await refresh();
  }

  // ------------------------------------------------------------------ customers

  function customerFilter() {
    return { q: $("#customer-q").value.trim(), status: $("#customer-status").value, environment: $("#customer-env").value };
  }

  function renderCustomers(list) {
    sync($("#customers tbody"), list, (c) => c.id, (c) => {
      const tr = row(7);
      tr.dataset.customerId = c.id;
      return tr;
    }, (tr, c) => {
      const td = tr.children;
      setText(td[0], c.stack);
      setText(td[1], c.name);
      setText(td[2], c.environment);
      setText(td[3], c.status);
      setClass(td[3], "state state-" + c.status);
      // The API phase: configured, with the applied one first while they differ; the portal's note on hover.
      const a = c.apiAccess || {};
      setText(td[4], a.applied && a.applied !== a.phase ? a.applied + " → " + a.phase : a.phase);
      setClass(td[4], "api-access");
      if ((td[4].title || "") !== (a.note || "")) td[4].title = a.note || "";
      setText(td[5], c.lastJob ? c.lastJob.kind + " " + c.lastJob.state : "");
      const gone = c.status === "destroying" || c.status === "destroyed";
      actions(td[6], [me.user, gone, c.status].join("|"), (cell) => {
        if (has("operator") && !gone) {
          cell.appendChild(button("Preview", "preview", (b) => act(b, () => api("POST", "/api/customers/" + encodeURIComponent(c.id) + "/preview"), (r) => c.id + ": preview queued as " + r.job.id)));
          cell.appendChild(button("Up", "up", (b) => act(b, () => api("POST", "/api/customers/" + encodeURIComponent(c.id) + "/up"), (r) => c.id + ": up queued as " + r.job.id)));
          cell.appendChild(button("Destroy…", "destroy danger", () => confirmDestroy(c.id)));
        }
        if (has("engineer") && !gone) {
          cell.appendChild(button("Request access", "request", () => {
            const d = $("#request-access");
            d.open = true;
            $("#request-customer").value = c.id;
            $("#request-reason").focus();
          }));
        }
      });
    });
  }

  function confirmDestroy(stack) {
    const dialog = $("#destroy-dialog");
    $("#destroy-stack").textContent = stack;
    dialog.dataset.stack = stack;
    $("#destroy-confirm").value = "";
    $("#destroy-submit").disabled = true;
    dialog.showModal();
    $("#destroy-confirm").focus();
  }

  // ------------------------------------------------------------------ access requests

  function renderRequests(list) {
    sync($("#requests tbody"), list, (r) => r.id, (r) => {
      const tr = row(8);
      tr.dataset.requestId = r.id;
      return tr;
    }, (tr, r) => {
      const td = tr.children;
      setText(td[0], r.id);
      setText(td[1], r.customer);
      setText(td[2], r.engineer);
      setText(td[3], r.reason);
      setText(td[4], r.hours);
      setText(td[5], r.state);
      setClass(td[5], "state state-" + r.state);
      setText(td[6], when(r.notAfter));
      const mine = sameUser(r.engineer, me.user);
      const canDecide = has("approver") && r.state === "pending" && !mine;
      const canRevoke = has("engineer") && mine && (r.state === "pending" || r.state === "approved" || r.state === "active");
      actions(td[7], [me.user, r.state, !!r.certificatePem, r.certificateNote || ""].join("|"), (cell) => {
        cell.className = "";
        if (canDecide) {
          for (const decision of ["approve", "deny"]) {
            cell.appendChild(button(decision === "approve" ? "Approve" : "Deny", decision, (b) =>
              act(b, () => api("POST", "/api/access-requests/" + encodeURIComponent(r.id) + "/" + decision), () => r.id + ": " + (decision === "approve" ? "approved; applying the grant" : "denied"))));
          }
        }
        if (r.certificatePem) {
          const d = document.createElement("details");
          const s = document.createElement("summary");
          s.textContent = "certificate";
          const pre = document.createElement("pre");
          pre.className = "certificate";
          pre.textContent = r.certificatePem;
          d.append(s, pre);
          cell.appendChild(d);
        } else if (r.certificateNote && !canDecide) {
          const note = document.createElement("span");
          note.className = "muted";
          note.textContent = r.certificateNote;
          cell.appendChild(note);
        }
        if (canRevoke) {
          cell.appendChild(button("Revoke", "revoke", (b) => {
            if (!window.confirm("Revoke " + r.id + " on " + r.customer + "?")) return;
            act(b, () => api("POST", "/api/access-requests/" + encodeURIComponent(r.id) + "/revoke", {}), () => r.id + ": revoked");
          }));
        }
      });
    });
  }

  // ------------------------------------------------------------------ jobs

  function jobRows(tbody, list) {
    sync(tbody, list, (j) => j.id, (j) => {
      const tr = row(7);
      tr.className = "selectable";
      tr.dataset.jobId = j.id;
      tr.addEventListener("click", () => selectJob(j.id));
      return tr;
    }, (tr, j) => {
      const td = tr.children;
      setText(td[0], j.id);
      setText(td[1], j.customer);
      setText(td[2], j.kind);
      setText(td[3], j.state);
      setClass(td[3], "state state-" + j.state);
      setText(td[4], j.message || "");
      setText(td[5], when(j.createdAt));
      const rerunnable = has("operator") && (j.state === "interrupted" || j.state === "failed");
      actions(td[6], [me.user, rerunnable].join("|"), (cell) => {
        if (rerunnable) cell.appendChild(button("Re-run", "rerun", (b) => act(b, () => api("POST", "/api/jobs/" + encodeURIComponent(j.id) + "/rerun"), (r) => j.id + ": re-run as " + r.job.id)));
      });
      if (j.id === log.id) setText($("#job-id"), j.id + " (" + j.kind + " " + j.customer + ", " + j.state + ")");
    });
  }

  // ------------------------------------------------------------------ the live log

  const log = { id: null, controller: null, offset: 0, retry: null };

  function selectJob(id) {
    if (log.id === id) return;
    stopLog();
    log.id = id;
    log.offset = 0;
    $("#job-detail").hidden = false;
    $("#job-log").replaceChildren();
    $("#job-log").dataset.empty = "1";
    setText($("#job-id"), id);
    followLog();
  }

  function stopLog() {
    if (log.controller) log.controller.abort();
    if (log.retry) clearTimeout(log.retry);
    log.controller = null;
    log.retry = null;
  }

  function appendLog(text) {
    const pre = $("#job-log");
    if (pre.dataset.empty === "1") {
      pre.replaceChildren();
      delete pre.dataset.empty;
    }
    pre.appendChild(document.createTextNode(text));
  }

  /** GET /api/jobs/:id/log?follow=1 (text/event-stream) read with fetch; `log` events append, `end` closes. */
  async function followLog() {
    const id = log.id;
    const controller = new AbortController();
    log.controller = controller;
    setText($("#job-live"), "● live");
    let ended = false;
    try {
      const res = await fetch("/api/jobs/" + encodeURIComponent(id) + "/log" + query({ follow: 1, from: log.offset || undefined }), { headers: authHeader(), signal: controller.signal });
      if (!res.ok) throw new Error("log of " + id + ": " + res.status);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let at;
        while ((at = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          let event = "message";
          let eventId = null;
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const colon = line.indexOf(":");
            const field = colon < 0 ? line : line.slice(0, colon);
            const val = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
            if (field === "event") event = val;
            else if (field === "data") data.push(val);
            else if (field === "id") eventId = val;
          }
          if (log.id !== id) return;
          if (event === "log") {
            appendLog(data.join("\n"));
            if (eventId !== null) log.offset = Number(eventId);
          } else if (event === "end") {
            ended = true;
            const state = JSON.parse(data.join("\n") || "{}").state;
            setText($("#job-live"), state ? "(" + state + ")" : "");
            if ($("#job-log").dataset.empty === "1") setText($("#job-log"), "(no output)");
          }
        }
      }
    } catch (err) {
      if (controller.signal.aborted) return;
    }
    if (log.id !== id || controller.signal.aborted) return;
    if (!ended) {
      // Dropped (server restart, network): resume from the last offset.
      setText($("#job-live"), "reconnecting…");
      log.retry = setTimeout(followLog, 2000);
    }
  }

  // ------------------------------------------------------------------ audit

  function renderAudit(entries) {
    sync($("#audit tbody"), entries, (a) => String(a.seq), () => row(5), (tr, a) => {
      const td = tr.children;
      setText(td[0], a.seq);
      setText(td[1], when(a.at));
      setText(td[2], a.actor);
      setText(td[3], a.action);
      setText(td[4], a.subject);
    });
  }

  // ------------------------------------------------------------------ paging

  function pager(name, sel, onChange) {
    const nav = $(sel);
    $(".prev", nav).addEventListener("click", () => {
      const p = pages[name];
      if (p.cursors.length > 1) p.cursors.pop();
      onChange();
    });
    $(".next", nav).addEventListener("click", () => {
      const p = pages[name];
      if (p.next === null || p.next === undefined) return;
      p.cursors.push(p.next);
      onChange();
    });
  }
  function showPager(name, sel) {
    const p = pages[name];
    const nav = $(sel);
    $(".prev", nav).disabled = p.cursors.length <= 1;
    $(".next", nav).disabled = p.next === null || p.next === undefined;
    setText($(".page", nav), "page " + p.cursors.length);
  }
  const cursorOf = (name) => pages[name].cursors[pages[name].cursors.length - 1];
  function resetPages(name) {
    pages[name].cursors = [undefined];
    pages[name].next = null;
  }

  // ------------------------------------------------------------------ refresh

  async function refresh() {
    if (!me || refreshing) return;
    refreshing = true;
    try {
      const f = customerFilter();
      const calls = [
        api("GET", "/api/customers" + query({ limit: PAGE, cursor: cursorOf("customers"), q: f.q, status: f.status, environment: f.environment })),
        api("GET", "/api/jobs" + query({ limit: 20, cursor: cursorOf("jobs") })),
        api("GET", "/api/jobs" + query({ state: "interrupted", limit: 50 })),
        api("GET", "/api/access-requests?limit=100"),
        has("auditor") ? api("GET", "/api/audit" + query({ order: "desc", limit: PAGE, cursor: cursorOf("audit") })) : null,
      ];
      const [customers, jobs, interrupted, requests, audit] = await Promise.all(calls);
      pages.customers.next = customers.nextCursor;
      renderCustomers(customers.customers);
      showPager("customers", "#customers-pager");
      pages.jobs.next = jobs.nextCursor;
      jobRows($("#jobs tbody"), jobs.jobs);
      showPager("jobs", "#jobs-pager");
      $("#interrupted").hidden = interrupted.jobs.length === 0;
      jobRows($("#interrupted-jobs tbody"), interrupted.jobs);
      renderRequests(requests.requests);
      if (audit) {
        pages.audit.next = audit.nextCursor;
        renderAudit(audit.entries);
        showPager("audit", "#audit-pager");
      }
    } catch (err) {
      say(err.message, true);
      if (err.status === 401) signOut();
    } finally {
      refreshing = false;
    }
  }

  // ------------------------------------------------------------------ sign in / out

  async function signIn(token) {
    sessionStorage.setItem(KEY, token);
    try {
      me = await api("GET", "/api/me");
    } catch (err) {
      sessionStorage.removeItem(KEY);
      me = null;
      say(err.message, true);
      return;
    }
    $("#signin").hidden = true;
    $("#whoami").hidden = false;
    $("#user").textContent = me.user;
    $("#roles").textContent = "(" + me.roles.join(", ") + "; " + me.engine + " engine)";
    $("#audit-section").hidden = !has("auditor");
    $("#create-customer").hidden = !has("operator");
    $("#request-access").hidden = !has("engineer");
    $("#app").hidden = false;
    say("");
    await refresh();
    timer = setInterval(refresh, 1000);
  }

  function signOut() {
    sessionStorage.removeItem(KEY);
    me = null;
    if (timer) clearInterval(timer);
    timer = null;
    stopLog();
    log.id = null;
    $("#job-detail").hidden = true;
    for (const sel of ["#customers", "#requests", "#jobs", "#interrupted-jobs", "#audit"]) $(sel + " tbody").replaceChildren();
    for (const name of Object.keys(pages)) resetPages(name);
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

    let typing = null;
    const refilter = () => {
      resetPages("customers");
      refresh();
    };
    $("#customer-filter").addEventListener("submit", (e) => e.preventDefault());
    $("#customer-q").addEventListener("input", () => {
      clearTimeout(typing);
      typing = setTimeout(refilter, 250);
    });
    $("#customer-status").addEventListener("change", refilter);
    $("#customer-env").addEventListener("change", refilter);
    pager("customers", "#customers-pager", refresh);
    pager("jobs", "#jobs-pager", refresh);
    pager("audit", "#audit-pager", refresh);

    $("#create-form").addEventListener("submit", (e) => {
      e.preventDefault();
      let config;
      try {
        config = JSON.parse($("#create-config").value);
      } catch (err) {
        say("the stack config is not valid JSON: " + err.message, true);
        return;
      }
      const stack = $("#create-stack").value.trim();
      act(e.submitter, () => api("POST", "/api/customers", { stack, config }), (r) => {
        $("#create-form").reset();
        return stack + ": created; " + r.job.id + " deploys it";
      });
    });

    $("#request-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const customer = $("#request-customer").value.trim();
      const body = { reason: $("#request-reason").value.trim(), hours: Number($("#request-hours").value), csrPem: $("#request-csr").value.trim() + "\n" };
      act(e.submitter, () => api("POST", "/api/customers/" + encodeURIComponent(customer) + "/access-requests", body), (r) => {
        $("#request-form").reset();
        $("#request-access").open = false;
        return r.request.id + ": requested; an approver decides";
      });
    });

    const dialog = $("#destroy-dialog");
    $("#destroy-confirm").addEventListener("input", () => {
      $("#destroy-submit").disabled = $("#destroy-confirm").value !== dialog.dataset.stack;
    });
    $("#destroy-cancel").addEventListener("click", () => dialog.close());
    $("#destroy-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const stack = dialog.dataset.stack;
      if ($("#destroy-confirm").value !== stack) return;
      dialog.close();
      // The typed name is also the server's confirmation (prod stacks with deletion protection need ?confirm=<id>).
      act(null, () => api("DELETE", "/api/customers/" + encodeURIComponent(stack) + query({ confirm: stack })), (r) => stack + ": destroy queued as " + r.job.id);
    });

    const saved = sessionStorage.getItem(KEY);
    if (saved) signIn(saved);
  });
})();
