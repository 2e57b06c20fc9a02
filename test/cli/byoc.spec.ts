// The `byoc` root: help lists the exit codes everywhere, --version prints the package version, and a subcommand
// loads only what it needs (`byoc policy check` never loads @pulumi/pulumi, TypeScript or npm's arborist).
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");
const BYOC = path.join(ROOT, "cli", "byoc.js");
const VERSION: string = require("../../package.json").version;

const byoc = (args: string[], nodeArgs: string[] = [], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [...nodeArgs, BYOC, ...args], { cwd: ROOT, encoding: "utf8", timeout: 60000, env: { ...process.env, ...env } });

describe("byoc command line", function () {
    this.timeout(60000);

    it("--version and -V print the package version", () => {
        for (const flag of ["--version", "-V"]) {
            const r = byoc([flag]);
            assert.equal(r.status, 0, r.stderr);
            assert.equal(r.stdout, `${VERSION}\n`);
        }
    });

    for (const args of [[], ["preview"], ["policy"], ["policy", "check"], ["portal"]]) {
        it(`byoc ${[...args, "--help"].join(" ")} lists the exit codes`, () => {
            const r = byoc([...args, "--help"]);
            assert.equal(r.status, 0, r.stderr);
            assert.match(r.stdout, /\nExit codes( \([a-z ]+\))?:\n {2}0 {2}\S.*\n {2}1 {2}\S.*\n(.*\n)? {2}2 {2}\S/);
        });
    }

    it("npm run preview -- --help lists them too", () => {
        const r = spawnSync(process.execPath, ["--require", "./cli/register.js", "cli/preview.ts", "--help"], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0);
        assert.match(r.stdout, /\nExit codes:\n {2}0 {2}clean/);
        assert.match(r.stdout, /BYOC_DEBUG=1/);
    });

    describe("start-up: each path loads only what it needs", () => {
        let dir: string;
        before(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "byoc-startup-"));
            // Preloaded into the child: which heavy modules were loaded by the time it exits.
            fs.writeFileSync(
                path.join(dir, "loaded.js"),
                `process.on("exit", () => { const f = Object.keys(require.cache); require("fs").writeFileSync(process.env.BYOC_LOADED_OUT, JSON.stringify({
                    pulumi: f.some((x) => x.includes("/node_modules/@pulumi/pulumi/")),
                    typescript: f.some((x) => x.includes("/node_modules/typescript/")),
                    arborist: f.some((x) => x.includes("/node_modules/@npmcli/arborist/")),
                    zod: f.some((x) => x.includes("/node_modules/zod/")),
                    engine: f.some((x) => x.endsWith("/policies/engine.ts")),
                })); });\n`,
            );
        });
        after(() => fs.rmSync(dir, { recursive: true, force: true }));

        const loaded = (args: string[]) => {
            const out = path.join(dir, `loaded-${args.join("-").replace(/[^a-z-]/gi, "")}.json`);
            const r = byoc(args, ["--require", path.join(dir, "loaded.js")], { BYOC_LOADED_OUT: out });
            return { status: r.status, stderr: r.stderr, loaded: JSON.parse(fs.readFileSync(out, "utf8")) as Record<string, boolean> };
        };

        it("byoc policy check: the engine, and not @pulumi/pulumi, TypeScript, arborist or the config schema", () => {
            const r = loaded(["policy", "check", path.join(ROOT, "test", "fixtures", "policy", "export-clean.json")]);
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.loaded, { pulumi: false, typescript: false, arborist: false, zod: false, engine: true });
        });

        it("byoc preview: @pulumi/pulumi, but not the closure serializer's TypeScript and arborist (preview/sdkLoad)", () => {
            const r = loaded(["preview", "dev"]);
            assert.equal(r.status, 0, r.stderr);
            assert.deepEqual(r.loaded, { pulumi: true, typescript: false, arborist: false, zod: true, engine: true });
        });

        it("byoc --help: nothing but commander", () => {
            const r = loaded(["--help"]);
            assert.equal(r.status, 0);
            assert.deepEqual(r.loaded, { pulumi: false, typescript: false, arborist: false, zod: false, engine: false });
        });
    });
});
