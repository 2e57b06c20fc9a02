import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { runProgram, DuplicateUrnError, ProgramErrors } from "../../preview/runtime";
import { toStackExport } from "../../preview/snapshot";
import { formatCounts, formatTree } from "../../preview/printer";

class Box extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Box", name, {}, opts);
        this.registerOutputs({ ok: true });
    }
}

describe("mock runtime", () => {
    it("records parents, dependencies, inputs and outputs, and the stack outputs", async () => {
        const run = await runProgram(() => {
            const box = new Box("box");
            const vpc = new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" }, { parent: box });
            const subnet = new aws.ec2.Subnet("subnet", { vpcId: vpc.id, cidrBlock: "10.0.0.0/24" }, { parent: box });
            return { subnetId: subnet.id };
        }, { stack: "t", config: { "aws:region": "eu-west-1" } });
        const byName = (n: string) => run.resources.find((r) => r.name === n)!;
        assert.equal(byName("box").parent, run.resources.find((r) => r.type === "pulumi:pulumi:Stack")!.urn);
        assert.equal(byName("subnet").parent, byName("box").urn);
        assert.equal(byName("subnet").urn, "urn:pulumi:t::byoc::test:index:Box$aws:ec2/subnet:Subnet::subnet");
        assert.deepEqual(byName("subnet").dependencies, [byName("vpc").urn]);
        assert.deepEqual(byName("subnet").propertyDependencies.vpcId, [byName("vpc").urn]);
        assert.match(byName("vpc").id!, /^vpc-[0-9a-f]{17}$/);
        assert.equal(byName("subnet").inputs.vpcId, byName("vpc").id);
        assert.deepEqual(byName("box").outputs, { ok: true });
        assert.match(run.outputs.subnetId, /^subnet-/);
    });

    it("fails on duplicate URNs, naming them", async () => {
        await assert.rejects(
            runProgram(() => {
                new aws.ec2.Vpc("same", { cidrBlock: "10.0.0.0/16" });
                new aws.ec2.Vpc("same", { cidrBlock: "10.1.0.0/16" });
            }, { stack: "t", config: {} }),
            (err: unknown) => err instanceof DuplicateUrnError && err.urns[0] === "urn:pulumi:t::byoc::aws:ec2/vpc:Vpc::same",
        );
    });

    it("surfaces a program error instead of hanging", async () => {
        await assert.rejects(runProgram(() => { throw new pulumi.RunError("bad arguments"); }, { stack: "t", config: {} }), /bad arguments/);
    });

    // The SDK's own runner turns these unhandled rejections into program errors; under the mocks they used to make
    // the run succeed with the resource missing, and then crash the process with ~1,400 lines of Node internals.
    it("a throw inside apply() fails the run, as under `pulumi up` (never a silent success)", async () => {
        await assert.rejects(
            runProgram(() => {
                const vpc = new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" });
                new aws.ec2.Subnet("subnet", { vpcId: vpc.id.apply((): string => { throw new pulumi.ResourceError("no subnet for you", vpc); }), cidrBlock: "10.0.0.0/24" });
            }, { stack: "t", config: {} }),
            /error serializing property "vpcId": no subnet for you/,
        );
        await assert.rejects(
            runProgram(() => {
                new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" }).id.apply(() => { throw new Error("dangling apply"); });
            }, { stack: "t", config: {} }),
            /dangling apply/,
        );
    });

    it("several errors in one run: each reported once, in the order seen", async () => {
        const err: unknown = await runProgram(() => {
            new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" }).id.apply(() => { throw new Error("first: an apply"); });
            throw new pulumi.RunError("second: the body");
        }, { stack: "t", config: {} }).then(() => undefined, (e) => e);
        assert.ok(err instanceof ProgramErrors, String(err));
        assert.deepEqual(err.errors.map((e) => (e as Error).message), ["second: the body", "first: an apply"]);
    });

    it("records what the mocks made up, and only that", async () => {
        const run = await runProgram(() => {
            new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16", tags: { Name: "vpc-0123456789abcdef0" } });
        }, { stack: "t", config: {} });
        const vpc = run.resources.find((r) => r.type === "aws:ec2/vpc:Vpc")!;
        assert.equal(run.invented.get(vpc.id!), "id of aws:ec2/vpc:Vpc vpc");
        assert.match(run.invented.get(vpc.outputs.arn)!, /^aws:ec2\/vpc:Vpc vpc\.arn$/);
        assert.ok(!run.invented.has("10.0.0.0/16"), "an input echoed back is not invented");
        assert.ok(!run.invented.has("vpc-0123456789abcdef0"), "nor is a value the program set");
    });

    it("writes a snapshot in `pulumi stack export` shape and prints a tree with counts", async () => {
        const run = await runProgram(() => {
            const box = new Box("box");
            new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16" }, { parent: box });
        }, { stack: "t", config: {} });
        const exported = JSON.parse(JSON.stringify(toStackExport(run)));
        assert.equal(exported.version, 3);
        const vpc = exported.deployment.resources.find((r: any) => r.type === "aws:ec2/vpc:Vpc");
        assert.deepEqual(Object.keys(vpc).sort(), ["custom", "dependencies", "id", "inputs", "outputs", "parent", "type", "urn"]);
        assert.equal(vpc.custom, true);
        assert.equal(formatTree(run.resources).split("\n")[2], "   └─ aws:ec2/vpc:Vpc  vpc");
        assert.match(formatCounts(run.resources), /1  aws:ec2\/vpc:Vpc\n[\s\S]*3  total$/);
    });
});
