/**
 * Kubernetes reading helpers for the rules that judge pods, their configuration and RBAC "however it is
 * written": every object that carries a pod spec, every way a container gets its environment and its command
 * line, and the ConfigMaps / Secrets of the stack those references join to. Pure and tolerant like util.ts:
 * an odd shape yields "nothing" or "unknown", never an exception.
 *
 * (util.ts `podTemplate` stays as it is: deploy-readiness reads it with its own semantics.)
 */
import { arr, get, isObj, isUnknown, k8sType, labels, obj, Obj, raw, StackRes, str } from "./util";

// ------------------------------------------------------------------------------------------------
// Pod specs
// ------------------------------------------------------------------------------------------------

export interface PodSpecRef {
    /** Labels of the pods it creates. */
    labels: Obj;
    spec: Obj;
    /** Where the spec sits in the object, for messages ("spec.template.spec"). */
    where: string;
    /** True when the object itself says it is a Tailscale proxy (tailscale.com ProxyClass). */
    tailscale?: boolean;
}

const TEMPLATE_KINDS = new Set(["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job"]);
/** API groups whose kinds are known: no generic search for embedded pod specs there. */
function isBuiltinGroup(g: string): boolean {
    return g === "core" || g === "apps" || g === "batch" || g === "policy" || g === "autoscaling" || g === "extensions" || g.endsWith(".k8s.io");
}
const WALK_BUDGET = 2000;

/**
 * Every pod spec an object carries: workload templates (Deployment … Job, CronJob's job template, Pod,
 * PodTemplate) and, for custom resources, any embedded object with a `containers` list (Argo Rollouts, the
 * Altinity operator's `spec.templates.podTemplates[].spec`, OpenKruise, KEDA ScaledJob …). A tailscale.com
 * ProxyClass contributes its Tailscale container's overrides as a pseudo pod spec.
 */
export function podSpecs(type: string, props: Obj): PodSpecRef[] {
    const t = k8sType(type);
    if (!t) return [];
    if (t.kind === "Pod" && t.group === "core") return isObj(props.spec) ? [{ labels: labels(props), spec: props.spec, where: "spec" }] : [];
    if (t.kind === "PodTemplate" && t.group === "core") {
        const tmpl = props.template;
        return isObj(get(tmpl, "spec")) ? [{ labels: obj(get(tmpl, "metadata", "labels")), spec: tmpl.spec, where: "template.spec" }] : [];
    }
    if (t.kind === "CronJob") {
        const tmpl = get(props, "spec", "jobTemplate", "spec", "template");
        return isObj(get(tmpl, "spec")) ? [{ labels: obj(get(tmpl, "metadata", "labels")), spec: tmpl.spec, where: "spec.jobTemplate.spec.template.spec" }] : [];
    }
    if (TEMPLATE_KINDS.has(t.kind) && isBuiltinGroup(t.group)) {
        const tmpl = get(props, "spec", "template");
        return isObj(get(tmpl, "spec")) ? [{ labels: obj(get(tmpl, "metadata", "labels")), spec: tmpl.spec, where: "spec.template.spec" }] : [];
    }
    if (isBuiltinGroup(t.group)) return [];
    if (t.group === "tailscale.com" && t.kind === "ProxyClass") {
        const pod = get(props, "spec", "statefulSet", "pod");
        if (!isObj(pod)) return [];
        const cs = [pod.tailscaleContainer, pod.tailscaleInitContainer].filter(isObj).map((c) => ({ name: "tailscale", image: "tailscale/tailscale", ...c }));
        return [{ labels: obj(pod.labels), spec: { ...pod, containers: cs }, where: "spec.statefulSet.pod", tailscale: true }];
    }
    const out: PodSpecRef[] = [];
    let budget = WALK_BUDGET;
    const walk = (node: unknown, path: string, parentLabels: Obj) => {
        if (--budget < 0 || node === null || typeof node !== "object") return;
        if (Array.isArray(node)) {
            node.forEach((n, i) => walk(n, `${path}[${i}]`, parentLabels));
            return;
        }
        const o = node as Obj;
        if (Array.isArray(o.containers) && o.containers.some((c) => isObj(c) && (typeof c.image === "string" || typeof c.name === "string"))) {
            out.push({ labels: parentLabels, spec: o, where: path });
            return;
        }
        const ownLabels = isObj(o.metadata) && isObj(o.metadata.labels) ? o.metadata.labels : parentLabels;
        for (const k in o) {
            if (k === "metadata" || k === "status") continue;
            walk(o[k], path ? `${path}.${k}` : k, ownLabels);
        }
    };
    walk(props.spec, "spec", {});
    return out;
}

