/**
 * time-bound-access — human troubleshooting access is approved, time-bound and read-only: client certificates
 * (however issued) live no longer than the environment's cap (prod 8 h, dev 24 h), the ClickHouse users they map
 * to (however defined) are read-only on system tables only, and engineers' Kubernetes access (however granted) is
 * view-only.
 *
 * Resource half: tls Self/LocallySignedCert that can authenticate a client (client_auth, any_extended, or no
 * extended usage at all), cert-manager Certificates / CertificateRequests with `client auth` / `any`, ACM PCA
 * certificates on a client-capable template, Kubernetes CSRs for the kube-apiserver-client signer; ClickHouse users
 * in users.d XML or YAML (ConfigMap/Secret data, the Altinity operator's ClickHouseInstallation(Template)
 * configuration.users/profiles/files); EKS access policy associations, access entries / eks.Cluster accessEntries,
 * roleMappings, userMappings and the aws-auth ConfigMap(Patch) in system:masters; RBAC bindings of users/groups to
 * cluster-admin/admin/edit; OIDC identity providers whose names are not prefixed.
 * Stack half (joins): bindings of users/groups to the stack's own Roles/ClusterRoles that do more than view
 * (wildcards, writes, escalate/bind/impersonate, secrets, exec/attach/proxy); access entries, mappings and
 * aws-auth groups bound that way; cert-manager Certificates without usages (no EKU = any use) from a non-ACME issuer.
 */
import type { ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { XMLParser } from "fast-xml-parser";
import { parseYaml } from "./formats";
import { csrSubject, namespaceKey, objectData } from "./k8s";
import { arr, envOf, environmentSchema, get, isObj, isUnknown, k8sType, labels, num, obj, Obj, raw, StackRes, str } from "./util";

export const LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";
export const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
export const ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";
export const ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry";
export const EKS_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
export const CERT_HOURS_CAP = { prod: 8, dev: 24 } as const;
const ACMPCA_CERT = "aws:acmpca/certificate:Certificate";
const IDP_CONFIG = "aws:eks/identityProviderConfig:IdentityProviderConfig";
const EKS_COMPONENT = "eks:index:Cluster";
const RBAC = "rbac.authorization.k8s.io";

interface Cfg {
    environment?: string;
    maxCertificateHours?: number;
    allowedAccessPolicies?: string[];
    exemptPrincipalArns?: string[];
    exemptSubjects?: string[];
}

/** Go duration ("8h", "1h30m", "2160h0m0s") → hours; undefined if unparseable. */
export function durationHours(d: string): number | undefined {
    const re = /(\d+(?:\.\d+)?)(h|m|s|ms|us|µs|ns)/g;
    let total = 0;
    let consumed = 0;
    for (let m = re.exec(d); m; m = re.exec(d)) {
        const v = Number(m[1]);
        total += m[2] === "h" ? v : m[2] === "m" ? v / 60 : m[2] === "s" ? v / 3600 : 0;
        consumed += m[0].length;
    }
    return consumed === d.trim().length && consumed > 0 ? total : undefined;
}

// ------------------------------------------------------------------------------------------------
// ClickHouse users: one model from users.d XML, users.d YAML and the Altinity CHI configuration
// ------------------------------------------------------------------------------------------------

interface ChUser {
    name: string;
    profile: string;
    queries: string[];
    allowDatabases: string[];
    flags: Obj;
    cert: boolean;
}
interface ChModel {
    users: ChUser[];
    /** profile → its readonly setting */
    profiles: Map<string, string>;
}

const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === "query" || name === "database" });
const READONLY_GRANT = /^\s*GRANT\s+SELECT(\s*\([^)]*\))?\s+ON\s+system\.(\*|`?[A-Za-z0-9_]+`?)\s*;?\s*$/i;

/** Every `query` string under a grants element, however nested (XML lists, YAML maps or lists). */
function grantQueries(g: unknown): string[] {
    const out: string[] = [];
    const walk = (v: unknown, key: string) => {
        if (typeof v === "string" || typeof v === "number") {
            if (key === "query") out.push(String(v));
        } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
        else if (isObj(v)) {
            if (typeof v["#text"] === "string" && key === "query") out.push(v["#text"]);
            for (const [k, x] of Object.entries(v)) if (k !== "#text" && !k.startsWith("@_")) walk(x, k);
        }
    };
    walk(g, "grants");
    return out;
}
function stringsUnder(v: unknown): string[] {
    if (typeof v === "string") return [v];
    if (Array.isArray(v)) return v.flatMap(stringsUnder);
    if (isObj(v)) return Object.entries(v).filter(([k]) => !k.startsWith("@_")).flatMap(([, x]) => stringsUnder(x));
    return [];
}

