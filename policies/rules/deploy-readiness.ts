/**
 * deploy-readiness — what makes a real `pulumi up` on a fresh AWS account fail (or come up broken) although
 * Pulumi's mocks accept it: resources created before what they need, and settings the cloud rejects.
 *
 * Ordering is judged on the engine's real ordering: the dependency closure (../closure.ts) of `dependencies`,
 * `propertyDependencies`, the provider (and what it waits for) and components (waiting for a component is waiting
 * for all of its descendants). "Its cluster" of a Kubernetes object or Helm release is the EKS cluster its
 * provider waits for (the kubeconfig's source); of an AWS EKS sub-resource, the cluster its `clusterName` names.
 *
 * Values unknown during a preview are skipped (the real run judges them again). Resources these rules cannot place
 * (no cluster found, external clusters, a default provider) are left alone rather than guessed at.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { helmValuesProblems } from "../charts";
import { dependencyClosure, DependencyClosure, MANIFEST_COMPONENT_TYPES } from "../closure";
import { CHART_CRDS, chartCrdsFor, chartName, ChartCrds } from "../crds";
import { arr, bool, get, isObj, isUnknown, k8sType, num, obj, Obj, podTemplate, raw, str } from "./util";

// ------------------------------------------------------------------------------------------------
// Types
// ------------------------------------------------------------------------------------------------

export const EKS_COMPONENT = "eks:index:Cluster";
export const EKS_CLUSTER = "aws:eks/cluster:Cluster";
export const NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
export const FARGATE_PROFILE = "aws:eks/fargateProfile:FargateProfile";
export const POD_IDENTITY = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
export const ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry";
export const ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";
export const ADDON = "aws:eks/addon:Addon";
export const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
export const ASG = "aws:autoscaling/group:Group";
export const TAILNET_KEY = "tailscale:index/tailnetKey:TailnetKey";
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
export const HELM_CHART_V4 = "kubernetes:helm.sh/v4:Chart";
export const SERVICE = "kubernetes:core/v1:Service";

/** Resources that name their cluster by `clusterName` (EKS answers ResourceNotFoundException when it does not exist). */
const NAMES_CLUSTER: ReadonlySet<string> = new Set([
    POD_IDENTITY,
    ACCESS_ENTRY,
    ACCESS_POLICY,
    ADDON,
    NODE_GROUP,
    FARGATE_PROFILE,
    "aws:eks/identityProviderConfig:IdentityProviderConfig",
]);
/** pulumi-eks node-capacity components (their `cluster` input is the eks:index:Cluster or its CoreData). */
const EKS_NODE_COMPONENTS: ReadonlySet<string> = new Set(["eks:index:ManagedNodeGroup", "eks:index:NodeGroup", "eks:index:NodeGroupV2"]);
/** Resources that give a cluster nodes when created inside an eks:index:Cluster (its default node group, Fargate). */
const CAPACITY_TYPES: ReadonlySet<string> = new Set([NODE_GROUP, FARGATE_PROFILE, ASG, "aws:cloudformation/stack:Stack"]);
/** Helm installations judged as one unit (a v4 Chart only while its children are not visible, e.g. under mocks). */
const HELM_TYPES: ReadonlySet<string> = new Set([HELM_RELEASE, HELM_CHART_V4]);
/** yaml/kustomize components: opaque CRD installers while their children (the rendered objects) are not visible. */
const MANIFEST_TYPES = MANIFEST_COMPONENT_TYPES;
const CRD_TYPES: ReadonlySet<string> = new Set(["kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition", "kubernetes:apiextensions.k8s.io/v1beta1:CustomResourceDefinition"]);

/** API groups served by the Kubernetes API server itself (plus pulumi-kubernetes' pseudo-groups), never by a CRD. */
const BUILTIN_GROUPS: ReadonlySet<string> = new Set([
    "core", "", "apps", "batch", "autoscaling", "policy", "extensions", "meta",
    "networking.k8s.io", "rbac.authorization.k8s.io", "storage.k8s.io", "apiextensions.k8s.io", "admissionregistration.k8s.io",
    "apiregistration.k8s.io", "certificates.k8s.io", "coordination.k8s.io", "discovery.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "node.k8s.io", "scheduling.k8s.io", "authentication.k8s.io", "authorization.k8s.io",
    "resource.k8s.io", "internal.apiserver.k8s.io", "storagemigration.k8s.io", "settings.k8s.io", "auditregistration.k8s.io",
    "metrics.k8s.io", // aggregated API of metrics-server, not a CRD
    "helm.sh", "yaml", "kustomize", "index",
]);

const WORKLOAD_KINDS: ReadonlySet<string> = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "Pod"]);
const WORKLOAD_GROUPS: ReadonlySet<string> = new Set(["apps", "batch", "core", "extensions"]);

/**
 * EKS add-ons that run a Deployment (their pods need a node or a Fargate profile; EKS leaves the add-on DEGRADED and
 * the AWS provider times out waiting for ACTIVE). DaemonSet-only add-ons (vpc-cni, kube-proxy,
 * eks-pod-identity-agent, aws-guardduty-agent, …) are not listed: they must exist before nodes, not after.
 * Value: the namespace their Deployment runs in (for Fargate selectors).
 */
export const DEPLOYMENT_ADDONS: Readonly<Record<string, string>> = {
    coredns: "kube-system",
    "metrics-server": "kube-system",
    "aws-ebs-csi-driver": "kube-system",
    "aws-efs-csi-driver": "kube-system",
    "aws-fsx-csi-driver": "kube-system",
    "snapshot-controller": "kube-system",
    adot: "opentelemetry-operator-system",
    "amazon-cloudwatch-observability": "amazon-cloudwatch",
    "kube-state-metrics": "kube-state-metrics",
    "cert-manager": "cert-manager",
    "external-dns": "external-dns",
};

/** Service accounts of EKS add-ons that a separate pod identity association may bind (namespace/name). */
const ADDON_SERVICE_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
    "aws-ebs-csi-driver": ["kube-system/ebs-csi-controller-sa"],
    "aws-efs-csi-driver": ["kube-system/efs-csi-controller-sa"],
    "aws-mountpoint-s3-csi-driver": ["kube-system/s3-csi-driver-sa"],
    "vpc-cni": ["kube-system/aws-node"],
};

/** Charts whose templates create neither pods nor Services (istio `base`: CRDs, webhook/admission policy, a ServiceAccount). */
function isInertChart(chart: string, repo: string | undefined): boolean {
    return chartName(chart) === "base" && /istio/i.test(`${repo ?? ""} ${chart}`);
}

