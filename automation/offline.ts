// The offline engine: the offline preview's mock runtime behind the same interface as the real one. "up"
// records the resulting snapshot and outputs as the stack's state in `<stateDir>/<stack>.json`; "destroy"
// removes it. A program run is 1–1.5 s of CPU, so runs happen in a pool of worker threads (each with its own
// module instance, hence its own process-global mocks, one run at a time): the portal's event loop stays free
// and different stacks really run in parallel. The per-stack/overall bound stays with the caller's limiter.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Worker } from "worker_threads";
import { formatProblems } from "../stacks/schema";
import type { OfflineResult } from "../preview/offline";
import type { StackExport } from "../preview/snapshot";
import type { WorkerReply, WorkerRequest, WorkerResult } from "./offlineWorker";
import { canonicalJson, DriftChange, Operation, OperationResult, PolicyViolation, RunContext, StackEngine } from "./types";

export interface OfflineState {
    stack: string;
    updatedAt: string;
    config: Record<string, unknown>;
    outputs: Record<string, unknown>;
    resourceCount: number;
    snapshot: StackExport;
}

export type OfflinePreviewFn = (stack: string, raw: Record<string, unknown>, opts?: { now?: Date }) => Promise<OfflineResult>;

export interface OfflineEngineOptions {
    /** Where stack states are written, e.g. `<repo>/.byoc/offline`. */
    stateDir: string;
    /** Injected in tests: runs in this process (serialized) instead of the worker pool. */
    preview?: OfflinePreviewFn;
    /** Worker threads; default min(BYOC_MAX_PARALLEL or 4, os.availableParallelism()). */
    workers?: number;
    /** Absolute path of the module whose `serve(port)` answers in each worker; default ./offlineWorker.ts (tests wrap it). */
    workerModule?: string;
    /** Called after each program run in a worker, with the worker's own clock (tests check runs overlap). */
    onWorkerRun?: (run: WorkerRun) => void;
}

export interface WorkerRun {
    stack: string;
    threadId: number;
    /** Date.now() in the worker when the run started and finished. */
    startedAt: number;
    finishedAt: number;
}

/** The default pool size: as many workers as the portal runs jobs at once, but no more than there are CPUs. */
export function defaultWorkerCount(env: NodeJS.ProcessEnv = process.env): number {
    const limit = Math.floor(Number(env.BYOC_MAX_PARALLEL || 4));
    return Math.max(1, Math.min(Number.isFinite(limit) && limit > 0 ? limit : 4, os.availableParallelism()));
}

const REGISTER = path.resolve(__dirname, "..", "cli", "register.js");
const WORKER_MODULE = path.join(__dirname, "offlineWorker.ts");
// The worker's entry: install the project's TypeScript loader, then serve requests with the chosen module.
const BOOTSTRAP = `
const { parentPort, workerData } = require("worker_threads");
require(workerData.register);
require(workerData.module).serve(parentPort);
`;

interface Pending {
    req: WorkerRequest;
    resolve(reply: WorkerReply): void;
    reject(err: Error): void;
}

interface Slot {
    worker: Worker;
    threadId: number;
    job?: Pending;
    closing?: boolean;
}

/**
 * A fixed-size pool of offline workers, spawned on demand. One request per worker at a time; requests beyond the
 * pool's size wait in order. A worker that dies (uncaught error, exit, out of memory) fails the request it held
 * and leaves the pool, and so does one whose program failed part-way; the next request spawns a replacement. Idle workers are unref'd so they never keep a
 * process alive on their own; `close()` terminates them.
 */
export class OfflineWorkerPool {
    private readonly slots = new Set<Slot>();
    private readonly idle: Slot[] = [];
    private readonly waiting: Pending[] = [];
    private nextId = 1;
    /** The most workers that were busy at once (a concurrency probe for tests and the benchmark). */
    peakBusy = 0;

    constructor(
        readonly size: number,
        readonly module: string = WORKER_MODULE,
    ) {
        if (!Number.isInteger(size) || size < 1) throw new Error(`offline worker pool size must be a positive integer, got ${size}`);
    }

    get workers(): number {
        return this.slots.size;
    }