function modelFrom(root: Obj): ChModel {
    const profiles = new Map<string, string>();
    for (const [name, p] of Object.entries(isObj(root.profiles) ? root.profiles : {})) {
        if (isObj(p)) profiles.set(name, String(p.readonly ?? "0").trim());
    }
    const users: ChUser[] = [];
    for (const [name, u] of Object.entries(isObj(root.users) ? root.users : {})) {
        if (!isObj(u)) continue;
        users.push({
            name,
            profile: str(u.profile) ?? "default",
            queries: u.grants === undefined ? [] : grantQueries(u.grants),
            allowDatabases: stringsUnder(u.allow_databases),
            flags: u,
            cert: u.ssl_certificates !== undefined,
        });
    }
    return { users, profiles };
}

/** The Altinity operator's flat `user/key/subkey` form (and nested maps) → nested objects. */
export function unflatten(o: Obj): Obj {
    const out: Obj = {};
    for (const [k, v] of Object.entries(o)) {
        const parts = k.split("/").filter(Boolean);
        let cur = out;
        for (let i = 0; i < parts.length - 1; i++) {
            if (!isObj(cur[parts[i]])) cur[parts[i]] = {};
            cur = cur[parts[i]];
        }
        const leaf = parts[parts.length - 1] ?? k;
        cur[leaf] = isObj(v) && !("valueFrom" in v) ? { ...(isObj(cur[leaf]) ? cur[leaf] : {}), ...unflatten(v) } : v;
    }
    return out;
}

function userProblems(m: ChModel, allUsers: boolean): string[] {
    const out: string[] = [];
    for (const u of m.users) {
        if (!allUsers && !u.cert) continue;
        const defined = m.profiles.get(u.profile);
        const ro = defined ?? (u.profile === "readonly" ? "1" : "0");
        if (ro !== "1" && ro !== "2") out.push(`user '${u.name}' uses profile '${u.profile}', which is not read-only`);
        if (u.queries.length === 0 && !(u.allowDatabases.length > 0 && u.allowDatabases.every((d) => d.trim() === "system"))) {
            out.push(`user '${u.name}' has no <grants>, so it can read every database`);
        }
        for (const q of u.queries) if (!READONLY_GRANT.test(q)) out.push(`user '${u.name}' has grant "${q.trim()}" (only SELECT ON system.* is allowed)`);
        for (const flag of ["access_management", "named_collection_control", "show_named_collections_secrets"]) {
            if (String(u.flags[flag] ?? "0").trim() === "1") out.push(`user '${u.name}' has ${flag} enabled`);
        }
    }
    return out;
}

/** Problems in a ClickHouse users.d XML document, for every user (troubleshooting) or cert-authenticated users. */
export function clickhouseUserProblems(text: string, allUsers: boolean): string[] {
    let doc: Obj;
    try {
        doc = xml.parse(text) as Obj;
    } catch (e) {
        return [`users XML cannot be parsed (${(e as Error).message})`];
    }
    const root = isObj(doc.clickhouse) ? doc.clickhouse : isObj(doc.yandex) ? doc.yandex : undefined;
    if (!root) return allUsers ? ["users XML has no <clickhouse> root"] : [];
    return userProblems(modelFrom(root), allUsers);
}

/** The same for a users.d YAML document (ClickHouse reads `users:` / `profiles:` at the top level). */
export function clickhouseYamlUserProblems(text: string, allUsers: boolean): string[] {
    let doc: unknown;
    try {
        doc = parseYaml(text);
    } catch (e) {
        return allUsers ? [`users YAML cannot be parsed (${(e as Error).message.split("\n")[0]})`] : [];
    }
    if (!isObj(doc)) return [];
    const root = isObj(doc.clickhouse) ? doc.clickhouse : doc;
    return userProblems(modelFrom(root), allUsers);
}

/**
 * Certificate-authenticated users (`ssl_certificates`: how troubleshooting grants log in) of a users.d XML or YAML
 * document, or of an Altinity CHI `configuration.users` map; [] when there are none or the text is no users file.
 */
