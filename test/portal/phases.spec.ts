// The portal drives the phases of a private API endpoint (stacks/schema.ts ApiAccess) without a human: after
// the first `up` of a privateEndpointOnly stack (phase bootstrap) it moves the stored config to phase switchover
// and queues the `up` that moves the Kubernetes provider to the tailnet while the public endpoint stays open;
// after that up succeeded (the proof the tailnet path works) it moves to phase tailnet and queues the `up` that
// closes the public endpoint — or records why not — and operators open and close break-glass over HTTP. With the
// offline engine (real program and stand-in) and with the pulumi engine over the recording fake CLI (the exact
// config changes and ups).
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import Database from "better-sqlite3";
import { PulumiEngine } from "../../automation";
import type { OfflinePreviewFn } from "../../automation/offline";
import { SWITCHOVER_UP_REASON, TAILNET_UP_REASON } from "../../portal/service";
import { Store } from "../../portal/store";
import { FakePulumi } from "../automation/fakePulumi";
import { customerConfig, Harness, privateCustomerConfig, quickPreview, startHarness, tempDir, TOKENS, until } from "./helpers";

async function jobDone(h: Harness, id: string): Promise<any> {
    return until(`job ${id}`, async () => {
        const { body } = await h.call("GET", `/api/jobs/${id}`, TOKENS.operator);
        return ["succeeded", "failed", "interrupted"].includes(body.job.state) && body.job;
    });
}

/** Every job of the stack, oldest first, once none is queued or running. */
async function settledJobs(h: Harness, stack: string): Promise<any[]> {
    await h.running.portal.idle();
    const jobs = (await h.call("GET", `/api/jobs?customer=${stack}`, TOKENS.operator)).body.jobs.reverse();
    for (const j of jobs) assert.ok(["succeeded", "failed", "interrupted"].includes(j.state), `${j.id} is ${j.state}`);
    return jobs;
}

async function customer(h: Harness, stack: string): Promise<any> {
    return (await h.call("GET", `/api/customers/${stack}`, TOKENS.operator)).body.customer;
}

async function auditOf(h: Harness, subject: string): Promise<any[]> {
    return (await h.call("GET", `/api/audit?subject=${subject}`, TOKENS.auditor)).body.entries;
}

async function create(h: Harness, stack: string, config: Record<string, unknown>): Promise<any> {
    const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body;
}

