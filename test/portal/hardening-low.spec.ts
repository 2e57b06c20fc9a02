// "Portal hardening", the Low items, over HTTP on loopback: failed-login throttle and the audit of refusals,
// owner-only files, secret outputs, bad input that used to be a 500 or an empty page, a damaged database, server
// timeouts, stacks without approvers, pending requests that expire, idempotent re-runs, the tokens file.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../../automation";
import { secretOutputNames } from "../../automation/pulumi";
import { loadTokens, startPortal, tokenTable } from "../../portal";
import { TokenFileError } from "../../portal/tokens";
import { Clock, csrFor, customerConfig, quickPreview, startHarness, tempDir, TOKENS, until, Harness } from "./helpers";

async function jobDone(h: Harness, id: string): Promise<any> {
    return until(`job ${id}`, async () => {
        const { body } = await h.call("GET", `/api/jobs/${id}`, TOKENS.operator);
        return ["succeeded", "failed", "interrupted"].includes(body.job.state) && body.job;
    });
}

async function deployed(h: Harness, stack: string, config = customerConfig(stack)): Promise<void> {
    const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.equal((await jobDone(h, r.body.job.id)).state, "succeeded");
}

const mode = (file: string) => (fs.statSync(file).mode & 0o777).toString(8);

/** An engine whose ups report a secret output the way Pulumi does (secretOutputs) and a kubeconfig. */
class SecretEngine implements StackEngine {
    readonly kind = "offline" as const;
    constructor(readonly inner: OfflineEngine) {}
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext) {
        return this.inner.configure(stack, raw, ctx);
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const r = await this.inner.run(op, stack, raw, ctx);
        if (op !== "up" || r.outcome !== "succeeded") return r;
        return { ...r, outputs: { ...r.outputs, kubeconfig: "apiVersion: v1\nusers: [{name: admin, user: {token: k8s-admin-token-SECRET}}]", dbPassword: "hunter2-SECRET" }, secretOutputs: ["dbPassword"] };
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
    close() {
        return this.inner.close();
    }
}

