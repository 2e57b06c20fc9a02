// The offline engine: the offline preview's mock runtime behind the same interface as the real one. "up"
// records the resulting snapshot and outputs as the stack's state in `<stateDir>/<stack>.json`; "destroy"
// removes it. Mock runs are process-global, so every run here goes through one queue.
import * as fs from "fs";
import * as path from "path";
import { formatProblems } from "../stacks/schema";
import type { OfflineResult } from "../preview/offline";
import type { StackExport } from "../preview/snapshot";
import { Operation, OperationResult, PolicyViolation, RunContext, StackEngine } from "./types";

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
    /** Injected in tests; defaults to `preview/offline.ts`. */
    preview?: OfflinePreviewFn;
}

// One queue per process: the mock runtime cannot run two programs at once.
let queue: Promise<unknown> = Promise.resolve();
function serialized<T>(fn: () => Promise<T>): Promise<T> {
    const next = queue.then(fn, fn);
    queue = next.catch(() => undefined);
    return next;
}

export class OfflineEngine implements StackEngine {
    readonly kind = "offline" as const;

    constructor(readonly options: OfflineEngineOptions) {
        fs.mkdirSync(options.stateDir, { recursive: true });
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
        fs.writeFileSync(tmp, JSON.stringify(state));
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

        const preview = this.options.preview ?? (require("../preview/offline") as typeof import("../preview/offline")).offlinePreview;
        const now = ctx.now ?? new Date();
        ctx.log(`offline ${op} of stack ${stack} at ${now.toISOString()} (mock runtime + policy pack)`);
        const result = await serialized(() => preview(stack, raw, { now }));
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

    async outputs(stack: string): Promise<Record<string, unknown> | undefined> {
        return this.readState(stack)?.outputs;
    }
}