export type ContainerKind = "init" | "main" | "ephemeral";
export interface ContainerRef {
    c: Obj;
    kind: ContainerKind;
}
export function podContainers(spec: Obj): ContainerRef[] {
    const out: ContainerRef[] = [];
    for (const c of arr(spec.initContainers)) if (isObj(c)) out.push({ c, kind: "init" });
    for (const c of arr(spec.containers)) if (isObj(c)) out.push({ c, kind: "main" });
    for (const c of arr(spec.ephemeralContainers)) if (isObj(c)) out.push({ c, kind: "ephemeral" });
    return out;
}

// ------------------------------------------------------------------------------------------------
// ConfigMaps and Secrets of the stack (joined by namespace/name, or by the referrer's dependencies)
// ------------------------------------------------------------------------------------------------

export type DataKind = "ConfigMap" | "Secret";

export interface DataObject {
    res: StackRes;
    kind: DataKind;
    ns: string;
    name?: string;
    /** Decoded values (Secret `data` / ConfigMap `binaryData` are base64); unknown values are absent from `data` and listed in `unknownKeys`. */
    data: Map<string, string>;
    unknownKeys: Set<string>;
    /** Every value unknown (a secret the reader could not decrypt, or unknown during preview). */
    opaque: boolean;
    /** Types of the resources its data is computed from (propertyDependencies of data/stringData). */
    sources: Set<string>;
}

export function b64(s: string): string | undefined {
    if (!/^[A-Za-z0-9+/=\s_-]*$/.test(s)) return undefined;
    try {
        return Buffer.from(s, "base64").toString("utf8");
    } catch {
        return undefined;
    }
}

/** The decoded key/value data of a ConfigMap or Secret (props as Pulumi writes them). */
export function objectData(kind: DataKind, props: Obj): { data: Map<string, string>; unknownKeys: Set<string>; opaque: boolean } {
    const data = new Map<string, string>();
    const unknownKeys = new Set<string>();
    let opaque = false;
    const add = (src: unknown, encoded: boolean) => {
        if (isUnknown(src)) {
            opaque = true;
            return;
        }
        if (!isObj(src)) return;
        for (const [k, v] of Object.entries(src)) {
            if (typeof v !== "string" || isUnknown(v)) {
                unknownKeys.add(k);
                continue;
            }
            const d = encoded ? b64(v) : v;
            if (d === undefined) unknownKeys.add(k);
            else data.set(k, d);
        }
    };
    if (kind === "Secret") {
        add(props.data, true);
        add(props.stringData, false);
    } else {
        add(props.binaryData, true);
        add(props.data, false);
    }
    return { data, unknownKeys, opaque };
}

/** Namespace of a namespaced object; "*" when it cannot be known (matches anything). */
export function namespaceKey(r: StackRes): string {
    const ns = get(raw(r.props), "metadata", "namespace");
    if (typeof ns === "string" && !isUnknown(ns)) return ns;
    if (ns === undefined || ns === null || ns === "") return "default";
    const deps = [...(r.propertyDependencies?.["metadata"] ?? []), ...(r.dependencies ?? [])];
    for (const d of deps) {
        if (d.type === "kubernetes:core/v1:Namespace") {
            return str(get(raw(d.props), "metadata", "name")) ?? d.urn;
        }
    }
    return "*";
}
export function sameNs(a: string, b: string): boolean {
    return a === b || a === "*" || b === "*";
}

