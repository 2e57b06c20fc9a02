// Vendor access in the portal, over HTTP on the offline engine: operators suspend (two runs: "suspending", then the
// portal's own "suspended") and re-enable a stack's vendor access (byoc:access.vendorAccess; the ups that apply it),
// a suspending or suspended stack takes no access request, approves none and opens no break-glass, and a job that the
// customer's account refuses the deploy role to (sts:AssumeRole: their kill switch in the bootstrap stack) makes the
// portal suspend vendor access itself — while an unrelated AccessDenied, or a refused sts:SetSourceIdentity (the
// provider's own policy), does not.
import { strict as assert } from "assert";
import * as path from "path";
import Database from "better-sqlite3";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../../automation";
import { DEPLOY_ROLE_REFUSED_REASON, StsRefusal, stsRefusalOf, SUSPENDED_UP_REASON, SWITCHOVER_UP_REASON, SYSTEM_VENDOR_ACCESS, TAILNET_UP_REASON, VENDOR_PATHS_REMOVED_REASON } from "../../portal/service";

/** The kill switch as the portal reads it: STS refused sts:AssumeRole on the role; the line that says so. */
const deployRoleRefusal = (text: string, role: string): string | undefined => {
    const found = stsRefusalOf(text, role);
    return found?.action === "AssumeRole" ? found.evidence : undefined;
};
/** A refusal of sts:SetSourceIdentity or sts:TagSession on the role (and none of sts:AssumeRole): the provider's side. */
const providerSideRefusal = (text: string, role: string): StsRefusal | undefined => {
    const found = stsRefusalOf(text, role);
    return found && found.action !== "AssumeRole" ? found : undefined;
};
import { Store } from "../../portal/store";
import { csrFor, customerConfig, Harness, privateCustomerConfig, prodCustomerConfig, quickPreview, startHarness, tempDir, TOKENS, until } from "./helpers";

/**
 * The offline engine, except that every operation (drift checks too) of a stack in `failWith` fails with that message
 * (test-only); it records the byoc:access.vendorAccess each operation ran with, by stack.
 */
class RefusingEngine implements StackEngine {
    readonly kind = "offline" as const;
    readonly failWith = new Map<string, string>();
    readonly ran = new Map<string, string[]>();
    constructor(readonly inner: OfflineEngine) {}
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext) {
        return this.inner.configure(stack, raw, ctx);
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const access = raw["byoc:access"] as { vendorAccess?: string } | undefined;
        this.ran.set(stack, [...(this.ran.get(stack) ?? []), `${op}:${access?.vendorAccess ?? "(unset)"}`]);
        const message = this.failWith.get(stack);
        if (message !== undefined) return { outcome: "failed", message };
        return this.inner.run(op, stack, raw, ctx);
    }
    async drift(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        const message = this.failWith.get(stack);
        if (message !== undefined) return { outcome: "failed", message };
        return this.inner.drift(stack, raw, ctx);
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
    close() {
        return this.inner.close();
    }
}

const ACCOUNT = "111122223333";
const deployRole = (customer: string) => `arn:aws:iam::${ACCOUNT}:role/byoc-bootstrap-${customer}-deploy`;
const supportRole = (customer: string) => `arn:aws:iam::${ACCOUNT}:role/byoc-bootstrap-${customer}-support`;
const CALLER = "arn:aws:sts::999988887777:assumed-role/byoc-portal-runner/vendor-ci";

/**
 * What the Pulumi AWS provider (terraform-provider-aws underneath, aws-sdk-go-v2) prints when STS refuses the role,
 * as in hashicorp/terraform-provider-aws#42213: Terraform's box drawing, the sentence wrapped over lines.
 */
function providerRefusal(roleArn: string): string {
    return [
        `pulumi failed on stack x: error: pulumi:providers:aws resource 'deploy' has a problem:`,
        "│ Error: Cannot assume IAM Role",
        "│ ",
        `│ IAM Role (${roleArn}) cannot be assumed.`,
        "│ ",
        "│ There are a number of possible causes of this - the most common are:",
        "│   * The credentials used in order to assume the role are invalid",
        "│   * The credentials do not have appropriate permission to assume the role",
        "│   * The role ARN is not valid",
        "│ ",
        "│ Error: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 7fc04918-fe93-4633-89d1-e1a4f2fe6e1a, api error AccessDenied: User:",
        `│ ${CALLER} is not authorized to perform: sts:AssumeRole on resource:`,
        `│ ${roleArn}`,
    ].join("\n");
}

/**
 * The same wrapper when STS refuses sts:SetSourceIdentity (the deploy role's trust requires a source identity; the
 * provider's own principal lacks the permission in its identity policy, or the role does not allow it).
 */
function providerSourceIdentityRefusal(roleArn: string): string {
    return providerRefusal(roleArn).replace("sts:AssumeRole on resource:", "sts:SetSourceIdentity on resource:");
}

async function jobDone(h: Harness, id: string): Promise<any> {
    return until(`job ${id}`, async () => {
        const { body } = await h.call("GET", `/api/jobs/${id}`, TOKENS.operator);
        return ["succeeded", "failed", "interrupted"].includes(body.job.state) && body.job;
    });
}

