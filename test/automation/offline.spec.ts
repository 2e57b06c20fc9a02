// The offline engine's worker pool: the real prod program runs in a worker thread and returns its outputs; two
// stacks run at the same time while the main event loop keeps ticking; a crashing worker fails only its job and
// is replaced; closing the engine (or the portal around it) leaves no thread behind.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { threadId as mainThreadId } from "worker_threads";
import { OfflineEngine, OperationResult, RunContext } from "../../automation";
import { defaultWorkerCount, WorkerRun } from "../../automation/offline";
import { startPortal } from "../../portal";
import { prodCustomerConfig as apiProdCustomerConfig, storedProdCustomerConfig as prodCustomerConfig, TOKENS, tokens } from "../portal/helpers";

const CRASHING_WORKER = path.join(__dirname, "crashingWorker.ts");
const NOW = new Date("2026-11-25T12:00:00Z");

function context(): RunContext & { lines: string[] } {
    const lines: string[] = [];
    return { lines, log: (line: string) => lines.push(line), now: NOW };
}

/** Largest gap between ticks of a 20 ms interval while `work` runs: how long the event loop was blocked. */
async function maxTickGap<T>(work: () => Promise<T>): Promise<{ value: T; gapMs: number }> {
    let last = performance.now();
    let gapMs = 0;
    const timer = setInterval(() => {
        const t = performance.now();
        gapMs = Math.max(gapMs, t - last);
        last = t;
    }, 20);
    try {
        const value = await work();
        gapMs = Math.max(gapMs, performance.now() - last);
        return { value, gapMs };
    } finally {
        clearInterval(timer);
    }
}

