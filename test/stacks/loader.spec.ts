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

const formatProblemsOf = (err: StackConfigError) => err.message;

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

        it("invalid YAML is a StackConfigError with the line, the column and the text there", () => {
            const err = configError(() => readStackFile("bad-yaml", FIXTURES));
            const file = path.join(FIXTURES, "Pulumi.bad-yaml.yaml");
            const message =
                'is not valid YAML: Flow sequence in block collection must be sufficiently indented and end with a ] (BAD_INDENT) at line 5, column 1 (the end of the file), after line 4: "    vpcCidr: [10.40.0.0/16"';
            assert.deepEqual(err.problems, [{ path: file, value: undefined, message }]);
            assert.equal(err.message, `Invalid stack configuration in ${file} (1 problem):\n  ${file}: ${message}`);
        });

        it("a key given twice is invalid YAML, not a silent override", () => {
            const err = configError(() => readStackFile("duplicate-key", FIXTURES));
            assert.deepEqual(err.problems.map((p) => p.message), ['is not valid YAML: Map keys must be unique (DUPLICATE_KEY) at line 5, column 3: "  byoc:network:"']);
        });

        it("every YAML problem is one problem: duplicate keys at any depth, an unknown tag", () => {
            const err = configError(() => readStackFile("yaml-errors", FIXTURES));
            assert.deepEqual(err.problems.map((p) => p.message), [
                'is not valid YAML: Map keys must be unique (DUPLICATE_KEY) at line 6, column 5: "    id: acme-two"',
                'is not valid YAML: Unresolved tag: !prod (TAG_RESOLVE_FAILED) at line 7, column 21: "  byoc:environment: !prod dev"',
                'is not valid YAML: Map keys must be unique (DUPLICATE_KEY) at line 11, column 5: "    azCount: 2"',
            ]);
        });

        it("a tab, an unclosed quote and an unknown alias name their line and column", () => {
            const dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-loader-"));
            try {
                fs.writeFileSync(path.join(dir, "Pulumi.tab.yaml"), "config:\n  aws:region: us-east-1\n\tbyoc:environment: dev\n");
                fs.writeFileSync(path.join(dir, "Pulumi.quote.yaml"), 'config:\n  aws:region: "us-east-1\n');
                fs.writeFileSync(path.join(dir, "Pulumi.alias.yaml"), "config:\n  aws:region: *region\n");
                assert.equal(configError(() => readStackFile("tab", dir)).problems[0].message, 'is not valid YAML: Tabs are not allowed as indentation (TAB_AS_INDENT) at line 3, column 1: "\\tbyoc:environment: dev"');
                assert.deepEqual(configError(() => readStackFile("quote", dir)).problems.map((p) => p.message), [
                    'is not valid YAML: Missing closing "quote (MISSING_CHAR) at line 3, column 1 (the end of the file), after line 2: "  aws:region: \\"us-east-1"',
                ]);
                assert.match(configError(() => readStackFile("alias", dir)).problems[0].message, /^is not valid YAML: Unresolved alias .*region/);
            } finally {
                fs.rmSync(dir, { recursive: true, force: true });
            }
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

    describe("nothing in a stack file is silently dropped", () => {
        const MISINDENTED = {
            path: "byoc:privateEndpointOnly",
            value: true,
            message: "is not a known key; did you mean byoc:controlPlane.privateEndpointOnly? (Pulumi reads a key written without a namespace as byoc:privateEndpointOnly: indent it under byoc:controlPlane)",
        };
        let dir: string;
        beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-loader-"))));
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
        /** Pulumi.prod.yaml of this repository with one edit, as Pulumi.<stack>.yaml in the temp dir. */
        const prodWith = (stack: string, edit: (text: string) => string) => {
            const text = fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
            const edited = edit(text);
            assert.notEqual(edited, text, "the edit applies to Pulumi.prod.yaml");
            fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), edited);
        };

        it("privateEndpointOnly moved two spaces left (directly under config:) is byoc:privateEndpointOnly, an error naming byoc:controlPlane", () => {
            prodWith("misindented", (t) => t.replace("\n    privateEndpointOnly: true\n", "\n  privateEndpointOnly: true\n"));
            const file = readStackFile("misindented", dir);
            assert.equal(file.raw["byoc:privateEndpointOnly"], true, "keyed as Pulumi keys it");
            assert.equal((file.raw["byoc:controlPlane"] as Record<string, unknown>).privateEndpointOnly, undefined);
            const err = configError(() => parseOrThrow(file.raw, "Pulumi.misindented.yaml"));
            assert.deepEqual(err.problems, [MISINDENTED]);
            assert.equal(err.message, `Invalid stack configuration in Pulumi.misindented.yaml (1 problem):\n  byoc:privateEndpointOnly = true: ${MISINDENTED.message}`);
        });

        it("the running engine hands the same key over already namespaced: the same problem", () => {
            const raw = readStackFile("prod", ROOT).raw;
            const controlPlane = { ...(raw["byoc:controlPlane"] as Record<string, unknown>) };
            delete controlPlane.privateEndpointOnly;
            const engine = toEngineConfig({ ...raw, "byoc:controlPlane": controlPlane, "byoc:privateEndpointOnly": true });
            const err = configError(() => withEngineConfig(engine, () => loadStackConfig()));
            assert.deepEqual(err.problems, [MISINDENTED]);
        });

        it("a byoc:access block at the file's top level (outside config:) is an error, not ignored", () => {
            prodWith("access-outside", (t) => t.replace(/\n  byoc:access:\n((?:    .*\n)+)/, (_, body: string) => `\nbyoc:access:\n${body.replace(/^  /gm, "")}`));
            const file = path.join(dir, "Pulumi.access-outside.yaml");
            const err = configError(() => readStackFile("access-outside", dir));
            assert.deepEqual(err.problems[0], {
                path: `${file}: byoc:access`,
                value: { deployRoleArn: "arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy", maxCertificateHours: 8, approvers: ["lead@example.com", "sre-manager@example.com"] },
                message: "is outside config:, so Pulumi ignores it; indent it under config:",
            });
            // The deploy role went missing from config: with the block, and its ExternalId now applies to nothing.
            assert.deepEqual(err.problems.slice(1).map((p) => p.path), ["byoc:access.deployRoleArn", "byoc:deployExternalId"]);
        });

        it("names every key outside config:, then the config's own problems", () => {
            const file = path.join(FIXTURES, "Pulumi.outside-config.yaml");
            const err = configError(() => readStackFile("outside-config", FIXTURES));
            assert.deepEqual(err.problems.slice(0, 3), [
                { path: `${file}: secretsProvider`, value: "passphrase", message: "is not a stack file key, so Pulumi ignores it; did you mean secretsprovider?" },
                { path: `${file}: byoc:access`, value: { maxCertificateHours: 4 }, message: "is outside config:, so Pulumi ignores it; indent it under config:" },
                { path: `${file}: privateEndpointOnly`, value: true, message: "is outside config:, so Pulumi ignores it; did you mean byoc:controlPlane.privateEndpointOnly under config:?" },
            ]);
            assert.ok(err.problems.length > 3 && err.problems.slice(3).every((p) => /^is required/.test(p.message)), formatProblemsOf(err));
            assert.ok(err.problems.some((p) => p.path === "byoc:customer"));
        });

        it("a stack file may hold config, secretsprovider, encryptionsalt, encryptedkey and environment", () => {
            const text = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
            fs.writeFileSync(path.join(dir, "Pulumi.settings.yaml"), `secretsprovider: passphrase\nencryptionsalt: v1:abc\nencryptedkey: ""\nenvironment:\n  - byoc/dev\n${text}`);
            assert.equal(parseOrThrow(readStackFile("settings", dir).raw, "settings").customer.id, "acme-dev");
            fs.writeFileSync(path.join(dir, "Pulumi.extra.yaml"), `${text}notes: ask lead@ first\n`);
            assert.deepEqual(configError(() => readStackFile("extra", dir)).problems.map((p) => p.message), [
                "is not a stack file key, so Pulumi ignores it; a stack file's top-level keys are config, secretsprovider, encryptionsalt, encryptedkey, environment",
            ]);
        });

        it("Pulumi's old <namespace>:config:<key> spelling is the same key; two spellings of one key are an error", () => {
            prodWith("legacy", (t) => t.replace("\n  byoc:customer:\n", "\n  byoc:config:customer:\n"));
            const raw = readStackFile("legacy", dir).raw;
            assert.deepEqual(raw["byoc:customer"], { id: "acme", name: "Acme Corp" });
            assert.equal(parseOrThrow(raw, "legacy").customer.id, "acme");
            prodWith("twice", (t) => t.replace("\n  byoc:environment: prod\n", "\n  byoc:environment: prod\n  environment: dev\n"));
            assert.deepEqual(configError(() => readStackFile("twice", dir)).problems, [
                { path: "byoc:environment", value: "dev", message: "is given twice, as byoc:environment and as environment; Pulumi keeps only one of them" },
            ]);
        });

        it("unknown aws:, tailscale: and kubernetes: keys are errors from the engine too; allowed ones pass", () => {
            const raw = readStackFile("prod", ROOT).raw;
            const engine = toEngineConfig({ ...raw, "aws:skipCredentialsValidation": true, "tailscale:apiKey": "tskey-api-1", "kubernetes:context": "prod" });
            const err = configError(() => withEngineConfig(engine, () => loadStackConfig()));
            assert.deepEqual(err.problems.map((p) => p.path), ["aws:skipCredentialsValidation", "tailscale:apiKey", "kubernetes:context"]);
            assert.ok(err.problems.every((p) => p.message.startsWith("is not allowed: ")));
            // From the engine, a secure value arrives decrypted.
            const ok = withEngineConfig(toEngineConfig({ ...raw, "aws:profile": "acme", "tailscale:oauthClientId": "k123", "tailscale:oauthClientSecret": "tskey-client-s3cret" }), () => loadStackConfig());
            assert.equal(ok.awsProfile, "acme");
            assert.deepEqual(ok.tailscaleProvider, { tailnet: "example.com", oauthClientId: "k123", oauthClientSecret: "tskey-client-s3cret" });
        });

        it("the repository's stack files and the fixtures' valid sections read without a problem", () => {
            for (const stack of ["dev", "prod"]) parseOrThrow(readStackFile(stack, ROOT).raw, stack);
            assert.equal(readStackFile("five-problems", FIXTURES).stack, "five-problems");
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
