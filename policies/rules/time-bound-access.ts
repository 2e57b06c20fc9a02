/**
 * time-bound-access — human troubleshooting access is approved, time-bound and read-only: client
 * certificates live no longer than the environment's cap (prod 8 h, dev 24 h), the ClickHouse users they
 * map to are read-only on system tables only, and engineers' Kubernetes access is view-only.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { XMLParser } from "fast-xml-parser";
import { arr, envOf, environmentSchema, get, isObj, isUnknown, k8sType, labels, num, Obj, raw, str } from "./util";

export const LOCALLY_SIGNED_CERT = "tls:index/locallySignedCert:LocallySignedCert";
export const SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert";
export const ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";
export const ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry";
export const EKS_VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy";
export const CERT_HOURS_CAP = { prod: 8, dev: 24 } as const;

interface Cfg {
    environment?: string;
    maxCertificateHours?: number;
    allowedAccessPolicies?: string[];
    exemptPrincipalArns?: string[];
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

const xml = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === "query" || name === "database" });
const READONLY_GRANT = /^\s*GRANT\s+SELECT(\s*\([^)]*\))?\s+ON\s+system\.(\*|`?[A-Za-z0-9_]+`?)\s*;?\s*$/i;

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
    const profiles = isObj(root.profiles) ? root.profiles : {};
    const users = isObj(root.users) ? root.users : {};
    const out: string[] = [];
    for (const [name, u] of Object.entries(users)) {
        if (!isObj(u)) continue;
        if (!allUsers && u.ssl_certificates === undefined) continue;
        const profile = str(u.profile) ?? "default";
        const pdef = isObj(profiles[profile]) ? profiles[profile] : undefined;
        const ro = pdef ? String(pdef.readonly ?? "0").trim() : profile === "readonly" ? "1" : "0";
        if (ro !== "1" && ro !== "2") out.push(`user '${name}' uses profile '${profile}', which is not read-only`);
        const queries = arr(get(u, "grants", "query")).map((q) => String(isObj(q) ? q["#text"] ?? "" : q));
        const allow = arr(get(u, "allow_databases", "database")).map(String);
        if (queries.length === 0 && !(allow.length > 0 && allow.every((d) => d.trim() === "system"))) {
            out.push(`user '${name}' has no <grants>, so it can read every database`);
        }
        for (const q of queries) if (!READONLY_GRANT.test(q)) out.push(`user '${name}' has grant "${q.trim()}" (only SELECT ON system.* is allowed)`);
        for (const flag of ["access_management", "named_collection_control", "show_named_collections_secrets"]) {
            if (String(u[flag] ?? "0").trim() === "1") out.push(`user '${name}' has ${flag} enabled`);
        }
    }
    return out;
}

export const timeBoundAccess: ResourceValidationPolicy = {
    name: "time-bound-access",
    description:
        "Troubleshooting access is time-bound and read-only: client-auth certificates live at most the environment's cap (prod 8 h, dev 24 h), certificate-authenticated ClickHouse users are read-only on system.* only, and engineers' EKS access is view-only.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...environmentSchema,
            maxCertificateHours: { type: "number", description: "Cap on client certificate validity; defaults to 8 (prod) or 24 (dev)." },
            allowedAccessPolicies: { type: "array", items: { type: "string" }, default: [EKS_VIEW_POLICY], description: "EKS access policies engineers may receive." },
            exemptPrincipalArns: { type: "array", items: { type: "string" }, default: [], description: "Principals (e.g. the provider's management role) exempt from the view-only rule." },
        },
    },
    validateResource: (args, reportViolation) => {
        const type = args.type;
        if (!type.startsWith("kubernetes:") && type !== LOCALLY_SIGNED_CERT && type !== SELF_SIGNED_CERT && type !== ACCESS_POLICY_ASSOCIATION && type !== ACCESS_ENTRY) return;
        const props = raw(args.props);
        const cfg = args.getConfig<Cfg>();
        const env = envOf(cfg);
        const cap = cfg.maxCertificateHours ?? CERT_HOURS_CAP[env];
        const certFix = `Remediation: issue certificates per approved grant with validityPeriodHours ≤ ${cap} (byoc:access.maxCertificateHours).`;

        if (type === LOCALLY_SIGNED_CERT || type === SELF_SIGNED_CERT) {
            const uses = props.allowedUses;
            if (isUnknown(uses) || !arr(uses).includes("client_auth")) return;
            const v = props.validityPeriodHours;
            if (isUnknown(v)) return;
            const h = num(v);
            if (h === undefined) reportViolation(`Client certificate '${args.name}' has no validityPeriodHours. ${certFix}`);
            else if (h > cap) reportViolation(`Client certificate '${args.name}' is valid for ${h} h; the ${env} cap is ${cap} h. ${certFix}`);
            return;
        }
        if (type === ACCESS_POLICY_ASSOCIATION || type === ACCESS_ENTRY) {
            const principal = str(props.principalArn);
            if (principal && (cfg.exemptPrincipalArns ?? []).includes(principal)) return;
            if (type === ACCESS_ENTRY) {
                const groups = props.kubernetesGroups;
                if (!isUnknown(groups) && arr(groups).includes("system:masters")) {
                    reportViolation(`EKS access entry '${args.name}' puts ${principal ?? "its principal"} in system:masters (cluster admin). Remediation: remove system:masters and associate AmazonEKSViewPolicy instead.`);
                }
                return;
            }
            const arn = props.policyArn;
            if (isUnknown(arn)) return;
            const allowed = cfg.allowedAccessPolicies ?? [EKS_VIEW_POLICY];
            if (!allowed.includes(String(arn))) {
                reportViolation(
                    `EKS access policy association '${args.name}' grants ${String(arn).split("/").pop()} to ${principal ?? "a principal"}; engineers get view-only access. ` +
                        `Remediation: use ${EKS_VIEW_POLICY}${principal ? "" : ""} (or list a management principal in exemptPrincipalArns).`,
                );
            }
            return;
        }
        const kt = k8sType(type);
        if (!kt) return;
        if (kt.group === "cert-manager.io" && kt.kind === "Certificate") {
            const usages = get(props, "spec", "usages");
            if (isUnknown(usages) || !arr(usages).includes("client auth")) return;
            const d = get(props, "spec", "duration");
            if (isUnknown(d)) return;
            const h = d === undefined ? 2160 : durationHours(String(d));
            if (h === undefined || h > cap) {
                reportViolation(`Client certificate '${args.name}' lasts ${d ?? "2160h (cert-manager default)"}; the ${env} cap is ${cap} h. Remediation: set spec.duration ≤ ${cap}h.`);
            }
            return;
        }
        if (kt.group === "core" && (kt.kind === "ConfigMap" || kt.kind === "Secret")) {
            const troubleshooting = labels(props)["app.kubernetes.io/component"] === "troubleshooting";
            const data = { ...(kt.kind === "ConfigMap" ? (isObj(props.data) ? props.data : {}) : {}), ...(isObj(props.stringData) ? props.stringData : {}) };
            for (const [key, value] of Object.entries(data)) {
                if (typeof value !== "string" || isUnknown(value) || !/<users>/.test(value)) continue;
                if (!troubleshooting && !/<ssl_certificates>/.test(value)) continue;
                for (const p of clickhouseUserProblems(value, troubleshooting)) {
                    reportViolation(
                        `ClickHouse users config '${args.name}' (${key}): ${p}. Remediation: give troubleshooting users profile readonly, <grants><query>GRANT SELECT ON system.*</query></grants> and nothing else.`,
                    );
                }
            }
        }
    },
};
