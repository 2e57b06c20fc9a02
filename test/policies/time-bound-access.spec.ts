import { timeBoundAccess } from "../../policies/rules";
import { durationHours } from "../../policies/rules/time-bound-access";
import { strict as assert } from "assert";
import { expectClean, expectViolation, res, runResource, UNKNOWN } from "./helpers";

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
});
