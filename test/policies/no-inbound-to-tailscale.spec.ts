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

    it("recognises an agent only through the stack (auth key in an envFrom Secret minted from a TailnetKey)", () => {
        const key = res("tailscale:index/tailnetKey:TailnetKey", "k", { tags: ["tag:byoc-dataplane"], preauthorized: true, reusable: false, expiry: 3600 });
        const sec = res("kubernetes:core/v1:Secret", "ts-env", { metadata: { name: "ts-env", namespace: "tailnet" }, stringData: { TS_AUTHKEY: UNKNOWN } }, { propertyDependencies: { stringData: [key.urn] } });
        const a = deployment("relay", { podLabels: { app: "relay" }, containers: [{ name: "c", image: "registry.internal/relay:3", envFrom: [{ secretRef: { name: "ts-env" } }] }] });
        const svc = service("s", { selector: { app: "relay" } });
        assert.deepEqual(runStack(noInboundToTailscaleStack, [key, sec, a, denyAll, svc]).map((v) => v.urn), [svc.urn]);
        expectClean(runStack(noInboundToTailscaleStack, [a, denyAll, svc])); // without the key it is just a workload
    });
});

describe("no-inbound-to-tailscale: host-level exposure of agents", () => {
    const withPod = (spec: Record<string, unknown>, container: Record<string, unknown> = {}) => {
        const a = agent("a", "tailnet", container);
        Object.assign(a.props.spec.template.spec, spec);
        return a;
    };
    it("flags hostNetwork, hostPID, hostIPC and hostPort on an agent (resource half)", () => {
        expectViolation(runResource(noInboundToTailscale, withPod({ hostNetwork: true })), /hostNetwork: true/);
        expectViolation(runResource(noInboundToTailscale, withPod({ hostPID: true, hostIPC: true })), /hostPID: true, hostIPC: true/);
        expectViolation(runResource(noInboundToTailscale, withPod({}, { ports: [{ name: "wg", containerPort: 41641, hostPort: 41641, protocol: "UDP" }] })), /hostPort 41641/);
        const ds = { ...withPod({ hostNetwork: true }), type: "kubernetes:apps/v1:DaemonSet" };
        expectViolation(runResource(noInboundToTailscale, ds), /hostNetwork/);
    });
    it("accepts the compliant twins: containerPort without hostPort, hostNetwork false, host fields on non-agents", () => {
        expectClean(runResource(noInboundToTailscale, withPod({ hostNetwork: false }, { ports: [{ containerPort: 9002, protocol: "TCP" }] })));
        expectClean(runResource(noInboundToTailscale, deployment("node-exporter", { containers: [{ name: "ne", image: "quay.io/prometheus/node-exporter:v1.8.2", ports: [{ containerPort: 9100, hostPort: 9100 }] }] })));
    });
    it("flags an agent recognised only through the stack that uses the host network (stack half)", () => {
        const cm = res("kubernetes:core/v1:ConfigMap", "ts", { metadata: { name: "ts", namespace: "tailnet" }, data: { TS_KUBE_SECRET: "relay-state", TS_USERSPACE: "false" } });
        const d = deployment("relay", { containers: [{ name: "c", image: "registry.internal/relay:3", envFrom: [{ configMapRef: { name: "ts" } }] }] });
        d.props.spec.template.spec.hostNetwork = true;
        expectClean(runResource(noInboundToTailscale, d));
        expectViolation(runStack(noInboundToTailscaleStack, [cm, d, denyAll]).map((v) => v.message), /hostNetwork: true/);
    });
});