export function clickhouseCertUsers(doc: string | Obj): string[] {
    let root: Obj | undefined;
    if (typeof doc !== "string") root = { users: unflatten(doc) };
    else if (/<users>/.test(doc)) {
        if (!/<ssl_certificates>/.test(doc)) return [];
        try {
            const x = xml.parse(doc) as Obj;
            root = isObj(x.clickhouse) ? x.clickhouse : isObj(x.yandex) ? x.yandex : undefined;
        } catch {
            return [];
        }
    } else if (/^\s*users\s*:/m.test(doc) && /ssl_certificates/.test(doc)) {
        try {
            const y = parseYaml(doc);
            root = isObj(y) ? (isObj(y.clickhouse) ? y.clickhouse : y) : undefined;
        } catch {
            return [];
        }
    }
    if (!root) return [];
    return modelFrom(root).users.filter((u) => u.cert).map((u) => u.name);
}

/** ClickHouse users config in a text value (file name decides when it can): problems or undefined (not a users file). */
function usersFileProblems(value: string, allUsers: boolean): string[] | undefined {
    if (/<users>/.test(value)) {
        if (!allUsers && !/<ssl_certificates>/.test(value)) return undefined;
        return clickhouseUserProblems(value, allUsers);
    }
    // YAML users files are recognised by their content (a `users:` map), whatever the data key is called.
    if (/^\s*users\s*:/m.test(value)) {
        if (!allUsers && !/ssl_certificates/.test(value)) return undefined;
        return clickhouseYamlUserProblems(value, allUsers);
    }
    return undefined;
}

// ------------------------------------------------------------------------------------------------
// Client certificates
// ------------------------------------------------------------------------------------------------

const EXTENDED_USES = new Set([
    "server_auth", "client_auth", "code_signing", "email_protection", "ipsec_end_system", "ipsec_tunnel", "ipsec_user", "timestamping", "ocsp_signing",
    "microsoft_server_gated_crypto", "netscape_server_gated_crypto", "microsoft_commercial_code_signing", "microsoft_kernel_code_signing", "any_extended",
]);

/** A tls certificate can authenticate a client: client_auth, any_extended, or no extended key usage at all (any purpose), unless it is a CA. */
export function tlsClientCapable(p: Obj): "explicit" | "no-eku" | undefined {
    if (isUnknown(p.allowedUses)) return undefined;
    const uses = arr(p.allowedUses).map(String);
    if (uses.includes("client_auth") || uses.includes("any_extended")) return "explicit";
    if (p.isCaCertificate === true || p.isCaCertificate === "true" || uses.includes("cert_signing")) return undefined;
    return uses.some((u) => EXTENDED_USES.has(u)) ? undefined : "no-eku";
}

/** ACM PCA certificate validity in hours (relative types) or from now (absolute); undefined when unreadable. */
function acmpcaHours(v: unknown, now: number): number | undefined {
    const t = String(get(v, "type") ?? "").toUpperCase();
    const raw0 = get(v, "value");
    if (isUnknown(raw0)) return undefined;
    const value = num(raw0);
    switch (t) {
        case "HOURS":
            return value;
        case "DAYS":
            return value === undefined ? undefined : value * 24;
        case "MONTHS":
            return value === undefined ? undefined : value * 730;
        case "YEARS":
            return value === undefined ? undefined : value * 8760;
        case "ABSOLUTE":
            return value === undefined ? undefined : (value * 1000 - now) / 3_600_000;
        case "END_DATE": {
            const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(String(raw0));
            return m ? (Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) - now) / 3_600_000 : undefined;
        }
        default:
            return undefined;
    }
}
/** ACM PCA templates that put clientAuth in the certificate (EndEntityCertificate, the default, has both). */
function acmpcaClientTemplate(arn: unknown): boolean {
    if (isUnknown(arn)) return false;
    const a = str(arn) ?? "arn:aws:acm-pca:::template/EndEntityCertificate/V1";
    if (/CACertificate|CodeSigning|OCSPSigning|ServerAuth/i.test(a)) return false;
    return /EndEntityCertificate|EndEntityClientAuthCertificate|BlankEndEntityCertificate/i.test(a);
}

// ------------------------------------------------------------------------------------------------
// Kubernetes RBAC
// ------------------------------------------------------------------------------------------------

export const POWERFUL_CLUSTER_ROLES = new Set(["cluster-admin", "admin", "edit", "system:aggregate-to-admin", "system:aggregate-to-edit", "system:kube-controller-manager", "system:kube-scheduler", "system:node"]);
const READ_VERBS = new Set(["get", "list", "watch"]);

