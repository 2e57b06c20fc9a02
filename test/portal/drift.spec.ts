// Drift detection: a `drift` job per deployed stack, scheduled (BYOC_DRIFT_SECONDS) or on demand
// (POST /api/customers/:id/drift-check), that changes nothing — offline: the program runs again and its outputs
// are compared with the recorded ones; pulumi: a preview-only refresh (the exact CLI calls via the recording fake).
// The finding is kept on the customer, shown by GET /api/customers/:id and the list, and audited when it changes.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { PulumiEngine } from "../../automation";
import type { OfflinePreviewFn } from "../../automation/offline";
import { FakePulumi } from "../automation/fakePulumi";
import { Clock, customerConfig, Harness, quickPreview, startHarness, tempDir, TOKENS } from "./helpers";

/** The stand-in program, with a switch that makes it produce another vpcId than the one recorded (drift). */
function switchablePreview(): { preview: OfflinePreviewFn; drift: Set<string>; broken: Set<string>; secretDrift: Set<string> } {
    const drift = new Set<string>();
    const broken = new Set<string>();
    const secretDrift = new Set<string>();
    const preview: OfflinePreviewFn = async (stack, raw, opts) => {
        if (broken.has(stack)) return { exitCode: 1, problems: [], error: "provider exploded", resourceCount: 0 };
        const r = await quickPreview(stack, raw, opts);
        if (drift.has(stack) && r.outputs) return { ...r, outputs: { ...r.outputs, vpcId: "vpc-changed-by-hand" } };
        // kubeconfig is a secret output (portal SECRET_OUTPUTS): it only appears, with a credential in it, in secretDrift.
        if (secretDrift.has(stack) && r.outputs) return { ...r, outputs: { ...r.outputs, kubeconfig: "token: k8s-aws-v1.SECRET-TOKEN" } };
        return r;
    };
    return { preview, drift, broken, secretDrift };
}

async function create(h: Harness, stack: string): Promise<void> {
    const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config: customerConfig(stack) });
    assert.equal(r.status, 202, JSON.stringify(r.body));
}

async function customer(h: Harness, stack: string): Promise<any> {
    return (await h.call("GET", `/api/customers/${stack}`, TOKENS.operator)).body.customer;
}

async function driftCheck(h: Harness, stack: string): Promise<any> {
    const r = await h.call("POST", `/api/customers/${stack}/drift-check`, TOKENS.operator);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    await h.running.portal.idle();
    return (await h.call("GET", `/api/jobs/${r.body.job.id}`, TOKENS.operator)).body.job;
}

async function auditActions(h: Harness, subject: string): Promise<string[]> {
    return (await h.call("GET", `/api/audit?subject=${subject}`, TOKENS.auditor)).body.entries.map((e: any) => e.action);
}

