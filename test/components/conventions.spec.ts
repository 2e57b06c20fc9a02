import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { ByocComponent } from "../../components/conventions";
import { runComponent, runStack, Stack } from "../harness";

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

    it("a resource's own tags and labels win over the conventions, also when its metadata is an Output", async () => {
        class Probe extends ByocComponent {
            constructor() {
                super("Probe", "probe", "prometheus");
                new aws.ec2.Vpc("vpc", { cidrBlock: "10.0.0.0/16", tags: { "byoc:component": "Override", Name: "mine" } }, { parent: this });
                new k8s.core.v1.ConfigMap("plain", { metadata: { name: "plain" } }, { parent: this });
                new k8s.core.v1.ConfigMap("own", { metadata: pulumi.output({ name: "own", labels: { "app.kubernetes.io/component": "thanos" } }) }, { parent: this });
                this.registerOutputs({});
            }
        }
        const stack = await runComponent(() => new Probe());
        assert.deepEqual(stack.one("aws:ec2/vpc:Vpc").inputs.tags, { "byoc:customer": "acme", "byoc:environment": "dev", "byoc:component": "Override", Name: "mine" });
        const labels = (name: string) => stack.one("kubernetes:core/v1:ConfigMap", name).inputs.metadata.labels;
        assert.equal(labels("plain")["app.kubernetes.io/component"], "prometheus", "the component's default role");
        assert.equal(labels("own")["app.kubernetes.io/component"], "thanos", "the object's own role");
        assert.equal(labels("own")["app.kubernetes.io/part-of"], "byoc-data-plane");
    });
});
