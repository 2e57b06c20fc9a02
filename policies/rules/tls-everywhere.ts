/**
 * tls-everywhere — client traffic is TLS-terminated at Istio with a real certificate: Gateways serve
 * HTTPS/TLS with a credential and use plain HTTP only to redirect; prod certificates come from the
 * production ACME server (staging certificates are untrusted by clients).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { arr, envOf, environmentSchema, get, isObj, isUnknown, k8sType, raw, str } from "./util";

export const LETSENCRYPT_PRODUCTION = "https://acme-v02.api.letsencrypt.org/directory";
const TERMINATING = new Set(["SIMPLE", "MUTUAL", "OPTIONAL_MUTUAL"]);
const PLAIN_HTTP = new Set(["HTTP", "HTTP2", "GRPC"]);
const WEAK_TLS = new Set(["TLSV1_0", "TLSV1_1"]);
const LISTENER_TYPES = new Set(["aws:lb/listener:Listener", "aws:alb/listener:Listener"]);
/** ELB security policies that still accept TLS 1.0 or 1.1. */
const WEAK_ELB_POLICY = /^ELBSecurityPolicy-(2015-05|2016-08|TLS-1-0-|TLS-1-1-|FS-2018-06|FS-1-1-)/;

interface Cfg {
    environment?: string;
    acmeProductionServers?: string[];
}