    run(stack: string, raw: Record<string, unknown>, now: Date): Promise<WorkerReply> {
        return new Promise((resolve, reject) => {
            this.waiting.push({ req: { id: this.nextId++, stack, raw, now }, resolve, reject });
            this.dispatch();
        });
    }

    private dispatch(): void {
        while (this.waiting.length > 0) {
            const slot = this.idle.pop() ?? (this.slots.size < this.size ? this.spawn() : undefined);
            if (!slot) return;
            const job = this.waiting.shift()!;
            slot.job = job;
            slot.worker.ref(); // a running job keeps the process alive, like any pending I/O
            try {
                slot.worker.postMessage(job.req);
            } catch (err) {
                // The config itself cannot be cloned (it came from JSON, so this is a caller's bug): fail only this job.
                slot.job = undefined;
                this.release(slot);
                job.reject(new Error(`stack ${job.req.stack}: its config cannot be sent to an offline worker: ${(err as Error).message}`));
                continue;
            }
            const busy = [...this.slots].filter((s) => s.job).length;
            this.peakBusy = Math.max(this.peakBusy, busy);
        }
    }

    private release(slot: Slot): void {
        slot.worker.unref();
        this.idle.push(slot);
    }

    private spawn(): Slot {
        const worker = new Worker(BOOTSTRAP, { eval: true, workerData: { register: REGISTER, module: this.module }, execArgv: [] });
        const slot: Slot = { worker, threadId: worker.threadId };
        this.slots.add(slot);
        worker.unref();
        worker.on("message", (reply: WorkerReply) => {
            const job = slot.job;
            if (!job || reply.id !== job.req.id) return;
            slot.job = undefined;
            if (reply.retire) this.retire(slot);
            else this.release(slot);
            job.resolve(reply);
            this.dispatch();
        });
        worker.on("error", (err) => this.lost(slot, `crashed with an uncaught ${err?.name ?? "error"}: ${err?.message ?? String(err)}`));
        worker.on("exit", (code) => this.lost(slot, `exited unexpectedly with code ${code}`));
        return slot;
    }

    /** Ends a worker whose program failed part-way (see WorkerReply.retire); the next request spawns a fresh one. */
    private retire(slot: Slot): void {
        this.slots.delete(slot); // its "exit" event then finds nothing to fail
        void slot.worker.terminate();
    }

    /** A worker is gone: fail the job it held, forget it; waiting jobs get a fresh worker. */
    private lost(slot: Slot, why: string): void {
        if (!this.slots.delete(slot)) return; // "error" is followed by "exit": handle the first only
        const at = this.idle.indexOf(slot);
        if (at >= 0) this.idle.splice(at, 1);
        const job = slot.job;
        slot.job = undefined;
        if (!slot.closing) void slot.worker.terminate(); // after "error" the thread may still be winding down
        if (job) {
            job.reject(
                new Error(
                    slot.closing
                        ? `the offline engine was closed while stack ${job.req.stack} ran in worker thread ${slot.threadId}`
                        : `offline worker thread ${slot.threadId} ${why} while running stack ${job.req.stack}; the job failed and the worker is replaced`,
                ),
            );
        }
        this.dispatch();
    }

    /** Terminates every worker and fails waiting jobs. The pool can be used again afterwards (it spawns anew). */
    async close(): Promise<void> {
        for (const job of this.waiting.splice(0)) job.reject(new Error(`the offline engine was closed before stack ${job.req.stack} ran`));
        const slots = [...this.slots];
        for (const slot of slots) slot.closing = true;
        await Promise.all(slots.map((slot) => slot.worker.terminate()));
    }
}

// Injected previews run in this process, where the mock runtime cannot run two programs at once: one queue.
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
}

export class OfflineEngine implements StackEngine {
    readonly kind = "offline" as const;
    private workerPool?: OfflineWorkerPool;

    constructor(readonly options: OfflineEngineOptions) {
        // Owner-only: the recorded states hold every output, secrets included.
        fs.mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
        fs.chmodSync(options.stateDir, 0o700);
        for (const f of fs.readdirSync(options.stateDir)) if (f.endsWith(".json")) fs.chmodSync(path.join(options.stateDir, f), 0o600); // states written before
    }

