// The offline engine's worker thread: runs `offlinePreview` (the program under the mock runtime + the policy
// pack) off the portal's event loop. Mocks are process-global per module instance, so a worker runs one program
// at a time; the pool in automation/offline.ts never sends a second request before the first is answered.
// The pool's worker bootstrap installs cli/register.js, requires this module and calls `serve(parentPort)`.
import { MessagePort, threadId } from "worker_threads";
import type { OfflineResult } from "../preview/offline";

export interface WorkerRequest {
    id: number;
    stack: string;
    raw: Record<string, unknown>;
    now: Date;
}

/** What crosses back: the OfflineResult without `run` (the snapshot holds the same resources, as plain data). */
export type WorkerResult = Omit<OfflineResult, "run">;

interface ReplyBase {
    id: number;
    threadId: number;
    /** Date.now() in this worker when the run started and finished. */
    startedAt: number;
    finishedAt: number;
    /**
     * The program failed part-way: its abandoned promises may still reject later and would be blamed on the next
     * run, so the pool retires this worker instead of reusing it.
     */
    retire: boolean;
}

export type WorkerReply = (ReplyBase & { ok: true; result: WorkerResult }) | (ReplyBase & { ok: false; error: string });

export type RunFn = (req: WorkerRequest) => Promise<WorkerResult>;

/** The real work: one program run, `run` dropped (it duplicates the snapshot and is the bulk of the clone). */
export const runRequest: RunFn = async (req) => {
    const { offlinePreview }: typeof import("../preview/offline") = require("../preview/offline");
    const { run: _run, ...rest } = await offlinePreview(req.stack, req.raw, { now: req.now });
    return rest;
};

/** Answers requests on `port` with `run`; a test's worker module can call it with a wrapped `run` (e.g. to crash). */
export function serve(port: MessagePort, run: RunFn = runRequest): void {
    port.on("message", async (req: WorkerRequest) => {
        const startedAt = Date.now();
        let reply: WorkerReply;
        try {
            const result = await run(req);
            reply = { id: req.id, ok: true, result, threadId, startedAt, finishedAt: Date.now(), retire: result.error !== undefined };
        } catch (err) {
            reply = { id: req.id, ok: false, error: (err as Error)?.message ?? String(err), threadId, startedAt, finishedAt: Date.now(), retire: true };
        }
        try {
            port.postMessage(reply);
        } catch (err) {
            // Something in the result is not structured-cloneable (a function, a class with private state): the
            // portal stores results as JSON anyway, so send the JSON form rather than failing the run.
            if (!reply.ok || (err as Error).name !== "DataCloneError") throw err;
            port.postMessage({ ...reply, result: JSON.parse(JSON.stringify(reply.result)) });
        }
    });
}
