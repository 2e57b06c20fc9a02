/**
 * What a Tailscale agent is and what it is configured to do, read from the Tailscale container contract rather
 * than from one image name:
 *
 *  - containerboot (tailscale/tailscale image, cmd/containerboot settings.go at v1.82.5) reads TS_AUTHKEY /
 *    TS_AUTH_KEY, TS_KUBE_SECRET, TS_STATE_DIR, TS_SOCKET, TS_ROUTES, TS_EXTRA_ARGS (→ `tailscale up`, split on
 *    white space), TS_TAILSCALED_EXTRA_ARGS (→ `tailscaled`), TS_DEST_IP / TS_EXPERIMENTAL_DEST_DNS_NAME (forward
 *    every tailnet connection to a cluster address), TS_TAILNET_TARGET_IP / _FQDN and TS_EGRESS_PROXIES_CONFIG_PATH
 *    (cluster → tailnet proxies), TS_SOCKS5_SERVER / TS_OUTBOUND_HTTP_PROXY_LISTEN, TS_SERVE_CONFIG and
 *    TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR (config files);
 *  - the binaries (`tailscale up|set|login|funnel`, `tailscaled`) take Go flags: `-f`, `--f`, `-f=v`, `--f=v`,
 *    `--f v` for value flags, `--f`, `--f=true|false` for booleans;
 *  - credentials: `tskey-auth-…` auth keys, `tskey-client-…` OAuth client secrets (TS_AUTHKEY accepts them with
 *    `?ephemeral=…&preauthorized=…` and mints keys itself), `tskey-api-…` API keys.
 */
import { containerConfig, ContainerConfig, DataObject, EnvValue, KubeData, podContainers, podSpecs, PodSpecRef } from "./k8s";
import { parseLooseJson } from "./formats";
import { COMPONENT_LABEL, get, isObj, labels, obj, Obj, StackRes } from "./util";
import * as ipaddr from "ipaddr.js";

export const TAILSCALE_IMAGE = /(^|\/)tailscale\/tailscale(:|@|$)/i;
export const TAILNET_KEY_TYPE = "tailscale:index/tailnetKey:TailnetKey";
export const OAUTH_CLIENT_TYPE = "tailscale:index/oauthClient:OauthClient";

/** Environment variables only containerboot reads (settings.go configFromEnv). */
export const CONTAINERBOOT_ENV: ReadonlySet<string> = new Set([
    "TS_AUTHKEY", "TS_AUTH_KEY", "TS_HOSTNAME", "TS_ROUTES", "TS_SERVE_CONFIG", "TS_DEST_IP", "TS_EXPERIMENTAL_DEST_DNS_NAME",
    "TS_TAILNET_TARGET_IP", "TS_TAILNET_TARGET_FQDN", "TS_TAILSCALED_EXTRA_ARGS", "TS_EXTRA_ARGS", "TS_USERSPACE", "TS_STATE_DIR",
    "TS_ACCEPT_DNS", "TS_KUBE_SECRET", "TS_SOCKS5_SERVER", "TS_OUTBOUND_HTTP_PROXY_LISTEN", "TS_SOCKET", "TS_AUTH_ONCE",
    "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", "TS_EXPERIMENTAL_ENABLE_FORWARDING_OPTIMIZATIONS", "TS_HEALTHCHECK_ADDR_PORT",
    "TS_LOCAL_ADDR_PORT", "TS_ENABLE_METRICS", "TS_ENABLE_HEALTH_CHECK", "TS_DEBUG_ADDR_PORT", "TS_EGRESS_PROXIES_CONFIG_PATH",
    "TS_EXPERIMENTAL_CERT_SHARE", "EXPERIMENTAL_ALLOW_PROXYING_CLUSTER_TRAFFIC_VIA_INGRESS",
]);

/** The containerboot variables that make a container a Tailscale node by themselves (others count in pairs). */
const IDENTITY_ENV: ReadonlySet<string> = new Set([
    "TS_AUTHKEY", "TS_AUTH_KEY", "TS_KUBE_SECRET", "TS_STATE_DIR", "TS_SOCKET", "TS_EXTRA_ARGS", "TS_TAILSCALED_EXTRA_ARGS",
    "TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR", "TS_SERVE_CONFIG", "TS_DEST_IP", "TS_TAILNET_TARGET_IP", "TS_TAILNET_TARGET_FQDN",
]);

