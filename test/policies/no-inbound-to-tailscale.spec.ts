import { strict as assert } from "assert";
import { noInboundToTailscale, noInboundToTailscaleStack } from "../../policies/rules";
import { agent, deployment, expectClean, expectViolation, networkPolicy, res, runResource, runStack, service, UNKNOWN } from "./helpers";

const SG = "aws:ec2/securityGroup:SecurityGroup";
const RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const egressOnly = { egress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] };
const agentSg = res(SG, "k8s-agent-sg", { ...egressOnly, tags: { "byoc:role": "tailscale-agent" }, id: "sg-0agent" });
const otherSg = res(SG, "nodes-sg", { ...egressOnly, tags: { "byoc:role": "ingress-gateway" }, id: "sg-0nodes" });
const denyAll = networkPolicy("deny-all", "tailnet", { podSelector: {}, policyTypes: ["Ingress"] });

describe("no-inbound-to-tailscale (resource)", () => {
    it("flags inline ingress on a security group tagged for the agents", () => {
        const sg = res(SG, "k8s-agent-sg", { ...egressOnly, tags: { "byoc:role": "tailscale-agent" }, ingress: [{ protocol: "udp", fromPort: 41641, toPort: 41641, cidrBlocks: ["10.0.0.0/8"] }] });
        expectViolation(runResource(noInboundToTailscale, sg), /inline ingress/);
    });
    it("recognises an agent group by its name when the tag is missing", () => {
        const sg = res(SG, "sg1", { name: "tailscale-relay", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"] }] });
        expectViolation(runResource(noInboundToTailscale, sg), /inline ingress/);
    });
    it("accepts an egress-only agent group and ingress on other groups", () => {
        expectClean(runResource(noInboundToTailscale, agentSg));
        expectClean(runResource(noInboundToTailscale, res(SG, "nodes", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["10.0.0.0/16"] }] })));
    });
    it("does not judge an unknown ingress list", () => {
        expectClean(runResource(noInboundToTailscale, res(SG, "k8s-agent-sg", { tags: { "byoc:role": "tailscale-agent" }, ingress: UNKNOWN })));
    });
    it("flags a SecurityGroupIngressRule tagged for the agents", () => {
        expectViolation(runResource(noInboundToTailscale, res(INGRESS, "r", { securityGroupId: UNKNOWN, cidrIpv4: "10.0.0.0/8", tags: { "byoc:role": "tailscale-agent" } })), /tagged for the Tailscale agents/);
        expectClean(runResource(noInboundToTailscale, res(INGRESS, "r", { securityGroupId: "sg-1", cidrIpv4: "10.0.0.0/8" })));
    });
    it("flags a Service whose selector names the agent component", () => {
        expectViolation(runResource(noInboundToTailscale, service("ts", { type: "ClusterIP", selector: { "app.kubernetes.io/component": "tailscale-agent" } })), /selects the Tailscale agent/);
        expectClean(runResource(noInboundToTailscale, service("nginx", { type: "ClusterIP", selector: { "app.kubernetes.io/component": "tailnet-nginx" } })));
    });
});