describe("automation/offline: the worker pool", function () {
    this.timeout(60_000);
    let dir: string;
    const engines: OfflineEngine[] = [];
    const engine = (opts: Partial<ConstructorParameters<typeof OfflineEngine>[0]> = {}) => {
        const e = new OfflineEngine({ stateDir: path.join(dir, "offline"), ...opts });
        engines.push(e);
        return e;
    };

    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-offline-"));
    });
    afterEach(async () => {
        await Promise.all(engines.splice(0).map((e) => e.close()));
        fs.rmSync(dir, { recursive: true, force: true });
    });

    it("sizes the pool as min(BYOC_MAX_PARALLEL, CPUs)", () => {
        const cpus = os.availableParallelism();
        assert.equal(defaultWorkerCount({}), Math.min(4, cpus));
        assert.equal(defaultWorkerCount({ BYOC_MAX_PARALLEL: "1" }), 1);
        assert.equal(defaultWorkerCount({ BYOC_MAX_PARALLEL: "64" }), cpus);
        assert.equal(defaultWorkerCount({ BYOC_MAX_PARALLEL: "nonsense" }), Math.min(4, cpus));
    });

    it("runs the real prod program in a worker thread and records its outputs and snapshot", async () => {
        const runs: WorkerRun[] = [];
        const e = engine({ workers: 1, onWorkerRun: (r) => runs.push(r) });
        const ctx = context();
        const result = await e.run("up", "acme-prod", prodCustomerConfig("acme-prod"), ctx);
        assert.equal(result.outcome, "succeeded", ctx.lines.join("\n"));
        assert.ok((result.resourceCount ?? 0) > 100, `resourceCount ${result.resourceCount}`);
        assert.deepEqual(result.changes, { create: result.resourceCount });
        assert.deepEqual((result.violations ?? []).filter((v) => v.enforcementLevel === "mandatory"), []);
        assert.match(String(result.outputs?.vpcId), /^vpc-/);
        assert.ok(Array.isArray(result.outputs?.networkFlows) && (result.outputs!.networkFlows as unknown[]).length > 0);

        assert.equal(runs.length, 1);
        assert.notEqual(runs[0].threadId, mainThreadId, "the program ran on the main thread");
        assert.ok(ctx.lines.some((l) => l.includes(`program ran in worker thread ${runs[0].threadId}`)), ctx.lines.join("\n"));
        const state = e.readState("acme-prod")!;
        assert.equal(state.snapshot.version, 3);
        assert.equal(state.snapshot.deployment.resources.length, result.resourceCount);
        assert.deepEqual(await e.outputs("acme-prod"), result.outputs);

        // Invalid config answers from the worker too, with the schema's problems.
        const bad = await e.run("preview", "acme-prod", { ...prodCustomerConfig("acme-prod"), "byoc:environment": "staging" }, context());
        assert.equal(bad.outcome, "invalid");
        assert.ok((bad.problems ?? []).some((p) => p.path === "byoc:environment"), JSON.stringify(bad.problems));
    });

    it("runs two stacks at the same time while the main event loop keeps ticking", async () => {
        const runs: WorkerRun[] = [];
        const e = engine({ workers: 2, onWorkerRun: (r) => runs.push(r) });
        // Warm both workers (module loading is the worker's cost, but it would blur the overlap measurement).
        await Promise.all(["warm-a", "warm-b"].map((s) => e.run("preview", s, prodCustomerConfig(s), context())));
        assert.equal(e.pool.workers, 2);
        runs.length = 0;

        const { value: results, gapMs } = await maxTickGap(() =>
            Promise.all(["acme-one", "acme-two"].map((s) => e.run("up", s, prodCustomerConfig(s), context()))),
        );
        assert.deepEqual(results.map((r: OperationResult) => r.outcome), ["succeeded", "succeeded"]);
        assert.equal(runs.length, 2);
        const [a, b] = runs;
        assert.notEqual(a.threadId, b.threadId);
        assert.ok(a.startedAt < b.finishedAt && b.startedAt < a.finishedAt, `runs did not overlap: ${JSON.stringify(runs)}`);
        assert.equal(e.pool.peakBusy, 2);
        assert.ok(gapMs < 250, `the event loop stalled for ${gapMs.toFixed(0)} ms during the runs`);
    });

    it("fails the job of a worker that throws or exits, replaces the worker, and runs the next job", async () => {
        const runs: WorkerRun[] = [];
        const e = engine({ workers: 1, workerModule: CRASHING_WORKER, onWorkerRun: (r) => runs.push(r) });

        const thrown = context();
        const r1 = await e.run("up", "crash-throw", prodCustomerConfig("crash-throw"), thrown);
        assert.equal(r1.outcome, "failed");
        assert.match(r1.message, /^up of crash-throw failed: offline worker thread \d+ crashed with an uncaught Error: boom from the program while running stack crash-throw; the job failed and the worker is replaced$/);
        assert.ok(thrown.lines.some((l) => l.startsWith("failed: offline worker thread")), thrown.lines.join("\n"));
        assert.equal(e.pool.workers, 0);
        assert.equal(e.readState("crash-throw"), undefined, "a crashed up must not record state");

        const exited = await e.run("preview", "crash-exit", prodCustomerConfig("crash-exit"), context());
        assert.equal(exited.outcome, "failed");
        assert.match(exited.message, /offline worker thread \d+ exited unexpectedly with code 3 while running stack crash-exit/);

        const ok = await e.run("up", "acme-after", prodCustomerConfig("acme-after"), context());
        assert.equal(ok.outcome, "succeeded", ok.message);
        assert.equal(e.pool.workers, 1);
        assert.equal(runs.length, 1);
    });

    it("close() terminates the workers and fails a job still running", async () => {
        const e = engine({ workers: 1 });
        const running = e.run("up", "acme-closing", prodCustomerConfig("acme-closing"), context());
        const queued = e.run("up", "acme-waiting", prodCustomerConfig("acme-waiting"), context());
        await new Promise((r) => setTimeout(r, 200)); // the first is in its worker, the second waits for it
        await e.close();
        assert.equal(e.pool.workers, 0);
        const [r1, r2] = await Promise.all([running, queued]);
        assert.equal(r1.outcome, "failed");
        assert.match(r1.message, /the offline engine was closed while stack acme-closing ran in worker thread \d+/);
        assert.equal(r2.outcome, "failed");
        assert.match(r2.message, /the offline engine was closed before stack acme-waiting ran/);
        assert.equal(e.readState("acme-closing"), undefined);
    });

    it("closing the portal terminates the offline engine's workers", async () => {
        const e = engine({ workers: 1 });
        const running = await startPortal({ dbFile: path.join(dir, "portal.db"), engine: e, tokens, sweepIntervalMs: 0 });
        try {
            const res = await fetch(`${running.url}/api/customers`, {
                method: "POST",
                headers: { authorization: `Bearer ${TOKENS.operator}`, "content-type": "application/json" },
                body: JSON.stringify({ stack: "acme-portal", config: apiProdCustomerConfig("acme-portal") }),
            });
            assert.equal(res.status, 202, await res.clone().text());
            const { job } = (await res.json()) as { job: { id: string } };
            await running.portal.idle();
            assert.equal(running.portal.getJob(job.id).state, "succeeded", running.portal.getJob(job.id).log);
            assert.equal(e.pool.workers, 1);
        } finally {
            await running.close();
        }
        assert.equal(e.pool.workers, 0);
    });
});