export const tlsEverywhere: ResourceValidationPolicy = {
    name: "tls-everywhere",
    description:
        "Istio and Gateway API Gateways terminate TLS with a certificate (TLS ≥ 1.2) and serve plain HTTP only as a redirect to HTTPS; load balancer listeners redirect HTTP and use TLS ≥ 1.2 policies; in prod, ACME issuers use the production server.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...environmentSchema,
            acmeProductionServers: { type: "array", items: { type: "string" }, default: [LETSENCRYPT_PRODUCTION], description: "ACME directory URLs accepted in prod." },
        },
    },
    validateResource: (args, reportViolation) => {
        if (LISTENER_TYPES.has(args.type)) {
            const p = raw(args.props);
            const proto = String(p.protocol ?? "").toUpperCase();
            if (isUnknown(p.protocol)) return;
            if (proto === "HTTP") {
                const actions = arr(p.defaultActions);
                const redirects = actions.length > 0 && actions.every((a) => get(a, "type") === "redirect" && String(get(a, "redirect", "protocol")).toUpperCase() === "HTTPS");
                if (!redirects && !isUnknown(p.defaultActions)) {
                    reportViolation(`Load balancer listener '${args.name}' (port ${p.port ?? "?"}) serves plaintext HTTP. Remediation: make its default action a redirect to HTTPS (redirect.protocol HTTPS, statusCode HTTP_301), and serve on an HTTPS listener with a certificate.`);
                }
            } else if ((proto === "HTTPS" || proto === "TLS") && typeof p.sslPolicy === "string" && WEAK_ELB_POLICY.test(p.sslPolicy)) {
                reportViolation(`Load balancer listener '${args.name}' uses ${p.sslPolicy}, which accepts TLS 1.0/1.1. Remediation: use ELBSecurityPolicy-TLS13-1-2-2021-06 (or another TLS ≥ 1.2 policy).`);
            }
            return;
        }
        const kt = k8sType(args.type);
        if (!kt) return;
        const props = raw(args.props);
        const cfg = args.getConfig<Cfg>();

        if (kt.group === "networking.istio.io" && kt.kind === "Gateway") {
            const servers = get(props, "spec", "servers");
            if (isUnknown(servers)) return;
            arr(servers).forEach((s, i) => {
                if (!isObj(s)) return;
                const protocol = get(s, "port", "protocol");
                if (isUnknown(protocol)) return;
                const proto = String(protocol ?? "").toUpperCase();
                const tls = isObj(s.tls) ? s.tls : {};
                const where = `Gateway '${args.name}' servers[${i}] (port ${get(s, "port", "number") ?? "?"}, ${proto || "no protocol"})`;
                if (proto === "HTTPS" || proto === "TLS") {
                    const mode = String(tls.mode ?? "PASSTHROUGH").toUpperCase(); // Istio's default mode is PASSTHROUGH
                    if (isUnknown(tls.mode)) return;
                    if (mode === "ISTIO_MUTUAL") return;
                    if (!TERMINATING.has(mode)) {
                        reportViolation(
                            `${where} uses tls.mode ${mode}, so TLS is not terminated at Istio. Remediation: set tls.mode SIMPLE with credentialName pointing at the cert-manager certificate Secret.`,
                        );
                        return;
                    }
                    const hasCredential = !!str(tls.credentialName) || arr(tls.credentialNames).length > 0 || (!!str(tls.serverCertificate) && !!str(tls.privateKey)) || isUnknown(tls.credentialName);
                    if (!hasCredential) {
                        reportViolation(`${where} terminates TLS without a certificate. Remediation: set tls.credentialName to the cert-manager certificate Secret.`);
                    }
                    const min = str(tls.minProtocolVersion)?.toUpperCase();
                    if (min && WEAK_TLS.has(min)) {
                        reportViolation(`${where} accepts ${min}. Remediation: set tls.minProtocolVersion TLSV1_2 or higher (or leave it unset).`);
                    }
                } else if (PLAIN_HTTP.has(proto)) {
                    if (isUnknown(tls.httpsRedirect)) return;
                    if (tls.httpsRedirect !== true) {
                        reportViolation(`${where} serves plaintext HTTP. Remediation: set tls.httpsRedirect: true so port 80 only redirects to HTTPS.`);
                    }
                } else {
                    reportViolation(`${where} serves an unencrypted protocol. Remediation: use protocol HTTPS or TLS with tls.mode SIMPLE and a credentialName.`);
                }
            });
            return;
        }

        if (kt.group === "gateway.networking.k8s.io" && kt.kind === "Gateway") {
            const listeners = get(props, "spec", "listeners");
            if (isUnknown(listeners)) return;
            arr(listeners).forEach((l, i) => {
                if (!isObj(l)) return;
                const proto = String(l.protocol ?? "").toUpperCase();
                const where = `Gateway '${args.name}' listeners[${i}] (${str(l.name) ?? "?"}, port ${l.port ?? "?"}, ${proto || "no protocol"})`;
                const tls = isObj(l.tls) ? l.tls : {};
                if (proto === "HTTPS" || proto === "TLS") {
                    const mode = String(tls.mode ?? "Terminate");
                    if (mode === "Passthrough") {
                        reportViolation(`${where} uses tls.mode Passthrough, so TLS is not terminated at the gateway. Remediation: use tls.mode Terminate with certificateRefs to the cert-manager certificate Secret.`);
                    } else if (!isUnknown(tls.certificateRefs) && arr(tls.certificateRefs).length === 0 && tls.options === undefined) {
                        reportViolation(`${where} terminates TLS without a certificate (no tls.certificateRefs). Remediation: reference the cert-manager certificate Secret in tls.certificateRefs.`);
                    }
                } else if (proto === "TCP" || proto === "UDP") {
                    reportViolation(`${where} serves an unencrypted protocol. Remediation: use protocol TLS (Terminate, with certificateRefs) or HTTPS.`);
                }
            });
            return;
        }

        if (kt.group === "cert-manager.io" && (kt.kind === "ClusterIssuer" || kt.kind === "Issuer")) {
            if (envOf(cfg) !== "prod") return;
            const server = get(props, "spec", "acme", "server");
            if (server === undefined || isUnknown(server)) return; // not an ACME issuer (e.g. the troubleshooting CA)
            const allowed = cfg.acmeProductionServers ?? [LETSENCRYPT_PRODUCTION];
            if (!allowed.includes(String(server).trim().replace(/\/+$/, "")) && !allowed.includes(String(server))) {
                reportViolation(
                    `${kt.kind} '${args.name}' uses ACME server ${server} in prod${/staging/i.test(String(server)) ? " (a staging server: its certificates are not trusted by clients)" : ""}. ` +
                        `Remediation: set spec.acme.server to ${allowed[0]} (byoc:ingress.acmeServer: production).`,
                );
            }
        }
    },
};