/** Why a role's rules give more than view access (empty = view-only). */
export function powerfulRules(rules: unknown): string[] {
    const out: string[] = [];
    for (const r of arr(rules)) {
        if (!isObj(r)) continue;
        const verbs = arr(r.verbs).map((v) => String(v).toLowerCase());
        const res = arr(r.resources).map(String);
        const what = res.length > 0 ? res.join(",") : arr(r.nonResourceURLs).join(",") || "?";
        if (verbs.includes("*")) out.push(`every verb on ${what}`);
        for (const v of ["escalate", "bind", "impersonate"]) if (verbs.includes(v)) out.push(`${v} on ${what}`);
        if (res.includes("*")) out.push(`verbs ${verbs.join(",")} on every resource`);
        if (res.some((x) => x === "secrets" || x === "*") && verbs.some((v) => READ_VERBS.has(v) || v === "*")) out.push("reads Secrets");
        const sub = res.filter((x) => /^(pods\/(exec|attach|portforward)|nodes\/proxy|services\/proxy|serviceaccounts\/token)$/.test(x));
        if (sub.length > 0) out.push(`${sub.join(",")}`);
        const writes = verbs.filter((v) => !READ_VERBS.has(v) && v !== "*" && !["escalate", "bind", "impersonate"].includes(v));
        if (writes.length > 0) out.push(`${writes.join(",")} on ${what}`);
    }
    return [...new Set(out)];
}

function engineerSubjects(subjects: unknown, exempt: Set<string>): string[] {
    const out: string[] = [];
    for (const s of arr(subjects)) {
        if (!isObj(s) || (s.kind !== "User" && s.kind !== "Group")) continue;
        const n = str(s.name);
        if (!n || exempt.has(n)) continue;
        if (n.startsWith("system:") && n !== "system:authenticated" && n !== "system:unauthenticated" && n !== "system:masters") continue;
        out.push(`${s.kind} ${n}`);
    }
    return out;
}

/** Entries granting Kubernetes groups to AWS principals, from any of the forms EKS reads. */
interface GroupGrant {
    principal?: string;
    groups: string[];
    username?: string;
    where: string;
}

function awsAuthGrants(props: Obj): { grants: GroupGrant[]; problems: string[] } {
    const grants: GroupGrant[] = [];
    const problems: string[] = [];
    for (const [key, principalKey] of [["mapRoles", "rolearn"], ["mapUsers", "userarn"]] as const) {
        const text = get(props, "data", key);
        if (typeof text !== "string" || isUnknown(text)) continue;
        let list: unknown;
        try {
            list = parseYaml(text);
        } catch (e) {
            problems.push(`${key} cannot be parsed (${(e as Error).message.split("\n")[0]}), so who it maps cannot be verified`);
            continue;
        }
        arr(list).forEach((m, i) => {
            if (!isObj(m)) return;
            grants.push({ principal: str(m[principalKey]), groups: arr(m.groups).map(String), username: str(m.username), where: `${key}[${i}]` });
        });
    }
    return { grants, problems };
}

function eksComponentGrants(props: Obj): { grants: GroupGrant[]; policies: { principal?: string; policyArn: unknown; where: string }[] } {
    const grants: GroupGrant[] = [];
    const policies: { principal?: string; policyArn: unknown; where: string }[] = [];
    arr(props.roleMappings).forEach((m, i) => isObj(m) && grants.push({ principal: str(m.roleArn), groups: arr(m.groups).map(String), username: str(m.username), where: `roleMappings[${i}]` }));
    arr(props.userMappings).forEach((m, i) => isObj(m) && grants.push({ principal: str(m.userArn), groups: arr(m.groups).map(String), username: str(m.username), where: `userMappings[${i}]` }));
    for (const [k, e] of Object.entries(isObj(props.accessEntries) ? props.accessEntries : {})) {
        if (!isObj(e)) continue;
        grants.push({ principal: str(e.principalArn), groups: arr(e.kubernetesGroups).map(String), username: str(e.username), where: `accessEntries.${k}` });
        for (const [pk, ap] of Object.entries(isObj(e.accessPolicies) ? e.accessPolicies : {})) {
            if (isObj(ap)) policies.push({ principal: str(e.principalArn), policyArn: ap.policyArn, where: `accessEntries.${k}.accessPolicies.${pk}` });
        }
    }
    return { grants, policies };
}

function isAwsAuth(kind: string, props: Obj): boolean {
    if (kind !== "ConfigMap" && kind !== "ConfigMapPatch") return false;
    if (get(props, "metadata", "name") !== "aws-auth") return false;
    const ns = get(props, "metadata", "namespace");
    return ns === undefined || ns === "kube-system" || isUnknown(ns);
}

// ------------------------------------------------------------------------------------------------
// The policy
// ------------------------------------------------------------------------------------------------

function capOf(cfg: Cfg) {
    const env = envOf(cfg);
    return { env, cap: cfg.maxCertificateHours ?? CERT_HOURS_CAP[env] };
}

