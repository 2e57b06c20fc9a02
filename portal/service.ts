// The portal's domain: customers (one Pulumi stack each), jobs run through an engine with at most one job per
// stack and a bounded number overall, the troubleshooting-access workflow (request → approval → grant in the
// stack config → up → certificate → expiry by the sweeper) and the audit trail. HTTP lives in http.ts; this
// file is callable directly from tests and the benchmark.
import { randomBytes } from "crypto";
import { ApiAccess, ConfigProblem, Grant, isCsrPem, parseStackConfig } from "../stacks/schema";
import { Operation, OperationResult, StackEngine, StackLimiter } from "../automation";
import { AccessRow, CustomerRow, JobKind, JobRow, Store } from "./store";
import { findCertificate } from "./certificates";

export type Role = "operator" | "engineer" | "approver" | "auditor";
export const roles: readonly Role[] = ["operator", "engineer", "approver", "auditor"];

export interface Actor {
    user: string;
    roles: Role[];
}

/** An error with the HTTP status it stands for; `problems` lists every bad field for 400s. */
export class PortalError extends Error {
    constructor(readonly status: 400 | 401 | 403 | 404 | 409, message: string, readonly problems?: ConfigProblem[]) {
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
}

const STACK_NAME = /^[a-z0-9][a-z0-9-]{1,38}[a-z0-9]$/;
const SYSTEM_SWEEPER = "system:sweeper";
const SYSTEM = "system";
/** The actor of the portal's own phase changes (bootstrap → switchover → tailnet) after a private stack's ups. */
const SYSTEM_PHASE = "system:phase";
/** The reason of the `up` the portal queues to move a private stack to phase switchover. */
export const SWITCHOVER_UP_REASON = "move the Kubernetes provider to the tailnet (phase switchover)";
/** The reason of the `up` the portal queues to move a private stack to phase tailnet. */
export const TAILNET_UP_REASON = "close the public API endpoint (phase tailnet)";

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
    private closed = false;

    constructor(readonly options: PortalOptions) {
        this.store = new Store(options.dbFile);
        this.engine = options.engine;
        this.now = options.now ?? (() => new Date());
        this.limiter = new StackLimiter(options.maxParallel ?? 4);
        this.reserved = new Set(options.reservedStacks ?? ["dev", "prod"]);
        this.recover();
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
        this.store.close();
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
        if (!isObject(b.config)) {
            problems.push({ path: "config", value: b.config, message: 'must be the stack config as Pulumi keys it: { "aws:region": …, "byoc:environment": …, … }' });
        } else {
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
            parsed = parseStackConfig(b.config);
            if (!parsed.ok) problems.push(...parsed.problems);
        }
        if (problems.length > 0 || !parsed?.ok) throw new PortalError(400, "invalid customer", problems);
        const config = parsed.config;
        const id = stack as string;
        const at = this.iso();
        const job = this.store.tx(() => {
            if (this.store.customer(id)) throw new PortalError(409, `customer stack "${id}" already exists`);
            this.store.insertCustomer({
                id,
                environment: config.environment,
                customer_id: config.customer.id,
                name: config.customer.name,
                config: JSON.stringify(b.config),
                status: "provisioning",
                outputs: null,
                api_note: config.controlPlane.access === "bootstrap" ? bootstrapForecast(b.config as Record<string, unknown>) : null,
                created_by: actor.user,
                created_at: at,
                updated_at: at,
            });
            this.store.audit(at, actor.user, "customer.created", id, { environment: config.environment, customer: config.customer.id });
            return this.queue(actor.user, id, "up", "initial deployment");
        });
        this.pump();
        return { customer: this.customerView(this.store.customer(id)!), job: this.jobView(this.store.job(job)!) };
    }

    listCustomers(): CustomerSummary[] {
        return this.store.customerSummaries().map((r) => ({
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
        }));
    }

    getCustomer(id: string): CustomerDetail {
        const row = this.mustCustomer(id);
        const outputs = json<Record<string, unknown>>(row.outputs);
        return {
            ...this.customerView(row),
            config: JSON.parse(row.config),
            outputs,
            flows: Array.isArray(outputs?.networkFlows) ? (outputs!.networkFlows as unknown[]) : [],
            jobs: this.store.jobs({ customer: id, limit: 20 }).map((j) => this.jobView(j)),
            accessRequests: this.store.accessRequests({ customer: id, limit: 50 }).map((a) => this.accessView(a)),
        };
    }

