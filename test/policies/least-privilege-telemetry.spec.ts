import { strict as assert } from "assert";
import { leastPrivilegeTelemetry, leastPrivilegeTelemetryStack } from "../../policies/rules";
import { expectClean, expectViolation, res, runResource, runStack, UNKNOWN } from "./helpers";

const doc = (...statements: Record<string, unknown>[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const PUT = { Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::provider-billing/acme/*"] };
const SEND = { Effect: "Allow", Action: "sqs:SendMessage", Resource: "arn:aws:sqs:eu-west-1:999999999999:byoc-state" };
const billingTags = { "byoc:role": "billing-scraper", "byoc:component": "TelemetryOutbound" };

describe("least-privilege-telemetry", () => {
    describe("aws:iam/policy:Policy", () => {
        const pol = (policy: unknown, tags: Record<string, string> = billingTags, name = "acme-telemetry-1") => res("aws:iam/policy:Policy", name, { policy, tags });
        it("accepts exact actions and resources (object keys below a prefix may be wildcarded)", () => {
            expectClean(runResource(leastPrivilegeTelemetry, pol(doc(PUT))));
            expectClean(runResource(leastPrivilegeTelemetry, pol(doc(SEND), { "byoc:role": "state-exporter" })));
        });
        it("flags wildcard actions and resources", () => {
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "s3:*" }))), /wildcard action\(s\) s3:\*/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "s3:Put*" }))), /s3:Put\*/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: "*" }))), /wildcard resource\(s\) \*/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...SEND, Resource: "arn:aws:sqs:*:999999999999:byoc-state" }), { "byoc:role": "state-exporter" })), /wildcard resource/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Resource: "arn:aws:s3:::*/acme/*" }))), /wildcard resource/);
        });
        it("flags NotAction / NotResource and unparseable documents; reads object documents", () => {
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ Effect: "Allow", NotAction: "iam:*", Resource: "arn:aws:s3:::b/k" }))), /NotAction/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol("{not json")), /not valid JSON/);
            expectViolation(runResource(leastPrivilegeTelemetry, pol({ Version: "2012-10-17", Statement: { ...PUT, Action: "*" } })), /wildcard action/);
        });
        it("recognises telemetry policies by name; ignores other policies and Deny statements", () => {
            expectViolation(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "*" }), {}, "billing-scraper-policy")), /wildcard/);
            expectClean(runResource(leastPrivilegeTelemetry, pol(doc({ ...PUT, Action: "*" }), { "byoc:role": "thanos" }, "thanos-policy")));
            expectClean(runResource(leastPrivilegeTelemetry, pol(doc(PUT, { Effect: "Deny", Action: "*", Resource: "*" }))));
            expectClean(runResource(leastPrivilegeTelemetry, pol(UNKNOWN)));
        });
    });

    describe("aws:iam/rolePolicy:RolePolicy and aws:iam/role:Role", () => {
        it("checks inline role policies whose role names the telemetry path", () => {
            expectViolation(runResource(leastPrivilegeTelemetry, res("aws:iam/rolePolicy:RolePolicy", "p", { role: "acme-billing-scraper", policy: doc({ ...PUT, Resource: "*" }) })), /wildcard resource/);
            expectClean(runResource(leastPrivilegeTelemetry, res("aws:iam/rolePolicy:RolePolicy", "p", { role: "acme-billing-scraper", policy: doc(PUT) })));
        });
        it("checks a telemetry role's inlinePolicies and managed policies", () => {
            const role = (p: Record<string, unknown>) => res("aws:iam/role:Role", "acme-state", { assumeRolePolicy: "{}", tags: { "byoc:role": "state-exporter" }, ...p });
            expectViolation(runResource(leastPrivilegeTelemetry, role({ inlinePolicies: [{ name: "send", policy: doc({ ...SEND, Action: "sqs:*" }) }] })), /sqs:\*/);
            expectViolation(runResource(leastPrivilegeTelemetry, role({ managedPolicyArns: ["arn:aws:iam::aws:policy/AmazonSQSFullAccess"] })), /AWS-managed/);
            expectClean(runResource(leastPrivilegeTelemetry, role({ inlinePolicies: [{ name: "send", policy: doc(SEND) }] })));
        });
    });

    describe("stack joins (role referenced by an Output)", () => {
        const role = res("aws:iam/role:Role", "acme-exporter-role", { name: "acme-exporter-role-1234", tags: { "byoc:role": "state-exporter" } });
        it("checks a RolePolicy whose role is unknown but depends on a telemetry role", () => {
            const rp = res("aws:iam/rolePolicy:RolePolicy", "send", { role: UNKNOWN, policy: doc({ ...SEND, Resource: "*" }) }, { propertyDependencies: { role: [role.urn], policy: [] } });
            const v = runStack(leastPrivilegeTelemetryStack, [role, rp]);
            assert.deepEqual(v.map((x) => x.urn), [rp.urn]);
            const ok = res("aws:iam/rolePolicy:RolePolicy", "send", { role: "acme-exporter-role-1234", policy: doc(SEND) });
            expectClean(runStack(leastPrivilegeTelemetryStack, [role, ok]));
        });
        it("flags AWS-managed and wildcard customer policies attached to a telemetry role", () => {
            const managed = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a1", { role: UNKNOWN, policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }, { dependencies: [role.urn] });
            expectViolation(runStack(leastPrivilegeTelemetryStack, [role, managed]).map((x) => x.message), /AmazonS3FullAccess/);
            const pol = res("aws:iam/policy:Policy", "extra", { policy: doc({ ...SEND, Action: "sqs:*" }) });
            const att = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a2", { role: UNKNOWN, policyArn: UNKNOWN }, { propertyDependencies: { role: [role.urn], policyArn: [pol.urn] } });
            const v = runStack(leastPrivilegeTelemetryStack, [role, pol, att]);
            assert.deepEqual(v.map((x) => x.urn), [pol.urn]);
        });
        it("ignores roles outside the telemetry path", () => {
            const other = res("aws:iam/role:Role", "node-role", { tags: { "byoc:role": "nodes" } });
            const att = res("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "a", { role: UNKNOWN, policyArn: "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy" }, { dependencies: [other.urn] });
            expectClean(runStack(leastPrivilegeTelemetryStack, [role, other, att]));
        });
    });
});