/** Boolean flags of `tailscale up/set/login` (cmd/tailscale/cli/up.go) and `tailscaled`; every other flag takes a value. */
const BOOL_FLAGS: ReadonlySet<string> = new Set([
    "qr", "accept-routes", "accept-dns", "exit-node-allow-lan-access", "shields-up", "ssh", "advertise-connector", "advertise-exit-node",
    "posture-checking", "snat-subnet-routes", "stateful-filtering", "unattended", "json", "reset", "force-reauth", "webclient",
    "auto-update", "update-check", "report-posture", "host-routes", "cleanup", "version", "no-logs-no-support", "encrypt-state", "bg", "yes",
]);

export interface Invocation {
    program: "tailscale" | "tailscaled" | "containerboot";
    sub?: string;
    flags: Map<string, string[]>;
    positional: string[];
}

const base = (p: string) => p.slice(p.lastIndexOf("/") + 1);

/** Go flag parsing, leniently (flags after positionals are read too). */
export function parseFlags(args: string[]): { flags: Map<string, string[]>; positional: string[] } {
    const flags = new Map<string, string[]>();
    const positional: string[] = [];
    const add = (k: string, v: string) => {
        const l = flags.get(k);
        if (l) l.push(v);
        else flags.set(k, [v]);
    };
    for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === "--") {
            positional.push(...args.slice(i + 1));
            break;
        }
        const m = /^--?([A-Za-z0-9][A-Za-z0-9_-]*)(?:=([\s\S]*))?$/.exec(a);
        if (!m) {
            positional.push(a);
            continue;
        }
        const name = m[1].toLowerCase();
        if (m[2] !== undefined) add(name, m[2]);
        else if (BOOL_FLAGS.has(name)) add(name, "true");
        else if (i + 1 < args.length) add(name, args[++i]);
        else add(name, "");
    }
    return { flags, positional };
}

/** Tailscale programs a command line runs. */
export function invocations(argv: string[], agent = false): Invocation[] {
    if (argv.length === 0) return [];
    const p = base(argv[0]);
    // In an agent container, args without a command look like the tailscale CLI's (the image's entrypoint is
    // containerboot, which ignores them — judged as written, fail-closed).
    if (agent && ["up", "set", "login", "funnel", "serve"].includes(p)) return [{ program: "tailscale", sub: p, ...parseFlags(argv.slice(1)) }];
    if (p === "tailscaled") return [{ program: "tailscaled", ...parseFlags(argv.slice(1)) }];
    if (p === "containerboot") return [{ program: "containerboot", flags: new Map(), positional: [] }];
    if (p === "tailscale") {
        // global flags (--socket) may precede the subcommand
        let i = 1;
        while (i < argv.length && argv[i].startsWith("-")) i += argv[i].includes("=") ? 1 : 2;
        const sub = argv[i];
        return [{ program: "tailscale", sub, ...parseFlags(argv.slice(i + 1)) }];
    }
    return [];
}

const truthy = (v: string | undefined) => v !== undefined && /^(1|t|true|y|yes|on)$/i.test(v.trim());
const last = (m: Map<string, string[]>, ...names: string[]) => {
    let out: string | undefined;
    for (const n of names) {
        const l = m.get(n);
        if (l && l.length > 0) out = l[l.length - 1];
    }
    return out;
};

/** Classifies a credential value; undefined when it is nothing special. */
export function credentialKind(v: string, inline: boolean): string | undefined {
    if (/tskey-client-/.test(v)) return "an OAuth client secret (tskey-client-…), which mints auth keys for every tag its client owns";
    if (/tskey-api-/.test(v)) return "an API key (tskey-api-…), which can mint auth keys and change the tailnet";
    if (/^tskey-[^?]*\?/.test(v.trim()) && /[?&](ephemeral|preauthorized|baseURL)=/.test(v)) return "an OAuth client secret in the `?ephemeral=…&preauthorized=…` form, which mints its own auth keys";
    if (inline && /tskey-auth-/.test(v)) return "an auth key written into the workload spec (readable by anyone who can read the workload; its tags and expiry are not the stack's)";
    return undefined;
}

