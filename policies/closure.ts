/**
 * The dependency closure: everything the Pulumi engine finishes before it starts a resource.
 *
 * A resource R waits for
 *  - every entry of `dependencies` (explicit `dependsOn` and the SDK's input dependencies);
 *  - every entry of `propertyDependencies` (the resources whose outputs feed an input);
 *  - its provider (a provider reference is `<provider urn>::<provider id>`; the stack-validation runtime hands an
 *    object with `urn`), and therefore whatever the provider waits for (a Kubernetes provider waits for the cluster
 *    its kubeconfig comes from);
 *  - for a dependency on a **component**, all of the component's descendants (the SDK expands `dependsOn: component`
 *    to its children, recursively through child components). Components are non-custom resources: our own
 *    `byoc:index:*`, remote components such as `eks:index:Cluster` (whose `aws:eks/cluster:Cluster`,
 *    `aws:eks/addon:Addon` … appear in a real preview with parent = the component), `kubernetes:helm.sh/v4:Chart`,
 *    `kubernetes:yaml/v2:ConfigGroup`, … Under Pulumi's mocks a remote component has no children: waiting for it
 *    IS waiting for what it stands for.
 * and, transitively, everything those wait for. A resource does not wait for its parent.
 *
 * Cycle-safe (Tarjan's strongly connected components; a resource on a cycle waits for itself), iterative (no
 * recursion on deep chains) and lazy: a closure is computed on first use and memoized per strongly connected
 * component, so a 10k-resource export costs O(resources + edges) plus the closures actually asked for.
 *
 * Custom or component? The stack-validation runtime does not pass the state's `custom` flag, so: the flag when the
 * object carries one; otherwise providers are custom; known component types are components; a type shaped like a
 * provider resource (`pkg:module/name:Type`, e.g. `aws:ec2/vpc:Vpc`, `kubernetes:apps/v1:Deployment`) is custom;
 * anything else (`byoc:index:X`, `eks:index:Cluster`, `awsx:ec2:Vpc`) is a component. The last guess can only matter
 * for a resource that has children.
 */

/** The minimum a resource needs for the closure: engine PolicyResource (strings) or runtime PolicyResource (objects). */
export interface ClosureResource {
    urn: string;
    type: string;
    custom?: boolean;
    parent?: { urn: string } | string;
    dependencies?: readonly ({ urn: string } | string)[];
    propertyDependencies?: Record<string, readonly ({ urn: string } | string)[] | undefined>;
    provider?: { urn: string } | string;
}

/** pulumi-kubernetes components that render manifests (yaml, kustomize, Helm v3 Chart) into child objects. */
export const MANIFEST_COMPONENT_TYPES: ReadonlySet<string> = new Set([
    "kubernetes:yaml:ConfigFile",
    "kubernetes:yaml:ConfigGroup",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
    "kubernetes:kustomize:Directory",
    "kubernetes:kustomize/v2:Directory",
    "kubernetes:helm.sh/v3:Chart",
]);

/** Component types of the packages whose type names look like custom resources, or that are remote components. */
const COMPONENT_TYPES: ReadonlySet<string> = new Set([
    "pulumi:pulumi:Stack",
    "eks:index:Cluster",
    "eks:index:ManagedNodeGroup",
    "eks:index:NodeGroup",
    "eks:index:NodeGroupV2",
    "eks:index:NodeGroupSecurityGroup",
    "eks:index:VpcCniAddon",
    "eks:index:Addon",
    "kubernetes:helm.sh/v2:Chart",
    "kubernetes:helm.sh/v4:Chart",
    ...MANIFEST_COMPONENT_TYPES,
]);
const CUSTOM_SHAPE = /^[^:]+:[^:]+\/[^:]+:[^:]+$/;

export function isComponent(r: { type: string; custom?: boolean }): boolean {
    if (typeof r.custom === "boolean") return !r.custom;
    const t = r.type;
    if (typeof t !== "string") return false;
    if (t.startsWith("pulumi:providers:")) return false;
    if (COMPONENT_TYPES.has(t)) return true;
    return !CUSTOM_SHAPE.test(t);
}

