import { timeBoundAccess } from "../../policies/rules";
import { durationHours } from "../../policies/rules/time-bound-access";
import { strict as assert } from "assert";
import { expectClean, expectViolation, res, runResource, runStack, UNKNOWN } from "./helpers";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** A real PKCS#10 CSR from openssl, with subject CN and O values (Kubernetes reads O as the user's groups). */
function csrPem(cn: string, groups: string[] = []): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tba-csr-"));
    try {
        const subj = `/CN=${cn}${groups.map((g) => `/O=${g}`).join("")}`;
        return execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", path.join(dir, "k"), "-subj", subj], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

const cert = (hours: unknown, uses = ["digital_signature", "client_auth"]) =>
    res("tls:index/locallySignedCert:LocallySignedCert", "oncall-alice", { certRequestPem: "-----BEGIN CERTIFICATE REQUEST-----", allowedUses: uses, validityPeriodHours: hours });

const usersXml = (user: string, profiles = "") => `<clickhouse>
  <profiles>${profiles}</profiles>
  <users>
    <oncall_alice>
      <ssl_certificates><common_name>oncall-alice</common_name></ssl_certificates>
      ${user}
    </oncall_alice>
  </users>
</clickhouse>`;
const GOOD_USER = `<profile>readonly</profile><grants><query>GRANT SELECT ON system.*</query></grants>`;
const cm = (xml: string, component = "troubleshooting") =>
    res("kubernetes:core/v1:ConfigMap", "ch-users", { metadata: { labels: { "app.kubernetes.io/component": component } }, data: { "troubleshooting.xml": xml } });

describe("time-bound-access", () => {
    describe("client certificates (tls)", () => {
        it("caps client-auth certificates at 8 h in prod and 24 h in dev", () => {
            expectClean(runResource(timeBoundAccess, cert(8), { env: "prod" }));
            expectViolation(runResource(timeBoundAccess, cert(12), { env: "prod" }), /12 h; the prod cap is 8 h/);
            expectClean(runResource(timeBoundAccess, cert(12), { env: "dev" }));
            expectViolation(runResource(timeBoundAccess, cert(48), { env: "dev" }), /dev cap is 24 h/);
        });
        it("takes the cap from maxCertificateHours when set", () => {
            expectViolation(runResource(timeBoundAccess, cert(5), { env: "prod", config: { "time-bound-access": { maxCertificateHours: 4 } } }), /cap is 4 h/);
        });
        it("covers self-signed client certs; ignores server certs and unknown validity", () => {
            expectViolation(runResource(timeBoundAccess, { ...cert(100), type: "tls:index/selfSignedCert:SelfSignedCert" }), /100 h/);
            expectClean(runResource(timeBoundAccess, cert(8760, ["server_auth"])));
            expectClean(runResource(timeBoundAccess, cert(UNKNOWN)));
        });
    });

    describe("client certificates (cert-manager)", () => {
        const c = (duration?: string) => res("kubernetes:cert-manager.io/v1:Certificate", "oncall", { spec: { usages: ["client auth"], duration, issuerRef: { name: "troubleshooting-ca" } } });
        it("flags the 90-day default and long durations; accepts short ones", () => {
            expectViolation(runResource(timeBoundAccess, c()), /cert-manager default/);
            expectViolation(runResource(timeBoundAccess, c("24h0m0s"), { env: "prod" }), /24h0m0s/);
            expectClean(runResource(timeBoundAccess, c("7h30m"), { env: "prod" }));
        });
        it("parses Go durations", () => {
            assert.equal(durationHours("1h30m"), 1.5);
            assert.equal(durationHours("2160h0m0s"), 2160);
            assert.equal(durationHours("banana"), undefined);
        });
    });

    describe("ClickHouse troubleshooting users (users.d XML)", () => {
        it("accepts a readonly user with SELECT ON system.* only", () => {
            expectClean(runResource(timeBoundAccess, cm(usersXml(GOOD_USER))));
            expectClean(runResource(timeBoundAccess, cm(usersXml(`<profile>ro</profile><grants><query>GRANT SELECT ON system.query_log</query><query>GRANT SELECT ON system.*</query></grants>`, "<ro><readonly>1</readonly></ro>"))));
        });
        it("flags grants beyond system tables", () => {
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>readonly</profile><grants><query>GRANT SELECT ON *.*</query></grants>`))), /GRANT SELECT ON \*\.\*/);
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>readonly</profile><grants><query>GRANT ALL ON system.*</query></grants>`))), /GRANT ALL/);
        });
        it("flags a missing <grants> (full access) and a writable profile", () => {
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>readonly</profile>`))), /no <grants>/);
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>default</profile><grants><query>GRANT SELECT ON system.*</query></grants>`))), /not read-only/);
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>ops</profile><grants><query>GRANT SELECT ON system.*</query></grants>`, "<ops><readonly>0</readonly></ops>"))), /not read-only/);
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`${GOOD_USER}<access_management>1</access_management>`))), /access_management/);
        });
        it("checks certificate users in any ConfigMap, even without the troubleshooting label", () => {
            expectViolation(runResource(timeBoundAccess, cm(usersXml(`<profile>default</profile>`), "clickhouse")), /not read-only/);
            expectClean(runResource(timeBoundAccess, cm(`<clickhouse><users><app><password_sha256_hex>x</password_sha256_hex></app></users></clickhouse>`, "clickhouse")));
        });
    });

    describe("EKS access for engineers", () => {
        const assoc = (policyArn: string, principalArn = "arn:aws:iam::111122223333:role/oncall-alice") =>
            res("aws:eks/accessPolicyAssociation:AccessPolicyAssociation", "oncall-alice", { clusterName: UNKNOWN, principalArn, policyArn, accessScope: { type: "cluster" } });
        it("accepts the view-only policy", () => {
            expectClean(runResource(timeBoundAccess, assoc("arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy")));
        });
        for (const p of ["AmazonEKSClusterAdminPolicy", "AmazonEKSAdminPolicy", "AmazonEKSEditPolicy"]) {
            it(`flags ${p}`, () => {
                expectViolation(runResource(timeBoundAccess, assoc(`arn:aws:eks::aws:cluster-access-policy/${p}`)), new RegExp(p));
            });
        }
        it("exempts configured principals", () => {
            const config = { "time-bound-access": { exemptPrincipalArns: ["arn:aws:iam::111122223333:role/mgmt"] } };
            expectClean(runResource(timeBoundAccess, assoc("arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", "arn:aws:iam::111122223333:role/mgmt"), { config }));
        });
        it("flags access entries in system:masters", () => {
            const entry = (groups: string[]) => res("aws:eks/accessEntry:AccessEntry", "e", { clusterName: "c", principalArn: "arn:aws:iam::1:role/x", kubernetesGroups: groups });
            expectViolation(runResource(timeBoundAccess, entry(["system:masters"])), /system:masters/);
            expectClean(runResource(timeBoundAccess, entry(["byoc-viewers"])));
        });
    });

    describe("client certificates however issued", () => {
        it("tls: any_extended and no extended key usage count as client certificates; CA and server-only certificates do not", () => {
            expectViolation(runResource(timeBoundAccess, cert(72, ["digital_signature", "any_extended"])), /72 h/);
            expectViolation(runResource(timeBoundAccess, cert(72, ["digital_signature", "key_encipherment"])), /no extended key usage/);
            expectClean(runResource(timeBoundAccess, cert(72, ["digital_signature", "server_auth"])));
            expectClean(runResource(timeBoundAccess, { ...cert(43800, ["cert_signing", "crl_signing"]), props: { isCaCertificate: true, allowedUses: ["cert_signing", "crl_signing"], validityPeriodHours: 43800 } }));
        });
        it("cert-manager: `any` usage and no usages from a private CA issuer (stack join); an ACME issuer's certificate is not a client certificate", () => {
            const ca = res("kubernetes:cert-manager.io/v1:ClusterIssuer", "ts-ca", { metadata: { name: "troubleshooting-ca" }, spec: { ca: { secretName: "troubleshooting-ca" } } });
            const le = res("kubernetes:cert-manager.io/v1:ClusterIssuer", "le", { metadata: { name: "letsencrypt" }, spec: { acme: { server: "https://acme-v02.api.letsencrypt.org/directory", privateKeySecretRef: { name: "k" } } } });
            const c = (issuer: string, spec: Record<string, unknown> = {}) => res("kubernetes:cert-manager.io/v1:Certificate", "c", { metadata: { namespace: "clickhouse" }, spec: { secretName: "c", commonName: "alice@example.com", issuerRef: { kind: "ClusterIssuer", name: issuer }, ...spec } });
            expectViolation(runResource(timeBoundAccess, c("troubleshooting-ca", { usages: ["any"], duration: "720h" })), /720h/);
            expectViolation(runStack(timeBoundAccess, [ca, c("troubleshooting-ca")]).map((v) => v.message), /no usages[\s\S]*2160h \(cert-manager default\)/);
            expectClean(runStack(timeBoundAccess, [ca, c("troubleshooting-ca", { duration: "8h" })]));
            expectClean(runStack(timeBoundAccess, [le, c("letsencrypt")])); // the ingress certificate
            const req = res("kubernetes:cert-manager.io/v1:CertificateRequest", "r", { spec: { request: "LS0t", usages: ["client auth"], duration: "24h", issuerRef: { name: "troubleshooting-ca", kind: "ClusterIssuer" } } });
            expectViolation(runResource(timeBoundAccess, req, { env: "prod" }), /24h/);
        });
        it("ACM Private CA certificates on client-capable templates", () => {
            const pca = (validity: Record<string, string>, templateArn?: string) => res("aws:acmpca/certificate:Certificate", "alice", { certificateAuthorityArn: "arn:aws:acm-pca:eu-west-1:1:certificate-authority/x", certificateSigningRequest: "-----BEGIN CERTIFICATE REQUEST-----", signingAlgorithm: "SHA256WITHECDSA", validity, templateArn });
            expectViolation(runResource(timeBoundAccess, pca({ type: "DAYS", value: "30" })), /720 h/);
            expectViolation(runResource(timeBoundAccess, pca({ type: "HOURS", value: "12" }, "arn:aws:acm-pca:::template/EndEntityClientAuthCertificate/V1")), /12 h/);
            expectClean(runResource(timeBoundAccess, pca({ type: "HOURS", value: "8" })));
            expectClean(runResource(timeBoundAccess, pca({ type: "YEARS", value: "1" }, "arn:aws:acm-pca:::template/EndEntityServerAuthCertificate/V1")));
            expectClean(runResource(timeBoundAccess, pca({ type: "YEARS", value: "5" }, "arn:aws:acm-pca:::template/SubordinateCACertificate_PathLen0/V1")));
        });
        it("Kubernetes CSRs for the kube-apiserver-client signer: expirationSeconds and O=system:masters", () => {
            const csr = (spec: Record<string, unknown>) => res("kubernetes:certificates.k8s.io/v1:CertificateSigningRequest", "alice", { spec: { signerName: "kubernetes.io/kube-apiserver-client", usages: ["client auth"], request: Buffer.from(csrPem("alice")).toString("base64"), ...spec } });
            expectViolation(runResource(timeBoundAccess, csr({})), /no expirationSeconds/);
            expectViolation(runResource(timeBoundAccess, csr({ expirationSeconds: 86400 })), /24\.0 h/);
            expectClean(runResource(timeBoundAccess, csr({ expirationSeconds: 3600 })));
            expectViolation(runResource(timeBoundAccess, csr({ expirationSeconds: 3600, request: Buffer.from(csrPem("alice", ["system:masters"])).toString("base64") })), /O=system:masters/);
            expectClean(runResource(timeBoundAccess, res("kubernetes:certificates.k8s.io/v1:CertificateSigningRequest", "k", { spec: { signerName: "kubernetes.io/kubelet-serving", usages: ["server auth"], request: "LS0t" } })));
        });
    });

    describe("ClickHouse users in other formats and places", () => {
        const yaml = (user: string) => `users:\n  oncall_alice:\n    ssl_certificates:\n      common_name: oncall-alice\n${user}`;
        it("users.d YAML in a ConfigMap or a Secret (base64 data)", () => {
            expectViolation(runResource(timeBoundAccess, res("kubernetes:core/v1:ConfigMap", "u", { data: { "oncall.yaml": yaml("    profile: default\n    grants:\n      - query: GRANT SELECT ON system.*\n") } })), /not read-only/);
            expectViolation(runResource(timeBoundAccess, res("kubernetes:core/v1:Secret", "u", { data: { "users.yaml": Buffer.from(yaml("    profile: readonly\n")).toString("base64") } })), /no <grants>/);
            expectViolation(runResource(timeBoundAccess, res("kubernetes:core/v1:Secret", "u", { data: { "users.xml": Buffer.from(usersXml(`<profile>readonly</profile><grants><query>GRANT ALL ON *.*</query></grants>`)).toString("base64") } })), /GRANT ALL/);
            expectClean(runResource(timeBoundAccess, res("kubernetes:core/v1:ConfigMap", "u", { data: { "oncall.yaml": yaml("    profile: readonly\n    grants:\n      query:\n        - GRANT SELECT ON system.*\n") } })));
        });
        it("the Altinity operator's ClickHouseInstallation: configuration.users (flat and nested), profiles, files", () => {
            const chi = (configuration: Record<string, unknown>, kind = "ClickHouseInstallation") => res(`kubernetes:clickhouse.altinity.com/v1:${kind}`, "ch", { metadata: { name: "ch", namespace: "clickhouse" }, spec: { configuration } });
            expectViolation(runResource(timeBoundAccess, chi({ users: { "oncall/ssl_certificates/common_name": "oncall", "oncall/profile": "default", "oncall/grants/query": ["GRANT SELECT ON system.*"] } })), /not read-only/);
            expectViolation(runResource(timeBoundAccess, chi({ users: { oncall: { ssl_certificates: { common_name: "oncall" }, profile: "ops", grants: { query: ["GRANT SELECT ON system.*"] } } }, profiles: { "ops/readonly": "0" } }, "ClickHouseInstallationTemplate")), /profile 'ops'/);
            expectViolation(runResource(timeBoundAccess, chi({ users: { "oncall/ssl_certificates/common_name": "oncall", "oncall/profile": "readonly", "oncall/access_management": "1", "oncall/grants/query": ["GRANT SELECT ON system.*"] } })), /access_management/);
            expectViolation(runResource(timeBoundAccess, chi({ files: { "users.d/oncall.xml": usersXml(`<profile>readonly</profile>`) } })), /no <grants>/);
            expectClean(runResource(timeBoundAccess, chi({ users: { "oncall/ssl_certificates/common_name": "oncall", "oncall/profile": "readonly", "oncall/grants/query": ["GRANT SELECT ON system.*"], "app/password_sha256_hex": "abc", "app/profile": "default" } })));
        });
    });

    describe("engineer privilege outside access policy associations", () => {
        const mgmt = "arn:aws:iam::111122223333:role/mgmt";
        it("eks.Cluster accessEntries / roleMappings / userMappings and the aws-auth ConfigMap(Patch) in system:masters", () => {
            const cluster = (p: Record<string, unknown>) => res("eks:index:Cluster", "eks", { vpcId: "vpc-1", ...p });
            expectViolation(runResource(timeBoundAccess, cluster({ roleMappings: [{ roleArn: "arn:aws:iam::1:role/oncall", username: "oncall", groups: ["system:masters"] }] })), /roleMappings\[0\][\s\S]*system:masters/);
            expectViolation(runResource(timeBoundAccess, cluster({ accessEntries: { oncall: { principalArn: "arn:aws:iam::1:role/oncall", accessPolicies: { admin: { policyArn: "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy", accessScope: { type: "cluster" } } } } } })), /AmazonEKSClusterAdminPolicy/);
            expectClean(runResource(timeBoundAccess, cluster({ roleMappings: [{ roleArn: mgmt, username: "mgmt", groups: ["system:masters"] }] }), { config: { "time-bound-access": { exemptPrincipalArns: [mgmt] } } }));
            const awsAuth = (mapRoles: string, type = "kubernetes:core/v1:ConfigMap") => res(type, "aws-auth", { metadata: { name: "aws-auth", namespace: "kube-system" }, data: { mapRoles } });
            const yamlRoles = "- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n- rolearn: arn:aws:iam::1:role/oncall\n  username: oncall\n  groups:\n    - system:masters\n";
            expectViolation(runResource(timeBoundAccess, awsAuth(yamlRoles)), /mapRoles\[1\][\s\S]*system:masters/);
            expectViolation(runResource(timeBoundAccess, awsAuth(JSON.stringify([{ rolearn: "arn:aws:iam::1:role/x", username: "x", groups: ["system:masters"] }]), "kubernetes:core/v1:ConfigMapPatch")), /system:masters/);
            expectClean(runResource(timeBoundAccess, awsAuth("- rolearn: arn:aws:iam::1:role/nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n")));
        });
        it("RBAC: users and groups bound to cluster-admin/admin/edit, or to the stack's roles that do more than view", () => {
            const binding = (kind: string, roleRef: Record<string, unknown>, subjects: unknown[], extra = {}) => res(`kubernetes:rbac.authorization.k8s.io/v1:${kind}`, "b", { metadata: { name: "b", namespace: "clickhouse" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", ...roleRef }, subjects }, extra);
            const group = { kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "byoc-oncall" };
            expectViolation(runResource(timeBoundAccess, binding("ClusterRoleBinding", { kind: "ClusterRole", name: "cluster-admin" }, [group])), /cluster-admin/);
            expectViolation(runResource(timeBoundAccess, binding("RoleBinding", { kind: "ClusterRole", name: "edit" }, [{ kind: "User", name: "troubleshoot:g1:alice@example.com" }])), /edit/);
            expectClean(runResource(timeBoundAccess, binding("ClusterRoleBinding", { kind: "ClusterRole", name: "cluster-admin" }, [{ kind: "ServiceAccount", name: "lbc", namespace: "kube-system" }])));
            const role = (rules: unknown[]) => res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "debug", { metadata: { name: "byoc-debug" }, rules });
            for (const rules of [
                [{ apiGroups: ["*"], resources: ["*"], verbs: ["get", "list"] }],
                [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
                [{ apiGroups: [""], resources: ["pods/exec"], verbs: ["create"] }],
                [{ apiGroups: ["rbac.authorization.k8s.io"], resources: ["clusterroles"], verbs: ["escalate", "bind"] }],
                [{ apiGroups: [""], resources: ["users", "groups"], verbs: ["impersonate"] }],
                [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["patch"] }],
            ]) {
                const r = role(rules);
                const b = binding("ClusterRoleBinding", { kind: "ClusterRole", name: UNKNOWN }, [group], { propertyDependencies: { roleRef: [r.urn] } });
                expectViolation(runStack(timeBoundAccess, [r, b]).map((v) => v.message), /more than view access/);
            }
            const view = role([{ apiGroups: ["", "apps"], resources: ["pods", "pods/log", "deployments", "events"], verbs: ["get", "list", "watch"] }]);
            expectClean(runStack(timeBoundAccess, [view, binding("ClusterRoleBinding", { kind: "ClusterRole", name: "byoc-debug" }, [group])]));
        });
        it("access entries, mappings and aws-auth groups bound to powerful roles; OIDC providers without a groups prefix", () => {
            const cab = res("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "oncall-admin", { metadata: { name: "oncall-admin" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "admin" }, subjects: [{ kind: "Group", name: "byoc-oncall" }] });
            const entry = res("aws:eks/accessEntry:AccessEntry", "alice", { clusterName: "c", principalArn: "arn:aws:iam::1:role/alice", kubernetesGroups: ["byoc-oncall"], type: "STANDARD" });
            expectViolation(runStack(timeBoundAccess, [cab, entry]).map((v) => v.message), /'alice' kubernetesGroups gives arn:aws:iam::1:role\/alice group byoc-oncall/);
            const auth = res("kubernetes:core/v1:ConfigMap", "aws-auth", { metadata: { name: "aws-auth", namespace: "kube-system" }, data: { mapUsers: "- userarn: arn:aws:iam::1:user/bob\n  username: bob\n  groups: [byoc-oncall]\n" } });
            expectViolation(runStack(timeBoundAccess, [cab, auth]).map((v) => v.message), /mapUsers\[0\]/);
            const viewers = res("aws:eks/accessEntry:AccessEntry", "carol", { clusterName: "c", principalArn: "arn:aws:iam::1:role/carol", kubernetesGroups: ["byoc-viewers"] });
            expectClean(runStack(timeBoundAccess, [cab, viewers])); // a group nothing powerful is bound to
            const idp = (oidc: Record<string, unknown>) => res("aws:eks/identityProviderConfig:IdentityProviderConfig", "okta", { clusterName: "c", oidc: { clientId: "k8s", identityProviderConfigName: "okta", issuerUrl: "https://example.okta.com", ...oidc } });
            expectViolation(runResource(timeBoundAccess, idp({ groupsClaim: "groups" })), /without a groupsPrefix/);
            expectClean(runResource(timeBoundAccess, idp({ groupsClaim: "groups", groupsPrefix: "oidc:" })));
        });
    });
});
