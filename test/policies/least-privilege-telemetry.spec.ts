import { strict as assert } from "assert";
import { runSimulation } from "@cloud-copilot/iam-simulate";
import { leastPrivilegeTelemetry, leastPrivilegeTelemetryStack } from "../../policies/rules";
import { evaluate, parsePolicy } from "../../policies/rules/iam";
import { deployment, expectClean, expectViolation, res, runResource, runStack, UNKNOWN } from "./helpers";

const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const BUCKET = "arn:aws:s3:::provider-billing";
const PUT = { Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${BUCKET}/acme/*`] };
const QUEUE = "arn:aws:sqs:eu-west-1:999999999999:byoc-state";
const SEND = { Effect: "Allow", Action: "sqs:SendMessage", Resource: QUEUE };
const billingTags = { "byoc:role": "billing-scraper", "byoc:component": "TelemetryOutbound", "byoc:customer": "acme" };
const stateTags = { "byoc:role": "state-exporter", "byoc:customer": "acme" };
const POLICY = "aws:iam/policy:Policy";
const ROLE = "aws:iam/role:Role";
const RP = "aws:iam/rolePolicy:RolePolicy";
const RPA = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const PIA = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
const msgs = (v: { message: string }[]) => v.map((x) => x.message);

const pol = (policy: unknown, tags: Record<string, string> = billingTags, name = "acme-telemetry-1") => res(POLICY, name, { policy, tags, arn: `arn:aws:iam::111122223333:policy/${name}` });
/** A role as TelemetryOutbound writes it (trust policy for Pod Identity), with known outputs. */
const role = (name: string, tags: Record<string, string> = {}, extra: Record<string, unknown> = {}) =>
    res(ROLE, name, { assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "pods.eks.amazonaws.com" }, Action: ["sts:AssumeRole", "sts:TagSession"] }] }), tags, name: `${name}-1234`, arn: `arn:aws:iam::111122223333:role/${name}-1234`, ...extra });
const inline = (r: ReturnType<typeof role>, policy: string, name = "p") => res(RP, name, { role: UNKNOWN, policy }, { propertyDependencies: { role: [r.urn] }, dependencies: [r.urn] });

