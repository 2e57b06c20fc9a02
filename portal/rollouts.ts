// Rollouts: one `up` per selected customer stack, in waves. Waves run in order; inside a wave at most
// `maxParallel` of the rollout's jobs are queued or running; a customer's `up` is queued only inside its
// maintenance window (byoc:customer.maintenanceWindow) unless `ignoreWindows`; with haltOnFailure the first failed
// `up` stops the rollout (jobs already running finish, nothing new starts). There is no second scheduler: the
// rollout only queues jobs in the portal's own queue (one operation per stack, BYOC_MAX_PARALLEL overall) and
// moves on when their results are recorded (the portal's job "end" events) or when the clock says a window opened
// (tick(), on a timer). State lives in the portal's database, so a restarted portal carries on.
import { randomBytes } from "crypto";
import { inMaintenanceWindow, parseMaintenanceWindow } from "../stacks/maintenanceWindow";
import { Actor, Portal, PortalError, section, vendorAccessOfRaw } from "./service";

export type RolloutState = "queued" | "running" | "succeeded" | "halted" | "failed";
export type WaveState = "pending" | "running" | "succeeded" | "halted" | "failed" | "skipped";
export type ItemState = "pending" | "waiting-window" | "queued" | "running" | "succeeded" | "failed" | "skipped";

export interface RolloutItem {
    customer: string;
    jobId: string | null;
    state: ItemState;
    message?: string;
}

export interface Rollout {
    id: string;
    state: RolloutState;
    reason: string;
    createdBy: string;
    createdAt: string;
    finishedAt?: string;
    selector: { environment?: "dev" | "prod"; customers?: string[] };
    maxParallel: number;
    haltOnFailure: boolean;
    ignoreWindows: boolean;
    /** Why it halted: the first failed customer, or who cancelled. */
    haltReason?: string;
    waves: { state: WaveState; items: RolloutItem[] }[];
}

const DONE: ReadonlySet<ItemState> = new Set(["succeeded", "failed", "skipped"]);
const ACTIVE: ReadonlySet<ItemState> = new Set(["queued", "running"]);
const MAX_ACTIVE_ROLLOUTS = 5;

const instances = new WeakMap<Portal, Rollouts>();

export class Rollouts {
    private timer?: NodeJS.Timeout;
    private ticking = false;

    /** The rollouts of a portal (one per portal; created on first use). */
    static of(portal: Portal, opts: { tickMs?: number } = {}): Rollouts {
        let r = instances.get(portal);
        if (!r) instances.set(portal, (r = new Rollouts(portal, opts.tickMs ?? 30_000)));
        return r;
    }

    private constructor(readonly portal: Portal, tickMs: number) {
        portal.store.db.exec(`CREATE TABLE IF NOT EXISTS rollouts (
            id TEXT PRIMARY KEY,
            state TEXT NOT NULL,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL
        )`);
        portal.logs.on("end", () => setImmediate(() => this.tick()));
        if (tickMs > 0) {
            this.timer = setInterval(() => this.tick(), tickMs);
            this.timer.unref();
        }
        setImmediate(() => this.tick());
    }

    close(): void {
        if (this.timer) clearInterval(this.timer);
    }

