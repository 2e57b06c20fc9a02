// Portal benchmark. The list: GET /api/customers pages of 50 with 10,000 customers (seeded in the database
// directly), loaded by autocannon in a separate client process (16 connections, keep-alive) so client and server
// do not share an event loop — the first page, a filtered page (status + environment), a text search and a page
// deep in the list. Then the time to queue and to finish 50 offline `up` jobs through the HTTP API (the offline
// engine runs them in worker threads: min(BYOC_MAX_PARALLEL, CPUs)), with a reader's latency meanwhile.
// Run: node --require ./cli/register.js bench/portal.ts
//   BENCH_CUSTOMERS (10000), BENCH_CONNECTIONS (16), BENCH_SECONDS (10 per case), BENCH_JOBS (50) to vary.
// Goal: p99 < 20 ms and >= 2,000 requests/s for a page of 50 (the figures are printed against it).
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { OfflineEngine } from "../automation";
import { startPortal, tokenTable } from "../portal";
import { pct } from "./measure";
import { splitSecrets } from "../portal/configSecrets";
import { readStackFile } from "../stacks/loader";

const ROOT = path.resolve(__dirname, "..");
const TOKEN = "bench-operator-token-0123456789";
const tokens = tokenTable({ [TOKEN]: { user: "operator@example.com", roles: ["operator"] } });
const num = (name: string, dflt: number) => Number(process.env[name] ?? dflt);

/**
 * A customer's config as POST /api/customers takes it: test/portal/helpers.ts customerConfig/prodCustomerConfig,
 * written again on purpose — those helpers import test/harness, which loads the whole program, the preview
 * runtime and the policy engine into this process, whose event loop the list benchmark measures.
 */
function config(stack: string, env: "dev" | "prod"): Record<string, unknown> {
    const raw = readStackFile(env, ROOT).raw;
    const out: Record<string, unknown> = { ...raw, "byoc:customer": { id: stack, name: `Customer ${stack}` } };
    if (env === "prod") {
        // Each customer's own bootstrap deploy role; its ExternalId sent as a secret (ciphertext is refused).
        out["byoc:access"] = { ...(raw["byoc:access"] as object), deployRoleArn: `arn:aws:iam::111122223333:role/byoc-bootstrap-${stack}-deploy` };
        out["byoc:deployExternalId"] = { secret: "bench-external-id-0123456789" };
        out["byoc:ingress"] = { ...(raw["byoc:ingress"] as object), domain: `${stack}.byoc.example.com` };
    }
    return out;
}


interface CannonResult {
    requests: { average: number; total: number };
    latency: { p50: number; p99: number; max: number; average: number };
    throughput: { average: number };
    non2xx: number;
    errors: number;
    timeouts: number;
}

/** autocannon as its own process (node_modules/autocannon), JSON result on stdout. */
function autocannon(url: string, connections: number, seconds: number): Promise<CannonResult> {
    const cli = require.resolve("autocannon/autocannon.js");
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [cli, "-c", String(connections), "-d", String(seconds), "-j", "-H", `authorization=Bearer ${TOKEN}`, url], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d) => (out += d));
        child.stderr.on("data", (d) => (err += d));
        child.on("error", reject);
        child.on("exit", (code) => {
            if (code !== 0) return reject(new Error(`autocannon exited ${code}: ${err}`));
            try {
                resolve(JSON.parse(out) as CannonResult);
            } catch (e) {
                reject(new Error(`autocannon output is not JSON: ${out.slice(0, 200)} ${err.slice(0, 200)}`));
            }
        });
    });
}

async function listBench(dir: string): Promise<void> {
    const customers = num("BENCH_CUSTOMERS", 10_000);
    const connections = num("BENCH_CONNECTIONS", 16);
    const seconds = num("BENCH_SECONDS", 10);
    const dbFile = path.join(dir, "list.db");
    const running = await startPortal({ dbFile, engine: new OfflineEngine({ stateDir: path.join(dir, "offline-list") }), tokens, sweepIntervalMs: 0 });
    const store = running.portal.store;
    const at = new Date().toISOString();
    // As the portal stores a config: its secrets split off, placeholders in their place.
    const raw = { dev: JSON.stringify(splitSecrets(config("seed", "dev")).config), prod: JSON.stringify(splitSecrets(config("seed", "prod")).config) };
    // The one text match, and a cursor 90% down the list, wherever BENCH_CUSTOMERS puts them.
    const pharma = Math.min(4242, customers - 1);
    const deep = `cust-${String(Math.floor(customers * 0.9)).padStart(5, "0")}`;
    const seedStart = performance.now();
    store.tx(() => {
        for (let i = 0; i < customers; i++) {
            const id = `cust-${String(i).padStart(5, "0")}`;
            const env = i % 4 === 0 ? "prod" : "dev";
            store.insertCustomer({ id, environment: env, customer_id: id, name: i === pharma ? "Umbrella Pharmaceuticals" : `Customer ${i}`, config: raw[env], status: i % 10 === 0 ? "failed" : "deployed", outputs: JSON.stringify({ vpcId: `vpc-${i}`, clusterApiAccess: "public" }), created_by: "bench", created_at: at, updated_at: at });
            store.insertJob({ id: `job-${i}`, customer: id, kind: "up", requested_by: "bench", reason: "seed", rerun_of: null, created_at: at });
            store.updateJob(`job-${i}`, { state: "succeeded", finished_at: at });
        }
    });
    const seedMs = performance.now() - seedStart;
    const headers = { authorization: `Bearer ${TOKEN}` };
    const cases: [string, string][] = [
        ["first page", "/api/customers?limit=50"],
        ["status=failed&environment=prod", "/api/customers?limit=50&status=failed&environment=prod"],
        ["text q=pharma (one match)", "/api/customers?limit=50&q=pharma"],
        // Worst case: every row holds every trigram of "customer", so the index hands over 10,000 candidates.
        ["text q=customer 99 (every row)", "/api/customers?limit=50&q=customer%2099"],
        [`deep page (cursor ${deep})`, `/api/customers?limit=50&cursor=${deep}`],
    ];
    console.log(`GET /api/customers, ${customers.toLocaleString("en")} customers, pages of 50; autocannon in a separate process, ${connections} connections, ${seconds} s per case (goal: p99 < 20 ms, >= 2,000 requests/s):`);
    for (const [label, url] of cases) {
        const first = (await (await fetch(running.url + url, { headers })).json()) as { customers: unknown[] };
        if (first.customers.length === 0) throw new Error(`${url}: empty page`);
        const bytes = Buffer.byteLength(JSON.stringify(first));
        await autocannon(running.url + url, connections, 1); // warm-up
        const r = await autocannon(running.url + url, connections, seconds);
        if (r.non2xx > 0 || r.errors > 0) throw new Error(`${url}: ${r.non2xx} non-2xx, ${r.errors} errors`);
        const ok = r.latency.p99 < 20 && r.requests.average >= 2000;
        console.log(`  ${label.padEnd(32)} ${String(first.customers.length).padStart(2)} rows, ${(bytes / 1024).toFixed(1)} KiB: ${r.requests.average.toFixed(0)} requests/s; latency p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, max ${r.latency.max} ms ${ok ? "(meets the goal)" : "(MISSES the goal)"}`);
    }
    console.log(`  seeding ${customers.toLocaleString("en")} customers + jobs in one transaction: ${seedMs.toFixed(0)} ms`);
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