async function customer(h: Harness, stack: string): Promise<any> {
    return (await h.call("GET", `/api/customers/${stack}`, TOKENS.operator)).body.customer;
}

async function auditOf(h: Harness, subject: string): Promise<any[]> {
    return (await h.call("GET", `/api/audit?subject=${subject}`, TOKENS.auditor)).body.entries;
}

const vendorEntries = async (h: Harness, stack: string) => (await auditOf(h, stack)).filter((e) => e.action === "customer.vendor-access");

async function deployed(h: Harness, stack: string, config: Record<string, unknown>): Promise<void> {
    const r = await h.call("POST", "/api/customers", TOKENS.operator, { stack, config });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const job = await jobDone(h, r.body.job.id);
    assert.equal(job.state, "succeeded", job.log);
    await h.running.portal.idle(); // a private stack's phase ups
}

const request = (h: Harness, stack: string, token = TOKENS.engineer, email = "alice@example.com") =>
    h.call("POST", `/api/customers/${stack}/access-requests`, token, { reason: "merges stuck on shard 2", hours: 2, csrPem: csrFor(email) });

const setVendorAccess = (h: Harness, stack: string, state: unknown, reason: unknown = "the customer asked for a pause", token = TOKENS.operator) =>
    h.call("POST", `/api/customers/${stack}/vendor-access`, token, { state, reason });

const jobsOf = async (h: Harness, stack: string): Promise<any[]> => (await h.call("GET", `/api/jobs?customer=${stack}`, TOKENS.operator)).body.jobs;

