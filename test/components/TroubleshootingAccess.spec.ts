// TroubleshootingAccess under the mock runtime: certificates only for grants that have not ended, signed from the
// engineer's CSR, client_auth, valid min(maxCertificateHours, time left) whole hours; ClickHouse users and EKS
// view-only access for exactly those grants; nothing at all for an ended grant.
import { strict as assert } from "assert";
import { XMLParser } from "fast-xml-parser";
import { EKS_VIEW_POLICY_ARN, selectGrants, TroubleshootingAccess } from "../../components/TroubleshootingAccess";
import { MOCK_NOW } from "../../preview/mocks";
import { Grant } from "../../stacks/schema";
import { runComponent, runStack } from "../harness";
import { engineerCsr, tamperedCsr, TestPki } from "../support/pki";

const T = {
    cert: "tls:index/locallySignedCert:LocallySignedCert",
    selfSigned: "tls:index/selfSignedCert:SelfSignedCert",
    role: "aws:iam/role:Role",
    entry: "aws:eks/accessEntry:AccessEntry",
    assoc: "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
    configMap: "kubernetes:core/v1:ConfigMap",
};
const H = 3600_000;
const now = MOCK_NOW;
const at = (hours: number) => new Date(now.getTime() + hours * H).toISOString();

function grant(id: string, engineer: string, notAfterHours: number): Grant {
    return { id, engineer, csrPem: engineerCsr(engineer), reason: "INC-1234 slow merges", approvedBy: "lead@example.com", notAfter: at(notAfterHours) };
}