export class KubeData {
    private byName = new Map<string, DataObject[]>();
    private byUrn = new Map<string, DataObject>();
    readonly all: DataObject[] = [];

    constructor(resources: StackRes[]) {
        for (const r of resources) {
            const t = k8sType(r.type);
            if (!t || t.group !== "core" || (t.kind !== "ConfigMap" && t.kind !== "Secret")) continue;
            const p = raw(r.props);
            const kind = t.kind as DataKind;
            const { data, unknownKeys, opaque } = objectData(kind, p);
            const sources = new Set<string>();
            for (const k of ["data", "stringData", "binaryData"]) for (const d of r.propertyDependencies?.[k] ?? []) sources.add(d.type);
            const o: DataObject = { res: r, kind, ns: namespaceKey(r), name: str(get(p, "metadata", "name")), data, unknownKeys, opaque, sources };
            this.all.push(o);
            this.byUrn.set(r.urn, o);
            if (o.name) {
                const key = `${kind}/${o.name}`;
                const list = this.byName.get(key);
                if (list) list.push(o);
                else this.byName.set(key, [o]);
            }
        }
    }

    get size(): number {
        return this.all.length;
    }

    /**
     * The object a reference names from `referrer` in namespace `ns`: by known name, else (name unknown during a
     * preview) the single object of that kind among the referrer's dependencies. Undefined when not in the stack.
     */
    lookup(kind: DataKind, ns: string, name: unknown, referrer?: StackRes): DataObject | undefined {
        const n = str(name);
        if (n !== undefined) {
            const list = this.byName.get(`${kind}/${n}`);
            return list?.find((o) => sameNs(o.ns, ns));
        }
        if (!referrer) return undefined;
        const cands = new Set<DataObject>();
        for (const d of [...Object.values(referrer.propertyDependencies ?? {}).flat(), ...(referrer.dependencies ?? [])]) {
            const o = this.byUrn.get(d.urn);
            if (o && o.kind === kind) cands.add(o);
        }
        return cands.size === 1 ? [...cands][0] : undefined;
    }
}

// ------------------------------------------------------------------------------------------------
// A container's effective environment and command lines
// ------------------------------------------------------------------------------------------------

export interface EnvValue {
    value?: string;
    /** Cannot be read: a reference to an object outside the stack, an unknown value, a field reference. */
    unknown?: boolean;
    /** "inline", "ConfigMap x key y", "Secret x (envFrom)" … */
    source: string;
    /** The object the value comes from, when joined. */
    from?: DataObject;
    /** The value is written in the pod spec itself (not through a ConfigMap/Secret). */
    inline: boolean;
}

export interface ContainerConfig {
    name: string;
    kind: ContainerKind;
    image?: string;
    env: Map<string, EnvValue>;
    /** envFrom sources that could not be read (their keys are unknown). */
    opaqueEnvFrom: string[];
    /** Command lines the container runs: command+args, lifecycle hooks and exec probes, shell scripts split up. */
    argvs: string[][];
    /** The ConfigMaps/Secrets the pod mounts as volumes (projected included). */
    volumes: DataObject[];
    /** Volume references that could not be joined. */
    opaqueVolumes: string[];
}