// ------------------------------------------------------------------------------------------------
// Stack analysis (built once per resource list and shared by the rules)
// ------------------------------------------------------------------------------------------------

interface Res {
    type: string;
    urn: string;
    name: string;
    props: Record<string, any>;
    dependencies: Res[];
    propertyDependencies: Record<string, Res[]>;
    parent?: Res;
    provider?: { urn: string; props?: Record<string, any> };
}

/** One EKS cluster: an eks:index:Cluster component and/or the aws:eks/cluster:Cluster it (or the program) creates. */
export interface Cluster {
    key: string;
    label: string;
    /** URNs that stand for the cluster: waiting for any of them is waiting for the cluster. */
    members: string[];
    names: Set<string>;
    component?: Res;
}

/** Something that gives a cluster nodes: a node group, a Fargate profile, or the cluster itself (default node group, auto mode). */
interface Capacity {
    urn: string;
    label: string;
    /** Fargate namespace selectors (globs); undefined = any namespace. */
    namespaces?: string[];
}

const short = (type: string) => type.split(":").pop() ?? type;

class StackView {
    readonly res: Res[];
    readonly closure: DependencyClosure;
    readonly byUrn = new Map<string, Res>();
    readonly clusters: Cluster[] = [];
    private readonly clusterOfMember = new Map<string, Cluster>();
    private readonly clustersByName = new Map<string, Cluster[]>();
    private readonly k8sMemo = new Map<string, Cluster[]>();
    private capacityMemo?: Map<string, Capacity[]>;
    private readonly childCount = new Map<string, number>();

    constructor(resources: Res[]) {
        this.res = resources;
        this.closure = dependencyClosure(resources as any);
        for (const r of resources) {
            this.byUrn.set(r.urn, r);
            if (r.parent) this.childCount.set(r.parent.urn, (this.childCount.get(r.parent.urn) ?? 0) + 1);
        }
        for (const r of resources) {
            if (r.type !== EKS_COMPONENT) continue;
            const p = raw(r.props);
            const c: Cluster = { key: r.urn, label: `eks:index:Cluster '${r.name}'`, members: [r.urn], names: new Set(), component: r };
            for (const n of [str(p.name), str(p.eksCluster), str(get(p, "core", "cluster", "name"))]) if (n) c.names.add(n);
            this.clusters.push(c);
            this.clusterOfMember.set(r.urn, c);
        }
        for (const r of resources) {
            if (r.type !== EKS_CLUSTER) continue;
            const p = raw(r.props);
            const anc = this.ancestors(r).find((a) => a.type === EKS_COMPONENT);
            let c = anc ? this.clusterOfMember.get(anc.urn) : undefined;
            if (!c) {
                c = { key: r.urn, label: `aws:eks/cluster:Cluster '${r.name}'`, members: [], names: new Set() };
                this.clusters.push(c);
            }
            c.members.push(r.urn);
            for (const n of [str(p.name), str(p.id)]) if (n) c.names.add(n);
            this.clusterOfMember.set(r.urn, c);
        }
        for (const c of this.clusters) {
            for (const n of c.names) {
                const l = this.clustersByName.get(n) ?? [];
                l.push(c);
                this.clustersByName.set(n, l);
            }
        }
    }

    props(r: Res): Obj {
        const p = raw(r.props);
        return isObj(p) ? p : {};
    }

    ancestors(r: Res): Res[] {
        const out: Res[] = [];
        const seen = new Set<string>([r.urn]);
        for (let a = r.parent; a && !seen.has(a.urn) && out.length < 1000; a = a.parent) {
            seen.add(a.urn);
            out.push(a);
        }
        return out;
    }

    private readonly descMemo = new Map<string, ReadonlySet<string>>();
    /** All descendants of `urn` (memoized). */
    descendants(urn: string): ReadonlySet<string> {
        let d = this.descMemo.get(urn);
        if (!d) {
            d = new Set(this.closure.descendantsOf(urn));
            this.descMemo.set(urn, d);
        }
        return d;
    }

    hasChildren(urn: string): boolean {
        return (this.childCount.get(urn) ?? 0) > 0;
    }

    clustersNamed(name: string): Cluster[] {
        return this.clustersByName.get(name) ?? [];
    }

    /** The cluster(s) an AWS EKS sub-resource names through `prop` (propertyDependencies first, then the known name). */
    clustersOfRef(r: Res, prop = "clusterName"): Cluster[] | undefined {
        const fromPd = new Set<Cluster>();
        for (const d of r.propertyDependencies?.[prop] ?? []) {
            const c = this.clusterOfMember.get(d.urn);
            if (c) fromPd.add(c);
        }
        if (fromPd.size > 0) return [...fromPd];
        const v = str(this.props(r)[prop]);
        if (v !== undefined) {
            const byName = this.clustersNamed(v);
            if (byName.length > 0) return byName;
            const byUrn = this.clusterOfMember.get(v);
            if (byUrn) return [byUrn];
        }
        return undefined;
    }

    /** The provider resource of `r` in the stack (URN), if any. */
    providerUrn(r: Res): string | undefined {
        return r.provider ? this.closure.providerUrn(r.provider) : undefined;
    }

    /** The EKS cluster(s) a Kubernetes object / Helm release runs on: those its provider waits for. */
    k8sClusters(r: Res): Cluster[] | undefined {
        const prov = this.providerUrn(r);
        if (!prov) return undefined;
        let out = this.k8sMemo.get(prov);
        if (!out) {
            const c = this.closure.closureOf(prov);
            const found = new Set<Cluster>();
            for (const u of c) {
                const cl = this.clusterOfMember.get(u);
                if (cl) found.add(cl);
            }
            out = [...found];
            this.k8sMemo.set(prov, out);
        }
        return out.length > 0 ? out : undefined;
    }

    /** A key for "same cluster" comparisons between Kubernetes objects: cluster entities, else the provider. */
    k8sClusterKeys(r: Res): string[] {
        const cl = this.k8sClusters(r);
        if (cl) return cl.map((c) => c.key);
        return [`provider:${this.providerUrn(r) ?? r.provider?.urn ?? "default"}`];
    }

    /** The namespace a Kubernetes provider puts namespaced objects in by default. */
    providerNamespace(r: Res): string | undefined {
        const prov = this.providerUrn(r);
        const pr = prov ? this.byUrn.get(prov) : undefined;
        const ns = pr ? str(this.props(pr).namespace) : str(raw(r.provider?.props ?? {})?.namespace);
        return ns && ns !== "" ? ns : undefined;
    }

