// Rollouts over HTTP on the offline engine: waves strictly in order, at most maxParallel of a wave at once,
// maintenance windows against the portal's controllable clock, halt on the first failure, cancel, validation.
import { strict as assert } from "assert";
import * as path from "path";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../../automation";
import { Rollouts } from "../../portal/rollouts";
import { parseStackConfig } from "../../stacks/schema";
import { customerConfig, Harness, prodCustomerConfig, quickPreview, startHarness, tempDir, TOKENS, until } from "./helpers";

/** The offline engine, except that an `up` of a stack in `failUp` fails (test-only injection). */
class FailingEngine implements StackEngine {
    readonly kind = "offline" as const;
    readonly failUp = new Set<string>();
    constructor(readonly inner: OfflineEngine) {}
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext) {
        return this.inner.configure(stack, raw, ctx);
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        if (op === "up" && this.failUp.has(stack)) return { outcome: "failed", message: `injected failure of ${stack}` };
        return this.inner.run(op, stack, raw, ctx);
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
    close() {
        return this.inner.close();
    }
}

describe("portal: rollouts", function () {
    this.timeout(60_000);
    let h: Harness;
    let failing: FailingEngine;

    async function customers(ids: string[], window?: Record<string, string>) {
        for (const id of ids) {
            const config = customerConfig(id);
            if (window?.[id]) config["byoc:customer"] = { ...(config["byoc:customer"] as object), maintenanceWindow: window[id] };
            const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: id, config });
            assert.equal(r.status, 202, JSON.stringify(r.body));
        }
        await until("customers deployed", async () => {
            const list = (await h.call("GET", "/api/customers?limit=200", TOKENS.auditor)).body.customers as { id: string; status: string }[];
            return ids.every((id) => list.find((c) => c.id === id)?.status === "deployed");
        });
        h.engine.started.length = 0;
        h.engine.maxOverall = 0;
    }

    const finished = (id: string) =>
        until(`rollout ${id} finished`, async () => {
            const r = (await h.call("GET", `/api/rollouts/${id}`, TOKENS.auditor)).body.rollout;
            return ["succeeded", "halted", "failed"].includes(r.state) && r;
        });

    beforeEach(async () => {
        const dir = tempDir();
        failing = new FailingEngine(new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }));
        h = await startHarness({ dir, engine: failing, maxParallel: 8 });
    });
    afterEach(() => h.close());

    it("runs waves strictly in order, at most maxParallel at once, and audits it", async () => {
        const ids = ["ra1", "ra2", "ra3", "ra4", "ra5", "ra6"];
        await customers(ids);
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { environment: "dev" }, waves: [2, 4], maxParallel: 2, haltOnFailure: true, reason: "release 1.4.0" });
        assert.equal(post.status, 202, JSON.stringify(post.body));
        assert.match(post.body.rollout.id, /^ro-/);
        assert.equal(post.body.rollout.state, "queued");
        const r = await finished(post.body.rollout.id);
        assert.equal(r.state, "succeeded");
        assert.deepEqual(r.waves.map((w: any) => w.state), ["succeeded", "succeeded"]);
        assert.deepEqual(r.waves.map((w: any) => w.items.map((i: any) => i.customer)), [["ra1", "ra2"], ["ra3", "ra4", "ra5", "ra6"]]);
        for (const w of r.waves) for (const i of w.items) assert.match(i.jobId, /^job-/);
        // Every up of wave 1 started before any up of wave 2; never more than 2 at once.
        const ups = h.engine.started.filter((s) => s.startsWith("up:")).map((s) => s.slice(3));
        assert.deepEqual(ups.slice(0, 2).sort(), ["ra1", "ra2"]);
        assert.deepEqual(ups.slice(2).sort(), ["ra3", "ra4", "ra5", "ra6"]);
        assert.ok(h.engine.maxOverall <= 2, `maxOverall ${h.engine.maxOverall}`);
        const audit = (await h.call("GET", `/api/audit?subject=${r.id}`, TOKENS.auditor)).body.entries.map((e: any) => e.action);
        for (const a of ["rollout.created", "rollout.started", "rollout.wave-started", "rollout.wave-finished", "rollout.succeeded"]) assert.ok(audit.includes(a), `${a} in ${audit}`);
        const job = (await h.call("GET", `/api/jobs/${r.waves[0].items[0].jobId}`, TOKENS.auditor)).body.job;
        assert.match(job.reason, new RegExp(`rollout ${r.id} wave 1: release 1.4.0`));
    });

    it("the first failure halts the remaining waves; jobs of later waves never start", async () => {
        await customers(["rb1", "rb2", "rb3"]);
        failing.failUp.add("rb2");
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["rb1", "rb2", "rb3"] }, waves: [1, 1, 1], maxParallel: 1, haltOnFailure: true, reason: "release 1.4.1" });
        const r = await finished(post.body.rollout.id);
        assert.equal(r.state, "halted");
        assert.deepEqual(r.waves.map((w: any) => w.state), ["succeeded", "halted", "skipped"]);
        assert.deepEqual(r.waves[2].items, [{ customer: "rb3", jobId: null, state: "skipped" }]);
        assert.equal(r.waves[1].items[0].state, "failed");
        assert.match(r.haltReason, /rb2 failed/);
        assert.ok(!h.engine.started.includes("up:rb3"));
        const audit = (await h.call("GET", `/api/audit?subject=${r.id}`, TOKENS.auditor)).body.entries.map((e: any) => e.action);
        assert.ok(audit.includes("rollout.halted") && audit.includes("rollout.item-failed"));
    });

    it("an up waits for the customer's maintenance window (controllable clock) unless ignoreWindows", async () => {
        // The harness clock starts Wed 2026-11-25 12:00 UTC.
        await customers(["rc1", "rc2"], { rc1: "Wed 13:00-14:00 UTC", rc2: "Wed 11:00-12:30 UTC" });
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["rc1", "rc2"] }, waves: [2], maxParallel: 2, reason: "release 1.5.0" });
        const id = post.body.rollout.id;
        const item = async (c: string) => (await h.call("GET", `/api/rollouts/${id}`, TOKENS.auditor)).body.rollout.waves[0].items.find((i: any) => i.customer === c);
        await until("rc2 succeeded", async () => (await item("rc2")).state === "succeeded");
        const waiting = await item("rc1");
        assert.equal(waiting.state, "waiting-window");
        assert.match(waiting.message, /Wed 13:00-14:00 UTC/);
        assert.ok(!h.engine.started.includes("up:rc1"));
        h.clock.advanceHours(1);
        Rollouts.of(h.running.portal).tick();
        const r = await finished(id);
        assert.equal(r.state, "succeeded");
        // ignoreWindows: outside the window, at once
        h.clock.advanceHours(5);
        const again = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["rc1"] }, waves: [1], maxParallel: 1, ignoreWindows: true, reason: "hotfix" });
        assert.equal((await finished(again.body.rollout.id)).state, "succeeded");
    });

    it("cancel stops queueing: running jobs finish, later waves are skipped", async () => {
        await customers(["rd1", "rd2"]);
        h.engine.hold();
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["rd1", "rd2"] }, waves: [1, 1], maxParallel: 1, reason: "release 2.0" });
        const id = post.body.rollout.id;
        await until("rd1 started", () => h.engine.started.includes("up:rd1"));
        assert.equal((await h.call("POST", `/api/rollouts/${id}/cancel`, TOKENS.engineer, {})).status, 403);
        const c = await h.call("POST", `/api/rollouts/${id}/cancel`, TOKENS.operator, { reason: "bad build" });
        assert.equal(c.status, 200, JSON.stringify(c.body));
        assert.equal(c.body.rollout.state, "halted");
        assert.match(c.body.rollout.haltReason, /cancelled by operator@example.com: bad build/);
        h.engine.release();
        await until("rd1 job done", async () => (await h.call("GET", `/api/jobs/${c.body.rollout.waves[0].items[0].jobId}`, TOKENS.auditor)).body.job.state === "succeeded");
        const r = (await h.call("GET", `/api/rollouts/${id}`, TOKENS.auditor)).body.rollout;
        assert.equal(r.state, "halted");
        assert.deepEqual(r.waves[1], { state: "skipped", items: [{ customer: "rd2", jobId: null, state: "skipped" }] });
        assert.ok(!h.engine.started.includes("up:rd2"));
        assert.equal((await h.call("POST", `/api/rollouts/${id}/cancel`, TOKENS.operator, {})).status, 409);
    });

    it("validates the request and the role", async () => {
        await customers(["re1"]);
        const ok = { selector: { customers: ["re1"] }, waves: [1], maxParallel: 1, reason: "release" };
        assert.equal((await h.call("POST", "/api/rollouts", TOKENS.engineer, ok)).status, 403);
        const bad = await h.call("POST", "/api/rollouts", TOKENS.operator, { ...ok, waves: [2] });
        assert.equal(bad.status, 400);
        assert.match(JSON.stringify(bad.body), /must add up to the 1 selected customers/);
        const bad2 = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["nope"] }, waves: [0], maxParallel: 0, reason: "", extra: 1 });
        assert.equal(bad2.status, 400);
        const paths = JSON.stringify(bad2.body);
        for (const p of ["extra", "waves", "maxParallel", "reason"]) assert.ok(paths.includes(`"${p}"`), `${p}: ${paths}`);
        assert.equal((await h.call("GET", "/api/rollouts/ro-missing", TOKENS.auditor)).status, 404);
    });
});