function refUrn(x: unknown): string | undefined {
    if (typeof x === "string") return x;
    if (x !== null && typeof x === "object" && typeof (x as { urn?: unknown }).urn === "string") return (x as { urn: string }).urn;
    return undefined;
}

export class DependencyClosure {
    private readonly index = new Map<string, number>();
    private readonly urns: string[] = [];
    private readonly edges: number[][] = [];
    private readonly children: number[][] = [];
    private readonly component: boolean[] = [];
    private sccOf?: Int32Array;
    private sccMembers: number[][] = [];
    private sccCyclic: boolean[] = [];
    private readonly memo = new Map<number, Set<number>>();
    private readonly urnMemo = new Map<number, ReadonlySet<string>>();

    constructor(resources: readonly ClosureResource[]) {
        for (const r of resources) {
            if (!r || typeof r.urn !== "string" || this.index.has(r.urn)) continue;
            this.index.set(r.urn, this.urns.length);
            this.urns.push(r.urn);
            this.component.push(isComponent(r));
            this.edges.push([]);
            this.children.push([]);
        }
        for (const r of resources) {
            if (!r || typeof r.urn !== "string") continue;
            const i = this.index.get(r.urn)!;
            const out = new Set<number>();
            const add = (x: unknown) => {
                const u = refUrn(x);
                if (u === undefined) return;
                const j = this.index.get(u);
                if (j !== undefined) out.add(j);
            };
            if (Array.isArray(r.dependencies)) for (const d of r.dependencies) add(d);
            const pd = r.propertyDependencies;
            if (pd && typeof pd === "object") {
                for (const k in pd) {
                    const v = pd[k];
                    if (Array.isArray(v)) for (const d of v) add(d);
                }
            }
            const p = this.providerIndex(r.provider);
            if (p !== undefined) out.add(p);
            for (const j of out) this.edges[i].push(j);
            const parent = refUrn(r.parent);
            const pi = parent === undefined ? undefined : this.index.get(parent);
            if (pi !== undefined && pi !== i) this.children[pi].push(i);
        }
        // Waiting for a component is waiting for its children (and, through child components, all descendants).
        for (let i = 0; i < this.urns.length; i++) {
            if (this.component[i]) for (const c of this.children[i]) this.edges[i].push(c);
        }
    }

    /** Index of the provider a reference (`<urn>::<id>`, a bare URN or `{urn}`) points at, when it is in the stack. */
    private providerIndex(ref: unknown): number | undefined {
        const s = refUrn(ref);
        if (s === undefined) return undefined;
        const exact = this.index.get(s);
        if (exact !== undefined) return exact;
        const k = s.lastIndexOf("::");
        return k > 0 ? this.index.get(s.slice(0, k)) : undefined;
    }

    /** The provider URN of a reference, resolved against the stack (undefined when not in it). */
    providerUrn(ref: unknown): string | undefined {
        const i = this.providerIndex(ref);
        return i === undefined ? undefined : this.urns[i];
    }

    has(urn: string): boolean {
        return this.index.has(urn);
    }

    /** URNs of the direct children (parent = urn). */
    childrenOf(urn: string): string[] {
        const i = this.index.get(urn);
        return i === undefined ? [] : this.children[i].map((c) => this.urns[c]);
    }

    /** URNs of all descendants (children, grandchildren …), whatever their kind. */
    descendantsOf(urn: string): string[] {
        const i = this.index.get(urn);
        if (i === undefined) return [];
        const seen = new Set<number>([i]);
        const out: string[] = [];
        const stack = [...this.children[i]];
        while (stack.length > 0) {
            const c = stack.pop()!;
            if (seen.has(c)) continue;
            seen.add(c);
            out.push(this.urns[c]);
            for (const g of this.children[c]) stack.push(g);
        }
        return out;
    }

    /** Does `from` wait for `to` (directly or transitively)? False for resources outside the stack. */
    waitsFor(from: string, to: string): boolean {
        const i = this.index.get(from);
        const j = this.index.get(to);
        if (i === undefined || j === undefined) return false;
        return this.closureIdx(i).has(j);
    }

    /** Does `from` wait for any of `targets`? */
    waitsForAny(from: string, targets: Iterable<string>): boolean {
        const i = this.index.get(from);
        if (i === undefined) return false;
        const c = this.closureIdx(i);
        for (const t of targets) {
            const j = this.index.get(t);
            if (j !== undefined && c.has(j)) return true;
        }
        return false;
    }