    create(actor: Actor, body: unknown): { rollout: { id: string; state: RolloutState } } {
        const b = parseBody(body);
        const at = this.portal.now().toISOString();
        const id = `ro-${randomBytes(5).toString("hex")}`;
        this.portal.store.tx(() => {
            const active = this.portal.store.db.prepare("SELECT count(*) AS n FROM rollouts WHERE state IN ('queued','running')").get() as { n: number };
            if (active.n >= MAX_ACTIVE_ROLLOUTS) throw new PortalError(429, `${active.n} rollouts are still running; wait for one to finish or cancel one`);
            const all = this.portal.store.customers().filter((c) => c.status !== "destroyed" && c.status !== "destroying");
            let selected = all;
            if (b.selector.customers) {
                const byId = new Map(all.map((c) => [c.id, c]));
                const missing = b.selector.customers.filter((c) => !byId.has(c));
                if (missing.length > 0) throw new PortalError(400, "invalid rollout", missing.map((m) => ({ path: "selector.customers", value: m, message: "is not an existing, undeleted customer" })));
                selected = b.selector.customers.map((c) => byId.get(c)!);
            }
            if (b.selector.environment) selected = selected.filter((c) => c.environment === b.selector.environment);
            if (!b.selector.customers) selected = [...selected].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
            const total = b.waves.reduce((s, n) => s + n, 0);
            if (selected.length === 0) throw new PortalError(400, "invalid rollout", [{ path: "selector", value: b.selector, message: "selects no customer" }]);
            if (total !== selected.length) throw new PortalError(400, "invalid rollout", [{ path: "waves", value: b.waves, message: `must add up to the ${selected.length} selected customers (they add up to ${total})` }]);
            let next = 0;
            const waves = b.waves.map((n) => ({ state: "pending" as WaveState, items: selected.slice(next, (next += n)).map((c) => ({ customer: c.id, jobId: null, state: "pending" as ItemState })) }));
            const rollout: Rollout = { id, state: "queued", reason: b.reason, createdBy: actor.user, createdAt: at, selector: b.selector, maxParallel: b.maxParallel, haltOnFailure: b.haltOnFailure, ignoreWindows: b.ignoreWindows, waves };
            this.save(rollout);
            this.portal.store.audit(at, actor.user, "rollout.created", id, { reason: b.reason, selector: b.selector, waves: b.waves, maxParallel: b.maxParallel, haltOnFailure: b.haltOnFailure, ignoreWindows: b.ignoreWindows, customers: selected.length });
        });
        setImmediate(() => this.tick());
        return { rollout: { id, state: "queued" } };
    }

    get(id: string): Rollout {
        const row = this.portal.store.db.prepare("SELECT body FROM rollouts WHERE id = ?").get(id) as { body: string } | undefined;
        if (!row) throw new PortalError(404, `rollout ${id} does not exist`);
        return JSON.parse(row.body) as Rollout;
    }

    list(limit = 50): Rollout[] {
        const rows = this.portal.store.db.prepare("SELECT body FROM rollouts ORDER BY created_at DESC, id DESC LIMIT ?").all(Math.max(1, Math.min(200, limit))) as { body: string }[];
        return rows.map((r) => JSON.parse(r.body) as Rollout);
    }

    /** Stops queueing: jobs already queued or running finish; nothing else starts. */
    cancel(actor: Actor, id: string, body: unknown): { rollout: Rollout } {
        const reason = body && typeof body === "object" && typeof (body as { reason?: unknown }).reason === "string" ? ((body as { reason: string }).reason.slice(0, 500)) : undefined;
        this.portal.store.tx(() => {
            const r = this.get(id);
            if (r.state !== "queued" && r.state !== "running") throw new PortalError(409, `rollout ${id} is ${r.state}; only a queued or running rollout can be cancelled`);
            const at = this.portal.now().toISOString();
            this.halt(r, `cancelled by ${actor.user}${reason ? `: ${reason}` : ""}`, at);
            this.save(r);
            this.portal.store.audit(at, actor.user, "rollout.cancelled", id, { reason: reason ?? null });
        });
        return { rollout: this.get(id) };
    }

    /** Moves every unfinished rollout as far as the recorded job results and the clock allow. Never throws. */
    tick(): void {
        if (this.ticking || this.portal.isClosed) return;
        this.ticking = true;
        try {
            const ids = this.portal.store.db.prepare("SELECT id FROM rollouts WHERE state IN ('queued','running') ORDER BY created_at, id").all() as { id: string }[];
            for (const { id } of ids) this.portal.store.tx(() => this.advance(this.get(id)));
        } catch (err) {
            if (!this.portal.isClosed) console.error(`rollouts: ${(err as Error).message}`);
        } finally {
            this.ticking = false;
        }
    }