    /** Node capacity per cluster key. */
    capacity(c: Cluster): Capacity[] {
        if (!this.capacityMemo) this.capacityMemo = this.buildCapacity();
        return this.capacityMemo.get(c.key) ?? [];
    }

    private buildCapacity(): Map<string, Capacity[]> {
        const m = new Map<string, Capacity[]>();
        const add = (cls: Cluster[] | undefined, cap: Capacity) => {
            for (const c of cls ?? []) {
                const l = m.get(c.key) ?? [];
                l.push(cap);
                m.set(c.key, l);
            }
        };
        for (const c of this.clusters) {
            if (c.component && this.hasChildren(c.component.urn)) {
                // A real preview or deployment: the component's children show what it created (default node group's
                // Auto Scaling group / CloudFormation stack, Fargate profile); its props are its outputs, not its inputs.
                for (const d of this.closure.descendantsOf(c.component.urn)) {
                    const r = this.byUrn.get(d);
                    if (r && (CAPACITY_TYPES.has(r.type) || EKS_NODE_COMPONENTS.has(r.type))) {
                        const sel = r.type === FARGATE_PROFILE ? this.props(r).selectors : undefined;
                        add([c], { urn: r.urn, label: `${short(r.type)} '${r.name}' of ${c.label}`, namespaces: r.type === FARGATE_PROFILE && !isUnknown(sel) ? namespacesOf(arr(sel)) : undefined });
                    }
                }
            } else if (c.component) {
                // Under mocks a remote component has no children: its inputs say whether it brings nodes.
                const p = this.props(c.component);
                const fargate = p.fargate;
                const skip = p.skipDefaultNodeGroup;
                const auto = get(p, "autoMode", "enabled");
                if (bool(auto, false) !== false) add([c], { urn: c.component.urn, label: `${c.label} (auto mode)` });
                else if (fargate !== undefined && fargate !== null && fargate !== false) {
                    const sel = isObj(fargate) ? arr(fargate.selectors) : [];
                    const namespaces = isUnknown(fargate) || isUnknown(fargate.selectors) ? undefined : sel.length > 0 ? namespacesOf(sel) : ["default", "kube-system"];
                    add([c], { urn: c.component.urn, label: `${c.label} (Fargate)`, namespaces });
                } else if (bool(skip, false) !== true) add([c], { urn: c.component.urn, label: `${c.label} (default node group)` });
            }
            for (const u of c.members) {
                const r = this.byUrn.get(u);
                if (r?.type !== EKS_CLUSTER) continue;
                let cc = this.props(r).computeConfig;
                if (Array.isArray(cc)) cc = cc[0];
                if (bool(get(cc, "enabled"), false) !== false) add([c], { urn: r.urn, label: `aws:eks/cluster:Cluster '${r.name}' (auto mode)` });
            }
        }
        for (const r of this.res) {
            const p = this.props(r);
            if (r.type === NODE_GROUP) {
                let sc = p.scalingConfig;
                if (Array.isArray(sc)) sc = sc[0];
                if (num(get(sc, "desiredSize")) === 0) continue;
                add(this.clustersOfRef(r), { urn: r.urn, label: `node group '${r.name}'` });
            } else if (EKS_NODE_COMPONENTS.has(r.type)) {
                if (num(p.desiredCapacity) === 0 || num(get(p, "scalingConfig", "desiredSize")) === 0) continue;
                const cls = this.clustersOfRef(r, "cluster") ?? this.clustersOfRef(r, "clusterName") ?? this.clustersWaitedFor(r);
                add(cls, { urn: r.urn, label: `${short(r.type)} '${r.name}'` });
            } else if (r.type === FARGATE_PROFILE) {
                const sel = p.selectors;
                add(this.clustersOfRef(r), { urn: r.urn, label: `Fargate profile '${r.name}'`, namespaces: isUnknown(sel) ? undefined : namespacesOf(arr(sel)) });
            } else if (r.type === ASG) {
                const names = new Set<string>();
                for (const t of arr(p.tags)) {
                    const key = str(get(t, "key"));
                    const mm = key ? /^kubernetes\.io\/cluster\/(.+)$/.exec(key) : null;
                    if (mm) names.add(mm[1]);
                }
                for (const [key] of Object.entries(obj(p.tagsAll ?? p.tags))) {
                    const mm = /^kubernetes\.io\/cluster\/(.+)$/.exec(key);
                    if (mm) names.add(mm[1]);
                }
                const cls = [...names].flatMap((n) => this.clustersNamed(n));
                if (cls.length > 0) add(cls, { urn: r.urn, label: `Auto Scaling group '${r.name}'` });
            }
        }
        return m;
    }

    private clustersWaitedFor(r: Res): Cluster[] | undefined {
        const out = new Set<Cluster>();
        for (const u of this.closure.closureOf(r.urn)) {
            const c = this.clusterOfMember.get(u);
            if (c) out.add(c);
        }
        return out.size > 0 ? [...out] : undefined;
    }
}

function namespacesOf(selectors: unknown[]): string[] | undefined {
    const out: string[] = [];
    for (const s of selectors) {
        const ns = get(s, "namespace");
        if (isUnknown(ns)) return undefined;
        if (typeof ns === "string") out.push(ns);
    }
    return out;
}

