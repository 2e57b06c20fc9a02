import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { StackValidationPolicy } from "@pulumi/policy";
import { enforcementLevelOf, evaluatePolicies, loadPackConfig, PolicyResource } from "../../policies/engine";
import { allPolicies } from "../../policies/rules";
import {
    deployReadinessPolicies, helmValuesValid, launchTemplateDeviceIndex, tailscaleKeyRecreate, waitForCrds, waitForEksCluster,
    waitForLbControllerWebhook, waitForNodes, waitForPodIdentity,
} from "../../policies/rules/deploy-readiness";
import { readSnapshotFile } from "../../policies/snapshot";
import { expectClean, expectViolation, res, runStack, UNKNOWN } from "./helpers";

// ------------------------------------------------------------------------------------------------
// A small EKS stack, wired like the program: eks:index:Cluster → Kubernetes provider (kubeconfig) → objects.
// ------------------------------------------------------------------------------------------------

const CLUSTER = "acme-prod";
const eks = (props: Record<string, any> = {}, name = "eks") => res("eks:index:Cluster", name, { name: CLUSTER, skipDefaultNodeGroup: true, ...props });
const EKS = eks();
const nodeGroup = (extra: Partial<PolicyResource> = {}, props: Record<string, any> = {}) =>
    res("aws:eks/nodeGroup:NodeGroup", "nodes", { clusterName: CLUSTER, scalingConfig: { desiredSize: 3, minSize: 3, maxSize: 6 }, ...props }, { dependencies: [EKS.urn], ...extra });
const NODES = nodeGroup();
function provider(waitsFor: string[] = [], cluster = EKS, name = "k8s", props: Record<string, any> = {}): PolicyResource {
    return res("pulumi:providers:kubernetes", name, { kubeconfig: "{}", ...props }, { propertyDependencies: { kubeconfig: [cluster.urn] }, dependencies: [cluster.urn, ...waitsFor] });
}
const PROV = provider();
const PROV_READY = provider([NODES.urn], EKS, "k8s-ready");
/** A Kubernetes object on `prov`. */
function k8s(type: string, name: string, props: Record<string, any>, deps: string[] = [], prov: PolicyResource = PROV): PolicyResource {
    return res(type, name, props, { dependencies: deps, provider: `${prov.urn}::7d4f1c2e` });
}
function deployment(name: string, ns: string, sa?: string, deps: string[] = [], prov?: PolicyResource, extra: Record<string, any> = {}): PolicyResource {
    return k8s("kubernetes:apps/v1:Deployment", name, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: ns },
        spec: { replicas: 2, template: { spec: { ...(sa ? { serviceAccountName: sa } : {}), containers: [{ name, image: "nginx" }] } }, ...extra },
    }, deps, prov);
}
function release(name: string, chart: string, version: string, values: Record<string, any> = {}, deps: string[] = [], prov?: PolicyResource, extra: Record<string, any> = {}): PolicyResource {
    return k8s("kubernetes:helm.sh/v3:Release", name, { chart, version, name, namespace: extra.namespace ?? name, values, ...extra }, deps, prov);
}
function service(name: string, ns: string, deps: string[] = [], prov?: PolicyResource, labels: Record<string, string> = {}): PolicyResource {
    return k8s("kubernetes:core/v1:Service", name, { apiVersion: "v1", kind: "Service", metadata: { name, namespace: ns, labels }, spec: { type: "ClusterIP", ports: [{ port: 80 }] } }, deps, prov);
}

const urns = (v: { urn?: string }[]) => v.map((x) => x.urn);
function only(v: { message: string; urn?: string }[], urn: string, re: RegExp) {
    assert.deepEqual(urns(v), [urn], v.map((x) => x.message).join("\n"));
    assert.match(v[0].message, re);
}