/** Resolves a container's environment the way the kubelet does: envFrom in order, then env (later wins). */
export function containerConfig(ref: ContainerRef, podSpec: Obj, ns: string, referrer: StackRes | undefined, kd: KubeData | undefined): ContainerConfig {
    const c = ref.c;
    const env = new Map<string, EnvValue>();
    const opaqueEnvFrom: string[] = [];
    for (const ef of arr(c.envFrom)) {
        if (!isObj(ef)) continue;
        const prefix = str(ef.prefix) ?? "";
        const kind: DataKind | undefined = isObj(ef.configMapRef) ? "ConfigMap" : isObj(ef.secretRef) ? "Secret" : undefined;
        if (!kind) continue;
        const refName = (kind === "ConfigMap" ? ef.configMapRef : ef.secretRef).name;
        const o = kd?.lookup(kind, ns, refName, referrer);
        const label = `${kind} ${str(refName) ?? "(unknown name)"} (envFrom)`;
        if (!o || o.opaque) {
            opaqueEnvFrom.push(label);
            continue;
        }
        for (const [k, v] of o.data) env.set(prefix + k, { value: v, source: label, from: o, inline: false });
        for (const k of o.unknownKeys) env.set(prefix + k, { unknown: true, source: label, from: o, inline: false });
    }
    for (const e of arr(c.env)) {
        if (!isObj(e)) continue;
        const name = str(e.name);
        if (!name) continue;
        if (e.valueFrom !== undefined && e.valueFrom !== null) {
            const vf = obj(e.valueFrom);
            const kref = isObj(vf.configMapKeyRef) ? { kind: "ConfigMap" as const, r: vf.configMapKeyRef } : isObj(vf.secretKeyRef) ? { kind: "Secret" as const, r: vf.secretKeyRef } : undefined;
            if (!kref) {
                env.set(name, { unknown: true, source: "a field reference", inline: true });
                continue;
            }
            const key = str(kref.r.key);
            const label = `${kref.kind} ${str(kref.r.name) ?? "(unknown name)"} key ${key ?? "?"}`;
            const o = kd?.lookup(kref.kind, ns, kref.r.name, referrer);
            const v = o && key !== undefined ? o.data.get(key) : undefined;
            env.set(name, v !== undefined ? { value: v, source: label, from: o, inline: false } : { unknown: true, source: label, from: o, inline: false });
            continue;
        }
        if (isUnknown(e.value)) {
            env.set(name, { unknown: true, source: "inline (unknown during preview)", inline: true });
            continue;
        }
        const raw0 = typeof e.value === "string" ? e.value : e.value === undefined || e.value === null ? "" : String(e.value);
        env.set(name, { value: expandK8s(raw0, env), source: "inline", inline: true });
    }
    const argvs: string[][] = [];
    const cmdline = [...arr(c.command), ...arr(c.args)];
    if (cmdline.length > 0) argvs.push(...splitCommands(cmdline.map((x) => expandK8s(typeof x === "string" ? x : String(x), env)), env));
    const execOf = (h: unknown) => arr(get(h, "exec", "command"));
    for (const h of [get(c, "lifecycle", "postStart"), get(c, "lifecycle", "preStop"), c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        const cmd = execOf(h);
        if (cmd.length > 0) argvs.push(...splitCommands(cmd.map((x) => expandK8s(typeof x === "string" ? x : String(x), env)), env));
    }
    // Volumes the container mounts (all pod volumes; a mount by name is enough to read them).
    const volumes: DataObject[] = [];
    const opaqueVolumes: string[] = [];
    const addVol = (kind: DataKind, name: unknown) => {
        const o = kd?.lookup(kind, ns, name, referrer);
        if (o) volumes.push(o);
        else opaqueVolumes.push(`${kind} ${str(name) ?? "(unknown name)"}`);
    };
    for (const v of arr(podSpec.volumes)) {
        if (!isObj(v)) continue;
        if (isObj(v.configMap)) addVol("ConfigMap", v.configMap.name);
        if (isObj(v.secret)) addVol("Secret", v.secret.secretName);
        for (const s of arr(get(v, "projected", "sources"))) {
            if (!isObj(s)) continue;
            if (isObj(s.configMap)) addVol("ConfigMap", s.configMap.name);
            if (isObj(s.secret)) addVol("Secret", s.secret.name);
        }
    }
    return { name: str(c.name) ?? "?", kind: ref.kind, image: str(c.image), env, opaqueEnvFrom, argvs, volumes, opaqueVolumes };
}

/** Kubernetes `$(VAR)` expansion in env values, command and args (`$$` escapes). */
export function expandK8s(s: string, env: Map<string, EnvValue>): string {
    if (!s.includes("$(")) return s;
    return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (m, name: string | undefined) => {
        if (m === "$$") return "$";
        const v = env.get(name!);
        return v?.value !== undefined ? v.value : m;
    });
}