describe("portal: drift detection", function () {
    this.timeout(60_000);

    it("offline: outputs that differ from the recorded ones are drift, matching ones are not; audited when it changes; nothing is written", async () => {
        const program = switchablePreview();
        const h = await startHarness({ preview: program.preview });
        try {
            await create(h, "acme-drift");
            await h.running.portal.idle();
            assert.equal((await customer(h, "acme-drift")).status, "deployed");
            assert.equal((await customer(h, "acme-drift")).drift, null);
            const stateFile = path.join(h.dir, "offline", "acme-drift.json");
            const state = fs.readFileSync(stateFile, "utf8");

            // Matches: no drift.
            const clean = await driftCheck(h, "acme-drift");
            assert.equal(clean.kind, "drift");
            assert.equal(clean.state, "succeeded", clean.log);
            let c = await customer(h, "acme-drift");
            assert.deepEqual(c.drift, { checkedAt: h.clock.now().toISOString(), drifted: false, changes: [], job: clean.id });

            // The program now produces another vpcId than the recorded one: drift.
            program.drift.add("acme-drift");
            h.clock.advanceHours(1);
            const found = await driftCheck(h, "acme-drift");
            assert.equal(found.state, "succeeded", found.log);
            c = await customer(h, "acme-drift");
            assert.equal(c.drift.drifted, true);
            assert.equal(c.drift.checkedAt, h.clock.now().toISOString());
            assert.deepEqual(c.drift.changes, [{ subject: "output:vpcId", op: "changed", recorded: JSON.parse(state).outputs.vpcId, current: "vpc-changed-by-hand" }]);
            const listed = (await h.call("GET", "/api/customers", TOKENS.auditor)).body.customers.find((x: any) => x.id === "acme-drift");
            assert.deepEqual(listed.drift, c.drift);
            // A drift check neither rewrites the recorded state nor the stored outputs, nor the status.
            assert.equal(fs.readFileSync(stateFile, "utf8"), state);
            assert.equal(c.status, "deployed");
            assert.equal(c.outputs.vpcId, JSON.parse(state).outputs.vpcId);

            // The same drift again: not audited a second time.
            await driftCheck(h, "acme-drift");
            // Back in line: cleared.
            program.drift.delete("acme-drift");
            await driftCheck(h, "acme-drift");
            assert.equal((await customer(h, "acme-drift")).drift.drifted, false);
            const actions = (await auditActions(h, "acme-drift")).filter((a) => a.startsWith("customer.drift"));
            assert.deepEqual(actions, ["customer.drift-detected", "customer.drift-cleared"]);

            // A drift check that fails keeps the last finding.
            const last = (await customer(h, "acme-drift")).drift;
            program.broken.add("acme-drift");
            h.clock.advanceHours(1);
            const failed = await driftCheck(h, "acme-drift");
            assert.equal(failed.state, "failed");
            assert.deepEqual((await customer(h, "acme-drift")).drift, last);
            assert.equal((await customer(h, "acme-drift")).drift.drifted, false);
            assert.equal((await customer(h, "acme-drift")).status, "deployed");
        } finally {
            await h.close();
        }
    });

    it("a drifted secret output is recorded and audited by name only, never with its value", async () => {
        const program = switchablePreview();
        const h = await startHarness({ preview: program.preview });
        try {
            await create(h, "acme-secret");
            await h.running.portal.idle();
            program.secretDrift.add("acme-secret");
            const found = await driftCheck(h, "acme-secret");
            assert.equal(found.state, "succeeded", found.log);
            const c = await customer(h, "acme-secret");
            assert.equal(c.drift.drifted, true);
            assert.deepEqual(c.drift.changes, [{ subject: "output:kubeconfig", op: "added", current: "[secret]" }]);
            const audit = (await h.call("GET", "/api/audit?subject=acme-secret", TOKENS.auditor)).body.entries;
            assert.ok(audit.some((e: any) => e.action === "customer.drift-detected"));
            const everything = JSON.stringify({ c, audit, list: (await h.call("GET", "/api/customers", TOKENS.auditor)).body });
            assert.ok(!everything.includes("SECRET-TOKEN"), everything);
        } finally {
            await h.close();
        }
    });

    it("POST drift-check twice while the first waits in the queue: the same job, audited job.reused", async () => {
        const h = await startHarness({ preview: switchablePreview().preview });
        try {
            await create(h, "acme-twice");
            await h.running.portal.idle();
            h.engine.hold();
            const busy = await h.call("POST", "/api/customers/acme-twice/preview", TOKENS.operator);
            assert.equal(busy.status, 202);
            const first = await h.call("POST", "/api/customers/acme-twice/drift-check", TOKENS.operator);
            const second = await h.call("POST", "/api/customers/acme-twice/drift-check", TOKENS.operator);
            assert.equal(first.status, 202, JSON.stringify(first.body));
            assert.equal(first.body.job.state, "queued");
            assert.equal(second.body.job.id, first.body.job.id);
            const reused = (await h.call("GET", `/api/audit?subject=${first.body.job.id}`, TOKENS.auditor)).body.entries.filter((e: any) => e.action === "job.reused");
            assert.equal(reused.length, 1);
            h.engine.release();
            await h.running.portal.idle();
            // Once that one ran, a new request is a new job.
            const third = await h.call("POST", "/api/customers/acme-twice/drift-check", TOKENS.operator);
            assert.notEqual(third.body.job.id, first.body.job.id);
        } finally {
            h.engine.release();
            await h.close();
        }
    });

    it("POST drift-check: operators only, deployed stacks only", async () => {
        const program = switchablePreview();
        program.broken.add("acme-broken");
        const h = await startHarness({ preview: program.preview });
        try {
            await create(h, "acme-broken");
            await h.running.portal.idle();
            assert.equal((await customer(h, "acme-broken")).status, "failed");
            assert.equal((await h.call("POST", "/api/customers/acme-broken/drift-check", TOKENS.engineer)).status, 403);
            const r = await h.call("POST", "/api/customers/acme-broken/drift-check", TOKENS.operator);
            assert.equal(r.status, 409);
            assert.match(r.body.error, /failed; only a deployed stack/);
            assert.equal((await h.call("POST", "/api/customers/nobody/drift-check", TOKENS.operator)).status, 404);
        } finally {
            await h.close();
        }
    });

    it("scheduler: queues drift checks only for deployed stacks that are due and idle, one operation per stack", async () => {
        const program = switchablePreview();
        program.broken.add("acme-failed");
        const clock = new Clock();
        const h = await startHarness({ preview: program.preview, clock, driftIntervalMs: 6 * 3600_000 });
        const portal = h.running.portal;
        try {
            for (const s of ["acme-idle", "acme-busy", "acme-failed", "acme-gone"]) await create(h, s);
            await portal.idle();
            assert.equal((await h.call("DELETE", "/api/customers/acme-gone", TOKENS.operator)).status, 202);
            await portal.idle();
            assert.equal((await customer(h, "acme-gone")).status, "destroyed");
            assert.deepEqual(portal.scheduleDriftChecks(), [], "not due within the interval after creation");

            clock.advanceHours(7);
            // acme-busy has a job running (held): no drift check is queued behind or next to it.
            h.engine.hold();
            const busy = await h.call("POST", "/api/customers/acme-busy/preview", TOKENS.operator);
            assert.equal(busy.status, 202);
            await new Promise((r) => setTimeout(r, 50));
            assert.equal((await h.call("GET", `/api/jobs/${busy.body.job.id}`, TOKENS.operator)).body.job.state, "running");
            const queued = portal.scheduleDriftChecks();
            assert.equal(queued.length, 1);
            const job = portal.getJob(queued[0]);
            assert.deepEqual([job.customer, job.kind, job.requestedBy], ["acme-idle", "drift", "system:drift"]);
            assert.deepEqual(portal.scheduleDriftChecks(), [], "the queued check is not queued twice");
            h.engine.release();
            await portal.idle();
            assert.equal(portal.getJob(queued[0]).state, "succeeded");
            assert.equal((await customer(h, "acme-idle")).drift.drifted, false);
            assert.equal((await customer(h, "acme-busy")).drift, null);

            // An hour later only the stack not checked yet is due; six hours after the check, both.
            clock.advanceHours(1);
            assert.deepEqual(portal.scheduleDriftChecks().map((id) => portal.getJob(id).customer), ["acme-busy"]);
            await portal.idle();
            clock.advanceHours(6);
            assert.deepEqual(portal.scheduleDriftChecks().map((id) => portal.getJob(id).customer).sort(), ["acme-busy", "acme-idle"]);
            await portal.idle();
            assert.equal(h.engine.maxPerStack, 1, "never two operations on one stack");
            assert.ok(h.engine.started.filter((s) => s.startsWith("drift:")).every((s) => s === "drift:acme-idle" || s === "drift:acme-busy"));
            // Status untouched by the checks.
            assert.equal((await customer(h, "acme-failed")).status, "failed");
            assert.equal((await customer(h, "acme-idle")).status, "deployed");
        } finally {
            h.engine.release();
            await h.close();
        }
    });

    it("scheduler: driftIntervalMs 0 turns scheduled checks off", async () => {
        const clock = new Clock();
        const h = await startHarness({ clock, driftIntervalMs: 0 });
        try {
            await create(h, "acme-off");
            await h.running.portal.idle();
            clock.advanceHours(24 * 30);
            assert.deepEqual(h.running.portal.scheduleDriftChecks(), []);
            // On demand still works.
            assert.equal((await driftCheck(h, "acme-off")).state, "succeeded");
        } finally {
            await h.close();
        }
    });

    it("pulumi: a drift check is `pulumi refresh --preview-only` and nothing else (no config change, no update)", async () => {
        const fake = new FakePulumi();
        const workDir = tempDir("byoc-workdir-");
        const engine = new PulumiEngine({
            workDir,
            backendUrl: "file:///srv/state",
            secretsProvider: "passphrase",
            envVars: { PULUMI_BACKEND_URL: "file:///srv/state", PULUMI_CONFIG_PASSPHRASE: "correct horse" },
            policyPackDir: `${workDir}/policies`,
            policyConfigDir: `${workDir}/policies/config`,
            pulumiCommand: fake.asCommand(),
        });
        const h = await startHarness({ engine });
        try {
            await create(h, "acme-pulumi");
            await h.running.portal.idle();
            assert.equal((await customer(h, "acme-pulumi")).status, "deployed");
            const from = fake.calls.length;
            const job = await driftCheck(h, "acme-pulumi");
            assert.equal(job.state, "succeeded", job.log);
            assert.deepEqual(fake.argv().slice(from), [
                ["stack", "select", "--stack", "acme-pulumi"],
                ["refresh", "--preview-only", "--exec-kind", "auto.local", "--event-log", "tcp://127.0.0.1:<port>", "--stack", "acme-pulumi"],
            ]);
            const drift = (await customer(h, "acme-pulumi")).drift;
            assert.deepEqual({ drifted: drift.drifted, changes: drift.changes }, { drifted: false, changes: [] });
        } finally {
            await h.close();
        }
    });
});
