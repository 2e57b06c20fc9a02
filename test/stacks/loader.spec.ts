// The one reader of stack config: files for the offline preview, the engine's config for `pulumi up`.
import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { loadStackConfig, parseOrThrow, readStackFile, StackConfigError, toEngineConfig } from "../../stacks/loader";

const ROOT = path.resolve(__dirname, "../..");
const FIXTURES = path.join(ROOT, "test/fixtures/stacks");

/** Runs `fn` expecting a StackConfigError and returns it. */
function configError(fn: () => unknown): StackConfigError {
    try {
        fn();
    } catch (err) {
        assert.ok(err instanceof StackConfigError, `expected StackConfigError, got ${(err as Error)?.stack ?? err}`);
        return err;
    }
    assert.fail("expected a StackConfigError");
}

/** Sets the engine's config for the duration of `fn` and restores what was there. */
function withEngineConfig<T>(config: Record<string, string>, fn: () => T): T {
    const saved = pulumi.runtime.allConfig();
    pulumi.runtime.setAllConfig(config);
    try {
        return fn();
    } finally {
        pulumi.runtime.setAllConfig(saved);
    }
}

describe("stacks/loader", () => {
    describe("readStackFile", () => {
        it("reads Pulumi.<stack>.yaml with config keys as Pulumi spells them and values decoded", () => {
            const file = readStackFile("prod", ROOT);
            assert.equal(file.stack, "prod");
            assert.equal(file.file, path.join(ROOT, "Pulumi.prod.yaml"));
            assert.equal(file.raw["aws:region"], "us-east-1");
            assert.equal((file.raw["byoc:network"] as { azCount: number }).azCount, 3);
            assert.equal((file.raw["byoc:network"] as { peering: { ownerId: string }[] }).peering[0].ownerId, "444455556666");
        });

        it("defaults to the current directory", () => {
            const cwd = process.cwd();
            process.chdir(ROOT);
            try {
                assert.equal(readStackFile("dev").file, path.join(ROOT, "Pulumi.dev.yaml"));
            } finally {
                process.chdir(cwd);
            }
        });

        it("a missing file is a StackConfigError naming the file and what to create", () => {
            const err = configError(() => readStackFile("nope", FIXTURES));
            const file = path.join(FIXTURES, "Pulumi.nope.yaml");
            assert.equal(err.source, file);
            assert.equal(err.name, "StackConfigError");
            assert.deepEqual(err.problems, [{ path: file, value: undefined, message: 'stack file not found; create Pulumi.nope.yaml (see README "Adding a customer stack")' }]);
            assert.equal(err.message, `Invalid stack configuration in ${file} (1 problem):\n  ${file}: stack file not found; create Pulumi.nope.yaml (see README "Adding a customer stack")`);
        });

        it("invalid YAML is a StackConfigError with the parser's first line", () => {
            const err = configError(() => readStackFile("bad-yaml", FIXTURES));
            assert.equal(err.problems.length, 1);
            assert.match(err.problems[0].message, /^is not valid YAML: .*at line \d+, column \d+/);
            assert.doesNotMatch(err.problems[0].message, /\n/);
            assert.match(err.message, /Pulumi\.bad-yaml\.yaml: is not valid YAML/);
        });

        it("a key given twice is invalid YAML, not a silent override", () => {
            const err = configError(() => readStackFile("duplicate-key", FIXTURES));
            assert.match(err.problems[0].message, /^is not valid YAML: Map keys must be unique/);
        });

        it("config that is not a map is a StackConfigError", () => {
            for (const stack of ["config-list", "no-config"]) {
                const err = configError(() => readStackFile(stack, FIXTURES));
                const file = path.join(FIXTURES, `Pulumi.${stack}.yaml`);
                assert.equal(err.problems.length, 1);
                assert.equal(err.problems[0].path, `${file}: config`);
                assert.equal(err.problems[0].message, "must be a map of config keys");
            }
        });

        it("an empty file or a scalar document is a StackConfigError", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-loader-"));
            try {
                fs.writeFileSync(path.join(dir, "Pulumi.empty.yaml"), "");
                fs.writeFileSync(path.join(dir, "Pulumi.scalar.yaml"), "just text\n");
                fs.writeFileSync(path.join(dir, "Pulumi.string.yaml"), "config: us-east-1\n");
                for (const stack of ["empty", "scalar", "string"]) {
                    assert.equal(configError(() => readStackFile(stack, dir)).problems[0].message, "must be a map of config keys", stack);
                }
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
        });

        it("refuses stack names that would read outside the directory", () => {
            for (const stack of ["../prod", "a/b", "..", "dev\0"]) {
                const err = configError(() => readStackFile(stack, FIXTURES));
                assert.deepEqual(err.problems, [{ path: "stack", value: stack, message: "is not a stack name: use letters, digits, '-', '_' and '.'" }]);
            }
            assert.equal(readStackFile("five-problems", FIXTURES).stack, "five-problems");
        });

        it("StackConfigError is a pulumi.RunError, so the engine prints it without a stack trace", () => {
            const err = configError(() => readStackFile("nope", FIXTURES));
            assert.ok(pulumi.RunError.isInstance(err));
        });
    });

    describe("parseOrThrow", () => {
        it("returns the validated config", () => {
            const config = parseOrThrow(readStackFile("dev", ROOT).raw, "Pulumi.dev.yaml");
            assert.equal(config.customer.id, "acme-dev");
        });

        it("throws one StackConfigError listing every problem", () => {
            const err = configError(() => parseOrThrow(readStackFile("five-problems", FIXTURES).raw, "Pulumi.five-problems.yaml"));
            assert.equal(err.source, "Pulumi.five-problems.yaml");
            assert.equal(err.problems.length, 5);
            const lines = err.message.split("\n");
            assert.equal(lines[0], "Invalid stack configuration in Pulumi.five-problems.yaml (5 problems):");
            assert.equal(lines.length, 6);
            assert.equal(lines[3], '  byoc:network.vpcCidr = "10.40.0.1/16": has host bits set: use the network address 10.40.0.0/16');
            assert.equal(lines[5], "  byoc:access.maxCertificateHours = 12: must be at most 8 in prod");
        });
    });

    describe("toEngineConfig", () => {
        it("keeps strings and writes everything else as JSON text, as the engine hands config over", () => {
            assert.deepEqual(toEngineConfig({ "aws:region": "us-east-1", "byoc:network": { vpcCidr: "10.40.0.0/16", azCount: 3 }, "byoc:flag": true }), {
                "aws:region": "us-east-1",
                "byoc:network": '{"vpcCidr":"10.40.0.0/16","azCount":3}',
                "byoc:flag": "true",
            });
        });
    });

    describe("loadStackConfig (from the running engine's config)", () => {
        it("reads and validates the config set through pulumi.runtime.setAllConfig", () => {
            for (const stack of ["dev", "prod"] as const) {
                const raw = readStackFile(stack, ROOT).raw;
                const config = withEngineConfig(toEngineConfig(raw), () => loadStackConfig());
                assert.deepEqual(config, parseOrThrow(raw, stack));
            }
        });

        it("decodes JSON text values and keeps plain strings", () => {
            const raw = readStackFile("prod", ROOT).raw;
            const engine = { ...toEngineConfig(raw), "aws:region": "eu-central-1", "byoc:environment": "prod" };
            const config = withEngineConfig(engine, () => loadStackConfig());
            assert.equal(config.region, "eu-central-1");
            assert.equal(config.network.peering[0].ownerId, "444455556666");
        });

        it("accepts the engine's legacy 'byoc:config:<key>' spelling", () => {
            const engine = Object.fromEntries(Object.entries(toEngineConfig(readStackFile("dev", ROOT).raw)).map(([k, v]) => [k.replace(/^byoc:/, "byoc:config:"), v]));
            assert.equal(withEngineConfig(engine, () => loadStackConfig()).customer.id, "acme-dev");
        });

        it("throws a StackConfigError naming the stack and every problem", () => {
            const raw = { ...readStackFile("prod", ROOT).raw, "byoc:netwrok": { azCount: 3 } } as Record<string, unknown>;
            delete raw["byoc:telemetry"];
            const err = configError(() => withEngineConfig(toEngineConfig(raw), () => loadStackConfig()));
            assert.match(err.source, /^stack /);
            assert.match(err.message, new RegExp(`^Invalid stack configuration in stack ${pulumi.getStack()} \\(2 problems\\):`));
            assert.deepEqual(err.problems.map((p) => p.path), ["byoc:netwrok", "byoc:telemetry"]);
        });

        it("restores the engine's config afterwards", () => {
            const before = pulumi.runtime.allConfig();
            withEngineConfig({ "aws:region": "us-west-2" }, () => assert.equal(pulumi.runtime.allConfig()["aws:region"], "us-west-2"));
            assert.deepEqual(pulumi.runtime.allConfig(), before);
        });
    });
});
