// The portal's domain: customers (one Pulumi stack each), jobs run through an engine with at most one job per
// stack and a bounded number overall, the troubleshooting-access workflow (request → approval → grant in the
// stack config → up → certificate → expiry by the sweeper) and the audit trail. HTTP lives in http.ts; this
// file is callable directly from tests and the benchmark.
import { randomBytes } from "crypto";
import { EventEmitter } from "events";
import { API_PHASES, ApiAccess, apiAccessOf, ConfigProblem, Grant, parseStackConfig, VENDOR_ACCESS, VendorAccessState } from "../stacks/schema";
import { Operation, OperationResult, StackEngine, StackLimiter } from "../automation";
import { sourceIdentityOf, type DriftChange } from "../automation/types";
import { AccessRow, AuditRow, CustomerRow, JobKind, JobRow, Store } from "./store";
import { findCertificate } from "./certificates";
import { InstanceLock } from "./instanceLock";
import { redactConfig, splitSecrets } from "./configSecrets";
import { checkEngineerCsr, MAX_CSR_PEM_BYTES } from "../components/render/csr";

export type Role = "operator" | "engineer" | "approver" | "auditor";
export const roles: readonly Role[] = ["operator", "engineer", "approver", "auditor"];

export interface Actor {
    user: string;
    roles: Role[];
}

/** An error with the HTTP status it stands for; `problems` lists every bad field for 400s. */
export class PortalError extends Error {
    constructor(readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 429, message: string, readonly problems?: ConfigProblem[]) {
        super(message);
    }
}

export interface PortalOptions {
    dbFile: string;
    engine: StackEngine;
    /** The clock; tests pass a controllable one. */
    now?: () => Date;
    /** Jobs running at once across all stacks (one per stack at most). Default 4. */
    maxParallel?: number;
    /** How often the sweeper removes expired grants; 0 disables the timer (call `sweep()`). Default 60 s. */
    sweepIntervalMs?: number;
    /** Stack names that belong to the repository itself and must not be taken over. */
    reservedStacks?: string[];
    /** Hours a request may stay pending before the sweeper expires it. Default 24. */
    pendingRequestHours?: number;
    /** SQLite busy_timeout: how long a write waits for another connection's lock. Default 5000 ms. */
    busyTimeoutMs?: number;
    /**
     * Backoff of jobs that could not start (the store or the engine failed before the operation ran) and of job
     * results that could not be recorded: `baseMs` doubling up to `maxMs`; a job that failed to start
     * `startAttempts` times fails. Defaults 1 s, 60 s, 5.
     */
    retry?: { baseMs?: number; maxMs?: number; startAttempts?: number };
    /** Bounds on what callers can pile up (413/429 past them); see DEFAULT_LIMITS. */
    limits?: Partial<PortalLimits>;
    /**
     * How often each deployed stack gets a drift check (BYOC_DRIFT_SECONDS); 0 turns the scheduled checks off
     * (operators can still ask for one). Default 6 h.
     */
    driftIntervalMs?: number;
    /** How often the drift scheduler looks for stacks that are due; 0 disables its timer (call `scheduleDriftChecks()`). Default min(driftIntervalMs, 60 s). */
    driftTickMs?: number;
    /**
     * Kill-switch refusals that look like one cause: when this many other customers' accounts refused their deploy
     * role within the last hour, a further refusal is flagged for an operator instead of suspending the customer
     * (STS words a provider-side gap — the runner's own policy lost sts:AssumeRole — exactly like a customer's
     * switch). Default 3; 0 turns the check off.
     */
    killSwitchBurst?: number;
}

/** The default interval of scheduled drift checks: 6 hours (also `npm run portal`'s BYOC_DRIFT_SECONDS default). */
export const DEFAULT_DRIFT_INTERVAL_MS = 6 * 3600_000;

/** The default of PortalOptions.killSwitchBurst (also `npm run portal`'s BYOC_KILL_SWITCH_BURST default). */
export const DEFAULT_KILL_SWITCH_BURST = 3;

export interface PortalLimits {
    /** Pending access requests one engineer may have, over all stacks. */
    pendingPerEngineer: number;
    /** Pending access requests one stack may have. */
    pendingPerStack: number;
    /** Queued (not yet running) jobs one stack may have; the portal's own follow-up jobs do not count against callers. */
    queuedPerStack: number;
}

export const DEFAULT_LIMITS: PortalLimits = { pendingPerEngineer: 5, pendingPerStack: 20, queuedPerStack: 5 };

/**
 * Time the `up` that applies a grant may take to reach its certificate: a grant's window is fixed when that up
 * starts, as start + hours + this allowance, so the certificate (whole hours from its creation, rounded down to
 * what is left before notAfter) gets exactly the hours asked for and still ends before notAfter.
 */
export const ISSUE_ALLOWANCE_MS = 10 * 60_000;

/** Stack outputs never returned in clear whatever the engine says (the kubeconfig holds the cluster's way in). */
const SECRET_OUTPUTS: readonly string[] = ["kubeconfig"];
/** What a secret output reads as in every API answer. */
const REDACTED = "[secret]";

/** Emitted on Portal.logs: `log` (jobId, text appended) and `end` (jobId, final state). */
export type LogEvents = { log: [jobId: string, text: string]; end: [jobId: string, state: string] };

const STACK_NAME = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const SYSTEM_SWEEPER = "system:sweeper";
const SYSTEM = "system";
/** The actor of scheduled drift checks. */
const SYSTEM_DRIFT = "system:drift";
/** At most this many changes of one drift check are kept on the customer (the job log has them all). */
const MAX_DRIFT_CHANGES = 100;
/** The actor of the portal's own phase changes (bootstrap → switchover → tailnet) after a private stack's ups. */
const SYSTEM_PHASE = "system:phase";
/** The reason of the `up` the portal queues to move a private stack to phase switchover. */
export const SWITCHOVER_UP_REASON = "move the Kubernetes provider to the tailnet (phase switchover)";
/** The reason of the `up` the portal queues to move a private stack to phase tailnet. */
export const TAILNET_UP_REASON = "close the public API endpoint (phase tailnet)";
/** The actor of the portal's own vendor-access change when a job saw the customer's account refuse the deploy role. */
export const SYSTEM_VENDOR_ACCESS = "system:vendor-access";
/** The reason recorded with that change (audit customer.vendor-access). */
export const DEPLOY_ROLE_REFUSED_REASON = "the customer's account refused the deploy role (kill switch)";
/** The reason recorded when the portal moves a suspension on from "suspending" to "suspended" (audit customer.vendor-access). */
export const VENDOR_PATHS_REMOVED_REASON = "vendor paths removed; closing the public API endpoint";
/** The reason of the second `up` of a suspension, which the portal queues after the "suspending" one succeeded. */
export const SUSPENDED_UP_REASON = "suspend vendor access: close the public API endpoint (vendorAccess suspended)";
/** What an operator may ask POST /api/customers/:id/vendor-access for ("suspending" is the portal's own first step of "suspended"). */
const REQUESTED_VENDOR_ACCESS = ["enabled", "suspended"] as const;
/** How much of a failed job's log (its end) is searched for the deploy role's refusal, besides the job's message. */
const REFUSAL_LOG_SCAN = 64 * 1024;

const newId = (prefix: string) => `${prefix}-${randomBytes(5).toString("hex")}`;
const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

export class Portal {
    readonly store: Store;
    readonly engine: StackEngine;
    readonly now: () => Date;
    private readonly limiter: StackLimiter;
    private readonly reserved: Set<string>;
    private readonly running = new Map<string, Promise<void>>();
    private sweeper?: NodeJS.Timeout;
    private driftTimer?: NodeJS.Timeout;
    private closed = false;
    /** Live job output for followers (GET /api/jobs/:id/log?follow=1): every append and every job's end. */
    readonly logs = new EventEmitter<LogEvents>().setMaxListeners(0);
    private readonly lock?: InstanceLock;
    readonly limits: PortalLimits;
    /** Jobs that could not start, by id: attempts so far and when the next may be (Date.now()); kept in memory so a store that cannot record them still backs off. */
    private readonly startFailures = new Map<string, { attempts: number; notBefore: number; error: string }>();
    private readonly timers = new Set<NodeJS.Timeout>();
    private readonly sleepers = new Set<() => void>();
    private pumpTimer?: NodeJS.Timeout;
    private pumpAt?: number;

    constructor(readonly options: PortalOptions) {
        // The lock comes before anything reads or writes the state: a second portal on this database stops here,
        // before it could mark the first one's running jobs interrupted or start jobs of its own.
        this.lock = options.dbFile === ":memory:" ? undefined : InstanceLock.acquire(options.dbFile);
        try {
            this.store = new Store(options.dbFile, { busyTimeoutMs: options.busyTimeoutMs });
        } catch (err) {
            this.lock?.release();
            throw err;
        }
        this.limits = { ...DEFAULT_LIMITS, ...(options.limits ?? {}) };
        this.engine = options.engine;
        this.now = options.now ?? (() => new Date());
        this.limiter = new StackLimiter(options.maxParallel ?? 4);
        this.reserved = new Set(options.reservedStacks ?? ["dev", "prod"]);
        try {
            this.recover();
        } catch (err) {
            this.store.close();
            this.lock?.release();
            throw err;
        }
    }

    private iso(): string {
        return this.now().toISOString();
    }

    /** Starts the scheduler on queued jobs left from a previous run, and the sweeper timer. */
    start(): this {
        const every = this.options.sweepIntervalMs ?? 60_000;
        if (every > 0) {
            this.sweeper = setInterval(() => {
                try {
                    this.sweep();
                } catch (err) {
                    if (!this.closed) console.error(`sweeper: ${(err as Error).message}`);
                }
            }, every);
            this.sweeper.unref();
        }
        const drift = this.driftIntervalMs;
        const tick = this.options.driftTickMs ?? Math.min(drift, 60_000);
        if (drift > 0 && tick > 0) {
            this.driftTimer = setInterval(() => {
                try {
                    this.scheduleDriftChecks();
                } catch (err) {
                    if (!this.closed) console.error(`drift scheduler: ${(err as Error).message}`);
                }
            }, tick);
            this.driftTimer.unref();
        }
        this.pump();
        return this;
    }

    /**
     * Stops the sweeper and closes the database. Jobs still running are abandoned as if the process died: their
     * results are dropped and the next start marks them interrupted (a crash does the same).
     */
    close(): void {
        this.closed = true;
        if (this.sweeper) clearInterval(this.sweeper);
        if (this.driftTimer) clearInterval(this.driftTimer);
        if (this.pumpTimer) clearTimeout(this.pumpTimer);
        for (const t of this.timers) clearTimeout(t);
        this.timers.clear();
        for (const wake of this.sleepers) wake();
        this.sleepers.clear();
        this.store.close();
        this.lock?.release();
        this.logs.removeAllListeners();
    }

    get isClosed(): boolean {
        return this.closed;
    }

    /** Appends to a job's log and tells the followers (call inside or outside a transaction). */
    private appendLog(jobId: string, text: string): void {
        this.store.appendLog(jobId, text);
        this.logs.emit("log", jobId, text);
    }

    /**
     * A refused request (400/401/403/429) in the audit trail: who (the token's user, or the source address when
     * there is none), what was asked and why it was refused.
     */
    recordRefusal(entry: { status: number; method: string; url: string; ip: string; user?: string; error: string }): void {
        if (this.closed) return;
        const action = entry.status === 401 ? "http.unauthenticated" : entry.status === 403 ? "http.forbidden" : entry.status === 429 ? "http.throttled" : "http.bad-request";
        this.store.audit(this.iso(), entry.user ?? `anonymous@${entry.ip}`, action, `${entry.method} ${entry.url.split("?")[0]}`.slice(0, 300), {
            status: entry.status,
            ip: entry.ip,
            error: entry.error.slice(0, 500),
        });
    }

    /** Resolves when no job is queued or running (tests, benchmark, graceful shutdown). */
    async idle(): Promise<void> {
        for (;;) {
            if (this.closed) return;
            if (this.running.size > 0) {
                await Promise.race(this.running.values());
                continue;
            }
            if (this.store.jobsInState("queued").length === 0) return;
            await new Promise((r) => setTimeout(r, 5));
        }
    }

    /** A job running when the service stopped cannot be resumed: it is marked interrupted and can be re-run. */
    private recover(): void {
        const at = this.iso();
        this.store.tx(() => {
            for (const job of this.store.jobsInState("running")) {
                this.store.updateJob(job.id, {
                    state: "interrupted",
                    outcome: "interrupted",
                    message: `the service stopped while this job was running; re-run it with POST /api/jobs/${job.id}/rerun`,
                    finished_at: at,
                });
                this.store.appendLog(job.id, `[${at}] interrupted: the service stopped while this job was running\n`);
                this.store.audit(at, SYSTEM, "job.interrupted", job.id, { customer: job.customer, kind: job.kind });
            }
        });
    }