/** Does a container look like a Tailscale agent? Returns the evidence (empty = no). */
export function agentEvidence(cfg: ContainerConfig, authKeySecret: (o: DataObject | undefined) => boolean): string[] {
    const out: string[] = [];
    if (cfg.image && TAILSCALE_IMAGE.test(cfg.image)) out.push(`image ${cfg.image}`);
    const envNames = [...cfg.env.keys()].filter((n) => CONTAINERBOOT_ENV.has(n));
    if (envNames.some((n) => IDENTITY_ENV.has(n)) || envNames.length >= 2) out.push(`containerboot env ${envNames.slice(0, 3).join(", ")}`);
    for (const argv of cfg.argvs) {
        for (const inv of invocations(argv)) {
            if (inv.program !== "tailscale" || ["up", "login", "set", "serve", "funnel"].includes(inv.sub ?? "")) out.push(`runs ${inv.program}${inv.sub ? " " + inv.sub : ""}`);
        }
    }
    for (const [name, v] of cfg.env) {
        if (v.value !== undefined && /^tskey-(auth|client)-/.test(v.value.trim())) out.push(`${name} holds a Tailscale key`);
        else if (v.from && authKeySecret(v.from)) out.push(`${name} comes from the auth-key ${v.from.kind} ${v.from.name ?? v.from.res.name}`);
    }
    for (const o of cfg.volumes) if (authKeySecret(o)) out.push(`mounts the auth-key ${o.kind} ${o.name ?? o.res.name}`);
    return out;
}

export interface Problem {
    text: string;
    /** The problem is visible in the pod spec alone (no ConfigMap/Secret join needed). */
    inline: boolean;
    /** A credential that mints keys (OAuth client secret, API key), rather than a route into the VPC or an exposure. */
    credential?: true;
}

function routesText(v: string): string | undefined {
    const routes = v.split(",").map((r) => r.trim()).filter(Boolean);
    if (routes.length === 0) return undefined;
    const exit = routes.some((r) => r === "0.0.0.0/0" || r === "::/0");
    return exit ? `advertises ${routes.join(",")} (an exit node)` : `advertises subnet routes ${routes.join(",")} (a subnet router)`;
}

/** Problems of `tailscale up/set/login` flags (also TS_EXTRA_ARGS). */
function cliFlagProblems(flags: Map<string, string[]>, where: string, inline: boolean, out: Problem[]) {
    const r = last(flags, "advertise-routes");
    if (r !== undefined) {
        const t = routesText(r);
        if (t) out.push({ text: `${where} ${t}`, inline });
    }
    if (truthy(last(flags, "advertise-exit-node"))) out.push({ text: `${where} advertises an exit node (--advertise-exit-node)`, inline });
    if (truthy(last(flags, "ssh"))) out.push({ text: `${where} runs a Tailscale SSH server (--ssh): a shell on the agent reaches the whole VPC`, inline });
    const key = last(flags, "auth-key", "authkey");
    if (key !== undefined) {
        const k = credentialKind(key, inline);
        if (k) out.push({ text: `${where} logs in with ${k}`, inline, credential: true });
    }
}

function daemonFlagProblems(flags: Map<string, string[]>, where: string, inline: boolean, out: Problem[]) {
    for (const f of ["socks5-server", "outbound-http-proxy-listen"]) {
        const v = last(flags, f);
        if (v !== undefined && v.trim() !== "") out.push({ text: `${where} listens as a proxy into the tailnet (--${f}=${v})`, inline });
    }
}

const envInline = (v: EnvValue) => v.inline;
const src = (v: EnvValue) => (v.inline ? "" : ` (from ${v.source})`);

/**
 * What a Tailscale container is configured to do beyond management: routes, exit node, SSH, Funnel, forwarding
 * into the VPC, proxies from the cluster into the tailnet, credentials that mint keys.
 */