describe("deploy-readiness", () => {
    it("all eight rules are registered, stack rules, mandatory in dev and prod", () => {
        const names = deployReadinessPolicies.map((p) => p.name);
        assert.deepEqual(names, [
            "wait-for-eks-cluster", "wait-for-crds", "wait-for-nodes", "wait-for-lb-controller-webhook", "wait-for-pod-identity",
            "launch-template-device-index", "tailscale-key-recreate", "helm-values-valid",
        ]);
        for (const env of ["dev", "prod"] as const) {
            const cfg = loadPackConfig(env);
            for (const p of deployReadinessPolicies) {
                assert.ok(allPolicies.includes(p), p.name);
                assert.equal(enforcementLevelOf(p, cfg), "mandatory", `${env} ${p.name}`);
                assert.ok(p.description.length > 60);
            }
        }
    });

    // --------------------------------------------------------------------------------------------
    describe("wait-for-eks-cluster", () => {
        const pia = (extra: Partial<PolicyResource> = {}, props: Record<string, any> = {}) =>
            res("aws:eks/podIdentityAssociation:PodIdentityAssociation", "pia", { clusterName: CLUSTER, namespace: "app", serviceAccount: "app", roleArn: "arn:aws:iam::1:role/app", ...props }, extra);

        it("flags every EKS sub-resource that names the cluster by a literal and does not wait for it", () => {
            for (const type of ["aws:eks/podIdentityAssociation:PodIdentityAssociation", "aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "aws:eks/addon:Addon", "aws:eks/nodeGroup:NodeGroup", "aws:eks/fargateProfile:FargateProfile"]) {
                const r = res(type, "x", { clusterName: CLUSTER });
                only(runStack(waitForEksCluster, [EKS, r]), r.urn, /names EKS cluster 'acme-prod'.*ResourceNotFoundException/);
            }
        });
        it("accepts a dependency or property dependency on the cluster", () => {
            expectClean(runStack(waitForEksCluster, [EKS, pia({ dependencies: [EKS.urn] })]));
            expectClean(runStack(waitForEksCluster, [EKS, pia({ propertyDependencies: { clusterName: [EKS.urn] } }, { clusterName: UNKNOWN })]));
        });
        it("real preview: waiting for the component (or its aws:eks/cluster:Cluster child) is waiting for the cluster; another child is not", () => {
            const inner = res("eks:index:Cluster$aws:eks/cluster:Cluster", "eks-eksCluster", { name: CLUSTER }, { parent: EKS.urn });
            const sg = res("eks:index:Cluster$aws:ec2/securityGroup:SecurityGroup", "eks-nodeSecurityGroup", {}, { parent: EKS.urn });
            const innerTyped = { ...inner, type: "aws:eks/cluster:Cluster" };
            const sgTyped = { ...sg, type: "aws:ec2/securityGroup:SecurityGroup" };
            expectClean(runStack(waitForEksCluster, [EKS, innerTyped, sgTyped, pia({ dependencies: [EKS.urn] })]));
            expectClean(runStack(waitForEksCluster, [EKS, innerTyped, sgTyped, pia({ propertyDependencies: { clusterName: [innerTyped.urn] } })]));
            const p = pia({ dependencies: [sgTyped.urn] });
            only(runStack(waitForEksCluster, [EKS, innerTyped, sgTyped, p]), p.urn, /does not wait for it/);
            // a plain aws:eks/cluster:Cluster, and a component that wraps it
            const plain = res("aws:eks/cluster:Cluster", "plain", { name: CLUSTER });
            only(runStack(waitForEksCluster, [plain, pia()]), pia().urn, /aws:eks\/cluster:Cluster 'plain'/);
            const comp = res("byoc:index:DataPlaneCluster", "dp", {});
            const wrapped = { ...plain, parent: comp.urn };
            expectClean(runStack(waitForEksCluster, [comp, wrapped, pia({ dependencies: [comp.urn] })]));
        });
        it("leaves alone clusters outside the stack and unknown names", () => {
            expectClean(runStack(waitForEksCluster, [EKS, pia({}, { clusterName: "someone-elses" })]));
            expectClean(runStack(waitForEksCluster, [EKS, pia({}, { clusterName: UNKNOWN })]));
            expectClean(runStack(waitForEksCluster, [pia()]));
        });
        it("an access policy association waits for the access entry of its principal", () => {
            const principal = "arn:aws:iam::1:role/oncall";
            const entry = res("aws:eks/accessEntry:AccessEntry", "oncall", { clusterName: CLUSTER, principalArn: principal }, { dependencies: [EKS.urn] });
            const assoc = res("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "oncall-view", { clusterName: CLUSTER, principalArn: principal, policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy" }, { dependencies: [EKS.urn] });
            only(runStack(waitForEksCluster, [EKS, entry, assoc]), assoc.urn, /does not wait for access entry 'oncall'.*principalArn could not be found/);
            expectClean(runStack(waitForEksCluster, [EKS, entry, { ...assoc, propertyDependencies: { principalArn: [entry.urn] } }]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("wait-for-crds", () => {
        const base = release("istio-base", "base", "1.26.2", { defaultRevision: "default" }, [], PROV, { namespace: "istio-system", repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
        const istiod = release("istiod", "istiod", "1.26.2", {}, [base.urn], PROV, { namespace: "istio-system", repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
        const gateway = (deps: string[], type = "kubernetes:networking.istio.io/v1:Gateway") => k8s(type, "gw", { metadata: { name: "gw", namespace: "istio-ingress" }, spec: { servers: [] } }, deps);
        const certManager = (values: Record<string, any>) => release("cert-manager", "cert-manager", "v1.18.2", values, [], PROV, { repositoryOpts: { repo: "https://charts.jetstack.io" } });
        const issuer = (deps: string[]) => k8s("kubernetes:cert-manager.io/v1:ClusterIssuer", "issuer", { spec: { acme: {} } }, deps);

        it("flags an Istio resource that does not wait for the istio base release (waiting for istiod is not enough)", () => {
            const g = gateway([istiod.urn]);
            // istiod waits for base, so the gateway does too — transitively
            expectClean(runStack(waitForCrds, [PROV, EKS, base, istiod, g]));
            const istiodAlone = { ...istiod, dependencies: [] };
            only(runStack(waitForCrds, [PROV, EKS, base, istiodAlone, g]), g.urn, /does not wait for Helm release 'istio-base' \(base@1\.26\.2\).*no matches for kind "Gateway".*Remediation: add Helm release 'istio-base'/);
        });
        it("accepts a direct dependency on the installer", () => {
            expectClean(runStack(waitForCrds, [PROV, EKS, base, gateway([base.urn])]));
        });
        it("honours the pinned chart's values: cert-manager installs CRDs only with crds.enabled (or installCRDs)", () => {
            const off = certManager({ replicaCount: 2 });
            only(runStack(waitForCrds, [PROV, EKS, off, issuer([off.urn])]), issuer([]).urn, /crds\.enabled is not true.*Remediation: set crds\.enabled: true/);
            const on = certManager({ crds: { enabled: true, keep: true } });
            expectClean(runStack(waitForCrds, [PROV, EKS, on, issuer([on.urn])]));
            const legacy = certManager({ installCRDs: true });
            expectClean(runStack(waitForCrds, [PROV, EKS, legacy, issuer([legacy.urn])]));
            const unknown = certManager({ crds: { enabled: UNKNOWN } });
            expectClean(runStack(waitForCrds, [PROV, EKS, unknown, issuer([unknown.urn])]));
        });
        it("kube-prometheus-stack: crds/ directory skipped by skipCrds, crds subchart disabled by crds.enabled: false", () => {
            const sm = (deps: string[], type = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor") => k8s(type, "sm", { spec: {} }, deps);
            const ok = release("mon", "kube-prometheus-stack", "67.8.0");
            expectClean(runStack(waitForCrds, [PROV, EKS, ok, sm([ok.urn])]));
            const skip = release("mon", "kube-prometheus-stack", "67.8.0", {}, [], PROV, { skipCrds: true });
            expectViolation(runStack(waitForCrds, [PROV, EKS, skip, sm([skip.urn])]).map((x) => x.message), /skipCrds: true.*crds\//);
            const off = release("mon", "kube-prometheus-stack", "67.8.0", { crds: { enabled: false } });
            expectViolation(runStack(waitForCrds, [PROV, EKS, off, sm([off.urn])]).map((x) => x.message), /crds\.enabled is false/);
            // a version the pinned CRD does not serve, a kind it does not have
            expectViolation(runStack(waitForCrds, [PROV, EKS, ok, sm([ok.urn], "kubernetes:monitoring.coreos.com/v1beta1:ServiceMonitor")]).map((x) => x.message), /serves monitoring\.coreos\.com ServiceMonitor only as v1, not v1beta1/);
            expectViolation(runStack(waitForCrds, [PROV, EKS, ok, sm([ok.urn], "kubernetes:monitoring.coreos.com/v1:Widget")]).map((x) => x.message), /has no Widget in monitoring\.coreos\.com/);
        });
        it("istio base: base.excludedCRDs removes a CRD", () => {
            const ex = release("istio-base", "base", "1.26.2", { base: { excludedCRDs: ["gateways.networking.istio.io"] } }, [], PROV, { repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
            expectViolation(runStack(waitForCrds, [PROV, EKS, ex, gateway([ex.urn])]).map((x) => x.message), /excludedCRDs/);
        });
        it("aws-load-balancer-controller installs elbv2.k8s.aws", () => {
            const lbc = release("lbc", "aws-load-balancer-controller", "1.13.3", {}, [], PROV, { namespace: "kube-system" });
            const tgb = k8s("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "tgb", { spec: {} }, []);
            only(runStack(waitForCrds, [PROV, EKS, lbc, tgb]), tgb.urn, /does not wait for Helm release 'lbc'/);
            expectClean(runStack(waitForCrds, [PROV, EKS, lbc, { ...tgb, dependencies: [lbc.urn] }]));
        });
        it("reports a custom resource with no installer in the stack, unless its group is declared external", () => {
            const es = k8s("kubernetes:external-secrets.io/v1beta1:ExternalSecret", "es", { spec: {} }, []);
            only(runStack(waitForCrds, [PROV, EKS, es]), es.urn, /has no installer of its CRD in the stack.*externalCrdGroups/);
            expectClean(runStack(waitForCrds, [PROV, EKS, es], { config: { "wait-for-crds": { externalCrdGroups: ["external-secrets.io"] } } }));
            const gw = gateway([]);
            expectViolation(runStack(waitForCrds, [PROV, EKS, gw]).map((x) => x.message), /the base@1\.26\.2 chart installs networking\.istio\.io/);
        });
        it("recognises the generic CustomResource type by apiVersion/kind, and CustomResourceDefinition objects", () => {
            const crd = k8s("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "widgets", { spec: { group: "example.com", names: { kind: "Widget", plural: "widgets" }, versions: [{ name: "v1", served: true, storage: true }] } }, []);
            const cr = (deps: string[], apiVersion = "example.com/v1") => k8s("kubernetes:apiextensions.k8s.io/v1:CustomResource", "w", { apiVersion, kind: "Widget", spec: {} }, deps);
            only(runStack(waitForCrds, [PROV, EKS, crd, cr([])]), cr([]).urn, /CustomResourceDefinition 'widgets'/);
            expectClean(runStack(waitForCrds, [PROV, EKS, crd, cr([crd.urn])]));
            expectViolation(runStack(waitForCrds, [PROV, EKS, crd, cr([crd.urn], "example.com/v2")]).map((x) => x.message), /serves v1, not v2/);
            // built-in kinds through the generic type are not custom resources
            expectClean(runStack(waitForCrds, [PROV, EKS, k8s("kubernetes:apiextensions.k8s.io/v1:CustomResource", "cm", { apiVersion: "v1", kind: "ConfigMap" }, [])]));
        });
        it("yaml/kustomize components and charts the pack does not know are opaque installers", () => {
            const es = (deps: string[]) => k8s("kubernetes:external-secrets.io/v1beta1:ExternalSecret", "es", { spec: {} }, deps);
            const file = k8s("kubernetes:yaml/v2:ConfigFile", "eso-crds", { file: "https://example.com/external-secrets.crds.yaml" }, []);
            expectClean(runStack(waitForCrds, [PROV, EKS, file, es([file.urn])]));
            const chart = release("eso", "external-secrets", "0.10.0");
            expectClean(runStack(waitForCrds, [PROV, EKS, chart, es([chart.urn])]));
            const objs = k8s("kubernetes:yaml/v2:ConfigGroup", "g", { objs: [{ apiVersion: "v1", kind: "ConfigMap" }] }, []);
            expectViolation(runStack(waitForCrds, [PROV, EKS, objs, es([objs.urn])]).map((x) => x.message), /no installer/);
        });
        it("a custom resource rendered by a v4 Chart next to its CRD is ordered by the chart", () => {
            const chart = k8s("kubernetes:helm.sh/v4:Chart", "eso", { chart: "external-secrets", version: "0.10.0" }, []);
            const crd = { ...k8s("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "eso-crd", { spec: { group: "external-secrets.io", names: { kind: "ExternalSecret" } } }, []), parent: chart.urn };
            const cr = { ...k8s("kubernetes:external-secrets.io/v1beta1:ExternalSecret", "es", { spec: {} }, []), parent: chart.urn };
            expectClean(runStack(waitForCrds, [PROV, EKS, chart, crd, cr]));
        });
        it("an installer on another cluster does not count", () => {
            const other = eks({ name: "other" }, "other");
            const prov2 = provider([], other, "k8s-other");
            const base2 = release("istio-base", "base", "1.26.2", {}, [], prov2, { repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
            const g = gateway([base2.urn]);
            expectViolation(runStack(waitForCrds, [EKS, PROV, other, prov2, base2, g]).map((x) => x.message), /no installer/);
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("wait-for-nodes", () => {
        it("flags workloads and releases whose provider waits only for the cluster, not for a node group", () => {
            const d = deployment("app", "app");
            only(runStack(waitForNodes, [EKS, NODES, PROV, d]), d.urn, /Deployment 'app' does not wait for node capacity.*node group 'nodes'.*Remediation: add node group 'nodes' to its dependsOn/);
            const r = release("istiod", "istiod", "1.26.2");
            only(runStack(waitForNodes, [EKS, NODES, PROV, r]), r.urn, /Helm release 'istiod'/);
        });
        it("accepts them once the provider (or the object) waits for the node group", () => {
            expectClean(runStack(waitForNodes, [EKS, NODES, PROV_READY, deployment("app", "app", undefined, [], PROV_READY), release("istiod", "istiod", "1.26.2", {}, [], PROV_READY)]));
            expectClean(runStack(waitForNodes, [EKS, NODES, PROV, deployment("app", "app", undefined, [NODES.urn])]));
        });
        it("covers every pod-scheduling kind, skips scaled-to-zero Deployments and pod-free charts (istio base)", () => {
            const kinds = ["apps/v1:StatefulSet", "apps/v1:DaemonSet", "apps/v1:ReplicaSet", "batch/v1:Job", "batch/v1:CronJob", "core/v1:Pod"];
            for (const k of kinds) {
                const r = k8s(`kubernetes:${k}`, "w", { metadata: { namespace: "app" }, spec: {} });
                only(runStack(waitForNodes, [EKS, NODES, PROV, r]), r.urn, /does not wait for node capacity/);
            }
            expectClean(runStack(waitForNodes, [EKS, NODES, PROV, deployment("idle", "app", undefined, [], PROV, { replicas: 0 })]));
            expectClean(runStack(waitForNodes, [EKS, NODES, PROV, release("istio-base", "base", "1.26.2", {}, [], PROV, { repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } })]));
            expectClean(runStack(waitForNodes, [EKS, NODES, PROV, k8s("kubernetes:core/v1:ConfigMap", "cm", { data: {} })]));
        });
        it("EKS add-ons that run a Deployment wait for nodes; DaemonSet add-ons are not judged", () => {
            const coredns = res("aws:eks/addon:Addon", "coredns", { clusterName: CLUSTER, addonName: "coredns" }, { dependencies: [EKS.urn] });
            only(runStack(waitForNodes, [EKS, NODES, coredns]), coredns.urn, /EKS add-on 'coredns'.*DEGRADED/);
            expectClean(runStack(waitForNodes, [EKS, NODES, { ...coredns, dependencies: [EKS.urn, NODES.urn] }]));
            expectClean(runStack(waitForNodes, [EKS, NODES, res("aws:eks/addon:Addon", "vpc-cni", { clusterName: CLUSTER, addonName: "vpc-cni" })]));
        });
        it("a cluster without any node capacity in the stack is reported as such", () => {
            const d = deployment("app", "app");
            only(runStack(waitForNodes, [EKS, PROV, d]), d.urn, /has no node group or Fargate profile/);
            const zero = nodeGroup({}, { scalingConfig: { desiredSize: 0, minSize: 0, maxSize: 3 } });
            expectViolation(runStack(waitForNodes, [EKS, zero, provider([zero.urn]), deployment("app", "app", undefined, [], provider([zero.urn]))]).map((x) => x.message), /no node group/);
        });
        it("clusters that bring their own nodes: default node group, auto mode, Fargate (by namespace)", () => {
            const withDefault = eks({ skipDefaultNodeGroup: undefined });
            expectClean(runStack(waitForNodes, [withDefault, provider([], withDefault), deployment("app", "app", undefined, [], provider([], withDefault))]));
            const auto = eks({ autoMode: { enabled: true } });
            expectClean(runStack(waitForNodes, [auto, provider([], auto), deployment("app", "app", undefined, [], provider([], auto))]));
            const fargate = eks({ fargate: true });
            const pf = provider([], fargate);
            expectClean(runStack(waitForNodes, [fargate, pf, deployment("app", "default", undefined, [], pf)]));
            const elsewhere = deployment("app", "apps", undefined, [], pf);
            only(runStack(waitForNodes, [fargate, pf, elsewhere]), elsewhere.urn, /for namespace apps/);
            const profile = res("aws:eks/fargateProfile:FargateProfile", "apps", { clusterName: CLUSTER, selectors: [{ namespace: "app?" }, { namespace: "team-*" }] }, { dependencies: [EKS.urn] });
            const pp = provider([profile.urn]);
            expectClean(runStack(waitForNodes, [EKS, profile, pp, deployment("a", "apps", undefined, [], pp), deployment("b", "team-x", undefined, [], pp)]));
            expectViolation(runStack(waitForNodes, [EKS, profile, pp, deployment("c", "other", undefined, [], pp)]).map((x) => x.message), /no node group or Fargate profile for namespace other/);
        });
        it("pulumi-eks node groups count (joined by their cluster input); pulumi-eks's own coredns in a self-providing cluster is its business", () => {
            const mng = res("eks:index:ManagedNodeGroup", "mng", { cluster: EKS.urn }, { propertyDependencies: { cluster: [EKS.urn] }, dependencies: [EKS.urn] });
            const pm = provider([mng.urn]);
            expectClean(runStack(waitForNodes, [EKS, mng, pm, deployment("a", "app", undefined, [], pm)]));
            // Under mocks (no children): the component's inputs say whether it brings nodes.
            const withDefault = eks({ skipDefaultNodeGroup: false });
            const d = deployment("a", "app", undefined, [], provider([], withDefault));
            expectClean(runStack(waitForNodes, [withDefault, provider([], withDefault), d]));
            // A real preview: its props are outputs; the children show the default node group (an Auto Scaling group).
            const real = res("eks:index:Cluster", "eks", { kubeconfig: "{}" });
            const inner = { ...res("aws:eks/cluster:Cluster", "eks-eksCluster", { name: CLUSTER }), parent: real.urn };
            const asg = { ...res("aws:autoscaling/group:Group", "eks-nodes", { tags: [{ key: `kubernetes.io/cluster/${CLUSTER}`, value: "owned" }] }), parent: real.urn };
            const coredns = res("aws:eks/addon:Addon", "eks-coredns", { clusterName: CLUSTER, addonName: "coredns" }, { parent: real.urn, propertyDependencies: { clusterName: [inner.urn] } });
            const pr = provider([], real, "k8s-real");
            expectClean(runStack(waitForNodes, [real, inner, asg, coredns, pr, deployment("a", "app", undefined, [], pr)]));
            // … and without that child the cluster brings no nodes, whatever its outputs say.
            const dd = deployment("a", "app", undefined, [], pr);
            only(runStack(waitForNodes, [real, inner, pr, dd]), dd.urn, /no node group/);
            const bare = { ...coredns, parent: EKS.urn, propertyDependencies: {} };
            expectViolation(runStack(waitForNodes, [EKS, bare]).map((x) => x.message), /no node group/);
        });
        it("leaves alone objects whose cluster it cannot place", () => {
            expectClean(runStack(waitForNodes, [EKS, NODES, res("kubernetes:apps/v1:Deployment", "d", { metadata: { namespace: "x" } })]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("wait-for-lb-controller-webhook", () => {
        const lbc = (values: Record<string, any> = {}, extra: Record<string, any> = {}) =>
            release("aws-load-balancer-controller", "aws-load-balancer-controller", "1.13.3", { clusterName: CLUSTER, ...values }, [], PROV, { namespace: "kube-system", repositoryOpts: { repo: "https://aws.github.io/eks-charts" }, ...extra });
        const LBC = lbc();

        it("flags Services and Helm releases that can be created while the controller is starting", () => {
            const s = service("nginx", "tailnet");
            const cm = release("cert-manager", "cert-manager", "v1.18.2", { crds: { enabled: true } });
            const v = runStack(waitForLbControllerWebhook, [EKS, PROV, LBC, s, cm]);
            assert.deepEqual(urns(v).sort(), [s.urn, cm.urn].sort());
            expectViolation(v.map((x) => x.message), /Service 'nginx' can be created while AWS Load Balancer Controller release 'aws-load-balancer-controller' is still starting: its fail-closed webhook mservice\.elbv2\.k8s\.aws.*Remediation: add the controller release to its dependsOn, or set enableServiceMutatorWebhook: false/);
        });
        it("accepts a Service that waits for the controller, one the controller waits for, its own Service, and pod-free charts", () => {
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, LBC, service("nginx", "tailnet", [LBC.urn])]));
            const early = service("early", "tailnet");
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, { ...LBC, dependencies: [early.urn] }, early]));
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, LBC, service("own", "kube-system", [], PROV, { "app.kubernetes.io/name": "aws-load-balancer-controller" })]));
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, LBC, release("istio-base", "base", "1.26.2", {}, [], PROV, { repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } })]));
        });
        it("accepts anything when the Service webhook is off (enableServiceMutatorWebhook: false or failurePolicy Ignore)", () => {
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, lbc({ enableServiceMutatorWebhook: false }), service("nginx", "tailnet")]));
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, lbc({ serviceMutatorWebhookConfig: { failurePolicy: "Ignore" } }), service("nginx", "tailnet")]));
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, lbc({ enableServiceMutatorWebhook: UNKNOWN }), service("nginx", "tailnet")]));
        });
        it("Ingresses: the vingress webhook unless webhookConfig.disableIngressValidation", () => {
            const ing = k8s("kubernetes:networking.k8s.io/v1:Ingress", "ing", { spec: {} });
            only(runStack(waitForLbControllerWebhook, [EKS, PROV, lbc({ enableServiceMutatorWebhook: false }), ing]), ing.urn, /vingress\.elbv2\.k8s\.aws.*disableIngressValidation/);
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, lbc({ enableServiceMutatorWebhook: false, webhookConfig: { disableIngressValidation: true } }), ing]));
        });
        it("a controller release with skipAwait cannot be waited for", () => {
            const l = lbc({}, { skipAwait: true });
            only(runStack(waitForLbControllerWebhook, [EKS, PROV, l, service("nginx", "tailnet", [l.urn])]), l.urn, /skipAwait/);
        });
        it("a controller installed by a v4 Chart (children visible in a real preview): its own objects are exempt, others wait for the chart", () => {
            const chart = k8s("kubernetes:helm.sh/v4:Chart", "lbc", { chart: "aws-load-balancer-controller", version: "1.13.3", values: {} });
            const own = { ...service("aws-load-balancer-webhook-service", "kube-system"), parent: chart.urn };
            const s = service("nginx", "tailnet");
            only(runStack(waitForLbControllerWebhook, [EKS, PROV, chart, own, s]), s.urn, /release 'lbc'/);
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, chart, own, { ...s, dependencies: [chart.urn] }]));
        });
        it("Services of another cluster are not affected", () => {
            const other = eks({ name: "other" }, "other");
            const prov2 = provider([], other, "k8s-other");
            expectClean(runStack(waitForLbControllerWebhook, [EKS, PROV, other, prov2, LBC, service("nginx", "tailnet", [], prov2)]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("wait-for-pod-identity", () => {
        const pia = (ns: string, sa: string, name = `${ns}-${sa}`, props: Record<string, any> = {}) =>
            res("aws:eks/podIdentityAssociation:PodIdentityAssociation", name, { clusterName: CLUSTER, namespace: ns, serviceAccount: sa, roleArn: "arn:aws:iam::1:role/x", ...props }, { dependencies: [EKS.urn] });
        const A = pia("telemetry", "state-exporter");

        it("flags a workload running as a bound service account that does not wait for the association", () => {
            const d = deployment("state-exporter", "telemetry", "state-exporter");
            only(runStack(waitForPodIdentity, [EKS, PROV, A, d]), d.urn, /runs as service account telemetry\/state-exporter, which pod identity association 'telemetry-state-exporter'.*Remediation: add the association to its dependsOn/);
            expectClean(runStack(waitForPodIdentity, [EKS, PROV, A, deployment("state-exporter", "telemetry", "state-exporter", [A.urn])]));
        });
        it("matches namespace, service account (default: 'default') and cluster", () => {
            expectClean(runStack(waitForPodIdentity, [EKS, PROV, A, deployment("x", "other", "state-exporter")]));
            expectClean(runStack(waitForPodIdentity, [EKS, PROV, A, deployment("x", "telemetry", "other")]));
            const def = pia("telemetry", "default");
            expectViolation(runStack(waitForPodIdentity, [EKS, PROV, def, deployment("x", "telemetry")]).map((x) => x.message), /telemetry\/default/);
            const otherCluster = pia("telemetry", "state-exporter", "elsewhere", { clusterName: "other" });
            const other = eks({ name: "other" }, "other");
            expectClean(runStack(waitForPodIdentity, [EKS, other, PROV, otherCluster, deployment("state-exporter", "telemetry", "state-exporter")]));
            // the provider's default namespace
            const nsProv = provider([], EKS, "k8s-ns", { namespace: "telemetry" });
            const noNs = k8s("kubernetes:apps/v1:Deployment", "se", { spec: { template: { spec: { serviceAccountName: "state-exporter" } } } }, [], nsProv);
            expectViolation(runStack(waitForPodIdentity, [EKS, nsProv, A, noNs]).map((x) => x.message), /telemetry\/state-exporter/);
            expectClean(runStack(waitForPodIdentity, [EKS, PROV, A, deployment("x", "telemetry", UNKNOWN)]));
        });
        it("Helm releases whose values name a bound service account (at any depth), or the chart's conventional one", () => {
            const t = pia("byoc-telemetry", "byoc-prometheus");
            const mon = release("monitoring", "kube-prometheus-stack", "67.8.0", { prometheus: { serviceAccount: { create: true, name: "byoc-prometheus" } } }, [], PROV, { namespace: "byoc-telemetry" });
            only(runStack(waitForPodIdentity, [EKS, PROV, t, mon]), mon.urn, /Helm release 'monitoring' \(kube-prometheus-stack\) runs as service account byoc-telemetry\/byoc-prometheus/);
            expectClean(runStack(waitForPodIdentity, [EKS, PROV, t, { ...mon, dependencies: [t.urn] }]));
            const l = pia("kube-system", "aws-load-balancer-controller");
            const lbc = release("aws-load-balancer-controller", "aws-load-balancer-controller", "1.13.3", { clusterName: CLUSTER }, [], PROV, { namespace: "kube-system" });
            only(runStack(waitForPodIdentity, [EKS, PROV, l, lbc]), lbc.urn, /kube-system\/aws-load-balancer-controller/);
        });
        it("EKS add-ons whose service account a separate association binds (not the add-on's own podIdentityAssociations)", () => {
            const ebsPia = pia("kube-system", "ebs-csi-controller-sa");
            const addon = res("aws:eks/addon:Addon", "ebs", { clusterName: CLUSTER, addonName: "aws-ebs-csi-driver" }, { dependencies: [EKS.urn] });
            only(runStack(waitForPodIdentity, [EKS, ebsPia, addon]), addon.urn, /EKS add-on 'ebs'/);
            const inline = { ...addon, props: { ...addon.props, podIdentityAssociations: [{ serviceAccount: "ebs-csi-controller-sa", roleArn: "arn:aws:iam::1:role/ebs" }] } };
            expectClean(runStack(waitForPodIdentity, [EKS, ebsPia, inline]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("launch-template-device-index", () => {
        const lt = (nis: unknown, props: Record<string, any> = {}) => res("aws:ec2/launchTemplate:LaunchTemplate", "nodes", { networkInterfaces: nis, ...props });
        const ng = (t: PolicyResource, launchTemplate: Record<string, any> = { id: UNKNOWN, version: "1" }) =>
            res("aws:eks/nodeGroup:NodeGroup", "nodes", { clusterName: CLUSTER, launchTemplate }, { propertyDependencies: { launchTemplate: [t.urn] }, dependencies: [t.urn] });

        it("flags a managed node group's launch template whose network interface has no deviceIndex", () => {
            const t = lt([{ associatePublicIpAddress: "false", securityGroups: ["sg-1"] }]);
            only(runStack(launchTemplateDeviceIndex, [t, ng(t)]), t.urn, /networkInterfaces\[0\] without deviceIndex.*Each network interface requires a device index.*Remediation: set deviceIndex: 0/);
        });
        it("accepts device indices, no network interfaces, unknowns, and templates no managed node group uses", () => {
            const ok = lt([{ deviceIndex: 0, securityGroups: ["sg-1"] }]);
            expectClean(runStack(launchTemplateDeviceIndex, [ok, ng(ok)]));
            const none = lt(undefined, { vpcSecurityGroupIds: ["sg-1"] });
            expectClean(runStack(launchTemplateDeviceIndex, [none, ng(none)]));
            const unk = lt(UNKNOWN);
            expectClean(runStack(launchTemplateDeviceIndex, [unk, ng(unk)]));
            expectClean(runStack(launchTemplateDeviceIndex, [lt([{ securityGroups: ["sg-1"] }])]));
        });
        it("joins by launchTemplate.id / name and for eks:index:ManagedNodeGroup", () => {
            const t = lt([{ securityGroups: ["sg-1"] }], { id: "lt-0abc", name: "nodes-lt" });
            const byId = res("aws:eks/nodeGroup:NodeGroup", "a", { clusterName: CLUSTER, launchTemplate: { id: "lt-0abc", version: "$Latest" } });
            const byName = res("eks:index:ManagedNodeGroup", "b", { launchTemplate: { name: "nodes-lt", version: "1" } });
            const v = runStack(launchTemplateDeviceIndex, [t, byId, byName]);
            only(v, t.urn, /used by managed node group 'a', 'b'/);
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("tailscale-key-recreate", () => {
        const key = (props: Record<string, any>) => res("tailscale:index/tailnetKey:TailnetKey", "k8s-authkey", { tags: ["tag:byoc"], preauthorized: true, expiry: 3600, ...props });
        it("flags single-use keys (reusable false or absent) without recreateIfInvalid: always", () => {
            for (const props of [{ reusable: false }, {}, { reusable: "false" }, { recreateIfInvalid: "never" }]) {
                const k = key(props);
                only(runStack(tailscaleKeyRecreate, [k]), k.urn, /single-use.*Remediation: set recreateIfInvalid: "always"/);
            }
        });
        it("accepts recreateIfInvalid: always, reusable keys and unknowns", () => {
            expectClean(runStack(tailscaleKeyRecreate, [key({ reusable: false, recreateIfInvalid: "always" })]));
            expectClean(runStack(tailscaleKeyRecreate, [key({ reusable: true })]));
            expectClean(runStack(tailscaleKeyRecreate, [key({ recreateIfInvalid: UNKNOWN })]));
            expectClean(runStack(tailscaleKeyRecreate, [key({ reusable: UNKNOWN })]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("helm-values-valid", () => {
        const istiod = (values: Record<string, any>) => release("istiod", "istiod", "1.26.2", values, [], PROV, { repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" } });
        it("reports every problem of a known chart@version, naming release, chart and key path", () => {
            const r = istiod({ pilot: { replicaCount: 2 } });
            const v = runStack(helmValuesValid, [r]);
            assert.ok(v.length >= 1);
            assert.ok(v.every((x) => x.urn === r.urn));
            expectViolation(v.map((x) => x.message), /Helm release 'istiod' \(istiod@1\.26\.2\) values `pilot(\.replicaCount)?`.*Remediation:/);
        });
        it("accepts valid values, unknown charts or versions and unknown values", () => {
            expectClean(runStack(helmValuesValid, [istiod({ replicaCount: 2, autoscaleMin: 2 })]));
            expectClean(runStack(helmValuesValid, [release("x", "some-chart", "1.0.0", { anything: true })]));
            expectClean(runStack(helmValuesValid, [istiod(UNKNOWN as any)]));
            expectClean(runStack(helmValuesValid, [k8s("kubernetes:helm.sh/v3:Release", "nover", { chart: "istiod", values: { pilot: {} } })]));
        });
    });

    // --------------------------------------------------------------------------------------------
    describe("regression: the program's offline snapshots before the deploy-order fixes", () => {
        const FIX = path.join(__dirname, "..", "fixtures", "policy");
        const P = "urn:pulumi:prod::byoc::";
        const D = "urn:pulumi:dev::byoc::";
        const pia = (s: string, c: string, n: string) => `${s}byoc:index:${c}$aws:eks/podIdentityAssociation:PodIdentityAssociation::${n}`;
        const dep = (s: string, c: string, n: string) => `${s}byoc:index:${c}$kubernetes:apps/v1:Deployment::${n}`;
        const rel = (s: string, c: string, n: string) => `${s}byoc:index:${c}$kubernetes:helm.sh/v3:Release::${n}`;
        const svc = (s: string, n: string) => `${s}byoc:index:TailnetEndpoint$kubernetes:core/v1:Service::${n}`;
        const addon = (s: string, n: string) => `${s}byoc:index:DataPlaneCluster$aws:eks/addon:Addon::${n}`;
        const key = (s: string, n: string) => `${s}byoc:index:TailnetEndpoint$tailscale:index/tailnetKey:TailnetKey::${n}`;

        function expected(s: string, a: string, dev: boolean): [string, string][] {
            const out: [string, string][] = [];
            const piaNames = dev
                ? [["IngressGateway", "lbc"], ["IngressGateway", "cert-manager"], ["TelemetryOutbound", "billing-sidecar"], ["TelemetryOutbound", "billing-scraper"], ["TelemetryOutbound", "state-exporter"], ["TelemetryOutbound", "thanos"]]
                : [["IngressGateway", "lbc"], ["IngressGateway", "cert-manager"], ["TelemetryOutbound", "billing-sidecar"], ["TelemetryOutbound", "state-exporter"], ["TelemetryOutbound", "thanos"]];
            for (const [c, n] of piaNames) out.push(["wait-for-eks-cluster", pia(s, c, `${a}-${n}`)]);
            out.push(["wait-for-nodes", addon(s, `${a}-metrics-server`)], ["wait-for-nodes", addon(s, `${a}-ebs-csi`)]);
            const deployments: [string, string][] = [
                ["TelemetryOutbound", "state-exporter"], ["TailnetEndpoint", "ch-nginx"], ["IngressGateway", "gateway"], ["TailnetEndpoint", "k8s-agent"],
                ["TailnetEndpoint", "metrics-agent"], ["TailnetEndpoint", "ch-agent"], ["TailnetEndpoint", "metrics-nginx"], ["TailnetEndpoint", "k8s-nginx"],
            ];
            if (dev) deployments.push(["TelemetryOutbound", "billing-scraper"]);
            for (const [c, n] of deployments) out.push(["wait-for-nodes", dep(s, c, `${a}-${n}`)]);
            for (const [c, n] of [["IngressGateway", "istiod"], ["IngressGateway", "aws-load-balancer-controller"], ["IngressGateway", "cert-manager"], ["TelemetryOutbound", "monitoring"]]) {
                out.push(["wait-for-nodes", rel(s, c, `${a}-${n}`)]);
            }
            for (const n of ["k8s-nginx", "metrics-nginx", "ch-nginx"]) out.push(["wait-for-lb-controller-webhook", svc(s, `${a}-${n}`)]);
            for (const [c, n] of [["IngressGateway", "istiod"], ["IngressGateway", "cert-manager"], ["TelemetryOutbound", "monitoring"]]) {
                out.push(["wait-for-lb-controller-webhook", rel(s, c, `${a}-${n}`)]);
            }
            out.push(["wait-for-pod-identity", dep(s, "TelemetryOutbound", `${a}-state-exporter`)], ["wait-for-pod-identity", rel(s, "TelemetryOutbound", `${a}-monitoring`)]);
            if (dev) out.push(["wait-for-pod-identity", dep(s, "TelemetryOutbound", `${a}-billing-scraper`)]);
            out.push(["launch-template-device-index", `${s}byoc:index:DataPlaneCluster$aws:ec2/launchTemplate:LaunchTemplate::${a}-nodes`]);
            for (const n of ["k8s-authkey", "ch-authkey", "metrics-authkey"]) out.push(["tailscale-key-recreate", key(s, `${a}-${n}`)]);
            out.push(["helm-values-valid", rel(s, "IngressGateway", `${a}-istiod`)], ["helm-values-valid", rel(s, "IngressGateway", `${a}-istiod`)]);
            return out;
        }
        const key2 = (p: [string, string]) => `${p[0]} ${p[1]}`;

        for (const [env, s, a] of [["prod", P, "byoc-acme"], ["dev", D, "byoc-acme-dev"]] as const) {
            it(`${env}: every deploy-readiness rule but wait-for-crds fails, on exactly the resources it should`, () => {
                const snap = readSnapshotFile(path.join(FIX, `deploy-readiness-before-${env}.json`));
                const rep = evaluatePolicies(snap.resources, { env, policies: deployReadinessPolicies });
                assert.deepEqual(rep.errors, []);
                const got = rep.violations.map((v) => key2([v.policy, v.urn ?? ""])).sort();
                assert.deepEqual(got, expected(s, a, env === "dev").map(key2).sort());
                assert.ok(rep.violations.every((v) => v.enforcementLevel === "mandatory" && /Remediation: /.test(v.message)));
                // The defect wait-for-crds looks for is not in these snapshots: every Istio / cert-manager resource waits for its installer.
                const crs = snap.resources.filter((r) => /networking\.istio\.io|security\.istio\.io|cert-manager\.io/.test(r.type));
                assert.ok(crs.length >= 5);
                assert.ok(!rep.violations.some((v) => v.policy === "wait-for-crds"));
                // … and the rule does see them: drop the installers and each custom resource is reported.
                const noInstallers = snap.resources.filter((r) => r.type !== "kubernetes:helm.sh/v3:Release");
                const crdRep = evaluatePolicies(noInstallers, { env, policies: [waitForCrds] });
                assert.deepEqual(crdRep.violations.map((v) => v.urn).sort(), crs.map((r) => r.urn).sort());
            });
        }
    });

    // --------------------------------------------------------------------------------------------
    describe("foreign and odd stacks", () => {
        it("never throws on the shared real-world fixtures", function () {
            const dir = path.join(__dirname, "..", "..", "..", "shared", "fixtures");
            if (!fs.existsSync(dir)) this.skip();
            for (const sub of fs.readdirSync(dir)) {
                const d = path.join(dir, sub);
                if (!fs.statSync(d).isDirectory()) continue;
                for (const f of fs.readdirSync(d).filter((x) => x.endsWith(".json"))) {
                    const rep = evaluatePolicies(readSnapshotFile(path.join(d, f)).resources, { env: "prod", policies: deployReadinessPolicies });
                    assert.deepEqual(rep.errors, [], f);
                }
            }
        });
        it("never throws on odd shapes (unknowns, wrong types, dangling references, cycles)", () => {
            const odd: PolicyResource[] = [
                res("eks:index:Cluster", "c", { name: 42, fargate: UNKNOWN, autoMode: "yes" }),
                res("aws:eks/cluster:Cluster", "c2", { name: UNKNOWN, computeConfig: [null] }, { parent: "urn:gone" }),
                res("aws:eks/nodeGroup:NodeGroup", "n", { clusterName: ["x"], launchTemplate: [UNKNOWN], scalingConfig: "big" }),
                res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { networkInterfaces: [null, 3, UNKNOWN] }),
                res("eks:index:ManagedNodeGroup", "m", { launchTemplate: { id: 5 } }, { dependencies: ["urn:nowhere"] }),
                res("aws:eks/fargateProfile:FargateProfile", "f", { clusterName: "c", selectors: [UNKNOWN, { namespace: "[" }] }),
                res("aws:autoscaling/group:Group", "asg", { tags: [null, { key: 7 }], tagsAll: UNKNOWN }),
                res("pulumi:providers:kubernetes", "p", { namespace: 3 }, { dependencies: [`${res("pulumi:providers:kubernetes", "p").urn}`] }),
                res("kubernetes:helm.sh/v3:Release", "r", { chart: 5, values: [1, 2], namespace: UNKNOWN }, { provider: "garbage" }),
                res("kubernetes:helm.sh/v3:Release", "r2", { chart: "aws-load-balancer-controller", values: { serviceMutatorWebhookConfig: UNKNOWN, serviceAccount: "x" } }, { provider: `${res("pulumi:providers:kubernetes", "p").urn}::id` }),
                res("kubernetes:helm.sh/v4:Chart", "v4", { chart: "cert-manager", version: "v1.18.2", values: { crds: "yes" } }),
                res("kubernetes:apps/v1:Deployment", "d", { spec: { template: UNKNOWN } }, { provider: `${res("pulumi:providers:kubernetes", "p").urn}::id` }),
                res("kubernetes:apps/v1:Deployment", "d2", { metadata: { namespace: UNKNOWN }, spec: "x" }),
                res("kubernetes:apiextensions.k8s.io/v1:CustomResource", "cr", { apiVersion: UNKNOWN, kind: 4 }),
                res("kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "crd", { spec: UNKNOWN }),
                res("kubernetes:yaml/v2:ConfigGroup", "cg", { yaml: ["kind: CustomResourceDefinition\n  group: a.b", 3] }),
                res("kubernetes:example.com/v1:Thing", "t", {}, { dependencies: [res("kubernetes:example.com/v1:Thing", "t").urn] }),
                res("aws:eks/podIdentityAssociation:PodIdentityAssociation", "pia", { namespace: UNKNOWN, serviceAccount: "x", clusterName: "c" }),
                res("aws:eks/addon:Addon", "a", { addonName: "aws-ebs-csi-driver", podIdentityAssociations: UNKNOWN, clusterName: "c" }),
                res("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "apa", { principalArn: UNKNOWN }),
                res("tailscale:index/tailnetKey:TailnetKey", "k", { reusable: "maybe", recreateIfInvalid: 1 }),
            ];
            const rep = evaluatePolicies(odd, { env: "prod", policies: deployReadinessPolicies });
            assert.deepEqual(rep.errors, []);
            assert.ok(rep.violations.every((v) => /Remediation: /.test(v.message)));
        });
    });
});

/** Referenced for the type checker: every rule here is a stack policy. */
export const _rules: StackValidationPolicy[] = deployReadinessPolicies;
