import { strict as assert } from "assert";
import * as path from "path";
import { detectEnvironment, normalize, parseSnapshot, readSnapshotFile, SnapshotError } from "../../policies/snapshot";
import { UNKNOWN_OBJECT } from "../../policies/rules/util";

const FIX = path.join(__dirname, "..", "fixtures", "policy");
const SIG = "4dabf18193072939515e22adb298388d";
const SECRET = "1b47061264138c4ac30d75fd1eb44270";

describe("snapshot reader", () => {
    it("reads a stack export: props = outputs overlaid with inputs, __defaults dropped", () => {
        const s = readSnapshotFile(path.join(FIX, "export-clean.json"));
        assert.equal(s.format, "stack-export");
        const vpc = s.resources.find((r) => r.type === "aws:ec2/vpc:Vpc")!;
        assert.equal(vpc.props.id, "vpc-0a1");
        assert.equal(vpc.name, "acme-vpc");
        assert.equal(vpc.parent, "urn:pulumi:dev::byoc-dataplane::byoc:index:DataPlaneNetwork::acme");
        assert.match(vpc.provider!, /::0b3c9f1e-provider-id$/);
        assert.equal(detectEnvironment(s.resources), "dev");
    });
    it("reads the old checkpoint layout and decodes b64 secrets", () => {
        const s = readSnapshotFile(path.join(FIX, "checkpoint-legacy.json"));
        assert.equal(s.format, "checkpoint");
        const key = s.resources.find((r) => r.type === "tailscale:index/tailnetKey:TailnetKey")!;
        assert.equal(key.props.expiry, 7776000);
        assert.equal(key.props.key, "tskey-auth-xyz");
    });
    it("reads preview --json: inputs of newState, delete steps skipped, declared environment", () => {
        const s = readSnapshotFile(path.join(FIX, "preview.json"));
        assert.equal(s.format, "preview");
        assert.equal(s.declaredEnvironment, "prod");
        assert.ok(!s.resources.some((r) => r.name === "old-logs"));
        const rule = s.resources.find((r) => r.type.startsWith("aws:vpc/"))!;
        assert.deepEqual(Object.keys(rule.propertyDependencies!), ["securityGroupId"]);
        const dup = parseSnapshot({ steps: [{ op: "create-replacement", urn: "u::t::n", newState: { urn: "u::t::n", type: "t", inputs: { a: 1 } } }, { op: "replace", urn: "u::t::n", newState: { urn: "u::t::n", type: "t", inputs: { a: 1 } } }] });
        assert.equal(dup.resources.length, 1);
    });
    it("unwraps plaintext secrets, hides undecryptable ones, flattens outputs and resource references", () => {
        assert.deepEqual(normalize({ a: { [SIG]: SECRET, plaintext: '"x"' } }, "passphrase"), { a: "x" });
        assert.deepEqual(normalize({ a: { [SIG]: SECRET, ciphertext: "v1:zzz" } }, "passphrase"), { a: UNKNOWN_OBJECT });
        assert.deepEqual(normalize({ a: [{ [SIG]: "5cf8f73096256a8f31e491e813e4eb8e", urn: "u", id: "i-1" }] }, ""), { a: ["i-1"] });
        assert.deepEqual(normalize({ a: { [SIG]: "d0e6a833031e9bbcd3f4e8bde6ca49a4", value: 3 } }, ""), { a: 3 });
        const same = { a: { b: [1, "x"] } };
        assert.equal(normalize(same, ""), same, "no copy when nothing changes");
    });
    it("rejects non-Pulumi documents and structural errors with one-line messages", () => {
        assert.throws(() => readSnapshotFile(path.join(FIX, "bad-json.json")), (e: Error) => e instanceof SnapshotError && /not valid JSON/.test(e.message));
        assert.throws(() => readSnapshotFile(path.join(FIX, "no-deployment.json")), /missing "deployment"/);
        assert.throws(() => readSnapshotFile(path.join(FIX, "resources-not-array.json")), /deployment.resources is not an array/);
        assert.throws(() => readSnapshotFile(path.join(FIX, "missing.json")), /no such file/);
        assert.throws(() => parseSnapshot([1, 2]), SnapshotError);
        assert.throws(() => parseSnapshot({ steps: {} }), /"steps" is not an array/);
        assert.deepEqual(parseSnapshot({ version: 3, deployment: { manifest: {} } }).resources, []);
        assert.deepEqual(parseSnapshot({ version: 3, checkpoint: { stack: "s" } }).resources, []);
    });
});