describe("no-inbound-to-tailscale-stack: security groups that reach agents by other means than tags or names", () => {
    const plainSg = (name: string, id: string, extra: Record<string, unknown> = {}) => res(SG, name, { vpcId: "vpc-1", description: "managed by pulumi", ...egressOnly, ...extra, id });
    const ruleOn = (sg: { urn: string }, p: Record<string, unknown> = {}) => res(RULE, "in", { type: "ingress", securityGroupId: UNKNOWN, protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["10.0.0.0/8"], ...p }, { propertyDependencies: { securityGroupId: [sg.urn] }, dependencies: [sg.urn] });
    it("security groups for pods: a SecurityGroupPolicy selecting agent pods", () => {
        const sg = plainSg("pods-sg", "sg-0pods");
        const sgp = res("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "ts-sgp", { metadata: { namespace: "tailnet" }, spec: { podSelector: { matchLabels: { "app.kubernetes.io/component": "tailscale-agent" } }, securityGroups: { groupIds: ["sg-0pods"] } } });
        expectViolation(runStack(noInboundToTailscaleStack, [agent(), denyAll, sg, sgp, ruleOn(sg)]).map((v) => v.message), /SecurityGroupPolicy 'ts-sgp'/);
        const other = res("kubernetes:vpcresources.k8s.aws/v1beta1:SecurityGroupPolicy", "app-sgp", { metadata: { namespace: "tailnet" }, spec: { podSelector: { matchLabels: { app: "nginx" } }, securityGroups: { groupIds: ["sg-0pods"] } } });
        expectClean(runStack(noInboundToTailscaleStack, [agent(), denyAll, sg, other, ruleOn(sg)]));
    });
    it("EC2 agents: instance user data (plain or a launch template's base64), its ENIs, ENI security-group attachments", () => {
        const sg = plainSg("relay-sg", "sg-0relay", { ingress: [{ protocol: "udp", fromPort: 41641, toPort: 41641, cidrBlocks: ["0.0.0.0/0"] }] });
        const inst = res("aws:ec2/instance:Instance", "relay", { ami: "ami-1", instanceType: "t4g.small", subnetId: "subnet-1", vpcSecurityGroupIds: [UNKNOWN], userData: "#!/bin/sh\ncurl -fsSL https://tailscale.com/install.sh | sh\ntailscale up --authkey=${KEY} --advertise-tags=tag:byoc-dataplane\n", id: "i-0relay" }, { propertyDependencies: { vpcSecurityGroupIds: [sg.urn] } });
        expectViolation(runStack(noInboundToTailscaleStack, [sg, inst]).map((v) => v.message), /'relay-sg' reaches the Tailscale agents \(it belongs to EC2 instance 'relay'/);
        const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "relay-lt", { userData: Buffer.from("#!/bin/bash\ntailscaled --state=/var/lib/tailscale/tailscaled.state &\ntailscale up --auth-key=file:/etc/ts.key\n").toString("base64"), vpcSecurityGroupIds: ["sg-0lt"], id: "lt-1", name: "relay-lt" });
        const ltSg = plainSg("lt-sg", "sg-0lt");
        expectViolation(runStack(noInboundToTailscaleStack, [lt, ltSg, ruleOn(ltSg)]).map((v) => v.message), /launch template 'relay-lt' runs Tailscale/);
        const eniSg = plainSg("eni-sg", "sg-0eni");
        const plain = res("aws:ec2/instance:Instance", "relay2", { ami: "ami-1", instanceType: "t4g.small", userData: "tailscale up --authkey=x", id: "i-0relay2" });
        const eni = res("aws:ec2/networkInterface:NetworkInterface", "relay-eni", { subnetId: "subnet-1", securityGroups: ["sg-0eni"], id: "eni-1" });
        const attach = res("aws:ec2/networkInterfaceAttachment:NetworkInterfaceAttachment", "att", { instanceId: "i-0relay2", networkInterfaceId: "eni-1", deviceIndex: 1 });
        expectViolation(runStack(noInboundToTailscaleStack, [plain, eni, attach, eniSg, ruleOn(eniSg)]).map((v) => v.message), /ENI 'relay-eni'/);
        const extraSg = plainSg("extra-sg", "sg-0extra");
        const sgAttach = res("aws:ec2/networkInterfaceSecurityGroupAttachment:NetworkInterfaceSecurityGroupAttachment", "sga", { networkInterfaceId: "eni-1", securityGroupId: "sg-0extra" });
        expectViolation(runStack(noInboundToTailscaleStack, [plain, eni, attach, extraSg, sgAttach, ruleOn(extraSg)]).map((v) => v.message), /attachment 'sga'/);
        // compliant twin: an instance that does not run Tailscale
        const web = res("aws:ec2/instance:Instance", "web", { ami: "ami-1", instanceType: "t4g.small", userData: "#!/bin/sh\nnginx", vpcSecurityGroupIds: ["sg-0relay"] });
        expectClean(runStack(noInboundToTailscaleStack, [plainSg("relay-sg", "sg-0relay"), web, ruleOn(plainSg("relay-sg", "sg-0relay"))]).filter((v) => !/^Security group/.test(v.message)));
    });
    it("node groups dedicated to agents (pinned by nodeSelector): their launch template's groups and SSH remote access", () => {
        const nodeSg = plainSg("ts-nodes-sg", "sg-0tsn");
        const lt = res("aws:ec2/launchTemplate:LaunchTemplate", "ts-nodes", { vpcSecurityGroupIds: [UNKNOWN], id: "lt-ts", name: "ts-nodes" }, { propertyDependencies: { vpcSecurityGroupIds: [nodeSg.urn] } });
        const ng = res("aws:eks/nodeGroup:NodeGroup", "edge", { clusterName: "c", nodeRoleArn: "arn:aws:iam::1:role/n", subnetIds: ["subnet-1"], scalingConfig: { desiredSize: 1, maxSize: 1, minSize: 1 }, labels: { "byoc.dev/pool": "edge" }, launchTemplate: { id: "lt-ts", version: "1" }, remoteAccess: { ec2SshKey: "ops" } });
        const a = agent();
        a.props.spec.template.spec.nodeSelector = { "byoc.dev/pool": "edge", "kubernetes.io/os": "linux" };
        const v = runStack(noInboundToTailscaleStack, [a, denyAll, nodeSg, lt, ng, ruleOn(nodeSg)]).map((x) => x.message);
        expectViolation(v, /enables SSH remote access[\s\S]*port 22 open to 0\.0\.0\.0\/0/);
        expectViolation(v, /Ingress rule 'in'[\s\S]*pinned to node group 'edge'/);
        // the control plane's TCP 10250 from the cluster security group stays allowed on a node-level group (compliant twin)
        const kubelet = ruleOn(nodeSg, { fromPort: 10250, toPort: 10250, cidrBlocks: undefined, sourceSecurityGroupId: "sg-0cluster" });
        const ngNoSsh = { ...ng, props: { ...ng.props, remoteAccess: undefined } };
        expectClean(runStack(noInboundToTailscaleStack, [a, denyAll, nodeSg, lt, ngNoSsh, kubelet]));
        // a generic nodeSelector (kubernetes.io/os) does not make every node group the agents'
        const generic = agent();
        generic.props.spec.template.spec.nodeSelector = { "kubernetes.io/os": "linux" };
        expectClean(runStack(noInboundToTailscaleStack, [generic, denyAll, nodeSg, lt, ng, ruleOn(nodeSg)]));
    });
    it("rules on an agent group in every source form: source security group, prefix list, self; vpc rules with referencedSecurityGroupId", () => {
        for (const p of [{ cidrBlocks: undefined, sourceSecurityGroupId: "sg-0nodes" }, { cidrBlocks: undefined, prefixListIds: ["pl-0abc"] }, { cidrBlocks: undefined, self: true }]) {
            expectViolation(runStack(noInboundToTailscaleStack, [agentSg, otherSg, ruleOn(agentSg, p)]).map((v) => v.message), /agents' security group 'k8s-agent-sg'/);
        }
        const vpcRule = res(INGRESS, "from-nodes", { securityGroupId: "sg-0agent", referencedSecurityGroupId: "sg-0nodes", ipProtocol: "tcp", fromPort: 443, toPort: 443 });
        expectViolation(runStack(noInboundToTailscaleStack, [agentSg, otherSg, vpcRule]).map((v) => v.message), /from-nodes/);
        // compliant twin: the agent group only as the *source* of a rule on another group
        const fromAgent = res(INGRESS, "from-agent", { securityGroupId: "sg-0nodes", referencedSecurityGroupId: "sg-0agent", ipProtocol: "tcp", fromPort: 8443, toPort: 8443 });
        expectClean(runStack(noInboundToTailscaleStack, [agentSg, otherSg, fromAgent]));
    });
});