export function containerProblems(cfg: ContainerConfig, agent: boolean): Problem[] {
    const out: Problem[] = [];
    const env = cfg.env;
    if (agent) {
        const routes = env.get("TS_ROUTES");
        if (routes) {
            if (routes.unknown) out.push({ text: `TS_ROUTES comes from ${routes.source}, which cannot be read, so the agent may be a subnet router`, inline: envInline(routes) });
            else if (routes.value !== undefined) {
                const t = routesText(routes.value);
                if (t) out.push({ text: `TS_ROUTES${src(routes)} ${t}`, inline: envInline(routes) });
            }
        }
        const extra = env.get("TS_EXTRA_ARGS");
        if (extra?.value) cliFlagProblems(parseFlags(extra.value.trim().split(/\s+/)).flags, `TS_EXTRA_ARGS${src(extra)}`, envInline(extra), out);
        const dextra = env.get("TS_TAILSCALED_EXTRA_ARGS");
        if (dextra?.value) daemonFlagProblems(parseFlags(dextra.value.trim().split(/\s+/)).flags, `TS_TAILSCALED_EXTRA_ARGS${src(dextra)}`, envInline(dextra), out);
        for (const name of ["TS_DEST_IP", "TS_EXPERIMENTAL_DEST_DNS_NAME"]) {
            const v = env.get(name);
            if (v && (v.unknown || (v.value ?? "").trim() !== "")) out.push({ text: `${name}${src(v)} forwards every tailnet connection to ${v.value ?? "an address"} inside the VPC`, inline: envInline(v) });
        }
        for (const name of ["TS_TAILNET_TARGET_IP", "TS_TAILNET_TARGET_FQDN", "TS_EGRESS_PROXIES_CONFIG_PATH", "TS_SOCKS5_SERVER", "TS_OUTBOUND_HTTP_PROXY_LISTEN"]) {
            const v = env.get(name);
            if (v && (v.unknown || (v.value ?? "").trim() !== "")) out.push({ text: `${name}${src(v)} makes the agent a proxy from the cluster into the tailnet`, inline: envInline(v) });
        }
        const ing = env.get("EXPERIMENTAL_ALLOW_PROXYING_CLUSTER_TRAFFIC_VIA_INGRESS");
        if (ing && truthy(ing.value)) out.push({ text: `EXPERIMENTAL_ALLOW_PROXYING_CLUSTER_TRAFFIC_VIA_INGRESS${src(ing)} proxies cluster traffic through the agent`, inline: envInline(ing) });
        for (const argv of cfg.argvs) {
            for (const inv of invocations(argv, true)) {
                const where = `its command line (${inv.program}${inv.sub ? " " + inv.sub : ""})`;
                if (inv.program === "tailscaled") daemonFlagProblems(inv.flags, where, true, out);
                else if (inv.program === "tailscale") {
                    if (inv.sub === "up" || inv.sub === "set" || inv.sub === "login") cliFlagProblems(inv.flags, where, true, out);
                    if (inv.sub === "funnel" && !inv.positional.some((p) => p === "off" || p === "reset" || p === "status")) out.push({ text: `${where} opens Tailscale Funnel (public internet ingress)`, inline: true });
                    if (inv.sub === "serve" && (inv.positional[0] === "funnel" || truthy(last(inv.flags, "funnel")))) out.push({ text: `${where} opens Tailscale Funnel (public internet ingress)`, inline: true });
                }
            }
        }
        // Config files the agent reads from mounted ConfigMaps/Secrets (serve config, tailscaled config).
        if (env.has("TS_SERVE_CONFIG") || env.has("TS_EXPERIMENTAL_VERSIONED_CONFIG_DIR")) {
            for (const o of cfg.volumes) {
                for (const [k, v] of o.data) {
                    for (const p of configFileProblems(v)) out.push({ text: `${o.kind} ${o.name ?? o.res.name} (${k}), read by the agent, ${p}`, inline: false });
                }
            }
        }
    }
    // Credentials that can mint keys, in any container of the data plane.
    for (const [name, v] of env) {
        if (v.value === undefined) continue;
        const auth = name === "TS_AUTHKEY" || name === "TS_AUTH_KEY";
        const k = credentialKind(v.value, v.inline && auth);
        if (k && (auth || !/auth key written/.test(k))) out.push({ text: `${name}${src(v)} holds ${k}`, inline: envInline(v), credential: true });
    }
    return out;
}