describe("portal hardening (Low items)", function () {
    this.timeout(60_000);
    let h: Harness | undefined;
    afterEach(async () => {
        await h?.close();
        h = undefined;
    });

    it("throttles failed logins per source address (10 a minute → 429 for every token) and audits each refusal", async () => {
        h = await startHarness({ http: { loginThrottle: { max: 10, windowMs: 60_000 } } });
        for (let i = 0; i < 10; i++) assert.equal((await h.call("GET", "/api/customers", `guess-${i}-0123456789abcdef`)).status, 401);
        const res = await fetch(`${h.running.url}/api/customers`, { headers: { authorization: "Bearer guess-x-0123456789abcdef" } });
        assert.equal(res.status, 429);
        assert.ok(Number(res.headers.get("retry-after")) > 0);
        // Locked out: a right token gets the same answer as a wrong one.
        assert.equal((await h.call("GET", "/api/customers", TOKENS.operator)).status, 429);
        assert.equal((await h.call("GET", "/healthz")).status, 200);
        const entries = h.running.portal.auditPage({ order: "desc", limit: 50 }).entries;
        assert.equal(entries.filter((e) => e.action === "http.unauthenticated" && e.actor === "anonymous@127.0.0.1" && e.subject === "GET /api/customers").length, 10);
        assert.equal(entries.filter((e) => e.action === "http.throttled").length, 1, "a lockout is audited once, not per request");
    });

    it("audits 403s with the user and 400s with the problem", async () => {
        h = await startHarness();
        assert.equal((await h.call("POST", "/api/customers", TOKENS.engineer, {})).status, 403);
        assert.equal((await h.call("GET", "/api/jobs?limit=abc", TOKENS.operator)).status, 400);
        const entries = (await h.call("GET", "/api/audit?order=desc&limit=10", TOKENS.auditor)).body.entries;
        const forbidden = entries.find((e: any) => e.action === "http.forbidden");
        assert.deepEqual([forbidden.actor, forbidden.subject, forbidden.details.status], ["alice@example.com", "POST /api/customers", 403]);
        const bad = entries.find((e: any) => e.action === "http.bad-request");
        assert.deepEqual([bad.actor, bad.subject], ["operator@example.com", "GET /api/jobs"]);
        assert.match(bad.details.error, /invalid query/);
    });

    it("keeps portal.db, its WAL/SHM and the offline state files 0600, their folders 0700", async () => {
        const dir = tempDir();
        const engine = new OfflineEngine({ stateDir: path.join(dir, "state", "offline"), preview: quickPreview });
        const running = await startPortal({ dbFile: path.join(dir, "portal.db"), engine, tokens: tokenTable({ [TOKENS.operator]: { user: "operator@example.com", roles: ["operator"] } }), sweepIntervalMs: 0 });
        try {
            const r = await fetch(`${running.url}/api/customers`, { method: "POST", headers: { authorization: `Bearer ${TOKENS.operator}`, "content-type": "application/json" }, body: JSON.stringify({ stack: "globex", config: customerConfig("globex") }) });
            assert.equal(r.status, 202);
            await running.portal.idle();
            const db = path.join(dir, "portal.db");
            for (const f of [db, `${db}-wal`, `${db}-shm`, path.join(dir, "state", "offline", "globex.json")]) assert.equal(mode(f), "600", f);
            assert.equal(mode(path.join(dir, "state", "offline")), "700"); // the CLI's data dir: see cli-process.spec.ts
        } finally {
            await running.close();
        }
    });

    it("never returns the kubeconfig or an output Pulumi marks secret in clear, nor keeps them in the database", async () => {
        const dir = tempDir();
        h = await startHarness({ dir, engine: new SecretEngine(new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview })) });
        await deployed(h, "globex");
        const outputs = (await h.call("GET", "/api/customers/globex", TOKENS.operator)).body.customer.outputs;
        assert.equal(outputs.kubeconfig, "[secret]");
        assert.equal(outputs.dbPassword, "[secret]");
        assert.ok(outputs.vpcId, "other outputs stay");
        const stored = h.running.portal.store.customer("globex")!.outputs!;
        assert.doesNotMatch(stored, /SECRET/);
        assert.deepEqual(secretOutputNames({ kubeconfig: { value: "x", secret: true }, vpcId: { value: "vpc-1", secret: false } }), ["kubeconfig"]);
    });

    it("answers 400, never 500 or an empty page, for deep JSON, repeated query parameters and bad numbers", async () => {
        h = await startHarness();
        await deployed(h, "globex");
        const post = (url: string, token: string, body: string) => fetch(h!.running.url + url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
        for (const n of [100, 3000, 20000]) {
            for (const [url, token, body] of [
                ["/api/customers", TOKENS.operator, `{"stack":"abc","config":${"[".repeat(n)}${"]".repeat(n)}}`],
                ["/api/customers/globex/access-requests", TOKENS.engineer, `{"reason":${'{"a":'.repeat(Math.max(40, n / 10))}1${"}".repeat(Math.max(40, n / 10))},"hours":1}`], // its body limit is smaller
            ]) {
                const res = await post(url, token, body);
                assert.equal(res.status, 400, `${url} nested ${n}`);
                const b = (await res.json()) as any;
                assert.equal(b.problems[0].path, "body");
                assert.match(b.problems[0].message, /nested \d+ levels deep/);
            }
        }
        assert.equal((await post("/api/customers", TOKENS.operator, '{"__proto__":{"x":1}}')).status, 400);
        for (const [url, token] of [
            ["/api/jobs?customer=a&customer=b", TOKENS.operator],
            ["/api/jobs?limit=1&limit=2", TOKENS.operator],
            ["/api/access-requests?state=pending&state=active", TOKENS.operator],
            ["/api/customers?status=deployed&status=failed", TOKENS.operator],
            ["/api/audit?subject=a&subject=b", TOKENS.auditor],
            ["/api/audit?after=abc", TOKENS.auditor],
            ["/api/audit?limit=-1", TOKENS.auditor],
            ["/api/audit?order=sideways", TOKENS.auditor],
            ["/api/jobs?cursor=1e3", TOKENS.operator],
            ["/api/access-requests?state=bogus", TOKENS.operator],
        ]) {
            const r = await h.call("GET", url, token);
            assert.equal(r.status, 400, url);
            assert.match(r.body.problems[0].path, /^query\./, url);
        }
    });

    it("refuses to start on a damaged database file, saying what to do", async () => {
        const dir = tempDir();
        const dbFile = path.join(dir, "portal.db");
        fs.writeFileSync(dbFile, "this is not a database, it is a text file ".repeat(200));
        await assert.rejects(
            startPortal({ dbFile, engine: new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }), tokens: tokenTable({ [TOKENS.operator]: { user: "o@example.com", roles: ["operator"] } }) }),
            /portal\.db is not a usable portal database \(file is not a database\).*Restore it from a backup, or move it away/,
        );
        // A real database whose pages were overwritten in the middle.
        const good = path.join(dir, "good.db");
        const ok = await startPortal({ dbFile: good, engine: new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }), tokens: tokenTable({ [TOKENS.operator]: { user: "o@example.com", roles: ["operator"] } }) });
        ok.portal.store.tx(() => {
            for (let i = 0; i < 2000; i++) ok.portal.store.audit(new Date().toISOString(), "x", "seed", `s${i}`, { pad: "y".repeat(200) });
        });
        await ok.close();
        const fd = fs.openSync(good, "r+");
        fs.writeSync(fd, Buffer.alloc(8192, 0x5a), 0, 8192, 4096 * 10);
        fs.closeSync(fd);
        await assert.rejects(startPortal({ dbFile: good, engine: new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }), tokens: tokenTable({ [TOKENS.operator]: { user: "o@example.com", roles: ["operator"] } }) }), /good\.db is not a usable portal database/);
    });

    it("closes idle connections, slow requests (408) and idle keep-alives on the configured timeouts", async () => {
        h = await startHarness({ http: { timeouts: { connectionMs: 600, requestMs: 400, keepAliveMs: 300, checkIntervalMs: 100 } } });
        const { port } = new URL(h.running.url);
        const session = (send?: string) =>
            new Promise<{ closedAfterMs: number; data: string }>((resolve, reject) => {
                const start = Date.now();
                let data = "";
                const s = net.connect(Number(port), "127.0.0.1", () => send && s.write(send));
                s.on("data", (d) => (data += d.toString()));
                s.on("close", () => resolve({ closedAfterMs: Date.now() - start, data }));
                s.on("error", reject);
                setTimeout(() => (s.destroy(), reject(new Error("connection still open after 5 s"))), 5000);
            });
        const idle = await session();
        assert.ok(idle.closedAfterMs < 3000, `idle socket closed after ${idle.closedAfterMs} ms`);
        const slow = await session("GET /healthz HTTP/1.1\r\nHost: x\r\n"); // headers never finished
        assert.match(slow.data, /^HTTP\/1\.1 408/);
        const kept = await session("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
        assert.match(kept.data, /^HTTP\/1\.1 200/);
        assert.ok(kept.closedAfterMs < 3000, `keep-alive closed after ${kept.closedAfterMs} ms`);
    });

    it("refuses access requests on a stack without designated approvers", async () => {
        h = await startHarness();
        await deployed(h, "hooli", customerConfig("hooli", { "byoc:access": { maxCertificateHours: 8, approvers: [] } }));
        const r = await h.call("POST", "/api/customers/hooli/access-requests", TOKENS.engineer, { reason: "replication stuck", hours: 1, csrPem: csrFor("alice@example.com") });
        assert.equal(r.status, 409);
        assert.match(r.body.error, /no designated approvers \(byoc:access.approvers is empty\)/);
        assert.equal((await h.call("GET", "/api/access-requests?customer=hooli", TOKENS.operator)).body.requests.length, 0);
    });

    it("expires requests left pending for 24 h (swept, audited); they can no longer be approved", async () => {
        const clock = new Clock();
        h = await startHarness({ clock });
        await deployed(h, "globex");
        const old = (await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "slow merges", hours: 1, csrPem: csrFor("alice@example.com") })).body.request.id;
        clock.advanceHours(23);
        const fresh = (await h.call("POST", "/api/customers/globex/access-requests", TOKENS.engineer, { reason: "slow merges again", hours: 1, csrPem: csrFor("alice@example.com") })).body.request.id;
        h.running.portal.sweep();
        assert.equal((await h.call("GET", `/api/access-requests/${old}`, TOKENS.operator)).body.request.state, "pending", "23 h: still pending");
        clock.advanceHours(1.5);
        h.running.portal.sweep();
        assert.equal((await h.call("GET", `/api/access-requests/${old}`, TOKENS.operator)).body.request.state, "expired");
        assert.equal((await h.call("GET", `/api/access-requests/${fresh}`, TOKENS.operator)).body.request.state, "pending");
        assert.equal((await h.call("POST", `/api/access-requests/${old}/approve`, TOKENS.approver)).status, 409);
        const audit = (await h.call("GET", `/api/audit?subject=${old}`, TOKENS.auditor)).body.entries.map((e: any) => `${e.actor} ${e.action}`);
        assert.ok(audit.includes("system:sweeper access.request-expired"), audit.join(", "));
    });

    it("re-running the same interrupted job twice queues one job", async () => {
        const first = await startHarness();
        first.engine.hold();
        const created = await first.call("POST", "/api/customers", TOKENS.operator, { stack: "soylent", config: customerConfig("soylent") });
        const jobId = created.body.job.id;
        await until("job running", async () => (await first.call("GET", `/api/jobs/${jobId}`, TOKENS.operator)).body.job.state === "running");
        await first.close();
        first.engine.release();
        h = await startHarness({ dir: first.dir });
        h.engine.hold();
        const [a, b] = await Promise.all([h.call("POST", `/api/jobs/${jobId}/rerun`, TOKENS.operator), h.call("POST", `/api/jobs/${jobId}/rerun`, TOKENS.operator)]);
        const c = await h.call("POST", `/api/jobs/${jobId}/rerun`, TOKENS.operator);
        assert.deepEqual([a.status, b.status, c.status], [202, 202, 202]);
        assert.equal(a.body.job.id, b.body.job.id);
        assert.equal(a.body.job.id, c.body.job.id);
        h.engine.release();
        assert.equal((await jobDone(h, a.body.job.id)).state, "succeeded");
        assert.equal((await h.call("POST", `/api/jobs/${jobId}/rerun`, TOKENS.operator)).body.job.id, a.body.job.id, "done: still the same re-run");
        const jobs = (await h.call("GET", "/api/jobs?customer=soylent", TOKENS.operator)).body.jobs;
        assert.equal(jobs.filter((j: any) => j.rerunOf === jobId).length, 1);
    });

    it("refuses an empty tokens file, and never prints token characters in token-file errors", () => {
        const dir = tempDir();
        const file = path.join(dir, "tokens.json");
        const load = () => loadTokens({ BYOC_PORTAL_TOKENS: file }, dir);
        fs.writeFileSync(file, "");
        assert.throws(load, (e: Error) => e instanceof TokenFileError && /is empty; nobody could sign in/.test(e.message));
        fs.writeFileSync(file, "{}\n");
        assert.throws(load, /has no tokens/);
        // Tokens of characters no message contains otherwise: any 4 of them in a row would be a leak.
        const secret = "Qz9xWv7KpLm2Rt5Yn8Bc4Hd";
        const short = "Jq7Xk2Wp";
        for (const text of [
            `{"${secret}": {"user": "a@example.com", "roles": ["operator"]}, "${secret}x" {}}`, // syntax error right after a token
            `{"${secret}": {"user": "a@example.com", "roles": ["wizard"]}}`,
            `{"${short}": {"user": "a@example.com", "roles": ["operator"]}}`,
            `{"${secret}": {"roles": ["operator"]}}`,
            `{"${secret}": {"user": "a@example.com", "roles": ["operator"]`,
        ]) {
            fs.writeFileSync(file, text);
            let message = "";
            try {
                load();
            } catch (err) {
                message = (err as Error).message;
            }
            assert.ok(message, `refused: ${text}`);
            for (const t of [secret, short]) for (let i = 0; i + 4 <= t.length; i++) assert.ok(!message.includes(t.slice(i, i + 4)), `"${message}" shows "${t.slice(i, i + 4)}" of a token`);
        }
    });
});