    // ------------------------------------------------------------------ customers

    createCustomer(actor: Actor, body: unknown): { customer: CustomerView; job: JobView } {
        const problems: ConfigProblem[] = [];
        const b = isObject(body) ? body : {};
        if (!isObject(body)) problems.push({ path: "body", value: body, message: "must be a JSON object { stack, config }" });
        const stack = b.stack;
        if (typeof stack !== "string" || !STACK_NAME.test(stack)) {
            problems.push({ path: "stack", value: stack, message: "must be a stack name: 3–40 characters of a–z, 0–9 and '-', starting and ending with a letter or digit" });
        } else if (this.reserved.has(stack)) {
            problems.push({ path: "stack", value: stack, message: `is reserved for the repository's own Pulumi.${stack}.yaml; pick a customer stack name` });
        }
        let parsed: ReturnType<typeof parseStackConfig> | undefined;
        // Secrets leave the config before anything looks at it: validation, problems, the stored row and every
        // view see only the placeholder (portal/configSecrets.ts).
        const split = isObject(b.config) ? splitSecrets(b.config) : undefined;
        const approvers = isObject(b.config) && isObject(b.config["byoc:access"]) && Array.isArray(b.config["byoc:access"].approvers) ? (b.config["byoc:access"].approvers as unknown[]) : [];
        if (!isObject(b.config)) {
            problems.push({ path: "config", value: b.config, message: 'must be the stack config as Pulumi keys it: { "aws:region": …, "byoc:environment": …, … }' });
        } else {
            problems.push(...split!.problems);
            approvers.forEach((a, i) => {
                if (typeof a === "string" && sameUser(a, actor.user)) {
                    problems.push({ path: `byoc:access.approvers[${i}]`, value: a, message: `is you: whoever sets a stack's approvers may not decide its requests (the approvers are people the operator does not make themselves), so ${actor.user} cannot be one` });
                }
            });
            const grants = (b.config["byoc:access"] as { grants?: unknown[] } | undefined)?.grants;
            if (Array.isArray(grants) && grants.length > 0) {
                problems.push({ path: "byoc:access.grants", value: grants, message: "grants are added only by approving access requests (POST /api/customers/:id/access-requests)" });
            }
            const cp = b.config["byoc:controlPlane"];
            if (isObject(cp) && cp.privateEndpointOnly === true && (cp.phase === "switchover" || cp.phase === "tailnet")) {
                problems.push({ path: "byoc:controlPlane.phase", value: cp.phase, message: 'a new stack starts in phase "bootstrap" (leave phase out): the tailnet kubernetes-api endpoint does not exist yet; after its first up the portal moves the stack to "switchover", and after a successful switchover up to "tailnet"' });
            }
            if (isObject(cp) && cp.privateEndpointOnly === true && cp.breakGlass === true) {
                problems.push({ path: "byoc:controlPlane.breakGlass", value: cp.breakGlass, message: "break-glass is opened on a deployed stack with POST /api/customers/:id/break-glass, audited, never at creation" });
            }
            parsed = parseStackConfig(split!.config);
            if (!parsed.ok) problems.push(...parsed.problems);
        }
        if (problems.length > 0 || !parsed?.ok) throw new PortalError(400, "invalid customer", problems);
        const stored = split!.config;
        const config = parsed.config;
        const id = stack as string;
        const at = this.iso();
        const job = this.store.tx(() => {
            if (this.store.customer(id)) throw new PortalError(409, `customer stack "${id}" already exists`);
            // One stack per customer: resource names, tags, hostnames and the billing prefix all derive from the id.
            const other = this.store.liveCustomerWithCustomerId(config.customer.id);
            if (other) throw new PortalError(409, `byoc:customer.id "${config.customer.id}" is already the customer of stack "${other.id}" (${other.status}); one customer id names one stack`);
            this.store.insertCustomer({
                id,
                environment: config.environment,
                customer_id: config.customer.id,
                name: config.customer.name,
                config: JSON.stringify(stored),
                status: "provisioning",
                outputs: null,
                api_note: config.controlPlane.access === "bootstrap" ? bootstrapForecast(stored) : null,
                created_by: actor.user,
                created_at: at,
                updated_at: at,
            });
            for (const [key, value] of Object.entries(split!.secrets)) this.store.setSecret(id, key, value);
            // The approvers the creator chose are part of the creation record; later changes are customer.approvers-changed.
            this.store.audit(at, actor.user, "customer.created", id, {
                environment: config.environment,
                customer: config.customer.id,
                approvers: config.access.approvers,
                ...(Object.keys(split!.secrets).length > 0 ? { secretKeys: Object.keys(split!.secrets) } : {}),
            });
            if (config.access.approvers.length > 0) this.store.addApproverSetter(id, actor.user, at);
            return this.queue(actor.user, id, "up", "initial deployment");
        });
        this.pump();
        return { customer: this.customerView(this.store.customer(id)!), job: this.jobView(this.store.job(job)!) };
    }

    /**
     * A page of the customer list (ordered by stack id), filtered by status, environment and text (a substring of
     * the stack id, customer id or name; 1–2 characters: a prefix of the stack id). `cursor`: the previous page's
     * nextCursor; nextCursor is null on the last page.
     */
    listCustomers(filter: { status?: string; environment?: string; text?: string; cursor?: string; limit?: number } = {}): { customers: CustomerSummary[]; nextCursor: string | null } {
        const limit = clampLimit(filter.limit, 100, 500);
        const rows = this.store.customerPage({ status: filter.status || undefined, environment: filter.environment || undefined, text: filter.text || undefined, after: filter.cursor || undefined, limit: limit + 1 });
        const more = rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        return { customers: this.summaries(page), nextCursor: more ? page[page.length - 1].id : null };
    }

    private summaries(rows: ReturnType<Store["customerSummaries"]>): CustomerSummary[] {
        return rows.map((r) => ({
            id: r.id,
            stack: r.id,
            environment: r.environment,
            customerId: r.customer_id,
            name: r.name,
            status: r.status,
            createdAt: r.created_at,
            updatedAt: r.updated_at,
            lastJob: r.job_id ? { id: r.job_id, kind: r.job_kind!, state: r.job_state! } : null,
            apiAccess: { phase: accessOf(r.cp_private, r.cp_phase, r.cp_break_glass), applied: appliedAccess(r.api_applied), note: r.api_note ?? null },
            drift: json<DriftView>(r.drift ?? null),
            ...vendorAccessView(r.vendor_access, r.vendor_refused_at),
        }));
    }

    getCustomer(id: string): CustomerDetail {
        const row = this.mustCustomer(id);
        // Redacted when stored; again here for rows written before secrets were redacted.
        const outputs = row.outputs === null ? null : redactOutputs(JSON.parse(row.outputs) as Record<string, unknown>);
        return {
            ...this.customerView(row),
            config: redactConfig(JSON.parse(row.config) as Record<string, unknown>),
            outputs,
            flows: Array.isArray(outputs?.networkFlows) ? (outputs!.networkFlows as unknown[]) : [],
            jobs: this.store.jobs({ customer: id, limit: 20 }).map((j) => this.jobView(j)),
            accessRequests: this.store.accessRequests({ customer: id, limit: 50 }).map((a) => this.accessView(a)),
        };
    }

