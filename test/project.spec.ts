// Both Pulumi projects load: their config declarations pass Pulumi's Project.Validate (test/support/pulumiProject.ts).
import { strict as assert } from "assert";
import * as path from "path";
import { projectConfigProblems, readProject } from "./support/pulumiProject";

const ROOT = path.resolve(__dirname, "..");

describe("Pulumi.yaml of both projects", () => {
    for (const file of ["Pulumi.yaml", "bootstrap/Pulumi.yaml"]) {
        it(`${file}: other namespaces only with a value, never a type or default`, () => {
            const p = readProject(path.join(ROOT, file));
            assert.deepEqual(projectConfigProblems(p.name, p.config), []);
        });
    }

    it("the check refuses what Pulumi refuses", () => {
        assert.deepEqual(projectConfigProblems("byoc", { "aws:region": { description: "region" } }), ["aws:region: no value"]);
        assert.deepEqual(projectConfigProblems("byoc", { "aws:region": { type: "string", default: "us-east-1", value: "x" } }), ["aws:region: a type", "aws:region: a default"]);
        assert.deepEqual(projectConfigProblems("byoc", { "byoc:tags": { type: "array" } }), ["byoc:tags: an array without items"]);
        assert.deepEqual(projectConfigProblems("byoc", { "byoc:environment": { type: "string" } }), []);
    });
});