function validateResource(args: ResourceValidationArgs, reportViolation: (m: string) => void) {
    const type = args.type;
    if (!type.startsWith("kubernetes:") && !type.startsWith("tls:") && !type.startsWith("aws:") && type !== EKS_COMPONENT) return;
    const props = raw(args.props);
    const cfg = args.getConfig<Cfg>();
    const { env, cap } = capOf(cfg);
    const certFix = `Remediation: issue certificates per approved grant with validityPeriodHours ≤ ${cap} (byoc:access.maxCertificateHours).`;
    const exempt = new Set(cfg.exemptPrincipalArns ?? []);
    const viewFix = "Remediation: remove system:masters and associate AmazonEKSViewPolicy instead (or list a management principal in exemptPrincipalArns).";

    if (type === LOCALLY_SIGNED_CERT || type === SELF_SIGNED_CERT) {
        const client = tlsClientCapable(props);
        if (!client) return;
        const v = props.validityPeriodHours;
        if (isUnknown(v)) return;
        const h = num(v);
        const what = client === "no-eku" ? "Certificate" : "Client certificate";
        const note = client === "no-eku" ? " (no extended key usage: valid for client authentication too)" : "";
        if (h === undefined) reportViolation(`${what} '${args.name}'${note} has no validityPeriodHours. ${certFix}`);
        else if (h > cap) reportViolation(`${what} '${args.name}'${note} is valid for ${h} h; the ${env} cap is ${cap} h. ${certFix}`);
        return;
    }
    if (type === ACMPCA_CERT) {
        if (!acmpcaClientTemplate(props.templateArn)) return;
        if (isUnknown(props.validity)) return;
        const h = acmpcaHours(props.validity, Date.now());
        if (h === undefined || h > cap) {
            reportViolation(`ACM PCA certificate '${args.name}' (template ${str(props.templateArn) ?? "EndEntityCertificate/V1, which includes clientAuth"}) is valid for ${h === undefined ? "an unreadable period" : `${Math.round(h)} h`}; the ${env} cap is ${cap} h. Remediation: set validity { type: "HOURS", value: "${cap}" } or less.`);
        }
        return;
    }
    if (type === ACCESS_POLICY_ASSOCIATION || type === ACCESS_ENTRY) {
        const principal = str(props.principalArn);
        if (principal && exempt.has(principal)) return;
        if (type === ACCESS_ENTRY) {
            const groups = props.kubernetesGroups;
            if (!isUnknown(groups) && arr(groups).includes("system:masters")) {
                reportViolation(`EKS access entry '${args.name}' puts ${principal ?? "its principal"} in system:masters (cluster admin). ${viewFix}`);
            }
            return;
        }
        const arn = props.policyArn;
        if (isUnknown(arn)) return;
        const allowed = cfg.allowedAccessPolicies ?? [EKS_VIEW_POLICY];
        if (!allowed.includes(String(arn))) {
            reportViolation(
                `EKS access policy association '${args.name}' grants ${String(arn).split("/").pop()} to ${principal ?? "a principal"}; engineers get view-only access. ` +
                    `Remediation: use ${EKS_VIEW_POLICY} (or list a management principal in exemptPrincipalArns).`,
            );
        }
        return;
    }
    if (type === EKS_COMPONENT) {
        const { grants, policies } = eksComponentGrants(props);
        for (const g of grants) {
            if (g.principal && exempt.has(g.principal)) continue;
            if (g.groups.includes("system:masters")) reportViolation(`EKS cluster '${args.name}' ${g.where} puts ${g.principal ?? "a principal"} in system:masters (cluster admin). ${viewFix}`);
        }
        const allowed = cfg.allowedAccessPolicies ?? [EKS_VIEW_POLICY];
        for (const p of policies) {
            if ((p.principal && exempt.has(p.principal)) || isUnknown(p.policyArn)) continue;
            if (!allowed.includes(String(p.policyArn))) reportViolation(`EKS cluster '${args.name}' ${p.where} grants ${String(p.policyArn).split("/").pop()} to ${p.principal ?? "a principal"}; engineers get view-only access. Remediation: use ${EKS_VIEW_POLICY}.`);
        }
        return;
    }
    if (type === IDP_CONFIG) {
        const oidc = props.oidc;
        if (!isObj(oidc) || isUnknown(oidc.groupsPrefix)) return;
        if (str(oidc.groupsClaim) && !str(oidc.groupsPrefix)) {
            reportViolation(
                `EKS identity provider '${args.name}' maps the OIDC claim '${oidc.groupsClaim}' to Kubernetes groups without a groupsPrefix, so the IdP can assert any group name (including ones bound to admin roles), outside the time-bound grants. ` +
                    "Remediation: set groupsPrefix (e.g. \"oidc:\") and bind only those prefixed groups to view-only roles.",
            );
        }
        return;
    }
    const kt = k8sType(type);
    if (!kt) return;
    if (kt.group === "cert-manager.io" && (kt.kind === "Certificate" || kt.kind === "CertificateRequest")) {
        const usages = get(props, "spec", "usages");
        if (isUnknown(usages) || get(props, "spec", "isCA") === true) return;
        const u = arr(usages).map(String);
        if (!u.includes("client auth") && !u.includes("any")) return; // no usages at all: judged with the issuer (stack)
        certManagerDuration(args.name, props, env, cap, reportViolation, "");
        return;
    }
    if (kt.group === "certificates.k8s.io" && kt.kind === "CertificateSigningRequest") {
        const signer = get(props, "spec", "signerName");
        if (signer !== "kubernetes.io/kube-apiserver-client" && !(signer === "kubernetes.io/legacy-unknown" && arr(get(props, "spec", "usages")).includes("client auth"))) return;
        const exp = get(props, "spec", "expirationSeconds");
        if (!isUnknown(exp)) {
            const s = num(exp);
            if (s === undefined) reportViolation(`Kubernetes CSR '${args.name}' (${signer}) has no expirationSeconds, so the signer's default applies (up to a year). Remediation: set spec.expirationSeconds ≤ ${cap * 3600}.`);
            else if (s > cap * 3600) reportViolation(`Kubernetes CSR '${args.name}' (${signer}) asks for ${s}s (${(s / 3600).toFixed(1)} h); the ${env} cap is ${cap} h. Remediation: set spec.expirationSeconds ≤ ${cap * 3600}.`);
        }
        const req = get(props, "spec", "request");
        if (typeof req === "string" && !isUnknown(req)) {
            const subj = csrSubject(req);
            if (subj?.o.includes("system:masters")) reportViolation(`Kubernetes CSR '${args.name}' requests a client certificate in group system:masters (O=system:masters: cluster admin). Remediation: never issue API client certificates for engineers; use the view-only access entries.`);
        }
        return;
    }
    if (kt.group === RBAC && (kt.kind === "ClusterRoleBinding" || kt.kind === "RoleBinding")) {
        const ref = get(props, "roleRef");
        if (!isObj(ref) || ref.kind !== "ClusterRole" || !POWERFUL_CLUSTER_ROLES.has(String(ref.name))) return;
        const subs = engineerSubjects(props.subjects, new Set(cfg.exemptSubjects ?? []));
        if (subs.length > 0) {
            reportViolation(`${kt.kind} '${args.name}' gives ${subs.join(", ")} the built-in ClusterRole ${ref.name}; engineers get view-only access. Remediation: bind them to view (or a role with get/list/watch on non-Secret resources only).`);
        }
        return;
    }
    if (kt.group === "clickhouse.altinity.com" && (kt.kind === "ClickHouseInstallation" || kt.kind === "ClickHouseInstallationTemplate")) {
        const conf = get(props, "spec", "configuration");
        if (!isObj(conf)) return;
        const troubleshooting = labels(props)["app.kubernetes.io/component"] === "troubleshooting";
        if (isObj(conf.users)) {
            const users = unflatten(conf.users);
            const profiles = isObj(conf.profiles) ? unflatten(conf.profiles) : {};
            for (const p of userProblems(modelFrom({ users, profiles }), troubleshooting)) {
                reportViolation(`ClickHouseInstallation '${args.name}' spec.configuration.users: ${p}. Remediation: give troubleshooting users profile readonly, grants/query ["GRANT SELECT ON system.*"] and nothing else.`);
            }
        }
        const files: [string, unknown][] = [...Object.entries(isObj(conf.files) ? conf.files : {}), ...arr(conf.clusters).flatMap((c) => Object.entries(obj(get(c, "files"))))];
        for (const [k, v] of files) {
            if (typeof v !== "string" || isUnknown(v)) continue;
            for (const p of usersFileProblems(v, troubleshooting) ?? []) {
                reportViolation(`ClickHouseInstallation '${args.name}' configuration.files ${k}: ${p}. Remediation: give troubleshooting users profile readonly, <grants><query>GRANT SELECT ON system.*</query></grants> and nothing else.`);
            }
        }
        return;
    }
    if (kt.group === "core" && (kt.kind === "ConfigMap" || kt.kind === "Secret" || kt.kind === "ConfigMapPatch")) {
        if (isAwsAuth(kt.kind, props)) {
            const { grants, problems } = awsAuthGrants(props);
            for (const p of problems) reportViolation(`aws-auth ConfigMap '${args.name}': ${p}. Remediation: write mapRoles/mapUsers as valid YAML.`);
            for (const g of grants) {
                if (g.principal && exempt.has(g.principal)) continue;
                if (g.groups.includes("system:masters")) reportViolation(`aws-auth ConfigMap '${args.name}' ${g.where} puts ${g.principal ?? "a principal"} in system:masters (cluster admin). ${viewFix}`);
            }
        }
        const troubleshooting = labels(props)["app.kubernetes.io/component"] === "troubleshooting";
        const { data } = objectData(kt.kind === "Secret" ? "Secret" : "ConfigMap", props);
        for (const [key, value] of data) {
            for (const p of usersFileProblems(value, troubleshooting) ?? []) {
                reportViolation(
                    `ClickHouse users config '${args.name}' (${key}): ${p}. Remediation: give troubleshooting users profile readonly, <grants><query>GRANT SELECT ON system.*</query></grants> and nothing else.`,
                );
            }
        }
    }
}