    /** `preview` / `up` / `refresh` (operator) → a queued job; 409 when the customer is being or has been destroyed. */
    requestOperation(actor: Actor, id: string, kind: Exclude<JobKind, "destroy">, reason = `requested by ${actor.user}`): JobView {
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is ${c.status}; ${kind} is not possible`);
            this.assertQueueRoom(id);
            return this.queue(actor.user, id, kind, reason);
        });
        this.pump();
        return this.jobView(this.store.job(jobId)!);
    }

    /**
     * A drift check on demand (operator, POST /api/customers/:id/drift-check): a `drift` job that changes nothing
     * (see Portal.finishJobTx). Only a deployed stack has something to drift from: 409 otherwise. A drift job
     * already queued for the stack is the answer (it has not looked yet).
     */
    requestDriftCheck(actor: Actor, id: string): JobView {
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status !== "deployed") throw new PortalError(409, `customer ${id} is ${c.status}; only a deployed stack can be checked for drift`);
            if (!this.engine.drift) throw new PortalError(409, `the ${this.engine.kind} engine cannot check stacks for drift`);
            return this.queueOrReuse(actor.user, id, "drift", `drift check requested by ${actor.user}`, true);
        });
        this.pump();
        return this.jobView(this.store.job(jobId)!);
    }

    /** The interval of scheduled drift checks in ms (0: off). */
    get driftIntervalMs(): number {
        const ms = this.options.driftIntervalMs ?? DEFAULT_DRIFT_INTERVAL_MS;
        return Number.isFinite(ms) && ms > 0 ? ms : 0;
    }

    /**
     * The drift scheduler's round (its timer calls it; tests call it with their clock): queues a drift job for
     * every deployed stack whose last drift check (or last drift job, so a failing one is not retried at every
     * round; or its creation, before any) is at least driftIntervalMs old, and only when the stack has no queued or running job — a check
     * never waits in front of, or runs next to, another operation on the stack. Returns the jobs queued.
     */
    scheduleDriftChecks(): string[] {
        if (this.closed) return [];
        const interval = this.driftIntervalMs;
        if (interval === 0 || !this.engine.drift) return []; // an engine without a drift check (all three built-in ones have one now; deployments: a detect-drift deployment) gets no failing job every round
        const now = this.now().getTime();
        const queued = this.store.tx(() => {
            const ids: string[] = [];
            for (const c of this.store.customers()) {
                if (c.status !== "deployed") continue;
                if (this.store.activeJobsOf(c.id).length > 0) continue;
                const checked = json<DriftView>(c.drift ?? null)?.checkedAt;
                const lastJob = this.store.lastJobCreatedAt(c.id, "drift");
                // Never checked: the first check is one interval after the customer was created.
                const last = Math.max(Date.parse(c.created_at), checked ? Date.parse(checked) : -Infinity, lastJob ? Date.parse(lastJob) : -Infinity);
                if (now - last < interval) continue;
                ids.push(this.queue(SYSTEM_DRIFT, c.id, "drift", `scheduled drift check (every ${Math.round(interval / 1000)} s)`));
            }
            return ids;
        });
        if (queued.length > 0) this.pump();
        return queued;
    }

    /**
     * Sets a stack's designated approvers (operator): `{ approvers: [e-mail…], reason? }`. Checked by the stack's
     * own rules (parseStackConfig: e-mails, grants still approved by someone on the list); the caller may not list
     * themselves and, having set them, may never decide the stack's requests (see mustDecide). Audited as
     * customer.approvers-changed with the lists before and after. No `up` is queued: the approvers decide in the
     * portal, and the next up carries the new list into the stack config.
     */
    setApprovers(actor: Actor, id: string, body: unknown): { customer: CustomerView; approvers: string[] } {
        const b = isObject(body) ? body : {};
        const list = b.approvers;
        const problems: ConfigProblem[] = [];
        if (!Array.isArray(list) || list.length === 0 || list.length > 50 || !list.every((a) => typeof a === "string")) {
            problems.push({ path: "approvers", value: list, message: "must list 1–50 approver e-mail addresses" });
        } else {
            list.forEach((a, i) => {
                if (sameUser(a as string, actor.user)) problems.push({ path: `approvers[${i}]`, value: a, message: `is you: whoever sets a stack's approvers may not decide its requests, so ${actor.user} cannot be one` });
            });
        }
        if (b.reason !== undefined && (typeof b.reason !== "string" || b.reason.length > 500)) problems.push({ path: "reason", value: b.reason, message: "must be text of at most 500 characters when given" });
        if (problems.length > 0) throw new PortalError(400, "invalid approvers", problems);
        const approvers = [...new Set((list as string[]).map((a) => a.trim()))];
        this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is ${c.status}; its approvers cannot change`);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            const access = section(raw, "byoc:access");
            const before = Array.isArray(access.approvers) ? access.approvers : [];
            const next = { ...raw, "byoc:access": { ...access, approvers } };
            const check = parseStackConfig(next);
            if (!check.ok) throw new PortalError(400, `these approvers do not fit the stack config of ${id}`, check.problems);
            const at = this.iso();
            this.store.updateCustomer(id, { config: JSON.stringify(next), updated_at: at });
            this.store.addApproverSetter(id, actor.user, at);
            this.store.audit(at, actor.user, "customer.approvers-changed", id, { from: before, to: approvers, reason: typeof b.reason === "string" ? b.reason.trim() : null });
        });
        return { customer: this.customerView(this.store.customer(id)!), approvers };
    }

    /**
     * Queues the destroy. A prod stack's VPC, EKS cluster, KMS keys and Thanos bucket are `protect`ed: destroying it
     * needs `confirm` equal to the customer id (`DELETE /api/customers/:id?confirm=<id>`); the engine then lifts the
     * protection of exactly that stack before its destroy.
     */
    deleteCustomer(actor: Actor, id: string, opts: { confirm?: string } = {}): JobView {
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is already ${c.status}`);
            const prod = c.environment === "prod";
            if (prod && opts.confirm !== id) {
                throw new PortalError(409, `customer ${id} is a prod stack with deletion protection (VPC, EKS cluster, KMS keys, Thanos bucket): repeat with ?confirm=${id} to destroy it and its data`);
            }
            this.assertQueueRoom(id);
            this.store.updateCustomer(id, { status: "destroying", updated_at: this.iso() });
            this.store.audit(this.iso(), actor.user, "customer.destroy-requested", id, prod ? { environment: "prod", confirmed: true } : undefined);
            return this.queue(actor.user, id, "destroy", `requested by ${actor.user}`);
        });
        this.pump();
        return this.jobView(this.store.job(jobId)!);
    }

    // ------------------------------------------------------------------ jobs

    getJob(id: string): JobView {
        const row = this.store.job(id);
        if (!row) throw new PortalError(404, `job ${id} does not exist`);
        return this.jobView(row, true);
    }

    /** Newest first; `cursor`: the previous page's nextCursor (null on the last page). */
    listJobs(filter: { customer?: string; state?: string; cursor?: number; limit?: number }): { jobs: JobView[]; nextCursor: number | null } {
        const limit = clampLimit(filter.limit, 100, 1000);
        const rows = this.store.jobs({ customer: filter.customer || undefined, state: filter.state || undefined, before: filter.cursor, limit: limit + 1 });
        const more = rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        return { jobs: page.map((j) => this.jobView(j)), nextCursor: more ? page[page.length - 1].seq : null };
    }

    /** Re-runs an interrupted or failed job as a new job of the same kind. */
    rerunJob(actor: Actor, id: string): JobView {
        const jobId = this.store.tx(() => {
            const job = this.store.job(id);
            if (!job) throw new PortalError(404, `job ${id} does not exist`);
            if (job.state !== "interrupted" && job.state !== "failed") throw new PortalError(409, `job ${id} is ${job.state}; only interrupted or failed jobs can be re-run`);
            // Idempotent: a re-run of this job that is queued, running or done is the answer (a double click, a
            // retried request); only a failed or interrupted re-run lets another one be queued.
            const earlier = this.store.rerunsOf(id).find((r) => r.state === "queued" || r.state === "running" || r.state === "succeeded");
            if (earlier) return earlier.id;
            const c = this.mustCustomer(job.customer);
            if (c.status === "destroyed") throw new PortalError(409, `customer ${c.id} is destroyed; nothing to re-run`);
            if (job.kind !== "destroy" && c.status === "destroying") throw new PortalError(409, `customer ${c.id} is being destroyed; ${job.kind} is not possible`);
            this.assertQueueRoom(c.id);
            return this.queue(actor.user, job.customer, job.kind, `re-run of ${id} by ${actor.user}`, id);
        });
        this.pump();
        return this.jobView(this.store.job(jobId)!);
    }

    /** Inserts a queued job and its audit record; call inside a transaction. */
    private queue(actor: string, customer: string, kind: JobKind, reason: string, rerunOf: string | null = null): string {
        const id = newId("job");
        const at = this.iso();
        this.store.insertJob({ id, customer, kind, requested_by: actor, reason, rerun_of: rerunOf, created_at: at });
        this.store.audit(at, actor, rerunOf ? "job.rerun" : "job.queued", id, { customer, kind, reason, ...(rerunOf ? { rerunOf } : {}) });
        return id;
    }

    /**
     * Starts queued jobs, oldest first, skipping stacks that already run one, jobs backing off after a failed
     * start, and stopping at the parallel bound. Never throws: a store that cannot be read is tried again later.
     */
    private pump(): void {
        if (this.closed) return;
        let queued: JobRow[];
        try {
            queued = this.store.jobsInState("queued");
        } catch (err) {
            const wait = this.backoff(1);
            console.error(`scheduler: cannot read the job queue (${errorText(err)}); trying again in ${wait} ms`);
            this.pumpLater(wait);
            return;
        }
        const nowMs = Date.now();
        let wake = Infinity;
        for (const job of queued) {
            if (this.limiter.full) break;
            const failure = this.startFailures.get(job.id);
            if (failure && failure.notBefore > nowMs) {
                wake = Math.min(wake, failure.notBefore);
                continue;
            }
            const release = this.limiter.tryAcquire(job.customer);
            if (!release) continue;
            const done = this.runJob(job, release).catch((err) => {
                if (!this.closed) console.error(`job ${job.id}: ${(err as Error).stack ?? err}`);
            });
            this.running.set(job.id, done);
            void done.finally(() => {
                this.running.delete(job.id);
                // On the next turn of the event loop, never in a chain of microtasks: whatever happens to a job,
                // HTTP, timers and signals get their turn before the scheduler looks again.
                setImmediate(() => this.pump());
            });
        }
        if (wake !== Infinity) this.pumpLater(wake - nowMs);
    }

    /** Runs pump after `ms` (one timer at a time, the earliest wins). */
    private pumpLater(ms: number): void {
        if (this.closed) return;
        const at = Date.now() + Math.max(0, ms);
        if (this.pumpTimer && this.pumpAt !== undefined && this.pumpAt <= at) return;
        if (this.pumpTimer) clearTimeout(this.pumpTimer);
        this.pumpAt = at;
        this.pumpTimer = setTimeout(() => {
            this.pumpTimer = undefined;
            this.pumpAt = undefined;
            this.pump();
        }, Math.max(0, ms));
        this.pumpTimer.unref();
    }

    /** Exponential backoff: retry.baseMs · 2^(attempt−1), at most retry.maxMs (and never under 10 ms). */
    private backoff(attempt: number): number {
        const base = Math.max(10, this.options.retry?.baseMs ?? 1000);
        const max = Math.max(base, this.options.retry?.maxMs ?? 60_000);
        return Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
    }

    /** Resolves after `ms`, or at once when the portal closes. */
    private sleep(ms: number): Promise<void> {
        return new Promise((resolve) => {
            if (this.closed) return resolve();
            const timer = setTimeout(() => {
                this.timers.delete(timer);
                this.sleepers.delete(resolve);
                resolve();
            }, ms);
            timer.unref();
            this.timers.add(timer);
            this.sleepers.add(resolve);
        });
    }

    /**
     * One job, holding its stack's slot from start to recorded result. A start that fails (the store cannot mark
     * it running, the engine throws instead of answering) puts the job back in the queue with a backoff and is
     * recorded; a result that cannot be recorded keeps the slot — no second operation on the stack — and is
     * retried until it is (or the portal closes: the next start marks the job interrupted).
     */
    private async runJob(job: JobRow, release: () => void): Promise<void> {
        let begun: { raw: Record<string, unknown>; secrets: Record<string, string> };
        try {
            begun = this.beginJob(job);
        } catch (err) {
            // Nothing changed in the store: the job is still queued, the slot is free again.
            release();
            void this.startFailed(job, err, false);
            return;
        }
        try {
            const { raw, secrets } = begun;
            let dropped = 0;
            const log = (line: string) => {
                if (this.closed) return;
                try {
                    this.appendLog(job.id, `${line}\n`);
                } catch (err) {
                    if (dropped++ === 0) console.error(`job ${job.id}: log lines are being dropped: ${errorText(err)}`);
                }
            };
            let result: OperationResult = { outcome: "succeeded", message: "" };
            // A drift check changes nothing, not even the stack's config: it compares against what the stack has.
            if (job.kind !== "destroy" && job.kind !== "drift") {
                try {
                    result = await this.engine.configure(job.customer, raw, { log, now: this.now(), secrets, sourceIdentity: sourceIdentityOf(job.requested_by) });
                } catch (err) {
                    // The engine threw instead of answering: the operation never started.
                    if (this.closed) return;
                    await this.startFailed(job, err, true);
                    return;
                }
            }
            try {
                if (result.outcome === "succeeded") {
                    if (job.kind === "drift") {
                        result = this.engine.drift
                            ? await this.engine.drift(job.customer, raw, { log, now: this.now(), secrets, sourceIdentity: sourceIdentityOf(job.requested_by) })
                            : { outcome: "failed", message: `the ${this.engine.kind} engine cannot check stacks for drift` };
                    } else {
                        result = await this.engine.run(job.kind as Operation, job.customer, raw, { log, now: this.now(), secrets, sourceIdentity: sourceIdentityOf(job.requested_by) });
                    }
                }
            } catch (err) {
                result = { outcome: "failed", message: `engine error: ${errorText(err)}` };
                log(result.message);
            }
            if (this.closed) return; // the service stopped meanwhile: the next start marks this job interrupted
            await this.persist(`the result of job ${job.id}`, job.customer, () => this.finishJob(job, raw, result));
            this.startFailures.delete(job.id);
        } finally {
            release();
        }
    }

    /**
     * queued → running in one transaction; for an `up`, fixes the window of every approved grant it applies (see
     * ISSUE_ALLOWANCE_MS). Returns the config the job runs with and the stack's secrets.
     */
    private beginJob(job: JobRow): { raw: Record<string, unknown>; secrets: Record<string, string> } {
        const at = this.iso();
        return this.store.tx(() => {
            const customer = this.store.customer(job.customer)!;
            const config = job.kind === "up" ? this.fixGrantWindows(customer) : customer.config;
            this.store.updateJob(job.id, { state: "running", started_at: at, config });
            const attempt = this.startFailures.get(job.id)?.attempts;
            this.store.audit(at, SYSTEM, "job.started", job.id, { customer: job.customer, kind: job.kind, ...(attempt ? { attempt: attempt + 1 } : {}) });
            return { raw: JSON.parse(config) as Record<string, unknown>, secrets: this.store.secretsOf(job.customer) };
        });
    }

    /**
     * A job that could not start: counted, backed off (exponential, capped) and recorded on the job (back to
     * queued with the attempt and the error) and in the audit trail (job.start-failed); after retry.startAttempts
     * it fails (job.failed). `running`: the job was marked running already, so the store must record the change
     * before the caller frees the slot (persisted with retries); otherwise recording is best effort — the backoff
     * lives in memory and holds even when the store cannot write.
     */
    private async startFailed(job: JobRow, err: unknown, running: boolean): Promise<void> {
        const error = errorText(err);
        const max = Math.max(1, this.options.retry?.startAttempts ?? 5);
        const attempts = (this.startFailures.get(job.id)?.attempts ?? 0) + 1;
        const wait = this.backoff(attempts);
        const giveUp = attempts >= max;
        this.startFailures.set(job.id, { attempts, notBefore: giveUp ? Infinity : Date.now() + wait, error });
        console.error(`job ${job.id} (${job.kind} ${job.customer}) could not start (attempt ${attempts} of ${max}): ${error}${giveUp ? "; giving up" : `; next attempt in ${wait} ms`}`);
        const record = () => {
            const at = this.iso();
            this.store.tx(() => {
                if (giveUp) {
                    const message = `could not start after ${attempts} attempts: ${error}`;
                    this.store.updateJob(job.id, { state: "failed", outcome: "failed", message, start_attempts: attempts, finished_at: at });
                    this.appendLog(job.id, `[${at}] failed: ${message}\n`);
                    this.store.audit(at, SYSTEM, "job.failed", job.id, { customer: job.customer, kind: job.kind, outcome: "failed", message, attempts });
                } else {
                    const message = `could not start (attempt ${attempts} of ${max}): ${error}; next attempt in ${Math.ceil(wait / 1000)} s`;
                    this.store.updateJob(job.id, { state: "queued", started_at: null, message, start_attempts: attempts });
                    this.appendLog(job.id, `[${at}] ${message}\n`);
                    this.store.audit(at, SYSTEM, "job.start-failed", job.id, { customer: job.customer, kind: job.kind, attempt: attempts, of: max, error, retryInMs: wait });
                }
            });
            if (giveUp) this.logs.emit("end", job.id, "failed");
        };
        if (running || giveUp) {
            // Running: the store says so and must stop saying it before the slot goes. Giving up: the job must not
            // stay queued for ever (in memory it will never be tried again).
            await this.persist(`the failed start of job ${job.id}`, job.customer, record);
        } else {
            try {
                record();
            } catch (e) {
                console.error(`job ${job.id}: the failed start could not be recorded either: ${errorText(e)}`);
            }
        }
        if (!giveUp) this.pumpLater(wait);
    }

    /** Runs a store write until it succeeds (backing off, saying so now and then) or the portal closes; the caller keeps its slot meanwhile. */
    private async persist(what: string, stack: string, write: () => void): Promise<void> {
        for (let attempt = 1; !this.closed; attempt++) {
            try {
                write();
                return;
            } catch (err) {
                const wait = this.backoff(attempt);
                if (attempt === 1 || attempt % 10 === 0) console.error(`${what} could not be recorded (attempt ${attempt}: ${errorText(err)}); stack ${stack} stays reserved, trying again in ${wait} ms`);
                await this.sleep(wait);
            }
        }
    }

    private finishJob(job: JobRow, raw: Record<string, unknown>, result: OperationResult): void {
        this.finishJobTx(job, raw, result);
        this.logs.emit("end", job.id, this.store.job(job.id)?.state ?? "failed");
    }

    private finishJobTx(job: JobRow, raw: Record<string, unknown>, result: OperationResult): void {
        const at = this.iso();
        // Destroying a stack that never existed leaves nothing behind: that is success.
        const ok = result.outcome === "succeeded" || (job.kind === "destroy" && result.outcome === "not-found");
        this.store.tx(() => {
            this.appendLog(job.id, `[${at}] ${ok ? "succeeded" : `failed (${result.outcome})`}: ${result.message}\n`);
            this.store.updateJob(job.id, {
                state: ok ? "succeeded" : "failed",
                outcome: result.outcome,
                message: result.message,
                violations: JSON.stringify(result.violations ?? []),
                problems: JSON.stringify(result.problems ?? []),
                resource_count: result.resourceCount ?? null,
                finished_at: at,
            });
            this.store.audit(at, SYSTEM, ok ? "job.succeeded" : "job.failed", job.id, { customer: job.customer, kind: job.kind, outcome: result.outcome, message: result.message });
            const c = this.store.customer(job.customer)!;
            if (!ok) this.afterRefusedDeployRole(job, raw, c, result, at);
            if (job.kind === "up") {
                if (ok) {
                    this.store.updateCustomer(c.id, { status: c.status === "destroying" ? c.status : "deployed", outputs: JSON.stringify(redactOutputs(result.outputs ?? {}, result.secretOutputs)), updated_at: at });
                    this.activateGrants(job, raw, result.outputs ?? {}, at);
                    this.afterPrivateUp(job, raw, result.outputs ?? {}, at);
                    this.afterSuspendingUp(job, raw, at);
                } else {
                    if (c.status === "provisioning") this.store.updateCustomer(c.id, { status: "failed", updated_at: at });
                    this.afterFailedPrivateUp(job, raw, c, result, at);
                }
            } else if (job.kind === "drift") {
                if (ok && result.drift && c.status !== "destroyed") this.recordDrift(job, c, result, at);
            } else if (job.kind === "refresh" && ok && result.outputs) {
                this.store.updateCustomer(c.id, { outputs: JSON.stringify(redactOutputs(result.outputs, result.secretOutputs)), updated_at: at });
            } else if (job.kind === "destroy") {
                if (ok) {
                    this.store.updateCustomer(c.id, { status: "destroyed", outputs: null, updated_at: at });
                    this.store.audit(at, SYSTEM, "customer.destroyed", c.id);
                    for (const r of this.store.accessRequests({ customer: c.id, limit: 100000 })) {
                        if (r.state !== "approved" && r.state !== "active") continue;
                        this.store.updateAccessRequest(r.id, { state: "expired", updated_at: at });
                        this.store.audit(at, SYSTEM, "access.expired", r.id, { customer: c.id, why: "the stack was destroyed" });
                    }
                } else {
                    this.store.updateCustomer(c.id, { status: "failed", updated_at: at });
                }
            }
        });
    }

    /**
     * A drift check's finding on the customer (inside finishJobTx's transaction), secret outputs' values
     * redacted. Audited when it changes: customer.drift-detected (drift found, or different drift than last
     * time), customer.drift-cleared (the stack matches again after drift).
     */
    private recordDrift(job: JobRow, c: CustomerRow, result: OperationResult, at: string): void {
        const before = json<DriftView>(c.drift ?? null);
        const stored = json<Record<string, unknown>>(c.outputs) ?? {};
        const all = result.drift!.changes;
        const changes = all.slice(0, MAX_DRIFT_CHANGES).map((ch) => redactDriftChange(ch, stored, result.secretOutputs ?? []));
        const view: DriftView = { checkedAt: at, drifted: result.drift!.drifted, changes, job: job.id, ...(all.length > changes.length ? { omitted: all.length - changes.length } : {}) };
        this.store.updateCustomer(c.id, { drift: JSON.stringify(view) });
        const subjects = (d: DriftView | null) => JSON.stringify((d?.changes ?? []).map((x) => `${x.op} ${x.subject}`).sort());
        if (view.drifted && (!before?.drifted || subjects(before) !== subjects(view))) {
            this.store.audit(at, SYSTEM_DRIFT, "customer.drift-detected", c.id, { job: job.id, changes: changes.map((x) => ({ subject: x.subject, op: x.op })) });
        } else if (!view.drifted && before?.drifted) {
            this.store.audit(at, SYSTEM_DRIFT, "customer.drift-cleared", c.id, { job: job.id, since: before.checkedAt });
        }
    }

    /**
     * The window of a grant starts when the `up` that applies it starts (inside beginJob's transaction): for each
     * grant whose request is approved but not yet active, notAfter = now + hours + ISSUE_ALLOWANCE_MS, in the
     * stack config and on the request. The component issues floor((notAfter − its now) / 1 h) whole hours, capped
     * at maxCertificateHours — the hours asked for as long as the certificate is created within the allowance —
     * and the certificate never outlives notAfter (nor do the grant's role and ClickHouse user). A request approved
     * while another job held the stack, or re-run after a failed up, still gets its full hours. Returns the config.
     */
    private fixGrantWindows(customer: CustomerRow): string {
        const raw = JSON.parse(customer.config) as Record<string, unknown>;
        const grants = grantsOf(raw);
        let changed = false;
        const start = this.now().getTime();
        const next = grants.map((g) => {
            const r = this.store.accessRequest(g.id);
            // Only until an up has applied it: after that the window is what that up issued for.
            if (!r || r.customer !== customer.id || r.state !== "approved" || r.certificate_note !== null) return g;
            const notAfter = new Date(start + r.hours * 3600_000 + ISSUE_ALLOWANCE_MS).toISOString();
            if (notAfter === g.notAfter) return g;
            changed = true;
            this.store.updateAccessRequest(r.id, { not_after: notAfter, updated_at: new Date(start).toISOString() });
            return { ...g, notAfter };
        });
        if (!changed) return customer.config;
        const config = JSON.stringify(withSection(raw, "byoc:access", { grants: next }));
        this.store.updateCustomer(customer.id, { config, updated_at: new Date(start).toISOString() });
        return config;
    }

    /** After a successful up: requests whose grant was in the applied config become active, with their certificate. */
    private activateGrants(job: JobRow, raw: Record<string, unknown>, outputs: Record<string, unknown>, at: string): void {
        const applied = new Set(grantsOf(raw).map((g) => g.id));
        for (const r of this.store.accessRequests({ customer: job.customer, state: "approved", limit: 100000 })) {
            if (!applied.has(r.id)) continue;
            const cert = findCertificate(outputs, r.id);
            if (!cert) {
                // Applied but no certificate: never "active" — the engineer has nothing to connect with. The
                // request stays approved (its grant ends at notAfter like any other) and says why.
                const note = `stack ${job.customer} applied the grant (${job.id}) but issued no certificate for "${r.id}": its outputs carry none (the TroubleshootingAccess component issues one only with at least a whole hour left before notAfter ${r.not_after})`;
                this.store.updateAccessRequest(r.id, { certificate_note: note, updated_at: at });
                this.store.audit(at, SYSTEM, "access.not-issued", r.id, { customer: job.customer, job: job.id, notAfter: r.not_after });
                continue;
            }
            this.store.updateAccessRequest(r.id, {
                state: "active",
                certificate_pem: cert.pem,
                certificate_note: `issued by stack ${job.customer} (output ${cert.path})`,
                updated_at: at,
            });
            this.store.audit(at, SYSTEM, "access.activated", r.id, { customer: job.customer, job: job.id, notAfter: r.not_after, certificate: cert.path });
        }
    }

    // ------------------------------------------------------------------ private API phases

    /**
     * After a successful `up` of a private stack (inside finishJob's transaction): the portal moves the stored
     * config one phase on and queues the `up` that applies it, so bootstrap → switchover → tailnet needs no human.
     *  - bootstrap applied → phase switchover (the provider moves to the tailnet, the public endpoint stays open),
     *    unless the config lacks what switchover needs (the schema's rules) or the up's outputs show no tailnet
     *    device for kubernetes-api (the provider's way in from now on);
     *  - switchover applied → phase tailnet (the public endpoint closes): this success is the proof that the
     *    provider reaches the API through the tailnet, so closing cannot lock management out;
     *  - tailnet applied: noted.
     * A blocked move leaves the phase as it is; the reason is audited (customer.phase-blocked) and kept as the
     * customer's apiAccess.note, and the next successful up tries again.
     */
    private afterPrivateUp(job: JobRow, raw: Record<string, unknown>, outputs: Record<string, unknown>, at: string): void {
        const applied = accessOfRaw(raw);
        if (applied !== "bootstrap" && applied !== "switchover" && applied !== "tailnet") return;
        // Vendor access suspending or suspended: the up built no tailnet path and its provider did not go through
        // one (render/apiAccess.ts providerViaTailnet), so it proves nothing about a phase; the phase waits.
        if (vendorAccessOfRaw(raw) !== "enabled") return;
        const live = this.liveConfig(job);
        if (!live) return;
        const { c, current } = live;
        // Someone changed the phase while this up ran (break-glass, …): their change wins.
        if (accessOfRaw(current) !== applied) return;
        if (applied === "tailnet") {
            this.store.updateCustomer(c.id, { api_note: `phase tailnet applied by ${job.id}: the public API endpoint is closed; management reaches the API through the tailnet kubernetes-api endpoint`, updated_at: at });
            return;
        }
        const to = applied === "bootstrap" ? "switchover" : "tailnet";
        const next = withControlPlane(current, { phase: to });
        const blockers = applied === "bootstrap" ? switchoverBlockers(next, outputs) : tailnetBlockers(next, outputs);
        if (blockers.length > 0) {
            const stays =
                applied === "bootstrap"
                    ? "stays in phase bootstrap (public API endpoint open, restricted to byoc:controlPlane.managementCidrs)"
                    : "stays in phase switchover (public API endpoint still open, restricted to byoc:controlPlane.managementCidrs; the Kubernetes provider goes through the tailnet)";
            this.store.updateCustomer(c.id, { api_note: `${stays}: ${blockers.join("; ")}`, updated_at: at });
            this.store.audit(at, SYSTEM_PHASE, "customer.phase-blocked", c.id, { from: applied, to, after: job.id, reasons: blockers });
            return;
        }
        const nextJob = this.queueNextStep(SYSTEM_PHASE, c.id, next, to === "switchover" ? SWITCHOVER_UP_REASON : TAILNET_UP_REASON, at, (nextJob) => ({
            api_note:
                to === "switchover"
                    ? `moving to phase switchover: ${nextJob} moves the Kubernetes provider to the tailnet kubernetes-api endpoint; the public API endpoint stays open until that up has succeeded`
                    : `moving to phase tailnet: ${job.id} proved the tailnet path, ${nextJob} closes the public API endpoint`,
        }));
        const evidence = to === "switchover" ? { device: (outputs.tailnetDevices as Record<string, unknown>)["kubernetes-api"] } : { proof: job.id };
        this.store.audit(at, SYSTEM_PHASE, "customer.phase-changed", c.id, { from: applied, to, after: job.id, job: nextJob, ...evidence });
    }

    /** The customer of `job` and its stored config as they are now; undefined once it is being or was destroyed (nothing moves on then). */
    private liveConfig(job: JobRow): { c: CustomerRow; current: Record<string, unknown> } | undefined {
        const c = this.store.customer(job.customer)!;
        if (c.status === "destroying" || c.status === "destroyed") return undefined;
        return { c, current: JSON.parse(c.config) as Record<string, unknown> };
    }

    /**
     * The portal's own next step on a stack after one of its ups succeeded (inside finishJob's transaction): stores
     * `next` as the stack's config and queues, as `actor`, the `up` that applies it (it reads the config when it
     * starts); `fields(job)` adds customer fields that name that job. Returns the job. The private API phases
     * (afterPrivateUp) and the second run of a suspension (afterSuspendingUp) move on this way.
     */
    private queueNextStep(actor: string, customer: string, next: Record<string, unknown>, reason: string, at: string, fields: (job: string) => Pick<Partial<CustomerRow>, "api_note"> = () => ({})): string {
        const job = this.queue(actor, customer, "up", reason);
        this.store.updateCustomer(customer, { config: JSON.stringify(next), ...fields(job), updated_at: at });
        return job;
    }

    /**
     * A failed `up` that was to apply phase switchover or tailnet while the cluster is not there yet (inside
     * finishJob's transaction): say what it means and how to get unstuck. Switchover: nothing was closed, so no
     * break-glass is needed. Tailnet: the endpoint may be closed already, break-glass is the way back.
     */
    private afterFailedPrivateUp(job: JobRow, raw: Record<string, unknown>, c: CustomerRow, result: OperationResult, at: string): void {
        const phase = accessOfRaw(raw);
        if ((phase !== "switchover" && phase !== "tailnet") || c.status === "destroying" || c.status === "destroyed") return;
        if (accessOfRaw(JSON.parse(c.config)) !== phase) return; // changed meanwhile (break-glass, …): that change has its own note
        const applied = appliedAccess(json<Record<string, unknown>>(c.outputs)?.clusterApiAccess);
        if (applied === phase) return; // already there: an ordinary failure
        const tag = section(raw, "byoc:tailscale").managementTag ?? "(byoc:tailscale.managementTag)";
        const api_note =
            phase === "switchover"
                ? `the up to phase switchover failed (${job.id}: ${result.message}); nothing was closed: the public API endpoint is still open (restricted to byoc:controlPlane.managementCidrs), so no break-glass is needed. In switchover the Kubernetes provider goes through the tailnet: the machine running Pulumi must be on the tailnet with tag ${tag}. Re-run ${job.id} (POST /api/jobs/${job.id}/rerun) once it is — the portal then moves on to phase tailnet — or set the provider back to the EKS endpoint meanwhile with POST /api/customers/${c.id}/break-glass (the endpoint is open already; closing it returns to switchover)`
                : `the up to phase tailnet failed (${job.id}: ${result.message}); the machine running Pulumi must be on the tailnet with tag ${tag}. Re-run ${job.id}, or open break-glass (POST /api/customers/${c.id}/break-glass) to manage the stack over the restricted public endpoint`;
        this.store.updateCustomer(c.id, { api_note, updated_at: at });
    }

    /**
     * Break-glass on a private stack past bootstrap (operator): `open` sets byoc:controlPlane.breakGlass true —
     * the restricted public endpoint is (re)opened and the Kubernetes provider goes back to it from the tailnet —
     * `close` sets it false (back to the configured phase). So it opens in the phases whose provider goes through
     * the tailnet, switchover (the endpoint is open, but a broken tailnet path fails every up) and tailnet, never
     * in bootstrap (already on the EKS endpoint). Either way one audited transaction: config, `up` job, audit
     * entry with the reason.
     */
    breakGlass(actor: Actor, id: string, body: unknown, action: "open" | "close"): { customer: CustomerView; job: JobView } {
        const b = isObject(body) ? body : {};
        const reason = typeof b.reason === "string" ? b.reason.trim() : "";
        if (reason.length < 3 || reason.length > 500) {
            throw new PortalError(400, `invalid break-glass ${action}`, [{ path: "reason", value: b.reason, message: `must say why break-glass is ${action === "open" ? "opened" : "closed"} (3–500 characters)` }]);
        }
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is ${c.status}; break-glass is not possible`);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            const access = accessOfRaw(raw);
            if (access === "public") throw new PortalError(409, `customer ${id} has a public API endpoint (byoc:controlPlane.privateEndpointOnly is not true): there is no break-glass, the restricted public endpoint is already the way in`);
            if (action === "open" && access === "break-glass") throw new PortalError(409, `break-glass is already open on ${id}`);
            if (action === "open" && access === "bootstrap") throw new PortalError(409, `customer ${id} is in phase bootstrap: the restricted public endpoint is still open and the Kubernetes provider already uses it, nothing to break`);
            if (action === "open") this.assertVendorAccess(c, "break-glass cannot be opened: it reopens the API endpoint to the provider's management");
            if (action === "close" && access !== "break-glass") throw new PortalError(409, `break-glass is not open on ${id} (phase ${access})`);
            this.assertQueueRoom(id);
            const next = withControlPlane(raw, { breakGlass: action === "open" });
            const check = parseStackConfig(next);
            if (!check.ok) throw new PortalError(400, `break-glass does not fit the stack config of ${id}`, check.problems);
            const to = check.config.controlPlane.access;
            const at = this.iso();
            const job =
                action === "open"
                    ? this.queue(actor.user, id, "up", `break-glass: reopen the restricted public API endpoint (${reason})`)
                    : this.queue(actor.user, id, "up", `close break-glass: back to phase ${to} (${reason})`);
            this.store.updateCustomer(id, { config: JSON.stringify(next), api_note: `break-glass ${action === "open" ? "opened" : "closed"} by ${actor.user} at ${at}: ${reason}`, updated_at: at });
            this.store.audit(at, actor.user, action === "open" ? "customer.break-glass-opened" : "customer.break-glass-closed", id, { reason, from: access, to, job });
            return job;
        });
        this.pump();
        return { customer: this.customerView(this.store.customer(id)!), job: this.jobView(this.store.job(jobId)!) };
    }

    // ------------------------------------------------------------------ vendor access

    /**
     * Vendor access (operator, POST /api/customers/:id/vendor-access): `{ state: "enabled" | "suspended", reason }`
     * sets byoc:access.vendorAccess in the stored config — checked by the stack's own rules like every config change
     * — audits customer.vendor-access (actor, state, reason) and queues the `up` that applies it (or reuses the one
     * queued: it reads the config when it starts; like approve and revoke, never refused for a full queue, so a
     * suspension always gets applied). Suspending takes two runs, so an enabled stack asked for "suspended" gets
     * "suspending" (audited with `requested: "suspended"`): that up removes the tailnet agents and keys and the
     * troubleshooting grants while the restricted public endpoint stays, so the Kubernetes provider can still delete
     * them; once it succeeded the portal sets "suspended" itself and queues the up that closes the endpoint
     * (afterSuspendingUp). Applied in one run from outside the VPC, "suspended" would close the endpoint first and
     * then fail to delete the Kubernetes objects (Pulumi deletes at the end of an update). A failed "suspending" up
     * stays "suspending": re-run it. While either is set the portal takes no access request, approves none and
     * opens no break-glass. "enabled" (from either) re-enables and also clears vendorAccessRefusedAt: do it only
     * after the customer re-enabled their bootstrap (byoc-bootstrap:vendorAccess), or the next job is refused
     * again. Asking for what the stack is already on the way to ("suspended" while suspending or suspended,
     * "enabled" while enabled): 200, nothing changed, nothing queued, nothing audited (like a repeated re-run, a
     * repeat is not a new request). Returns the customer and the job (null when none).
     */
    setVendorAccess(actor: Actor, id: string, body: unknown): { customer: CustomerView; job: JobView | null } {
        const b = isObject(body) ? body : {};
        const problems: ConfigProblem[] = [];
        if (!isObject(body)) problems.push({ path: "body", value: body, message: 'must be a JSON object { state: "enabled" | "suspended", reason }' });
        const state = b.state;
        if (!(REQUESTED_VENDOR_ACCESS as readonly unknown[]).includes(state)) {
            const hint = state === "suspending" ? ' ("suspending" is the first of the two runs the portal makes of "suspended": ask for "suspended")' : "";
            problems.push({ path: "state", value: state, message: `must be one of ${REQUESTED_VENDOR_ACCESS.map((v) => `"${v}"`).join(", ")}${hint}` });
        }
        const reason = typeof b.reason === "string" ? b.reason.trim() : "";
        if (reason.length < 3 || reason.length > 500) problems.push({ path: "reason", value: b.reason, message: "must say why vendor access changes (3–500 characters)" });
        if (problems.length > 0) throw new PortalError(400, "invalid vendor access change", problems);
        const requested = state as (typeof REQUESTED_VENDOR_ACCESS)[number];
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is ${c.status}; its vendor access cannot change`);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            const from = vendorAccessOfRaw(raw);
            if (requested === "suspended" ? from !== "enabled" : from === "enabled") return null;
            const to: VendorAccessState = requested === "suspended" ? "suspending" : "enabled";
            let next = withVendorAccess(raw, to);
            // Re-enabled, a private stack starts its phases over: its tailnet kubernetes-api endpoint is gone, so an `up`
            // in phase switchover or tailnet would send the Kubernetes provider to a device that no longer exists
            // (and, in tailnet, with the public endpoint closed). From bootstrap the phases walk forward again.
            const cp = section(raw, "byoc:controlPlane");
            const restartPhases = to === "enabled" && cp.privateEndpointOnly === true && (cp.phase === "switchover" || cp.phase === "tailnet");
            if (restartPhases) next = withControlPlane(next, { phase: "bootstrap" });
            const check = parseStackConfig(next);
            if (!check.ok) throw new PortalError(400, `vendor access "${to}" does not fit the stack config of ${id}`, check.problems);
            const at = this.iso();
            this.store.updateCustomer(id, { config: JSON.stringify(next), updated_at: at, ...(to === "enabled" ? { vendor_refused_at: null } : {}) });
            const job = this.queueUp(actor.user, id, to === "suspending" ? `suspend vendor access (${reason})` : `re-enable vendor access (${reason})`);
            this.store.audit(at, actor.user, "customer.vendor-access", id, {
                state: to,
                ...(to !== requested ? { requested } : {}),
                from,
                reason,
                job,
                ...(c.vendor_refused_at ? { refusedAt: c.vendor_refused_at } : {}),
                ...(restartPhases ? { phase: { from: cp.phase, to: "bootstrap" } } : {}),
            });
            return job;
        });
        if (jobId) this.pump();
        return { customer: this.customerView(this.store.customer(id)!), job: jobId ? this.jobView(this.store.job(jobId)!) : null };
    }

    /**
     * After a successful `up` that applied vendorAccess "suspending" (inside finishJob's transaction): the tailnet
     * agents and keys and the grants are gone, so the portal sets "suspended" itself (SYSTEM_VENDOR_ACCESS, audited
     * customer.vendor-access with VENDOR_PATHS_REMOVED_REASON) and queues the up that closes the public API
     * endpoint, as the phases move on (queueNextStep). Changed while that up ran (re-enabled, the deploy role
     * refused, …): that change wins. A failed "suspending" up changes nothing: re-running it moves on from here.
     */
    private afterSuspendingUp(job: JobRow, raw: Record<string, unknown>, at: string): void {
        if (vendorAccessOfRaw(raw) !== "suspending") return;
        const live = this.liveConfig(job);
        if (!live) return;
        const { c, current } = live;
        if (vendorAccessOfRaw(current) !== "suspending") return;
        const nextJob = this.queueNextStep(SYSTEM_VENDOR_ACCESS, c.id, withVendorAccess(current, "suspended"), SUSPENDED_UP_REASON, at);
        this.store.audit(at, SYSTEM_VENDOR_ACCESS, "customer.vendor-access", c.id, { state: "suspended", from: "suspending", to: "suspended", reason: VENDOR_PATHS_REMOVED_REASON, job: nextJob, after: job.id });
        this.appendLog(job.id, `[${at}] vendor paths removed: vendor access set to suspended; ${nextJob} closes the public API endpoint\n`);
    }

    /** 409 when the stored config of `c` says vendor access is suspending or suspended: `what` is refused (a vendor path). */
    private assertVendorAccess(c: CustomerRow, what: string): void {
        const state = vendorAccessOfRaw(JSON.parse(c.config) as Record<string, unknown>);
        if (state === "enabled") return;
        throw new PortalError(409, `vendor access to customer ${c.id} is ${state === "suspending" ? "being suspended" : "suspended"} by the customer (byoc:access.vendorAccess${state === "suspending" ? ": suspending" : ""}); ${what}`);
    }

    /**
     * A failed job of a stack with byoc:access.deployRoleArn whose message or log says STS refused sts:AssumeRole on
     * that role (stsRefusalOf): the customer pulled their kill switch (byoc-bootstrap:vendorAccess:
     * suspended). Inside finishJob's transaction the portal sets byoc:access.vendorAccess "suspended" itself —
     * directly, not through "suspending": no run of the provider's can get in to make one — (SYSTEM_VENDOR_ACCESS,
     * audited customer.vendor-access with DEPLOY_ROLE_REFUSED_REASON), records vendorAccessRefusedAt and queues
     * nothing. Seen again before an operator re-enabled: only noted in the job's log. A refusal of
     * sts:SetSourceIdentity or sts:TagSession on the role changes nothing: that wording also
     * comes when the provider's own principal lacks the permission in its identity policy, which cross-account
     * requests need as well as the role's trust — the job's log says so.
     */
    private afterRefusedDeployRole(job: JobRow, raw: Record<string, unknown>, c: CustomerRow, result: OperationResult, at: string): void {
        if (c.status === "destroyed") return;
        const ran = section(raw, "byoc:access").deployRoleArn;
        if (typeof ran !== "string" || ran === "") return;
        const log = this.store.job(job.id)?.log ?? "";
        const text = `${result.message}\n${log.slice(-REFUSAL_LOG_SCAN)}`;
        // One scan of the text: an sts:AssumeRole refusal is the switch, any other refusal on the role the provider's side.
        const refusal = stsRefusalOf(text, ran);
        if (!refusal) return;
        if (refusal.action !== "AssumeRole") {
            this.appendLog(
                job.id,
                `[${at}] STS refused sts:${refusal.action} on the deploy role ${ran}${refusal.caller ? ` to ${refusal.caller}` : ""}: not the customer's kill switch (that refuses sts:AssumeRole itself), vendor access unchanged. ` +
                    `The wording also comes when the provider's own principal lacks sts:${refusal.action} in its identity policy (cross-account, the caller's permissions policy must allow it as well as the role's trust policy): ` +
                    `the provider's runner and engineer roles need sts:AssumeRole and sts:SetSourceIdentity (and sts:TagSession if they tag sessions) on the customer's deploy and support roles\n`,
            );
            return;
        }
        const evidence = refusal.evidence;
        const current = JSON.parse(c.config) as Record<string, unknown>;
        const access = section(current, "byoc:access");
        if (access.deployRoleArn !== ran) return; // the stack names another role now: this refusal says nothing about it
        if (c.vendor_refused_at) {
            this.appendLog(job.id, `[${at}] the customer's account refused the deploy role ${ran} again (vendor access suspended since ${c.vendor_refused_at}); nothing queued\n`);
            return;
        }
        const burst = this.options.killSwitchBurst ?? DEFAULT_KILL_SWITCH_BURST;
        const recent = burst > 0 ? this.store.refusedSince(new Date(Date.parse(at) - 3600_000).toISOString(), c.id) : 0;
        if (burst > 0 && recent >= burst) {
            this.store.audit(at, SYSTEM_VENDOR_ACCESS, "customer.vendor-access-suspect", c.id, { roleArn: ran, evidence, after: job.id, recentRefusals: recent });
            this.appendLog(
                job.id,
                `[${at}] STS refused the deploy role ${ran}, but ${recent} other customers' accounts did so within the hour: more likely the provider's own identity (its runner's policy) than ${recent + 1} kill switches. ` +
                    `Vendor access left as it is; check the runner's sts:AssumeRole permission, and if this customer did suspend, POST /api/customers/${c.id}/vendor-access {"state":"suspended"}\n`,
            );
            return;
        }
        const from = vendorAccessOfRaw(current);
        const next = withVendorAccess(current, "suspended");
        const check = parseStackConfig(next);
        // Suspending only takes paths away; a config the schema refuses for other reasons keeps its text (the next up
        // fails on those problems anyway), the refusal is still recorded.
        this.store.updateCustomer(c.id, { ...(check.ok ? { config: JSON.stringify(next) } : {}), vendor_refused_at: at, updated_at: at });
        this.store.audit(at, SYSTEM_VENDOR_ACCESS, "customer.vendor-access", c.id, {
            state: "suspended",
            from,
            reason: DEPLOY_ROLE_REFUSED_REASON,
            job: null,
            after: job.id,
            roleArn: ran,
            evidence,
            ...(check.ok ? {} : { configUnchanged: check.problems.map((p) => `${p.path}: ${p.message}`) }),
        });
        this.appendLog(
            job.id,
            `[${at}] the customer's account refused the deploy role ${ran} (their kill switch): vendor access set to suspended, nothing queued; ` +
                `once the customer re-enabled their bootstrap, re-enable it with POST /api/customers/${c.id}/vendor-access\n`,
        );
    }

    // ------------------------------------------------------------------ access requests

    requestAccess(actor: Actor, customerId: string, body: unknown): AccessView {
        const c = this.mustCustomer(customerId);
        this.assertVendorAccess(c, "no troubleshooting access can be requested");
        const parsed = parseStackConfig(JSON.parse(c.config));
        const maxHours = parsed.ok ? parsed.config.access.maxCertificateHours : 8;
        const rawAccess = (JSON.parse(c.config) as Record<string, unknown>)["byoc:access"];
        const approvers = isObject(rawAccess) && Array.isArray(rawAccess.approvers) ? rawAccess.approvers.filter((a) => typeof a === "string" && a.trim() !== "") : [];
        if (approvers.length === 0) {
            throw new PortalError(409, `customer ${customerId} has no designated approvers (byoc:access.approvers is empty): nobody may approve a request, so none is taken; an operator adds approvers to the stack config first`);
        }
        const b = isObject(body) ? body : {};
        const problems: ConfigProblem[] = [];
        if (!isObject(body)) problems.push({ path: "body", value: body, message: "must be a JSON object { reason, hours, csrPem }" });
        if (typeof b.reason !== "string" || b.reason.trim().length < 3 || b.reason.length > 500) {
            problems.push({ path: "reason", value: b.reason, message: "must say why access is needed (3–500 characters)" });
        }
        if (typeof b.hours !== "number" || !Number.isInteger(b.hours) || b.hours < 1) {
            problems.push({ path: "hours", value: b.hours, message: `must be a whole number of hours from 1 to ${maxHours}` });
        } else if (b.hours > maxHours) {
            problems.push({ path: "hours", value: b.hours, message: `must be at most ${maxHours}: the ${c.environment} limit for troubleshooting certificates (byoc:access.maxCertificateHours)` });
        }
        if (typeof b.csrPem === "string" && Buffer.byteLength(b.csrPem, "utf8") > MAX_CSR_PEM_BYTES) {
            throw new PortalError(413, `csrPem is ${Buffer.byteLength(b.csrPem, "utf8")} bytes; a CSR is at most ${MAX_CSR_PEM_BYTES} bytes (an RSA-8192 one is about 2.5 KB)`);
        }
        // The same check TroubleshootingAccess applies before signing (components/render/csr.ts): a request the
        // portal takes is one the stack can issue — exactly CN=<your e-mail>, no other subject attribute, no
        // extensions, a strong key, a valid self-signature.
        const csr = checkEngineerCsr(b.csrPem, actor.user);
        if (!csr.ok) {
            const shown = typeof b.csrPem === "string" ? `${b.csrPem.slice(0, 40)}…` : b.csrPem;
            for (const message of csr.problems) problems.push({ path: "csrPem", value: shown, message: `${message} (the private key stays with you)` });
        }
        if (!/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(actor.user)) {
            problems.push({ path: "engineer", value: actor.user, message: "the requesting token's user must be an e-mail address: grants name the engineer by e-mail" });
        }
        if (problems.length > 0) throw new PortalError(400, "invalid access request", problems);
        const id = newId("ar");
        const at = this.iso();
        this.store.tx(() => {
            const now = this.mustCustomer(customerId);
            if (now.status === "destroying" || now.status === "destroyed") throw new PortalError(409, `customer ${customerId} is ${now.status}; access cannot be granted`);
            this.assertVendorAccess(now, "no troubleshooting access can be requested");
            const mine = this.store.pendingRequestsOfEngineer(actor.user);
            if (mine >= this.limits.pendingPerEngineer) {
                throw new PortalError(429, `${actor.user} already has ${mine} pending access requests (at most ${this.limits.pendingPerEngineer}): wait for a decision, or revoke one (POST /api/access-requests/:id/revoke)`);
            }
            const stackPending = this.store.pendingRequestsOfCustomer(customerId);
            if (stackPending >= this.limits.pendingPerStack) {
                throw new PortalError(429, `customer ${customerId} already has ${stackPending} pending access requests (at most ${this.limits.pendingPerStack}): its approvers must decide some first`);
            }
            this.store.insertAccessRequest({ id, customer: customerId, engineer: actor.user, reason: (b.reason as string).trim(), hours: b.hours as number, csr_pem: b.csrPem as string, created_at: at });
            this.store.audit(at, actor.user, "access.requested", id, { customer: customerId, hours: b.hours, reason: (b.reason as string).trim() });
        });
        return this.accessView(this.store.accessRequest(id)!);
    }

    getAccessRequest(id: string): AccessView {
        const row = this.store.accessRequest(id);
        if (!row) throw new PortalError(404, `access request ${id} does not exist`);
        return this.accessView(row);
    }

    listAccessRequests(filter: { customer?: string; state?: string; limit?: number }): AccessView[] {
        return this.store.accessRequests({ ...filter, limit: clampLimit(filter.limit, 200, 1000) }).map((a) => this.accessView(a));
    }

    /**
     * Approve: the grant goes into the stack config and an `up` is queued (or the one already queued applies it),
     * in one transaction; its notAfter is provisional (now + hours + ISSUE_ALLOWANCE_MS) until that up starts and
     * fixes it (fixGrantWindows). Deny: the request is closed. Either way only by a designated approver of the
     * stack (byoc:access.approvers), never by the requester nor by anyone who set or changed the stack's
     * approvers, and only on pending requests.
     */
    decide(actor: Actor, id: string, decision: "approve" | "deny"): { request: AccessView; job?: JobView } {
        let jobId: string | undefined;
        this.store.tx(() => {
            const r = this.store.accessRequest(id);
            if (!r) throw new PortalError(404, `access request ${id} does not exist`);
            if (sameUser(r.engineer, actor.user)) throw new PortalError(403, `${actor.user} requested access ${id} and cannot ${decision} it: another approver must decide`);
            const c = this.mustCustomer(r.customer);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            this.mustDecide(actor, c, raw, decision);
            if (r.state !== "pending") throw new PortalError(409, `access request ${id} is already ${r.state}`);
            const at = this.iso();
            if (decision === "deny") {
                this.store.updateAccessRequest(id, { state: "denied", decided_by: actor.user, decided_at: at, updated_at: at });
                this.store.audit(at, actor.user, "access.denied", id, { customer: r.customer, engineer: r.engineer });
                return;
            }
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${c.id} is ${c.status}; access cannot be granted`);
            this.assertVendorAccess(c, `access request ${id} cannot be approved (deny it, or wait until vendor access is enabled again)`);
            const access = section(raw, "byoc:access");
            // The CSR is checked again as the component will check it: rules may have tightened since the request.
            const csr = checkEngineerCsr(r.csr_pem, r.engineer);
            if (!csr.ok) throw new PortalError(409, `access request ${id} cannot be approved: its CSR ${csr.problems.join("; ")}; deny it and let ${r.engineer} request again`);
            const notAfter = new Date(this.now().getTime() + r.hours * 3600_000 + ISSUE_ALLOWANCE_MS).toISOString();
            const grant: Grant = { id: r.id, engineer: r.engineer, csrPem: r.csr_pem, reason: r.reason, approvedBy: actor.user, notAfter };
            const next = { ...raw, "byoc:access": { ...access, grants: [...grantsOf(raw), grant] } };
            const check = parseStackConfig(next);
            if (!check.ok) throw new PortalError(400, `the grant does not fit the stack config of ${c.id}`, check.problems);
            this.store.updateCustomer(c.id, { config: JSON.stringify(next), updated_at: at });
            jobId = this.queueUp(actor.user, c.id, `apply access grant ${id}`);
            this.store.updateAccessRequest(id, { state: "approved", decided_by: actor.user, decided_at: at, not_after: notAfter, job_id: jobId, updated_at: at });
            this.store.audit(at, actor.user, "access.approved", id, { customer: c.id, engineer: r.engineer, hours: r.hours, notAfter, job: jobId });
        });
        this.pump();
        return { request: this.getAccessRequest(id), job: jobId ? this.jobView(this.store.job(jobId)!) : undefined };
    }

    /**
     * Revoke, by the requester or a designated approver of the stack: a pending request is withdrawn; an approved
     * or active one has its grant taken out of the stack config and an `up` queued (or the queued one reused)
     * that removes its certificate's ClickHouse user, its role and its access entry — also the way out of a grant
     * that makes every up fail. `{ reason }` is optional. Audited as access.revoked.
     */
    revoke(actor: Actor, id: string, body: unknown): { request: AccessView; job?: JobView } {
        const b = isObject(body) ? body : {};
        if (b.reason !== undefined && (typeof b.reason !== "string" || b.reason.length > 500)) {
            throw new PortalError(400, "invalid revoke", [{ path: "reason", value: b.reason, message: "must be text of at most 500 characters when given" }]);
        }
        const reason = typeof b.reason === "string" && b.reason.trim() !== "" ? b.reason.trim() : null;
        let jobId: string | undefined;
        this.store.tx(() => {
            const r = this.store.accessRequest(id);
            if (!r) throw new PortalError(404, `access request ${id} does not exist`);
            const c = this.mustCustomer(r.customer);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            if (!sameUser(r.engineer, actor.user)) {
                const access = section(raw, "byoc:access");
                const approvers = Array.isArray(access.approvers) ? access.approvers.filter((a): a is string => typeof a === "string") : [];
                if (!approvers.some((a) => sameUser(a, actor.user))) {
                    throw new PortalError(403, `${actor.user} may not revoke ${id}: only its requester (${r.engineer}) or a designated approver of ${c.id} (byoc:access.approvers: ${approvers.join(", ") || "none"}) may`);
                }
            }
            if (r.state !== "pending" && r.state !== "approved" && r.state !== "active") throw new PortalError(409, `access request ${id} is already ${r.state}; nothing to revoke`);
            const at = this.iso();
            const grants = grantsOf(raw);
            if (grants.some((g) => g.id === id)) {
                const next = withSection(raw, "byoc:access", { grants: grants.filter((g) => g.id !== id) });
                this.store.updateCustomer(c.id, { config: JSON.stringify(next), updated_at: at });
                if (c.status !== "destroying" && c.status !== "destroyed") jobId = this.queueUp(actor.user, c.id, `revoke access grant ${id}`);
            }
            this.store.updateAccessRequest(id, { state: "revoked", updated_at: at, ...(r.state === "pending" ? { decided_by: actor.user, decided_at: at } : {}) });
            this.store.audit(at, actor.user, "access.revoked", id, { customer: c.id, engineer: r.engineer, from: r.state, reason, job: jobId ?? null });
        });
        this.pump();
        return { request: this.getAccessRequest(id), job: jobId ? this.jobView(this.store.job(jobId)!) : undefined };
    }

    /**
     * Who may decide requests on a stack: a designated approver (byoc:access.approvers, compared as e-mail
     * addresses) who never set or changed that list — the operator choosing the approvers cannot choose
     * themselves into deciding. 403 otherwise, naming the rule.
     */
    private mustDecide(actor: Actor, c: CustomerRow, raw: Record<string, unknown>, what: string): void {
        const access = section(raw, "byoc:access");
        const approvers = Array.isArray(access.approvers) ? access.approvers.filter((a): a is string => typeof a === "string") : [];
        if (approvers.length === 0) {
            throw new PortalError(403, `${c.id} has no designated approvers (byoc:access.approvers is empty): nobody may ${what} its requests until an operator sets them (PUT /api/customers/${c.id}/approvers)`);
        }
        if (!approvers.some((a) => sameUser(a, actor.user))) {
            throw new PortalError(403, `${actor.user} is not a designated approver for ${c.id} (byoc:access.approvers: ${approvers.join(", ")}): only they may ${what} its requests`);
        }
        // Stacks created before setters were recorded: their creator set the approvers they were created with.
        const recorded = this.store.approverSetters(c.id);
        const setters = recorded.length > 0 ? recorded : [c.created_by];
        if (setters.some((u) => sameUser(u, actor.user))) {
            throw new PortalError(403, `${actor.user} set or changed the approvers of ${c.id} and so may not ${what} its requests: approvals come from people the operator did not make themselves`);
        }
    }

    /**
     * An `up` that will read the stack config as it is now: the one already queued (not started) if there is one,
     * else a new one. For changes that must be applied whatever the queue holds (approve, revoke): never refused.
     */
    private queueUp(actor: string, customer: string, reason: string): string {
        return this.queueOrReuse(actor, customer, "up", reason, false);
    }

    /** The `kind` job already queued (not started) for the stack, audited job.reused; else a new one (429 first when `limited` and the queue is full). */
    private queueOrReuse(actor: string, customer: string, kind: JobKind, reason: string, limited: boolean): string {
        const waiting = this.store.activeJobsOf(customer).find((j) => j.state === "queued" && j.kind === kind);
        if (waiting) {
            this.store.audit(this.iso(), actor, "job.reused", waiting.id, { customer, reason });
            return waiting.id;
        }
        if (limited) this.assertQueueRoom(customer);
        return this.queue(actor, customer, kind, reason);
    }

    /** 429 when a caller's operation would put more than limits.queuedPerStack jobs in the stack's queue. */
    private assertQueueRoom(customer: string): void {
        const queued = this.store.queuedJobsOf(customer);
        if (queued >= this.limits.queuedPerStack) {
            throw new PortalError(429, `customer ${customer} already has ${queued} queued jobs (at most ${this.limits.queuedPerStack}): wait for them to run`);
        }
    }

    /**
     * Removes every grant whose notAfter has passed from its stack config, marks its request expired and queues
     * an `up` to re-apply the stack (unless one is already queued: it will read the new config). Returns the ids.
     */
    sweep(): string[] {
        if (this.closed) return [];
        const now = this.now();
        const at = now.toISOString();
        const expired: string[] = [];
        let queued = false;
        this.store.tx(() => {
            for (const c of this.store.customers()) {
                if (c.status === "destroyed") continue;
                const raw = JSON.parse(c.config) as Record<string, unknown>;
                const grants = grantsOf(raw);
                const gone = grants.filter((g) => Date.parse(g.notAfter) <= now.getTime());
                if (gone.length === 0) continue;
                const access = raw["byoc:access"] as Record<string, unknown>;
                const next = { ...raw, "byoc:access": { ...access, grants: grants.filter((g) => !gone.includes(g)) } };
                this.store.updateCustomer(c.id, { config: JSON.stringify(next), updated_at: at });
                for (const g of gone) {
                    expired.push(g.id);
                    const r = this.store.accessRequest(g.id);
                    if (r && (r.state === "approved" || r.state === "active")) this.store.updateAccessRequest(g.id, { state: "expired", updated_at: at });
                    this.store.audit(at, SYSTEM_SWEEPER, "access.expired", g.id, { customer: c.id, engineer: g.engineer, notAfter: g.notAfter });
                }
                if (c.status !== "destroying" && !this.store.activeJobsOf(c.id).some((j) => j.state === "queued" && j.kind === "up")) {
                    this.queue(SYSTEM_SWEEPER, c.id, "up", `remove expired grants ${gone.map((g) => g.id).join(", ")}`);
                    queued = true;
                }
            }
            // Requests nobody decided in time: nothing was granted, so nothing to re-apply.
            const hours = this.options.pendingRequestHours ?? 24;
            for (const r of this.store.pendingBefore(new Date(now.getTime() - hours * 3600_000).toISOString())) {
                this.store.updateAccessRequest(r.id, { state: "expired", updated_at: at });
                this.store.audit(at, SYSTEM_SWEEPER, "access.request-expired", r.id, { customer: r.customer, engineer: r.engineer, pendingSince: r.created_at, afterHours: hours });
            }
        });
        if (queued) this.pump();
        return expired;
    }

    // ------------------------------------------------------------------ audit

    /**
     * `order` asc (default): oldest first from after `after`; desc: newest first, before `before` (the cursor).
     * nextCursor: the seq to pass as `after` (asc) or `before` (desc) for the next page; null when there is none.
     */
    auditPage(filter: { order?: "asc" | "desc"; after?: number; before?: number; limit?: number; subject?: string }): { entries: AuditView[]; nextCursor: number | null } {
        const limit = clampLimit(filter.limit, 500, 5000);
        const rows =
            filter.order === "desc"
                ? this.store.auditTrailDesc({ before: filter.before, limit: limit + 1, subject: filter.subject || undefined })
                : this.store.auditTrail({ after: filter.after ?? 0, limit: limit + 1, subject: filter.subject || undefined });
        const more = rows.length > limit;
        const page = (more ? rows.slice(0, limit) : rows).map((a) => this.auditView(a));
        return { entries: page, nextCursor: more ? page[page.length - 1].seq : null };
    }

    private auditView(a: AuditRow): AuditView {
        return { seq: a.seq, at: a.at, actor: a.actor, action: a.action, subject: a.subject, details: json<Record<string, unknown>>(a.details) };
    }

    auditTrail(filter: { after?: number; limit?: number; subject?: string }): AuditView[] {
        return this.store.auditTrail({ after: filter.after ?? 0, limit: clampLimit(filter.limit, 500, 5000), subject: filter.subject }).map((a) => ({
            seq: a.seq,
            at: a.at,
            actor: a.actor,
            action: a.action,
            subject: a.subject,
            details: json<Record<string, unknown>>(a.details),
        }));
    }

    // ------------------------------------------------------------------ views

    private mustCustomer(id: string): CustomerRow {
        const c = this.store.customer(id);
        if (!c) throw new PortalError(404, `customer ${id} does not exist`);
        return c;
    }

    private customerView(r: CustomerRow): CustomerView {
        const apiAccess = { phase: accessOfRaw(JSON.parse(r.config)), applied: appliedAccess(json<Record<string, unknown>>(r.outputs)?.clusterApiAccess), note: r.api_note ?? null };
        const access = (JSON.parse(r.config) as Record<string, unknown>)["byoc:access"];
        return {
            id: r.id,
            stack: r.id,
            environment: r.environment,
            customerId: r.customer_id,
            name: r.name,
            status: r.status,
            createdBy: r.created_by,
            createdAt: r.created_at,
            updatedAt: r.updated_at,
            apiAccess,
            drift: json<DriftView>(r.drift ?? null),
            ...vendorAccessView(isObject(access) ? access.vendorAccess : undefined, r.vendor_refused_at),
        };
    }

    jobView(r: Omit<JobRow, "log" | "config"> & { log?: string }, withLog = false): JobView {
        const view: JobView = {
            id: r.id,
            customer: r.customer,
            kind: r.kind,
            state: r.state,
            outcome: r.outcome,
            message: r.message,
            requestedBy: r.requested_by,
            reason: r.reason,
            rerunOf: r.rerun_of,
            createdAt: r.created_at,
            startedAt: r.started_at,
            finishedAt: r.finished_at,
            resourceCount: r.resource_count,
            violations: json(r.violations) ?? [],
            problems: json(r.problems) ?? [],
            startAttempts: r.start_attempts ?? 0,
        };
        if (withLog) view.log = r.log ?? "";
        return view;
    }

    private accessView(r: AccessRow): AccessView {
        return {
            id: r.id,
            customer: r.customer,
            engineer: r.engineer,
            reason: r.reason,
            hours: r.hours,
            state: r.state,
            decidedBy: r.decided_by,
            decidedAt: r.decided_at,
            notAfter: r.not_after,
            jobId: r.job_id,
            certificatePem: r.certificate_pem,
            certificateNote: r.certificate_note,
            csrPem: r.csr_pem,
            createdAt: r.created_at,
            updatedAt: r.updated_at,
        };
    }
}

/** Mail systems treat addresses case-insensitively; so do approvals (the schema does the same). */
function sameUser(a: string, b: string): boolean {
    return a.trim().toLowerCase() === b.trim().toLowerCase();
}

const API_ACCESS: readonly ApiAccess[] = ["public", "bootstrap", "switchover", "tailnet", "break-glass"];

/** byoc:controlPlane → ApiAccess as stacks/schema.ts derives it, from raw values (SQLite's json_extract hands booleans back as 1/0). */
function accessOf(privateEndpointOnly: unknown, phase: unknown, breakGlass: unknown): ApiAccess {
    const known = (API_PHASES as readonly unknown[]).includes(phase) ? (phase as (typeof API_PHASES)[number]) : undefined;
    return apiAccessOf({ privateEndpointOnly: privateEndpointOnly === true || privateEndpointOnly === 1, breakGlass: breakGlass === true || breakGlass === 1, phase: known });
}

/** A namespace of a stored config (`byoc:access`, `byoc:controlPlane`, …) as an object, {} when absent. */
export function section(raw: Record<string, unknown>, key: string): Record<string, unknown> {
    const v = raw[key];
    return isObject(v) ? v : {};
}

/** `raw` with `patch` merged into its namespace `key`. */
function withSection(raw: Record<string, unknown>, key: string, patch: Record<string, unknown>): Record<string, unknown> {
    return { ...raw, [key]: { ...section(raw, key), ...patch } };
}

function accessOfRaw(raw: Record<string, unknown>): ApiAccess {
    const cp = section(raw, "byoc:controlPlane");
    return accessOf(cp.privateEndpointOnly, cp.phase, cp.breakGlass);
}

/** A stored byoc:access.vendorAccess value as the schema defaults it ("enabled" unless it names another state). */
function vendorAccessState(stored: unknown): VendorAccessState {
    return (VENDOR_ACCESS as readonly unknown[]).includes(stored) ? (stored as VendorAccessState) : "enabled";
}

/** byoc:access.vendorAccess of a stored config ("enabled", "suspending" or "suspended"). */
export function vendorAccessOfRaw(raw: Record<string, unknown>): VendorAccessState {
    return vendorAccessState(section(raw, "byoc:access").vendorAccess);
}

function withVendorAccess(raw: Record<string, unknown>, state: VendorAccessState): Record<string, unknown> {
    return withSection(raw, "byoc:access", { vendorAccess: state });
}

/** The vendor-access fields of a customer view, from the stored value and the observed refusal. */
function vendorAccessView(stored: unknown, refusedAt: string | null | undefined): { vendorAccess: VendorAccessState; vendorAccessRefusedAt?: string } {
    return { vendorAccess: vendorAccessState(stored), ...(refusedAt ? { vendorAccessRefusedAt: refusedAt } : {}) };
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** What stsRefusalOf found: the STS action refused on the role, the caller when the message names it, the line that says so. */
export interface StsRefusal {
    action: "AssumeRole" | "SetSourceIdentity" | "TagSession";
    caller?: string;
    evidence: string;
}

/**
 * The refusal by STS of an action on `roleArn` in `text` (a failed job's message and log), AssumeRole first.
 * Only a refusal of sts:AssumeRole itself is the customer's kill switch: sts:SetSourceIdentity and sts:TagSession
 * refusals also come when the provider's own principal lacks the permission in its identity policy (cross-account,
 * the caller's permissions policy must allow them as well as the role's trust policy: IAM User Guide, "Passing
 * session tags" and "Monitor and control actions taken with assumed roles"), a misconfiguration on the provider's
 * side (afterRefusedDeployRole tells them apart). The phrasings:
 *  - AWS's AccessDenied message, whichever SDK prints it: `User: <caller> is not authorized to perform:
 *    sts:AssumeRole on resource: <roleArn>` (or sts:SetSourceIdentity, sts:TagSession) — aws-sdk-go-v2 as the
 *    Pulumi AWS provider (the Terraform provider underneath) reports it, `operation error STS: AssumeRole, https
 *    response error StatusCode: 403, RequestID: …, api error AccessDenied: User: … is not authorized to perform:
 *    sts:AssumeRole on resource: …`; botocore (the aws CLI of a kubeconfig) `An error occurred (AccessDenied) when
 *    calling the AssumeRole operation: User: …`; the Java SDK `… (Service: AWSSecurityTokenService; Status Code:
 *    403; Error Code: AccessDenied; …)`.
 *  - The provider's wrapper around it, `IAM Role (<roleArn>) cannot be assumed.` (`error configuring Terraform AWS
 *    Provider: …` in older versions, `Error: Cannot assume IAM Role` in newer), followed by aws-sdk-go-v2's
 *    `operation error STS: AssumeRole, … api error AccessDenied`: for when the sentence above was wrapped or cut;
 *    AssumeRole unless what is left of that AccessDenied names sts:SetSourceIdentity or sts:TagSession.
 * Either way AccessDenied must be part of the same error (near it), and the role must be exactly `roleArn` (not a
 * longer name, not another role such as the support role, not the deploy role's own session making some other
 * call): an AccessDenied of anything else (an EKS or S3 call, another role, an expired token) is no refusal here.
 * Terraform's box drawing (`│ `), line wrapping and terminal colours are ignored. A wrong byoc:deployExternalId
 * reads the same to STS's caller as the switch — the portal cannot tell them apart.
 */
export function stsRefusalOf(text: string, roleArn: string): StsRefusal | undefined {
    if (!text.includes("AccessDenied")) return undefined;
    const flat = text
        .replace(/\x1b\[[0-9;]*[A-Za-z]/g, "")
        .replace(/[\u2502\u2503]/g, " ")
        .replace(/\s+/g, " ");
    const arn = escapeRegExp(roleArn);
    const end = "(?![A-Za-z0-9+=,.@_/-])";
    const shown = (from: number, to: number) => flat.slice(Math.max(0, from), Math.min(flat.length, to)).trim().slice(0, 500);
    const actionOf = (name: string): StsRefusal["action"] => (/^assumerole$/i.test(name) ? "AssumeRole" : /^setsourceidentity$/i.test(name) ? "SetSourceIdentity" : "TagSession");
    const sentences: StsRefusal[] = [];
    const sentence = new RegExp(`(?:User: ?(\\S+) is )?not authorized to perform:? sts:(AssumeRole|SetSourceIdentity|TagSession) on resource:? ${arn}${end}`, "gi");
    for (let m = sentence.exec(flat); m; m = sentence.exec(flat)) {
        const around = flat.slice(Math.max(0, m.index - 1000), m.index + m[0].length + 300);
        if (/\bAccessDenied\b/.test(around)) sentences.push({ action: actionOf(m[2]), ...(m[1] ? { caller: m[1] } : {}), evidence: shown(m.index - 300, m.index + m[0].length) });
    }
    const assumeRole = sentences.find((r) => r.action === "AssumeRole");
    if (assumeRole) return assumeRole;
    if (sentences.length > 0) return sentences[0];
    const wrapper = new RegExp(`IAM Role \\(${arn}\\) cannot be assumed`, "gi");
    for (let m = wrapper.exec(flat); m; m = wrapper.exec(flat)) {
        const after = flat.slice(m.index, m.index + m[0].length + 1500);
        // The AccessDenied of that same STS error: no other error ("api error …", "operation error …") in between.
        const denied = /operation error STS: AssumeRole\b(?:(?!api error|operation error).){0,300}api error AccessDenied\b((?:(?!api error|operation error).){0,600})/.exec(after);
        if (!denied) continue;
        const other = /not authorized to perform:? sts:(SetSourceIdentity|TagSession)\b/i.exec(denied[1]);
        const caller = /User: ?(\S+) is not authorized/.exec(denied[1])?.[1];
        return { action: other ? actionOf(other[1]) : "AssumeRole", ...(caller ? { caller } : {}), evidence: shown(m.index, m.index + m[0].length + 400) };
    }
    return undefined;
}

/** The stack output clusterApiAccess: the phase the last successful up applied (null before one, or unknown). */
function appliedAccess(v: unknown): ApiAccess | null {
    return API_ACCESS.includes(v as ApiAccess) ? (v as ApiAccess) : null;
}

function withControlPlane(raw: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
    return withSection(raw, "byoc:controlPlane", patch);
}

/** Config problems of `next` (the next phase), one line each: the schema's rules are the single source of truth. */
function configBlockers(next: Record<string, unknown>): string[] {
    const parsed = parseStackConfig(next);
    return parsed.ok ? [] : parsed.problems.map((p) => `${p.path}: ${p.message}`);
}

/**
 * Why a stack whose bootstrap `up` just succeeded cannot move its Kubernetes provider to the tailnet yet ([]
 * when it can): the config rules of phase switchover, then the up's evidence that the way in exists — output
 * tailnetDevices["kubernetes-api"] with a tailnet address, i.e. the agent logged in and the tailnet knows it.
 */
function switchoverBlockers(next: Record<string, unknown>, outputs: Record<string, unknown>): string[] {
    const problems = configBlockers(next);
    if (problems.length > 0) return problems;
    const devices = outputs.tailnetDevices;
    const device = isObject(devices) ? devices["kubernetes-api"] : undefined;
    const addresses = isObject(device) && Array.isArray(device.addresses) ? device.addresses : [];
    if (addresses.length === 0) {
        return ['the bootstrap up\'s outputs show no tailnet device for kubernetes-api (tailnetDevices["kubernetes-api"] with a tailnet address): the Kubernetes provider would have no way in through the tailnet; run up again once the agent is on the tailnet'];
    }
    return [];
}

/**
 * Why a stack whose switchover `up` just succeeded cannot close its public endpoint yet ([] when it can): the
 * config rules of phase tailnet, then that the up really applied switchover (output clusterApiAccess), i.e. the
 * provider did go through the tailnet — the success is the proof only then.
 */
function tailnetBlockers(next: Record<string, unknown>, outputs: Record<string, unknown>): string[] {
    const problems = configBlockers(next);
    if (problems.length > 0) return problems;
    if (outputs.clusterApiAccess !== "switchover") {
        return [`the switchover up's output clusterApiAccess is ${JSON.stringify(outputs.clusterApiAccess ?? null)}, not "switchover": it does not prove the Kubernetes provider reaches the API through the tailnet, so the public endpoint stays open`];
    }
    return [];
}

/** At creation: what would keep a bootstrap stack from advancing after its first up (null when nothing known). */
function bootstrapForecast(raw: Record<string, unknown>): string | null {
    const problems = configBlockers(withControlPlane(raw, { phase: "switchover" }));
    return problems.length > 0 ? `will stay in phase bootstrap after the initial deployment: ${problems.join("; ")}` : null;
}

/** Outputs with every secret one (Pulumi's secret flag, or named in SECRET_OUTPUTS) replaced by REDACTED. */
function redactOutputs(outputs: Record<string, unknown>, secret: readonly string[] = []): Record<string, unknown> {
    const out = { ...outputs };
    for (const k of [...SECRET_OUTPUTS, ...secret]) if (k in out && out[k] !== null && out[k] !== undefined) out[k] = REDACTED;
    return out;
}

/** A drift change as the portal keeps it: values of secret outputs (and values too large to show) never stored. */
function redactDriftChange(ch: DriftChange, stored: Record<string, unknown>, secret: readonly string[]): DriftChange {
    const out: DriftChange = { subject: ch.subject, op: ch.op };
    const name = ch.subject.startsWith("output:") ? ch.subject.slice("output:".length) : undefined;
    const hidden = name !== undefined && (SECRET_OUTPUTS.includes(name) || secret.includes(name) || stored[name] === REDACTED);
    const shown = (v: unknown) => (hidden ? REDACTED : JSON.stringify(v ?? null).length > 2000 ? `[${JSON.stringify(v).length} characters]` : v);
    if ("recorded" in ch) out.recorded = shown(ch.recorded);
    if ("current" in ch) out.current = shown(ch.current);
    return out;
}

function grantsOf(raw: Record<string, unknown>): Grant[] {
    const grants = section(raw, "byoc:access").grants;
    return Array.isArray(grants) ? (grants as Grant[]) : [];
}

function errorText(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

function isObject(v: unknown): v is Record<string, unknown> {
    return v !== null && typeof v === "object" && !Array.isArray(v);
}

function clampLimit(limit: number | undefined, dflt: number, max: number): number {
    return limit === undefined || !Number.isFinite(limit) || limit < 1 ? dflt : Math.min(Math.floor(limit), max);
}

export interface CustomerView {
    id: string;
    stack: string;
    environment: string;
    customerId: string;
    name: string;
    status: string;
    createdBy: string;
    createdAt: string;
    updatedAt: string;
    apiAccess: ApiAccessView;
    /** The last drift check's finding (null before one). */
    drift: DriftView | null;
    /** byoc:access.vendorAccess of the stored config: what the next up applies ("suspended": no vendor path). */
    vendorAccess: VendorAccessState;
    /** When a job saw the customer's account refuse the deploy role (their kill switch); absent otherwise and after re-enabling. */
    vendorAccessRefusedAt?: string;
}
/** What the last drift check found: `changes` lists what differs (resources with pulumi, outputs offline). */
export interface DriftView {
    checkedAt: string;
    drifted: boolean;
    changes: DriftChange[];
    /** The drift job that found it. */
    job: string;
    /** Changes beyond MAX_DRIFT_CHANGES, left out here (the job log lists them). */
    omitted?: number;
}
/**
 * How management reaches the EKS API. `phase`: what the stored config says (what the next up applies);
 * `applied`: output clusterApiAccess of the last successful up (null before one); `note`: the portal's last word
 * on the phase — why a private stack stays in bootstrap or switchover, which job moves it, a failed move,
 * break-glass reasons. A private stack's phase is bootstrap, switchover, tailnet or break-glass.
 */
export interface ApiAccessView {
    phase: ApiAccess;
    applied: ApiAccess | null;
    note: string | null;
}
export interface CustomerSummary extends Omit<CustomerView, "createdBy"> {
    lastJob: { id: string; kind: string; state: string } | null;
}
export interface CustomerDetail extends CustomerView {
    config: Record<string, unknown>;
    outputs: Record<string, unknown> | null;
    flows: unknown[];
    jobs: JobView[];
    accessRequests: AccessView[];
}
export interface JobView {
    id: string;
    customer: string;
    kind: string;
    state: string;
    outcome: string | null;
    message: string | null;
    requestedBy: string;
    reason: string | null;
    rerunOf: string | null;
    createdAt: string;
    startedAt: string | null;
    finishedAt: string | null;
    resourceCount: number | null;
    violations: unknown[];
    problems: unknown[];
    /** Failed attempts to start this job (store or engine failing before the operation ran); see Portal.startFailed. */
    startAttempts: number;
    log?: string;
}
export interface AccessView {
    id: string;
    customer: string;
    engineer: string;
    reason: string;
    hours: number;
    state: string;
    decidedBy: string | null;
    decidedAt: string | null;
    notAfter: string | null;
    jobId: string | null;
    certificatePem: string | null;
    certificateNote: string | null;
    csrPem: string;
    createdAt: string;
    updatedAt: string;
}
export interface AuditView {
    seq: number;
    at: string;
    actor: string;
    action: string;
    subject: string;
    details: Record<string, unknown> | null;
}
