// The portal page: plain JS, no build. The token stays in sessionStorage (gone when the tab closes); every
// value from the API is written with textContent, never as HTML.
//
// Every second the page asks for what it shows (one page of each list; rollouts while one is queued or running,
// otherwise every 5 s) and updates only what changed: rows are keyed by id, moved or patched in place, so an
// opened certificate stays open, a selection in a log stays selected and a half-typed form keeps its text. A
// selected job's log is streamed (text/event-stream over fetch, so the bearer token goes in a header) and
// appended to, never replaced.
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
      const name = document.createElement("span");
      name.className = "customer-name";
      tr.children[1].appendChild(name);
      return tr;
    }, (tr, c) => {
      const td = tr.children;
      setText(td[0], c.stack);
      setText($(".customer-name", td[1]), c.name);
      vendorBadge(td[1], c);
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

  /**
   * The provider's access is off (byoc:access.vendorAccess: the customer's bootstrap kill switch, or an operator's
   * suspension) or going off (suspending: the first of the two runs): a badge. Nothing when absent or "enabled".
   */
  function vendorBadge(cell, c) {
    let badge = $(".badge-vendor", cell);
    if (c.vendorAccess !== "suspended" && c.vendorAccess !== "suspending") {
      if (badge) badge.remove();
      return;
    }
    if (!badge) {
      badge = document.createElement("span");
      badge.className = "badge badge-vendor";
      cell.appendChild(badge);
    }
    const text = c.vendorAccess === "suspending" ? "vendor access being suspended" : "vendor access suspended";
    if (badge.textContent !== text) badge.textContent = text;
    const title = (c.vendorAccess === "suspending"
      ? "The provider's paths into this customer's account are being removed (vendorAccess: suspending; the next run closes the API endpoint)"
      : "The provider's access to this customer's account is suspended (vendorAccess: suspended)") +
      (c.vendorAccessRefusedAt ? "; the account refused the deploy role at " + when(c.vendorAccessRefusedAt) : "");
    if (badge.title !== title) badge.title = title;
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

  // ------------------------------------------------------------------ rollouts

  // GET /api/rollouts answers with whole rollouts (waves and items, portal/rollouts.ts list()); one without
  // waves is read with GET /api/rollouts/:id. Asked for at every refresh while one is queued or running or a
  // stopped one still has jobs running (and right after a cancel), otherwise every ROLLOUT_IDLE_TICKS-th refresh
  // so one started elsewhere shows up. It is the page's one refresh loop, not a second one.
  const ROLLOUT_IDLE_TICKS = 5;
  const ACTIVE_ROLLOUT = ["queued", "running"];
  /**
   * A wave's bar counts the items whose `up` ended (succeeded, failed, interrupted) of all its items. Skipped items
   * (halted, cancelled, customer destroyed) never ran: they are named beside the bar, never counted as done,
   * so a halted wave shows how far it got instead of a full bar.
   */
  const FINISHED_ITEM = ["succeeded", "failed", "interrupted"];
  const ENDED_JOB = ["succeeded", "failed", "interrupted"];
  const fresh = () => ({ list: [], active: true, stale: true, idle: 0, running: new Set(), jobs: new Map() });
  /**
   * A rollout records its items' job states when it moves on (a job's end), and not at all once it stopped: an
   * item "queued" may be running, and the items still running when a rollout was cancelled never get their end.
   * The page shows the jobs' own states: `running` (GET /api/jobs?state=running, few: BYOC_MAX_PARALLEL) while a
   * rollout is active, `jobs` (GET /api/jobs/:id, until the job ends) for the unfinished items of a stopped one.
   */
  const rollouts = fresh();

  function itemState(x) {
    if (!x.jobId || (x.state !== "queued" && x.state !== "running")) return x.state;
    const known = rollouts.jobs.get(x.jobId);
    if (known && known !== "unknown") return known;
    return rollouts.running.has(x.jobId) ? "running" : x.state;
  }
  /** Job ids of a stopped rollout's items whose end it never recorded (and the page has not seen yet). */
  function unfinishedJobs(r) {
    if (ACTIVE_ROLLOUT.includes(r.state)) return [];
    const ids = [];
    for (const w of r.waves || []) {
      for (const x of w.items) {
        if (!x.jobId || (x.state !== "queued" && x.state !== "running")) continue;
        const known = rollouts.jobs.get(x.jobId);
        if (known !== "unknown" && !ENDED_JOB.includes(known)) ids.push(x.jobId);
      }
    }
    return ids;
  }
  async function readUnfinishedJobs(list) {
    const ids = list.flatMap(unfinishedJobs).slice(0, 50);
    await Promise.all(ids.map(async (id) => {
      try {
        rollouts.jobs.set(id, (await api("GET", "/api/jobs/" + encodeURIComponent(id))).job.state);
      } catch (err) {
        if (err.status === 404) rollouts.jobs.set(id, "unknown"); // gone: show what the rollout recorded
        else throw err;
      }
    }));
    return list;
  }
  let uid = 0;
  const nextId = (prefix) => prefix + "-" + ++uid;

  function el(tag, cls, text) {
    const n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }

  async function withDetails(list) {
    return Promise.all(list.map(async (r) => (Array.isArray(r.waves) ? r : (await api("GET", "/api/rollouts/" + encodeURIComponent(r.id))).rollout)));
  }

  function renderRollouts(list) {
    rollouts.list = list;
    rollouts.active = list.some((r) => ACTIVE_ROLLOUT.includes(r.state) || unfinishedJobs(r).length > 0);
    $("#rollouts-empty").hidden = list.length > 0;
    sync($("#rollouts"), list, (r) => r.id, createRollout, updateRollout);
  }

  /** A rollout an action returned (cancel): shown at once, the next refresh asks again. */
  function applyRollout(r) {
    if (!r || !r.id) return;
    const list = rollouts.list.some((x) => x.id === r.id) ? rollouts.list.map((x) => (x.id === r.id ? r : x)) : [r].concat(rollouts.list);
    renderRollouts(list);
    rollouts.stale = true;
  }

  function createRollout(r) {
    const art = el("article", "rollout");
    art.dataset.rolloutId = r.id;
    const title = el("h3", "rollout-title");
    title.id = nextId("rollout-title");
    art.setAttribute("aria-labelledby", title.id);
    title.append(el("span", "rollout-id"), " ", el("span", "state rollout-state"));
    const reason = el("p", "rollout-reason");
    reason.append(el("span", "label", "Reason: "), el("span", "rollout-reason-text"));
    const halt = el("p", "rollout-halt");
    halt.append(el("span", "label", "Halted: "), el("span", "rollout-halt-text"));
    const waves = el("ol", "waves");
    waves.setAttribute("aria-label", "Waves");
    art.append(title, reason, el("p", "rollout-meta muted"), halt, el("div", "rollout-actions"), waves);
    return art;
  }

  function updateRollout(art, r) {
    setText($(".rollout-id", art), r.id);
    const state = $(".rollout-state", art);
    setText(state, r.state);
    setClass(state, "state rollout-state state-" + r.state);
    setText($(".rollout-reason-text", art), r.reason);
    const sel = r.selector || {};
    const what = sel.customers ? sel.customers.length + " chosen customers" : sel.environment ? "every " + sel.environment + " customer" : "every customer";
    setText($(".rollout-meta", art), [
      what,
      "at most " + r.maxParallel + " at once",
      r.haltOnFailure === false ? "carries on after failures" : "halts on the first failure",
      r.ignoreWindows ? "ignores maintenance windows" : "waits for maintenance windows",
      "by " + r.createdBy + " " + when(r.createdAt),
      r.finishedAt ? "finished " + when(r.finishedAt) : "",
    ].filter(Boolean).join(" · "));
    const halt = $(".rollout-halt", art);
    halt.hidden = !r.haltReason;
    setText($(".rollout-halt-text", halt), r.haltReason || "");
    const cancellable = has("operator") && ACTIVE_ROLLOUT.includes(r.state);
    actions($(".rollout-actions", art), [me.user, cancellable].join("|"), (cell) => {
      if (!cancellable) return;
      const b = button("Cancel…", "cancel-rollout danger", () => confirmCancel(r.id));
      b.setAttribute("aria-label", "Cancel rollout " + r.id);
      cell.appendChild(b);
    });
    sync($(".waves", art), (r.waves || []).map((w, i) => ({ w, i })), (x) => String(x.i), createWave, updateWave);
  }

  function createWave({ w, i }) {
    const li = el("li", "wave");
    li.dataset.wave = String(i + 1);
    const head = el("div", "wave-head");
    const name = el("span", "wave-name", "Wave " + (i + 1));
    name.id = nextId("wave-name");
    const bar = el("progress", "wave-progress");
    const count = el("span", "wave-count");
    count.id = nextId("wave-count");
    bar.setAttribute("aria-labelledby", name.id + " " + count.id);
    head.append(name, bar, count, el("span", "state wave-state"));
    const details = el("details", "wave-items");
    details.open = w.items.length <= 12; // a big wave starts folded; the user's choice stays (built once)
    const table = el("table", "items");
    const caption = el("caption", "visually-hidden", "Customers of wave " + (i + 1));
    const thead = el("thead");
    const tr = el("tr");
    for (const h of ["Customer", "Job", "State", "Note"]) tr.appendChild(el("th", "", h));
    thead.appendChild(tr);
    table.append(caption, thead, el("tbody"));
    details.append(el("summary"), table);
    li.append(head, details);
    return li;
  }

  function updateWave(li, { w }) {
    const total = w.items.length;
    const finished = w.items.filter((x) => FINISHED_ITEM.includes(itemState(x))).length;
    const failed = w.items.filter((x) => x.state === "failed").length;
    const skipped = w.items.filter((x) => x.state === "skipped").length;
    const bar = $(".wave-progress", li);
    if (bar.getAttribute("max") !== String(total)) bar.setAttribute("max", String(total));
    if (bar.getAttribute("value") !== String(finished)) bar.setAttribute("value", String(finished));
    setText($(".wave-count", li), finished + " of " + total + " finished" + (failed ? ", " + failed + " failed" : "") + (skipped ? ", " + skipped + " skipped" : ""));
    const state = $(".wave-state", li);
    setText(state, w.state);
    setClass(state, "state wave-state state-" + w.state);
    setText($(".wave-items > summary", li), total + (total === 1 ? " customer" : " customers"));
    sync($(".items tbody", li), w.items, (x) => x.customer, (x) => {
      const tr = row(4);
      tr.dataset.customer = x.customer;
      return tr;
    }, (tr, x) => {
      const td = tr.children;
      setText(td[0], x.customer);
      actions(td[1], x.jobId || "", (cell) => {
        if (!x.jobId) return void (cell.textContent = "—");
        const b = button(x.jobId, "job-link", () => {
          selectJob(x.jobId);
          $("#job-detail").scrollIntoView({ block: "nearest" });
        });
        b.setAttribute("aria-label", "Show the log of " + x.jobId);
        cell.appendChild(b);
      });
      const state = itemState(x);
      setText(td[2], state);
      setClass(td[2], "state state-" + state);
      setText(td[3], x.message || "");
    });
  }

  function confirmCancel(id) {
    const dialog = $("#cancel-rollout-dialog");
    $("#cancel-rollout-id").textContent = id;
    dialog.dataset.rollout = id;
    $("#cancel-rollout-reason").value = "";
    dialog.showModal();
    $("#cancel-rollout-reason").focus();
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
        rollouts.stale || rollouts.active || rollouts.idle + 1 >= ROLLOUT_IDLE_TICKS ? api("GET", "/api/rollouts").then((r) => withDetails(r.rollouts)).then(readUnfinishedJobs) : null,
        // Running jobs are few (BYOC_MAX_PARALLEL overall): the live state of a rollout's queued items.
        rollouts.active ? api("GET", "/api/jobs" + query({ state: "running", limit: 1000 })) : null,
      ];
      const [customers, jobs, interrupted, requests, audit, rolloutList, runningJobs] = await Promise.all(calls);
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
      if (runningJobs || rolloutList) rollouts.running = new Set(runningJobs ? runningJobs.jobs.map((j) => j.id) : []);
      if (rolloutList) {
        rollouts.stale = false;
        rollouts.idle = 0;
        renderRollouts(rolloutList);
      } else rollouts.idle++;
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
    $("#rollouts").replaceChildren();
    Object.assign(rollouts, fresh());
    if ($("#cancel-rollout-dialog").open) $("#cancel-rollout-dialog").close();
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

    const cancelDialog = $("#cancel-rollout-dialog");
    $("#cancel-rollout-keep").addEventListener("click", () => cancelDialog.close());
    $("#cancel-rollout-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const id = cancelDialog.dataset.rollout;
      const reason = $("#cancel-rollout-reason").value.trim();
      cancelDialog.close();
      // POST /api/rollouts/:id/cancel takes { reason? }: the rollout halts, with "cancelled by <user>: <reason>".
      act(null, () => api("POST", "/api/rollouts/" + encodeURIComponent(id) + "/cancel", reason ? { reason } : {}), (r) => {
        applyRollout(r.rollout);
        return id + ": cancelled (" + r.rollout.state + "); jobs already running finish";
      });
    });

    const saved = sessionStorage.getItem(KEY);
    if (saved) signIn(saved);
  });
})();
