// The stack configuration contract (DESIGN.md §3, issue #2): every rule, with the exact message a person reads.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { ALLOWED_CONFIG_KEYS, ConfigProblem, deployRoleOf, endpointKinds, formatProblems, isCsrPem, parseStackConfig, sections, StackConfig } from "../../stacks/schema";
import { bootstrapPrefix, workloadBoundaryArn } from "../../bootstrap/policies";
import { editDistance, REFUSED_CONFIG_KEYS } from "../../stacks/keys";
import { baselines } from "../../stacks/baselines";
import { readStackFile } from "../../stacks/loader";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/stacks");
/** A real P-256 CSR made with `openssl req -new` (see test/fixtures/stacks/engineer.csr). */
const CSR = fs.readFileSync(path.join(FIXTURES, "engineer.csr"), "utf8");

type Stack = "dev" | "prod";
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v));

/** The repository's stack file with top-level keys replaced; `undefined` removes a key. */
function raw(stack: Stack, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const out: Record<string, unknown> = clone(readStackFile(stack, ROOT).raw);
    for (const [k, v] of Object.entries(overrides)) {
        if (v === undefined) delete out[k];
        else out[k] = v;
    }
    // A prod byoc:access replaced for another subject keeps the stack's deploy role (required in prod); the
    // deploy role's own tests build their configs with parseStackConfig directly.
    const access = out["byoc:access"] as Record<string, unknown> | undefined;
    if (stack === "prod" && "byoc:access" in overrides && !(access && "deployRoleArn" in access)) {
        out["byoc:access"] = { ...(access ?? {}), deployRoleArn: PROD_DEPLOY_ROLE };
    }
    // Another customer id: that customer's deploy role.
    const id = (overrides["byoc:customer"] as { id?: unknown } | undefined)?.id;
    const accessNow = out["byoc:access"] as Record<string, unknown> | undefined;
    if (stack === "prod" && typeof id === "string" && /^[a-z0-9][a-z0-9-]{1,18}[a-z0-9]$/.test(id) && accessNow?.deployRoleArn === PROD_DEPLOY_ROLE) {
        out["byoc:access"] = { ...accessNow, deployRoleArn: PROD_DEPLOY_ROLE.replace("-acme-", `-${id}-`) };
        const ingress = out["byoc:ingress"] as Record<string, unknown> | undefined;
        if (ingress?.domain === "acme.byoc.example.com") out["byoc:ingress"] = { ...ingress, domain: `${id}.byoc.example.com` };
    }
    return out;
}
const PROD_DEPLOY_ROLE = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy";


/** One section of the repository's stack file, with some of its fields replaced (`undefined` removes one). */
function section(stack: Stack, key: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
    const out: Record<string, unknown> = clone(readStackFile(stack, ROOT).raw[key] as Record<string, unknown>);
    for (const [k, v] of Object.entries(fields)) {
        if (v === undefined) delete out[k];
        else out[k] = v;
    }
    return out;
}

function ok(stack: Stack, overrides: Record<string, unknown> = {}): StackConfig {
    const result = parseStackConfig(raw(stack, overrides));
    if (!result.ok) assert.fail(`expected a valid config, got:\n${formatProblems(result.problems)}`);
    return result.config;
}

function problems(stack: Stack, overrides: Record<string, unknown>): ConfigProblem[] {
    const result = parseStackConfig(raw(stack, overrides));
    assert.equal(result.ok, false, "expected the config to be rejected");
    return (result as { problems: ConfigProblem[] }).problems;
}

/** Exactly one problem, equal to `expected`. */
function one(stack: Stack, overrides: Record<string, unknown>, expected: ConfigProblem): void {
    assert.deepEqual(problems(stack, overrides), [expected]);
}

const grant = (fields: Record<string, unknown> = {}) => ({
    id: "inc-4711",
    engineer: "alice@example.com",
    csrPem: CSR,
    reason: "INC-4711: ClickHouse merges stuck",
    approvedBy: "lead@example.com",
    notAfter: "2026-11-25T18:00:00Z",
    ...fields,
});
const access = (stack: Stack, fields: Record<string, unknown>) => ({ "byoc:access": section(stack, "byoc:access", fields) });

