import { strict as assert } from "assert";
import { offlinePreview, OFFLINE_SOURCE_IDENTITY } from "../../preview/offline";
import { stackRaw, unsecret } from "../harness";

describe("offline preview", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`the ${stack} stack of this repository passes the policy pack with no mandatory violation`, async () => {
            const result = await offlinePreview(stack, stackRaw(stack), { now: new Date("2026-11-25T12:00:00Z") });
            assert.equal(result.error, undefined);
            assert.equal(result.policy!.environment, stack);
            assert.deepEqual(result.policy!.violations.filter((v) => v.enforcementLevel === "mandatory"), []);
            assert.deepEqual(result.policy!.errors, []);
            assert.equal(result.exitCode, 0);
            assert.ok(result.policy!.checkedResources > 50);
        });
    }

    it("hands the deploy-role session its source identity as an argument: the stand-in, or the one given; the environment is neither read nor set", async () => {
        const saved = process.env.BYOC_SOURCE_IDENTITY;
        delete process.env.BYOC_SOURCE_IDENTITY;
        try {
            const identity = async (opts: { sourceIdentity?: string }) => {
                const result = await offlinePreview("prod", stackRaw("prod"), opts);
                assert.equal(result.error, undefined);
                const provider = result.run!.resources.find((r) => r.type === "pulumi:providers:aws")!;
                const [role] = JSON.parse(unsecret(provider.inputs.assumeRoles));
                return role.sourceIdentity;
            };
            assert.equal(await identity({}), OFFLINE_SOURCE_IDENTITY);
            assert.equal(await identity({ sourceIdentity: "alice@example.com" }), "alice@example.com");
            assert.equal(process.env.BYOC_SOURCE_IDENTITY, undefined);
        } finally {
            process.env.BYOC_SOURCE_IDENTITY = saved;
        }
    });

    it("lists the flows of DESIGN.md §2 from what the components declare", async () => {
        const result = await offlinePreview("prod", stackRaw("prod"));
        const flows = result.flows!.map((f) => `${f.flow} | ${f.direction} | ${f.exposure}`);
        for (const expected of [
            "Management → EKS API | inbound | public",
            "Client queries → NLB → Istio → ClickHouse | inbound | public",
            "Billing scraper → provider S3 | outbound | private",
            "State Exporter → provider SQS | outbound | public",
            "AlertManager → provider alert webhook | outbound | public",
            "Customer VPCs ↔ private subnets (VPC peering) | inbound | private",
        ]) assert.ok(flows.includes(expected), `missing flow ${expected}\n${flows.join("\n")}`);
        assert.ok(result.flows!.some((f) => f.direction === "inbound over an outbound tunnel" && f.exposure === "private"), "tailnet flow");
        assert.ok(result.flows!.some((f) => /Tailscale agent/.test(f.flow) && f.direction === "outbound"), "tailscale egress flow");
    });

    it("private ingress turns the inbound row private", async () => {
        const raw = stackRaw("prod");
        const result = await offlinePreview("prod", { ...raw, "byoc:ingress": { ...(raw["byoc:ingress"] as object), mode: "private" } });
        assert.equal(result.exitCode, 0);
        assert.equal(result.flows!.find((f) => f.flow.startsWith("Client queries"))!.exposure, "private");
    });

    it("answers invalid config with exit code 2 and every problem, without running the program", async () => {
        const raw = stackRaw("prod");
        const result = await offlinePreview("prod", {
            ...raw,
            "byoc:ingress": { ...(raw["byoc:ingress"] as object), ipAllowList: ["0.0.0.0/0"] },
            "byoc:network": { vpcCidr: "10.0.0.0/8" },
            "byoc:typo": true,
        });
        assert.equal(result.exitCode, 2);
        assert.equal(result.run, undefined);
        assert.deepEqual(result.problems.map((p) => p.path).sort(), ["byoc:ingress.ipAllowList[0]", "byoc:network.vpcCidr", "byoc:typo"]);
    });
});
