// The portal end to end over HTTP on loopback, with the offline engine: customer lifecycle, the access workflow
// on a controllable clock, every auth rule, bad input, unknown ids, conflicts, per-stack serialization,
// parallel stacks and restart durability.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Clock, csrFor, customerConfig, prodCustomerConfig, startHarness, TOKENS, until, Harness } from "./helpers";
import { findCertificate } from "../../portal/certificates";


async function jobDone(h: Harness, id: string): Promise<any> {
    return until(`job ${id}`, async () => {
        const { body } = await h.call("GET", `/api/jobs/${id}`, TOKENS.operator);
        return ["succeeded", "failed", "interrupted"].includes(body.job.state) && body.job;
    });
}

async function deployed(h: Harness, stack: string): Promise<void> {
    const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config: customerConfig(stack) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const job = await jobDone(h, r.body.job.id);
    assert.equal(job.state, "succeeded", job.log);
}

describe("portal: HTTP service with the offline engine", function () {
    this.timeout(60_000);
    let h: Harness;
    before(async () => {
        h = await startHarness();
        await deployed(h, "globex");
    });
    after(async () => h?.close());

    describe("auth", () => {
        const routes: [string, string, string[]][] = [
            ["POST", "/api/customers", ["operator"]],
            ["POST", "/api/customers/globex/preview", ["operator"]],
            ["POST", "/api/customers/globex/up", ["operator"]],
            ["POST", "/api/customers/globex/refresh", ["operator"]],
            ["DELETE", "/api/customers/globex", ["operator"]],
            ["POST", "/api/customers/globex/break-glass", ["operator"]],
            ["POST", "/api/customers/globex/break-glass/close", ["operator"]],
            ["POST", "/api/jobs/job-x/rerun", ["operator"]],
            ["POST", "/api/customers/globex/access-requests", ["engineer"]],
            ["POST", "/api/access-requests/ar-x/approve", ["approver"]],
            ["POST", "/api/access-requests/ar-x/deny", ["approver"]],
            ["GET", "/api/audit", ["auditor"]],
            ["GET", "/api/customers", []],
            ["GET", "/api/customers/globex", []],
            ["GET", "/api/jobs", []],
            ["GET", "/api/jobs/job-x", []],
            ["GET", "/api/access-requests", []],
            ["GET", "/api/access-requests/ar-x", []],
            ["GET", "/api/me", []],
        ];
        const byRole: Record<string, string> = { operator: TOKENS.operator, engineer: TOKENS.engineer, approver: TOKENS.approver, auditor: TOKENS.auditor };

        it("401 without a token or with an unknown one, on every API route", async () => {
            for (const [method, url] of routes) {
                for (const token of [undefined, "not-a-token-at-all-000000"]) {
                    const r = await h.call(method, url, token);
                    assert.equal(r.status, 401, `${method} ${url} with ${token ?? "no token"}`);
                }
            }
            const res = await fetch(`${h.running.url}/api/customers`, { headers: { authorization: "Basic Zm9vOmJhcg==" } });
            assert.equal(res.status, 401);
            assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="byoc-portal"');
        });

        it("403 for every role a route does not allow, naming the role needed", async () => {
            for (const [method, url, allowed] of routes) {
                if (allowed.length === 0) continue;
                for (const [role, token] of Object.entries(byRole)) {
                    if (allowed.includes(role)) continue;
                    const r = await h.call(method, url, token, method === "POST" ? {} : undefined);
                    assert.equal(r.status, 403, `${method} ${url} as ${role}`);
                    assert.match(r.body.error, new RegExp(`needs the ${allowed[0]} role`));
                }
            }
        });

        it("lets every role read; the page and health check need no token", async () => {
            for (const token of Object.values(byRole)) assert.equal((await h.call("GET", "/api/customers", token)).status, 200);
            const page = await fetch(`${h.running.url}/`);
            assert.equal(page.status, 200);
            assert.match(page.headers.get("content-security-policy") ?? "", /script-src 'self'/);
            assert.match(await page.text(), /BYOC provisioning portal/);
            assert.equal((await h.call("GET", "/app.js")).status, 200);
            assert.deepEqual((await h.call("GET", "/healthz")).body, { ok: true, engine: "offline" });
            assert.deepEqual((await h.call("GET", "/api/me", TOKENS.approver)).body, { user: "lead@example.com", roles: ["approver"], engine: "offline" });
        });
    });

    describe("bad input, unknown ids, conflicts", () => {
        it("400 lists every config problem with the schema's messages, and writes nothing but the refusal's audit entry", async () => {
            const before = (await h.call("GET", "/api/audit", TOKENS.auditor)).body.entries.filter((e: any) => !e.action.startsWith("http.")).length;
            const config = customerConfig("initech", {
                "byoc:network": { vpcCidr: "10.0.0.0/8" },
                "byoc:ingress": { mode: "public", ipAllowList: [], domain: "initech.byoc.example.com", acmeEmail: "ops@example.com" },
                "byoc:netwrok": {},
            });
            delete config["aws:region"];
            const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "initech", config });
            assert.equal(r.status, 400);
            const paths = r.body.problems.map((p: any) => p.path).sort();
            assert.deepEqual(paths, ["aws:region", "byoc:ingress.ipAllowList", "byoc:network.vpcCidr", "byoc:netwrok"]);
            const byPath = Object.fromEntries(r.body.problems.map((p: any) => [p.path, p]));
            assert.match(byPath["byoc:network.vpcCidr"].message, /between \/16 and \/22/);
            assert.equal(byPath["byoc:network.vpcCidr"].value, "10.0.0.0/8");
            assert.match(byPath["byoc:ingress.ipAllowList"].message, /IP filter is mandatory/);
            assert.match(byPath["byoc:netwrok"].message, /not a known key/);
            assert.equal((await h.call("GET", "/api/customers/initech", TOKENS.operator)).status, 404);
            assert.equal((await h.call("GET", "/api/audit", TOKENS.auditor)).body.entries.filter((e: any) => !e.action.startsWith("http.")).length, before);
            const newest = (await h.call("GET", "/api/audit?order=desc&limit=1", TOKENS.auditor)).body.entries[0];
            assert.deepEqual([newest.actor, newest.action, newest.subject], ["operator@example.com", "http.bad-request", "POST /api/customers"]);
        });

        it("400 for a bad stack name, a reserved one, a missing config, grants smuggled in, malformed JSON", async () => {
            let r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "Bad_Name" });
            assert.equal(r.status, 400);
            assert.deepEqual(r.body.problems.map((p: any) => p.path), ["stack", "config"]);
            r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "prod", config: customerConfig("acme") });
            assert.match(r.body.problems[0].message, /reserved for the repository's own Pulumi.prod.yaml/);
            const grants = [{ id: "g1", engineer: "alice@example.com", csrPem: csrFor("alice@example.com"), reason: "sneaky", approvedBy: "lead@example.com", notAfter: "2026-11-25T13:00:00Z" }];
            r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "sneaky", config: customerConfig("sneaky", { "byoc:access": { grants } }) });
            assert.equal(r.status, 400);
            assert.equal(r.body.problems[0].path, "byoc:access.grants");
            r = await h.call("POST", "/api/customers", TOKENS.operator, ["not", "an", "object"]);
            assert.equal(r.status, 400);
            assert.equal(r.body.problems[0].path, "body");
            const res = await fetch(`${h.running.url}/api/customers`, { method: "POST", headers: { authorization: `Bearer ${TOKENS.operator}`, "content-type": "application/json" }, body: "{nope" });
            assert.equal(res.status, 400);
            assert.equal(((await res.json()) as any).problems[0].path, "body");
        });

        it("400 for access requests: every bad field at once, hours above the environment's cap, a CSR for someone else", async () => {
            let r = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "x", hours: 1.5, csrPem: "hello" });
            assert.equal(r.status, 400);
            assert.deepEqual(r.body.problems.map((p: any) => p.path), ["reason", "hours", "csrPem"]);
            r = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "disk pressure", hours: 25, csrPem: csrFor("alice@example.com") });
            assert.equal(r.status, 400);
            assert.match(r.body.problems[0].message, /at most 24: the dev limit/);
            r = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "disk pressure", hours: 2, csrPem: csrFor("bob@example.com") });
            assert.equal(r.status, 400);
            assert.match(r.body.problems[0].message, /CN is "bob@example.com"; it must be exactly "alice@example.com"/);
        });

        it("404 for unknown customers, jobs, access requests and routes", async () => {
            const cases: [string, string, string][] = [
                ["GET", "/api/customers/nobody", TOKENS.operator],
                ["POST", "/api/customers/nobody/up", TOKENS.operator],
                ["POST", "/api/customers/nobody/preview", TOKENS.operator],
                ["DELETE", "/api/customers/nobody", TOKENS.operator],
                ["GET", "/api/jobs/job-nope", TOKENS.operator],
                ["POST", "/api/jobs/job-nope/rerun", TOKENS.operator],
                ["POST", "/api/customers/nobody/access-requests", TOKENS.engineer],
                ["GET", "/api/access-requests/ar-nope", TOKENS.engineer],
                ["POST", "/api/access-requests/ar-nope/approve", TOKENS.approver],
                ["GET", "/api/nothing-here", TOKENS.operator],
            ];
            for (const [method, url, token] of cases) {
                const r = await h.call(method, url, token, method === "POST" ? { reason: "disk pressure", hours: 1, csrPem: csrFor("alice@example.com") } : undefined);
                assert.equal(r.status, 404, `${method} ${url}: ${JSON.stringify(r.body)}`);
            }
        });

        it("409 for a stack that exists and a job that cannot be re-run", async () => {
            const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "globex", config: customerConfig("globex") });
            assert.equal(r.status, 409);
            assert.match(r.body.error, /already exists/);
            const jobs = (await h.call("GET", "/api/jobs?customer=globex", TOKENS.operator)).body.jobs;
            const done = jobs.find((j: any) => j.state === "succeeded");
            const rerun = await h.call("POST", `/api/jobs/${done.id}/rerun`, TOKENS.operator);
            assert.equal(rerun.status, 409);
            assert.match(rerun.body.error, /only interrupted or failed jobs/);
        });

        it("keeps the audit table append-only in the database itself", () => {
            const db = h.running.portal.store.db;
            assert.throws(() => db.prepare("UPDATE audit SET actor = 'someone-else'").run(), /append-only/);
            assert.throws(() => db.prepare("DELETE FROM audit").run(), /append-only/);
        });
    });

    describe("customer lifecycle", () => {
        it("create → deployed with outputs and flows, preview, up, destroy → destroyed; then 409s", async () => {
            await deployed(h, "hooli");
            let c = (await h.call("GET", "/api/customers/hooli", TOKENS.auditor)).body.customer;
            assert.equal(c.status, "deployed");
            assert.equal(c.environment, "dev");
            assert.equal(c.customerId, "hooli");
            assert.match(String(c.outputs.vpcId), /^vpc-/);
            assert.ok(c.flows.length >= 2);
            for (const f of c.flows) assert.ok(f.flow && f.direction && f.exposure && f.restrictedBy, JSON.stringify(f));
            const list = (await h.call("GET", "/api/customers", TOKENS.engineer)).body.customers;
            assert.deepEqual(list.find((x: any) => x.id === "hooli").lastJob.state, "succeeded");

            const preview = await h.call("POST", "/api/customers/hooli/preview", TOKENS.operator);
            assert.equal(preview.status, 202);
            assert.equal(preview.body.job.kind, "preview");
            const pj = await jobDone(h, preview.body.job.id);
            assert.equal(pj.state, "succeeded");
            assert.match(pj.log, /offline preview of stack hooli/);
            assert.ok(pj.resourceCount > 0);
            assert.ok(Array.isArray(pj.violations));

            const up = await h.call("POST", "/api/customers/hooli/up", TOKENS.operator);
            assert.equal((await jobDone(h, up.body.job.id)).state, "succeeded");

            const del = await h.call("DELETE", "/api/customers/hooli", TOKENS.operator);
            assert.equal(del.status, 202);
            assert.equal(del.body.job.kind, "destroy");
            assert.equal((await h.call("DELETE", "/api/customers/hooli", TOKENS.operator)).status, 409);
            assert.equal((await jobDone(h, del.body.job.id)).state, "succeeded");
            c = (await h.call("GET", "/api/customers/hooli", TOKENS.operator)).body.customer;
            assert.equal(c.status, "destroyed");
            assert.equal(c.outputs, null);
            assert.ok(!fs.existsSync(path.join(h.dir, "offline", "hooli.json")));
            for (const op of ["up", "preview"]) assert.equal((await h.call("POST", `/api/customers/hooli/${op}`, TOKENS.operator)).status, 409);
            const audit = (await h.call("GET", "/api/audit", TOKENS.auditor)).body.entries.filter((a: any) => a.subject === "hooli" || a.details?.customer === "hooli");
            const actions = audit.map((a: any) => a.action);
            for (const a of ["customer.created", "job.queued", "job.started", "job.succeeded", "customer.destroy-requested", "customer.destroyed"]) assert.ok(actions.includes(a), a);
            assert.equal(audit.find((a: any) => a.action === "customer.created").actor, "operator@example.com");
        });
    });

    describe("access workflow (controllable clock)", () => {
        it("request → approve → active with the certificate → expiry swept → expired, all audited", async () => {
            const csr = csrFor("alice@example.com");
            const created = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "ClickHouse merges stuck on shard 2", hours: 4, csrPem: csr });
            assert.equal(created.status, 201);
            const id = created.body.request.id;
            assert.equal(created.body.request.state, "pending");
            assert.equal(created.body.request.notAfter, null);

            // An approver not in byoc:access.approvers may not decide.
            const outsider = await h.call("POST", `/api/access-requests/${id}/approve`, TOKENS.outsider);
            assert.equal(outsider.status, 403);
            assert.match(outsider.body.error, /not a designated approver/);

            const approved = await h.call("POST", `/api/access-requests/${id}/approve`, TOKENS.approver);
            assert.equal(approved.status, 200, JSON.stringify(approved.body));
            assert.equal(approved.body.request.state, "approved");
            assert.equal(approved.body.request.notAfter, "2026-11-25T16:10:00.000Z"); // 4 h + the 10-minute issue allowance
            assert.equal(approved.body.job.kind, "up");
            assert.equal((await h.call("POST", `/api/access-requests/${id}/approve`, TOKENS.approver)).status, 409);
            assert.equal((await h.call("POST", `/api/access-requests/${id}/deny`, TOKENS.approver)).status, 409);

            // The grant is in the stack config the up job applied.
            const config = (await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer.config;
            assert.deepEqual(config["byoc:access"].grants, [{ id, engineer: "alice@example.com", csrPem: csr, reason: "ClickHouse merges stuck on shard 2", approvedBy: "lead@example.com", notAfter: "2026-11-25T16:10:00.000Z" }]);
            assert.equal((await jobDone(h, approved.body.job.id)).state, "succeeded");

            const active = (await h.call("GET", `/api/access-requests/${id}`, TOKENS.engineer)).body.request;
            assert.equal(active.state, "active");
            const outputs = (await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer.outputs;
            const issued = findCertificate(outputs, id);
            assert.ok(issued);
            assert.equal(active.certificatePem, issued!.pem);
            assert.match(active.certificatePem, /^-----BEGIN CERTIFICATE-----/);
            assert.match(active.certificateNote, /output troubleshootingGrants\[0\]\.certPem/);

            // Not yet expired: the sweeper leaves it alone.
            h.clock.advanceHours(3);
            assert.deepEqual(h.running.portal.sweep(), []);
            // Past notAfter: the sweeper (on its own timer here) removes the grant and re-applies the stack.
            h.clock.advanceHours(2);
            const timed = await startSweeperFor(h);
            const expired = await until("request expired", async () => {
                const r = (await h.call("GET", `/api/access-requests/${id}`, TOKENS.engineer)).body.request;
                return r.state === "expired" && r;
            });
            timed.stop();
            assert.equal(expired.notAfter, "2026-11-25T16:10:00.000Z");
            const after = (await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer;
            assert.deepEqual(after.config["byoc:access"].grants, []);
            const reapply = after.jobs.find((j: any) => j.requestedBy === "system:sweeper");
            assert.ok(reapply, "the sweeper queued an up");
            assert.equal((await jobDone(h, reapply.id)).state, "succeeded");

            const trail = (await h.call("GET", "/api/audit", TOKENS.auditor)).body.entries.filter((a: any) => a.subject === id);
            assert.deepEqual(trail.map((a: any) => [a.action, a.actor]), [
                ["access.requested", "alice@example.com"],
                ["access.approved", "lead@example.com"],
                ["access.activated", "system"],
                ["access.expired", "system:sweeper"],
            ]);
            assert.equal(trail[3].at, "2026-11-25T17:00:00.000Z");
        });

        it("never lets the requester decide, and denies", async () => {
            const mine = await h.call("POST", "/api/customers/globex/access-requests", TOKENS.approverEngineer, { reason: "check replication lag", hours: 1, csrPem: csrFor("sre-manager@example.com") });
            assert.equal(mine.status, 201);
            for (const d of ["approve", "deny"]) {
                const r = await h.call("POST", `/api/access-requests/${mine.body.request.id}/${d}`, TOKENS.approverEngineer);
                assert.equal(r.status, 403);
                assert.match(r.body.error, /requested access .* and cannot/);
            }
            const denied = await h.call("POST", `/api/access-requests/${mine.body.request.id}/deny`, TOKENS.approver);
            assert.equal(denied.status, 200);
            assert.equal(denied.body.request.state, "denied");
            assert.equal(denied.body.job, undefined);
            const config = (await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer.config;
            assert.ok(!(config["byoc:access"].grants ?? []).some((g: any) => g.id === mine.body.request.id));
        });
    });

    describe("concurrency", () => {
        it("serializes operations on one stack and runs two stacks in parallel", async () => {
            await deployed(h, "umbrella");
            h.engine.maxPerStack = 0;
            h.engine.maxOverall = 0;
            h.engine.hold();
            const a1 = (await h.call("POST", "/api/customers/globex/up", TOKENS.operator)).body.job;
            const a2 = (await h.call("POST", "/api/customers/globex/preview", TOKENS.operator)).body.job;
            const b1 = (await h.call("POST", "/api/customers/umbrella/up", TOKENS.operator)).body.job;
            // Both stacks have a running job at the same time; the second job on globex waits its turn.
            await until("both stacks running", async () => {
                const states = await Promise.all([a1, a2, b1].map(async (j) => (await h.call("GET", `/api/jobs/${j.id}`, TOKENS.operator)).body.job.state));
                return states[0] === "running" && states[1] === "queued" && states[2] === "running";
            });
            assert.equal(h.engine.maxOverall, 2);
            h.engine.release();
            const done = await Promise.all([a1, a2, b1].map((j) => jobDone(h, j.id)));
            assert.deepEqual(done.map((j) => j.state), ["succeeded", "succeeded", "succeeded"]);
            assert.equal(h.engine.maxPerStack, 1, "never two operations on one stack at once");
            assert.ok(Date.parse(done[1].startedAt) >= Date.parse(done[0].finishedAt));
        });
    });
});