describe("stacks/schema: the stack configuration contract", () => {
    describe("the repository's stack files and the baselines", () => {
        it("accepts Pulumi.dev.yaml and Pulumi.prod.yaml as written", () => {
            const dev = ok("dev");
            assert.equal(dev.environment, "dev");
            assert.deepEqual(dev.network, { vpcCidr: "10.20.0.0/20", azCount: 2, natGateways: "single", peering: [] });
            assert.equal(dev.baseline, baselines.dev);
            const prod = ok("prod");
            assert.equal(prod.environment, "prod");
            assert.equal(prod.network.azCount, 3);
            assert.equal(prod.network.natGateways, "perAz");
            assert.equal(prod.controlPlane.privateEndpointOnly, true);
            assert.equal(prod.baseline, baselines.prod);
        });

        it("applies the dev baseline when knobs are omitted: 2 AZs, one NAT gateway, 24 h certificates", () => {
            const c = ok("dev", {
                "byoc:network": { vpcCidr: "10.20.0.0/20" },
                "byoc:access": undefined,
                "byoc:ingress": section("dev", "byoc:ingress", { acmeServer: undefined }),
                "byoc:controlPlane": { managementCidrs: ["203.0.113.0/28"] },
                "byoc:customer": { id: "acme-dev" },
            });
            assert.equal(c.network.azCount, 2);
            assert.equal(c.network.natGateways, "single");
            assert.deepEqual(c.network.peering, []);
            assert.equal(c.access.maxCertificateHours, 24);
            assert.deepEqual(c.access.approvers, []);
            assert.deepEqual(c.access.grants, []);
            assert.equal(c.ingress.acmeServer, "production", "production certificates unless staging is asked for");
            assert.equal(c.controlPlane.privateEndpointOnly, false);
            assert.equal(c.customer.name, "acme-dev", "the name defaults to the id");
        });

        it("applies the prod baseline when knobs are omitted: 3 AZs, a NAT gateway per AZ, 8 h certificates", () => {
            const c = ok("prod", { "byoc:network": { vpcCidr: "10.40.0.0/16" }, "byoc:access": undefined });
            assert.equal(c.network.azCount, 3);
            assert.equal(c.network.natGateways, "perAz");
            assert.equal(c.access.maxCertificateHours, 8);
        });

        it("keeps the baseline limits of DESIGN.md §3", () => {
            assert.equal(baselines.prod.minAzCount, 3);
            assert.deepEqual(baselines.prod.allowedNatGateways, ["perAz"]);
            assert.equal(baselines.prod.maxCertificateHours, 8);
            assert.equal(baselines.dev.maxCertificateHours, 24);
            assert.deepEqual(baselines.prod.allowedAcmeServers, ["production"]);
        });

        it("stays within the policy pack's caps (policies/config/<env>.json), so a stack on its baseline passes them", () => {
            for (const env of ["dev", "prod"] as const) {
                const pack = JSON.parse(fs.readFileSync(path.join(ROOT, "policies/config", `${env}.json`), "utf8"));
                const keyCap = pack["tailscale-management-only"]?.maxAuthKeyExpirySeconds ?? 3600;
                assert.ok(baselines[env].tailscaleKeyExpirySeconds <= keyCap, `${env}: auth keys ${baselines[env].tailscaleKeyExpirySeconds}s ≤ ${keyCap}s`);
                const certCap = pack["time-bound-access"]?.maxCertificateHours;
                if (certCap !== undefined) assert.ok(baselines[env].maxCertificateHours <= certCap, `${env}: certificates ${baselines[env].maxCertificateHours} h ≤ ${certCap} h`);
            }
        });

        it("exports one schema per top-level key and the endpoint kinds", () => {
            assert.deepEqual(Object.keys(sections), ["region", "environment", "deployExternalId", "customer", "network", "controlPlane", "ingress", "tailscale", "telemetry", "encryption", "access"]);
            assert.deepEqual([...endpointKinds], ["kubernetes-api", "clickhouse-system", "metrics"]);
        });

        it("refuses a peered network that overlaps the cluster's service CIDR (fixed per VPC: changing it replaces the cluster)", () => {
            const peering = [{ vpcId: "vpc-0a1b2c3d4e5f67890", cidr: "172.20.0.0/20", ownerId: "444455556666" }];
            assert.match(formatProblems(problems("prod", { "byoc:network": section("prod", "byoc:network", { peering }) })), /byoc:network\.peering\[0\]\.cidr = "172\.20\.0\.0\/20": overlaps the cluster's Kubernetes service CIDR 172\.20\.0\.0\/16/);
        });

        it("refuses a tailscale:tailnet that contradicts byoc:tailscale.tailnet (the provider is configured from the latter)", () => {
            assert.match(formatProblems(problems("prod", { "tailscale:tailnet": "other.example" })), /tailscale:tailnet = "other\.example": differs from byoc:tailscale\.tailnet "example\.com"/);
            assert.equal(ok("prod", { "tailscale:tailnet": "example.com" }).tailscaleProvider.tailnet, "example.com");
        });

        it("private API phases: phase and breakGlass only with privateEndpointOnly; phase tailnet needs the kubernetes-api endpoint and a management tag", () => {
            const cp = (fields: Record<string, unknown>) => section("prod", "byoc:controlPlane", fields);
            assert.equal(ok("prod").controlPlane.access, "bootstrap");
            assert.equal(ok("prod", { "byoc:controlPlane": cp({ breakGlass: true }) }).controlPlane.access, "break-glass");
            assert.equal(ok("prod", { "byoc:controlPlane": cp({ privateEndpointOnly: false }) }).controlPlane.access, "public");
            assert.match(formatProblems(problems("prod", { "byoc:controlPlane": cp({ privateEndpointOnly: false, phase: "tailnet" }) })), /byoc:controlPlane\.phase = "tailnet": only applies with byoc:controlPlane\.privateEndpointOnly: true/);
            const missing = formatProblems(problems("prod", { "byoc:controlPlane": cp({ phase: "tailnet" }), "byoc:tailscale": section("prod", "byoc:tailscale", { endpoints: ["metrics"] }) }));
            assert.match(missing, /byoc:controlPlane\.phase = "tailnet": needs "kubernetes-api" in byoc:tailscale\.endpoints/);
            assert.match(missing, /byoc:tailscale\.managementTag: is required with byoc:controlPlane\.phase "tailnet"/);
            const steady = ok("prod", { "byoc:controlPlane": cp({ phase: "tailnet" }), "byoc:tailscale": section("prod", "byoc:tailscale", { managementTag: "tag:byoc-management" }) });
            assert.equal(steady.controlPlane.access, "tailnet");
            assert.match(formatProblems(problems("prod", { "byoc:controlPlane": cp({ phase: "steady" }) })), /byoc:controlPlane\.phase = "steady": must be one of "bootstrap", "switchover", "tailnet"/);
        });

        it("accepts the provider and engine keys it allows: aws:profile, the Tailscale OAuth client (secret as ciphertext), pulumi:tags", () => {
            const config = ok("prod", {
                "tailscale:oauthClientId": "k123",
                "tailscale:oauthClientSecret": { secure: "v1:abc" },
                "aws:profile": "acme",
                "aws:allowedAccountIds": ["111122223333"],
                "aws:defaultTags": { tags: { "cost-center": "db" } },
                "pulumi:tags": { team: "byoc" },
                "pulumi:disable-default-providers": ["kubernetes"],
            });
            assert.equal(config.awsProfile, "acme");
            assert.equal(config.tailscaleProvider.oauthClientId, "k123");
            assert.equal(config.tailscaleProvider.oauthClientSecret, undefined, "ciphertext is not a secret the provider can use");
        });
    });

    describe("required keys", () => {
        const cases: [string, string][] = [
            ["aws:region", "is required: the AWS region, such as us-east-1"],
            ["byoc:environment", 'is required: "dev" or "prod"'],
            ["byoc:customer", "is required: a map with keys id, name?, maintenanceWindow?"],
            ["byoc:network", "is required: a map with keys vpcCidr, azCount?, natGateways?, peering?"],
            ["byoc:controlPlane", "is required: a map with keys managementCidrs, privateEndpointOnly?, phase?, breakGlass?"],
            ["byoc:ingress", "is required: a map with keys mode, ipAllowList, domain, acmeEmail, acmeServer?, privateLink?"],
            ["byoc:tailscale", "is required: a map with keys tailnet, domain, tags, oncallGroup, managementTag?, endpoints"],
            ["byoc:telemetry", "is required: a map with keys billingBucketArn, stateQueueArn, alertWebhookUrl"],
        ];
        for (const [key, message] of cases) {
            it(`${key} is required`, () => {
                for (const stack of ["dev", "prod"] as const) one(stack, { [key]: undefined }, { path: key, value: undefined, message });
            });
        }

        it("byoc:access is optional", () => {
            ok("dev", { "byoc:access": undefined });
            ok("prod", { "byoc:access": undefined });
        });

        it("reports every missing key of an empty stack file at once", () => {
            const result = parseStackConfig({});
            assert.equal(result.ok, false);
            assert.deepEqual(
                (result as { problems: ConfigProblem[] }).problems.map((p) => p.path),
                cases.map(([k]) => k),
            );
        });

        it("names missing nested keys with their full path and what they must hold", () => {
            assert.deepEqual(problems("prod", { "byoc:network": { azCount: 3, natGateways: "perAz" } }), [
                { path: "byoc:network.vpcCidr", value: undefined, message: "is required: must be a CIDR string such as 203.0.113.0/24" },
            ]);
            assert.deepEqual(problems("prod", { "byoc:ingress": section("prod", "byoc:ingress", { ipAllowList: undefined, domain: undefined }) }), [
                { path: "byoc:ingress.ipAllowList", value: undefined, message: "is required: must be a list (a YAML sequence of '- item' lines)" },
                { path: "byoc:ingress.domain", value: undefined, message: "is required: must be a domain name" },
            ]);
            assert.deepEqual(problems("prod", { "byoc:customer": { name: "Acme" } }), [
                { path: "byoc:customer.id", value: undefined, message: "is required: must be a string" },
            ]);
        });

        it("says what a section must be when it has the wrong type", () => {
            one("prod", { "byoc:network": null }, { path: "byoc:network", value: null, message: "must be a map with keys vpcCidr, azCount?, natGateways?, peering?" });
            one("prod", { "byoc:network": "10.40.0.0/16" }, { path: "byoc:network", value: "10.40.0.0/16", message: "must be a map with keys vpcCidr, azCount?, natGateways?, peering?" });
            one("prod", { "byoc:controlPlane": { managementCidrs: "203.0.113.0/28" } }, {
                path: "byoc:controlPlane.managementCidrs",
                value: "203.0.113.0/28",
                message: "must be a list (a YAML sequence of '- item' lines)",
            });
            one("prod", { "byoc:controlPlane": { managementCidrs: ["203.0.113.0/28"], privateEndpointOnly: "yes" } }, {
                path: "byoc:controlPlane.privateEndpointOnly",
                value: "yes",
                message: "must be true or false",
            });
            one("prod", { "aws:region": 5 }, { path: "aws:region", value: 5, message: "must be an AWS region such as us-east-1" });
        });
    });

    describe("unknown keys", () => {
        const topLevel = `is not a known key; allowed keys are ${Object.keys(sections).filter((s) => s !== "region").map((s) => `byoc:${s}`).join(", ")}`;

        it("rejects unknown byoc:* top-level keys, listing the allowed ones when nothing is close", () => {
            one("prod", { "byoc:flavour": "large" }, { path: "byoc:flavour", value: "large", message: topLevel });
        });

        it("names the key a misspelt top-level key most likely is, in any allowed namespace", () => {
            one("prod", { "byoc:netwrok": { vpcCidr: "10.40.0.0/16" } }, { path: "byoc:netwrok", value: { vpcCidr: "10.40.0.0/16" }, message: "is not a known key; did you mean byoc:network?" });
            one("prod", { "byoc:Telemetry": {} }, { path: "byoc:Telemetry", value: {}, message: "is not a known key; did you mean byoc:telemetry?" });
            one("dev", { "byoc:region": "us-east-1" }, { path: "byoc:region", value: "us-east-1", message: "is not a known key; did you mean aws:region?" });
            one("dev", { "awss:region": "us-east-1" }, { path: "awss:region", value: "us-east-1", message: "is not a known key; did you mean aws:region?" });
            one("dev", { "aws:proflie": "acme" }, { path: "aws:proflie", value: "acme", message: "is not a known key; did you mean aws:profile?" });
            one("dev", { "tailscale:oauthClientSecert": "s" }, { path: "tailscale:oauthClientSecert", value: "s", message: "is not a known key; did you mean tailscale:oauthClientSecret?" });
            assert.equal(editDistance("netwrok", "network"), 1, "a swap of neighbours is one edit");
            one("dev", { "tailscale:tags": ["tag:x"] }, { path: "tailscale:tags", value: ["tag:x"], message: "is not a known key; did you mean byoc:tailscale.tags?" });
        });

        it("rejects a typo such as byoc:network.azcount, listing the allowed keys", () => {
            one("prod", { "byoc:network": { vpcCidr: "10.40.0.0/16", azcount: 3 } }, {
                path: "byoc:network.azcount",
                value: 3,
                message: "is not a known key; allowed keys are vpcCidr, azCount, natGateways, peering; did you mean azCount?",
            });
        });

        it("rejects unknown keys at every depth: sections, list items, grants", () => {
            assert.deepEqual(problems("prod", {
                "byoc:customer": { id: "acme", Name: "Acme" },
                "byoc:network": { vpcCidr: "10.40.0.0/16", peering: [{ vpcId: "vpc-0a1b2c3d", cidr: "172.31.0.0/16", accountId: "444455556666" }] },
                "byoc:ingress": section("prod", "byoc:ingress", { allowList: ["192.0.2.0/24"] }),
                "byoc:tailscale": section("prod", "byoc:tailscale", { authKey: "tskey-123" }),
                "byoc:telemetry": section("prod", "byoc:telemetry", { region: "us-east-1" }),
                ...access("prod", { grants: [grant({ expires: "tomorrow" })], maxHours: 4 }),
                "byoc:controlPlane": section("prod", "byoc:controlPlane", { public: false }),
            }), [
                { path: "byoc:customer.Name", value: "Acme", message: "is not a known key; allowed keys are id, name, maintenanceWindow; did you mean name?" },
                { path: "byoc:network.peering[0].accountId", value: "444455556666", message: "is not a known key; allowed keys are vpcId, cidr, ownerId, region" },
                { path: "byoc:controlPlane.public", value: false, message: "is not a known key; allowed keys are managementCidrs, privateEndpointOnly, phase, breakGlass" },
                { path: "byoc:ingress.allowList", value: ["192.0.2.0/24"], message: `is not a known key; allowed keys are ${Object.keys((sections.ingress as any).shape).join(", ")}; did you mean ipAllowList?` },
                { path: "byoc:tailscale.authKey", value: "tskey-123", message: "is not a known key; allowed keys are tailnet, domain, tags, oncallGroup, managementTag, endpoints" },
                { path: "byoc:telemetry.region", value: "us-east-1", message: "is not a known key; allowed keys are billingBucketArn, stateQueueArn, alertWebhookUrl" },
                { path: "byoc:access.grants[0].expires", value: "tomorrow", message: "is not a known key; allowed keys are id, engineer, csrPem, reason, approvedBy, notAfter" },
                { path: "byoc:access.maxHours", value: 4, message: "is not a known key; allowed keys are maxCertificateHours, approvers, grants, deployRoleArn, vendorAccess" },
            ]);
        });
    });

    describe("keys of every namespace (nothing is silently dropped)", () => {
        const controlPlane = section("prod", "byoc:controlPlane", { privateEndpointOnly: undefined });
        const misindented = {
            path: "byoc:privateEndpointOnly",
            value: true,
            message: "is not a known key; did you mean byoc:controlPlane.privateEndpointOnly? (Pulumi reads a key written without a namespace as byoc:privateEndpointOnly: indent it under byoc:controlPlane)",
        };

        it("a key without a namespace is byoc:<key>, as Pulumi reads it; a section's field there names its section", () => {
            one("prod", { "byoc:controlPlane": controlPlane, privateEndpointOnly: true }, misindented);
            one("prod", { "byoc:controlPlane": controlPlane, "byoc:privateEndpointOnly": true }, misindented);
            one("prod", { vpcCidr: "10.40.0.0/16" }, {
                path: "byoc:vpcCidr",
                value: "10.40.0.0/16",
                message: "is not a known key; did you mean byoc:network.vpcCidr? (Pulumi reads a key written without a namespace as byoc:vpcCidr: indent it under byoc:network)",
            });
            one("prod", { domain: "acme.example.com" }, {
                path: "byoc:domain",
                value: "acme.example.com",
                message: "is not a known key; did you mean byoc:ingress.domain or byoc:tailscale.domain? (Pulumi reads a key written without a namespace as byoc:domain: indent it under byoc:ingress or byoc:tailscale)",
            });
            // Un-namespaced allowed keys are just byoc keys.
            assert.equal(ok("prod", { "byoc:environment": undefined, environment: "prod" }).environment, "prod");
        });

        it("a field in the wrong section names the section it belongs to", () => {
            one("prod", { "byoc:controlPlane": controlPlane, "byoc:ingress": section("prod", "byoc:ingress", { privateEndpointOnly: true }) }, {
                path: "byoc:ingress.privateEndpointOnly",
                value: true,
                message: `is not a known key; allowed keys are ${Object.keys((sections.ingress as any).shape).join(", ")}; did you mean byoc:controlPlane.privateEndpointOnly?`,
            });
        });

        it("Pulumi's <namespace>:config:<key> spelling is the same key; a key spelled twice, or one Pulumi cannot parse, is an error", () => {
            assert.equal(ok("prod", { "byoc:customer": undefined, "byoc:config:customer": { id: "acme" } }).customer.id, "acme");
            one("prod", { environment: "dev" }, { path: "byoc:environment", value: "dev", message: "is given twice, as byoc:environment and as environment; Pulumi keeps only one of them" });
            one("prod", { "aws:region:eu-west-1": null }, { path: "aws:region:eu-west-1", value: null, message: "is not a config key Pulumi can read: write <namespace>:<name> with one ':', such as byoc:network" });
        });

        it("aws: allows region (required), profile, account guards, default tags and retries; refuses the rest, saying why", () => {
            ok("prod", { "aws:profile": "acme", "aws:allowedAccountIds": ["111122223333"], "aws:defaultTags": { tags: { team: "db" } }, "aws:maxRetries": 5, "aws:retryMode": "adaptive" });
            // forbiddenAccountIds only without a deploy role (whose provider pins allowedAccountIds; see the deploy role's tests)
            ok("dev", { "aws:forbiddenAccountIds": ["999988887777"] });
            const awsKeys = "allowed aws keys are aws:region, aws:profile, aws:allowedAccountIds, aws:forbiddenAccountIds, aws:defaultTags, aws:maxRetries, aws:retryMode";
            one("prod", { "aws:skipCredentialsValidation": true }, {
                path: "aws:skipCredentialsValidation",
                value: true,
                message: `is not allowed: it changes the endpoints, transport or checks of the AWS provider, which this program does not support (it deploys to AWS's standard regional endpoints); ${awsKeys}`,
            });
            one("prod", { "aws:assumeRoles": [{ roleArn: "arn:aws:iam::111122223333:role/deploy" }] }, {
                path: "aws:assumeRoles",
                value: [{ roleArn: "arn:aws:iam::111122223333:role/deploy" }],
                message: `is not allowed: it changes the AWS identity of the default provider, while the cluster's kubeconfigs authenticate with \`aws eks get-token\` and aws:profile only, so the Kubernetes provider would act as another identity; name the credentials with aws:profile; ${awsKeys}`,
            });
            one("prod", { "aws:flavour": "x" }, { path: "aws:flavour", value: "x", message: `is not a known key; ${awsKeys}` });
            one("prod", { "aws:regoin": "us-east-1" }, { path: "aws:regoin", value: "us-east-1", message: "is not a known key; did you mean aws:region?" });
        });

        it("tailscale: allows the OAuth client (the secret as { secure: … }) and tailnet; anything else would be ignored by the program's provider", () => {
            ok("prod", { "tailscale:oauthClientId": "k123", "tailscale:oauthClientSecret": { secure: "v1:abc" }, "tailscale:tailnet": "example.com" });
            const tsKeys = "allowed tailscale keys are tailscale:oauthClientId, tailscale:oauthClientSecret, tailscale:tailnet";
            one("prod", { "tailscale:apiKey": { secure: "v1:abc" } }, {
                path: "tailscale:apiKey",
                value: { secure: "v1:abc" },
                message: `is not allowed: the program's Tailscale provider is built from byoc:tailscale.tailnet and tailscale:oauthClientId / tailscale:oauthClientSecret only, so this key would be ignored; ${tsKeys}`,
            });
            one("prod", { "tailscale:flavour": "x" }, { path: "tailscale:flavour", value: "x", message: `is not a known key; ${tsKeys}` });
        });

        it("kubernetes: no key at all (the program builds its provider from the EKS cluster)", () => {
            for (const key of ["kubernetes:kubeconfig", "kubernetes:context", "kubernetes:namespace"]) {
                one("prod", { [key]: "x" }, {
                    path: key,
                    value: "x",
                    message: "is not allowed: the program reaches the cluster only through the Kubernetes provider it builds from the EKS cluster; kubernetes:* keys configure only Pulumi's default Kubernetes provider, which the program never uses, so they would be ignored (or point a resource that lost its provider at another cluster); no kubernetes:* key is allowed",
                });
            }
        });

        it("pulumi: stack tags and disable-default-providers; no autonaming; other namespaces are errors", () => {
            ok("prod", { "pulumi:tags": { team: "byoc" }, "pulumi:disable-default-providers": ["kubernetes"] });
            one("prod", { "pulumi:autonaming": { mode: "verbatim" } }, {
                path: "pulumi:autonaming",
                value: { mode: "verbatim" },
                message: "is not allowed: resource names derive from the component names (DESIGN.md §4), and the policies rely on them; allowed pulumi keys are pulumi:tags, pulumi:disable-default-providers",
            });
            for (const key of ["tls:proxy", "random:seed", "eks:foo"]) {
                one("prod", { [key]: "x" }, { path: key, value: "x", message: 'is in a namespace this program does not read; allowed namespaces are byoc, aws, tailscale, pulumi (README "Configuration reference")' });
            }
        });

        it("keys named like Object.prototype members are unknown keys, not a crash", () => {
            one("prod", { "constructor:x": 1 }, { path: "constructor:x", value: 1, message: 'is in a namespace this program does not read; allowed namespaces are byoc, aws, tailscale, pulumi (README "Configuration reference")' });
            assert.match(problems("prod", { "aws:toString": 1 })[0].message, /^is not a known key; allowed aws keys are aws:region/);
            assert.match(problems("prod", { "byoc:hasOwnProperty": 1 })[0].message, /^is not a known key; allowed keys are byoc:environment/);
        });

        it("an allowed provider key without a value is an error (Pulumi would only warn)", () => {
            one("prod", { "aws:profile": null }, { path: "aws:profile", value: null, message: "has no value; give it one or remove the key" });
        });

        it("ALLOWED_CONFIG_KEYS is the list the README documents", () => {
            for (const [ns, refused] of Object.entries(REFUSED_CONFIG_KEYS)) {
                for (const key of Object.keys(refused)) assert.ok(!ALLOWED_CONFIG_KEYS[ns].includes(key), `${ns}:${key} is both allowed and refused`);
            }
            assert.deepEqual(ALLOWED_CONFIG_KEYS, {
                byoc: Object.keys(sections).filter((s) => s !== "region"),
                aws: ["region", "profile", "allowedAccountIds", "forbiddenAccountIds", "defaultTags", "maxRetries", "retryMode"],
                tailscale: ["oauthClientId", "oauthClientSecret", "tailnet"],
                kubernetes: [],
                pulumi: ["tags", "disable-default-providers"],
            });
        });
    });

    describe("CIDRs", () => {
        const net = (vpcCidr: unknown) => ({ "byoc:network": { vpcCidr } });

        it("rejects host bits set and names the network address", () => {
            one("prod", net("10.40.0.1/16"), { path: "byoc:network.vpcCidr", value: "10.40.0.1/16", message: "has host bits set: use the network address 10.40.0.0/16" });
            one("prod", { "byoc:controlPlane": { managementCidrs: ["203.0.113.0/28", "198.51.100.17/28"] } }, {
                path: "byoc:controlPlane.managementCidrs[1]",
                value: "198.51.100.17/28",
                message: "has host bits set: use the network address 198.51.100.16/28",
            });
        });

        it("rejects garbage and notations AWS does not accept", () => {
            const message = "is not a CIDR: use an address and prefix with the host bits zero, such as 203.0.113.0/24";
            for (const bad of ["garbage", "10.40.0.0", "10.40.0.0/33", "10.40.0.256/24", "10.40/16", "010.040.0.0/16", "0xa.0.0.0/16", " 10.40.0.0/16", "10.40.0.0/016"]) {
                one("prod", net(bad), { path: "byoc:network.vpcCidr", value: bad, message });
            }
            one("prod", net(167772160), { path: "byoc:network.vpcCidr", value: 167772160, message: "must be a CIDR string such as 203.0.113.0/24" });
            one("prod", { "byoc:ingress": section("prod", "byoc:ingress", { ipAllowList: ["192.0.2.0/24", "nope"] }) }, { path: "byoc:ingress.ipAllowList[1]", value: "nope", message });
        });

        it("requires an IPv4 VPC CIDR between /16 and /22", () => {
            const message = "must be an IPv4 CIDR between /16 and /22";
            for (const bad of ["10.0.0.0/8", "10.40.0.0/15", "10.40.0.0/23", "10.40.0.0/24", "2001:db8::/56"]) {
                one("prod", net(bad), { path: "byoc:network.vpcCidr", value: bad, message });
            }
            assert.equal(ok("prod", net("10.40.0.0/16")).network.vpcCidr, "10.40.0.0/16");
            assert.equal(ok("prod", net("10.40.4.0/22")).network.vpcCidr, "10.40.4.0/22");
        });

        it("accepts IPv6 entries in the ingress allow list", () => {
            assert.deepEqual(ok("prod", { "byoc:ingress": section("prod", "byoc:ingress", { ipAllowList: ["2001:db8::/32"] }) }).ingress.ipAllowList, ["2001:db8::/32"]);
        });
    });

    describe("customer and environment", () => {
        const customer = (id: unknown, name?: unknown) => ({ "byoc:customer": name === undefined ? { id } : { id, name } });
        const label = "must be a DNS label: 3–20 characters of a–z, 0–9 and '-', starting and ending with a letter or digit";

        it("accepts ids that are DNS labels of 3–20 characters", () => {
            for (const id of ["abc", "a1-b2", "0ab", "a".repeat(20), "acme-corp-eu-1"]) assert.equal(ok("prod", customer(id)).customer.id, id);
        });

        it("rejects ids that are not 3–20 character DNS labels", () => {
            for (const id of ["ab", "a".repeat(21), "Acme", "-acme", "acme-", "ac_me", "acme.eu", "", "ac me"]) {
                one("prod", customer(id), { path: "byoc:customer.id", value: id, message: label });
            }
        });

        it("rejects an empty or overlong display name", () => {
            const message = "must be the customer's display name (1–100 characters)";
            one("prod", customer("acme", ""), { path: "byoc:customer.name", value: "", message });
            one("prod", customer("acme", "x".repeat(101)), { path: "byoc:customer.name", value: "x".repeat(101), message });
        });

        it("accepts dev and prod only", () => {
            for (const env of ["staging", "Prod", "production", 1]) one("dev", { "byoc:environment": env }, { path: "byoc:environment", value: env, message: 'must be "dev" or "prod"' });
        });

        it("accepts AWS region names only", () => {
            for (const region of ["us-gov-west-1", "ap-southeast-2", "eu-central-1"]) assert.equal(ok("prod", { "aws:region": region }).region, region);
            for (const region of ["US-EAST-1", "useast1", "us-east", "virginia"]) {
                one("prod", { "aws:region": region }, { path: "aws:region", value: region, message: "must be an AWS region such as us-east-1" });
            }
        });
    });

    describe("network: AZs, NAT gateways and peering", () => {
        const network = (stack: Stack, fields: Record<string, unknown>) => ({ "byoc:network": section(stack, "byoc:network", fields) });

        it("prod needs azCount 3", () => {
            one("prod", network("prod", { azCount: 2 }), { path: "byoc:network.azCount", value: 2, message: "must be 3 in prod" });
        });

        it("prod needs a NAT gateway per AZ", () => {
            one("prod", network("prod", { natGateways: "single" }), { path: "byoc:network.natGateways", value: "single", message: 'must be "perAz" in prod: one NAT gateway per AZ' });
        });

        it("dev may use 2 or 3 AZs and either NAT layout", () => {
            assert.equal(ok("dev", network("dev", { azCount: 3, natGateways: "perAz" })).network.natGateways, "perAz");
            assert.equal(ok("dev", network("dev", { azCount: 2, natGateways: "single" })).network.azCount, 2);
        });

        it("azCount is 2 or 3, natGateways single or perAz", () => {
            for (const azCount of [1, 4, 2.5, "3"]) one("dev", network("dev", { azCount }), { path: "byoc:network.azCount", value: azCount, message: "must be 2 or 3" });
            one("dev", network("dev", { natGateways: "none" }), { path: "byoc:network.natGateways", value: "none", message: 'must be "single" or "perAz"' });
        });

        it("rejects a peering CIDR that overlaps the VPC", () => {
            for (const cidr of ["10.40.128.0/17", "10.0.0.0/8", "10.40.0.0/16"]) {
                one("prod", network("prod", { peering: [{ vpcId: "vpc-0a1b2c3d", cidr }] }), {
                    path: "byoc:network.peering[0].cidr",
                    value: cidr,
                    message: "overlaps the VPC CIDR 10.40.0.0/16; peered networks must not overlap",
                });
            }
            ok("prod", network("prod", { peering: [{ vpcId: "vpc-0a1b2c3d", cidr: "10.41.0.0/16" }] }));
        });

        it("rejects peering CIDRs that overlap each other", () => {
            one("prod", network("prod", {
                peering: [
                    { vpcId: "vpc-0a1b2c3d", cidr: "172.31.0.0/16" },
                    { vpcId: "vpc-1a1b2c3d", cidr: "192.168.0.0/16" },
                    { vpcId: "vpc-2a1b2c3d", cidr: "172.31.128.0/20" },
                ],
            }), { path: "byoc:network.peering[2].cidr", value: "172.31.128.0/20", message: "overlaps byoc:network.peering[0].cidr 172.31.0.0/16" });
        });

        it("requires IPv4 peering CIDRs: the routes go into IPv4 route tables", () => {
            one("prod", network("prod", { peering: [{ vpcId: "vpc-0a1b2c3d", cidr: "2001:db8::/32" }] }), {
                path: "byoc:network.peering[0].cidr",
                value: "2001:db8::/32",
                message: "must be an IPv4 CIDR: the VPC and its peering routes are IPv4-only",
            });
        });

        it("validates the peer's VPC id, account id and region", () => {
            assert.deepEqual(problems("prod", network("prod", { peering: [{ vpcId: "vpc-xyz", cidr: "172.31.0.0/16", ownerId: 444455556666, region: "Frankfurt" }] })), [
                { path: "byoc:network.peering[0].vpcId", value: "vpc-xyz", message: "must be a VPC id such as vpc-0a1b2c3d4e5f67890" },
                { path: "byoc:network.peering[0].ownerId", value: 444455556666, message: 'must be a 12-digit AWS account id as a quoted string, such as "444455556666"' },
                { path: "byoc:network.peering[0].region", value: "Frankfurt", message: "must be an AWS region such as us-east-1" },
            ]);
            one("prod", network("prod", { peering: [{ vpcId: "vpc-0a1b2c3d", cidr: "172.31.0.0/16", ownerId: "44445555666" }] }), {
                path: "byoc:network.peering[0].ownerId",
                value: "44445555666",
                message: "must be a 12-digit AWS account id",
            });
        });
    });

    describe("controlPlane.managementCidrs", () => {
        const message = "opens the Kubernetes API to the whole internet; list the provider's management NAT CIDRs";
        for (const stack of ["dev", "prod"] as const) {
            it(`never accepts 0.0.0.0/0 or ::/0 (${stack})`, () => {
                assert.deepEqual(problems(stack, { "byoc:controlPlane": { managementCidrs: ["203.0.113.0/28", "0.0.0.0/0", "::/0"] } }), [
                    { path: "byoc:controlPlane.managementCidrs[1]", value: "0.0.0.0/0", message },
                    { path: "byoc:controlPlane.managementCidrs[2]", value: "::/0", message },
                ]);
            });
        }

        it("refuses the internet in pieces (blocks broader than /8 or IPv6 /16) and accepts a /8", () => {
            const broad = "is broader than /8 (IPv6: /16), which is the internet in pieces; list the provider's management NAT CIDRs";
            assert.deepEqual(problems("dev", { "byoc:controlPlane": { managementCidrs: ["0.0.0.0/1", "128.0.0.0/1", "2000::/3", "10.0.0.0/8"] } }), [
                { path: "byoc:controlPlane.managementCidrs[0]", value: "0.0.0.0/1", message: broad },
                { path: "byoc:controlPlane.managementCidrs[1]", value: "128.0.0.0/1", message: broad },
                { path: "byoc:controlPlane.managementCidrs[2]", value: "2000::/3", message: broad },
            ]);
        });

        it("needs at least one CIDR", () => {
            one("prod", { "byoc:controlPlane": { managementCidrs: [], privateEndpointOnly: true } }, {
                path: "byoc:controlPlane.managementCidrs",
                value: [],
                message: "must list at least one management CIDR",
            });
        });
    });

    describe("ingress", () => {
        const ingress = (stack: Stack, fields: Record<string, unknown>) => ({ "byoc:ingress": section(stack, "byoc:ingress", fields) });
        const notInProd = "is not allowed in prod: the IP filter must name the client networks";

        it("never accepts 0.0.0.0/0 or ::/0 in the prod allow list", () => {
            assert.deepEqual(problems("prod", ingress("prod", { ipAllowList: ["192.0.2.0/24", "0.0.0.0/0", "::/0"] })), [
                { path: "byoc:ingress.ipAllowList[1]", value: "0.0.0.0/0", message: notInProd },
                { path: "byoc:ingress.ipAllowList[2]", value: "::/0", message: notInProd },
            ]);
        });

        it("refuses the internet in pieces in the prod allow list", () => {
            const broad = "is broader than /8 (IPv6: /16), which is not allowed in prod: the IP filter must name the client networks";
            assert.deepEqual(problems("prod", ingress("prod", { ipAllowList: ["0.0.0.0/1", "128.0.0.0/1", "192.0.2.0/24"] })), [
                { path: "byoc:ingress.ipAllowList[0]", value: "0.0.0.0/1", message: broad },
                { path: "byoc:ingress.ipAllowList[1]", value: "128.0.0.0/1", message: broad },
            ]);
        });

        it("accepts 0.0.0.0/0 in the dev allow list", () => {
            assert.deepEqual(ok("dev", ingress("dev", { ipAllowList: ["0.0.0.0/0"] })).ingress.ipAllowList, ["0.0.0.0/0"]);
        });

        it("rejects an empty allow list in every environment: the IP filter is mandatory", () => {
            for (const stack of ["dev", "prod"] as const) {
                one(stack, ingress(stack, { ipAllowList: [] }), { path: "byoc:ingress.ipAllowList", value: [], message: "must list at least one CIDR: the IP filter is mandatory" });
            }
        });

        it("refuses staging ACME certificates in prod, allows them in dev", () => {
            one("prod", ingress("prod", { acmeServer: "staging" }), {
                path: "byoc:ingress.acmeServer",
                value: "staging",
                message: 'must be "production" in prod: staging certificates are not trusted by clients',
            });
            assert.equal(ok("dev", ingress("dev", { acmeServer: "staging" })).ingress.acmeServer, "staging");
            one("dev", ingress("dev", { acmeServer: "letsencrypt" }), { path: "byoc:ingress.acmeServer", value: "letsencrypt", message: 'must be "staging" or "production"' });
        });

        it("refuses private ingress without peering", () => {
            one("dev", ingress("dev", { mode: "private" }), {
                path: "byoc:ingress.mode",
                value: "private",
                message: "private ingress is reached over VPC peering: list at least one byoc:network.peering entry",
            });
            assert.equal(ok("prod", ingress("prod", { mode: "private" })).ingress.mode, "private");
        });

        it("validates mode, domain and the ACME e-mail", () => {
            assert.deepEqual(problems("prod", ingress("prod", { mode: "internal", domain: "Acme.Example.com", acmeEmail: "platform" })), [
                { path: "byoc:ingress.mode", value: "internal", message: 'must be one of "public", "private", "privatelink"' },
                { path: "byoc:ingress.domain", value: "Acme.Example.com", message: "must be a lowercase DNS domain such as byoc.example.com" },
                { path: "byoc:ingress.acmeEmail", value: "platform", message: "must be an e-mail address for Let's Encrypt notices" },
            ]);
            one("prod", ingress("prod", { domain: "localhost" }), { path: "byoc:ingress.domain", value: "localhost", message: "must be a lowercase DNS domain such as byoc.example.com" });
        });
    });

    describe("tailscale", () => {
        const tailscale = (fields: Record<string, unknown>) => ({ "byoc:tailscale": section("prod", "byoc:tailscale", fields) });

        it("requires tags of the form tag:name, at least one", () => {
            const message = 'must be a Tailscale tag such as "tag:byoc-dataplane"';
            assert.deepEqual(problems("prod", tailscale({ tags: ["byoc-dataplane", "tag:Byoc", "tag:", "tag:byoc_x", 7] })), [
                { path: "byoc:tailscale.tags[0]", value: "byoc-dataplane", message },
                { path: "byoc:tailscale.tags[1]", value: "tag:Byoc", message },
                { path: "byoc:tailscale.tags[2]", value: "tag:", message },
                { path: "byoc:tailscale.tags[3]", value: "tag:byoc_x", message },
                { path: "byoc:tailscale.tags[4]", value: 7, message },
            ]);
            one("prod", tailscale({ tags: [] }), { path: "byoc:tailscale.tags", value: [], message: "must list at least one tag: auth keys are always tagged" });
        });

        it("requires the on-call group as group:name", () => {
            for (const oncallGroup of ["byoc-oncall", "group:", "group:On Call", "tag:byoc-oncall"]) {
                one("prod", tailscale({ oncallGroup }), { path: "byoc:tailscale.oncallGroup", value: oncallGroup, message: 'must be a Tailscale group such as "group:byoc-oncall"' });
            }
            assert.equal(ok("prod", tailscale({ oncallGroup: "group:sre.oncall_eu-1" })).tailscale.oncallGroup, "group:sre.oncall_eu-1");
        });

        it("accepts only the known endpoints, each once", () => {
            one("prod", tailscale({ endpoints: ["kubernetes-api", "ssh"] }), { path: "byoc:tailscale.endpoints[1]", value: "ssh", message: "must be one of kubernetes-api, clickhouse-system, metrics" });
            one("prod", tailscale({ endpoints: [] }), { path: "byoc:tailscale.endpoints", value: [], message: "must list at least one endpoint" });
            assert.deepEqual(problems("prod", tailscale({ endpoints: ["metrics", "kubernetes-api", "metrics", "metrics"] })), [
                { path: "byoc:tailscale.endpoints[2]", value: "metrics", message: "repeats byoc:tailscale.endpoints[0]; each endpoint is listed once (it gets one tailnet hostname)" },
                { path: "byoc:tailscale.endpoints[3]", value: "metrics", message: "repeats byoc:tailscale.endpoints[0]; each endpoint is listed once (it gets one tailnet hostname)" },
            ]);
        });

        it("requires a tailnet name and a domain", () => {
            assert.deepEqual(problems("prod", tailscale({ tailnet: "", domain: "byoc" })), [
                { path: "byoc:tailscale.tailnet", value: "", message: "must name the tailnet, such as example.com or example.github" },
                { path: "byoc:tailscale.domain", value: "byoc", message: "must be a lowercase DNS domain such as byoc.example.com" },
            ]);
        });
    });

    describe("telemetry", () => {
        const telemetry = (fields: Record<string, unknown>) => ({ "byoc:telemetry": section("prod", "byoc:telemetry", fields) });
        const bucketMessage = "must be an ARN such as arn:aws:s3:::provider-billing (an S3 bucket, no region or account)";
        const queueMessage = "must be an ARN such as arn:aws:sqs:us-east-1:111122223333:byoc-state (an SQS queue with region and account)";

        it("accepts S3 bucket ARNs (optionally with a key prefix) and SQS queue ARNs in any partition", () => {
            const c = ok("prod", telemetry({ billingBucketArn: "arn:aws:s3:::provider-billing/byoc/acme", stateQueueArn: "arn:aws-us-gov:sqs:us-gov-west-1:111122223333:byoc-state.fifo" }));
            assert.equal(c.telemetry.billingBucketArn, "arn:aws:s3:::provider-billing/byoc/acme");
        });

        it("rejects anything that is not an S3 bucket ARN", () => {
            for (const bad of [
                "provider-billing",
                "s3://provider-billing",
                "arn:aws:sqs:us-east-1:111122223333:byoc-state",
                "arn:aws:s3:::Provider_Billing",
                "arn:aws:s3:::ab",
                "arn:aws:s3:us-east-1:111122223333:accesspoint/billing",
            ]) {
                one("prod", telemetry({ billingBucketArn: bad }), { path: "byoc:telemetry.billingBucketArn", value: bad, message: bucketMessage });
            }
        });

        it("rejects anything that is not an SQS queue ARN with region and account", () => {
            for (const bad of [
                "byoc-state",
                "https://sqs.us-east-1.amazonaws.com/111122223333/byoc-state",
                "arn:aws:sns:us-east-1:111122223333:byoc-state",
                "arn:aws:sqs:::byoc-state",
                "arn:aws:sqs:us-east-1::byoc-state",
                "arn:aws:sqs:us-east-1:1111:byoc-state",
                "arn:aws:sqs:us-east-1:111122223333:byoc/state",
            ]) {
                one("prod", telemetry({ stateQueueArn: bad }), { path: "byoc:telemetry.stateQueueArn", value: bad, message: queueMessage });
            }
        });

        it("accepts only https:// webhook URLs", () => {
            for (const bad of ["http://alerts.example.com/hook", "ftp://alerts.example.com/hook", "alerts.example.com/hook", "not a url"]) {
                one("prod", telemetry({ alertWebhookUrl: bad }), { path: "byoc:telemetry.alertWebhookUrl", value: bad, message: "must be an https:// URL" });
            }
        });
    });

    describe("access: certificate lifetime and grants", () => {
        it("caps maxCertificateHours at 8 in prod and 24 in dev", () => {
            one("prod", access("prod", { maxCertificateHours: 9 }), { path: "byoc:access.maxCertificateHours", value: 9, message: "must be at most 8 in prod" });
            assert.equal(ok("prod", access("prod", { maxCertificateHours: 8 })).access.maxCertificateHours, 8);
            assert.equal(ok("prod", access("prod", { maxCertificateHours: 1 })).access.maxCertificateHours, 1);
            one("dev", access("dev", { maxCertificateHours: 25 }), { path: "byoc:access.maxCertificateHours", value: 25, message: "must be at most 24 in dev" });
            assert.equal(ok("dev", access("dev", { maxCertificateHours: 24 })).access.maxCertificateHours, 24);
        });

        it("requires a whole, positive number of hours", () => {
            one("dev", access("dev", { maxCertificateHours: 0 }), { path: "byoc:access.maxCertificateHours", value: 0, message: "must be at least 1 hour" });
            one("dev", access("dev", { maxCertificateHours: 1.5 }), { path: "byoc:access.maxCertificateHours", value: 1.5, message: "must be a whole number of hours" });
            one("dev", access("dev", { maxCertificateHours: "8" }), { path: "byoc:access.maxCertificateHours", value: "8", message: "must be a whole number of hours" });
        });

        it("accepts a well-formed grant by a designated approver", () => {
            const c = ok("prod", access("prod", { grants: [grant(), grant({ id: "inc-4712", notAfter: "2026-11-25T20:00:00+02:00" })] }));
            assert.equal(c.access.grants.length, 2);
            assert.equal(c.access.grants[0].csrPem, CSR);
        });

        it("rejects a bad CSR", () => {
            const message = "must be one PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST----- … -----END CERTIFICATE REQUEST-----) with an intact base64 body";
            const lines = CSR.trim().split("\n");
            const truncated = [...lines.slice(0, 2), ...lines.slice(3)].join("\n");
            const certificate = CSR.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE");
            const twoBlocks = `${CSR}${CSR}`;
            const junkAround = `paste:\n${CSR}`;
            const notBase64 = "-----BEGIN CERTIFICATE REQUEST-----\nnot a csr!\n-----END CERTIFICATE REQUEST-----";
            const notDer = "-----BEGIN CERTIFICATE REQUEST-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE REQUEST-----";
            for (const csrPem of ["not a csr", truncated, certificate, twoBlocks, junkAround, notBase64, notDer]) {
                one("prod", access("prod", { grants: [grant({ csrPem })] }), { path: "byoc:access.grants[0].csrPem", value: csrPem, message });
            }
        });

        it("rejects an approver who is the engineer, also when the case differs", () => {
            for (const approvedBy of ["alice@example.com", "Alice@Example.com"]) {
                one("prod", access("prod", { approvers: ["lead@example.com", "alice@example.com"], grants: [grant({ approvedBy })] }), {
                    path: "byoc:access.grants[0].approvedBy",
                    value: approvedBy,
                    message: "must not be the engineer who requested access",
                });
            }
        });

        it("rejects an approver who is not in byoc:access.approvers; compares addresses case-insensitively", () => {
            one("prod", access("prod", { grants: [grant({ approvedBy: "bob@example.com" })] }), {
                path: "byoc:access.grants[0].approvedBy",
                value: "bob@example.com",
                message: "is not a designated approver (lead@example.com, sre-manager@example.com)",
            });
            ok("prod", access("prod", { grants: [grant({ approvedBy: "Lead@Example.com" })] }));
        });

        it("needs designated approvers as soon as there are grants", () => {
            for (const stack of ["dev", "prod"] as const) {
                for (const approvers of [[], undefined]) {
                    one(stack, access(stack, { approvers, grants: [grant()] }), {
                        path: "byoc:access.approvers",
                        value: approvers,
                        message: "must list the designated approvers when byoc:access.grants is set: every grant's approvedBy is checked against it",
                    });
                }
                ok(stack, access(stack, { approvers: [], grants: [] }));
            }
        });

        it("rejects duplicate grant ids", () => {
            one("prod", access("prod", { grants: [grant(), grant({ engineer: "carol@example.com" })] }), {
                path: "byoc:access.grants[1].id",
                value: "inc-4711",
                message: "is already used by byoc:access.grants[0]; grant ids are unique",
            });
        });

        it("rejects a notAfter that is not an ISO-8601 date-time", () => {
            const message = "must be an ISO-8601 date-time such as 2026-11-25T18:00:00Z";
            for (const notAfter of ["tomorrow", "2026-11-25", "2026-02-30T00:00:00Z", "25.11.2026 18:00", 1764093600]) {
                one("prod", access("prod", { grants: [grant({ notAfter })] }), { path: "byoc:access.grants[0].notAfter", value: notAfter, message });
            }
        });

        it("validates every field of a grant", () => {
            assert.deepEqual(problems("prod", access("prod", { grants: [grant({ id: "INC_1", engineer: "alice", reason: "x", approvedBy: "lead" })] })), [
                { path: "byoc:access.grants[0].id", value: "INC_1", message: "must be a lowercase id (a–z, 0–9, '-'), at most 41 characters" },
                { path: "byoc:access.grants[0].engineer", value: "alice", message: "must be the engineer's e-mail address" },
                { path: "byoc:access.grants[0].reason", value: "x", message: "must say why access is needed (at least 3 characters)" },
                { path: "byoc:access.grants[0].approvedBy", value: "lead", message: "must be the approver's e-mail address" },
            ]);
            assert.deepEqual(problems("prod", access("prod", { grants: [{ id: "inc-1" }] })).map((p) => `${p.path}: ${p.message}`), [
                "byoc:access.grants[0].engineer: is required: must be the engineer's e-mail address",
                "byoc:access.grants[0].csrPem: is required: must be a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)",
                "byoc:access.grants[0].reason: is required: must say why access is needed",
                "byoc:access.grants[0].approvedBy: is required: must be the approver's e-mail address",
                "byoc:access.grants[0].notAfter: is required: must be an ISO-8601 date-time such as 2026-11-25T18:00:00Z",
            ]);
            one("prod", access("prod", { approvers: ["lead"] }), { path: "byoc:access.approvers[0]", value: "lead", message: "must be an e-mail address" });
        });

        it("isCsrPem accepts the openssl CSR with CRLF line ends and surrounding whitespace", () => {
            assert.equal(isCsrPem(CSR), true);
            assert.equal(isCsrPem(`\n  ${CSR.replace(/\n/g, "\r\n")}  \n`), true);
        });
    });

    describe("all problems at once", () => {
        it("lists the 5 problems of a file with 5 problems", () => {
            const file = readStackFile("five-problems", FIXTURES);
            const result = parseStackConfig(file.raw);
            assert.equal(result.ok, false);
            const list = (result as { problems: ConfigProblem[] }).problems;
            assert.deepEqual(list.map((p) => p.path), [
                "byoc:netwrok",
                "byoc:customer.id",
                "byoc:network.vpcCidr",
                "byoc:ingress.ipAllowList[0]",
                "byoc:access.maxCertificateHours",
            ]);
            assert.equal(list.length, 5);
        });

        it("keeps checking other sections when one section is broken", () => {
            const list = problems("prod", {
                "byoc:network": { vpcCidr: "nope" },
                "byoc:controlPlane": { managementCidrs: ["0.0.0.0/0"] },
                "byoc:ingress": section("prod", "byoc:ingress", { acmeServer: "staging" }),
                "byoc:environment": "prod",
            });
            assert.deepEqual(list.map((p) => p.path), ["byoc:network.vpcCidr", "byoc:controlPlane.managementCidrs[0]", "byoc:ingress.acmeServer"]);
        });
    });

    describe("formatProblems", () => {
        it("prints one line per problem: path, value as JSON, message", () => {
            assert.equal(
                formatProblems([
                    { path: "byoc:network.vpcCidr", value: "10.0.0.0/8", message: "must be an IPv4 CIDR between /16 and /22" },
                    { path: "byoc:network.azCount", value: 2, message: "must be 3 in prod" },
                    { path: "aws:region", value: undefined, message: "is required: the AWS region, such as us-east-1" },
                ]),
                [
                    '  byoc:network.vpcCidr = "10.0.0.0/8": must be an IPv4 CIDR between /16 and /22',
                    "  byoc:network.azCount = 2: must be 3 in prod",
                    "  aws:region: is required: the AWS region, such as us-east-1",
                ].join("\n"),
            );
        });

        it("shortens long values to 80 characters", () => {
            const line = formatProblems([{ path: "byoc:access.grants[0].csrPem", value: CSR, message: "m" }]);
            const value = line.slice("  byoc:access.grants[0].csrPem = ".length, line.lastIndexOf(": m"));
            assert.equal(value.length, 80);
            assert.ok(value.endsWith("..."));
        });
    });

    describe("the deploy role (byoc:access.deployRoleArn, byoc:deployExternalId)", () => {
        const prodFile = () => clone(readStackFile("prod", ROOT).raw);
        const check = (edit: (r: Record<string, any>) => void) => {
            const r = prodFile();
            edit(r);
            const result = parseStackConfig(r);
            return result.ok ? [] : result.problems.map((p) => `${p.path}: ${p.message}`);
        };

        it("prod names it; the boundary and the support role follow from it", () => {
            const c = ok("prod");
            assert.deepEqual(c.access.deployRole, {
                roleArn: "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy",
                externalId: undefined, // only ciphertext in the stack file
                account: "111122223333",
                partition: "aws",
                boundaryArn: "arn:aws:iam::111122223333:policy/byoc-bootstrap-acme-workload-boundary",
                supportRoleArn: "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-support",
            });
            const decrypted = parseStackConfig({ ...prodFile(), "byoc:deployExternalId": "ext-0123456789abcdef" });
            assert.ok(decrypted.ok && decrypted.config.access.deployRole?.externalId === "ext-0123456789abcdef");
            assert.equal(ok("dev").access.deployRole, undefined, "dev may deploy with the ambient credentials");
            assert.equal(ok("prod").access.vendorAccess, "enabled");
        });

        it("reads the bootstrap's own names: its deploy role parses, the boundary and support role are the bootstrap's; another role does not", () => {
            const scope = { partition: "aws-us-gov", account: "111122223333", customer: "acme-2" };
            const role = deployRoleOf(`arn:aws-us-gov:iam::111122223333:role/${bootstrapPrefix("acme-2")}deploy`, undefined);
            assert.deepEqual(role && { boundaryArn: role.boundaryArn, supportRoleArn: role.supportRoleArn, account: role.account }, {
                boundaryArn: workloadBoundaryArn(scope),
                supportRoleArn: `arn:aws-us-gov:iam::111122223333:role/${bootstrapPrefix("acme-2")}support`,
                account: "111122223333",
            });
            assert.equal(deployRoleOf(`arn:aws:iam::111122223333:role/${bootstrapPrefix("acme")}support`, undefined), undefined);
            assert.equal(deployRoleOf("arn:aws:iam::111122223333:role/byoc-acme-deploy", undefined), undefined);
        });

        it("is required in prod, with its ExternalId", () => {
            assert.deepEqual(check((r) => delete r["byoc:access"].deployRoleArn), [
                "byoc:access.deployRoleArn: is required in prod: the data plane deploys through the deploy role of the customer's byoc-bootstrap stack (its deployRoleArn output; bootstrap/README.md)",
                "byoc:deployExternalId: only applies with byoc:access.deployRoleArn",
            ]);
            assert.deepEqual(check((r) => delete r["byoc:deployExternalId"]), [
                "byoc:deployExternalId: is required with byoc:access.deployRoleArn: the ExternalId set in the customer's byoc-bootstrap stack (`pulumi config set --secret byoc:deployExternalId …`)",
            ]);
        });

        it("must be this customer's bootstrap deploy role, in an allowed account, with a valid ExternalId", () => {
            assert.match(check((r) => (r["byoc:access"].deployRoleArn = "arn:aws:iam::111122223333:role/byoc-bootstrap-globex-deploy")).join("\n"), /is another customer's deploy role; this stack's is role\/byoc-bootstrap-acme-deploy/);
            assert.match(check((r) => (r["byoc:access"].deployRoleArn = "arn:aws:iam::111122223333:role/admin")).join("\n"), /must be the deployRoleArn output of the customer's byoc-bootstrap stack/);
            assert.match(check((r) => (r["aws:allowedAccountIds"] = ["999988887777"])).join("\n"), /is in account 111122223333, which aws:allowedAccountIds \(999988887777\) does not list/);
            assert.match(check((r) => (r["byoc:deployExternalId"] = "short")).join("\n"), /byoc:deployExternalId: must be 16–1224 characters/);
            assert.match(check((r) => (r["aws:forbiddenAccountIds"] = ["999988887777"])).join("\n"), /aws:forbiddenAccountIds: cannot be combined with byoc:access.deployRoleArn/);
            assert.match(check((r) => (r["byoc:ingress"].domain = "db.acme.com")).join("\n"), /byoc:ingress.domain: must be acme.byoc.<your parent domain> with a deploy role/);
        });

        it("vendorAccess is enabled, suspending or suspended", () => {
            assert.equal(ok("prod", access("prod", { vendorAccess: "suspended" })).access.vendorAccess, "suspended");
            assert.match(formatProblems(problems("prod", access("prod", { vendorAccess: "off" }))), /byoc:access.vendorAccess = "off": must be "enabled", "suspending" or "suspended"/);
        });
    });
});
