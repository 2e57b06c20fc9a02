// preview/sdkLoad: the closure serializer loads when something serializes a function, not with the SDK.
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

describe("preview/sdkLoad: deferring the SDK's closure serializer", function () {
    this.timeout(60000);
    it("@pulumi/pulumi loads without TypeScript and arborist, and serializeFunction still works (loading them then)", () => {
        const script = `
            const loaded = (m) => Object.keys(require.cache).some((f) => f.includes("/node_modules/" + m + "/"));
            require("./preview/sdkLoad.ts").deferClosureSerializer();
            const pulumi = require("@pulumi/pulumi");
            const before = { typescript: loaded("typescript"), arborist: loaded("@npmcli/arborist") };
            const codePaths = require("@pulumi/pulumi/runtime/closure/codePaths");
            pulumi.runtime.serializeFunction(() => 42).then((f) => {
                const afterSerialize = { typescript: loaded("typescript"), arborist: loaded("@npmcli/arborist") };
                const keys = Object.keys(codePaths); // any other use of the module loads the real one
                console.log(JSON.stringify({ before, computeCodePaths: typeof codePaths.computeCodePaths, text: f.text.includes("42"), afterSerialize, keys: keys.includes("computeCodePaths"), arborist: loaded("@npmcli/arborist") }));
            });`;
        const r = spawnSync(process.execPath, ["--require", "./cli/register.js", "--no-warnings", "-e", script], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr);
        assert.deepEqual(JSON.parse(r.stdout), {
            before: { typescript: false, arborist: false },
            computeCodePaths: "function",
            text: true,
            afterSerialize: { typescript: true, arborist: false },
            keys: true,
            arborist: true,
        });
    });
});
