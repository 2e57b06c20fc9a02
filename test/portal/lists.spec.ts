// The lists the page pages through, over HTTP: customers (limit, cursor, status, environment, text; the store's
// query walks indexes), jobs (cursor, state), the audit trail newest first, and a job's log followed live as
// text/event-stream.
import { strict as assert } from "assert";
import * as http from "http";
import { customerConfig, startHarness, TOKENS, until, Harness } from "./helpers";

/** Seeds customers straight into the store (the HTTP path would run a job per customer). */
function seed(h: Harness, n: number): void {
    const store = h.running.portal.store;
    const at = new Date().toISOString();
    const config = JSON.stringify(customerConfig("seed"));
    store.tx(() => {
        for (let i = 0; i < n; i++) {
            const id = `cust-${String(i).padStart(5, "0")}`;
            const status = i % 10 === 0 ? "failed" : "deployed";
            const environment = i % 4 === 0 ? "prod" : "dev";
            store.insertCustomer({ id, environment, customer_id: `acct-${i}`, name: i === 424 ? "Umbrella Pharmaceuticals" : `Customer ${i}`, config, status, outputs: null, created_by: "seed", created_at: at, updated_at: at });
        }
    });
}

/** Reads a text/event-stream until `stop` says so; returns the events. */
function events(url: string, token: string, stop: (e: { event: string; data: string; id?: string }[]) => boolean, headers: Record<string, string> = {}): Promise<{ status: number; type: string; events: { event: string; data: string; id?: string }[] }> {
    return new Promise((resolve, reject) => {
        const req = http.get(url, { headers: { authorization: `Bearer ${token}`, ...headers } }, (res) => {
            const out: { event: string; data: string; id?: string }[] = [];
            let buffer = "";
            const finish = () => (clearTimeout(timer), req.destroy(), resolve({ status: res.statusCode!, type: String(res.headers["content-type"]), events: out }));
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
                buffer += chunk;
                let at;
                while ((at = buffer.indexOf("\n\n")) >= 0) {
                    const block = buffer.slice(0, at);
                    buffer = buffer.slice(at + 2);
                    const e: { event: string; data: string; id?: string } = { event: "message", data: "" };
                    const data: string[] = [];
                    for (const line of block.split("\n")) {
                        if (line.startsWith(":")) continue;
                        const [field, ...rest] = line.split(":");
                        const value = rest.join(":").replace(/^ /, "");
                        if (field === "event") e.event = value;
                        else if (field === "data") data.push(value);
                        else if (field === "id") e.id = value;
                    }
                    if (data.length === 0) continue;
                    e.data = data.join("\n");
                    out.push(e);
                    if (stop(out)) return finish();
                }
            });
            res.on("end", finish);
        });
        req.on("error", reject);
        const timer = setTimeout(() => (req.destroy(), reject(new Error("event stream: no end after 20 s"))), 20_000);
    });
}

