import { tlsEverywhere } from "../../policies/rules";
import { expectClean, expectViolation, res, runResource, UNKNOWN } from "./helpers";

const gw = (servers: unknown[], version = "v1") => res(`kubernetes:networking.istio.io/${version}:Gateway`, "ingress", { metadata: { namespace: "istio-ingress" }, spec: { selector: { istio: "ingressgateway" }, servers } });
const https = { port: { number: 443, name: "https", protocol: "HTTPS" }, hosts: ["*.acme.example.com"], tls: { mode: "SIMPLE", credentialName: "ingress-cert" } };
const redirect = { port: { number: 80, name: "http", protocol: "HTTP" }, hosts: ["*"], tls: { httpsRedirect: true } };

describe("tls-everywhere", () => {
    describe("Istio Gateways (v1, v1beta1, v1alpha3)", () => {
        for (const v of ["v1", "v1beta1", "v1alpha3"]) {
            it(`accepts HTTPS with a credential plus an HTTP redirect (${v})`, () => {
                expectClean(runResource(tlsEverywhere, gw([https, redirect], v)));
            });
            it(`flags plaintext HTTP without redirect (${v})`, () => {
                expectViolation(runResource(tlsEverywhere, gw([https, { ...redirect, tls: undefined }], v)), /serves plaintext HTTP/);
            });
        }
        it("flags HTTPS without a credential", () => {
            expectViolation(runResource(tlsEverywhere, gw([{ ...https, tls: { mode: "SIMPLE" } }])), /without a certificate/);
        });
        it("flags passthrough (TLS not terminated at Istio), including Istio's default mode", () => {
            expectViolation(runResource(tlsEverywhere, gw([{ ...https, tls: { mode: "PASSTHROUGH" } }])), /PASSTHROUGH/);
            expectViolation(runResource(tlsEverywhere, gw([{ ...https, tls: undefined }])), /PASSTHROUGH/);
        });
        it("flags unencrypted protocols and weak TLS versions", () => {
            expectViolation(runResource(tlsEverywhere, gw([{ port: { number: 9000, protocol: "TCP" }, hosts: ["*"] }])), /unencrypted protocol/);
            expectViolation(runResource(tlsEverywhere, gw([{ ...https, tls: { ...https.tls, minProtocolVersion: "TLSV1_0" } }])), /TLSV1_0/);
        });
        it("accepts a credential that is unknown during preview", () => {
            expectClean(runResource(tlsEverywhere, gw([{ ...https, tls: { mode: "SIMPLE", credentialName: UNKNOWN } }])));
        });
    });

    describe("ACME issuers", () => {
        const issuer = (server?: string, kind = "ClusterIssuer") =>
            res(`kubernetes:cert-manager.io/v1:${kind}`, "letsencrypt", { spec: server ? { acme: { server, email: "ops@example.com", privateKeySecretRef: { name: "le" } } } : { ca: { secretName: "troubleshooting-ca" } } });
        it("flags the staging server in prod", () => {
            expectViolation(runResource(tlsEverywhere, issuer("https://acme-staging-v02.api.letsencrypt.org/directory"), { env: "prod" }), /staging/);
            expectViolation(runResource(tlsEverywhere, issuer("https://acme-staging-v02.api.letsencrypt.org/directory", "Issuer"), { env: "prod" }), /staging/);
        });
        it("allows staging in dev and production in prod; ignores non-ACME issuers", () => {
            expectClean(runResource(tlsEverywhere, issuer("https://acme-staging-v02.api.letsencrypt.org/directory"), { env: "dev" }));
            expectClean(runResource(tlsEverywhere, issuer("https://acme-v02.api.letsencrypt.org/directory"), { env: "prod" }));
            expectClean(runResource(tlsEverywhere, issuer(undefined), { env: "prod" }));
        });
    });

    describe("Gateway API Gateways", () => {
        const gapi = (listeners: unknown[]) => res("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw", { spec: { gatewayClassName: "istio", listeners } });
        it("flags TLS passthrough, HTTPS without certificateRefs and TCP/UDP listeners", () => {
            expectViolation(runResource(tlsEverywhere, gapi([{ name: "tls", port: 9440, protocol: "TLS", tls: { mode: "Passthrough" } }])), /Passthrough/);
            expectViolation(runResource(tlsEverywhere, gapi([{ name: "https", port: 443, protocol: "HTTPS", tls: { mode: "Terminate" } }])), /without a certificate/);
            expectViolation(runResource(tlsEverywhere, gapi([{ name: "native", port: 9000, protocol: "TCP" }])), /unencrypted protocol/);
        });
        it("accepts terminating listeners with a certificate (compliant twin)", () => {
            expectClean(runResource(tlsEverywhere, gapi([{ name: "https", port: 443, protocol: "HTTPS", tls: { certificateRefs: [{ kind: "Secret", name: "ingress-cert" }] } }])));
        });
    });

    describe("load balancer listeners", () => {
        const listener = (p: Record<string, unknown>) => res("aws:lb/listener:Listener", "l", { loadBalancerArn: UNKNOWN, ...p });
        it("flags plaintext HTTP that does not redirect and TLS 1.0/1.1 policies", () => {
            expectViolation(runResource(tlsEverywhere, listener({ port: 80, protocol: "HTTP", defaultActions: [{ type: "forward", targetGroupArn: "arn:tg" }] })), /plaintext HTTP/);
            expectViolation(runResource(tlsEverywhere, listener({ port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-2016-08", certificateArn: "arn:cert" })), /TLS 1\.0\/1\.1/);
        });
        it("accepts an HTTP → HTTPS redirect and a TLS 1.2+ policy (compliant twins)", () => {
            expectClean(runResource(tlsEverywhere, listener({ port: 80, protocol: "HTTP", defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }] })));
            expectClean(runResource(tlsEverywhere, listener({ port: 443, protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06", certificateArn: "arn:cert" })));
            expectClean(runResource(tlsEverywhere, listener({ port: 9440, protocol: "TCP" }))); // NLB pass-through to a TLS server
        });
    });
});