    /** Everything `urn` waits for (URNs; includes `urn` itself only when it is on a dependency cycle). */
    closureOf(urn: string): ReadonlySet<string> {
        const i = this.index.get(urn);
        if (i === undefined) return new Set();
        const scc = this.scc(i);
        let s = this.urnMemo.get(scc);
        if (!s) {
            s = new Set([...this.closureIdx(i)].map((j) => this.urns[j]));
            this.urnMemo.set(scc, s);
        }
        return s;
    }

    private scc(i: number): number {
        if (!this.sccOf) this.tarjan();
        return this.sccOf![i];
    }

    /** Iterative Tarjan: SCC ids are assigned in reverse topological order (a SCC after everything it reaches). */
    private tarjan(): void {
        const n = this.urns.length;
        const index = new Int32Array(n).fill(-1);
        const low = new Int32Array(n);
        const onStack = new Uint8Array(n);
        const sccOf = new Int32Array(n).fill(-1);
        const stack: number[] = [];
        let next = 0;
        const work: { v: number; e: number }[] = [];
        for (let root = 0; root < n; root++) {
            if (index[root] !== -1) continue;
            work.push({ v: root, e: 0 });
            index[root] = low[root] = next++;
            stack.push(root);
            onStack[root] = 1;
            while (work.length > 0) {
                const top = work[work.length - 1];
                const v = top.v;
                const es = this.edges[v];
                if (top.e < es.length) {
                    const w = es[top.e++];
                    if (index[w] === -1) {
                        index[w] = low[w] = next++;
                        stack.push(w);
                        onStack[w] = 1;
                        work.push({ v: w, e: 0 });
                    } else if (onStack[w]) {
                        if (index[w] < low[v]) low[v] = index[w];
                    }
                    continue;
                }
                work.pop();
                if (work.length > 0) {
                    const u = work[work.length - 1].v;
                    if (low[v] < low[u]) low[u] = low[v];
                }
                if (low[v] === index[v]) {
                    const id = this.sccMembers.length;
                    const members: number[] = [];
                    let w: number;
                    do {
                        w = stack.pop()!;
                        onStack[w] = 0;
                        sccOf[w] = id;
                        members.push(w);
                    } while (w !== v);
                    this.sccMembers.push(members);
                    this.sccCyclic.push(members.length > 1 || this.edges[v].includes(v));
                }
            }
        }
        this.sccOf = sccOf;
    }

    private sccSuccessors(c: number): Set<number> {
        const out = new Set<number>();
        for (const m of this.sccMembers[c]) for (const w of this.edges[m]) {
            const d = this.sccOf![w];
            if (d !== c) out.add(d);
        }
        return out;
    }

    private closureIdx(i: number): Set<number> {
        const start = this.scc(i);
        const done = this.memo.get(start);
        if (done) return done;
        // Post-order over the (acyclic) SCC graph with an explicit stack.
        const work = [start];
        while (work.length > 0) {
            const c = work[work.length - 1];
            if (this.memo.has(c)) {
                work.pop();
                continue;
            }
            const succ = this.sccSuccessors(c);
            let pending = false;
            for (const d of succ) {
                if (!this.memo.has(d)) {
                    work.push(d);
                    pending = true;
                }
            }
            if (pending) continue;
            const set = new Set<number>();
            if (this.sccCyclic[c]) for (const m of this.sccMembers[c]) set.add(m);
            for (const d of succ) {
                for (const m of this.sccMembers[d]) set.add(m);
                for (const x of this.memo.get(d)!) set.add(x);
            }
            this.memo.set(c, set);
            work.pop();
        }
        return this.memo.get(start)!;
    }
}

const cache = new WeakMap<object, DependencyClosure>();

/**
 * The closure of a resource list, built once per list object (the engine hands every stack policy of one evaluation
 * the same array, so the rules share one graph).
 */
export function dependencyClosure(resources: readonly ClosureResource[]): DependencyClosure {
    let c = cache.get(resources);
    if (!c) {
        c = new DependencyClosure(resources);
        cache.set(resources, c);
    }
    return c;
}