const SHELLS = /(^|\/)(sh|bash|ash|dash|zsh|ksh)$/;

/** Splits a command line: a shell `-c` script into its simple commands (quotes, `$VAR` expansion), else as is. */
export function splitCommands(argv: string[], env?: Map<string, EnvValue>): string[][] {
    const out: string[][] = [];
    let a = argv;
    // busybox sh -c …
    if (a.length > 1 && /(^|\/)busybox$/.test(a[0]) && SHELLS.test(a[1])) a = a.slice(1);
    if (a.length > 0 && SHELLS.test(a[0])) {
        const ci = a.findIndex((x, i) => i > 0 && /^-[a-z]*c[a-z]*$/.test(x));
        if (ci > 0 && ci + 1 < a.length) {
            for (const cmd of shellCommands(a[ci + 1], env)) out.push(cmd);
            return out;
        }
    }
    out.push(stripPrefixes(a));
    return out;
}

/** `exec`, `nohup`, `env A=B`, `A=B` prefixes do not change which program runs. */
function stripPrefixes(a: string[]): string[] {
    let i = 0;
    while (i < a.length) {
        const w = a[i];
        if (w === "exec" || w === "nohup" || w === "command" || w === "sudo" || w === "env" || /^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) i++;
        else break;
    }
    return a.slice(i);
}

/** A small POSIX-shell reader: words with quotes and escapes, `$VAR`/`${VAR}` from the env, commands split on ; & | && || newlines. */
export function shellCommands(script: string, env?: Map<string, EnvValue>): string[][] {
    const cmds: string[][] = [];
    let words: string[] = [];
    let cur = "";
    let inWord = false;
    const endWord = () => {
        if (inWord) words.push(cur);
        cur = "";
        inWord = false;
    };
    const endCmd = () => {
        endWord();
        if (words.length > 0) cmds.push(stripPrefixes(words));
        words = [];
    };
    const varValue = (name: string) => env?.get(name)?.value ?? "";
    const readVar = (i: number): [string, number] => {
        // at script[i] === "$"
        if (script[i + 1] === "{") {
            const end = script.indexOf("}", i + 2);
            if (end < 0) return ["$", i + 1];
            const inner = script.slice(i + 2, end);
            const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::?[-=]([^}]*))?/.exec(inner);
            if (!m) return ["", end + 1];
            const v = varValue(m[1]);
            return [v !== "" ? v : m[2] ?? "", end + 1];
        }
        const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(script.slice(i + 1));
        if (!m) return ["$", i + 1];
        return [varValue(m[0]), i + 1 + m[0].length];
    };
    for (let i = 0; i < script.length; ) {
        const ch = script[i];
        if (ch === "'") {
            const end = script.indexOf("'", i + 1);
            cur += script.slice(i + 1, end < 0 ? script.length : end);
            inWord = true;
            i = end < 0 ? script.length : end + 1;
        } else if (ch === '"') {
            inWord = true;
            let j = i + 1;
            while (j < script.length && script[j] !== '"') {
                if (script[j] === "\\" && j + 1 < script.length) {
                    cur += script[j + 1];
                    j += 2;
                } else if (script[j] === "$") {
                    const [v, n] = readVar(j);
                    cur += v;
                    j = n;
                } else cur += script[j++];
            }
            i = j + 1;
        } else if (ch === "\\") {
            if (script[i + 1] !== "\n") {
                cur += script[i + 1] ?? "";
                inWord = true;
            }
            i += 2;
        } else if (ch === "$") {
            const [v, n] = readVar(i);
            // Unquoted expansion is word-split.
            const parts = v.split(/\s+/);
            parts.forEach((p, k) => {
                if (k > 0) endWord();
                if (p !== "") {
                    cur += p;
                    inWord = true;
                }
            });
            i = n;
        } else if (ch === "#" && !inWord) {
            while (i < script.length && script[i] !== "\n") i++;
        } else if (ch === ";" || ch === "\n" || ch === "&" || ch === "|" || ch === "(" || ch === ")") {
            endCmd();
            i++;
        } else if (ch === " " || ch === "\t" || ch === "\r") {
            endWord();
            i++;
        } else {
            cur += ch;
            inWord = true;
            i++;
        }
    }
    endCmd();
    // `if`, `then`, `do` … open a command
    return cmds.map((c) => (["if", "then", "else", "do", "while", "until", "!", "{"].includes(c[0]) ? stripPrefixes(c.slice(1)) : c)).filter((c) => c.length > 0);
}