    /** The worker pool, created on first use (an engine that only reads state never starts threads). */
    get pool(): OfflineWorkerPool {
        return (this.workerPool ??= new OfflineWorkerPool(this.options.workers ?? defaultWorkerCount(), this.options.workerModule));
    }

    /** Terminates the worker threads (the portal calls this when it closes). */
    async close(): Promise<void> {
        await this.workerPool?.close();
    }

    /** One program run: in the worker pool, or in this process when a preview function was injected. */
    private async program(stack: string, raw: Record<string, unknown>, now: Date, ctx: RunContext): Promise<WorkerResult> {
        const preview = this.options.preview;
        if (preview) return serialized(() => preview(stack, raw, { now }));
        const reply = await this.pool.run(stack, raw, now);
        const run: WorkerRun = { stack, threadId: reply.threadId, startedAt: reply.startedAt, finishedAt: reply.finishedAt };
        ctx.log(`offline: program ran in worker thread ${run.threadId} (${run.finishedAt - run.startedAt} ms)`);
        this.options.onWorkerRun?.(run);
        if (!reply.ok) throw new Error(reply.error);
        return reply.result;
    }

    private file(stack: string): string {
        if (!/^[A-Za-z0-9._-]+$/.test(stack)) throw new Error(`stack name "${stack}" cannot be used as a file name`);
        return path.join(this.options.stateDir, `${stack}.json`);
    }

    readState(stack: string): OfflineState | undefined {
        try {
            return JSON.parse(fs.readFileSync(this.file(stack), "utf8")) as OfflineState;
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
            throw err;
        }
    }

