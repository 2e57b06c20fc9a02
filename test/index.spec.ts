import { strict as assert } from "assert";
import { runStack, Stack } from "./harness";

describe("index.ts composition", () => {
    let prod: Stack;
    before(async () => {
        prod = await runStack("prod");
    });

    it("sends every Kubernetes object and Helm release to the new cluster, never to an ambient kubeconfig", () => {
        const provider = prod.one("pulumi:providers:kubernetes");
        const k8s = prod.resources.filter((r) => r.custom && r.type.startsWith("kubernetes:"));
        assert.ok(k8s.length > 50);
        for (const r of k8s) assert.ok(r.provider?.startsWith(`${provider.urn}::`), `${r.urn} uses ${r.provider ?? "the default provider"}`);
    });

    it("creates the clickhouse namespace before what lives in it", () => {
        const ns = prod.ofType("kubernetes:core/v1:Namespace").find((r) => r.inputs.metadata.name === "clickhouse")!;
        assert.ok(ns, "clickhouse namespace");
        const inClickhouse = prod.resources.filter((r) => r.type.startsWith("kubernetes:") && r.inputs.metadata?.namespace === "clickhouse");
        assert.ok(inClickhouse.length >= 2);
        for (const r of inClickhouse) assert.ok(r.dependencies.includes(ns.urn), `${r.urn} does not wait for the namespace`);
        const sa = inClickhouse.find((r) => r.type === "kubernetes:core/v1:ServiceAccount")!;
        assert.equal(sa.inputs.metadata.name, "billing-scraper");
        const association = prod.ofType("aws:eks/podIdentityAssociation:PodIdentityAssociation").find((a) => a.inputs.namespace === "clickhouse");
        assert.equal(association?.inputs.serviceAccount, sa.inputs.metadata.name, "the billing role is bound to that service account");
    });

    it("builds one TailnetEndpoint per configured endpoint and the troubleshooting CA", () => {
        const endpoints = prod.ofType("byoc:index:TailnetEndpoint").map((r) => r.name).sort();
        assert.deepEqual(endpoints, ["byoc-acme-ch", "byoc-acme-k8s", "byoc-acme-metrics"]);
        assert.ok(prod.ofType("tls:index/selfSignedCert:SelfSignedCert").some((c) => c.inputs.isCaCertificate === true));
        assert.deepEqual(Object.keys(prod.outputs.tailnetHostnames).sort(), ["clickhouse-system", "kubernetes-api", "metrics"]);
        assert.equal(prod.outputs.tailnetHostnames["kubernetes-api"], "k8s.acme.us-east-1.aws.byoc.example-prd.com");
    });

    it("lists what must happen outside Pulumi: zone delegation (the certificate waits for it), tailnet records, tagOwners, cross-account peering acceptance, the next phase", () => {
        const actions = prod.outputs.operatorActions as string[];
        const nameServers = prod.one("aws:route53/zone:Zone").outputs.nameServers as string[];
        assert.match(actions[0], new RegExp(`^Delegate acme\\.byoc\\.example\\.com to ${nameServers[0].replace(/\./g, "\\.")}.*certificate`));
        assert.ok(actions.some((a) => /tailnetDnsRecords/.test(a)));
        assert.ok(actions.some((a) => /tagOwners/.test(a)));
        const pcx = prod.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection").id!;
        assert.ok(actions.some((a) => a.startsWith(`Accept VPC peering ${pcx} in account 444455556666`)), "cross-account peering is accepted out of band");
        assert.ok(actions.some((a) => /^Phase bootstrap: .*byoc:controlPlane\.phase: switchover/.test(a)));
    });
});
