// Portal benchmark: requests/s and latency percentiles of GET /api/customers with 1,000 customers (seeded in
// the database directly), and the time to queue and to finish 50 offline `up` jobs through the HTTP API (the
// offline engine runs them in worker threads: min(BYOC_MAX_PARALLEL, CPUs)), with a reader's latency meanwhile.
// Run: node --require ./cli/register.js bench/portal.ts   (BENCH_REQUESTS, BENCH_CONCURRENCY, BENCH_JOBS to vary)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OfflineEngine } from "../automation";
import { startPortal, tokenTable } from "../portal";
import { readStackFile } from "../stacks/loader";

const ROOT = path.resolve(__dirname, "..");
const TOKEN = "bench-operator-token-0123456789";
const tokens = tokenTable({ [TOKEN]: { user: "operator@example.com", roles: ["operator"] } });
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

function config(stack: string, env: "dev" | "prod"): Record<string, unknown> {
    return { ...readStackFile(env, ROOT).raw, "byoc:customer": { id: stack, name: `Customer ${stack}` } };
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];

async function listBench(dir: string): Promise<void> {
    const dbFile = path.join(dir, "list.db");
    const running = await startPortal({ dbFile, engine: new OfflineEngine({ stateDir: path.join(dir, "offline-list") }), tokens, sweepIntervalMs: 0 });
    const store = running.portal.store;
    const at = new Date().toISOString();
    const seedStart = performance.now();
    store.tx(() => {
        for (let i = 0; i < 1000; i++) {
            const id = `cust-${String(i).padStart(4, "0")}`;
            const raw = config(id, i % 4 === 0 ? "prod" : "dev");
            store.insertCustomer({ id, environment: String(raw["byoc:environment"]), customer_id: id, name: `Customer ${id}`, config: JSON.stringify(raw), status: "deployed", outputs: JSON.stringify({ vpcId: `vpc-${i}` }), created_by: "bench", created_at: at, updated_at: at });
            store.insertJob({ id: `job-${i}`, customer: id, kind: "up", requested_by: "bench", reason: "seed", rerun_of: null, created_at: at });
            store.updateJob(`job-${i}`, { state: "succeeded", finished_at: at });
        }
    });
    const seedMs = performance.now() - seedStart;
    const url = `${running.url}/api/customers`;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const first = (await (await fetch(url, { headers })).json()) as { customers: unknown[] };
    if (first.customers.length !== 1000) throw new Error(`expected 1000 customers, got ${first.customers.length}`);
    const bytes = Buffer.byteLength(JSON.stringify(first));

    const total = num("BENCH_REQUESTS", 2000);
    const concurrency = num("BENCH_CONCURRENCY", 16);
    for (let i = 0; i < 50; i++) await (await fetch(url, { headers })).arrayBuffer(); // warm-up
    const latencies: number[] = [];
    let next = 0;
    const start = performance.now();
    await Promise.all(
        Array.from({ length: concurrency }, async () => {
            while (next < total) {
                next++;
                const t = performance.now();
                const res = await fetch(url, { headers });
                await res.arrayBuffer();
                if (res.status !== 200) throw new Error(`GET /api/customers: ${res.status}`);
                latencies.push(performance.now() - t);
            }
        }),
    );
    const seconds = (performance.now() - start) / 1000;
    latencies.sort((a, b) => a - b);
    console.log(`GET /api/customers, 1,000 customers (${(bytes / 1024).toFixed(0)} KiB per response), ${total} requests, ${concurrency} concurrent (client and server in one process):`);
    console.log(`  ${(total / seconds).toFixed(0)} requests/s; latency p50 ${pct(latencies, 50).toFixed(1)} ms, p99 ${pct(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1].toFixed(1)} ms`);
    console.log(`  seeding 1,000 customers + jobs in one transaction: ${seedMs.toFixed(0)} ms`);
    await running.close();
}

async function jobsBench(dir: string): Promise<void> {
    const jobs = num("BENCH_JOBS", 50);
    const engine = new OfflineEngine({ stateDir: path.join(dir, "offline-jobs") });
    const running = await startPortal({ dbFile: path.join(dir, "jobs.db"), engine, tokens, sweepIntervalMs: 0, maxParallel: 4 });
    const headers = { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" };
    // A client reading a customer every 50 ms while the jobs run: how responsive the API stays under load.
    const probe: number[] = [];
    let probing = true;
    const prober = (async () => {
        while (probing) {
            const t = performance.now();
            await (await fetch(`${running.url}/api/customers/bench-0`, { headers })).arrayBuffer();
            probe.push(performance.now() - t);
            await new Promise((r) => setTimeout(r, 50));
        }
    })();
    const start = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < jobs; i++) {
        const stack = `bench-${i}`;
        // prod: the program is policy-clean there; every job runs the whole program and the policy pack.
        const res = await fetch(`${running.url}/api/customers`, { method: "POST", headers, body: JSON.stringify({ stack, config: config(stack, "prod") }) });
        if (res.status !== 202) throw new Error(`POST /api/customers ${stack}: ${res.status} ${await res.text()}`);
        ids.push(((await res.json()) as { job: { id: string } }).job.id);
    }
    const queuedMs = performance.now() - start;
    await running.portal.idle();
    const finishedMs = performance.now() - start;
    probing = false;
    await prober;
    const states = ids.map((id) => running.portal.getJob(id).state);
    const ok = states.filter((s) => s === "succeeded").length;
    const resources = running.portal.getJob(ids[0]).resourceCount;
    probe.sort((a, b) => a - b);
    console.log(`${jobs} offline up jobs (prod stacks, ${resources} resources each, mock runtime + policy pack; ${engine.pool.size} worker threads, ${engine.pool.peakBusy} busy at peak, portal limit 4):`);
    console.log(`  queued in ${queuedMs.toFixed(0)} ms (${(queuedMs / jobs).toFixed(1)} ms per POST); all finished after ${(finishedMs / 1000).toFixed(1)} s (${(finishedMs / jobs).toFixed(0)} ms per job); ${ok}/${jobs} succeeded`);
    console.log(`  GET /api/customers/:id meanwhile (every 50 ms, ${probe.length} requests): p50 ${pct(probe, 50).toFixed(1)} ms, p99 ${pct(probe, 99).toFixed(1)} ms, max ${probe[probe.length - 1].toFixed(1)} ms`);
    await running.close();
    if (ok !== jobs) throw new Error(`${jobs - ok} jobs did not succeed: ${[...new Set(states)].join(", ")}`);
}

async function main(): Promise<void> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bench-portal-"));
    try {
        await listBench(dir);
        await jobsBench(dir);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

main().catch((err) => {
    console.error(err);
    process.exit(1);
});