/** Fargate namespace selectors accept `*` and `?` wildcards; each pattern compiled once per process. */
const nsPatterns = new Map<string, RegExp>();
function nsMatches(patterns: string[] | undefined, ns: string): boolean {
    if (!patterns) return true;
    return patterns.some((p) => {
        let re = nsPatterns.get(p);
        if (!re) {
            re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`);
            nsPatterns.set(p, re);
        }
        return re.test(ns);
    });
}

const views = new WeakMap<object, StackView>();
function view(resources: unknown): StackView {
    const list = resources as Res[];
    let v = views.get(list);
    if (!v) {
        v = new StackView(list);
        views.set(list, v);
    }
    return v;
}

function sameCluster(a: string[], b: string[]): boolean {
    const pa = a.every((k) => k.startsWith("provider:"));
    const pb = b.every((k) => k.startsWith("provider:"));
    if (pa !== pb) return true; // one side placed on a cluster, the other not: cannot tell apart
    return a.some((k) => b.includes(k));
}

function k8sNamespace(v: StackView, r: Res, ns: unknown): string | undefined {
    if (isUnknown(ns)) return undefined;
    const s = typeof ns === "string" && ns !== "" ? ns : undefined;
    return s ?? v.providerNamespace(r) ?? "default";
}

/** Release/Chart identity: chart, version, repo. */
function helmIdentity(p: Obj): { chart?: string; version?: string; repo?: string } {
    return { chart: str(p.chart), version: str(p.version), repo: str(get(p, "repositoryOpts", "repo")) };
}

/** A Helm installation judged as one unit: a Release, or a v4 Chart whose rendered children are not visible. */
function isHelmUnit(v: StackView, r: Res): boolean {
    return r.type === HELM_RELEASE || (r.type === HELM_CHART_V4 && !v.hasChildren(r.urn));
}

const WAIT_HINT = "pass the dependency's output as the input, or add it to dependsOn";

// ------------------------------------------------------------------------------------------------
// 1. Resources that name an EKS cluster wait for it
// ------------------------------------------------------------------------------------------------

export const waitForEksCluster: StackValidationPolicy = {
    name: "wait-for-eks-cluster",
    description:
        "A resource that names an EKS cluster by clusterName (pod identity association, access entry, access policy association, add-on, managed node group, Fargate profile, identity provider config) waits for that cluster; an access policy association waits for the access entry of its principal.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        if (v.clusters.length === 0 && !v.res.some((r) => r.type === ACCESS_POLICY)) return;
        const entries = v.res.filter((r) => r.type === ACCESS_ENTRY);
        for (const r of v.res) {
            if (!NAMES_CLUSTER.has(r.type)) continue;
            const p = v.props(r);
            const name = str(p.clusterName);
            if (name !== undefined) {
                const cls = v.clustersNamed(name);
                if (cls.length > 0 && !cls.some((c) => v.closure.waitsForAny(r.urn, c.members))) {
                    report(
                        `${short(r.type)} '${r.name}' names EKS cluster '${name}' (${cls.map((c) => c.label).join(", ")}) but does not wait for it: on a fresh account it can be created first and EKS answers ResourceNotFoundException (No cluster found for name: ${name}). ` +
                            `Remediation: take clusterName from the cluster's output (e.g. cluster.eksCluster.name) instead of a literal, or add the cluster to dependsOn.`,
                        r.urn,
                    );
                    continue;
                }
            }
            if (r.type !== ACCESS_POLICY) continue;
            const principal = str(p.principalArn);
            if (principal === undefined) continue;
            const mine = entries.filter((e) => {
                const ep = v.props(e);
                const en = str(ep.clusterName);
                return str(ep.principalArn) === principal && (name === undefined || en === undefined || en === name);
            });
            if (mine.length > 0 && !mine.some((e) => v.closure.waitsFor(r.urn, e.urn))) {
                report(
                    `Access policy association '${r.name}' for ${principal} does not wait for access entry ${mine.map((e) => `'${e.name}'`).join(", ")}: created first, EKS answers ResourceNotFoundException (The specified principalArn could not be found). ` +
                        `Remediation: take principalArn from the access entry's output (accessEntry.principalArn), or add the access entry to dependsOn.`,
                    r.urn,
                );
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 2. Custom resources wait for their CRD
// ------------------------------------------------------------------------------------------------

interface Gvk {
    group: string;
    version: string;
    kind: string;
}

/** The group/version/kind of a custom resource (a kind outside the API server's built-in groups), else undefined. */
export function customResourceGvk(type: string, props: Obj): Gvk | undefined {
    const t = k8sType(type);
    if (!t) return undefined;
    if (t.group === "apiextensions.k8s.io" && (t.kind === "CustomResource" || t.kind === "CustomResourcePatch")) {
        const apiVersion = str(props.apiVersion);
        const kind = str(props.kind);
        if (!apiVersion || !kind) return undefined;
        const i = apiVersion.indexOf("/");
        const group = i < 0 ? "core" : apiVersion.slice(0, i);
        if (BUILTIN_GROUPS.has(group)) return undefined;
        return { group, version: i < 0 ? apiVersion : apiVersion.slice(i + 1), kind };
    }
    if (BUILTIN_GROUPS.has(t.group)) return undefined;
    return { group: t.group, version: t.version, kind: t.kind.replace(/Patch$/, "") };
}

interface Installer {
    res: Res;
    label: string;
    /** true: installs it; a string: why it does not (wrong kind/version, values turn CRDs off); "opaque": cannot tell. */
    provides(g: Gvk): true | false | "opaque" | string;
}

function chartInstaller(v: StackView, r: Res): Installer | undefined {
    const p = v.props(r);
    const { chart, version, repo } = helmIdentity(p);
    if (!chart) return undefined;
    const label = `Helm release '${r.name}' (${chartName(chart)}${version ? `@${version}` : ""})`;
    const known = chartCrdsFor(chart, version, repo);
    if (!known) return { res: r, label, provides: () => "opaque" };
    const { entry, exact } = known;
    const values = obj(p.values);
    return {
        res: r,
        label,
        provides: (g) => {
            const kinds = entry.groups[g.group];
            if (!kinds) return false;
            if (isUnknown(p.values)) return true;
            const on = entry.installs ? entry.installs(values) : true;
            if (on === undefined) return true;
            if (typeof on === "string") return `it does not install its CRDs: ${on}`;
            if (entry.placement === "crds-dir") {
                const skip = p.skipCrds;
                if (!isUnknown(skip) && bool(skip, false) === true) return "it sets skipCrds: true and the chart ships its CRDs in crds/";
            }
            if (!exact) return true;
            const k = kinds.find((x) => x.kind === g.kind);
            if (!k) return `${entry.chart}@${entry.version} has no ${g.kind} in ${g.group} (it installs ${kinds.map((x) => x.kind).join(", ")})`;
            if (entry.excluded?.(values).has(`${k.plural}.${g.group}`)) return `its values exclude ${k.plural}.${g.group} (base.excludedCRDs)`;
            if (!k.versions.includes(g.version)) return `${entry.chart}@${entry.version} serves ${g.group} ${g.kind} only as ${k.versions.join(", ")}, not ${g.version}`;
            return true;
        },
    };
}

function crdInstaller(v: StackView, r: Res): Installer {
    const p = v.props(r);
    const spec = obj(p.spec);
    const group = spec.group;
    const kind = get(spec, "names", "kind");
    const versions = Array.isArray(spec.versions)
        ? spec.versions.filter((x: unknown) => isObj(x) && x.served !== false).map((x: Obj) => x.name)
        : typeof spec.version === "string"
          ? [spec.version]
          : undefined;
    return {
        res: r,
        label: `CustomResourceDefinition '${r.name}'`,
        provides: (g) => {
            if (isUnknown(p.spec) || isUnknown(group) || isUnknown(kind)) return "opaque";
            if (group !== g.group || kind !== g.kind) return false;
            if (versions && !versions.some(isUnknown) && !versions.includes(g.version)) return `it serves ${versions.join(", ")}, not ${g.version}`;
            return true;
        },
    };
}

function manifestInstaller(v: StackView, r: Res): Installer {
    const p = v.props(r);
    return {
        res: r,
        label: `${short(r.type)} '${r.name}'`,
        provides: (g) => {
            const objs = p.objs;
            if (Array.isArray(objs) && !objs.some(isUnknown)) {
                return objs.some((o) => isObj(o) && o.kind === "CustomResourceDefinition" && get(o, "spec", "group") === g.group && get(o, "spec", "names", "kind") === g.kind);
            }
            const yaml = p.yaml;
            const text = typeof yaml === "string" ? yaml : Array.isArray(yaml) && yaml.every((y) => typeof y === "string") ? yaml.join("\n---\n") : undefined;
            if (text !== undefined && !isUnknown(text)) {
                if (!/kind:\s*["']?CustomResourceDefinition/.test(text)) return false;
                return new RegExp(`group:\\s*["']?${g.group.replace(/\./g, "\\.")}["']?\\s*$`, "m").test(text) ? "opaque" : false;
            }
            return "opaque"; // files / directories / remote URLs: contents not visible to the pack
        },
    };
}

export const waitForCrds: StackValidationPolicy = {
    name: "wait-for-crds",
    description:
        "A custom resource (a kind outside the Kubernetes API server's own groups: Istio, cert-manager, Prometheus operator, elbv2.k8s.aws, …) waits for what installs its CRD in the same cluster: the Helm release of the pinned chart that installs it (with the values that turn CRD installation on), a CustomResourceDefinition object, or a yaml/kustomize component. A custom resource with no installer in the stack is reported.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            externalCrdGroups: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "API groups whose CRDs are installed outside this stack (e.g. by the cluster's platform stack); their custom resources are not required to wait for an installer here.",
            },
        },
    },
    validateStack: (args, report) => {
        const v = view(args.resources);
        const external = new Set((args.getConfig<{ externalCrdGroups?: string[] }>().externalCrdGroups ?? []).map(String));
        const crs: { r: Res; g: Gvk }[] = [];
        for (const r of v.res) {
            if (!r.type.startsWith("kubernetes:")) continue;
            const g = customResourceGvk(r.type, v.props(r));
            if (g) crs.push({ r, g });
        }
        if (crs.length === 0) return;
        const installers: Installer[] = [];
        for (const r of v.res) {
            if (CRD_TYPES.has(r.type)) installers.push(crdInstaller(v, r));
            else if (isHelmUnit(v, r)) {
                const i = chartInstaller(v, r);
                if (i) installers.push(i);
            } else if (MANIFEST_TYPES.has(r.type) && !v.hasChildren(r.urn)) installers.push(manifestInstaller(v, r));
        }
        const rendersMemo = new Map<string, boolean>();
        const rendersCrds = (a: Res): boolean => {
            if (!MANIFEST_TYPES.has(a.type) && a.type !== HELM_CHART_V4) return false;
            let b = rendersMemo.get(a.urn);
            if (b === undefined) {
                b = v.closure.descendantsOf(a.urn).some((d) => CRD_TYPES.has(v.byUrn.get(d)?.type ?? ""));
                rendersMemo.set(a.urn, b);
            }
            return b;
        };
        for (const { r, g } of crs) {
            if (external.has(g.group)) continue;
            const keys = v.k8sClusterKeys(r);
            const ancestors = new Set(v.ancestors(r).map((a) => a.urn));
            const providing: Installer[] = [];
            const refusing: { i: Installer; why: string }[] = [];
            let waitedOpaque = false;
            let satisfied = false;
            for (const i of installers) {
                if (!sameCluster(keys, v.k8sClusterKeys(i.res))) continue;
                const verdict = i.provides(g);
                if (verdict === false) continue;
                const waits = ancestors.has(i.res.urn) || v.closure.waitsFor(r.urn, i.res.urn);
                if (verdict === true) {
                    providing.push(i);
                    if (waits) satisfied = true;
                } else if (verdict === "opaque") {
                    if (waits) waitedOpaque = true;
                } else if (waits) refusing.push({ i, why: verdict });
            }
            if (satisfied) continue;
            // Rendered by a component that also renders its CRD (a v4 Chart / ConfigGroup orders CRDs first).
            if (v.ancestors(r).some((a) => rendersCrds(a))) continue;
            const what = `Custom resource '${r.name}' (${g.group}/${g.version} ${g.kind})`;
            if (providing.length > 0) {
                report(
                    `${what} does not wait for ${providing.map((i) => i.label).join(" or ")}, which installs its CRD: on a fresh cluster it is applied first and fails with: no matches for kind "${g.kind}" in version "${g.group}/${g.version}". ` +
                        `Remediation: add ${providing[0].label.replace(/ \(.*$/, "")} to the custom resource's dependsOn (${WAIT_HINT}).`,
                    r.urn,
                );
            } else if (refusing.length > 0) {
                report(
                    `${what} waits for ${refusing.map((x) => `${x.i.label}, but ${x.why}`).join("; ")}; nothing in the stack installs the CRD it needs. ` +
                        `Remediation: ${refusing.some((x) => /crds\.enabled/.test(x.why)) ? "set crds.enabled: true in the release's values" : refusing.some((x) => /skipCrds/.test(x.why)) ? "remove skipCrds from the release" : "use an apiVersion/kind the pinned chart serves, or install the CRD that serves it"} and keep the dependsOn.`,
                    r.urn,
                );
            } else if (!waitedOpaque) {
                const known = CHART_CRDS.filter((e: ChartCrds) => e.groups[g.group]).map((e) => `${e.chart}@${e.version}`);
                report(
                    `${what} has no installer of its CRD in the stack that it waits for (no Helm release, CustomResourceDefinition or yaml/kustomize component it depends on installs ${g.group}): on a fresh cluster it fails with: no matches for kind "${g.kind}". ` +
                        `Remediation: install the CRD in this stack${known.length > 0 ? ` (the ${known.join(" / ")} chart installs ${g.group})` : ""} and add the installer to dependsOn, or list ${g.group} in wait-for-crds' externalCrdGroups if another stack installs it.`,
                    r.urn,
                );
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 3. Everything that schedules pods waits for nodes
// ------------------------------------------------------------------------------------------------

interface Scheduler {
    r: Res;
    what: string;
    clusters: Cluster[];
    namespace?: string;
}

function schedulers(v: StackView): Scheduler[] {
    const out: Scheduler[] = [];
    for (const r of v.res) {
        const p = v.props(r);
        if (r.type === ADDON) {
            const addon = str(p.addonName);
            if (!addon || !(addon in DEPLOYMENT_ADDONS)) continue;
            const cls = v.clustersOfRef(r);
            if (cls) out.push({ r, what: `EKS add-on '${r.name}' (${addon}, runs a Deployment)`, clusters: cls, namespace: DEPLOYMENT_ADDONS[addon] });
            continue;
        }
        if (!r.type.startsWith("kubernetes:")) continue;
        if (isHelmUnit(v, r)) {
            const { chart, repo } = helmIdentity(p);
            if (chart && isInertChart(chart, repo)) continue;
            const cls = v.k8sClusters(r);
            const ns = k8sNamespace(v, r, p.namespace);
            if (cls) out.push({ r, what: `Helm release '${r.name}'${chart ? ` (${chartName(chart)})` : ""}`, clusters: cls, namespace: ns });
            continue;
        }
        const t = k8sType(r.type);
        if (!t || !WORKLOAD_KINDS.has(t.kind) || !WORKLOAD_GROUPS.has(t.group)) continue;
        if (t.kind !== "Pod" && t.kind !== "CronJob" && t.kind !== "Job" && t.kind !== "DaemonSet" && num(get(p, "spec", "replicas")) === 0) continue;
        const cls = v.k8sClusters(r);
        if (cls) out.push({ r, what: `${t.kind} '${r.name}'`, clusters: cls, namespace: k8sNamespace(v, r, get(p, "metadata", "namespace")) });
    }
    return out;
}

export const waitForNodes: StackValidationPolicy = {
    name: "wait-for-nodes",
    description:
        "Everything that schedules pods (Helm releases, Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, EKS add-ons that run a Deployment such as coredns, metrics-server, aws-ebs-csi-driver) waits for node capacity of its cluster: a managed node group, a pulumi-eks node group, a Fargate profile selecting its namespace, or a cluster that brings its own (default node group, auto mode).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        if (v.clusters.length === 0) return;
        for (const s of schedulers(v)) {
            // pulumi-eks's own add-ons (coredns) inside a cluster that brings its nodes are ordered by pulumi-eks.
            const eksAncestors = v.ancestors(s.r).filter((a) => a.type === EKS_COMPONENT);
            const inside = (cap: Capacity) => eksAncestors.some((a) => a.urn === cap.urn || v.descendants(a.urn).has(cap.urn));
            let ok = false;
            const caps: Capacity[] = [];
            for (const c of s.clusters) {
                for (const cap of v.capacity(c)) {
                    if (s.namespace !== undefined && !nsMatches(cap.namespaces, s.namespace)) continue;
                    caps.push(cap);
                    if (inside(cap) || v.closure.waitsFor(s.r.urn, cap.urn)) ok = true;
                }
            }
            if (ok) continue;
            const cl = s.clusters.map((c) => c.label).join(", ");
            if (caps.length === 0) {
                report(
                    `${s.what} needs nodes, but ${cl} has no node group or Fargate profile${s.namespace ? ` for namespace ${s.namespace}` : ""} in the stack: its pods stay Pending and the deployment times out. ` +
                        `Remediation: add an aws.eks.NodeGroup (or eks.ManagedNodeGroup / a Fargate profile selecting ${s.namespace ?? "its namespace"}) for the cluster and make this resource depend on it.`,
                    s.r.urn,
                );
            } else {
                const fails = s.r.type === ADDON ? "EKS leaves the add-on DEGRADED and Pulumi times out waiting for ACTIVE" : "Pulumi times out waiting for it to become ready";
                report(
                    `${s.what} does not wait for node capacity of ${cl} (${caps.map((c) => c.label).join(", ")}): on a fresh account it is created before any node joins, its pods stay Pending and ${fails}. ` +
                        `Remediation: add ${caps[0].label} to its dependsOn — for Kubernetes objects, once, on the Kubernetes provider (new k8s.Provider(..., { dependsOn: [nodeGroup] })).`,
                    s.r.urn,
                );
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 4. No Service while the AWS Load Balancer Controller's fail-closed webhook can be pending
// ------------------------------------------------------------------------------------------------

const LBC_NAME_LABEL = "aws-load-balancer-controller";

export const waitForLbControllerWebhook: StackValidationPolicy = {
    name: "wait-for-lb-controller-webhook",
    description:
        "While the AWS Load Balancer Controller release is starting, its webhooks (mservice.elbv2.k8s.aws for Services, vingress.elbv2.k8s.aws for Ingresses, failurePolicy Fail) reject objects. Every Service, Ingress and Helm release in its cluster waits for the controller release, unless the release's values turn the webhook off (enableServiceMutatorWebhook: false / serviceMutatorWebhookConfig.failurePolicy: Ignore; webhookConfig.disableIngressValidation: true).",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        // A v4 Chart counts with or without visible children: waiting for it waits for all it renders.
        const lbcs = v.res.filter((r) => HELM_TYPES.has(r.type) && chartName(str(v.props(r).chart) ?? "") === "aws-load-balancer-controller");
        for (const l of lbcs) {
            const p = v.props(l);
            if (isUnknown(p.values)) continue;
            const values = obj(p.values);
            const svcOn = bool(values.enableServiceMutatorWebhook, true);
            const policy = get(values, "serviceMutatorWebhookConfig", "failurePolicy");
            const serviceWebhook = svcOn === true && !isUnknown(policy) && policy !== "Ignore";
            const ingressWebhook = bool(get(values, "webhookConfig", "disableIngressValidation"), false) === false;
            if (!serviceWebhook && !ingressWebhook) continue;
            const keys = v.k8sClusterKeys(l);
            if (!isUnknown(p.skipAwait) && bool(p.skipAwait, false) === true) {
                report(
                    `AWS Load Balancer Controller release '${l.name}' sets skipAwait: waiting for it does not wait for the controller's webhook pods, so Services and Ingresses created after it can still be rejected by its fail-closed webhook. ` +
                        `Remediation: remove skipAwait from the release (or set enableServiceMutatorWebhook: false and webhookConfig.disableIngressValidation: true).`,
                    l.urn,
                );
                continue;
            }
            const inside = new Set(v.closure.descendantsOf(l.urn));
            for (const r of v.res) {
                if (r.urn === l.urn || inside.has(r.urn) || !r.type.startsWith("kubernetes:")) continue;
                const rp = v.props(r);
                let what: string | undefined;
                let webhook = "";
                const t = k8sType(r.type);
                if (r.type === SERVICE && serviceWebhook) {
                    if (get(rp, "metadata", "labels", "app.kubernetes.io/name") === LBC_NAME_LABEL) continue; // excluded by the webhook's objectSelector
                    what = `Service '${r.name}'`;
                    webhook = "mservice.elbv2.k8s.aws";
                } else if (t && t.kind === "Ingress" && t.group === "networking.k8s.io" && t.version === "v1" && ingressWebhook) {
                    what = `Ingress '${r.name}'`;
                    webhook = "vingress.elbv2.k8s.aws";
                } else if (isHelmUnit(v, r)) {
                    const { chart, repo } = helmIdentity(rp);
                    if (chart && isInertChart(chart, repo)) continue;
                    if (!serviceWebhook) continue;
                    what = `Helm release '${r.name}'${chart ? ` (${chartName(chart)}, which creates Services)` : " (which creates Services)"}`;
                    webhook = "mservice.elbv2.k8s.aws";
                }
                if (!what) continue;
                if (!sameCluster(keys, v.k8sClusterKeys(r))) continue;
                if (v.closure.waitsFor(r.urn, l.urn) || v.closure.waitsFor(l.urn, r.urn)) continue;
                report(
                    `${what} can be created while AWS Load Balancer Controller release '${l.name}' is still starting: its fail-closed webhook ${webhook} then rejects it ("no endpoints available for service aws-load-balancer-webhook-service"). ` +
                        `Remediation: add the controller release to its dependsOn, or ${webhook.startsWith("mservice") ? "set enableServiceMutatorWebhook: false" : "set webhookConfig.disableIngressValidation: true"} in the controller's values.`,
                    r.urn,
                );
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 5. Workloads wait for the pod identity association of their service account
// ------------------------------------------------------------------------------------------------

interface Binding {
    r: Res;
    namespace: string;
    serviceAccount: string;
    clusters?: Cluster[];
}

/** Service account names a chart's values set (`serviceAccount.name`, `serviceAccountName`, at any depth). */
export function valuesServiceAccounts(values: unknown, depth = 0, out = new Set<string>()): Set<string> {
    if (depth > 8 || !isObj(values)) return out;
    for (const [k, v] of Object.entries(values)) {
        if (k === "serviceAccount" && isObj(v)) {
            const n = str(v.name);
            if (n) out.add(n);
        } else if (k === "serviceAccountName") {
            const n = str(v);
            if (n) out.add(n);
        }
        if (isObj(v)) valuesServiceAccounts(v, depth + 1, out);
    }
    return out;
}

export const waitForPodIdentity: StackValidationPolicy = {
    name: "wait-for-pod-identity",
    description:
        "A workload whose pods run as a service account bound by an EKS pod identity association (namespace + serviceAccount) waits for that association: EKS injects the credentials only into pods created after it exists. Helm releases whose values name such a service account (serviceAccount.name …) and EKS add-ons whose service account is bound by a separate association wait for it too.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        const bindings: Binding[] = [];
        for (const r of v.res) {
            if (r.type !== POD_IDENTITY) continue;
            const p = v.props(r);
            const ns = str(p.namespace);
            const sa = str(p.serviceAccount);
            if (ns && sa) bindings.push({ r, namespace: ns, serviceAccount: sa, clusters: v.clustersOfRef(r) });
        }
        if (bindings.length === 0) return;
        const matches = (b: Binding, ns: string, sa: string, cls: Cluster[] | undefined) =>
            b.namespace === ns && b.serviceAccount === sa && (!b.clusters || !cls || b.clusters.some((c) => cls.includes(c)));
        const check = (r: Res, what: string, pairs: { ns: string; sa: string }[], cls: Cluster[] | undefined) => {
            const seen = new Set<string>();
            for (const { ns, sa } of pairs) {
                for (const b of bindings) {
                    if (seen.has(b.r.urn) || !matches(b, ns, sa, cls)) continue;
                    seen.add(b.r.urn);
                    if (v.closure.waitsFor(r.urn, b.r.urn)) continue;
                    report(
                        `${what} runs as service account ${ns}/${sa}, which pod identity association '${b.r.name}' binds to an IAM role, but does not wait for it: EKS injects the credentials only when a pod is created, so its first pods start without them (falling back to the node role) until restarted. ` +
                            `Remediation: add the association to its dependsOn.`,
                        r.urn,
                    );
                }
            }
        };
        for (const r of v.res) {
            const p = v.props(r);
            if (r.type === ADDON) {
                const addon = str(p.addonName);
                const sas = addon ? ADDON_SERVICE_ACCOUNTS[addon] : undefined;
                if (!sas) continue;
                const inline = new Set(arr(p.podIdentityAssociations).map((a) => str(get(a, "serviceAccount"))).filter(Boolean));
                const pairs = sas.map((s) => ({ ns: s.split("/")[0], sa: s.split("/")[1] })).filter((x) => !inline.has(x.sa));
                check(r, `EKS add-on '${r.name}' (${addon})`, pairs, v.clustersOfRef(r));
                continue;
            }
            if (!r.type.startsWith("kubernetes:")) continue;
            if (isHelmUnit(v, r)) {
                if (isUnknown(p.values)) continue;
                const ns = k8sNamespace(v, r, p.namespace);
                if (!ns) continue;
                let sas = [...valuesServiceAccounts(p.values)];
                const { chart } = helmIdentity(p);
                if (sas.length === 0) {
                    // The chart's conventional fullname: the release name (when it contains the chart name) or <release>-<chart>.
                    const rel = str(p.name) ?? r.name;
                    sas = chart ? [rel, `${rel}-${chartName(chart)}`, chartName(chart)] : [rel];
                }
                check(r, `Helm release '${r.name}'${chart ? ` (${chartName(chart)})` : ""}`, sas.map((sa) => ({ ns, sa })), v.k8sClusters(r));
                continue;
            }
            const tmpl = podTemplate(r.type, p);
            if (!tmpl) continue;
            const saRaw = tmpl.spec.serviceAccountName ?? tmpl.spec.serviceAccount;
            if (isUnknown(saRaw)) continue;
            const sa = typeof saRaw === "string" && saRaw !== "" ? saRaw : "default";
            const ns = k8sNamespace(v, r, get(p, "metadata", "namespace"));
            if (!ns) continue;
            check(r, `${k8sType(r.type)?.kind ?? short(r.type)} '${r.name}'`, [{ ns, sa }], v.k8sClusters(r));
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 6. Launch templates of managed node groups give every network interface a device index
// ------------------------------------------------------------------------------------------------

export const launchTemplateDeviceIndex: StackValidationPolicy = {
    name: "launch-template-device-index",
    description:
        "An EC2 launch template used by an EKS managed node group (launchTemplate.id/name of aws:eks/nodeGroup or eks:index:ManagedNodeGroup) gives every networkInterfaces[] entry a deviceIndex (or declares no network interfaces): EKS rejects the node group otherwise.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        const lts = v.res.filter((r) => r.type === LAUNCH_TEMPLATE);
        if (lts.length === 0) return;
        const index = new Map<string, Res>();
        for (const lt of lts) {
            index.set(lt.urn, lt);
            const p = v.props(lt);
            for (const k of ["id", "name", "arn"]) {
                const s = str(p[k]);
                if (s) index.set(s, lt);
            }
        }
        const users = new Map<string, string[]>();
        for (const r of v.res) {
            if (r.type !== NODE_GROUP && r.type !== "eks:index:ManagedNodeGroup") continue;
            let spec = v.props(r).launchTemplate;
            if (Array.isArray(spec)) spec = spec[0];
            if (spec === undefined || spec === null) continue;
            let lt: Res | undefined = (r.propertyDependencies?.launchTemplate ?? []).map((d) => index.get(d.urn)).find(Boolean);
            if (!lt) for (const k of ["id", "name"]) lt ??= index.get(str(get(spec, k)) ?? "\0");
            if (!lt) {
                const cands = [...new Set(r.dependencies.filter((d) => d.type === LAUNCH_TEMPLATE).map((d) => d.urn))];
                if (cands.length === 1) lt = index.get(cands[0]);
            }
            if (!lt) continue;
            const l = users.get(lt.urn) ?? [];
            l.push(r.name);
            users.set(lt.urn, l);
        }
        for (const [urn, ngs] of users) {
            const lt = v.byUrn.get(urn)!;
            const nis = v.props(lt).networkInterfaces;
            if (isUnknown(nis) || !Array.isArray(nis) || nis.length === 0) continue;
            const missing = nis.map((ni, i) => ({ ni, i })).filter(({ ni }) => isObj(ni) && (ni.deviceIndex === undefined || ni.deviceIndex === null || ni.deviceIndex === ""));
            if (missing.length === 0) continue;
            report(
                `Launch template '${lt.name}' (used by managed node group ${ngs.map((n) => `'${n}'`).join(", ")}) has networkInterfaces${missing.map((m) => `[${m.i}]`).join(", ")} without deviceIndex: EKS rejects the node group with InvalidRequestException "Each network interface requires a device index". ` +
                    `Remediation: set deviceIndex: 0 on the (single) network interface, or drop networkInterfaces and use vpcSecurityGroupIds.`,
                lt.urn,
            );
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 7. Single-use Tailscale keys are recreated when invalid
// ------------------------------------------------------------------------------------------------

export const tailscaleKeyRecreate: StackValidationPolicy = {
    name: "tailscale-key-recreate",
    description:
        "A single-use Tailscale auth key (tailscale.TailnetKey with reusable false, the default) sets recreateIfInvalid: \"always\": the provider otherwise keeps a used or expired single-use key in state, and an agent that has to re-register (new pod, lost state Secret) can never join again.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        for (const r of v.res) {
            if (r.type !== TAILNET_KEY) continue;
            const p = v.props(r);
            const reusable = bool(p.reusable, false);
            if (reusable !== false) continue;
            const rec = p.recreateIfInvalid;
            if (isUnknown(rec) || rec === "always") continue;
            report(
                `Tailscale auth key '${r.name}' is single-use but recreateIfInvalid is ${rec === undefined || rec === null ? "unset (the provider's default for single-use keys: never recreate)" : JSON.stringify(rec)}: once an agent has used it (or it expired), every later deployment keeps the dead key and a re-registering agent cannot join the tailnet. ` +
                    `Remediation: set recreateIfInvalid: "always" on the TailnetKey.`,
                r.urn,
            );
        }
    },
};

// ------------------------------------------------------------------------------------------------
// 8. Helm values match the pinned chart
// ------------------------------------------------------------------------------------------------

export const helmValuesValid: StackValidationPolicy = {
    name: "helm-values-valid",
    description:
        "Every key a Helm release (kubernetes:helm.sh/v3:Release, v4 Chart) sets in values exists in that chart version, with the chart's type (for the chart versions the pack knows: policies/charts); Helm silently ignores a key the chart does not read.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const v = view(args.resources);
        for (const r of v.res) {
            if (r.type !== HELM_RELEASE && r.type !== HELM_CHART_V4) continue;
            const p = v.props(r);
            const { chart, version, repo } = helmIdentity(p);
            if (!chart || !version || isUnknown(p.values)) continue;
            let problems: { path: string; message: string }[] | undefined;
            try {
                problems = helmValuesProblems({ chart, version, ...(repo ? { repo } : {}) }, p.values ?? {});
            } catch (e) {
                report(`Helm release '${r.name}' (${chart}@${version}): its values could not be checked (${(e as Error).message}). Remediation: report a bug in policies/charts.`, r.urn);
                continue;
            }
            for (const pr of problems ?? []) {
                report(
                    `Helm release '${r.name}' (${chartName(chart)}@${version}) values \`${pr.path}\`: ${/[.?!]$/.test(pr.message) ? pr.message : `${pr.message}.`} Remediation: use the key the chart's values.yaml at ${version} defines (or remove it).`,
                    r.urn,
                );
            }
        }
    },
};

export const deployReadinessPolicies: StackValidationPolicy[] = [
    waitForEksCluster,
    waitForCrds,
    waitForNodes,
    waitForLbControllerWebhook,
    waitForPodIdentity,
    launchTemplateDeviceIndex,
    tailscaleKeyRecreate,
    helmValuesValid,
];