    private advance(r: Rollout): void {
        const at = this.portal.now().toISOString();
        const before = JSON.stringify(r);
        const audit = (action: string, detail: Record<string, unknown>) => this.portal.store.audit(at, "system:rollout", action, r.id, detail);
        // Item states from the jobs' recorded states.
        for (const w of r.waves) {
            for (const item of w.items) {
                if (!item.jobId || DONE.has(item.state)) continue;
                const job = this.portal.store.job(item.jobId);
                const s = job?.state;
                if (s === "queued" || s === "running") item.state = s;
                else if (s === "succeeded") item.state = "succeeded";
                else {
                    item.state = "failed";
                    item.message = job?.message ?? `job ${item.jobId} is ${s ?? "gone"}`;
                    audit("rollout.item-failed", { customer: item.customer, jobId: item.jobId, message: item.message });
                }
            }
        }
        if (r.state === "queued") {
            r.state = "running";
            audit("rollout.started", {});
        }
        for (let i = 0; i < r.waves.length; i++) {
            const w = r.waves[i];
            if (w.state !== "pending" && w.state !== "running") continue;
            const failed = w.items.find((x) => x.state === "failed");
            const stop = r.haltOnFailure && failed !== undefined;
            if (w.state === "pending") {
                w.state = "running";
                audit("rollout.wave-started", { wave: i + 1, customers: w.items.length });
            }
            if (!stop) {
                let active = w.items.filter((x) => ACTIVE.has(x.state)).length;
                const now = this.portal.now();
                for (const item of w.items) {
                    if (active >= r.maxParallel) break;
                    if (item.state !== "pending" && item.state !== "waiting-window") continue;
                    const c = this.portal.store.customer(item.customer);
                    if (!c || c.status === "destroyed" || c.status === "destroying") {
                        item.state = "skipped";
                        item.message = `customer is ${c?.status ?? "gone"}`;
                        continue;
                    }
                    // The customer's kill switch, seen by a job (Portal.afterRefusedDeployRole): their account refuses
                    // the deploy role, so the up could only fail (and with haltOnFailure halt everyone else's). A
                    // suspended stack is skipped too: its API is private, and a release's change (a Helm upgrade)
                    // fails on an unreachable cluster; it gets the release when re-enabled. "suspending" is not
                    // skipped: its own two runs are under way.
                    const raw = JSON.parse(c.config) as Record<string, unknown>;
                    if (c.vendor_refused_at || vendorAccessOfRaw(raw) === "suspended") {
                        item.state = "skipped";
                        item.message = c.vendor_refused_at
                            ? `the customer's account refused the deploy role (kill switch) at ${c.vendor_refused_at}: vendor access is suspended; once they re-enabled it, POST /api/customers/${c.id}/vendor-access {"state":"enabled"} and run up`
                            : `vendor access is suspended (byoc:access.vendorAccess): the API is private and a release would not apply; it gets this release once re-enabled`;
                        audit("rollout.item-skipped", { customer: item.customer, message: item.message });
                        continue;
                    }
                    if (!r.ignoreWindows) {
                        const text = section(raw, "byoc:customer").maintenanceWindow;
                        const win = typeof text === "string" ? parseMaintenanceWindow(text) : undefined;
                        if (win && !inMaintenanceWindow(win, now)) {
                            if (item.state !== "waiting-window") {
                                item.state = "waiting-window";
                                item.message = `outside its maintenance window (${text})`;
                            }
                            continue;
                        }
                    }
                    try {
                        const job = this.portal.requestOperation({ user: r.createdBy, roles: ["operator"] }, item.customer, "up", `rollout ${r.id} wave ${i + 1}: ${r.reason}`);
                        item.jobId = job.id;
                        item.state = "queued";
                        delete item.message;
                        active++;
                    } catch (err) {
                        item.state = "failed";
                        item.message = `could not queue the up: ${(err as Error).message}`;
                        audit("rollout.item-failed", { customer: item.customer, message: item.message });
                        if (r.haltOnFailure) break;
                    }
                }
            }
            const nowFailed = w.items.find((x) => x.state === "failed");
            const open = w.items.some((x) => ACTIVE.has(x.state));
            if (r.haltOnFailure && nowFailed) {
                if (!open) this.halt(r, `customer ${nowFailed.customer} failed (${nowFailed.jobId ?? "not queued"}): ${nowFailed.message ?? ""}`.trim(), at);
                break;
            }
            if (!w.items.every((x) => DONE.has(x.state))) break;
            w.state = w.items.some((x) => x.state === "failed") ? "failed" : "succeeded";
            audit("rollout.wave-finished", { wave: i + 1, state: w.state });
        }
        if (r.state === "running" && r.waves.every((w) => w.state !== "pending" && w.state !== "running")) {
            r.state = r.waves.some((w) => w.state === "failed") ? "failed" : "succeeded";
            r.finishedAt = at;
            audit(`rollout.${r.state}`, {});
        }
        if (JSON.stringify(r) !== before) this.save(r);
    }