/** Runs the portal's own sweeper timer briefly (the harness starts with it off). */
async function startSweeperFor(h: Harness): Promise<{ stop(): void }> {
    const timer = setInterval(() => h.running.portal.sweep(), 20);
    return { stop: () => clearInterval(timer) };
}

describe("portal: restart durability", function () {
    this.timeout(60_000);

    it("marks a job running at shutdown interrupted, and its re-run finishes it", async () => {
        const clock = new Clock();
        const first = await startHarness({ clock });
        first.engine.hold();
        const created = await first.call("POST", "/api/customers", TOKENS.operator, { stack: "soylent", config: customerConfig("soylent") });
        const jobId = created.body.job.id;
        await until("job running", async () => (await first.call("GET", `/api/jobs/${jobId}`, TOKENS.operator)).body.job.state === "running");
        await first.close(); // the service stops mid-job
        first.engine.release(); // the abandoned run ends after the database is closed: nothing may be written

        const second = await startHarness({ dir: first.dir, clock });
        try {
            const job = (await second.call("GET", `/api/jobs/${jobId}`, TOKENS.operator)).body.job;
            assert.equal(job.state, "interrupted");
            assert.match(job.message, /re-run it with POST \/api\/jobs\/.*\/rerun/);
            assert.match(job.log, /interrupted: the service stopped/);
            const rerun = await second.call("POST", `/api/jobs/${jobId}/rerun`, TOKENS.operator);
            assert.equal(rerun.status, 202);
            assert.equal(rerun.body.job.rerunOf, jobId);
            assert.equal((await jobDone(second, rerun.body.job.id)).state, "succeeded");
            assert.equal((await second.call("GET", "/api/customers/soylent", TOKENS.operator)).body.customer.status, "deployed");
            const actions = (await second.call("GET", "/api/audit", TOKENS.auditor)).body.entries.map((a: any) => `${a.action} ${a.subject}`);
            assert.ok(actions.includes(`job.interrupted ${jobId}`));
            assert.ok(actions.includes(`job.rerun ${rerun.body.job.id}`));
        } finally {
            await second.close();
        }
    });

    it("picks up jobs still queued when the service stopped", async () => {
        const first = await startHarness({ maxParallel: 1 });
        first.engine.hold();
        const a = (await first.call("POST", "/api/customers", TOKENS.operator, { stack: "acme-one", config: customerConfig("acme-one") })).body.job;
        const b = (await first.call("POST", "/api/customers", TOKENS.operator, { stack: "acme-two", config: customerConfig("acme-two") })).body.job;
        await until("first running", async () => (await first.call("GET", `/api/jobs/${a.id}`, TOKENS.operator)).body.job.state === "running");
        assert.equal((await first.call("GET", `/api/jobs/${b.id}`, TOKENS.operator)).body.job.state, "queued");
        await first.close();
        first.engine.release();
        const second = await startHarness({ dir: first.dir });
        try {
            assert.equal((await jobDone(second, b.id)).state, "succeeded");
            assert.equal((await second.call("GET", `/api/jobs/${a.id}`, TOKENS.operator)).body.job.state, "interrupted");
        } finally {
            await second.close();
        }
    });
});

