import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import {
    enforcementLevelOf, evaluatePolicies, loadPackConfig, PolicyConfigError, policyConfigOf, PolicyResource, validatePackConfig,
} from "../../policies/engine";
import { allPolicies } from "../../policies/rules";
import { res, UNKNOWN } from "./helpers";

const probe = (over: Partial<ResourceValidationPolicy> = {}): ResourceValidationPolicy => ({
    name: "probe",
    description: "probe policy",
    enforcementLevel: "mandatory",
    validateResource: () => undefined,
    ...over,
});

describe("policy engine", () => {
    it("builds ResourceValidationArgs like the CrossGuard runtime", () => {
        const seen: ResourceValidationArgs[] = [];
        const provider = res("pulumi:providers:aws", "default_7_47_0", { region: "eu-west-1" });
        const r = res("aws:s3/bucketV2:BucketV2", "b", { bucket: "b-1", tags: { a: "1" } }, { parent: "urn:pulumi:test::byoc-dataplane::pulumi:pulumi:Stack::s", provider: `${provider.urn}::abc-123` });
        const p = probe({ configSchema: { properties: { environment: { type: "string", default: "prod" }, limit: { type: "number", default: 3 } } }, validateResource: (a) => void seen.push(a) });
        evaluatePolicies([provider, r], { env: "dev", config: { probe: { enforcementLevel: "advisory", limit: 5 } }, stackTags: { team: "byoc" }, policies: [p] });
        const a = seen.find((x) => x.urn === r.urn)!;
        assert.equal(a.type, "aws:s3/bucketV2:BucketV2");
        assert.equal(a.name, "b");
        assert.equal(a.props.bucket, "b-1");
        assert.deepEqual(a.opts, { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [], parent: r.parent });
        assert.equal(a.stackTags.get("team"), "byoc");
        assert.deepEqual(a.getConfig(), { environment: "dev", limit: 5 });
        assert.equal(a.provider!.type, "pulumi:providers:aws");
        assert.equal(a.provider!.urn, provider.urn);
        assert.equal(a.provider!.props.region, "eu-west-1");
        assert.equal(a.isType({ __pulumiType: "aws:s3/bucketV2:BucketV2" } as any), true);
        assert.equal(a.asType({ __pulumiType: "aws:ec2/vpc:Vpc" } as any), undefined);
        assert.throws(() => a.notApplicable("n/a"));
    });

    it("calls an array of validations in order and reports under the resource URN", () => {
        const calls: string[] = [];
        const p = probe({
            validateResource: [
                (_a, rv) => { calls.push("1"); rv("first. Remediation: x", "urn:ignored"); },
                () => void calls.push("2"),
            ],
        });
        const r = res("x:y:Z", "n");
        const rep = evaluatePolicies([r], { env: "prod", config: {}, policies: [p] });
        assert.deepEqual(calls, ["1", "2"]);
        assert.deepEqual(rep.violations, [{ policy: "probe", enforcementLevel: "mandatory", urn: r.urn, message: "first. Remediation: x" }]);
        assert.equal(rep.mandatoryCount, 1);
    });

    it("builds StackValidationArgs with parent, dependencies and propertyDependencies resolved to resources", () => {
        let args: StackValidationArgs | undefined;
        const a = res("aws:ec2/vpc:Vpc", "v");
        const b = res("aws:ec2/subnet:Subnet", "s", {}, { parent: a.urn, dependencies: [a.urn, "urn:missing"], propertyDependencies: { vpcId: [a.urn] } });
        const p: StackValidationPolicy = { name: "stack-probe", description: "d", validateStack: (x) => void (args = x) };
        evaluatePolicies([a, b], { env: "prod", config: { "stack-probe": "mandatory" }, policies: [p] });
        const sb = args!.resources.find((r) => r.urn === b.urn)!;
        assert.equal(sb.parent!.urn, a.urn);
        assert.deepEqual(sb.dependencies.map((d) => d.urn), [a.urn]);
        assert.equal(sb.propertyDependencies.vpcId[0].type, "aws:ec2/vpc:Vpc");
        assert.deepEqual(args!.getConfig(), {});
    });

    it("resolves enforcement: policy config > all > policy default; disabled skips; remediate reports as mandatory", () => {
        const p = probe({ enforcementLevel: "advisory", validateResource: (_a, rv) => rv("v. Remediation: x") });
        const run = (config: Record<string, any>) => evaluatePolicies([res("x:y:Z", "n")], { env: "prod", config, policies: [p] }).violations.map((v) => v.enforcementLevel);
        assert.deepEqual(run({}), ["advisory"]);
        assert.deepEqual(run({ all: "mandatory" }), ["mandatory"]);
        assert.deepEqual(run({ all: "mandatory", probe: { enforcementLevel: "advisory" } }), ["advisory"]);
        assert.deepEqual(run({ probe: "disabled" }), []);
        assert.deepEqual(run({ probe: "remediate" }), ["mandatory"]);
        assert.equal(enforcementLevelOf(p, { all: { enforcementLevel: "disabled" } }), "disabled");
    });

    it("reports an unknown value touched through the runtime proxy as advisory, like `pulumi preview`", () => {
        const p = probe({ validateResource: (a) => void String(a.props.bucket) });
        const rep = evaluatePolicies([res("x:y:Z", "n", { bucket: UNKNOWN })], { env: "prod", config: {}, policies: [p] });
        assert.equal(rep.violations.length, 1);
        assert.equal(rep.violations[0].enforcementLevel, "advisory");
        assert.match(rep.violations[0].message, /can't run policy 'probe' during preview/);
    });

    it("fails closed when a rule throws, and ignores notApplicable", () => {
        const boom = probe({ validateResource: () => { throw new Error("boom"); } });
        const na = probe({ name: "na", validateResource: (a) => a.notApplicable("nope") });
        const rep = evaluatePolicies([res("x:y:Z", "n")], { env: "prod", config: {}, policies: [boom, na] });
        assert.equal(rep.mandatoryCount, 1);
        assert.match(rep.violations[0].message, /could not evaluate/);
        assert.match(rep.errors[0].message, /policy 'probe' failed: boom/);
    });

    it("reports malformed resources and still checks the others", () => {
        const seen: string[] = [];
        const p = probe({ validateResource: (a) => void seen.push(a.urn) });
        const good = res("x:y:Z", "good");
        const input = [good, { urn: "urn:a", props: {} }, { type: "t", props: {} }, { urn: "urn:b", type: "t", props: [] }, null, good] as unknown as PolicyResource[];
        const rep = evaluatePolicies(input, { env: "prod", config: {}, policies: [p] });
        assert.deepEqual(seen, [good.urn]);
        assert.equal(rep.checkedResources, 1);
        assert.deepEqual(rep.errors.map((e) => e.index), [1, 2, 3, 4, 5]);
        assert.match(rep.errors[4].message, /duplicate URN/);
    });

    it("rules are synchronous, uniquely named, and described", () => {
        const readme = fs.readFileSync(path.join(__dirname, "../../README.md"), "utf8");
        const names = allPolicies.map((p) => p.name);
        assert.equal(new Set(names).size, names.length);
        for (const p of allPolicies) {
            assert.ok(p.description.length > 40, `${p.name} needs a description a reviewer understands`);
            // Every rule has its row (what it stops, why or its evidence) in the README's policy table.
            assert.ok(readme.split("\n").some((l) => l.startsWith("| ") && l.includes(`\`${p.name}\``)), `${p.name} has no row in the README's policy table`);
        }
        // every rule over a mixed bag of odd resources: no exception, no Promise
        const odd = [
            res("aws:ec2/securityGroup:SecurityGroup", "a", { ingress: [null, 3, { cidrBlocks: UNKNOWN }] }),
            res("kubernetes:apps/v1:Deployment", "b", { spec: { template: UNKNOWN } }),
            res("kubernetes:core/v1:Service", "c", { spec: UNKNOWN }),
            res("tailscale:index/acl:Acl", "d", { acl: 42 }),
            res("aws:iam/policy:Policy", "billing", { policy: { Statement: "x" } }),
            res("kubernetes:core/v1:ConfigMap", "e", { data: { x: "<users><a>" } }),
            res("aws:eks/cluster:Cluster", "f", { vpcConfig: [] }),
        ];
        const rep = evaluatePolicies(odd, { env: "prod" });
        assert.deepEqual(rep.errors, []);
    });
});

describe("pack config", () => {
    it("loads dev and prod; prod makes every policy mandatory", () => {
        const prod = loadPackConfig("prod");
        const dev = loadPackConfig("dev");
        for (const p of allPolicies) assert.equal(enforcementLevelOf(p, prod), "mandatory", p.name);
        assert.equal(enforcementLevelOf(allPolicies.find((p) => p.name === "tls-everywhere")!, dev), "advisory");
        assert.equal(enforcementLevelOf(allPolicies.find((p) => p.name === "no-inbound-to-tailscale")!, dev), "mandatory");
        assert.equal(policyConfigOf(allPolicies.find((p) => p.name === "time-bound-access")!, prod).maxCertificateHours, 8);
        assert.equal(policyConfigOf(allPolicies.find((p) => p.name === "time-bound-access")!, dev).maxCertificateHours, 24);
    });
    it("rejects unknown policies, bad levels and mistyped properties with one clear line", () => {
        assert.deepEqual(validatePackConfig({ "no-such-rule": "mandatory" }), ['unknown policy "no-such-rule"']);
        assert.match(validatePackConfig({ "time-bound-access": { maxCertificateHours: "8" } })[0], /expected number/);
        assert.match(validatePackConfig({ "tls-everywhere": { environment: "staging" } })[0], /not one of/);
        assert.match(validatePackConfig({ all: "strict" })[0], /invalid enforcement level/);
        const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "cfg-")), "c.json");
        fs.writeFileSync(f, "{ nope");
        assert.throws(() => loadPackConfig("dev", f), PolicyConfigError);
    });
});