    /** `preview` / `up` / `refresh` (operator) → a queued job; 409 when the customer is being or has been destroyed. */
    requestOperation(actor: Actor, id: string, kind: Exclude<JobKind, "destroy">): JobView {
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is ${c.status}; ${kind} is not possible`);
            return this.queue(actor.user, id, kind, `requested by ${actor.user}`);
        });
        this.pump();
        return this.jobView(this.store.job(jobId)!);
    }

    deleteCustomer(actor: Actor, id: string): JobView {
        const jobId = this.store.tx(() => {
            const c = this.mustCustomer(id);
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${id} is already ${c.status}`);
            this.store.updateCustomer(id, { status: "destroying", updated_at: this.iso() });
            this.store.audit(this.iso(), actor.user, "customer.destroy-requested", id);
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

    listJobs(filter: { customer?: string; limit?: number }): JobView[] {
        return this.store.jobs({ customer: filter.customer, limit: clampLimit(filter.limit, 100, 1000) }).map((j) => this.jobView(j));
    }

    /** Re-runs an interrupted or failed job as a new job of the same kind. */
    rerunJob(actor: Actor, id: string): JobView {
        const jobId = this.store.tx(() => {
            const job = this.store.job(id);
            if (!job) throw new PortalError(404, `job ${id} does not exist`);
            if (job.state !== "interrupted" && job.state !== "failed") throw new PortalError(409, `job ${id} is ${job.state}; only interrupted or failed jobs can be re-run`);
            const c = this.mustCustomer(job.customer);
            if (c.status === "destroyed") throw new PortalError(409, `customer ${c.id} is destroyed; nothing to re-run`);
            if (job.kind !== "destroy" && c.status === "destroying") throw new PortalError(409, `customer ${c.id} is being destroyed; ${job.kind} is not possible`);
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

    /** Starts queued jobs, oldest first, skipping stacks that already run one, up to the parallel bound. */
    private pump(): void {
        if (this.closed) return;
        for (const job of this.store.jobsInState("queued")) {
            if (this.limiter.full) return;
            const release = this.limiter.tryAcquire(job.customer);
            if (!release) continue;
            const started = this.startJob(job);
            const done = started.then(
                () => undefined,
                (err) => {
                    if (!this.closed) console.error(`job ${job.id}: ${(err as Error).stack ?? err}`);
                },
            );
            this.running.set(job.id, done);
            void done.finally(() => {
                this.running.delete(job.id);
                release();
                this.pump();
            });
        }
    }

    private async startJob(job: JobRow): Promise<void> {
        const customer = this.store.customer(job.customer)!;
        const at = this.iso();
        this.store.tx(() => {
            this.store.updateJob(job.id, { state: "running", started_at: at, config: customer.config });
            this.store.audit(at, SYSTEM, "job.started", job.id, { customer: job.customer, kind: job.kind });
        });
        const raw = JSON.parse(customer.config) as Record<string, unknown>;
        const log = (line: string) => {
            if (!this.closed) this.store.appendLog(job.id, `${line}\n`);
        };
        let result: OperationResult;
        try {
            result = { outcome: "succeeded", message: "" };
            if (job.kind !== "destroy") result = await this.engine.configure(job.customer, raw, { log, now: this.now() });
            if (result.outcome === "succeeded") result = await this.engine.run(job.kind as Operation, job.customer, raw, { log, now: this.now() });
        } catch (err) {
            result = { outcome: "failed", message: `engine error: ${(err as Error).message ?? String(err)}` };
            log(result.message);
        }
        if (this.closed) return; // the service stopped meanwhile: the next start marks this job interrupted
        this.finishJob(job, raw, result);
    }

    private finishJob(job: JobRow, raw: Record<string, unknown>, result: OperationResult): void {
        const at = this.iso();
        // Destroying a stack that never existed leaves nothing behind: that is success.
        const ok = result.outcome === "succeeded" || (job.kind === "destroy" && result.outcome === "not-found");
        this.store.tx(() => {
            this.store.appendLog(job.id, `[${at}] ${ok ? "succeeded" : `failed (${result.outcome})`}: ${result.message}\n`);
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
            if (job.kind === "up") {
                if (ok) {
                    this.store.updateCustomer(c.id, { status: c.status === "destroying" ? c.status : "deployed", outputs: JSON.stringify(result.outputs ?? {}), updated_at: at });
                    this.activateGrants(job, raw, result.outputs ?? {}, at);
                    this.afterPrivateUp(job, raw, result.outputs ?? {}, at);
                } else {
                    if (c.status === "provisioning") this.store.updateCustomer(c.id, { status: "failed", updated_at: at });
                    this.afterFailedPrivateUp(job, raw, c, result, at);
                }
            } else if (job.kind === "refresh" && ok && result.outputs) {
                this.store.updateCustomer(c.id, { outputs: JSON.stringify(result.outputs), updated_at: at });
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

    /** After a successful up: requests whose grant was in the applied config become active, with their certificate. */
    private activateGrants(job: JobRow, raw: Record<string, unknown>, outputs: Record<string, unknown>, at: string): void {
        const applied = new Set(grantsOf(raw).map((g) => g.id));
        for (const r of this.store.accessRequests({ customer: job.customer, state: "approved", limit: 100000 })) {
            if (!applied.has(r.id)) continue;
            const cert = findCertificate(outputs, r.id);
            this.store.updateAccessRequest(r.id, {
                state: "active",
                certificate_pem: cert?.pem ?? null,
                certificate_note: cert
                    ? `issued by stack ${job.customer} (output ${cert.path})`
                    : `stack ${job.customer} applied the grant but its outputs carry no certificate for "${r.id}" (the TroubleshootingAccess component publishes it)`,
                updated_at: at,
            });
            this.store.audit(at, SYSTEM, "access.activated", r.id, { customer: job.customer, job: job.id, notAfter: r.not_after, certificate: cert ? cert.path : null });
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
        const c = this.store.customer(job.customer)!;
        if (c.status === "destroying" || c.status === "destroyed") return;
        const current = JSON.parse(c.config) as Record<string, unknown>;
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
        const nextJob = this.queue(SYSTEM_PHASE, c.id, "up", to === "switchover" ? SWITCHOVER_UP_REASON : TAILNET_UP_REASON); // reads the config when it starts
        const note =
            to === "switchover"
                ? `moving to phase switchover: ${nextJob} moves the Kubernetes provider to the tailnet kubernetes-api endpoint; the public API endpoint stays open until that up has succeeded`
                : `moving to phase tailnet: ${job.id} proved the tailnet path, ${nextJob} closes the public API endpoint`;
        this.store.updateCustomer(c.id, { config: JSON.stringify(next), api_note: note, updated_at: at });
        const evidence = to === "switchover" ? { device: (outputs.tailnetDevices as Record<string, unknown>)["kubernetes-api"] } : { proof: job.id };
        this.store.audit(at, SYSTEM_PHASE, "customer.phase-changed", c.id, { from: applied, to, after: job.id, job: nextJob, ...evidence });
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
        const tag = (raw["byoc:tailscale"] as { managementTag?: string } | undefined)?.managementTag ?? "(byoc:tailscale.managementTag)";
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
            if (action === "close" && access !== "break-glass") throw new PortalError(409, `break-glass is not open on ${id} (phase ${access})`);
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

    // ------------------------------------------------------------------ access requests

    requestAccess(actor: Actor, customerId: string, body: unknown): AccessView {
        const c = this.mustCustomer(customerId);
        const parsed = parseStackConfig(JSON.parse(c.config));
        const maxHours = parsed.ok ? parsed.config.access.maxCertificateHours : 8;
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
        if (typeof b.csrPem !== "string" || !isCsrPem(b.csrPem)) {
            problems.push({ path: "csrPem", value: typeof b.csrPem === "string" ? `${b.csrPem.slice(0, 40)}…` : b.csrPem, message: "must be one intact PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----); the private key stays with you" });
        } else {
            const cn = csrCommonName(b.csrPem);
            if (cn !== null && !sameUser(cn ?? "", actor.user)) {
                problems.push({ path: "csrPem", value: `CN=${cn ?? "(none)"}`, message: `the CSR's subject CN must be your e-mail ${actor.user}: certificates map to users by CN (openssl req -new -subj "/CN=${actor.user}" …)` });
            }
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
     * Approve: the grant (notAfter = now + hours) goes into the stack config and an `up` is queued, in one
     * transaction. Deny: the request is closed. Either way never by the requester, only on pending requests.
     */
    decide(actor: Actor, id: string, decision: "approve" | "deny"): { request: AccessView; job?: JobView } {
        let jobId: string | undefined;
        this.store.tx(() => {
            const r = this.store.accessRequest(id);
            if (!r) throw new PortalError(404, `access request ${id} does not exist`);
            if (sameUser(r.engineer, actor.user)) throw new PortalError(403, `${actor.user} requested access ${id} and cannot ${decision} it: another approver must decide`);
            if (r.state !== "pending") throw new PortalError(409, `access request ${id} is already ${r.state}`);
            const c = this.mustCustomer(r.customer);
            const raw = JSON.parse(c.config) as Record<string, unknown>;
            const at = this.iso();
            if (decision === "deny") {
                this.store.updateAccessRequest(id, { state: "denied", decided_by: actor.user, decided_at: at, updated_at: at });
                this.store.audit(at, actor.user, "access.denied", id, { customer: r.customer, engineer: r.engineer });
                return;
            }
            if (c.status === "destroying" || c.status === "destroyed") throw new PortalError(409, `customer ${c.id} is ${c.status}; access cannot be granted`);
            const access = (isObject(raw["byoc:access"]) ? raw["byoc:access"] : {}) as Record<string, unknown>;
            const approvers = Array.isArray(access.approvers) ? (access.approvers as string[]) : [];
            if (approvers.length > 0 && !approvers.some((a) => sameUser(a, actor.user))) {
                throw new PortalError(403, `${actor.user} is not a designated approver for ${c.id} (byoc:access.approvers: ${approvers.join(", ")})`);
            }
            const notAfter = new Date(this.now().getTime() + r.hours * 3600_000).toISOString();
            const grant: Grant = { id: r.id, engineer: r.engineer, csrPem: r.csr_pem, reason: r.reason, approvedBy: actor.user, notAfter };
            const next = { ...raw, "byoc:access": { ...access, grants: [...grantsOf(raw), grant] } };
            const check = parseStackConfig(next);
            if (!check.ok) throw new PortalError(400, `the grant does not fit the stack config of ${c.id}`, check.problems);
            this.store.updateCustomer(c.id, { config: JSON.stringify(next), updated_at: at });
            jobId = this.queue(actor.user, c.id, "up", `apply access grant ${id}`);
            this.store.updateAccessRequest(id, { state: "approved", decided_by: actor.user, decided_at: at, not_after: notAfter, job_id: jobId, updated_at: at });
            this.store.audit(at, actor.user, "access.approved", id, { customer: c.id, engineer: r.engineer, hours: r.hours, notAfter, job: jobId });
        });
        this.pump();
        return { request: this.getAccessRequest(id), job: jobId ? this.jobView(this.store.job(jobId)!) : undefined };
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
        });
        if (queued) this.pump();
        return expired;
    }

    // ------------------------------------------------------------------ audit

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
        return { id: r.id, stack: r.id, environment: r.environment, customerId: r.customer_id, name: r.name, status: r.status, createdBy: r.created_by, createdAt: r.created_at, updatedAt: r.updated_at, apiAccess };
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

/**
 * The CSR's subject CN via the TroubleshootingAccess component's reader, loaded lazily (it brings the provider
 * SDKs); null when that reader is unavailable, so the check is then left to the stack's own validation.
 */
function csrCommonName(pem: string): string | undefined | null {
    try {
        const mod = require("../components/TroubleshootingAccess") as { csrCommonName?: (pem: string) => string | undefined };
        return typeof mod.csrCommonName === "function" ? mod.csrCommonName(pem) : null;
    } catch {
        return null;
    }
}

const API_ACCESS: readonly ApiAccess[] = ["public", "bootstrap", "switchover", "tailnet", "break-glass"];

/** byoc:controlPlane → ApiAccess as stacks/schema.ts derives it, from raw values (SQLite gives JSON booleans as 1/0). */
function accessOf(privateEndpointOnly: unknown, phase: unknown, breakGlass: unknown): ApiAccess {
    if (privateEndpointOnly !== true && privateEndpointOnly !== 1) return "public";
    if (breakGlass === true || breakGlass === 1) return "break-glass";
    return phase === "switchover" || phase === "tailnet" ? phase : "bootstrap";
}

function accessOfRaw(raw: Record<string, unknown>): ApiAccess {
    const cp = isObject(raw["byoc:controlPlane"]) ? raw["byoc:controlPlane"] : {};
    return accessOf(cp.privateEndpointOnly, cp.phase, cp.breakGlass);
}

/** The stack output clusterApiAccess: the phase the last successful up applied (null before one, or unknown). */
function appliedAccess(v: unknown): ApiAccess | null {
    return API_ACCESS.includes(v as ApiAccess) ? (v as ApiAccess) : null;
}

function withControlPlane(raw: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
    const cp = isObject(raw["byoc:controlPlane"]) ? raw["byoc:controlPlane"] : {};
    return { ...raw, "byoc:controlPlane": { ...cp, ...patch } };
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

function grantsOf(raw: Record<string, unknown>): Grant[] {
    const access = raw["byoc:access"];
    return isObject(access) && Array.isArray(access.grants) ? (access.grants as Grant[]) : [];
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