describe("portal: with the real program (offline mock runtime + policy pack)", function () {
    this.timeout(60_000);

    it("deploys a prod customer and issues a real troubleshooting certificate for an approved request", async () => {
        const h = await startHarness({ program: "real" });
        try {
            const created = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "acme-prod", config: prodCustomerConfig("acme-prod") });
            assert.equal(created.status, 202, JSON.stringify(created.body));
            const job = await jobDone(h, created.body.job.id);
            assert.equal(job.state, "succeeded", job.log);
            assert.ok(job.resourceCount > 100);
            assert.deepEqual(job.violations.filter((v: any) => v.enforcementLevel === "mandatory"), []);
            const state = JSON.parse(fs.readFileSync(path.join(h.dir, "offline", "acme-prod.json"), "utf8"));
            assert.equal(state.snapshot.version, 3);
            assert.equal(state.snapshot.deployment.resources.length, job.resourceCount);

            const tooLong = await h.call("POST", "/api/customers/acme-prod/access-requests", TOKENS.engineer, { reason: "slow merges", hours: 9, csrPem: csrFor("alice@example.com") });
            assert.equal(tooLong.status, 400);
            assert.match(tooLong.body.problems[0].message, /at most 8: the prod limit/);
            const req = await h.call("POST", "/api/customers/acme-prod/access-requests", TOKENS.engineer, { reason: "slow merges", hours: 8, csrPem: csrFor("alice@example.com") });
            assert.equal(req.status, 201);
            const approved = await h.call("POST", `/api/access-requests/${req.body.request.id}/approve`, TOKENS.approver);
            assert.equal(approved.status, 200, JSON.stringify(approved.body));
            const up = await jobDone(h, approved.body.job.id);
            assert.equal(up.state, "succeeded", up.log);
            const active = (await h.call("GET", `/api/access-requests/${req.body.request.id}`, TOKENS.engineer)).body.request;
            assert.equal(active.state, "active");
            assert.match(active.certificatePem ?? "", /^-----BEGIN CERTIFICATE-----/, active.certificateNote);
        } finally {
            await h.close();
        }
    });
});