/** Problems in a Tailscale serve config or tailscaled config file (JSON/HuJSON text). */
export function configFileProblems(text: string): string[] {
    if (!/AllowFunnel|AdvertiseRoutes|RunSSHServer/.test(text)) return [];
    const doc = parseLooseJson(text);
    if (!isObj(doc)) return [];
    const out: string[] = [];
    const funnel = (o: unknown) => isObj(o) && isObj(o.AllowFunnel) && Object.values(o.AllowFunnel).some((v) => v === true);
    if (funnel(doc) || funnel(doc.ServeConfigTemp)) out.push("opens Tailscale Funnel (AllowFunnel: public internet ingress)");
    if (Array.isArray(doc.AdvertiseRoutes) && doc.AdvertiseRoutes.length > 0) {
        const t = routesText(doc.AdvertiseRoutes.map(String).join(","));
        if (t) out.push(t);
    }
    if (doc.RunSSHServer === true) out.push("runs a Tailscale SSH server (RunSSHServer)");
    return out;
}

// ------------------------------------------------------------------------------------------------
// Tailnet policy file (acls, grants, ssh, autoApprovers, nodeAttrs)
// ------------------------------------------------------------------------------------------------

export interface AclContext {
    /** Tags of the stack's data-plane devices; empty = unknown, every tag counts. */
    dataPlaneTags: ReadonlySet<string>;
    /** On-call groups; empty = none known (every group source is reported). */
    oncall: ReadonlySet<string>;
    allowed: ReadonlySet<string>;
    /** The stack's VPC CIDRs: a destination inside them is a route into the VPC. */
    vpcCidrs: string[];
}

const TAILNET_RANGES: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [ipaddr.parseCIDR("100.64.0.0/10"), ipaddr.parseCIDR("fd7a:115c:a1e0::/48")];

/** Lower-cases keys (Go's encoding/json matches field names case-insensitively). */
function lowerKeys(o: Obj): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) out[k.toLowerCase()] = v;
    return out;
}
const list = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x) => typeof x === "string") : typeof v === "string" ? [v] : []);

/** `host:ports` of an acls[] destination → host (IPv6 in brackets, `tag:x:*`, `10.0.0.0/8:22`, `autogroup:internet:*`). */
export function aclHost(dst: string): string {
    if (dst.startsWith("[")) {
        const end = dst.indexOf("]");
        if (end < 0) return dst;
        const rest = /^(\/\d+)?/.exec(dst.slice(end + 1))![0]; // `[fd7a::]/48:22`
        return dst.slice(1, end) + rest;
    }
    if (dst === "*") return dst;
    const i = dst.lastIndexOf(":");
    if (i > 0 && /^[\d*,\-]+$/.test(dst.slice(i + 1))) return dst.slice(0, i);
    return dst;
}

function parseCidrish(s: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
    try {
        if (s.includes("/")) return ipaddr.parseCIDR(s);
        const a = ipaddr.parse(s);
        return [a, a.kind() === "ipv4" ? 32 : 128];
    } catch {
        return undefined;
    }
}
function overlaps(a: [ipaddr.IPv4 | ipaddr.IPv6, number], b: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
    if (a[0].kind() !== b[0].kind()) return false;
    const bits = Math.min(a[1], b[1]);
    return (a[0] as any).match(b[0], bits);
}