describe("portal: vendor access", function () {
    this.timeout(60_000);
    let h: Harness;
    let engine: RefusingEngine;

    beforeEach(async () => {
        const dir = tempDir();
        engine = new RefusingEngine(new OfflineEngine({ stateDir: path.join(dir, "offline"), preview: quickPreview }));
        h = await startHarness({ dir, engine, maxParallel: 4 });
    });
    afterEach(() => h.close());

    it("an operator suspends in two runs: suspending (config, audit, an up), then the portal's own suspended and its up; requests, approvals and break-glass are refused (409) until re-enabled", async () => {
        await deployed(h, "va-priv", privateCustomerConfig("va-priv"));
        const before = await customer(h, "va-priv");
        assert.equal(before.apiAccess.phase, "tailnet");
        assert.equal(before.vendorAccess, "enabled");
        assert.equal("vendorAccessRefusedAt" in before, false);
        // A request from before the suspension, still pending.
        const pending = await request(h, "va-priv");
        assert.equal(pending.status, 201, JSON.stringify(pending.body));

        engine.ran.delete("va-priv");
        const s = await setVendorAccess(h, "va-priv", "suspended", "customer security review");
        assert.equal(s.status, 202, JSON.stringify(s.body));
        assert.equal(s.body.job.kind, "up");
        assert.equal(s.body.job.requestedBy, "operator@example.com");
        assert.match(s.body.job.reason, /suspend vendor access \(customer security review\)/);
        assert.equal(s.body.customer.vendorAccess, "suspending", "the first run keeps the restricted public endpoint");
        assert.equal((await jobDone(h, s.body.job.id)).state, "succeeded");
        await h.running.portal.idle(); // the portal's second run
        // Two ups: the first applied "suspending", the second (the portal's) "suspended".
        assert.deepEqual(engine.ran.get("va-priv"), ["up:suspending", "up:suspended"]);
        const [second, first] = await jobsOf(h, "va-priv");
        assert.equal(first.id, s.body.job.id);
        assert.equal(second.kind, "up");
        assert.equal(second.requestedBy, SYSTEM_VENDOR_ACCESS);
        assert.equal(second.reason, SUSPENDED_UP_REASON);
        assert.equal(second.state, "succeeded");
        assert.match((await h.call("GET", `/api/jobs/${first.id}`, TOKENS.operator)).body.job.log, new RegExp(`vendor access set to suspended; ${second.id} closes the public API endpoint`));
        const c = await customer(h, "va-priv");
        assert.equal(c.vendorAccess, "suspended");
        assert.equal(c.config["byoc:access"].vendorAccess, "suspended");
        assert.equal(c.apiAccess.phase, "tailnet", "a suspension moves no phase");
        assert.equal("vendorAccessRefusedAt" in c, false, "an operator's suspension is no observed refusal");
        const [entry, system] = await vendorEntries(h, "va-priv");
        assert.equal(entry.actor, "operator@example.com");
        assert.deepEqual(entry.details, { state: "suspending", requested: "suspended", from: "enabled", reason: "customer security review", job: s.body.job.id });
        assert.equal(system.actor, SYSTEM_VENDOR_ACCESS);
        assert.deepEqual(system.details, { state: "suspended", from: "suspending", to: "suspended", reason: VENDOR_PATHS_REMOVED_REASON, job: second.id, after: first.id });
        // The list says so too.
        const listed = (await h.call("GET", "/api/customers?q=va-priv", TOKENS.auditor)).body.customers[0];
        assert.equal(listed.vendorAccess, "suspended");

        // The same state again: 200, nothing queued, nothing audited.
        const again = await setVendorAccess(h, "va-priv", "suspended");
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.job, null);
        assert.equal((await vendorEntries(h, "va-priv")).length, 2);

        const refused = await request(h, "va-priv", TOKENS.engineer2, "bob@example.com");
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.error, "vendor access to customer va-priv is suspended by the customer (byoc:access.vendorAccess); no troubleshooting access can be requested");
        const approve = await h.call("POST", `/api/access-requests/${pending.body.request.id}/approve`, TOKENS.approver);
        assert.equal(approve.status, 409, JSON.stringify(approve.body));
        assert.match(approve.body.error, /^vendor access to customer va-priv is suspended by the customer \(byoc:access\.vendorAccess\); access request ar-[0-9a-f]+ cannot be approved/);
        assert.equal((await h.call("GET", `/api/access-requests/${pending.body.request.id}`, TOKENS.engineer)).body.request.state, "pending");
        const glass = await h.call("POST", "/api/customers/va-priv/break-glass", TOKENS.operator, { reason: "tailnet down" });
        assert.equal(glass.status, 409, JSON.stringify(glass.body));
        assert.match(glass.body.error, /^vendor access to customer va-priv is suspended by the customer \(byoc:access\.vendorAccess\); break-glass cannot be opened/);
        assert.equal((await customer(h, "va-priv")).config["byoc:controlPlane"].breakGlass, undefined);
        // Reading stays allowed.
        assert.equal((await h.call("GET", "/api/access-requests?customer=va-priv", TOKENS.engineer)).status, 200);

        const e = await setVendorAccess(h, "va-priv", "enabled", "review done");
        assert.equal(e.status, 202, JSON.stringify(e.body));
        assert.match(e.body.job.reason, /re-enable vendor access \(review done\)/);
        assert.equal((await jobDone(h, e.body.job.id)).state, "succeeded");
        assert.equal((await customer(h, "va-priv")).vendorAccess, "enabled");
        assert.deepEqual((await vendorEntries(h, "va-priv")).map((x) => [x.actor, x.details.state, x.details.from]), [
            ["operator@example.com", "suspending", "enabled"],
            [SYSTEM_VENDOR_ACCESS, "suspended", "suspending"],
            ["operator@example.com", "enabled", "suspended"],
        ]);
        // The tailnet endpoint was removed, so a private stack starts its phases over from bootstrap (its provider
        // would otherwise go to a device that no longer exists) and walks forward to tailnet again.
        const enabledEntry = (await vendorEntries(h, "va-priv"))[2];
        assert.deepEqual(enabledEntry.details.phase, { from: "tailnet", to: "bootstrap" });
        await h.running.portal.idle();
        // The re-enabling up (phase bootstrap), then the portal's switchover and tailnet ups: without the restart the
        // re-enabling up would apply tailnet straight away and nothing would follow it.
        assert.deepEqual(engine.ran.get("va-priv"), ["up:suspending", "up:suspended", "up:enabled", "up:enabled", "up:enabled"]);
        assert.deepEqual((await jobsOf(h, "va-priv")).slice(0, 2).map((j: any) => j.reason).reverse(), [SWITCHOVER_UP_REASON, TAILNET_UP_REASON]);
        assert.equal((await customer(h, "va-priv")).apiAccess.phase, "tailnet", "the phases walked forward again");
        const ok = await request(h, "va-priv", TOKENS.engineer2, "bob@example.com");
        assert.equal(ok.status, 201, JSON.stringify(ok.body));
        const approved = await h.call("POST", `/api/access-requests/${pending.body.request.id}/approve`, TOKENS.approver);
        assert.equal(approved.status, 200, JSON.stringify(approved.body));
        assert.equal(approved.body.request.state, "approved");
    });

    it("a rollout skips a suspended customer (its API is private) and runs the others", async () => {
        await deployed(h, "va-rs", prodCustomerConfig("va-rs"));
        await deployed(h, "va-rn", prodCustomerConfig("va-rn"));
        await jobDone(h, (await setVendorAccess(h, "va-rs", "suspended")).body.job.id);
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-rs")).vendorAccess, "suspended");
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["va-rs", "va-rn"] }, waves: [2], maxParallel: 2, haltOnFailure: true, ignoreWindows: true, reason: "release 1.6.0" });
        assert.equal(post.status, 202, JSON.stringify(post.body));
        const rollout = await until("rollout finished", async () => {
            const r = (await h.call("GET", `/api/rollouts/${post.body.rollout.id}`, TOKENS.auditor)).body.rollout;
            return r.state === "succeeded" || r.state === "halted" || r.state === "failed" ? r : undefined;
        });
        assert.equal(rollout.state, "succeeded");
        const items = Object.fromEntries(rollout.waves[0].items.map((i: { customer: string }) => [i.customer, i]));
        assert.equal(items["va-rs"].state, "skipped");
        assert.match(items["va-rs"].message, /vendor access is suspended \(byoc:access\.vendorAccess\): the API is private/);
        assert.equal(items["va-rn"].state, "succeeded");
    });

    it("many accounts refusing within an hour look like one cause on the provider's side: the next is flagged, not suspended", async () => {
        const ids = ["va-b1", "va-b2", "va-b3", "va-b4"];
        for (const id of ids) await deployed(h, id, prodCustomerConfig(id));
        for (const id of ids) engine.failWith.set(id, providerRefusal(deployRole(id)));
        for (const id of ids) {
            await jobDone(h, (await h.call("POST", `/api/customers/${id}/up`, TOKENS.operator)).body.job.id);
            await h.running.portal.idle();
        }
        // The default burst is 3: three flips, then a flag.
        assert.deepEqual(await Promise.all(ids.map(async (id) => (await customer(h, id)).vendorAccess)), ["suspended", "suspended", "suspended", "enabled"]);
        const last = await jobsOf(h, "va-b4");
        assert.match(last[0].log ?? (await h.call("GET", `/api/jobs/${last[0].id}`, TOKENS.operator)).body.job.log, /3 other customers' accounts did so within the hour: more likely the provider's own identity/);
        const audit = (await auditOf(h, "va-b4")).filter((e) => e.action === "customer.vendor-access-suspect");
        assert.equal(audit.length, 1);
        assert.equal(audit[0].details.recentRefusals, 3);
        // An hour later a refusal counts on its own again.
        h.clock.advanceHours(2);
        await jobDone(h, (await h.call("POST", "/api/customers/va-b4/up", TOKENS.operator)).body.job.id);
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-b4")).vendorAccess, "suspended");
    });

    it("revoking and denying stay allowed while suspended", async () => {
        await deployed(h, "va-rev", prodCustomerConfig("va-rev"));
        const a = (await request(h, "va-rev")).body.request.id;
        const b = (await request(h, "va-rev", TOKENS.engineer2, "bob@example.com")).body.request.id;
        await jobDone(h, (await setVendorAccess(h, "va-rev", "suspended")).body.job.id);
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-rev")).vendorAccess, "suspended");
        const revoked = await h.call("POST", `/api/access-requests/${a}/revoke`, TOKENS.engineer, {});
        assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
        assert.equal(revoked.body.request.state, "revoked");
        const denied = await h.call("POST", `/api/access-requests/${b}/deny`, TOKENS.approver);
        assert.equal(denied.status, 200, JSON.stringify(denied.body));
        assert.equal(denied.body.request.state, "denied");
    });

    it("only operators change vendor access (403); a bad state or reason is a 400 naming the key; unknown customers 404", async () => {
        await deployed(h, "va-val", prodCustomerConfig("va-val"));
        for (const token of [TOKENS.engineer, TOKENS.approver, TOKENS.auditor]) {
            const r = await setVendorAccess(h, "va-val", "suspended", "because", token);
            assert.equal(r.status, 403, JSON.stringify(r.body));
            assert.match(r.body.error, /needs the operator role/);
        }
        const bad = await setVendorAccess(h, "va-val", "off", "x");
        assert.equal(bad.status, 400, JSON.stringify(bad.body));
        assert.deepEqual(bad.body.problems.map((p: any) => p.path), ["state", "reason"]);
        assert.match(bad.body.problems[0].message, /must be one of "enabled", "suspended"/);
        // "suspending" is the portal's own first step: an operator asks for "suspended".
        const suspending = await setVendorAccess(h, "va-val", "suspending");
        assert.equal(suspending.status, 400, JSON.stringify(suspending.body));
        assert.deepEqual(suspending.body.problems.map((p: any) => p.path), ["state"]);
        assert.match(suspending.body.problems[0].message, /ask for "suspended"/);
        const noReason = await h.call("POST", "/api/customers/va-val/vendor-access", TOKENS.operator, { state: "suspended" });
        assert.equal(noReason.status, 400);
        assert.deepEqual(noReason.body.problems.map((p: any) => p.path), ["reason"]);
        assert.equal((await setVendorAccess(h, "nobody", "suspended")).status, 404);
        const c = await customer(h, "va-val");
        assert.equal(c.vendorAccess, "enabled");
        assert.equal(c.config["byoc:access"].vendorAccess, undefined);
        assert.deepEqual(await vendorEntries(h, "va-val"), []);
    });

    it("a failed suspending up stays suspending: nothing more queued, vendor paths refused, a repeat is 200; re-running it moves on to suspended", async () => {
        await deployed(h, "va-fail", privateCustomerConfig("va-fail"));
        const pending = await request(h, "va-fail");
        assert.equal(pending.status, 201, JSON.stringify(pending.body));
        engine.failWith.set("va-fail", "pulumi failed on stack va-fail: error: kubernetes:core/v1:Secret tailscale-auth: deleting: connection refused");
        const s = await setVendorAccess(h, "va-fail", "suspended", "the customer asked for a pause");
        assert.equal(s.status, 202, JSON.stringify(s.body));
        assert.equal((await jobDone(h, s.body.job.id)).state, "failed");
        await h.running.portal.idle();
        const c = await customer(h, "va-fail");
        assert.equal(c.vendorAccess, "suspending");
        assert.equal(c.config["byoc:access"].vendorAccess, "suspending");
        const jobs = await jobsOf(h, "va-fail");
        assert.equal(jobs[0].id, s.body.job.id, "nothing queued after the failed run");
        assert.ok(jobs.every((j: any) => j.state !== "queued" && j.state !== "running"));
        assert.deepEqual((await vendorEntries(h, "va-fail")).map((e) => [e.actor, e.details.state]), [["operator@example.com", "suspending"]]);

        // While suspending: no request, no approval, no break-glass.
        const refused = await request(h, "va-fail", TOKENS.engineer2, "bob@example.com");
        assert.equal(refused.status, 409, JSON.stringify(refused.body));
        assert.equal(refused.body.error, "vendor access to customer va-fail is being suspended by the customer (byoc:access.vendorAccess: suspending); no troubleshooting access can be requested");
        const approve = await h.call("POST", `/api/access-requests/${pending.body.request.id}/approve`, TOKENS.approver);
        assert.equal(approve.status, 409, JSON.stringify(approve.body));
        assert.match(approve.body.error, /is being suspended .*access request ar-[0-9a-f]+ cannot be approved/);
        const glass = await h.call("POST", "/api/customers/va-fail/break-glass", TOKENS.operator, { reason: "tailnet down" });
        assert.equal(glass.status, 409, JSON.stringify(glass.body));
        assert.match(glass.body.error, /is being suspended .*break-glass cannot be opened/);
        // Asking again to suspend: 200, nothing queued (re-running the failed job is the way to retry).
        const again = await setVendorAccess(h, "va-fail", "suspended");
        assert.equal(again.status, 200, JSON.stringify(again.body));
        assert.equal(again.body.job, null);
        assert.equal(again.body.customer.vendorAccess, "suspending");
        assert.equal((await vendorEntries(h, "va-fail")).length, 1);

        // Fixed; the re-run succeeds and the portal moves on to suspended.
        engine.failWith.delete("va-fail");
        const rerun = await h.call("POST", `/api/jobs/${s.body.job.id}/rerun`, TOKENS.operator);
        assert.equal(rerun.status, 202, JSON.stringify(rerun.body));
        assert.equal((await jobDone(h, rerun.body.job.id)).state, "succeeded");
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-fail")).vendorAccess, "suspended");
        const last = (await vendorEntries(h, "va-fail")).pop();
        assert.equal(last.actor, SYSTEM_VENDOR_ACCESS);
        assert.equal(last.details.after, rerun.body.job.id);
        assert.deepEqual(engine.ran.get("va-fail")!.slice(-3), ["up:suspending", "up:suspending", "up:suspended"]);
    });

    it("re-enabling from suspending: enabled and an up; a suspending up that succeeds after it queues nothing more", async () => {
        await deployed(h, "va-back", prodCustomerConfig("va-back"));
        engine.failWith.set("va-back", "pulumi failed on stack va-back: error: timeout");
        await jobDone(h, (await setVendorAccess(h, "va-back", "suspended")).body.job.id);
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-back")).vendorAccess, "suspending");
        engine.failWith.delete("va-back");
        const e = await setVendorAccess(h, "va-back", "enabled", "the customer changed their mind");
        assert.equal(e.status, 202, JSON.stringify(e.body));
        assert.equal(e.body.customer.vendorAccess, "enabled");
        assert.equal((await jobDone(h, e.body.job.id)).state, "succeeded");
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-back")).vendorAccess, "enabled");
        assert.deepEqual((await vendorEntries(h, "va-back")).map((x) => [x.actor, x.details.state, x.details.from]), [
            ["operator@example.com", "suspending", "enabled"],
            ["operator@example.com", "enabled", "suspending"],
        ]);
        assert.equal((await request(h, "va-back")).status, 201);

        // Re-enabled while the suspending up runs: that up's success moves nothing on (the operator's change wins).
        h.engine.hold();
        const s = await setVendorAccess(h, "va-back", "suspended");
        await until("the suspending up runs", () => h.engine.active.get("va-back") === 1);
        const back = await setVendorAccess(h, "va-back", "enabled", "wrong customer");
        assert.equal(back.status, 202, JSON.stringify(back.body));
        assert.notEqual(back.body.job.id, s.body.job.id);
        h.engine.release();
        assert.equal((await jobDone(h, s.body.job.id)).state, "succeeded");
        assert.equal((await jobDone(h, back.body.job.id)).state, "succeeded");
        await h.running.portal.idle();
        assert.equal((await customer(h, "va-back")).vendorAccess, "enabled");
        assert.ok((await jobsOf(h, "va-back")).every((j: any) => j.requestedBy !== SYSTEM_VENDOR_ACCESS));
        assert.deepEqual(engine.ran.get("va-back")!.slice(-2), ["up:suspending", "up:enabled"]);
    });

    it("a job refused the deploy role by the customer's account suspends vendor access itself: system actor, vendorAccessRefusedAt, nothing queued; rollouts skip it", async () => {
        await deployed(h, "va-ks", prodCustomerConfig("va-ks"));
        await deployed(h, "va-other", prodCustomerConfig("va-other"));
        engine.failWith.set("va-ks", providerRefusal(deployRole("va-ks")));
        const up = (await h.call("POST", "/api/customers/va-ks/up", TOKENS.operator)).body.job;
        const failed = await jobDone(h, up.id);
        assert.equal(failed.state, "failed");
        await h.running.portal.idle();
        const c = await customer(h, "va-ks");
        assert.equal(c.vendorAccess, "suspended");
        assert.equal(c.config["byoc:access"].vendorAccess, "suspended");
        assert.equal(c.vendorAccessRefusedAt, h.clock.now().toISOString());
        assert.match((await h.call("GET", `/api/jobs/${up.id}`, TOKENS.operator)).body.job.log, /refused the deploy role arn:aws:iam::111122223333:role\/byoc-bootstrap-va-ks-deploy \(their kill switch\): vendor access set to suspended, nothing queued/);
        const entries = await vendorEntries(h, "va-ks");
        assert.equal(entries.length, 1);
        assert.equal(entries[0].actor, SYSTEM_VENDOR_ACCESS);
        assert.equal(entries[0].details.reason, DEPLOY_ROLE_REFUSED_REASON);
        assert.equal(entries[0].details.reason, "the customer's account refused the deploy role (kill switch)");
        assert.equal(entries[0].details.state, "suspended");
        assert.equal(entries[0].details.after, up.id);
        assert.equal(entries[0].details.roleArn, deployRole("va-ks"));
        assert.match(entries[0].details.evidence, /AccessDenied.*not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role\/byoc-bootstrap-va-ks-deploy/);
        // Nothing queued: the failed up is still the newest job.
        const jobs = (await h.call("GET", "/api/jobs?customer=va-ks", TOKENS.operator)).body.jobs;
        assert.equal(jobs[0].id, up.id);
        assert.ok(jobs.every((j: any) => j.state !== "queued" && j.state !== "running"));
        const listed = (await h.call("GET", "/api/customers?q=va-ks", TOKENS.auditor)).body.customers[0];
        assert.equal(listed.vendorAccess, "suspended");
        assert.equal(listed.vendorAccessRefusedAt, c.vendorAccessRefusedAt);
        // The refusals of a suspended stack apply.
        assert.equal((await request(h, "va-ks")).status, 409);

        // Refused again (a drift check: they keep running): only the job's log says so.
        h.clock.advanceHours(1);
        const drift = (await h.call("POST", "/api/customers/va-ks/drift-check", TOKENS.operator)).body.job;
        const d = await jobDone(h, drift.id);
        assert.equal(d.state, "failed");
        assert.match(d.log, /refused the deploy role .* again \(vendor access suspended since /);
        assert.equal((await vendorEntries(h, "va-ks")).length, 1);
        assert.equal((await customer(h, "va-ks")).vendorAccessRefusedAt, c.vendorAccessRefusedAt);

        // A rollout skips the customer whose account refuses the role, instead of failing (and halting) on it.
        h.engine.started.length = 0;
        const post = await h.call("POST", "/api/rollouts", TOKENS.operator, { selector: { customers: ["va-ks", "va-other"] }, waves: [2], maxParallel: 2, haltOnFailure: true, ignoreWindows: true, reason: "release 1.5.0" });
        assert.equal(post.status, 202, JSON.stringify(post.body));
        const rollout = await until("rollout finished", async () => {
            const r = (await h.call("GET", `/api/rollouts/${post.body.rollout.id}`, TOKENS.auditor)).body.rollout;
            return ["succeeded", "halted", "failed"].includes(r.state) && r;
        });
        assert.equal(rollout.state, "succeeded");
        const [ks, other] = rollout.waves[0].items;
        assert.equal(ks.state, "skipped");
        assert.equal(ks.jobId, null);
        assert.match(ks.message, /refused the deploy role \(kill switch\) at .*POST \/api\/customers\/va-ks\/vendor-access/);
        assert.equal(other.state, "succeeded");
        assert.ok(!h.engine.started.includes("up:va-ks"), h.engine.started.join(", "));

        // The customer re-enabled their bootstrap; the operator re-enables vendor access: the refusal is cleared.
        engine.failWith.delete("va-ks");
        const e = await setVendorAccess(h, "va-ks", "enabled", "the customer re-enabled their bootstrap");
        assert.equal(e.status, 202, JSON.stringify(e.body));
        assert.equal((await jobDone(h, e.body.job.id)).state, "succeeded");
        const after = await customer(h, "va-ks");
        assert.equal(after.vendorAccess, "enabled");
        assert.equal("vendorAccessRefusedAt" in after, false);
        const last = (await vendorEntries(h, "va-ks")).pop();
        assert.equal(last.actor, "operator@example.com");
        assert.equal(last.details.refusedAt, c.vendorAccessRefusedAt);
        assert.equal((await request(h, "va-ks")).status, 201);
    });

    it("a failing job with an unrelated AccessDenied changes nothing: another call of the deploy role's session, another role, a longer role name, a stack without deployRoleArn", async () => {
        await deployed(h, "va-un", prodCustomerConfig("va-un"));
        await deployed(h, "va-dev", customerConfig("va-dev"));
        const unrelated = [
            // The deploy role was assumed fine; one of its calls is denied (its permissions boundary, say).
            `error: creating EKS Cluster (byoc-va-un): operation error EKS: CreateCluster, https response error StatusCode: 403, RequestID: 1, api error AccessDeniedException: User: arn:aws:sts::${ACCOUNT}:assumed-role/byoc-bootstrap-va-un-deploy/byoc-portal is not authorized to perform: eks:CreateCluster on resource: arn:aws:eks:us-east-1:${ACCOUNT}:cluster/byoc-va-un`,
            // Role chaining to the support role refused: not the deploy role.
            `api error AccessDenied: User: arn:aws:sts::${ACCOUNT}:assumed-role/byoc-bootstrap-va-un-deploy/byoc-portal is not authorized to perform: sts:AssumeRole on resource: ${supportRole("va-un")}`,
            // Another role whose name starts like the deploy role's.
            `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${deployRole("va-un")}-old`,
            // S3 refused, no STS in sight.
            `error: reading S3 Bucket (byoc-va-un-thanos): operation error S3: HeadBucket, https response error StatusCode: 403, api error AccessDenied: Access Denied (${deployRole("va-un")} was in use)`,
            // The deploy role's ARN and an AssumeRole error, but not a refusal (bad vendor credentials).
            `operation error STS: AssumeRole, https response error StatusCode: 403, api error InvalidClientTokenId: The security token included in the request is invalid. IAM Role (${deployRole("va-un")}) cannot be assumed.`,
        ];
        for (const message of unrelated) {
            engine.failWith.set("va-un", message);
            const job = (await h.call("POST", "/api/customers/va-un/up", TOKENS.operator)).body.job;
            assert.equal((await jobDone(h, job.id)).state, "failed");
        }
        // A dev stack has no deploy role: an AssumeRole refusal on some role there is nobody's kill switch.
        engine.failWith.set("va-dev", providerRefusal(deployRole("va-dev")));
        const devJob = (await h.call("POST", "/api/customers/va-dev/up", TOKENS.operator)).body.job;
        assert.equal((await jobDone(h, devJob.id)).state, "failed");
        await h.running.portal.idle();
        for (const stack of ["va-un", "va-dev"]) {
            const c = await customer(h, stack);
            assert.equal(c.vendorAccess, "enabled", stack);
            assert.equal("vendorAccessRefusedAt" in c, false, stack);
            assert.deepEqual(await vendorEntries(h, stack), [], stack);
        }
    });

    it("a refused sts:SetSourceIdentity on the deploy role changes nothing (the provider's own policy may lack it); the job's log says why", async () => {
        await deployed(h, "va-ssi", prodCustomerConfig("va-ssi"));
        engine.failWith.set("va-ssi", providerSourceIdentityRefusal(deployRole("va-ssi")));
        const up = (await h.call("POST", "/api/customers/va-ssi/up", TOKENS.operator)).body.job;
        const failed = await jobDone(h, up.id);
        assert.equal(failed.state, "failed");
        await h.running.portal.idle();
        const c = await customer(h, "va-ssi");
        assert.equal(c.vendorAccess, "enabled");
        assert.equal(c.config["byoc:access"].vendorAccess, undefined);
        assert.equal("vendorAccessRefusedAt" in c, false);
        assert.deepEqual(await vendorEntries(h, "va-ssi"), []);
        assert.match(failed.log, /STS refused sts:SetSourceIdentity on the deploy role arn:aws:iam::111122223333:role\/byoc-bootstrap-va-ssi-deploy to arn:aws:sts::999988887777:assumed-role\/byoc-portal-runner\/vendor-ci: not the customer's kill switch \(that refuses sts:AssumeRole itself\), vendor access unchanged/);
        assert.match(failed.log, /provider's own principal lacks sts:SetSourceIdentity in its identity policy/);
        assert.match(failed.log, /runner and engineer roles need sts:AssumeRole and sts:SetSourceIdentity .* on the customer's deploy and support roles/);
        assert.ok((await jobsOf(h, "va-ssi")).every((j: any) => j.state !== "queued" && j.state !== "running"));
        assert.equal((await request(h, "va-ssi")).status, 201, "vendor paths stay open");
    });

    it("opens a database from before vendor access: adds the vendor_refused_at column, keeps the rows", () => {
        const file = path.join(tempDir(), "old.db");
        const old = new Database(file);
        old.exec(`CREATE TABLE customers (id TEXT PRIMARY KEY, environment TEXT NOT NULL, customer_id TEXT NOT NULL, name TEXT NOT NULL, config TEXT NOT NULL,
            status TEXT NOT NULL, outputs TEXT, last_job TEXT, api_note TEXT, drift TEXT, created_by TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL)`);
        const config = prodCustomerConfig("oldco");
        config["byoc:access"] = { ...(config["byoc:access"] as object), vendorAccess: "suspended" };
        old.prepare("INSERT INTO customers VALUES ('oldco', 'prod', 'oldco', 'Old Co', ?, 'deployed', NULL, NULL, NULL, NULL, 'x', 't', 't')").run(JSON.stringify(config));
        old.close();
        const store = new Store(file);
        try {
            assert.equal(store.customer("oldco")!.vendor_refused_at, null);
            const [row] = store.customerSummaries();
            assert.deepEqual([row.vendor_access, row.vendor_refused_at], ["suspended", null]);
            store.updateCustomer("oldco", { vendor_refused_at: "2026-12-01T12:00:00.000Z" });
            assert.equal(store.customer("oldco")!.vendor_refused_at, "2026-12-01T12:00:00.000Z");
        } finally {
            store.close();
        }
        new Store(file).close(); // and again: the column is there now
    });

    describe("stsRefusalOf (the phrasings matched)", () => {
        const role = deployRole("acme");
        const yes: [string, string][] = [
            ["terraform-provider-aws ≥ 5 / pulumi-aws, boxed and wrapped", providerRefusal(role)],
            [
                "pulumi-aws (error configuring Terraform AWS Provider), one line",
                `error configuring Terraform AWS Provider: IAM Role (${role}) cannot be assumed.\n\nThere are a number of possible causes of this - the most common are:\n  * The credentials used in order to assume the role are invalid\n\nError: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 0529cbfe, api error AccessDenied: User: arn:aws:iam::430864128097:user/Williams is not authorized to perform: sts:AssumeRole on resource: ${role}`,
            ],
            ["the provider's wrapper only (the sentence cut off)", `IAM Role (${role}) cannot be assumed.\n│ Error: operation error STS: AssumeRole, https response error StatusCode: 403, RequestID: 7f, api error AccessDenied: User:`],
            ["botocore (aws CLI)", `An error occurred (AccessDenied) when calling the AssumeRole operation: User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${role}`],
            ["AWS SDK for Java", `User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${role} (Service: AWSSecurityTokenService; Status Code: 403; Error Code: AccessDenied; Request ID: b59b74ae)`],
            ["terminal colours", `\x1b[31mapi error AccessDenied\x1b[0m: User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: \x1b[1m${role}\x1b[0m`],
        ];
        for (const [what, text] of yes) it(`matches: ${what}`, () => assert.ok(deployRoleRefusal(text, role), what));
        const no: [string, string][] = [
            ["another role", `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${deployRole("globex")}`],
            ["a longer role name", `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${role}2`],
            ["another action of the role's session", `api error AccessDenied: User: arn:aws:sts::${ACCOUNT}:assumed-role/byoc-bootstrap-acme-deploy/s is not authorized to perform: iam:CreateRole on resource: ${role}`],
            ["AssumeRoleWithWebIdentity", `api error AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity on resource: ${role}`],
            ["no AccessDenied", `User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${role}`],
            ["AccessDenied far from it", `api error AccessDenied: s3 ${"x".repeat(5000)} User: ${CALLER} is not authorized to perform: sts:AssumeRole on resource: ${role}`],
            ["the wrapper around another error, an unrelated AccessDenied after it", `IAM Role (${role}) cannot be assumed. Error: operation error STS: AssumeRole, https response error StatusCode: 403, api error ExpiredToken: The security token included in the request is expired\nerror: reading S3 Bucket (x): operation error S3: HeadBucket, https response error StatusCode: 403, api error AccessDenied: Access Denied`],
            ["expired credentials", `operation error STS: AssumeRole, https response error StatusCode: 403, api error ExpiredToken: The security token included in the request is expired. IAM Role (${role}) cannot be assumed.`],
            // The provider's own principal may lack these (cross-account, its identity policy must allow them too).
            ["sts:SetSourceIdentity", `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:SetSourceIdentity on resource: ${role}`],
            ["sts:TagSession", `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:TagSession on resource: ${role}`],
            ["sts:SetSourceIdentity inside the provider's wrapper", providerSourceIdentityRefusal(role)],
        ];
        for (const [what, text] of no) it(`does not match: ${what}`, () => assert.equal(deployRoleRefusal(text, role), undefined, what));

        it("providerSideRefusal: sts:SetSourceIdentity and sts:TagSession on the role (with the caller), not sts:AssumeRole nor another role", () => {
            assert.deepEqual(
                (({ action, caller }) => ({ action, caller }))(providerSideRefusal(providerSourceIdentityRefusal(role), role)!),
                { action: "SetSourceIdentity", caller: CALLER },
            );
            assert.equal(providerSideRefusal(`api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:TagSession on resource: ${role}`, role)?.action, "TagSession");
            // The wrapper with the sentence cut after the SetSourceIdentity action: still the provider's side.
            const cut = `IAM Role (${role}) cannot be assumed. Error: operation error STS: AssumeRole, https response error StatusCode: 403, api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:SetSourceIdentity on resource:`;
            assert.equal(providerSideRefusal(cut, role)?.action, "SetSourceIdentity");
            assert.equal(deployRoleRefusal(cut, role), undefined);
            assert.equal(providerSideRefusal(providerRefusal(role), role), undefined);
            assert.equal(providerSideRefusal(`api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:SetSourceIdentity on resource: ${supportRole("acme")}`, role), undefined);
            // An AssumeRole refusal anywhere wins: that is the switch.
            const both = `api error AccessDenied: User: ${CALLER} is not authorized to perform: sts:SetSourceIdentity on resource: ${role}\n${providerRefusal(role)}`;
            assert.ok(deployRoleRefusal(both, role));
            assert.equal(providerSideRefusal(both, role), undefined);
        });
    });
});
