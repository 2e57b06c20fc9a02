import { strict as assert } from "assert";
import { ClosureResource, dependencyClosure, DependencyClosure, isComponent } from "../../policies/closure";
import { buildStackResources, makeContext } from "../../policies/engine";
import { res, STACK } from "./helpers";

const u = (type: string, name: string) => `${STACK}::${type}::${name}`;
const VPC = u("aws:ec2/vpc:Vpc", "vpc");
const SUBNET = u("aws:ec2/subnet:Subnet", "subnet");
const EKS = u("eks:index:Cluster", "eks");
const PROV = u("pulumi:providers:kubernetes", "k8s");
const DEPLOY = u("kubernetes:apps/v1:Deployment", "app");

function sorted(s: ReadonlySet<string>): string[] {
    return [...s].sort();
}

describe("dependency closure (policies/closure.ts)", () => {
    it("follows explicit dependencies transitively", () => {
        const c = new DependencyClosure([
            { urn: VPC, type: "aws:ec2/vpc:Vpc" },
            { urn: SUBNET, type: "aws:ec2/subnet:Subnet", dependencies: [VPC] },
            { urn: EKS, type: "eks:index:Cluster", dependencies: [SUBNET] },
        ]);
        assert.deepEqual(sorted(c.closureOf(EKS)), [VPC, SUBNET].sort());
        assert.ok(c.waitsFor(EKS, VPC));
        assert.ok(!c.waitsFor(VPC, EKS));
        assert.deepEqual(sorted(c.closureOf(VPC)), []);
    });

    it("follows propertyDependencies", () => {
        const c = new DependencyClosure([
            { urn: VPC, type: "aws:ec2/vpc:Vpc" },
            { urn: SUBNET, type: "aws:ec2/subnet:Subnet", propertyDependencies: { vpcId: [VPC] } },
        ]);
        assert.ok(c.waitsFor(SUBNET, VPC));
    });

    it("waits for the provider (a `<urn>::<id>` reference, a bare URN or {urn}) and for what the provider waits for", () => {
        const base: ClosureResource[] = [
            { urn: EKS, type: "eks:index:Cluster" },
            { urn: PROV, type: "pulumi:providers:kubernetes", propertyDependencies: { kubeconfig: [EKS] } },
        ];
        for (const provider of [`${PROV}::04da6b54-80e4-46f7-96ec-b56ff0331ba9`, `${PROV}::1a2b3c`, PROV, { urn: PROV }]) {
            const c = new DependencyClosure([...base, { urn: DEPLOY, type: "kubernetes:apps/v1:Deployment", provider }]);
            assert.deepEqual(sorted(c.closureOf(DEPLOY)), [EKS, PROV].sort(), JSON.stringify(provider));
            assert.equal(c.providerUrn(provider), PROV);
        }
        // A provider outside the stack (e.g. a default provider not in the list) is no dependency.
        const c = new DependencyClosure([...base, { urn: DEPLOY, type: "kubernetes:apps/v1:Deployment", provider: `${STACK}::pulumi:providers:kubernetes::default_4_34_2::abc` }]);
        assert.deepEqual(sorted(c.closureOf(DEPLOY)), []);
    });

    it("a dependency on a component means all of its descendants (through child components), with their own dependencies", () => {
        const comp = u("byoc:index:DataPlaneCluster", "dp");
        const inner = u("byoc:index:DataPlaneCluster$byoc:index:Inner", "inner");
        const ng = u("aws:eks/nodeGroup:NodeGroup", "ng");
        const role = u("aws:iam/role:Role", "role");
        const deep = u("aws:eks/addon:Addon", "deep");
        const c = new DependencyClosure([
            { urn: comp, type: "byoc:index:DataPlaneCluster" },
            { urn: inner, type: "byoc:index:Inner", parent: comp },
            { urn: ng, type: "aws:eks/nodeGroup:NodeGroup", parent: comp, dependencies: [role] },
            { urn: role, type: "aws:iam/role:Role" },
            { urn: deep, type: "aws:eks/addon:Addon", parent: inner },
            { urn: DEPLOY, type: "kubernetes:apps/v1:Deployment", dependencies: [comp] },
        ]);
        assert.deepEqual(sorted(c.closureOf(DEPLOY)), [comp, inner, ng, role, deep].sort());
        assert.deepEqual(c.descendantsOf(comp).sort(), [inner, ng, deep].sort());
        assert.deepEqual(c.childrenOf(comp).sort(), [inner, ng].sort());
    });

    it("a remote component's children (eks:index:Cluster → aws:eks/cluster:Cluster in a real preview) are waited for through it", () => {
        const cluster = u("eks:index:Cluster$aws:eks/cluster:Cluster", "eks-cluster");
        const pia = u("aws:eks/podIdentityAssociation:PodIdentityAssociation", "pia");
        const c = new DependencyClosure([
            { urn: EKS, type: "eks:index:Cluster" },
            { urn: cluster, type: "aws:eks/cluster:Cluster", parent: EKS },
            { urn: pia, type: "aws:eks/podIdentityAssociation:PodIdentityAssociation", dependencies: [EKS] },
        ]);
        assert.ok(c.waitsFor(pia, cluster));
        // Under mocks the component has no children: waiting for it is waiting for the cluster.
        const mock = new DependencyClosure([
            { urn: EKS, type: "eks:index:Cluster" },
            { urn: pia, type: "aws:eks/podIdentityAssociation:PodIdentityAssociation", dependencies: [EKS] },
        ]);
        assert.deepEqual(sorted(mock.closureOf(pia)), [EKS]);
    });

    it("a custom resource's children are not waited for through it, and nothing waits for its parent", () => {
        const bucket = u("aws:s3/bucketV2:BucketV2", "b");
        const child = u("aws:s3/bucketPolicy:BucketPolicy", "p");
        const user = u("aws:iam/policy:Policy", "x");
        const c = new DependencyClosure([
            { urn: bucket, type: "aws:s3/bucketV2:BucketV2" },
            { urn: child, type: "aws:s3/bucketPolicy:BucketPolicy", parent: bucket },
            { urn: user, type: "aws:iam/policy:Policy", dependencies: [bucket] },
        ]);
        assert.deepEqual(sorted(c.closureOf(user)), [bucket]);
        assert.deepEqual(sorted(c.closureOf(child)), []);
        // The state's `custom` flag wins over the type heuristics.
        const flagged = new DependencyClosure([
            { urn: bucket, type: "aws:s3/bucketV2:BucketV2", custom: false },
            { urn: child, type: "aws:s3/bucketPolicy:BucketPolicy", parent: bucket },
            { urn: user, type: "aws:iam/policy:Policy", dependencies: [bucket] },
        ]);
        assert.deepEqual(sorted(flagged.closureOf(user)), [bucket, child].sort());
    });

    it("tells components from custom resources without the state's flag", () => {
        for (const t of ["byoc:index:TailnetEndpoint", "eks:index:Cluster", "eks:index:ManagedNodeGroup", "kubernetes:helm.sh/v4:Chart", "kubernetes:yaml/v2:ConfigGroup", "kubernetes:yaml:ConfigFile", "awsx:ec2:Vpc", "pulumi:pulumi:Stack"]) {
            assert.ok(isComponent({ type: t }), t);
        }
        for (const t of ["aws:eks/cluster:Cluster", "kubernetes:apps/v1:Deployment", "kubernetes:helm.sh/v3:Release", "tailscale:index/tailnetKey:TailnetKey", "pulumi:providers:kubernetes", "pulumi:providers:eks"]) {
            assert.ok(!isComponent({ type: t }), t);
        }
        assert.ok(isComponent({ type: "aws:ec2/vpc:Vpc", custom: false }));
        assert.ok(!isComponent({ type: "byoc:index:X", custom: true }));
    });

    it("is cycle-safe: resources on a cycle wait for each other (and themselves), and what hangs off the cycle", () => {
        const a = u("t:m/a:A", "a");
        const b = u("t:m/b:B", "b");
        const x = u("t:m/x:X", "x");
        const y = u("t:m/y:Y", "y");
        const c = new DependencyClosure([
            { urn: a, type: "t:m/a:A", dependencies: [b] },
            { urn: b, type: "t:m/b:B", dependencies: [a, x] },
            { urn: x, type: "t:m/x:X" },
            { urn: y, type: "t:m/y:Y", dependencies: [y, a] },
        ]);
        assert.deepEqual(sorted(c.closureOf(a)), [a, b, x].sort());
        assert.deepEqual(sorted(c.closureOf(b)), [a, b, x].sort());
        assert.deepEqual(sorted(c.closureOf(y)), [a, b, x, y].sort());
        // a component that depends on its own child
        const comp = u("byoc:index:C", "c");
        const kid = u("t:m/k:K", "k");
        const cc = new DependencyClosure([
            { urn: comp, type: "byoc:index:C", dependencies: [kid] },
            { urn: kid, type: "t:m/k:K", parent: comp, dependencies: [comp] },
        ]);
        assert.ok(cc.waitsFor(kid, comp) && cc.waitsFor(comp, kid));
    });

    it("tolerates odd input: unknown URNs, duplicate resources, missing fields, non-array dependencies", () => {
        const c = new DependencyClosure([
            { urn: VPC, type: "aws:ec2/vpc:Vpc", dependencies: ["urn:pulumi:other::p::t::gone"] },
            { urn: VPC, type: "aws:ec2/vpc:Vpc" },
            { urn: SUBNET, type: "aws:ec2/subnet:Subnet", dependencies: "nope" as any, propertyDependencies: { vpcId: null as any, other: [VPC, 42 as any] } },
            null as any,
            { type: "x" } as any,
        ]);
        assert.deepEqual(sorted(c.closureOf(SUBNET)), [VPC]);
        assert.deepEqual(sorted(c.closureOf("urn:not:here")), []);
        assert.ok(!c.waitsFor("urn:not:here", VPC));
    });

    it("works on the engine's StackValidationArgs resources (objects for parent, dependencies and provider)", () => {
        const eks = res("eks:index:Cluster", "eks", { name: "c" });
        const node = res("aws:eks/nodeGroup:NodeGroup", "ng", { clusterName: "c" }, { dependencies: [eks.urn] });
        const prov = res("pulumi:providers:kubernetes", "k8s", {}, { propertyDependencies: { kubeconfig: [eks.urn] }, dependencies: [node.urn] });
        const app = res("kubernetes:apps/v1:Deployment", "app", {}, { provider: `${prov.urn}::1234` });
        const list = [eks, node, prov, app];
        const stack = buildStackResources(makeContext(list, { env: "prod", config: {} }), list);
        const c = dependencyClosure(stack as any);
        assert.deepEqual(sorted(c.closureOf(app.urn)), [eks.urn, node.urn, prov.urn].sort());
        assert.equal(dependencyClosure(stack as any), c, "memoized per resource list");
    });

    it("is fast and iterative on 10k-resource stacks (deep chains, wide fan-in)", () => {
        const n = 10000;
        const list: ClosureResource[] = [];
        for (let i = 0; i < n; i++) {
            // a 2000-deep chain every 2000 resources, each also depending on a shared provider
            list.push({ urn: `${STACK}::t:m/r:R::r${i}`, type: "t:m/r:R", dependencies: i % 2000 === 0 ? [] : [`${STACK}::t:m/r:R::r${i - 1}`], provider: `${STACK}::pulumi:providers:aws::p::id` });
        }
        list.push({ urn: `${STACK}::pulumi:providers:aws::p`, type: "pulumi:providers:aws" });
        const t0 = Date.now();
        const c = new DependencyClosure(list);
        let total = 0;
        for (let i = 0; i < n; i += 7) total += c.closureOf(`${STACK}::t:m/r:R::r${i}`).size;
        assert.ok(c.waitsFor(`${STACK}::t:m/r:R::r1999`, `${STACK}::t:m/r:R::r0`));
        assert.ok(!c.waitsFor(`${STACK}::t:m/r:R::r2000`, `${STACK}::t:m/r:R::r1999`));
        assert.ok(total > 0);
        const ms = Date.now() - t0;
        assert.ok(ms < 5000, `took ${ms} ms`);
    });
});
