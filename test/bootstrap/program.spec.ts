// The bootstrap program under the mock runtime: what it registers for the example stack, and the documents it
// registers (read back from the recorded resources, not rebuilt) judged by the IAM policy simulator.
import { strict as assert } from "assert";
import * as path from "path";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { runProgram, ProgramRun, RecordedResource } from "../../preview/runtime";
import { toEngineConfig } from "../../stacks/loader";
import { formatProblems, parseBootstrapConfig, parseOrThrow, readBootstrapStackFile } from "../../bootstrap/config";
import { unsecret } from "../harness";
import bootstrap = require("../../bootstrap/index");

const DIR = path.resolve(__dirname, "../../bootstrap");
const NOW = new Date("2026-12-01T10:00:00Z");
const PROVIDER = "arn:aws:iam::444455556666:role/byoc-deployer";
const EXTERNAL_ID = "acme-5d2c7f3a9b1e4c60";

function acmeRaw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...readBootstrapStackFile("acme", DIR), "byoc-bootstrap:externalId": EXTERNAL_ID, ...overrides };
}

async function run(overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    const raw = acmeRaw(overrides);
    const config = parseOrThrow(raw, "Pulumi.acme.yaml", NOW);
    return runProgram(() => bootstrap(config, NOW), { project: "byoc-bootstrap", stack: "acme", config: toEngineConfig(raw) });
}

/** A recorded input as plain data: secrets unwrapped, JSON policy text parsed. */
function plain(v: any): any {
    v = unsecret(v);
    return typeof v === "string" && v.startsWith("{") ? JSON.parse(v) : v;
}
const byName = (r: ProgramRun, type: string, name: string): RecordedResource => {
    const found = r.resources.find((x) => x.type === type && x.name === name);
    if (!found) throw new Error(`no ${type} ${name}; have ${r.resources.map((x) => `${x.type} ${x.name}`).join(", ")}`);
    return found;
};
const role = (r: ProgramRun, suffix: string) => byName(r, "aws:iam/role:Role", `byoc-bootstrap-acme-${suffix}`);
const trustOf = (r: ProgramRun, suffix: string) => plain(role(r, suffix).inputs.assumeRolePolicy);

async function assume(trust: object, principal: string, context: Record<string, string>, roleArn: string) {
    const results: string[] = [];
    for (const action of ["sts:AssumeRole", ...(context["sts:SourceIdentity"] ? ["sts:SetSourceIdentity"] : [])]) {
        const r = await runSimulation({
            request: { principal, action, resource: { resource: roleArn, accountId: "111122223333" }, contextVariables: context },
            identityPolicies: [{ name: "caller", policy: { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "sts:*", Resource: "*" }] } }],
            serviceControlPolicies: [], resourceControlPolicies: [], resourcePolicy: trust,
        }, {});
        if (r.resultType !== "single") throw new Error(JSON.stringify(r).slice(0, 400));
        results.push(r.result.analysis.result);
    }
    return results.every((x) => x === "Allowed") ? "Allowed" : results.find((x) => x !== "Allowed");
}