function certManagerDuration(name: string, props: Obj, env: string, cap: number, rv: (m: string) => void, note: string) {
    const d = get(props, "spec", "duration");
    if (isUnknown(d)) return;
    const h = d === undefined ? 2160 : durationHours(String(d));
    if (h === undefined || h > cap) {
        rv(`Client certificate '${name}'${note} lasts ${d ?? "2160h (cert-manager default)"}; the ${env} cap is ${cap} h. Remediation: set spec.duration ≤ ${cap}h.`);
    }
}

function validateStack(args: Parameters<StackValidationPolicy["validateStack"]>[0], reportViolation: (m: string, urn?: string) => void) {
    const resources = args.resources as unknown as StackRes[];
    const cfg = args.getConfig<Cfg>();
    const { env, cap } = capOf(cfg);
    const exemptSubjects = new Set(cfg.exemptSubjects ?? []);
    const exempt = new Set(cfg.exemptPrincipalArns ?? []);
    const roles = new Map<string, StackRes>(); // "ClusterRole/name" | "Role/ns/name" | urn
    const bindings: StackRes[] = [];
    const grantsBy: { r: StackRes; g: GroupGrant }[] = [];
    const certs: StackRes[] = [];
    const issuers = new Map<string, StackRes>();
    for (const r of resources) {
        const p = raw(r.props);
        if (r.type === ACCESS_ENTRY) {
            grantsBy.push({ r, g: { principal: str(p.principalArn), groups: arr(p.kubernetesGroups).map(String), username: str(p.userName), where: "kubernetesGroups" } });
            continue;
        }
        // (eks:index:Cluster mappings are judged by the resource half; in a real stack analysis a component carries only
        // its outputs, and its aws-auth / access-entry children are judged themselves.)
        const kt = k8sType(r.type);
        if (!kt) continue;
        if (kt.group === RBAC) {
            const n = str(get(p, "metadata", "name"));
            if (kt.kind === "ClusterRole") {
                roles.set(r.urn, r);
                if (n) roles.set(`ClusterRole/${n}`, r);
            } else if (kt.kind === "Role") {
                roles.set(r.urn, r);
                if (n) roles.set(`Role/${namespaceKey(r)}/${n}`, r);
            } else if (kt.kind === "ClusterRoleBinding" || kt.kind === "RoleBinding") bindings.push(r);
        } else if (kt.group === "core" && isAwsAuth(kt.kind, p)) {
            for (const g of awsAuthGrants(p).grants) grantsBy.push({ r, g });
        } else if (kt.group === "cert-manager.io") {
            const n = str(get(p, "metadata", "name"));
            if (kt.kind === "Certificate") certs.push(r);
            else if (kt.kind === "ClusterIssuer" && n) issuers.set(`ClusterIssuer/${n}`, r);
            else if (kt.kind === "Issuer" && n) issuers.set(`Issuer/${namespaceKey(r)}/${n}`, r);
        }
    }

    // RBAC: bindings to the stack's own roles, and which groups/users hold more than view.
    const powerfulSubjects = new Map<string, string>(); // "Group x" / "User x" → why
    for (const b of bindings) {
        const p = raw(b.props);
        const ref = get(p, "roleRef");
        if (!isObj(ref)) continue;
        let why: string[] = [];
        if (ref.kind === "ClusterRole" && POWERFUL_CLUSTER_ROLES.has(String(ref.name))) why = [`the built-in ClusterRole ${ref.name}`];
        else {
            const key = ref.kind === "ClusterRole" ? `ClusterRole/${ref.name}` : `Role/${namespaceKey(b)}/${ref.name}`;
            let role = typeof ref.name === "string" && !isUnknown(ref.name) ? roles.get(key) : undefined;
            if (!role) {
                const deps = (b.propertyDependencies?.["roleRef"] ?? []).filter((d) => roles.has(d.urn));
                if (deps.length === 1) role = deps[0];
            }
            if (!role) continue;
            const reasons = powerfulRules(raw(role.props).rules);
            if (reasons.length > 0) why = [`${ref.kind} '${role.name}' (${reasons.slice(0, 4).join("; ")})`];
            if (why.length === 0) continue;
            const subs = engineerSubjects(p.subjects, exemptSubjects);
            if (subs.length > 0) {
                reportViolation(`${b.type.split(":").pop()} '${b.name}' gives ${subs.join(", ")} ${why[0]}: more than view access. Remediation: bind engineers to a role with get/list/watch on non-Secret resources only.`, b.urn);
            }
        }
        for (const s of arr(p.subjects)) {
            if (isObj(s) && (s.kind === "Group" || s.kind === "User") && typeof s.name === "string") powerfulSubjects.set(`${s.kind} ${s.name}`, `${why[0]} via ${b.name}`);
        }
    }
    for (const { r, g } of grantsBy) {
        if (g.principal && exempt.has(g.principal)) continue;
        const hits = g.groups.filter((x) => x !== "system:masters" && powerfulSubjects.has(`Group ${x}`)).map((x) => `group ${x} (${powerfulSubjects.get(`Group ${x}`)})`);
        if (g.username && !g.username.includes("{{") && powerfulSubjects.has(`User ${g.username}`)) hits.push(`user ${g.username} (${powerfulSubjects.get(`User ${g.username}`)})`);
        if (hits.length > 0) {
            reportViolation(`'${r.name}' ${g.where} gives ${g.principal ?? "a principal"} ${hits.join(", ")}: more than view access. Remediation: map engineers only to groups bound to view-only roles (or list a management principal in exemptPrincipalArns).`, r.urn);
        }
    }

    // cert-manager Certificates without usages (no EKU: any purpose) from a non-ACME issuer of the stack.
    for (const c of certs) {
        const p = raw(c.props);
        const usages = get(p, "spec", "usages");
        if (isUnknown(usages) || (usages !== undefined && usages !== null && arr(usages).length > 0) || get(p, "spec", "isCA") === true) continue;
        const ref = get(p, "spec", "issuerRef");
        if (!isObj(ref) || (ref.group !== undefined && ref.group !== "cert-manager.io")) continue;
        const kind = ref.kind === "ClusterIssuer" ? "ClusterIssuer" : "Issuer";
        const issuer = issuers.get(kind === "ClusterIssuer" ? `ClusterIssuer/${ref.name}` : `Issuer/${namespaceKey(c)}/${ref.name}`);
        if (!issuer || get(raw(issuer.props), "spec", "acme") !== undefined) continue;
        certManagerDuration(c.name, p, env, cap, (m) => reportViolation(m, c.urn), ` (no usages, so no extended key usage: valid for client authentication; issuer ${issuer.name})`);
    }
}

export const timeBoundAccess: ResourceValidationPolicy & StackValidationPolicy = {
    name: "time-bound-access",
    description:
        "Troubleshooting access is time-bound and read-only: client-capable certificates (tls, cert-manager, ACM PCA, Kubernetes CSRs) live at most the environment's cap (prod 8 h, dev 24 h), ClickHouse users (XML, YAML, ClickHouseInstallation) are read-only on system.* only, and engineers' Kubernetes access (EKS policies, access entries, aws-auth, RBAC, OIDC) is view-only.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...environmentSchema,
            maxCertificateHours: { type: "number", description: "Cap on client certificate validity; defaults to 8 (prod) or 24 (dev)." },
            allowedAccessPolicies: { type: "array", items: { type: "string" }, default: [EKS_VIEW_POLICY], description: "EKS access policies engineers may receive." },
            exemptPrincipalArns: { type: "array", items: { type: "string" }, default: [], description: "Principals (e.g. the provider's management role) exempt from the view-only rule." },
            exemptSubjects: { type: "array", items: { type: "string" }, default: [], description: "Kubernetes users/groups (RBAC subjects, e.g. the management username) exempt from the view-only rule." },
        },
    },
    validateResource,
    validateStack,
};