export function tailnetPolicyProblems(doc: unknown, ctx: AclContext): string[] {
    if (!isObj(doc)) return ["the policy file is not a JSON object"];
    const d = lowerKeys(doc);
    const hosts = isObj(d.hosts) ? d.hosts : {};
    const everyTag = ctx.dataPlaneTags.size === 0;
    /** Why a destination host reaches data-plane devices or the VPC; undefined = it does not. */
    const reach = (host: string): string | undefined => {
        if (host === "*" || host === "autogroup:danger-all") return `${host} (every device)`;
        if (host === "autogroup:tagged") return `${host} (every tagged device)`;
        if (host.startsWith("tag:")) return everyTag || ctx.dataPlaneTags.has(host) ? host : undefined;
        if (host.startsWith("autogroup:") || host.startsWith("group:") || host.includes("@")) return undefined;
        const target = typeof hosts[host] === "string" ? String(hosts[host]) : host;
        const c = parseCidrish(target);
        if (!c) return undefined;
        const label = target === host ? host : `${host} (${target})`;
        if (TAILNET_RANGES.some((t) => t[0].kind() === c[0].kind() && c[1] <= t[1] && overlaps(c, t))) return `${label} (the whole tailnet address range)`;
        for (const v of ctx.vpcCidrs) {
            const vc = parseCidrish(v);
            if (vc && overlaps(c, vc)) return `${label} (inside the VPC ${v}, through a subnet route)`;
        }
        return undefined;
    };
    const sourceOk = (s: string) => ctx.allowed.has(s) || ctx.oncall.has(s);
    const out: string[] = [];
    const noOncall = ctx.oncall.size === 0 ? " (no on-call group is configured: set oncallGroups)" : "";
    const checkRule = (kind: string, i: number, srcs: string[], targets: string[]) => {
        const reached = [...new Set(targets.map(reach).filter((x): x is string => !!x))];
        if (reached.length === 0) return;
        const bad = srcs.filter((s) => !sourceOk(s));
        if (bad.length > 0) out.push(`${kind}[${i}] lets ${bad.map((b) => JSON.stringify(b)).join(", ")} reach ${reached.join(", ")}${bad.some((b) => b.startsWith("group:")) ? noOncall : ""}`);
    };
    (Array.isArray(d.acls) ? d.acls : []).forEach((a: unknown, i: number) => {
        if (!isObj(a)) return;
        const r = lowerKeys(a);
        const srcs = [...list(r.src), ...list(r.users)];
        const dsts = [...list(r.dst), ...list(r.ports)].map(aclHost);
        checkRule("acls", i, srcs, dsts);
    });
    (Array.isArray(d.grants) ? d.grants : []).forEach((g: unknown, i: number) => {
        if (!isObj(g)) return;
        const r = lowerKeys(g);
        checkRule("grants", i, list(r.src), list(r.dst));
    });
    (Array.isArray(d.ssh) ? d.ssh : []).forEach((s: unknown, i: number) => {
        if (!isObj(s)) return;
        const r = lowerKeys(s);
        const reached = [...new Set(list(r.dst).map(reach).filter((x): x is string => !!x))];
        if (reached.length > 0) out.push(`ssh[${i}] grants Tailscale SSH (${String(r.action ?? "accept")}) from ${list(r.src).join(", ") || "?"} to ${reached.join(", ")}: a shell on a data-plane device reaches the VPC`);
    });
    (Array.isArray(d.nodeattrs) ? d.nodeattrs : []).forEach((n: unknown, i: number) => {
        if (!isObj(n)) return;
        const r = lowerKeys(n);
        if (!list(r.attr).some((a) => a.toLowerCase() === "funnel")) return;
        const reached = [...new Set(list(r.target).map(reach).filter((x): x is string => !!x))];
        if (reached.length > 0) out.push(`nodeAttrs[${i}] allows Tailscale Funnel (public internet ingress) on ${reached.join(", ")}`);
    });
    if (isObj(d.autoapprovers)) {
        const aa = lowerKeys(d.autoapprovers);
        const approvers = (l: unknown) => [...new Set(list(l).map(reach).filter((x): x is string => !!x))];
        if (isObj(aa.routes)) {
            for (const [cidr, who] of Object.entries(aa.routes)) {
                const r = approvers(who);
                if (r.length > 0) out.push(`autoApprovers.routes approves ${cidr} advertised by ${r.join(", ")} without review`);
            }
        }
        const ex = approvers(aa.exitnode);
        if (ex.length > 0) out.push(`autoApprovers.exitNode approves exit nodes advertised by ${ex.join(", ")} without review`);
    }
    return out;
}

// ------------------------------------------------------------------------------------------------
// Workloads as agents
// ------------------------------------------------------------------------------------------------