describe("TroubleshootingAccess", () => {
    const grants = [
        grant("alice-short", "alice@example.com", 3), // 3 h left → 3 h
        grant("bob-long", "bob@example.com", 48), // capped at maxCertificateHours
        grant("carol-partial", "carol@example.com", 2.5), // rounded down → 2 h
        grant("dave-expired", "dave@example.com", -1), // ended → nothing
        grant("erin-now", "erin@example.com", 0), // ends now → nothing
        grant("frank-minutes", "frank@example.com", 0.5), // under an hour → nothing (can't issue < 1 h)
    ];

    it("selectGrants: validity is floor(min(maxCertificateHours, hours until notAfter)); ended grants are skipped", () => {
        const sel = selectGrants(grants, 8, now);
        assert.deepEqual(sel.active.map((a) => [a.grant.id, a.validityHours]), [["alice-short", 3], ["bob-long", 8], ["carol-partial", 2]]);
        assert.deepEqual(sel.skipped.map((s) => s.id), ["dave-expired", "erin-now", "frank-minutes"]);
        assert.deepEqual(selectGrants(grants, 24, now).active.map((a) => a.validityHours), [3, 24, 2]);
    });

    describe("under mocks", () => {
        let s: Awaited<ReturnType<typeof runComponent>>;
        before(async () => {
            s = await runComponent(() => {
                const access = new TroubleshootingAccess("byoc-acme", { customer: "acme", clusterName: "byoc-acme-prod", maxCertificateHours: 8, grants, now });
                return { grants: access.grants, ca: access.caCertPem };
            });
        });

        it("creates a troubleshooting CA that can sign and nothing else", () => {
            const ca = s.one(T.selfSigned);
            assert.equal(ca.inputs.isCaCertificate, true);
            assert.deepEqual(ca.inputs.allowedUses, ["cert_signing", "crl_signing"]);
        });

        it("one client certificate per active grant, from the engineer's CSR, client_auth, validity capped", () => {
            const certs = s.ofType(T.cert);
            assert.deepEqual(certs.map((c) => c.name).sort(), ["byoc-acme-grant-alice-short", "byoc-acme-grant-bob-long", "byoc-acme-grant-carol-partial"]);
            const hours: Record<string, number> = { "alice-short": 3, "bob-long": 8, "carol-partial": 2 };
            for (const c of certs) {
                const id = c.name.replace("byoc-acme-grant-", "");
                const g = grants.find((x) => x.id === id)!;
                assert.equal(c.inputs.certRequestPem, g.csrPem, "signed from the CSR: no private key in state");
                assert.equal(c.inputs.privateKeyPem, undefined);
                assert.deepEqual(c.inputs.allowedUses, ["client_auth", "digital_signature", "key_encipherment"]);
                assert.equal(c.inputs.validityPeriodHours, hours[id]);
                assert.ok(c.inputs.validityPeriodHours <= 8);
                assert.ok(now.getTime() + c.inputs.validityPeriodHours * H <= Date.parse(g.notAfter), `${id} outlives its grant`);
                assert.notEqual(c.inputs.isCaCertificate, true);
            }
        });

        it("ended grants (and grants with under an hour left) create nothing at all", () => {
            for (const id of ["dave-expired", "erin-now", "frank-minutes"]) {
                assert.deepEqual(s.resources.filter((r) => r.name.includes(id)).map((r) => r.urn), []);
            }
            const xml = s.one(T.configMap).inputs.data["troubleshooting-users.xml"] as string;
            for (const who of ["dave", "erin", "frank"]) assert.doesNotMatch(xml, new RegExp(who));
        });

        it("per grant: a role whose trust ends at notAfter and pins the session to the engineer, a view-only access entry", () => {
            const roles = s.ofType(T.role);
            assert.equal(roles.length, 3);
            for (const r of roles) {
                const id = r.name.replace("byoc-acme-grant-", "");
                const g = grants.find((x) => x.id === id)!;
                assert.equal(r.inputs.maxSessionDuration, 3600);
                assert.equal(r.inputs.tags["byoc:role"], "troubleshooting");
                const [stmt] = JSON.parse(r.inputs.assumeRolePolicy).Statement;
                assert.equal(stmt.Action, "sts:AssumeRole");
                assert.deepEqual(stmt.Condition, { StringEquals: { "sts:RoleSessionName": g.engineer }, DateLessThan: { "aws:CurrentTime": g.notAfter } });
                const entry = s.ofType(T.entry).find((e) => e.name === r.name)!;
                assert.equal(entry.inputs.principalArn, r.outputs.arn);
                assert.equal(entry.inputs.kubernetesGroups, undefined, "no groups (never system:masters)");
                assert.equal(entry.inputs.userName, `troubleshoot:${id}:{{SessionName}}`);
                const assoc = s.ofType(T.assoc).find((a) => a.name === r.name)!;
                assert.equal(assoc.inputs.policyArn, EKS_VIEW_POLICY_ARN);
                assert.deepEqual(assoc.inputs.accessScope, { type: "cluster" });
                assert.equal(assoc.inputs.principalArn, r.outputs.arn);
            }
        });

        it("the ClickHouse ConfigMap has exactly the active engineers, read-only on system.* only, strict CA verification", () => {
            const cm = s.one(T.configMap);
            assert.equal(cm.inputs.metadata.labels["app.kubernetes.io/component"], "troubleshooting");
            const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false });
            const users = parser.parse(cm.inputs.data["troubleshooting-users.xml"]).clickhouse.users;
            assert.deepEqual(Object.keys(users).sort(), ["ts_alice_example_com", "ts_bob_example_com", "ts_carol_example_com"]);
            assert.equal(users.ts_bob_example_com.ssl_certificates.common_name, "bob@example.com");
            assert.equal(users.ts_bob_example_com.grants.query, "GRANT SELECT ON system.*");
            const ssl = parser.parse(cm.inputs.data["troubleshooting-openssl.xml"]).clickhouse.openSSL.server;
            assert.equal(ssl.verificationMode, "strict");
            assert.equal(ssl.caConfig, "/etc/clickhouse-server/troubleshooting/troubleshooting-ca.crt");
            assert.match(cm.inputs.data["troubleshooting-ca.crt"], /BEGIN CERTIFICATE/);
        });

        it("outputs the active grants with expiry and certificate PEMs", () => {
            const out = s.outputs.grants as any[];
            assert.deepEqual(out.map((g) => [g.id, g.engineer, g.validityHours, g.certificateExpiresAt]), [
                ["alice-short", "alice@example.com", 3, at(3)],
                ["bob-long", "bob@example.com", 8, at(8)],
                ["carol-partial", "carol@example.com", 2, at(2)],
            ]);
            for (const g of out) {
                assert.match(g.certPem, /BEGIN CERTIFICATE/);
                assert.match(g.roleArn, /^arn:aws:iam::\d{12}:role\//);
                assert.equal(g.notAfter, grants.find((x) => x.id === g.id)!.notAfter);
            }
        });
    });

    it("with only ended grants: the CA and an empty users file, no certificate, role or access entry", async () => {
        const s = await runComponent(() => new TroubleshootingAccess("t", { customer: "acme", clusterName: "c", maxCertificateHours: 8, grants: [grants[3], grants[4]], now }));
        for (const type of [T.cert, T.role, T.entry, T.assoc]) assert.equal(s.ofType(type).length, 0, type);
        assert.equal(s.ofType(T.selfSigned).length, 1);
        assert.doesNotMatch(s.one(T.configMap).inputs.data["troubleshooting-users.xml"], /<ts_/);
    });

    it("refuses a CSR whose CN is not the engineer, naming the grant", async () => {
        const forged = { ...grant("mallory", "mallory@example.com", 3), csrPem: engineerCsr("alice@example.com") };
        await assert.rejects(
            runComponent(() => new TroubleshootingAccess("t", { customer: "acme", clusterName: "c", maxCertificateHours: 8, grants: [forged], now })),
            /byoc:access\.grants\[0\] \(id mallory, engineer mallory@example\.com\): csrPem its subject CN is "alice@example.com"; it must be exactly "mallory@example.com"/,
        );
    });

    it("applies the portal's CSR check to every grant that gets a certificate, hand-written ones too, naming byoc:access.grants[i]", async () => {
        const pki = new TestPki("pki-component-");
        try {
            const me = "alice@example.com";
            const bad: [string, string, RegExp][] = [
                ["two-cn", pki.csrWith("two", { subj: `/CN=${me}/CN=mallory@example.com` }), /has 2 subject CNs/],
                ["masters", pki.csrWith("m", { subj: `/CN=${me}/O=system:masters` }), /O="system:masters"/],
                ["san", pki.csrWith("s", { subj: `/CN=${me}`, addext: ["subjectAltName=DNS:evil.example.com"] }), /extensionRequest/],
                ["rsa1024", pki.csrWith("r", { subj: `/CN=${me}`, key: "rsa:1024" }), /1024-bit RSA key/],
                ["tampered", tamperedCsr(engineerCsr(me)), /signature does not verify/],
                ["case", engineerCsr("Alice@example.com"), /it must be exactly "alice@example.com"/],
                ["new-header", engineerCsr(me).replace(/CERTIFICATE REQUEST/g, "NEW CERTIFICATE REQUEST"), /exactly one PEM block/],
            ];
            for (const [id, csrPem, why] of bad) {
                // an ended grant in front: the index is the grant's place in byoc:access.grants, not among the active ones
                const list = [grants[3], { ...grant(id, me, 3), csrPem }];
                await assert.rejects(
                    runComponent(() => new TroubleshootingAccess("t", { customer: "acme", clusterName: "c", maxCertificateHours: 8, grants: list, now })),
                    (err: Error) => new RegExp(`byoc:access\\.grants\\[1\\] \\(id ${id}, `).test(err.message) && why.test(err.message),
                    id,
                );
            }
        } finally {
            pki.cleanup();
        }
    });

    const PROD_DEPLOY_ROLE = "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy";
    for (const env of ["prod", "dev"] as const) {
        it(`${env} stack: grants from byoc:access flow through index.ts; the policy pack's time-bound-access rule is satisfied`, async () => {
            const s = await runStack(env, {
                "byoc:access": { ...(env === "prod" ? { deployRoleArn: PROD_DEPLOY_ROLE } : {}), maxCertificateHours: env === "prod" ? 8 : 24, approvers: ["lead@example.com"], grants: [grants[1], grants[3]] },
            }, now);
            const out = s.outputs.troubleshootingGrants as any[];
            assert.deepEqual(out.map((g) => [g.id, g.validityHours]), [["bob-long", env === "prod" ? 8 : 24]]);
            assert.match(s.outputs.troubleshootingCaCertPem, /BEGIN CERTIFICATE/);
            const report = s.policyReport(env);
            assert.deepEqual(report.violations.filter((v) => v.urn?.includes("TroubleshootingAccess") || v.policy === "time-bound-access"), []);
        });
    }
});
