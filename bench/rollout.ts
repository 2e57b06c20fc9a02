// Rollout benchmark: 500 customers (seeded in the database), one rollout of `up`s in 5 waves with maxParallel 8 on
// the offline engine (the real program under the mock runtime, in worker threads), through the HTTP API. Checks
// that waves are strictly ordered (every up of wave k+1 starts after every up of wave k finished) and never more
// than maxParallel run at once; then a second rollout with one failing customer in wave 2 (injected by a wrapper
// in this file only — nothing ships) must halt with waves 3–5 untouched. Prints the total time and the API's
// latency (GET /api/rollouts/:id and a customer page, every 20 ms) while it runs. Goal: API p99 < 50 ms.
// Run: node --require ./cli/register.js bench/rollout.ts   (BENCH_CUSTOMERS=500, BENCH_STAND_IN=1 for a fast stand-in program)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../automation";
import { startPortal, tokenTable } from "../portal";
import { pct } from "./measure";
import { readStackFile } from "../stacks/loader";

const ROOT = path.resolve(__dirname, "..");
const TOKEN = "bench-operator-token-0123456789";
const tokens = tokenTable({ [TOKEN]: { user: "operator@example.com", roles: ["operator"] } });
const N = Number(process.env.BENCH_CUSTOMERS ?? 500);

class Timed implements StackEngine {
    readonly kind = "offline" as const;
    readonly spans = new Map<string, { start: number; end?: number }[]>();
    active = 0;
    peak = 0;
    fail = new Set<string>();
    constructor(readonly inner: OfflineEngine) {}
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext) {
        return this.inner.configure(stack, raw, ctx);
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const span: { start: number; end?: number } = { start: performance.now() };
        this.spans.set(stack, [...(this.spans.get(stack) ?? []), span]);
        this.peak = Math.max(this.peak, ++this.active);
        try {
            if (op === "up" && this.fail.has(stack)) return { outcome: "failed", message: "injected failure (bench only)" };
            return await this.inner.run(op, stack, raw, ctx);
        } finally {
            this.active--;
            span.end = performance.now();
        }
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
    close() {
        return this.inner.close();
    }
}

async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bench-rollout-"));
    const standIn = process.env.BENCH_STAND_IN === "1" ? (require("../test/portal/helpers") as { quickPreview: never }).quickPreview : undefined;
    const engine = new Timed(new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: standIn }));
    const running = await startPortal({ dbFile: path.join(dir, "portal.db"), engine, tokens, sweepIntervalMs: 0, maxParallel: 16 });
    const store = running.portal.store;
    const at = new Date().toISOString();
    const base = readStackFile("dev", ROOT).raw;
    const ids: string[] = [];
    store.tx(() => {
        for (let i = 0; i < N; i++) {
            const id = `cust-${String(i).padStart(4, "0")}`;
            ids.push(id);
            const config = JSON.stringify({ ...base, "byoc:customer": { id, name: `Customer ${i}` } });
            store.insertCustomer({ id, environment: "dev", customer_id: id, name: `Customer ${i}`, config, status: "deployed", outputs: JSON.stringify({}), created_by: "bench", created_at: at, updated_at: at });
        }
    });
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    const sizes = [N / 50, N / 10, N / 5, N / 4].map(Math.floor);
    const waves = [...sizes, N - sizes.reduce((a, b) => a + b, 0)];
    const byWave = (w: number) => ids.slice(waves.slice(0, w).reduce((a, b) => a + b, 0), waves.slice(0, w + 1).reduce((a, b) => a + b, 0));

    async function rollout(label: string): Promise<any> {
        engine.spans.clear();
        engine.peak = 0;
        const t0 = performance.now();
        const post = await fetch(`${running.url}/api/rollouts`, { method: "POST", headers, body: JSON.stringify({ selector: { environment: "dev" }, waves, maxParallel: 8, haltOnFailure: true, reason: `bench ${label}` }) });
        if (post.status !== 202) throw new Error(`POST /api/rollouts: ${post.status} ${await post.text()}`);
        const id = ((await post.json()) as any).rollout.id;
        const lat: number[] = [];
        let r: any;
        for (;;) {
            let t = performance.now();
            r = ((await (await fetch(`${running.url}/api/rollouts/${id}`, { headers })).json()) as any).rollout;
            lat.push(performance.now() - t);
            t = performance.now();
            await (await fetch(`${running.url}/api/customers?limit=50`, { headers })).json();
            lat.push(performance.now() - t);
            if (["succeeded", "halted", "failed"].includes(r.state)) break;
            await new Promise((res) => setTimeout(res, 20));
        }
        const total = performance.now() - t0;
        lat.sort((a, b) => a - b);
        // Strict order: every start of wave k+1 after the last end of wave k.
        let ordered = true;
        for (let w = 0; w + 1 < waves.length; w++) {
            const ends = byWave(w).flatMap((c) => (engine.spans.get(c) ?? []).map((s) => s.end ?? Infinity));
            const starts = byWave(w + 1).flatMap((c) => (engine.spans.get(c) ?? []).map((s) => s.start));
            if (ends.length > 0 && starts.length > 0 && Math.min(...starts) < Math.max(...ends)) ordered = false;
        }
        const ran = [...engine.spans.keys()].length;
        console.log(`${label}: ${r.state} in ${(total / 1000).toFixed(1)} s; waves ${waves.join("/")} → ${r.waves.map((w: any) => w.state).join(", ")}; ${ran} ups ran, at most ${engine.peak} at once (maxParallel 8); waves strictly ordered: ${ordered ? "yes" : "NO"}`);
        console.log(`  API while it ran (${lat.length} requests): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms, max ${lat[lat.length - 1].toFixed(1)} ms ${pct(lat, 99) < 50 ? "(meets the 50 ms goal)" : "(MISSES the 50 ms goal)"}`);
        if (!ordered || engine.peak > 8) process.exitCode = 1;
        return r;
    }

    const ok = await rollout(`rollout of ${N} customers`);
    if (ok.state !== "succeeded") process.exitCode = 1;
    const victim = byWave(1)[0];
    engine.fail.add(victim);
    const halted = await rollout(`rollout with ${victim} failing (wave 2)`);
    const untouched = [2, 3, 4].every((w) => byWave(w).every((c) => !engine.spans.has(c)));
    console.log(`  halt on failure: ${halted.state}, ${halted.haltReason}; waves 3–5 untouched: ${untouched ? "yes" : "NO"}`);
    if (halted.state !== "halted" || !untouched) process.exitCode = 1;
    await running.close();
    fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