describe("bootstrap: config", () => {
    it("the example stack file is valid, with the secret left as ciphertext", () => {
        const r = parseBootstrapConfig(readBootstrapStackFile("acme", DIR), NOW);
        assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
        assert.equal(r.ok && r.config.externalId, undefined);
    });

    it("every problem at once, naming the key, the value and what is allowed", () => {
        const r = parseBootstrapConfig(acmeRaw({
            "byoc-bootstrap:vendorAccess": "off",
            "byoc-bootstrap:maxSessionSeconds": 43200,
            "byoc-bootstrap:providerPrincipals": ["*"],
            "byoc-bootstrap:breakGlass": "open",
            "byoc-bootstrap:breakGlassPrincipals": ["arn:aws:iam::999999999999:role/x"],
            "byoc-bootstrap:vendoraccess": "suspended",
            "byoc:customer": { id: "acme" },
        }), NOW);
        assert.ok(!r.ok);
        const text = formatProblems(r.problems);
        assert.match(text, /byoc-bootstrap:vendorAccess = "off": must be "enabled" or "suspended"/);
        assert.match(text, /byoc-bootstrap:maxSessionSeconds = 43200: must be a whole number of seconds between 900 and 3600/);
        assert.match(text, /byoc-bootstrap:providerPrincipals\[0\] = "\*": must be an IAM principal ARN/);
        assert.match(text, /byoc-bootstrap:breakGlassPrincipals\[0\] = "arn:aws:iam::999999999999:role\/x": must be a principal of the customer's own account 111122223333/);
        assert.match(text, /byoc-bootstrap:vendoraccess: unknown key; did you mean byoc-bootstrap:vendorAccess\?/);
        // The twins: a name far from every key gets no guess; a transposition (stacks/keys.ts editDistance) does.
        const typos = parseBootstrapConfig(acmeRaw({ "byoc-bootstrap:xyzzyQuux": 1, "byoc-bootstrap:cusotmer": "acme" }), NOW);
        assert.ok(!typos.ok);
        const far = formatProblems(typos.problems);
        assert.match(far, /byoc-bootstrap:xyzzyQuux: unknown key \(allowed: byoc-bootstrap:customer, /);
        assert.match(far, /byoc-bootstrap:cusotmer: unknown key; did you mean byoc-bootstrap:customer\?/);
        assert.match(text, /byoc:customer: namespace "byoc" is not read by the bootstrap project/);
    });

    it("telemetryDestinations: required, S3 bucket or SQS queue ARNs of the stack's partition, no wildcard, at most four", () => {
        const problems = (v: unknown) => {
            const r = parseBootstrapConfig(acmeRaw({ "byoc-bootstrap:telemetryDestinations": v }), NOW);
            return r.ok ? "" : formatProblems(r.problems);
        };
        const ok = parseBootstrapConfig(acmeRaw(), NOW);
        assert.deepEqual(ok.ok && ok.config.telemetryDestinations, ["arn:aws:s3:::example-provider-billing", "arn:aws:sqs:us-east-1:111122223333:byoc-state"]);
        assert.match(problems(undefined), /byoc-bootstrap:telemetryDestinations: is required: 1–4 ARNs, the billingBucketArn and stateQueueArn/);
        assert.match(problems([]), /telemetryDestinations = \[\]: is required/);
        assert.match(problems(["arn:aws:s3:::a", "arn:aws:s3:::bb1", "arn:aws:s3:::bb2", "arn:aws:s3:::bb3", "arn:aws:s3:::bb4"]), /is required: 1–4 ARNs/);
        assert.match(problems(["arn:aws:s3:::*"]), /telemetryDestinations\[0\] = "arn:aws:s3:::\*": must be an S3 bucket ARN .* never a wildcard/);
        assert.match(problems(["arn:aws:s3:::billing/acme/*"]), /telemetryDestinations\[0\].*never a wildcard/);
        assert.match(problems(["arn:aws:sqs:us-east-1:*:byoc-state"]), /telemetryDestinations\[0\].*must be an S3 bucket ARN/);
        assert.match(problems(["arn:aws:dynamodb:us-east-1:444455556666:table/x"]), /telemetryDestinations\[0\].*must be an S3 bucket ARN/);
        assert.match(problems(["arn:aws-cn:s3:::billing"]), /telemetryDestinations\[0\] = "arn:aws-cn:s3:::billing": is in partition aws-cn, the stack's region us-east-1 in aws/);
        assert.match(problems(["arn:aws:s3:::billing", "arn:aws:s3:::billing"]), /telemetryDestinations\[1\] = "arn:aws:s3:::billing": is listed twice/);
        assert.equal(problems(["arn:aws:s3:::billing/acme", "arn:aws:sqs:us-east-1:444455556666:byoc-state.fifo"]), "");
    });

    it("the provider may not be the customer's own account; suspendedAt only when suspended, never in the future", () => {
        const r = parseBootstrapConfig(acmeRaw({
            "byoc-bootstrap:providerPrincipals": ["arn:aws:iam::111122223333:root"],
            "byoc-bootstrap:suspendedAt": "2027-01-01T00:00:00Z",
        }), NOW);
        assert.ok(!r.ok);
        const text = formatProblems(r.problems);
        assert.match(text, /providerPrincipals\[0\] = "arn:aws:iam::111122223333:root": is in the customer's own account/);
        assert.match(text, /suspendedAt = "2027-01-01T00:00:00Z": is in the future/);
        assert.match(text, /suspendedAt = .*: is only read with byoc-bootstrap:vendorAccess: suspended/);
    });
});

describe("bootstrap: the program under mocks", () => {
    it("creates both boundaries, three bounded roles of ≤ 1 h sessions, their policies and the trail; outputs what the provider needs", async () => {
        const r = await run();
        const boundary = byName(r, "aws:iam/policy:Policy", "byoc-bootstrap-acme-boundary");
        assert.equal(boundary.inputs.name, "byoc-bootstrap-acme-boundary");
        const workload = byName(r, "aws:iam/policy:Policy", "byoc-bootstrap-acme-workload-boundary");
        assert.equal(workload.inputs.name, "byoc-bootstrap-acme-workload-boundary");
        assert.equal(workload.inputs.tags["byoc:customer"], undefined, "outside the data plane's tag scope");
        // The registered document names the destinations of the stack file and the deploy policy requires it on new roles.
        const doc = plain(workload.inputs.policy);
        const egress = doc.Statement.find((x: any) => x.Sid === "DataLeavesOnlyToNamedDestinations");
        assert.deepEqual(egress.NotResource, ["arn:aws:s3:::example-provider-billing", "arn:aws:s3:::example-provider-billing/*", "arn:aws:sqs:us-east-1:111122223333:byoc-state"]);
        const deploy = plain(byName(r, "aws:iam/policy:Policy", "byoc-bootstrap-acme-deploy").inputs.policy);
        assert.deepEqual(deploy.Statement.find((x: any) => x.Sid === "RolesCarryTheBoundary").Condition, { StringEquals: { "iam:PermissionsBoundary": "arn:aws:iam::111122223333:policy/byoc-bootstrap-acme-workload-boundary" } });
        for (const s of ["deploy", "support", "break-glass"]) {
            const x = role(r, s);
            assert.equal(x.inputs.name, `byoc-bootstrap-acme-${s}`);
            assert.equal(x.inputs.maxSessionDuration, 3600, s);
            assert.equal(x.inputs.permissionsBoundary, "arn:aws:iam::111122223333:policy/byoc-bootstrap-acme-boundary", s);
            assert.equal(x.inputs.tags["byoc:customer"], undefined, `${s} is outside the data plane's tag scope`);
            assert.equal(x.inputs.tags["byoc:bootstrap"], "acme");
        }
        assert.equal(r.resources.filter((x) => x.type === "aws:iam/rolePolicy:RolePolicy").length, 0, "no revocation while enabled");
        assert.ok(r.resources.some((x) => x.type === "aws:cloudtrail/trail:Trail"));
        const pab = r.resources.find((x) => x.type === "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")!;
        assert.deepEqual([pab.inputs.blockPublicAcls, pab.inputs.blockPublicPolicy, pab.inputs.ignorePublicAcls, pab.inputs.restrictPublicBuckets], [true, true, true, true]);
        const sse = r.resources.find((x) => x.type === "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")!;
        assert.equal(sse.inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm, "AES256");
        const bucketPolicy = plain(r.resources.find((x) => x.type === "aws:s3/bucketPolicy:BucketPolicy")!.inputs.policy);
        assert.ok(bucketPolicy.Statement.some((s: any) => s.Effect === "Deny" && s.Condition?.Bool?.["aws:SecureTransport"] === "false"));
        for (const k of ["deployRoleArn", "supportRoleArn", "breakGlassRoleArn", "boundaryArn", "workloadBoundaryArn", "externalId"]) assert.ok(r.outputs[k] !== undefined, k);
        assert.equal(plain(r.outputs.externalId), EXTERNAL_ID);
    });

    it("the registered trust: provider + ExternalId + source identity → allowed; missing either, or another account → denied", async () => {
        const r = await run();
        const trust = trustOf(r, "deploy");
        const arn = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy";
        assert.equal(await assume(trust, PROVIDER, { "sts:ExternalId": EXTERNAL_ID, "sts:SourceIdentity": "alice" }, arn), "Allowed");
        assert.notEqual(await assume(trust, PROVIDER, { "sts:SourceIdentity": "alice" }, arn), "Allowed");
        assert.notEqual(await assume(trust, PROVIDER, { "sts:ExternalId": EXTERNAL_ID }, arn), "Allowed");
        assert.notEqual(await assume(trust, "arn:aws:iam::777788889999:role/byoc-deployer", { "sts:ExternalId": EXTERNAL_ID, "sts:SourceIdentity": "alice" }, arn), "Allowed");
        assert.deepEqual(trustOf(r, "support"), trust, "support has the same trust");
    });

    it("suspended: one up closes both vendor trusts and revokes sessions issued before the suspension", async () => {
        const r = await run({ "byoc-bootstrap:vendorAccess": "suspended", "byoc-bootstrap:suspendedAt": "2026-12-01T09:55:00Z" });
        for (const s of ["deploy", "support"]) {
            const arn = `arn:aws:iam::111122223333:role/byoc-bootstrap-acme-${s}`;
            assert.notEqual(await assume(trustOf(r, s), PROVIDER, { "sts:ExternalId": EXTERNAL_ID, "sts:SourceIdentity": "alice" }, arn), "Allowed", s);
            assert.ok(!JSON.stringify(trustOf(r, s)).includes("444455556666"), `${s}: the suspended trust names no vendor principal`);
        }
        const revokes = r.resources.filter((x) => x.type === "aws:iam/rolePolicy:RolePolicy");
        assert.equal(revokes.length, 2);
        for (const x of revokes) {
            assert.equal(x.inputs.name, "AWSRevokeOlderSessions");
            assert.deepEqual(plain(x.inputs.policy).Statement, [{ Effect: "Deny", Action: ["*"], Resource: "*", Condition: { DateLessThan: { "aws:TokenIssueTime": "2026-12-01T09:55:00Z" } } }]);
        }
        const session = await runSimulation({
            request: { principal: "arn:aws:sts::111122223333:assumed-role/byoc-bootstrap-acme-deploy/alice", action: "eks:DescribeCluster", resource: { resource: "arn:aws:eks:us-east-1:111122223333:cluster/byoc-acme", accountId: "111122223333" }, contextVariables: { "aws:TokenIssueTime": "2026-12-01T09:00:00Z" } },
            identityPolicies: revokes.map((x, i) => ({ name: `p${i}`, policy: plain(x.inputs.policy) })).concat([{ name: "deploy", policy: plain(byName(r, "aws:iam/policy:Policy", "byoc-bootstrap-acme-deploy").inputs.policy) }]),
            serviceControlPolicies: [], resourceControlPolicies: [],
            permissionBoundaryPolicies: [{ name: "boundary", policy: plain(byName(r, "aws:iam/policy:Policy", "byoc-bootstrap-acme-boundary").inputs.policy) }],
        }, {});
        assert.equal(session.resultType === "single" && session.result.analysis.result, "ExplicitlyDenied");
    });

    it("break-glass: closed denies even the customer's principal; open admits that principal only", async () => {
        const arn = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-break-glass";
        const oncall = "arn:aws:iam::111122223333:role/security-oncall";
        const closed = await run();
        assert.notEqual(await assume(trustOf(closed, "break-glass"), oncall, { "sts:SourceIdentity": "carol" }, arn), "Allowed");
        const open = await run({ "byoc-bootstrap:breakGlass": "open" });
        assert.equal(await assume(trustOf(open, "break-glass"), oncall, { "sts:SourceIdentity": "carol" }, arn), "Allowed");
        assert.notEqual(await assume(trustOf(open, "break-glass"), "arn:aws:iam::111122223333:role/developer", { "sts:SourceIdentity": "carol" }, arn), "Allowed");
        assert.notEqual(await assume(trustOf(open, "break-glass"), PROVIDER, { "sts:SourceIdentity": "carol", "sts:ExternalId": EXTERNAL_ID }, arn), "Allowed");
    });

    it("without createTrail no trail or bucket", async () => {
        const r = await run({ "byoc-bootstrap:createTrail": false });
        assert.ok(!r.resources.some((x) => x.type.startsWith("aws:s3/") || x.type.startsWith("aws:cloudtrail/")));
    });
});
