// The ClickHouse troubleshooting config parses as XML and says exactly what it should: one certificate-only user
// per engineer, a read-only profile, SELECT on system.* and nothing else, strict verification against the CA.
import { strict as assert } from "assert";
import { XMLParser } from "fast-xml-parser";
import {
    clickhouseUserName, renderClickhouseOpenSslXml, renderClickhouseUsersXml, SYSTEM_GRANT, TROUBLESHOOTING_PROFILE,
} from "../../../components/render/clickhouse";
import { clickhouseUserProblems } from "../../../policies/rules/time-bound-access";

const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false, isArray: (name) => name === "query" || name === "common_name" || name === "ip" });
const parse = (xml: string) => parser.parse(xml, true) as Record<string, any>;

describe("render/clickhouse", () => {
    const users = [
        { name: clickhouseUserName("alice@example.com"), commonName: "alice@example.com", notAfter: "2026-11-25T18:00:00Z" },
        { name: clickhouseUserName("bob.smith@example.com"), commonName: "bob.smith@example.com" },
    ];

    it("user names are stable and XML-safe", () => {
        assert.equal(clickhouseUserName("alice@example.com"), "ts_alice_example_com");
        assert.equal(clickhouseUserName("Bob.Smith+oncall@Example.com"), "ts_bob_smith_oncall_example_com");
    });

    it("users.d parses and contains exactly the users, the read-only profile and the system grant", () => {
        const doc = parse(renderClickhouseUsersXml(users));
        const root = doc.clickhouse;
        assert.deepEqual(Object.keys(root).sort(), ["profiles", "users"]);
        assert.deepEqual(Object.keys(root.profiles), [TROUBLESHOOTING_PROFILE]);
        assert.equal(root.profiles[TROUBLESHOOTING_PROFILE].readonly, "1");
        assert.deepEqual(Object.keys(root.users), ["ts_alice_example_com", "ts_bob_smith_example_com"]);
        for (const u of users) {
            const entry = root.users[u.name];
            assert.deepEqual(Object.keys(entry).sort(), ["access_management", "grants", "networks", "profile", "quota", "ssl_certificates"]);
            assert.deepEqual(entry.ssl_certificates, { common_name: [u.commonName] });
            assert.equal(entry.profile, TROUBLESHOOTING_PROFILE);
            assert.equal(entry.access_management, "0");
            assert.deepEqual(entry.grants, { query: [SYSTEM_GRANT] });
            assert.equal(entry.password, undefined, "certificate only: no password of any kind");
        }
    });

    it("passes the policy pack's ClickHouse user check", () => {
        assert.deepEqual(clickhouseUserProblems(renderClickhouseUsersXml(users), true), []);
    });

    it("renders a valid document with no users (every grant ended)", () => {
        const doc = parse(renderClickhouseUsersXml([]));
        assert.equal(doc.clickhouse.users, "");
        assert.equal(doc.clickhouse.profiles[TROUBLESHOOTING_PROFILE].readonly, "1");
    });

    it("refuses duplicate users, shared common names and unsafe values, naming them", () => {
        assert.throws(() => renderClickhouseUsersXml([users[0], users[0]]), /ts_alice_example_com appears twice/);
        assert.throws(() => renderClickhouseUsersXml([users[0], { name: "ts_other", commonName: "alice@example.com" }]), /alice@example.com maps to two users/);
        assert.throws(() => renderClickhouseUsersXml([{ name: "ts_x", commonName: "a<b>@example.com" }]), /common name "a<b>@example.com"/);
        assert.throws(() => renderClickhouseUsersXml([{ name: "x><y", commonName: "a@example.com" }]), /user name "x><y"/);
    });

    it("openSSL config: strict verification against the troubleshooting CA only", () => {
        const doc = parse(renderClickhouseOpenSslXml({ caConfig: "/etc/clickhouse-server/troubleshooting/troubleshooting-ca.crt" }));
        const server = doc.clickhouse.openSSL.server;
        assert.equal(server.verificationMode, "strict");
        assert.equal(server.caConfig, "/etc/clickhouse-server/troubleshooting/troubleshooting-ca.crt");
        assert.equal(server.loadDefaultCAFile, "false");
        assert.match(server.disableProtocols, /tlsv1_1/);
        assert.throws(() => renderClickhouseOpenSslXml({ caConfig: "relative.crt" }), /caConfig "relative.crt"/);
    });
});
