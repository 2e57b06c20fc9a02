import { strict as assert } from "assert";
import * as aws from "@pulumi/aws";
import { runStack, Stack } from "../harness";

/** Whether the AWS SDK class behind a type token supports tags (taggable resources declare a `tagsAll` output). */
function awsTaggable(type: string): boolean {
    const [, mod, cls] = /^aws:([^/]+)\/[^:]+:(.+)$/.exec(type) ?? [];
    const namespace = mod === "index" ? aws : (aws as any)[mod];
    const ctor = namespace?.[cls];
    assert.ok(ctor, `no @pulumi/aws class for ${type}`);
    return /resourceInputs\["tagsAll"\]/.test(ctor.toString());
}

const ROLES = ["tailscale-agent", "tailnet-nginx", "ingress-gateway", "billing-scraper", "state-exporter", "alertmanager", "prometheus", "thanos", "troubleshooting"];

describe("tags and labels (DESIGN.md §4)", () => {
    const stacks: Record<string, Stack> = {};
    before(async () => {
        stacks.dev = await runStack("dev");
        stacks.prod = await runStack("prod");
    });

    for (const [env, customer] of [["dev", "acme-dev"], ["prod", "acme"]]) {
        it(`every taggable AWS resource of the ${env} stack carries customer, environment and component`, () => {
            const aws = stacks[env].resources.filter((r) => r.type.startsWith("aws:") && awsTaggable(r.type));
            assert.ok(aws.length > 20);
            for (const r of aws) {
                const tags = r.inputs.tags ?? {};
                assert.equal(tags["byoc:customer"], customer, `${r.urn} byoc:customer`);
                assert.equal(tags["byoc:environment"], env, `${r.urn} byoc:environment`);
                assert.match(tags["byoc:component"] ?? "", /^[A-Z][A-Za-z]+$/, `${r.urn} byoc:component`);
                if (tags["byoc:role"] !== undefined) assert.ok(ROLES.includes(tags["byoc:role"]), `${r.urn} byoc:role ${tags["byoc:role"]}`);
            }
        });

        it(`the EKS component and every Kubernetes object of the ${env} stack are tagged / labelled`, () => {
            const eks = stacks[env].one("eks:index:Cluster");
            assert.equal(eks.inputs.tags["byoc:customer"], customer);
            const objects = stacks[env].resources.filter((r) => r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh"));
            for (const r of objects) {
                const labels = r.inputs.metadata?.labels ?? {};
                assert.equal(labels["app.kubernetes.io/part-of"], "byoc-data-plane", r.urn);
                assert.equal(labels["app.kubernetes.io/managed-by"], "pulumi", r.urn);
                assert.ok(labels["app.kubernetes.io/component"], `${r.urn} has no component label`);
            }
        });
    }

    it("a resource's own tags win over the conventions", () => {
        const subnet = stacks.dev.ofType("aws:ec2/subnet:Subnet")[0];
        assert.match(subnet.inputs.tags.Name, /^byoc-acme-dev-(private|public)-\d$/);
    });
});