describe("no-inbound-to-tailscale-stack", () => {
    it("flags a SecurityGroupRule joined to the agent group by propertyDependencies (preview: id unknown)", () => {
        const rule = res(RULE, "allow-in", { type: "ingress", securityGroupId: UNKNOWN, fromPort: 41641, toPort: 41641, protocol: "udp", cidrBlocks: ["10.0.0.0/8"] }, {
            dependencies: [agentSg.urn],
            propertyDependencies: { securityGroupId: [agentSg.urn] },
        });
        const v = runStack(noInboundToTailscaleStack, [agentSg, rule]);
        assert.equal(v.length, 1);
        assert.equal(v[0].urn, rule.urn);
        assert.match(v[0].message, /attached to the Tailscale agents' security group/);
    });
    it("flags a SecurityGroupRule joined by the known group id (stack export)", () => {
        const rule = res(RULE, "allow-in", { type: "ingress", securityGroupId: "sg-0agent", fromPort: 22, toPort: 22, protocol: "tcp", cidrBlocks: ["10.1.0.0/16"] });
        expectViolation(runStack(noInboundToTailscaleStack, [agentSg, rule]).map((v) => v.message), /allow-in/);
    });
    it("flags a SecurityGroupIngressRule joined only through dependencies", () => {
        const rule = res(INGRESS, "in", { securityGroupId: UNKNOWN, cidrIpv4: "10.0.0.0/8", ipProtocol: "tcp", fromPort: 443, toPort: 443 }, { dependencies: [agentSg.urn] });
        expectViolation(runStack(noInboundToTailscaleStack, [agentSg, rule]).map((v) => v.message), /securityGroupIngressRule/);
    });
    it("accepts egress rules, rules on other groups, and rules that only use the agent group as source", () => {
        const egress = res(RULE, "out", { type: "egress", securityGroupId: "sg-0agent", cidrBlocks: ["0.0.0.0/0"], fromPort: 443, toPort: 443, protocol: "tcp" });
        const other = res(RULE, "in-other", { type: "ingress", securityGroupId: "sg-0nodes", cidrBlocks: ["10.0.0.0/16"], fromPort: 443, toPort: 443, protocol: "tcp" });
        const fromAgent = res(RULE, "from-agent", { type: "ingress", securityGroupId: UNKNOWN, sourceSecurityGroupId: UNKNOWN, fromPort: 443, toPort: 443, protocol: "tcp" }, {
            dependencies: [agentSg.urn, otherSg.urn],
            propertyDependencies: { securityGroupId: [otherSg.urn], sourceSecurityGroupId: [agentSg.urn] },
        });
        expectClean(runStack(noInboundToTailscaleStack, [agentSg, otherSg, egress, other, fromAgent]));
    });
    it("flags a Service of any type whose selector matches the agent pods", () => {
        const svc = service("ts-lb", { type: "LoadBalancer", loadBalancerSourceRanges: ["10.0.0.0/8"], selector: { "byoc.dev/endpoint": "k8s-agent" } });
        const v = runStack(noInboundToTailscaleStack, [agent(), denyAll, svc]);
        assert.deepEqual(v.map((x) => x.urn), [svc.urn]);
    });
    it("ignores Services in another namespace or selecting other pods", () => {
        const elsewhere = service("x", { selector: { "byoc.dev/endpoint": "k8s-agent" } }, { namespace: "other" });
        const nginx = service("nginx", { selector: { app: "nginx" } });
        expectClean(runStack(noInboundToTailscaleStack, [agent(), denyAll, elsewhere, nginx]));
    });
    it("requires a deny-all-ingress NetworkPolicy in the agents' namespace", () => {
        const v = runStack(noInboundToTailscaleStack, [agent()]);
        expectViolation(v.map((x) => x.message), /no deny-all-ingress NetworkPolicy/);
        const wrongNs = networkPolicy("deny-all", "default", { podSelector: {}, policyTypes: ["Ingress"] });
        expectViolation(runStack(noInboundToTailscaleStack, [agent(), wrongNs]).map((x) => x.message), /Namespace 'tailnet'/);
        expectClean(runStack(noInboundToTailscaleStack, [agent(), denyAll]));
        // policyTypes omitted defaults to Ingress
        expectClean(runStack(noInboundToTailscaleStack, [agent(), networkPolicy("d", "tailnet", { podSelector: {} })]));
    });
    it("flags a NetworkPolicy that re-opens ingress to the agents", () => {
        const open = networkPolicy("allow", "tailnet", { podSelector: { matchLabels: { "app.kubernetes.io/component": "tailscale-agent" } }, ingress: [{ from: [{ ipBlock: { cidr: "10.0.0.0/8" } }] }] });
        expectViolation(runStack(noInboundToTailscaleStack, [agent(), denyAll, open]).map((x) => x.message), /allows ingress/);
    });
    it("recognises agents by image or by TS_* env vars, without labels", () => {
        const byImage = deployment("relay", { podLabels: { app: "relay" }, containers: [{ name: "c", image: "tailscale/tailscale:stable" }] });
        const byEnv = deployment("relay2", { podLabels: { app: "relay2" }, containers: [{ name: "c", image: "registry.internal/ts:1", env: [{ name: "TS_AUTHKEY", value: "x" }] }] });
        for (const a of [byImage, byEnv]) {
            const svc = service("s", { selector: a.props.spec.template.metadata.labels });
            assert.equal(runStack(noInboundToTailscaleStack, [a, denyAll, svc]).length, 1);
            assert.equal(runStack(noInboundToTailscaleStack, [a]).length, 1);
        }
    });
    it("resolves an unknown namespace through the Namespace dependency", () => {
        const ns = res("kubernetes:core/v1:Namespace", "tailnet-ns", { metadata: { name: "tailnet" } });
        const a = agent("a", UNKNOWN);
        a.dependencies = [ns.urn];
        expectClean(runStack(noInboundToTailscaleStack, [ns, a, denyAll]));
    });
});