    private writeState(state: OfflineState): void {
        const file = this.file(state.stack);
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, JSON.stringify(state), { mode: 0o600 });
        fs.renameSync(tmp, file); // atomic: a reader sees the old state or the new one, never half
    }

    async configure(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        // Config travels with every run here; nothing to store until an "up" records it with the state.
        ctx.log(`config: ${Object.keys(raw).length} keys for stack ${stack} (offline engine keeps them with the recorded state)`);
        return { outcome: "succeeded", message: `stack ${stack} configured` };
    }

    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        if (op === "destroy") {
            const state = this.readState(stack);
            if (!state) {
                ctx.log(`offline: stack ${stack} has no recorded state; nothing to destroy`);
                return { outcome: "succeeded", message: `stack ${stack} had nothing to destroy`, outputs: {}, resourceCount: 0 };
            }
            fs.rmSync(this.file(stack), { force: true });
            ctx.log(`offline: deleted ${state.resourceCount} resources of stack ${stack} (removed ${this.file(stack)})`);
            return { outcome: "succeeded", message: `destroy of ${stack} finished`, outputs: {}, resourceCount: 0, changes: { delete: state.resourceCount } };
        }
        if (op === "refresh") {
            const state = this.readState(stack);
            if (!state) return { outcome: "not-found", message: `stack ${stack} has no recorded state: run "up" first` };
            ctx.log(`offline: refresh reads the recorded state of ${stack}; nothing drifts without a cloud`);
            return { outcome: "succeeded", message: `refresh of ${stack} finished`, outputs: state.outputs, resourceCount: state.resourceCount };
        }

        const now = ctx.now ?? new Date();
        ctx.log(`offline ${op} of stack ${stack} at ${now.toISOString()} (mock runtime + policy pack)`);
        let result: WorkerResult;
        try {
            result = await this.program(stack, raw, now, ctx);
        } catch (err) {
            const why = (err as Error).message ?? String(err);
            ctx.log(`failed: ${why}`);
            return { outcome: "failed", message: `${op} of ${stack} failed: ${why}` };
        }
        const violations: PolicyViolation[] = (result.policy?.violations ?? []).map((v) => ({ policy: v.policy, enforcementLevel: v.enforcementLevel, urn: v.urn, message: v.message }));
        for (const v of violations) ctx.log(`policy ${v.enforcementLevel} ${v.policy}: ${v.message}${v.urn ? ` (${v.urn})` : ""}`);

        if (result.exitCode === 2) {
            ctx.log(`invalid config (${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.problems)}`);
            return { outcome: "invalid", message: `config of stack ${stack} is invalid: ${result.problems.length} problem(s)`, problems: result.problems };
        }
        if (result.exitCode === 1) {
            const why = result.error ?? `${result.policy?.mandatoryCount ?? 0} mandatory policy violation(s)`;
            ctx.log(`failed: ${why}`);
            return { outcome: "failed", message: `${op} of ${stack} failed: ${why}`, violations, resourceCount: result.resourceCount };
        }
        ctx.log(`${result.resourceCount} resources; ${violations.length} advisory policy finding(s)`);
        const outputs = (result.outputs ?? {}) as Record<string, unknown>;
        if (op === "up") {
            const before = this.readState(stack);
            this.writeState({ stack, updatedAt: now.toISOString(), config: raw, outputs, resourceCount: result.resourceCount, snapshot: result.snapshot! });
            ctx.log(`offline: recorded the state of ${stack} in ${this.file(stack)}`);
            const changes: Record<string, number> = before ? { same: result.resourceCount } : { create: result.resourceCount };
            return { outcome: "succeeded", message: `update of ${stack} finished`, violations, outputs, resourceCount: result.resourceCount, changes };
        }
        return { outcome: "succeeded", message: `preview of ${stack} finished`, violations, resourceCount: result.resourceCount };
    }

    /**
     * The offline drift check: the program runs again with the stack's config and the clock, and its outputs are
     * compared with the outputs the last `up` recorded; an output that changed, appeared or disappeared is drift.
     * The recorded state is never written.
     */
    async drift(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const state = this.readState(stack);
        if (!state) return { outcome: "not-found", message: `stack ${stack} has no recorded state: run "up" first` };
        const now = ctx.now ?? new Date();
        ctx.log(`offline drift check of stack ${stack} at ${now.toISOString()}: re-running the program, comparing its outputs with the recorded ones`);
        let result: WorkerResult;
        try {
            result = await this.program(stack, raw, now, ctx);
        } catch (err) {
            const why = (err as Error).message ?? String(err);
            ctx.log(`failed: ${why}`);
            return { outcome: "failed", message: `drift check of ${stack} failed: ${why}` };
        }
        // Mandatory policy findings (exit 1 without an error) do not stop a drift check: the outputs are there.
        if (result.exitCode === 2 || (result.exitCode === 1 && (result.error !== undefined || !result.outputs))) {
            const why = result.exitCode === 2 ? `the config is invalid (${result.problems.length} problem(s))` : (result.error ?? "the program failed");
            ctx.log(`failed: ${why}`);
            return { outcome: result.exitCode === 2 ? "invalid" : "failed", message: `drift check of ${stack} failed: ${why}`, problems: result.exitCode === 2 ? result.problems : undefined };
        }
        const changes = diffOutputs(state.outputs ?? {}, (result.outputs ?? {}) as Record<string, unknown>);
        for (const c of changes) ctx.log(`drift: ${c.subject} ${c.op}`);
        const drifted = changes.length > 0;
        return { outcome: "succeeded", message: drifted ? `drift check of ${stack}: ${changes.length} output(s) differ from the recorded state` : `drift check of ${stack}: no drift`, resourceCount: result.resourceCount, drift: { drifted, changes } };
    }

    async outputs(stack: string): Promise<Record<string, unknown> | undefined> {
        return this.readState(stack)?.outputs;
    }
}

/** Outputs that changed, appeared or disappeared between the recorded state and a new run (compared as data). */
export function diffOutputs(recorded: Record<string, unknown>, current: Record<string, unknown>): DriftChange[] {
    const changes: DriftChange[] = [];
    for (const k of [...new Set([...Object.keys(recorded), ...Object.keys(current)])].sort()) {
        if (!(k in current)) changes.push({ subject: `output:${k}`, op: "removed", recorded: recorded[k] });
        else if (!(k in recorded)) changes.push({ subject: `output:${k}`, op: "added", current: current[k] });
        else if (canonicalJson(recorded[k]) !== canonicalJson(current[k])) changes.push({ subject: `output:${k}`, op: "changed", recorded: recorded[k], current: current[k] });
    }
    return changes;
}