/** The authors' own `tailscale-agent` component label, on the object or its pods. */
function labelledAgent(props: Obj, ps: PodSpecRef): boolean {
    return labels(props)[COMPONENT_LABEL] === "tailscale-agent" || ps.labels[COMPONENT_LABEL] === "tailscale-agent" || ps.tailscale === true;
}

/** Secret/ConfigMap that holds a Tailscale key (minted by the stack, or literally). */
export function holdsAuthKey(o: DataObject | undefined): boolean {
    if (!o) return false;
    if (o.sources.has(TAILNET_KEY_TYPE) || o.sources.has(OAUTH_CLIENT_TYPE)) return true;
    for (const v of o.data.values()) if (/^\s*tskey-(auth|client)-/.test(v)) return true;
    return false;
}

export interface WorkloadView {
    ps: PodSpecRef;
    containers: { cfg: ContainerConfig; evidence: string[] }[];
    agent: boolean;
}

/** A workload's pod specs with each container's configuration and Tailscale evidence (joined when `kd` is given). */
export function workloadViews(type: string, props: Obj, ns: string, r: StackRes | undefined, kd: KubeData | undefined): WorkloadView[] {
    const out: WorkloadView[] = [];
    for (const ps of podSpecs(type, props)) {
        const containers = podContainers(ps.spec).map((ref) => {
            const cfg = containerConfig(ref, ps.spec, ns, r, kd);
            return { cfg, evidence: agentEvidence(cfg, holdsAuthKey) };
        });
        out.push({ ps, containers, agent: labelledAgent(props, ps) || containers.some((c) => c.evidence.length > 0) });
    }
    return out;
}


/** Does any pod spec reference ConfigMaps/Secrets (envFrom, valueFrom, volumes)? Only then can a join change a view. */
export function referencesData(views: WorkloadView[]): boolean {
    for (const v of views) {
        for (const vol of Array.isArray(v.ps.spec.volumes) ? v.ps.spec.volumes : []) {
            if (isObj(vol) && (vol.configMap !== undefined || vol.secret !== undefined || vol.projected !== undefined)) return true;
        }
        for (const { cfg } of v.containers) {
            if (cfg.opaqueEnvFrom.length > 0) return true;
            for (const e of cfg.env.values()) if (!e.inline) return true;
        }
    }
    return false;
}

const inlineCache = new WeakMap<object, WorkloadView[]>();
/** workloadViews without joins, computed once per resource (the resource and stack halves of two rules share it). */
export function inlineWorkloadViews(type: string, props: Obj): WorkloadView[] {
    let v = inlineCache.get(props);
    if (!v) {
        v = workloadViews(type, props, "*", undefined, undefined);
        inlineCache.set(props, v);
    }
    return v;
}

// ------------------------------------------------------------------------------------------------
// Tailscale operator proxies (the operator runs a proxy of its own for these objects)
// ------------------------------------------------------------------------------------------------

/** A Service the operator exposes on the tailnet (`tailscale.com/expose: "true"` or `loadBalancerClass: tailscale`). */
export function serviceExposedOnTailnet(props: Obj): boolean {
    const ann = obj(get(props, "metadata", "annotations"));
    return String(ann["tailscale.com/expose"]).toLowerCase() === "true" || get(props, "spec", "loadBalancerClass") === "tailscale";
}

/** A Service the operator backs with an egress proxy to a tailnet target (`tailscale.com/tailnet-fqdn` / `tailnet-ip`). */
export function serviceIsTailnetEgress(props: Obj): boolean {
    const ann = obj(get(props, "metadata", "annotations"));
    return typeof ann["tailscale.com/tailnet-fqdn"] === "string" || typeof ann["tailscale.com/tailnet-ip"] === "string";
}

/** An Ingress of the operator's `tailscale` class (spec.ingressClassName, or the older kubernetes.io/ingress.class annotation). */
export function ingressOfTailscaleClass(props: Obj): boolean {
    return (get(props, "spec", "ingressClassName") ?? get(props, "metadata", "annotations", "kubernetes.io/ingress.class")) === "tailscale";
}
