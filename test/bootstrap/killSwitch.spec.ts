// The kill switch's Kubernetes half (bootstrap/KillSwitch.ts) under the mock runtime: with vendor access suspended and
// byoc-bootstrap:dataPlaneClusters set, the customer's own `up` stops the data plane's tailnet agents.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { runBootstrapPreview } from "../../cli/preview";
import { ByocMocks } from "../../preview/mocks";
import { runProgram, ProgramRun, RecordedResource } from "../../preview/runtime";
import { toEngineConfig } from "../../stacks/loader";
import { formatProblems, parseBootstrapConfig, parseOrThrow, readBootstrapStackFile } from "../../bootstrap/config";
import { clusterAdminPolicy, FIELD_MANAGER, TAILNET_AGENTS } from "../../bootstrap/KillSwitch";
import { ENDPOINTS } from "../../components/TailnetEndpoint";
import { runStack } from "../harness";
import bootstrap = require("../../bootstrap/index");

const DIR = path.resolve(__dirname, "../../bootstrap");
const NOW = new Date("2026-12-01T10:00:00Z");
/** The customer's admin, signed in through SSO or an assumed role: a session, whose role is what an access entry names. */
const SESSION = "arn:aws:sts::111122223333:assumed-role/acme-platform-admin/carol@acme.example";
const ROLE = "arn:aws:iam::111122223333:role/acme-platform-admin";
const SUSPENDED = { "byoc-bootstrap:vendorAccess": "suspended", "byoc-bootstrap:suspendedAt": "2026-12-01T09:55:00Z" };

function raw(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const r: Record<string, unknown> = { ...readBootstrapStackFile("acme", DIR), "byoc-bootstrap:externalId": "acme-5d2c7f3a9b1e4c60", ...overrides };
    for (const [k, v] of Object.entries(r)) if (v === undefined) delete r[k];
    return r;
}

async function run(overrides: Record<string, unknown> = {}): Promise<ProgramRun> {
    const r = raw(overrides);
    return runProgram(() => bootstrap(parseOrThrow(r, "Pulumi.acme.yaml", NOW), NOW), { project: "byoc-bootstrap", stack: "acme", config: toEngineConfig(r) });
}