describe("portal: paginated lists and the live log", function () {
    this.timeout(60_000);
    let h: Harness;
    before(async () => {
        h = await startHarness();
        seed(h, 1000);
    });
    after(async () => h?.close());

    it("GET /api/customers pages by cursor: every customer once, in stack order", async () => {
        const seen: string[] = [];
        let cursor: string | null = null;
        let pages = 0;
        do {
            const r = await h.call("GET", `/api/customers?limit=50${cursor ? `&cursor=${cursor}` : ""}`, TOKENS.auditor);
            assert.equal(r.status, 200);
            assert.ok(r.body.customers.length <= 50);
            seen.push(...r.body.customers.map((c: any) => c.id));
            cursor = r.body.nextCursor;
            pages++;
        } while (cursor);
        assert.equal(pages, 20);
        assert.equal(seen.length, 1000);
        assert.deepEqual(seen, [...seen].sort());
        assert.equal(new Set(seen).size, 1000);
        // Default page: 100.
        assert.equal((await h.call("GET", "/api/customers", TOKENS.auditor)).body.customers.length, 100);
    });

    it("filters by status, environment and text (substring of id, customer id or name; short text: id prefix)", async () => {
        const failed = (await h.call("GET", "/api/customers?status=failed&limit=500", TOKENS.auditor)).body;
        assert.equal(failed.customers.length, 100);
        assert.ok(failed.customers.every((c: any) => c.status === "failed"));
        const prodFailed = (await h.call("GET", "/api/customers?status=failed&environment=prod&limit=500", TOKENS.auditor)).body.customers;
        assert.equal(prodFailed.length, 50);
        assert.ok(prodFailed.every((c: any) => c.environment === "prod" && c.status === "failed"));
        const byName = (await h.call("GET", "/api/customers?q=PHARMA", TOKENS.auditor)).body.customers;
        assert.deepEqual(byName.map((c: any) => c.id), ["cust-00424"]);
        const byAccount = (await h.call("GET", "/api/customers?q=acct-99", TOKENS.auditor)).body.customers.map((c: any) => c.customerId);
        assert.deepEqual(byAccount.sort(), ["acct-99", "acct-990", "acct-991", "acct-992", "acct-993", "acct-994", "acct-995", "acct-996", "acct-997", "acct-998", "acct-999"]);
        assert.equal((await h.call("GET", "/api/customers?q=cu&limit=500", TOKENS.auditor)).body.customers.length, 500);
        assert.equal((await h.call("GET", "/api/customers?q=zz", TOKENS.auditor)).body.customers.length, 0);
        // A filtered list pages too.
        const first = (await h.call("GET", "/api/customers?status=failed&limit=30", TOKENS.auditor)).body;
        const second = (await h.call("GET", `/api/customers?status=failed&limit=30&cursor=${first.nextCursor}`, TOKENS.auditor)).body;
        assert.ok(second.customers[0].id > first.customers[29].id);
        assert.equal((await h.call("GET", "/api/customers?status=happy", TOKENS.auditor)).status, 400);
    });

    it("the customer query walks indexes for every filter (no full scan of customers)", () => {
        const store = h.running.portal.store;
        for (const filter of [{}, { status: "failed" }, { environment: "prod" }, { environment: "prod", status: "failed" }, { text: "pharma" }, { text: "cu" }, { after: "cust-00500" }, { status: "deployed", after: "cust-00500", text: "customer" }]) {
            const plan = store.customerPagePlan({ ...filter, limit: 51 });
            const scans = plan.filter((d) => /^SCAN c\b/.test(d) && !/USING (COVERING )?INDEX/.test(d));
            assert.deepEqual(scans, [], `${JSON.stringify(filter)}: ${plan.join(" | ")}`);
            assert.ok(!plan.some((d) => /USE TEMP B-TREE FOR ORDER BY/.test(d)) || "text" in filter, `${JSON.stringify(filter)} sorts in memory: ${plan.join(" | ")}`);
        }
    });

    it("GET /api/audit?order=desc pages newest first by cursor", async () => {
        const store = h.running.portal.store;
        store.tx(() => {
            for (let i = 0; i < 120; i++) store.audit(new Date().toISOString(), "seed", "seed.entry", `s-${i}`);
        });
        const first = (await h.call("GET", "/api/audit?order=desc&limit=50", TOKENS.auditor)).body;
        assert.equal(first.entries.length, 50);
        const seqs = first.entries.map((e: any) => e.seq);
        assert.deepEqual(seqs, [...seqs].sort((a: number, b: number) => b - a));
        assert.equal(first.entries[0].subject, "s-119");
        const second = (await h.call("GET", `/api/audit?order=desc&limit=50&cursor=${first.nextCursor}`, TOKENS.auditor)).body;
        assert.equal(second.entries[0].seq, seqs[49] - 1);
        // Ascending (the default) still pages from ?after.
        const asc = (await h.call("GET", "/api/audit?limit=10", TOKENS.auditor)).body;
        assert.equal(asc.entries[0].seq, 1);
        assert.equal((await h.call("GET", `/api/audit?limit=10&after=${asc.nextCursor}`, TOKENS.auditor)).body.entries[0].seq, 11);
    });

    it("GET /api/jobs pages newest first and filters by state", async () => {
        for (const stack of ["pg-a", "pg-b", "pg-c"]) {
            const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config: customerConfig(stack) });
            assert.equal(r.status, 202);
        }
        await h.running.portal.idle();
        const first = (await h.call("GET", "/api/jobs?limit=2", TOKENS.operator)).body;
        assert.equal(first.jobs.length, 2);
        const rest = (await h.call("GET", `/api/jobs?limit=2&cursor=${first.nextCursor}`, TOKENS.operator)).body;
        assert.equal(rest.jobs.length, 1);
        assert.equal(rest.nextCursor, null);
        assert.deepEqual([...first.jobs, ...rest.jobs].map((j: any) => j.customer), ["pg-c", "pg-b", "pg-a"]);
        assert.equal((await h.call("GET", "/api/jobs?state=interrupted", TOKENS.operator)).body.jobs.length, 0);
        assert.equal((await h.call("GET", "/api/jobs?state=succeeded", TOKENS.operator)).body.jobs.length, 3);
    });

    it("GET /api/jobs/:id/log?follow=1 streams a running job's log as server-sent events, then its end", async () => {
        h.engine.hold();
        const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "live-log", config: customerConfig("live-log") });
        const id = r.body.job.id;
        await until("running", async () => (await h.call("GET", `/api/jobs/${id}`, TOKENS.operator)).body.job.state === "running");
        const url = `${h.running.url}/api/jobs/${id}/log?follow=1`;
        assert.equal((await fetch(url)).status, 401, "auth like every API route");
        assert.equal((await h.call("GET", "/api/jobs/job-nope/log?follow=1", TOKENS.auditor)).status, 404);
        const streamed = events(url, TOKENS.auditor, (es) => es.some((e) => e.event === "end"));
        // The job is held: what streams after this point was appended live.
        await new Promise((res) => setTimeout(res, 200));
        h.engine.release();
        const s = await streamed;
        assert.equal(s.status, 200);
        assert.match(s.type, /^text\/event-stream/);
        const text = s.events.filter((e) => e.event === "log").map((e) => e.data).join("");
        assert.ok(s.events.filter((e) => e.event === "log").length >= 2, "more than one chunk: it streamed");
        assert.match(text, /config: \d+ keys for stack live-log/);
        assert.match(text, /succeeded: update of live-log finished/);
        assert.deepEqual(JSON.parse(s.events[s.events.length - 1].data), { state: "succeeded" });
        const whole = (await h.call("GET", `/api/jobs/${id}`, TOKENS.auditor)).body.job.log;
        assert.equal(text, whole, "the stream is the log, nothing lost or doubled");
        // A finished job: the whole log and the end at once; Last-Event-ID resumes after what was seen.
        const lastLogId = s.events.filter((e) => e.event === "log")[0].id!;
        const resumed = await events(url, TOKENS.auditor, (es) => es.some((e) => e.event === "end"), { "last-event-id": lastLogId });
        assert.equal(s.events.filter((e) => e.event === "log")[0].data + resumed.events.filter((e) => e.event === "log").map((e) => e.data).join(""), whole);
        const plain = await fetch(`${h.running.url}/api/jobs/${id}/log`, { headers: { authorization: `Bearer ${TOKENS.auditor}` } });
        assert.match(String(plain.headers.get("content-type")), /^text\/plain/);
        assert.equal(await plain.text(), whole);
    });

    it("closing the server ends open log streams instead of waiting for them", async () => {
        const other = await startHarness();
        other.engine.hold();
        const r = await other.call("POST", "/api/customers", TOKENS.operator, { stack: "held", config: customerConfig("held") });
        await until("running", async () => (await other.call("GET", `/api/jobs/${r.body.job.id}`, TOKENS.operator)).body.job.state === "running");
        const streamed = events(`${other.running.url}/api/jobs/${r.body.job.id}/log?follow=1`, TOKENS.auditor, () => false);
        await new Promise((res) => setTimeout(res, 200));
        const t = Date.now();
        await other.close();
        other.engine.release();
        await streamed;
        assert.ok(Date.now() - t < 3000, `closed in ${Date.now() - t} ms`);
    });
});
