// `byoc policy check --format sarif|junit` (cli/formats.ts): SARIF validated against the OASIS SARIF 2.1.0 schema
// (an unmodified copy in test/support/sarif, see its NOTICE.md) with ajv, JUnit parsed back.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import Ajv04 from "ajv-draft-04";
import addFormats from "ajv-formats";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { checkFile, runPolicyCheck } from "../../cli/policy-check";
import { remediationOf, toJunit, toSarif } from "../../cli/formats";
import { allPolicies } from "../../policies/rules";

const ROOT = path.join(__dirname, "..", "..");
const fx = (f: string) => path.join(ROOT, "test", "fixtures", "policy", f);
const SCHEMA = JSON.parse(fs.readFileSync(path.join(ROOT, "test", "support", "sarif", "sarif-schema-2.1.0.json"), "utf8"));

// strict: false — the OASIS schema itself trips ajv's strict mode (strictRequired on its anyOf); formats are still checked.
const ajv = new Ajv04({ allErrors: true, strict: false });
addFormats(ajv);
const validateSarif = ajv.compile(SCHEMA);

function run(argv: string[]) {
    let out = "";
    let err = "";
    const code = runPolicyCheck(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
    return { code, out, err };
}

function assertValidSarif(log: unknown) {
    const ok = validateSarif(log);
    assert.ok(ok, `SARIF does not match the 2.1.0 schema:\n${ajv.errorsText(validateSarif.errors, { separator: "\n" })}`);
}

describe("byoc policy check --format sarif / junit", () => {
    it("the schema copy is the OASIS errata01 standard, draft-04, unmodified", () => {
        assert.equal(SCHEMA.id, "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json");
        const digest = require("crypto").createHash("sha256").update(fs.readFileSync(path.join(ROOT, "test", "support", "sarif", "sarif-schema-2.1.0.json"))).digest("hex");
        assert.match(fs.readFileSync(path.join(ROOT, "test", "support", "sarif", "NOTICE.md"), "utf8"), new RegExp(digest));
        // The validator catches what GitHub's upload rejects.
        assert.equal(validateSarif({ version: "2.1.0", runs: [{ tool: { driver: {} }, results: [] }] }), false);
    });

    it("sarif: valid SARIF 2.1.0; one rule per policy, one result per violation with its URN as logical location", () => {
        const r = run([fx("export-violations.json"), "--format", "sarif"]);
        assert.equal(r.code, 1, r.err);
        const log = JSON.parse(r.out);
        assertValidSarif(log);
        const check = checkFile(fx("export-violations.json"));
        const [runObj] = log.runs;
        assert.equal(log.runs.length, 1);
        assert.deepEqual(runObj.tool.driver.rules.map((x: { id: string }) => x.id), allPolicies.map((p) => p.name));
        for (const [i, p] of allPolicies.entries()) {
            const rule = runObj.tool.driver.rules[i];
            assert.equal(rule.fullDescription.text, p.description);
            assert.match(rule.help.text, /Remediation: /);
            assert.equal(rule.defaultConfiguration.level, "error"); // prod: everything mandatory
            assert.ok(rule.properties.tags.includes("security"));
        }
        assert.equal(runObj.results.length, check.report.violations.length);
        for (const [i, v] of check.report.violations.entries()) {
            const res = runObj.results[i];
            assert.equal(res.ruleId, v.policy);
            assert.equal(runObj.tool.driver.rules[res.ruleIndex].id, v.policy);
            assert.equal(res.level, v.enforcementLevel === "advisory" ? "warning" : "error");
            assert.equal(res.message.text, v.message);
            if (v.urn) assert.deepEqual(res.locations[0].logicalLocations, [{ fullyQualifiedName: v.urn, name: v.urn.split("::").pop(), kind: "resource" }]);
            assert.ok(res.locations[0].physicalLocation.artifactLocation.uri);
        }
        // A rule's help lists the remediations its results name.
        const ipRule = runObj.tool.driver.rules.find((x: { id: string }) => x.id === "mandatory-ip-filter");
        const ipResult = check.report.violations.find((v) => v.policy === "mandatory-ip-filter")!;
        assert.ok(ipRule.help.text.includes(remediationOf(ipResult.message)!));
        // Stable identities, distinct per finding; one category per checked file.
        const fps = runObj.results.map((x: { partialFingerprints: Record<string, string> }) => x.partialFingerprints["byocPolicyViolation/v1"]);
        assert.equal(new Set(fps).size, fps.length);
        assert.deepEqual(JSON.parse(run([fx("export-violations.json"), "--format", "sarif"]).out).runs[0].results.map((x: any) => x.partialFingerprints["byocPolicyViolation/v1"]), fps);
        assert.equal(runObj.automationDetails.id, "byoc-policy-check/export-violations/");
        assert.equal(runObj.properties.environment, "prod");
    });

    it("sarif: advisory findings are warnings; a clean file has rules and no results; malformed resources are notifications", () => {
        const dev = toSarif(checkFile(fx("export-violations.json"), { env: "dev" })) as any;
        assertValidSarif(dev);
        const advisory = dev.runs[0].results.filter((x: any) => x.properties.enforcementLevel === "advisory");
        for (const a of advisory) assert.equal(a.level, "warning");
        const tls = dev.runs[0].tool.driver.rules.find((x: any) => x.id === "tls-everywhere");
        assert.equal(tls.defaultConfiguration.level, "warning"); // advisory in dev

        const clean = JSON.parse(run([fx("export-clean.json"), "--format", "sarif"]).out);
        assertValidSarif(clean);
        assert.deepEqual(clean.runs[0].results, []);
        assert.equal(clean.runs[0].tool.driver.rules.length, allPolicies.length);

        const malformed = toSarif(checkFile(fx("export-malformed-resource.json"))) as any;
        assertValidSarif(malformed);
        assert.equal(malformed.runs[0].invocations[0].toolExecutionNotifications.length, checkFile(fx("export-malformed-resource.json")).report.errors.length);
    });

    it("sarif / junit: the levels are those of the config the check loaded (--config), not the environment's standard file", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-formats-config-"));
        try {
            const lenient = path.join(dir, "lenient.json");
            const prod = JSON.parse(fs.readFileSync(path.join(ROOT, "policies", "config", "prod.json"), "utf8"));
            fs.writeFileSync(lenient, JSON.stringify({ ...prod, "tls-everywhere": { enforcementLevel: "disabled", environment: "prod" } }));
            const check = checkFile(fx("export-violations.json"), { env: "prod", config: lenient });
            const rule = (toSarif(check) as any).runs[0].tool.driver.rules.find((x: any) => x.id === "tls-everywhere");
            assert.deepEqual(rule.defaultConfiguration, { enabled: false, level: "none" });
            assert.doesNotMatch(toJunit(check), /classname="export-violations\.tls-everywhere"/);
            // the twin: the standard prod config
            const standardCheck = checkFile(fx("export-violations.json"), { env: "prod" });
            const standard = (toSarif(standardCheck) as any).runs[0].tool.driver.rules.find((x: any) => x.id === "tls-everywhere");
            assert.deepEqual(standard.defaultConfiguration, { enabled: true, level: "error" });
            assert.match(toJunit(standardCheck), /classname="export-violations\.tls-everywhere"/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("sarif: the physical location is the stack's Pulumi.<stack>.yaml when the project has it", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-sarif-"));
        try {
            fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config: {}\n");
            const log = toSarif(checkFile(fx("export-violations.json")), { cwd: dir }) as any;
            assertValidSarif(log);
            for (const res of log.runs[0].results) assert.equal(res.locations[0].physicalLocation.artifactLocation.uri, "Pulumi.prod.yaml");
            // No stack file there: the checked document, relative to the working directory.
            const elsewhere = toSarif(checkFile(fx("export-violations.json")), { cwd: path.join(ROOT, "test") }) as any;
            assert.equal(elsewhere.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri, "fixtures/policy/export-violations.json");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("junit: well-formed XML; a suite per policy, mandatory violations fail, advisory ones pass with the finding", () => {
        const r = run([fx("export-violations.json"), "--format", "junit", "--env", "dev"]);
        assert.equal(r.code, 1, r.err);
        assert.equal(XMLValidator.validate(r.out), true);
        const check = checkFile(fx("export-violations.json"), { env: "dev" });
        const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "", isArray: (n) => ["testsuite", "testcase", "property"].includes(n) }).parse(r.out);
        const suites = doc.testsuites.testsuite as any[];
        assert.equal(Number(doc.testsuites.failures), check.report.mandatoryCount);
        const cases = suites.flatMap((s) => s.testcase);
        assert.equal(Number(doc.testsuites.tests), cases.length);
        const failed = cases.filter((c) => c.failure);
        assert.equal(failed.length, check.report.mandatoryCount);
        const names = new Set<string>();
        for (const c of cases) {
            assert.ok(!names.has(`${c.classname} ${c.name}`), `duplicate test case ${c.name}`);
            names.add(`${c.classname} ${c.name}`);
        }
        for (const v of check.report.violations) {
            const base = v.urn ?? "(stack)";
            const c = cases.find(
                (x) =>
                    x.classname === `export-violations.${v.policy}` &&
                    (x.name === base || x.name.startsWith(`${base} (`)) &&
                    (v.enforcementLevel === "mandatory" ? x.failure?.["#text"] === v.message : x["system-out"] === `advisory: ${v.message}`),
            );
            assert.ok(c, `${v.policy} ${v.urn}: ${v.message}`);
        }
        // Policies without findings are passing cases; disabled ones are absent.
        const passed = suites.filter((s) => Number(s.failures) === 0 && s.testcase.length === 1 && s.testcase[0].name === s.name);
        assert.ok(passed.length > 0);
        // Characters XML cannot carry are dropped, the rest escaped.
        const odd = toJunit({ ...check, report: { ...check.report, violations: [{ policy: "p", enforcementLevel: "mandatory", urn: "u<&>\"'", message: "a\u0001b <c>" }] } });
        assert.equal(XMLValidator.validate(odd), true);
        assert.match(odd, /ab &lt;c&gt;/);
    });

    it("--json and --format together are a usage error (exit 2)", () => {
        assert.equal(run([fx("export-clean.json"), "--json", "--format", "sarif"]).code, 2);
        assert.equal(run([fx("export-clean.json"), "--format", "yaml"]).code, 2);
        const json = run([fx("export-clean.json"), "--format", "json"]);
        assert.equal(json.code, 0);
        assert.equal(JSON.parse(json.out).mandatoryCount, 0);
    });
});