describe("least-privilege-telemetry (resource half: a telemetry document on its own)", () => {
    it("accepts exactly s3:PutObject under the customer's prefix / sqs:SendMessage on the queue", () => {
        expectClean(runResource(leastPrivilegeTelemetry, pol(doc(PUT))));
        expectClean(runResource(leastPrivilegeTelemetry, pol(doc(SEND), stateTags)));
    });
    it("flags wildcard actions and resources by what they allow", () => {
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "s3:*" }))), /can s3:GetObject[\s\S]*wildcard action\(s\) s3:\*/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "s3:Put*" }))), /s3:PutObjectAcl|s3:\* actions|s3:Put\*/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: "*" }))), /wildcard resource\(s\) \*/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...SEND, Resource: "arn:aws:sqs:*:999999999999:byoc-state" }), stateTags)), /outside its one queue/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: "arn:aws:s3:::*/acme/*" }))), /outside its one bucket/);
    });
    it("asks 'can it write another customer's object?': bucket-wide keys, prefix wildcards, variables", () => {
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: `${BUCKET}/*` }))), /another customer's objects/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: `${BUCKET}/acme*` }))), /another customer's objects/); // acme2/…
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: `${BUCKET}/\${aws:username}/*` }))), /another customer's objects/);
    });
    it("flags NotAction / NotResource by what they let through, and unparseable documents; reads object documents", () => {
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ Effect: "Allow", NotAction: "iam:*", Resource: `${BUCKET}/acme/k` }))), /NotAction iam:\*/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ Effect: "Allow", Action: "s3:PutObject", NotResource: "arn:aws:s3:::other/*" }))), /NotResource/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol("{not json")), /not valid JSON/);
        expectViolation(runResource(leastPrivilegeTelemetry, pol({ Version: "2012-10-17", Statement: { ...PUT, Action: "*" } })), /more than its one job/);
    });
    it("judges the effective document: Deny carve-outs make a broad Allow exact (compliant twin); a conditional Deny does not", () => {
        const carved = doc(
            { Effect: "Allow", Action: "s3:*", Resource: `${BUCKET}/*` },
            { Effect: "Deny", NotAction: "s3:PutObject", Resource: "*" },
            { Effect: "Deny", Action: "*", NotResource: `${BUCKET}/acme/*` },
        );
        expectClean(runResource(leastPrivilegeTelemetry, pol(carved)));
        const conditional = doc({ Effect: "Allow", Action: "s3:PutObject", Resource: `${BUCKET}/*` }, { Effect: "Deny", Action: "s3:PutObject", NotResource: `${BUCKET}/acme/*`, Condition: { Bool: { "aws:SecureTransport": "false" } } });
        expectViolation(runResource(leastPrivilegeTelemetry, pol(conditional)), /another customer's objects/);
        // an Allow with a condition may apply: judged as allowing
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: `${BUCKET}/*`, Condition: { StringEquals: { "aws:RequestedRegion": "eu-west-1" } } }))), /another customer's/);
    });
    it("recognises telemetry policies by name; ignores other roles' policies and Deny-only documents", () => {
        expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "*" }), {}, "billing-scraper-policy")), /more than its one job/);
        expectClean(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "*" }), { "byoc:role": "thanos" }, "thanos-policy")));
        expectClean(runResource(leastPrivilegeTelemetry, pol(doc(PUT, { Effect: "Deny", Action: "*", Resource: "*" }))));
        expectClean(runResource(leastPrivilegeTelemetry, pol(UNKNOWN)));
    });
    it("checks inline role policies and a telemetry role's inlinePolicies and AWS-managed policies", () => {
        expectViolation(runResource(leastPrivilegeTelemetry, res(RP, "p", { role: "acme-billing-scraper", policy: doc({ ...PUT, Resource: "*" }) })), /wildcard resource/);
        expectClean(runResource(leastPrivilegeTelemetry, res(RP, "p", { role: "acme-billing-scraper", policy: doc(PUT) })));
        const r = (p: Record<string, unknown>) => res(ROLE, "acme-state", { assumeRolePolicy: "{}", tags: stateTags, ...p });
        expectViolation(runResource(leastPrivilegeTelemetry, r({ inlinePolicies: [{ name: "send", policy: doc({ ...SEND, Action: "sqs:*" }) }] })), /sqs:\*/);
        expectViolation(runResource(leastPrivilegeTelemetry, r({ managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSQSFullAccess"] })), /AWS-managed/);
        expectClean(runResource(leastPrivilegeTelemetry, r({ inlinePolicies: [{ name: "send", policy: doc(SEND) }] })));
    });
});

describe("least-privilege-telemetry-stack (the role's effective permissions, however bound)", () => {
    const exporter = role("acme-exporter-role", stateTags);
    it("joins a RolePolicy whose role is an unknown Output to the telemetry role", () => {
        const rp = inline(exporter, doc({ ...SEND, Resource: "*" }), "send");
        assert.deepEqual(runStack(leastPrivilegeTelemetryStack, [exporter, rp]).map((x) => x.urn), [rp.urn]);
        expectClean(runStack(leastPrivilegeTelemetryStack, [exporter, res(RP, "send", { role: "acme-exporter-role-1234", policy: doc(SEND) })]));
    });
    it("flags AWS-managed and broad customer-managed policies attached to a telemetry role (attachment, managedPolicyArns, exclusive attachments)", () => {
        const managed = res(RPA, "a1", { role: UNKNOWN, policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }, { dependencies: [exporter.urn] });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [exporter, managed])), /AmazonS3FullAccess/);
        const extra = pol(doc({ ...SEND, Action: "sqs:*" }), {}, "extra");
        const att = res(RPA, "a2", { role: UNKNOWN, policyArn: UNKNOWN }, { propertyDependencies: { role: [exporter.urn], policyArn: [extra.urn] } });
        assert.deepEqual(runStack(leastPrivilegeTelemetryStack, [exporter, extra, att]).map((x) => x.urn), [extra.urn]);
        const viaArns = role("acme-exporter-role", stateTags, { managedPolicyArns: [extra.props.arn] });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [viaArns, extra])), /sqs:ReceiveMessage|sqs:\* actions/);
        const exclusive = res("aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive", "ex", { roleName: "acme-exporter-role-1234", policyArns: [extra.props.arn] });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [exporter, extra, exclusive])), /more than its one job/);
        const outside = res(RPA, "a3", { role: "acme-exporter-role-1234", policyArn: "arn:aws:iam::111122223333:policy/elsewhere" });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [exporter, outside])), /not defined in this stack/);
    });
    it("recognises a telemetry role by what uses it: Pod Identity (roleArn, targetRoleArn) and IRSA, however the role is named", () => {
        const appRole = role("app-role");
        const broad = inline(appRole, doc({ Effect: "Allow", Action: "s3:PutObject", Resource: `${BUCKET}/*` }));
        const assoc = res(PIA, "billing", { clusterName: "c", namespace: "clickhouse", serviceAccount: "billing-scraper", roleArn: UNKNOWN }, { propertyDependencies: { roleArn: [appRole.urn] } });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [appRole, broad, assoc])), /another customer's objects/);
        const target = res(PIA, "billing", { clusterName: "c", namespace: "clickhouse", serviceAccount: "sa", roleArn: "arn:aws:iam::111122223333:role/hop", targetRoleArn: appRole.props.arn, tags: { "byoc:role": "billing-scraper", "byoc:customer": "acme" } });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [appRole, broad, target])), /another customer's objects/);
        const sa = res("kubernetes:core/v1:ServiceAccount", "sa", { metadata: { name: "uploader", namespace: "byoc-telemetry", annotations: { "eks.amazonaws.com/role-arn": appRole.props.arn } } });
        const wl = deployment("uploader", { ns: "byoc-telemetry", podLabels: { "app.kubernetes.io/component": "billing-scraper" }, containers: [{ name: "c", image: "x" }] });
        wl.props.spec.template.spec.serviceAccountName = "uploader";
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [appRole, broad, sa, wl])), /another customer's objects/);
        // compliant twin: the same bindings, exact permissions
        const exact = inline(appRole, doc(PUT));
        expectClean(runStack(leastPrivilegeTelemetryStack, [appRole, exact, assoc]));
        // a role nothing telemetry uses is not judged
        expectClean(runStack(leastPrivilegeTelemetryStack, [appRole, broad]));
    });
    it("judges all documents together: a Deny in one carves another's Allow; a role with two jobs or two buckets is flagged", () => {
        const r = role("acme-billing", billingTags);
        const allow = res(POLICY, "broad", { policy: doc({ Effect: "Allow", Action: "s3:PutObject", Resource: `${BUCKET}/*` }), arn: "arn:aws:iam::111122223333:policy/broad" });
        const deny = inline(r, doc({ Effect: "Deny", Action: "*", NotResource: `${BUCKET}/acme/*` }), "carve");
        const att = res(RPA, "att", { role: "acme-billing-1234", policyArn: allow.props.arn });
        expectClean(runStack(leastPrivilegeTelemetryStack, [r, allow, deny, att]));
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [r, allow, att])), /another customer's objects/);
        const both = res(PIA, "state", { clusterName: "c", namespace: "byoc-telemetry", serviceAccount: "state-exporter", roleArn: r.props.arn });
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [r, inline(r, doc(PUT)), both])), /does more than one job/);
        const two = inline(r, doc({ ...PUT, Resource: [`${BUCKET}/acme/*`, "arn:aws:s3:::other-billing/acme/*"] }));
        expectViolation(msgs(runStack(leastPrivilegeTelemetryStack, [r, two])), /2 buckets/);
    });
    it("honours a permissions boundary and principal-tag variables (compliant twins)", () => {
        const boundary = res(POLICY, "boundary", { policy: doc(PUT), arn: "arn:aws:iam::111122223333:policy/boundary" });
        const r = role("acme-billing", billingTags, { permissionsBoundary: boundary.props.arn });
        expectClean(runStack(leastPrivilegeTelemetryStack, [r, boundary, res(RPA, "a", { role: "acme-billing-1234", policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" })]).filter((v) => !/AWS-managed/.test(v.message)));
        const tagged = inline(r, doc({ ...PUT, Resource: `${BUCKET}/\${aws:PrincipalTag/byoc:customer}/*` }));
        expectClean(runStack(leastPrivilegeTelemetryStack, [role("acme-billing", billingTags), tagged]));
    });
    it("ignores roles outside the telemetry path", () => {
        const other = res(ROLE, "node-role", { tags: { "byoc:role": "nodes" } });
        const att = res(RPA, "a", { role: UNKNOWN, policyArn: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" }, { dependencies: [other.urn] });
        expectClean(runStack(leastPrivilegeTelemetryStack, [exporter, other, att]));
    });
});

describe("the IAM evaluator agrees with @cloud-copilot/iam-simulate (test-only cross-check)", () => {
    const cases: { doc: string; action: string; resource: string }[] = [];
    const docs = [
        doc(PUT),
        doc({ Effect: "Allow", Action: "s3:*", Resource: `${BUCKET}/*` }, { Effect: "Deny", NotAction: "s3:PutObject", Resource: "*" }),
        doc({ Effect: "Allow", NotAction: ["iam:*", "sts:*"], Resource: "*" }),
        doc({ Effect: "Allow", Action: "s3:Put*", NotResource: `${BUCKET}/other/*` }),
        doc({ Effect: "Allow", Action: ["sqs:Send*", "s3:PutObject"], Resource: [QUEUE, `${BUCKET}/acme?/*`] }, { Effect: "Deny", Action: "s3:PutObject", Resource: `${BUCKET}/acmez/*` }),
    ];
    const requests: [string, string][] = [
        ["s3:PutObject", `${BUCKET}/acme/2026/usage.json`],
        ["s3:PutObject", `${BUCKET}/other/x`],
        ["s3:PutObject", `${BUCKET}/acmez/x`],
        ["s3:PutObject", `${BUCKET}/acme2/x`],
        ["s3:GetObject", `${BUCKET}/acme/x`],
        ["s3:PutObjectAcl", `${BUCKET}/acme/x`],
        ["sqs:SendMessage", QUEUE],
        ["sqs:ReceiveMessage", QUEUE],
        ["iam:PassRole", "arn:aws:iam::999999999999:role/x"],
    ];
    for (const d of docs) for (const [action, resource] of requests) cases.push({ doc: d, action, resource });
    it(`same decision on ${cases.length} requests`, async () => {
        for (const c of cases) {
            const parsed = parsePolicy(c.doc, "doc");
            assert.ok(parsed.ok);
            const mine = evaluate([parsed.doc], c.action, c.resource).allowed;
            const sim = await runSimulation({
                request: { principal: "arn:aws:iam::999999999999:role/telemetry", action: c.action, resource: { resource: c.resource, accountId: "999999999999" }, contextVariables: {} },
                identityPolicies: [{ name: "doc", policy: JSON.parse(c.doc) }],
                serviceControlPolicies: [],
                resourceControlPolicies: [],
            }, {});
            assert.equal(sim.resultType, "single", JSON.stringify(sim).slice(0, 300));
            const theirs = sim.resultType === "single" && sim.result.analysis.result === "Allowed";
            assert.equal(mine, theirs, `${c.action} on ${c.resource} under ${c.doc}`);
        }
    });
});