describe("stacks: byoc:customer.maintenanceWindow", () => {
    const with_ = (w: unknown) => parseStackConfig({ ...customerConfig("mw1"), "byoc:customer": { id: "mw1", maintenanceWindow: w } });
    it("accepts a weekly UTC window and refuses anything else with the format", () => {
        assert.equal(with_("Tue 02:00-04:00 UTC").ok, true);
        assert.equal(with_("Sun 22:00-24:00 UTC").ok, true);
        for (const bad of ["Tue 2:00-4:00 UTC", "Tuesday 02:00-04:00 UTC", "Tue 04:00-02:00 UTC", "Tue 02:00-04:00 CET", 5]) {
            const r = with_(bad);
            assert.equal(r.ok, false, String(bad));
            if (!r.ok) assert.match(JSON.stringify(r.problems), /byoc:customer.maintenanceWindow.*weekly UTC window such as \\"Tue 02:00-04:00 UTC\\"/);
        }
    });
});

describe("portal: destroying a prod customer needs an explicit confirmation", function () {
    this.timeout(60_000);
    let h: Harness;
    beforeEach(async () => (h = await startHarness()));
    afterEach(() => h.close());

    it("DELETE without ?confirm=<id> is refused (409) for prod, accepted with it and audited; dev needs none", async () => {
        assert.equal((await h.call("POST", "/api/customers", TOKENS.operator, { stack: "pf1", config: prodCustomerConfig("pf1") })).status, 202);
        assert.equal((await h.call("POST", "/api/customers", TOKENS.operator, { stack: "df1", config: customerConfig("df1") })).status, 202);
        const refused = await h.call("DELETE", "/api/customers/pf1", TOKENS.operator);
        assert.equal(refused.status, 409);
        assert.match(refused.body.error, /deletion protection .*repeat with \?confirm=pf1/);
        assert.equal((await h.call("DELETE", "/api/customers/pf1?confirm=df1", TOKENS.operator)).status, 409);
        const ok = await h.call("DELETE", "/api/customers/pf1?confirm=pf1", TOKENS.operator);
        assert.equal(ok.status, 202, JSON.stringify(ok.body));
        assert.equal(ok.body.job.kind, "destroy");
        const audit = (await h.call("GET", "/api/audit?subject=pf1", TOKENS.auditor)).body.entries.find((e: any) => e.action === "customer.destroy-requested");
        assert.deepEqual(audit.details, { environment: "prod", confirmed: true });
        assert.equal((await h.call("DELETE", "/api/customers/df1", TOKENS.operator)).status, 202);
    });
});