    /** Halted: the current wave halted, later waves skipped, unqueued items skipped. */
    private halt(r: Rollout, why: string, at: string): void {
        let seenCurrent = false;
        for (const w of r.waves) {
            for (const item of w.items) if (item.state === "pending" || item.state === "waiting-window") item.state = "skipped";
            if (w.state === "running" || (!seenCurrent && w.state === "pending" && r.state === "queued")) {
                w.state = "halted";
                seenCurrent = true;
            } else if (w.state === "pending") w.state = "skipped";
        }
        r.state = "halted";
        r.haltReason = why;
        r.finishedAt = at;
        this.portal.store.audit(at, "system:rollout", "rollout.halted", r.id, { reason: why });
    }

    private save(r: Rollout): void {
        this.portal.store.db.prepare("INSERT INTO rollouts (id, state, body, created_at) VALUES (@id, @state, @body, @created_at) ON CONFLICT(id) DO UPDATE SET state = excluded.state, body = excluded.body").run({ id: r.id, state: r.state, body: JSON.stringify(r), created_at: r.createdAt });
    }
}

interface Body {
    selector: { environment?: "dev" | "prod"; customers?: string[] };
    waves: number[];
    maxParallel: number;
    haltOnFailure: boolean;
    ignoreWindows: boolean;
    reason: string;
}

function parseBody(body: unknown): Body {
    const problems: { path: string; value: unknown; message: string }[] = [];
    const b = (body && typeof body === "object" && !Array.isArray(body) ? body : {}) as Record<string, unknown>;
    for (const k of Object.keys(b)) if (!["selector", "waves", "maxParallel", "haltOnFailure", "ignoreWindows", "reason"].includes(k)) problems.push({ path: k, value: b[k], message: "is not a rollout field" });
    const sel = (b.selector && typeof b.selector === "object" && !Array.isArray(b.selector) ? b.selector : undefined) as Record<string, unknown> | undefined;
    const selector: Body["selector"] = {};
    if (!sel) problems.push({ path: "selector", value: b.selector ?? null, message: "must be { environment?: \"dev\"|\"prod\", customers?: [id…] }" });
    else {
        for (const k of Object.keys(sel)) if (k !== "environment" && k !== "customers") problems.push({ path: `selector.${k}`, value: sel[k], message: "is not a selector field" });
        if (sel.environment !== undefined) {
            if (sel.environment === "dev" || sel.environment === "prod") selector.environment = sel.environment;
            else problems.push({ path: "selector.environment", value: sel.environment, message: 'must be "dev" or "prod"' });
        }
        if (sel.customers !== undefined) {
            if (Array.isArray(sel.customers) && sel.customers.length > 0 && sel.customers.length <= 5000 && sel.customers.every((c) => typeof c === "string") && new Set(sel.customers).size === sel.customers.length) selector.customers = sel.customers as string[];
            else problems.push({ path: "selector.customers", value: sel.customers, message: "must be a non-empty list of distinct customer ids" });
        }
    }
    const waves = b.waves;
    const wavesOk = Array.isArray(waves) && waves.length >= 1 && waves.length <= 50 && waves.every((n) => Number.isInteger(n) && n >= 1);
    if (!wavesOk) problems.push({ path: "waves", value: waves ?? null, message: "must be 1–50 positive whole numbers (customers per wave)" });
    const maxParallel = b.maxParallel;
    if (!(Number.isInteger(maxParallel) && (maxParallel as number) >= 1 && (maxParallel as number) <= 100)) problems.push({ path: "maxParallel", value: maxParallel ?? null, message: "must be a whole number 1–100" });
    if (b.haltOnFailure !== undefined && typeof b.haltOnFailure !== "boolean") problems.push({ path: "haltOnFailure", value: b.haltOnFailure, message: "must be true or false" });
    if (b.ignoreWindows !== undefined && typeof b.ignoreWindows !== "boolean") problems.push({ path: "ignoreWindows", value: b.ignoreWindows, message: "must be true or false" });
    const reason = typeof b.reason === "string" ? b.reason.trim() : "";
    if (reason.length < 3 || reason.length > 500) problems.push({ path: "reason", value: b.reason ?? null, message: "must say why (3–500 characters)" });
    if (problems.length > 0) throw new PortalError(400, "invalid rollout", problems);
    return { selector, waves: waves as number[], maxParallel: maxParallel as number, haltOnFailure: b.haltOnFailure !== false, ignoreWindows: b.ignoreWindows === true, reason };
}