const ofType = (r: ProgramRun, type: string) => r.resources.filter((x) => x.type === type);
const one = (r: ProgramRun, type: string): RecordedResource => {
    const found = ofType(r, type);
    assert.equal(found.length, 1, `one ${type}; have ${found.map((x) => x.name).join(", ")}`);
    return found[0];
};
const KILL_SWITCH_TYPES = ["aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "pulumi:providers:kubernetes", "kubernetes:apps/v1:DeploymentPatch", "byoc-bootstrap:index:KillSwitch"];
const killSwitchResources = (r: ProgramRun) => r.resources.filter((x) => KILL_SWITCH_TYPES.includes(x.type));

describe("bootstrap: kill switch stops the tailnet agents (dataPlaneClusters)", () => {
    // The shared mocks answer getCallerIdentity with an IAM user; here the caller is an assumed-role session.
    const original = ByocMocks.prototype.call;
    before(() => {
        ByocMocks.prototype.call = function (this: ByocMocks, args: pulumi.runtime.MockCallArgs) {
            const result = original.call(this, args);
            return args.token === "aws:index/getCallerIdentity:getCallerIdentity" ? { ...result, arn: SESSION, userId: "AROAMOCK:carol@acme.example" } : result;
        };
    });
    after(() => {
        ByocMocks.prototype.call = original;
    });

    it("suspended + clusters: an admin access entry for the caller's role, a provider for the cluster, three agents held at 0 replicas", async () => {
        const r = await run(SUSPENDED);
        const entry = one(r, "aws:eks/accessEntry:AccessEntry");
        assert.equal(entry.inputs.clusterName, "byoc-acme-prod");
        assert.equal(entry.inputs.principalArn, ROLE, "the session's role (getSessionContext issuerArn), not the session");
        assert.notEqual(entry.inputs.principalArn, SESSION);
        assert.equal(entry.inputs.type, "STANDARD");
        assert.equal(entry.inputs.tags["byoc:customer"], undefined, "outside the data plane's tag scope");
        const assoc = one(r, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation");
        assert.equal(assoc.inputs.clusterName, "byoc-acme-prod");
        assert.equal(assoc.inputs.principalArn, ROLE);
        assert.equal(assoc.inputs.policyArn, "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
        assert.equal(clusterAdminPolicy("cn-north-1"), "arn:aws-cn:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy");
        assert.deepEqual(assoc.inputs.accessScope, { type: "cluster" });
        assert.ok(assoc.dependencies.includes(entry.urn), "the association follows its entry");

        const provider = one(r, "pulumi:providers:kubernetes");
        const kubeconfig = JSON.parse(provider.inputs.kubeconfig);
        const endpointOf = (name: string) => new RegExp(`^https://[0-9A-F]{32}\\.gr7\\.us-east-1\\.eks\\.amazonaws\\.com$`).test(name);
        assert.ok(endpointOf(kubeconfig.clusters[0].cluster.server), kubeconfig.clusters[0].cluster.server);
        assert.equal(kubeconfig.clusters[0].cluster["certificate-authority-data"], Buffer.from("mock-ca-byoc-acme-prod").toString("base64"), "the CA getCluster reports");
        const exec = kubeconfig.users[0].user.exec;
        assert.equal(exec.command, "aws");
        assert.deepEqual(exec.args.slice(0, 6), ["eks", "get-token", "--cluster-name", "byoc-acme-prod", "--region", "us-east-1"]);
        assert.ok(!exec.args.includes("--role-arn"), "the bootstrap's own credentials, no provider role");
        assert.equal(exec.env, undefined, "no aws:profile, no env");
        assert.equal(String(provider.inputs.enableServerSideApply), "true", "Patch resources need server-side apply");
        assert.ok(provider.dependencies.includes(assoc.urn), "the provider waits for the access policy");

        const patches = ofType(r, "kubernetes:apps/v1:DeploymentPatch");
        assert.deepEqual(patches.map((p) => `${p.inputs.metadata.namespace}/${p.inputs.metadata.name}`).sort(), ["tailnet-ch/ch-tailscale", "tailnet-k8s/k8s-tailscale", "tailnet-metrics/metrics-tailscale"]);
        for (const p of patches) {
            assert.equal(p.inputs.spec.replicas, 0, p.name);
            assert.equal(p.inputs.metadata.annotations["pulumi.com/patchForce"], "true", p.name);
            assert.equal(p.inputs.metadata.annotations["pulumi.com/patchFieldManager"], FIELD_MANAGER, p.name);
            assert.ok(p.dependencies.includes(assoc.urn), `${p.name} depends on the access policy association`);
            assert.ok(p.provider?.startsWith(provider.urn), `${p.name} goes through the kill switch's provider (${p.provider})`);
        }
        // The IAM half comes first: the kill switch depends on the vendor roles' revocation.
        const ks = one(r, "byoc-bootstrap:index:KillSwitch");
        assert.ok(ks.dependencies.some((d) => d.includes("byoc-bootstrap:index:VendorAccess")), ks.dependencies.join(", "));
        assert.match(String(r.outputs.tailnetAgents), /held at 0 replicas by this stack: byoc-acme-prod: tailnet-k8s\/k8s-tailscale, tailnet-ch\/ch-tailscale, tailnet-metrics\/metrics-tailscale/);
    });

    it("one kill switch per cluster; aws:profile reaches aws eks get-token", async () => {
        const r = await run({ ...SUSPENDED, "byoc-bootstrap:dataPlaneClusters": ["byoc-acme-prod", "byoc-acme-dev"], "aws:profile": "acme-admin" });
        assert.deepEqual(ofType(r, "aws:eks/accessEntry:AccessEntry").map((x) => x.inputs.clusterName).sort(), ["byoc-acme-dev", "byoc-acme-prod"]);
        assert.equal(ofType(r, "kubernetes:apps/v1:DeploymentPatch").length, 6);
        for (const p of ofType(r, "pulumi:providers:kubernetes")) {
            assert.deepEqual(JSON.parse(p.inputs.kubeconfig).users[0].user.exec.env, [{ name: "AWS_PROFILE", value: "acme-admin" }]);
        }
    });

    it("killSwitchPrincipalArn pins the access entry's principal; \"existing\" creates none (the caller already has one)", async () => {
        const pinned = await run({ ...SUSPENDED, "byoc-bootstrap:killSwitchPrincipalArn": "arn:aws:iam::111122223333:role/security-oncall" });
        assert.equal(one(pinned, "aws:eks/accessEntry:AccessEntry").inputs.principalArn, "arn:aws:iam::111122223333:role/security-oncall");
        const existing = await run({ ...SUSPENDED, "byoc-bootstrap:killSwitchPrincipalArn": "existing" });
        assert.equal(ofType(existing, "aws:eks/accessEntry:AccessEntry").length, 0);
        assert.equal(ofType(existing, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation").length, 0);
        assert.equal(ofType(existing, "kubernetes:apps/v1:DeploymentPatch").length, 3);
    });

    it("enabled: none of it, with the clusters listed (re-enabling deletes it all)", async () => {
        const r = await run();
        assert.deepEqual(killSwitchResources(r).map((x) => x.type), []);
        assert.equal(r.outputs.tailnetAgents, undefined);
    });

    it("suspended without clusters: none of it, and the output says the agents are the manual step", async () => {
        const r = await run({ ...SUSPENDED, "byoc-bootstrap:dataPlaneClusters": undefined });
        assert.deepEqual(killSwitchResources(r).map((x) => x.type), []);
        assert.match(String(r.outputs.tailnetAgents), /not stopped by this stack: stop them by hand \(bootstrap\/README\.md, Kill switch/);
    });

    it("the offline preview of a suspended stack without clusters says so too; bootstrap/README.md keeps the manual commands", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-bootstrap-"));
        const text = fs.readFileSync(path.join(DIR, "Pulumi.acme.yaml"), "utf8").replace("vendorAccess: enabled", "vendorAccess: suspended").replace(/\n  byoc-bootstrap:dataPlaneClusters:\n    - byoc-acme-prod/, "");
        assert.ok(!text.includes("dataPlaneClusters:\n"), "the clusters are removed from the copy");
        fs.writeFileSync(path.join(dir, "Pulumi.manual.yaml"), text);
        const out: string[] = [];
        const err: string[] = [];
        assert.equal(await runBootstrapPreview("manual", { dir }, { out: (t) => out.push(t), err: (t) => err.push(t) }), 0, err.join("\n"));
        assert.match(out.join("\n"), /tailnetAgents: not stopped by this stack: stop them by hand/);
        assert.ok(!out.join("\n").includes("DeploymentPatch"));
        fs.rmSync(dir, { recursive: true, force: true });
        const readme = fs.readFileSync(path.join(DIR, "README.md"), "utf8");
        const section = readme.slice(readme.indexOf("## Kill switch"), readme.indexOf("## Break-glass"));
        assert.match(section, /byoc-bootstrap:dataPlaneClusters/);
        assert.match(section, /kubectl -n "\$\{ns#namespace\/\}" scale deployment --all --replicas=0/, "the manual fallback stays");
    });

    it("the agent table matches the data plane: ENDPOINTS and the Deployments its prod stack creates", async () => {
        assert.deepEqual(TAILNET_AGENTS.map((a) => a.endpoint).sort(), Object.keys(ENDPOINTS).sort());
        for (const a of TAILNET_AGENTS) {
            const short = ENDPOINTS[a.endpoint].short;
            assert.equal(a.namespace, `tailnet-${short}`);
            assert.equal(a.deployment, `${short}-tailscale`);
        }
        const prod = await runStack("prod");
        const agents = prod.ofType("kubernetes:apps/v1:Deployment")
            .map((d) => ({ namespace: d.inputs.metadata.namespace, name: d.inputs.metadata.name }))
            .filter((d) => String(d.namespace).startsWith("tailnet-") && String(d.name).endsWith("-tailscale"));
        assert.deepEqual(agents.map((d) => `${d.namespace}/${d.name}`).sort(), TAILNET_AGENTS.map((a) => `${a.namespace}/${a.deployment}`).sort());
        // The cluster the example bootstrap names is the prod stack's.
        const cluster = prod.resources.find((x) => x.type === "eks:index:Cluster");
        assert.equal(cluster?.inputs.name ?? cluster?.name, "byoc-acme-prod");
    });
});

describe("bootstrap: config of the kill switch", () => {
    const problems = (overrides: Record<string, unknown>) => {
        const r = parseBootstrapConfig(raw(overrides), NOW);
        return r.ok ? "" : formatProblems(r.problems);
    };

    it("the example lists the prod cluster", () => {
        const r = parseBootstrapConfig(raw(), NOW);
        assert.ok(r.ok, r.ok ? "" : formatProblems(r.problems));
        assert.deepEqual(r.ok && r.config.dataPlaneClusters, ["byoc-acme-prod"]);
        const none = parseBootstrapConfig(raw({ "byoc-bootstrap:dataPlaneClusters": undefined }), NOW);
        assert.deepEqual(none.ok && none.config.dataPlaneClusters, []);
    });

    it("cluster names of this customer's data plane, as a list, each once", () => {
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": ["byoc-globex-prod"] }), /byoc-bootstrap:dataPlaneClusters\[0\] = "byoc-globex-prod": is not a cluster of this customer's data plane: its clusters are named byoc-acme-<environment>, e.g. byoc-acme-prod/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": ["prod"] }), /dataPlaneClusters\[0\] = "prod": is not a cluster of this customer's data plane/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": "byoc-acme-prod" }), /byoc-bootstrap:dataPlaneClusters = "byoc-acme-prod": must be a list of the data plane's EKS cluster names, e.g. \[byoc-acme-prod\]/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": { prod: "byoc-acme-prod" } }), /dataPlaneClusters = \{"prod":"byoc-acme-prod"\}: must be a list/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": ["byoc-acme-prod", "byoc-acme-prod"] }), /dataPlaneClusters\[1\] = "byoc-acme-prod": is listed twice/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneClusters": ["byoc-acme-prod!"] }), /dataPlaneClusters\[0\] = "byoc-acme-prod!": must be an EKS cluster name/);
        assert.match(problems({ "byoc-bootstrap:dataPlaneCluster": ["byoc-acme-prod"] }), /byoc-bootstrap:dataPlaneCluster: unknown key; did you mean byoc-bootstrap:dataPlaneClusters\?/);
    });

    it("killSwitchPrincipalArn: \"existing\" or a role/user of the customer's account, only with dataPlaneClusters", () => {
        assert.equal(problems({ "byoc-bootstrap:killSwitchPrincipalArn": "existing" }), "");
        assert.equal(problems({ "byoc-bootstrap:killSwitchPrincipalArn": "arn:aws:iam::111122223333:user/admin" }), "");
        assert.match(problems({ "byoc-bootstrap:killSwitchPrincipalArn": "arn:aws:iam::999999999999:role/x" }), /killSwitchPrincipalArn = "arn:aws:iam::999999999999:role\/x": must be a principal of the customer's own account 111122223333/);
        assert.match(problems({ "byoc-bootstrap:killSwitchPrincipalArn": SESSION }), /killSwitchPrincipalArn = .*: must be "existing" .* or the ARN of an IAM role or user/);
        assert.match(problems({ "byoc-bootstrap:killSwitchPrincipalArn": "arn:aws:iam::111122223333:root" }), /must be "existing"/);
        assert.match(problems({ "byoc-bootstrap:killSwitchPrincipalArn": "existing", "byoc-bootstrap:dataPlaneClusters": undefined }), /killSwitchPrincipalArn = "existing": is only read with byoc-bootstrap:dataPlaneClusters/);
    });
});