describe("portal: private API phases", function () {
    this.timeout(60_000);

    it("real program: a private stack ends in phase tailnet after three ups (bootstrap, switchover, tailnet), with no human action", async () => {
        const h = await startHarness({ program: "real" });
        try {
            const created = await create(h, "acme-tn", privateCustomerConfig("acme-tn"));
            assert.deepEqual(created.customer.apiAccess, { phase: "bootstrap", applied: null, note: null });
            const jobs = await until("three jobs", async () => {
                const all = await settledJobs(h, "acme-tn");
                return all.length === 3 && all;
            });
            const [first, second, third] = jobs;
            assert.equal(first.id, created.job.id);
            assert.deepEqual(jobs.map((j) => [j.kind, j.state, j.requestedBy, j.reason]), [
                ["up", "succeeded", "operator@example.com", "initial deployment"],
                ["up", "succeeded", "system:phase", SWITCHOVER_UP_REASON],
                ["up", "succeeded", "system:phase", TAILNET_UP_REASON],
            ]);
            assert.deepEqual(h.engine.started, ["up:acme-tn", "up:acme-tn", "up:acme-tn"]);
            assert.ok(Date.parse(second.startedAt) >= Date.parse(first.finishedAt));
            assert.ok(Date.parse(third.startedAt) >= Date.parse(second.finishedAt));
            for (const j of jobs) assert.deepEqual(j.violations.filter((v: any) => v.enforcementLevel === "mandatory"), [], j.id);

            const c = await customer(h, "acme-tn");
            assert.equal(c.status, "deployed");
            assert.deepEqual(c.config["byoc:controlPlane"], { ...(privateCustomerConfig("acme-tn")["byoc:controlPlane"] as object), phase: "tailnet" });
            assert.equal(c.outputs.clusterApiAccess, "tailnet");
            assert.equal(c.outputs.clusterEndpointAccess, "private");
            const mgmt = c.flows.find((f: any) => f.flow === "Management → EKS API");
            assert.equal(mgmt.exposure, "private");
            assert.match(mgmt.restrictedBy, /^phase tailnet/);
            assert.equal(c.apiAccess.phase, "tailnet");
            assert.equal(c.apiAccess.applied, "tailnet");
            assert.match(c.apiAccess.note, new RegExp(`^phase tailnet applied by ${third.id}`));
            const listed = (await h.call("GET", "/api/customers", TOKENS.auditor)).body.customers.find((x: any) => x.id === "acme-tn");
            assert.deepEqual(listed.apiAccess, c.apiAccess);
            // The engine ran the last up with the tailnet config (the offline state records it).
            const state = JSON.parse(fs.readFileSync(path.join(h.dir, "offline", "acme-tn.json"), "utf8"));
            assert.equal(state.config["byoc:controlPlane"].phase, "tailnet");

            const changed = (await auditOf(h, "acme-tn")).filter((a) => a.action === "customer.phase-changed");
            assert.equal(changed.length, 2, "both phase changes are audited");
            for (const a of changed) assert.equal(a.actor, "system:phase");
            assert.deepEqual({ ...changed[0].details, device: undefined }, { from: "bootstrap", to: "switchover", after: first.id, job: second.id, device: undefined });
            assert.equal(changed[0].details.device.deviceName, "k8s-acme-tn-us-east-1");
            assert.ok(changed[0].details.device.addresses.length > 0);
            assert.deepEqual(changed[1].details, { from: "switchover", to: "tailnet", after: second.id, job: third.id, proof: second.id });
            for (const [job, reason] of [[second, SWITCHOVER_UP_REASON], [third, TAILNET_UP_REASON]]) {
                const queued = (await auditOf(h, job.id)).find((a) => a.action === "job.queued");
                assert.deepEqual([queued.actor, queued.details.reason], ["system:phase", reason]);
            }
            // Audit order: each up succeeded, then the portal moved the phase, then the next up ran.
            const all = (await h.call("GET", "/api/audit", TOKENS.auditor)).body.entries.map((a: any) => `${a.action} ${a.subject} ${a.details?.to ?? ""}`);
            const at = (e: string) => {
                const i = all.findIndex((x: string) => x.startsWith(e));
                assert.ok(i >= 0, e);
                return i;
            };
            assert.ok(at(`job.succeeded ${first.id}`) < at("customer.phase-changed acme-tn switchover"));
            assert.ok(at("customer.phase-changed acme-tn switchover") < at(`job.started ${second.id}`));
            assert.ok(at(`job.succeeded ${second.id}`) < at("customer.phase-changed acme-tn tailnet"));
            assert.ok(at("customer.phase-changed acme-tn tailnet") < at(`job.started ${third.id}`));
        } finally {
            await h.close();
        }
    });

    describe("with the stand-in program", () => {
        let h: Harness;
        let hideDevice = false;
        /** Stacks whose ups in phase switchover fail, as when the runner is not on the tailnet. */
        const noTailnetPath = new Set<string>();
        const preview: OfflinePreviewFn = async (stack, raw, opts) => {
            const cp = raw["byoc:controlPlane"] as { phase?: string; breakGlass?: boolean } | undefined;
            if (noTailnetPath.has(stack) && cp?.phase === "switchover" && !cp.breakGlass) {
                throw new Error(`kubernetes: Get "https://k8s-${stack}-us-east-1/version": dial tcp: lookup k8s-${stack}-us-east-1: no such host`);
            }
            const r = await quickPreview(stack, raw, opts);
            if (hideDevice && r.outputs) r.outputs = { ...r.outputs, tailnetDevices: {} };
            if (stack === "swstale" && r.outputs) r.outputs = { ...r.outputs, clusterApiAccess: "bootstrap" }; // a program that ignores the phase
            return r;
        };
        before(async () => (h = await startHarness({ preview })));
        after(async () => h?.close());

        it("a stack without byoc:tailscale.managementTag stays in bootstrap, audited with the reason", async () => {
            const created = await create(h, "notag", privateCustomerConfig("notag", { managementTag: null }));
            // Said up front, before anything runs.
            assert.match(created.customer.apiAccess.note, /^will stay in phase bootstrap after the initial deployment: byoc:tailscale\.managementTag: is required/);
            const jobs = await settledJobs(h, "notag");
            assert.deepEqual(jobs.map((j) => [j.kind, j.state, j.reason]), [["up", "succeeded", "initial deployment"]]);
            const c = await customer(h, "notag");
            assert.equal(c.status, "deployed");
            assert.equal(c.config["byoc:controlPlane"].phase, undefined);
            assert.equal(c.outputs.clusterApiAccess, "bootstrap");
            assert.equal(c.apiAccess.phase, "bootstrap");
            assert.equal(c.apiAccess.applied, "bootstrap");
            assert.match(c.apiAccess.note, /^stays in phase bootstrap \(public API endpoint open, restricted to byoc:controlPlane\.managementCidrs\): byoc:tailscale\.managementTag: is required/);
            const blocked = (await auditOf(h, "notag")).filter((a) => a.action === "customer.phase-blocked");
            assert.equal(blocked.length, 1);
            assert.equal(blocked[0].actor, "system:phase");
            assert.deepEqual([blocked[0].details.from, blocked[0].details.to, blocked[0].details.after], ["bootstrap", "switchover", jobs[0].id]);
            assert.match(blocked[0].details.reasons.join("\n"), /byoc:tailscale\.managementTag: is required with byoc:controlPlane\.phase "switchover"/);
            assert.equal((await auditOf(h, "notag")).filter((a) => a.action === "customer.phase-changed").length, 0);
        });

        it("a stack without the kubernetes-api endpoint stays in bootstrap", async () => {
            await create(h, "noapi", privateCustomerConfig("noapi", { tailscale: { endpoints: ["metrics"] } }));
            assert.equal((await settledJobs(h, "noapi")).length, 1);
            const c = await customer(h, "noapi");
            assert.equal(c.apiAccess.phase, "bootstrap");
            assert.match(c.apiAccess.note, /byoc:controlPlane\.phase: needs "kubernetes-api" in byoc:tailscale\.endpoints/);
        });

        it("does not close the public endpoint before the tailnet device is there; a later up advances", async () => {
            hideDevice = true;
            try {
                await create(h, "nodevice", privateCustomerConfig("nodevice"));
                assert.equal((await settledJobs(h, "nodevice")).length, 1);
            } finally {
                hideDevice = false;
            }
            let c = await customer(h, "nodevice");
            assert.equal(c.apiAccess.phase, "bootstrap");
            assert.match(c.apiAccess.note, /no tailnet device for kubernetes-api/);
            const blocked = (await auditOf(h, "nodevice")).find((a) => a.action === "customer.phase-blocked");
            assert.match(blocked.details.reasons[0], /tailnetDevices\["kubernetes-api"\]/);
            // The agent is on the tailnet now: the operator's next up is followed by the portal's switchover and tailnet ups.
            const up = await h.call("POST", "/api/customers/nodevice/up", TOKENS.operator);
            assert.equal(up.status, 202);
            const jobs = await until("four jobs", async () => {
                const all = await settledJobs(h, "nodevice");
                return all.length === 4 && all;
            });
            assert.deepEqual(jobs.map((j) => [j.state, j.reason]).slice(1), [
                ["succeeded", "requested by operator@example.com"],
                ["succeeded", SWITCHOVER_UP_REASON],
                ["succeeded", TAILNET_UP_REASON],
            ]);
            c = await customer(h, "nodevice");
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied, c.outputs.clusterApiAccess], ["tailnet", "tailnet", "tailnet"]);
        });

        it("a failed switchover up closes nothing: the stack stays in switchover, nothing more is queued; a re-run moves on", async () => {
            noTailnetPath.add("swfail");
            let jobs: any[];
            try {
                await create(h, "swfail", privateCustomerConfig("swfail"));
                jobs = await until("two jobs", async () => {
                    const all = await settledJobs(h, "swfail");
                    return all.length === 2 && all;
                });
            } finally {
                noTailnetPath.delete("swfail");
            }
            const failed = jobs[1];
            assert.deepEqual(jobs.map((j) => [j.state, j.requestedBy, j.reason]), [
                ["succeeded", "operator@example.com", "initial deployment"],
                ["failed", "system:phase", SWITCHOVER_UP_REASON],
            ]);
            assert.match(failed.message, /no such host/);
            let c = await customer(h, "swfail");
            // Configured switchover; applied (the outputs of the last successful up) still bootstrap: public endpoint open.
            assert.equal(c.status, "deployed");
            assert.equal(c.config["byoc:controlPlane"].phase, "switchover");
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied, c.outputs.clusterApiAccess], ["switchover", "bootstrap", "bootstrap"]);
            assert.match(c.apiAccess.note, new RegExp(`^the up to phase switchover failed \\(${failed.id}: .*\\); nothing was closed: the public API endpoint is still open .*no break-glass is needed`));
            assert.match(c.apiAccess.note, /on the tailnet with tag tag:byoc-management/);
            assert.match(c.apiAccess.note, new RegExp(`Re-run ${failed.id} \\(POST /api/jobs/${failed.id}/rerun\\)`));
            const changed = (await auditOf(h, "swfail")).filter((a) => a.action === "customer.phase-changed");
            assert.deepEqual(changed.map((a) => [a.details.from, a.details.to]), [["bootstrap", "switchover"]]);
            await h.running.portal.idle();
            assert.equal((await settledJobs(h, "swfail")).length, 2, "no up is queued after the failed switchover up");

            // The runner is on the tailnet now: the operator re-runs the failed up, the portal closes the endpoint.
            const rerun = await h.call("POST", `/api/jobs/${failed.id}/rerun`, TOKENS.operator);
            assert.equal(rerun.status, 202);
            jobs = await until("four jobs", async () => {
                const all = await settledJobs(h, "swfail");
                return all.length === 4 && all;
            });
            assert.deepEqual(jobs.slice(2).map((j) => [j.state, j.requestedBy, j.reason]), [
                ["succeeded", "operator@example.com", `re-run of ${failed.id} by operator@example.com`],
                ["succeeded", "system:phase", TAILNET_UP_REASON],
            ]);
            c = await customer(h, "swfail");
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied], ["tailnet", "tailnet"]);
            const last = (await auditOf(h, "swfail")).filter((a) => a.action === "customer.phase-changed").pop();
            assert.deepEqual(last.details, { from: "switchover", to: "tailnet", after: jobs[2].id, job: jobs[3].id, proof: jobs[2].id });
        });

        it("a switchover up whose outputs do not say switchover proves nothing: the public endpoint stays open", async () => {
            await create(h, "swstale", privateCustomerConfig("swstale"));
            const jobs = await until("two jobs", async () => {
                const all = await settledJobs(h, "swstale");
                return all.length === 2 && all;
            });
            assert.deepEqual(jobs.map((j) => [j.state, j.reason]), [["succeeded", "initial deployment"], ["succeeded", SWITCHOVER_UP_REASON]]);
            const c = await customer(h, "swstale");
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied], ["switchover", "bootstrap"]);
            assert.match(c.apiAccess.note, /^stays in phase switchover \(public API endpoint still open.*output clusterApiAccess is "bootstrap", not "switchover"/);
            const blocked = (await auditOf(h, "swstale")).filter((a) => a.action === "customer.phase-blocked");
            assert.deepEqual(blocked.map((a) => [a.actor, a.details.from, a.details.to, a.details.after]), [["system:phase", "switchover", "tailnet", jobs[1].id]]);
        });

        it("break-glass in switchover puts the provider back on the EKS endpoint; closing it retries switchover", async () => {
            noTailnetPath.add("swglass");
            try {
                await create(h, "swglass", privateCustomerConfig("swglass"));
                await until("two jobs", async () => (await settledJobs(h, "swglass")).length === 2);
                assert.deepEqual((await customer(h, "swglass")).apiAccess.phase, "switchover");
                const opened = await h.call("POST", "/api/customers/swglass/break-glass", TOKENS.operator, { reason: "runner off the tailnet INC-7" });
                assert.equal(opened.status, 202, JSON.stringify(opened.body));
                assert.equal((await jobDone(h, opened.body.job.id)).state, "succeeded");
                const c = await customer(h, "swglass");
                assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied], ["break-glass", "break-glass"]);
                assert.equal((await settledJobs(h, "swglass")).length, 3, "no phase change from break-glass");
            } finally {
                noTailnetPath.delete("swglass");
            }
            const closed = await h.call("POST", "/api/customers/swglass/break-glass/close", TOKENS.operator, { reason: "INC-7 resolved" });
            assert.equal(closed.status, 202, JSON.stringify(closed.body));
            assert.equal(closed.body.job.reason, "close break-glass: back to phase switchover (INC-7 resolved)");
            const jobs = await until("five jobs", async () => {
                const all = await settledJobs(h, "swglass");
                return all.length === 5 && all;
            });
            // The close up applied switchover and succeeded: the proof; the portal then closes the endpoint.
            assert.deepEqual(jobs.slice(3).map((j) => [j.state, j.reason]), [["succeeded", "close break-glass: back to phase switchover (INC-7 resolved)"], ["succeeded", TAILNET_UP_REASON]]);
            assert.deepEqual((await customer(h, "swglass")).apiAccess.applied, "tailnet");
            const glass = (await auditOf(h, "swglass")).filter((a) => a.action.startsWith("customer.break-glass"));
            assert.deepEqual(glass.map((a) => [a.details.from, a.details.to]), [["switchover", "break-glass"], ["break-glass", "switchover"]]);
        });

        it("a public stack has phase public and is never touched", async () => {
            await create(h, "pubstack", customerConfig("pubstack"));
            assert.equal((await settledJobs(h, "pubstack")).length, 1);
            const c = await customer(h, "pubstack");
            assert.deepEqual(c.apiAccess, { phase: "public", applied: "public", note: null });
            assert.deepEqual((await auditOf(h, "pubstack")).map((a) => a.action), ["customer.created"]);
        });

        it("refuses to create a stack in phase switchover or tailnet or with break-glass open", async () => {
            const raw = privateCustomerConfig("early");
            const cp = raw["byoc:controlPlane"] as Record<string, unknown>;
            for (const [key, value, message] of [
                ["phase", "switchover", /a new stack starts in phase "bootstrap"/],
                ["phase", "tailnet", /a new stack starts in phase "bootstrap"/],
                ["breakGlass", true, /break-glass is opened on a deployed stack with POST \/api\/customers\/:id\/break-glass/],
            ] as const) {
                const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack: "early", config: { ...raw, "byoc:controlPlane": { ...cp, [key]: value } } });
                assert.equal(r.status, 400);
                const p = r.body.problems.find((x: any) => x.path === `byoc:controlPlane.${key}`);
                assert.match(p.message, message);
            }
            assert.equal((await h.call("GET", "/api/customers/early", TOKENS.operator)).status, 404);
        });

        it("break-glass: operators open and close it with a reason; config, ups and audit follow", async () => {
            await create(h, "glass", privateCustomerConfig("glass"));
            await until("phase tailnet", async () => (await settledJobs(h, "glass")).length === 3);
            assert.equal((await customer(h, "glass")).apiAccess.applied, "tailnet");

            // Roles: only operators.
            for (const token of [TOKENS.engineer, TOKENS.auditor, TOKENS.approver]) {
                for (const url of ["/api/customers/glass/break-glass", "/api/customers/glass/break-glass/close"]) {
                    const r = await h.call("POST", url, token, { reason: "let me in" });
                    assert.equal(r.status, 403, `${url} with ${token}`);
                    assert.match(r.body.error, /needs the operator role/);
                }
            }
            const noReason = await h.call("POST", "/api/customers/glass/break-glass", TOKENS.operator, {});
            assert.equal(noReason.status, 400);
            assert.equal(noReason.body.problems[0].path, "reason");
            assert.equal((await h.call("POST", "/api/customers/glass/break-glass/close", TOKENS.operator, { reason: "nothing open" })).status, 409);
            assert.equal((await settledJobs(h, "glass")).length, 3, "refused requests queue nothing");

            const opened = await h.call("POST", "/api/customers/glass/break-glass", TOKENS.operator, { reason: "tailnet outage INC-42" });
            assert.equal(opened.status, 202, JSON.stringify(opened.body));
            assert.equal(opened.body.job.kind, "up");
            assert.equal(opened.body.job.requestedBy, "operator@example.com");
            assert.equal(opened.body.job.reason, "break-glass: reopen the restricted public API endpoint (tailnet outage INC-42)");
            assert.equal(opened.body.customer.apiAccess.phase, "break-glass");
            assert.equal((await jobDone(h, opened.body.job.id)).state, "succeeded");
            let c = await customer(h, "glass");
            assert.equal(c.config["byoc:controlPlane"].breakGlass, true);
            assert.equal(c.config["byoc:controlPlane"].phase, "tailnet");
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied, c.outputs.clusterApiAccess], ["break-glass", "break-glass", "break-glass"]);
            assert.match(c.apiAccess.note, /^break-glass opened by operator@example\.com at .*: tailnet outage INC-42$/);
            assert.equal((await h.call("POST", "/api/customers/glass/break-glass", TOKENS.operator, { reason: "again" })).status, 409);

            const closed = await h.call("POST", "/api/customers/glass/break-glass/close", TOKENS.operator, { reason: "INC-42 resolved" });
            assert.equal(closed.status, 202, JSON.stringify(closed.body));
            assert.equal(closed.body.job.reason, "close break-glass: back to phase tailnet (INC-42 resolved)");
            assert.equal((await jobDone(h, closed.body.job.id)).state, "succeeded");
            c = await customer(h, "glass");
            assert.equal(c.config["byoc:controlPlane"].breakGlass, false);
            assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied, c.outputs.clusterApiAccess], ["tailnet", "tailnet", "tailnet"]);
            // Exactly one up per request, nothing queued behind the operator's back.
            assert.equal((await settledJobs(h, "glass")).length, 5);

            const entries = (await auditOf(h, "glass")).filter((a) => a.action.startsWith("customer.break-glass"));
            assert.deepEqual(entries.map((a) => [a.action, a.actor, a.details]), [
                ["customer.break-glass-opened", "operator@example.com", { reason: "tailnet outage INC-42", from: "tailnet", to: "break-glass", job: opened.body.job.id }],
                ["customer.break-glass-closed", "operator@example.com", { reason: "INC-42 resolved", from: "break-glass", to: "tailnet", job: closed.body.job.id }],
            ]);
        });

        it("break-glass: 409 on public and bootstrap stacks, 404 on unknown ones", async () => {
            const pub = await h.call("POST", "/api/customers/pubstack/break-glass", TOKENS.operator, { reason: "let me in" });
            assert.equal(pub.status, 409);
            assert.match(pub.body.error, /public API endpoint/);
            const boot = await h.call("POST", "/api/customers/notag/break-glass", TOKENS.operator, { reason: "let me in" });
            assert.equal(boot.status, 409);
            assert.match(boot.body.error, /phase bootstrap: the restricted public endpoint is still open/);
            assert.equal((await h.call("POST", "/api/customers/ghost/break-glass", TOKENS.operator, { reason: "let me in" })).status, 404);
        });
    });

    it("opens a database from before the phases: adds the api_note column, keeps the rows", () => {
        const file = path.join(tempDir(), "old.db");
        const old = new Database(file);
        old.exec(`CREATE TABLE customers (id TEXT PRIMARY KEY, environment TEXT NOT NULL, customer_id TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
            status TEXT NOT NULL, outputs TEXT, last_job TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
        old.prepare("INSERT INTO customers VALUES ('oldco', 'prod', 'oldco', 'Old Co', ?, 'deployed', ?, NULL, 'x', 't', 't')").run(JSON.stringify(privateCustomerConfig("oldco")), JSON.stringify({ clusterApiAccess: "bootstrap" }));
        old.close();
        const store = new Store(file);
        try {
            assert.equal(store.customer("oldco")!.api_note, null);
            const [row] = store.customerSummaries();
            assert.deepEqual([row.cp_private, row.cp_phase, row.api_applied], [1, null, "bootstrap"]);
            store.updateCustomer("oldco", { api_note: "noted" });
            assert.equal(store.customer("oldco")!.api_note, "noted");
        } finally {
            store.close();
        }
        new Store(file).close(); // and again: the column is there now, nothing to add
    });

    describe("with the pulumi engine (recording fake CLI)", () => {
        let warn: typeof console.warn;
        before(() => {
            // The SDK's "no summary event" warning is noise for a fake CLI.
            warn = console.warn;
            console.warn = () => undefined;
        });
        after(() => (console.warn = warn));

        it("writes phase switchover, then tailnet, with config set-all --json, each followed by its up", async () => {
            const fake = new FakePulumi();
            fake.outputsFor = (_stack, config) => {
                const cp = JSON.parse(config["byoc:controlPlane"].value) as { phase?: string; breakGlass?: boolean };
                return {
                    clusterApiAccess: cp.breakGlass ? "break-glass" : (cp.phase ?? "bootstrap"),
                    tailnetDevices: { "kubernetes-api": { deviceName: "k8s-initrode-us-east-1", addresses: ["100.101.102.103"] } },
                };
            };
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
                const raw = privateCustomerConfig("initrode");
                await create(h, "initrode", raw);
                const jobs = await until("three jobs", async () => {
                    const all = await settledJobs(h, "initrode");
                    return all.length === 3 && all;
                });
                assert.deepEqual(jobs.map((j) => [j.state, j.reason]), [["succeeded", "initial deployment"], ["succeeded", SWITCHOVER_UP_REASON], ["succeeded", TAILNET_UP_REASON]]);

                const cpIn = (phase: string) => ({ ...(raw["byoc:controlPlane"] as Record<string, unknown>), phase });
                const setAll = (phase: string) => ["config", "set-all", ...S, "--json", JSON.stringify({ "byoc:controlPlane": { value: JSON.stringify(cpIn(phase)), secret: false, objectValue: cpIn(phase) } })];
                const argv = fake.argv();
                const firstUp = argv.findIndex((a) => a[0] === "up");
                const S = ["--stack", "initrode"];
                const up = ["up", "--yes", "--skip-preview", "--policy-pack", `${workDir}/policies`, "--policy-pack-config", `${workDir}/policies/config/prod.json`, "--exec-kind", "auto.local", "--event-log", "tcp://127.0.0.1:<port>", ...S];
                const afterUp = [
                    ["stack", "output", "--json", ...S],
                    ["stack", "output", "--json", "--show-secrets", ...S],
                    ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", ...S],
                ];
                assert.deepEqual(argv.slice(firstUp), [
                    up,
                    ...afterUp,
                    // The portal's jobs: only byoc:controlPlane changed each time, so only it is written.
                    ["stack", "select", ...S],
                    ["config", "--show-secrets", "--json", ...S],
                    setAll("switchover"),
                    ["stack", "select", ...S],
                    up,
                    ...afterUp,
                    ["stack", "select", ...S],
                    ["config", "--show-secrets", "--json", ...S],
                    setAll("tailnet"),
                    ["stack", "select", ...S],
                    up,
                    ...afterUp,
                ]);
                assert.deepEqual(fake.stacks.get("initrode")!.config["byoc:controlPlane"].objectValue, cpIn("tailnet"));
                const c = await customer(h, "initrode");
                assert.deepEqual([c.apiAccess.phase, c.apiAccess.applied], ["tailnet", "tailnet"]);
            } finally {
                await h.close();
            }
        });
    });
});