// ------------------------------------------------------------------------------------------------
// Node placement
// ------------------------------------------------------------------------------------------------

/** Node labels a pod spec requires: nodeSelector plus required node-affinity `In` terms with one value. */
export function requiredNodeLabels(spec: Obj): Obj {
    const out: Obj = { ...obj(spec.nodeSelector) };
    const terms = arr(get(spec, "affinity", "nodeAffinity", "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms"));
    if (terms.length === 1 && isObj(terms[0])) {
        for (const e of arr(terms[0].matchExpressions)) {
            if (isObj(e) && e.operator === "In" && arr(e.values).length === 1) out[String(e.key)] = String(arr(e.values)[0]);
        }
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// X.509 subject of a CSR (PKCS#10 PEM, possibly base64 of the PEM as Kubernetes stores it)
// ------------------------------------------------------------------------------------------------

const OID_CN = "550403";
const OID_O = "55040a";

/** Subject attributes (CN, O) of a PEM CSR; undefined when unreadable. */
export function csrSubject(text: string): { cn: string[]; o: string[] } | undefined {
    let pem = text;
    if (!pem.includes("-----BEGIN")) pem = b64(pem) ?? "";
    const m = /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([\s\S]*?)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(pem);
    if (!m) return undefined;
    const der = Buffer.from(m[1].replace(/\s+/g, ""), "base64");
    const read = (off: number) => {
        if (off + 2 > der.length) throw new Error("truncated");
        let len = der[off + 1];
        let hdr = 2;
        if (len & 0x80) {
            const n = len & 0x7f;
            if (n === 0 || n > 4) throw new Error("bad length");
            len = 0;
            for (let i = 0; i < n; i++) len = len * 256 + der[off + 2 + i];
            hdr += n;
        }
        const end = off + hdr + len;
        if (end > der.length) throw new Error("truncated");
        return { tag: der[off], start: off + hdr, end };
    };
    try {
        const request = read(0);
        const info = read(request.start);
        const version = read(info.start);
        const subject = read(version.end);
        if (subject.tag !== 0x30) return undefined;
        const out = { cn: [] as string[], o: [] as string[] };
        for (let off = subject.start; off < subject.end; ) {
            const set = read(off);
            for (let a = set.start; a < set.end; ) {
                const attr = read(a);
                const oid = read(attr.start);
                const value = read(oid.end);
                const id = der.subarray(oid.start, oid.end).toString("hex");
                const v = der.subarray(value.start, value.end).toString("utf8");
                if (id === OID_CN) out.cn.push(v);
                if (id === OID_O) out.o.push(v);
                a = attr.end;
            }
            off = set.end;
        }
        return out;
    } catch {
        return undefined;
    }
}
