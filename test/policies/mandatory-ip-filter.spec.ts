import { mandatoryIpFilter } from "../../policies/rules";
import { expectClean, expectViolation, res, runResource, runStack, service, UNKNOWN } from "./helpers";

const lb = (spec: Record<string, unknown> = {}, metadata: Record<string, unknown> = {}) =>
    service("istio-ingressgateway", { type: "LoadBalancer", selector: { app: "istio-ingressgateway" }, ports: [{ port: 443 }], ...spec }, metadata);

describe("mandatory-ip-filter", () => {
    describe("LoadBalancer Services", () => {
        it("flags a LoadBalancer without loadBalancerSourceRanges (dev and prod)", () => {
            expectViolation(runResource(mandatoryIpFilter, lb(), { env: "dev" }), /no IP allow list/);
            expectViolation(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: [] }), { env: "prod" }), /no IP allow list/);
        });
        it("flags 0.0.0.0/0 and ::/0 in prod but allows them in dev", () => {
            expectViolation(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["203.0.113.0/24", "0.0.0.0/0"] }), { env: "prod" }), /0\.0\.0\.0\/0 in prod/);
            expectViolation(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["::/0"] }), { env: "prod" }), /::\/0/);
            expectClean(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["0.0.0.0/0"] }), { env: "dev" }));
        });
        it("flags the internet in pieces (0.0.0.0/1 + 128.0.0.0/1, IPv6 shorter than /16) in prod", () => {
            expectViolation(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["0.0.0.0/1", "128.0.0.0/1"] }), { env: "prod" }), /0\.0\.0\.0\/1/);
            expectViolation(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["2000::/3"] }), { env: "prod" }), /2000::\/3/);
            expectClean(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["10.0.0.0/8", "2001:db8::/32"] }), { env: "prod" }));
        });
        it("accepts an allow list in the spec or in the source-ranges annotation", () => {
            expectClean(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: ["203.0.113.0/24"] })));
            expectClean(runResource(mandatoryIpFilter, lb({}, { annotations: { "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24, 198.51.100.7/32" } })));
        });
        it("ignores ClusterIP Services and unknown allow lists", () => {
            expectClean(runResource(mandatoryIpFilter, service("x", { type: "ClusterIP" })));
            expectClean(runResource(mandatoryIpFilter, lb({ loadBalancerSourceRanges: UNKNOWN })));
        });
        it("checks the Service an Istio gateway Helm release creates", () => {
            const rel = (values: Record<string, unknown>) => res("kubernetes:helm.sh/v3:Release", "istio-gw", { chart: "gateway", repositoryOpts: { repo: "https://istio-release.storage.googleapis.com/charts" }, values });
            expectViolation(runResource(mandatoryIpFilter, rel({})), /Helm release/);
            expectClean(runResource(mandatoryIpFilter, rel({ service: { loadBalancerSourceRanges: ["203.0.113.0/24"] } })));
            expectClean(runResource(mandatoryIpFilter, rel({ service: { type: "ClusterIP" } })));
        });
    });

    describe("security groups open to the world (all three forms)", () => {
        it("inline ingress", () => {
            const sg = (cidrs: Record<string, unknown>) => res("aws:ec2/securityGroup:SecurityGroup", "sg", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, ...cidrs }] });
            expectViolation(runResource(mandatoryIpFilter, sg({ cidrBlocks: ["0.0.0.0/0"] }), { env: "dev" }), /open to 0\.0\.0\.0\/0/);
            expectViolation(runResource(mandatoryIpFilter, sg({ ipv6CidrBlocks: ["::/0"] })), /::\/0/);
            expectViolation(runResource(mandatoryIpFilter, sg({ cidrBlocks: ["128.0.0.0/1"] }), { env: "dev" }), /128\.0\.0\.0\/1/);
            expectClean(runResource(mandatoryIpFilter, sg({ cidrBlocks: ["10.0.0.0/16"] })));
            expectClean(runResource(mandatoryIpFilter, res("aws:ec2/securityGroup:SecurityGroup", "sg", { egress: [{ cidrBlocks: ["0.0.0.0/0"] }] })));
        });
        it("aws:ec2/securityGroupRule", () => {
            const rule = (type: string, cidrBlocks: string[]) => res("aws:ec2/securityGroupRule:SecurityGroupRule", "r", { type, securityGroupId: "sg-1", protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks });
            expectViolation(runResource(mandatoryIpFilter, rule("ingress", ["0.0.0.0/0"])), /admits ingress from 0\.0\.0\.0\/0/);
            expectClean(runResource(mandatoryIpFilter, rule("egress", ["0.0.0.0/0"])));
            expectClean(runResource(mandatoryIpFilter, rule("ingress", ["10.0.0.0/8"])));
        });
        it("aws:vpc/securityGroupIngressRule", () => {
            const rule = (p: Record<string, unknown>) => res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "r", { securityGroupId: "sg-1", ipProtocol: "tcp", fromPort: 443, toPort: 443, ...p });
            expectViolation(runResource(mandatoryIpFilter, rule({ cidrIpv6: "::/0" })), /admits ::\/0/);
            expectViolation(runResource(mandatoryIpFilter, rule({ cidrIpv4: "0.0.0.0/0" })), /0\.0\.0\.0\/0/);
            expectClean(runResource(mandatoryIpFilter, rule({ cidrIpv4: "10.0.0.0/8" })));
            expectClean(runResource(mandatoryIpFilter, rule({ cidrIpv4: UNKNOWN })));
        });
    });

    describe("other public entry points (resource half)", () => {
        it("flags NodePort Services and externalIPs; accepts ClusterIP (compliant twin)", () => {
            expectViolation(runResource(mandatoryIpFilter, service("ch", { type: "NodePort", selector: { app: "clickhouse" }, ports: [{ port: 9000, nodePort: 30900 }] })), /NodePort/);
            expectViolation(runResource(mandatoryIpFilter, service("ch", { type: "ClusterIP", selector: { app: "clickhouse" }, ports: [{ port: 9000 }], externalIPs: ["198.51.100.10"] })), /externalIPs 198\.51\.100\.10/);
            expectClean(runResource(mandatoryIpFilter, service("ch", { type: "ClusterIP", selector: { app: "clickhouse" }, ports: [{ port: 9000 }] })));
        });
        it("does not ask a Tailscale-class LoadBalancer for an AWS allow list (tailscale-management-only judges it)", () => {
            expectClean(runResource(mandatoryIpFilter, lb({ loadBalancerClass: "tailscale" })));
        });
        it("flags internet-facing aws.lb / alb / elb load balancers with no security group to filter on", () => {
            for (const [type, props] of [
                ["aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "network", subnets: ["subnet-1"] }],
                ["aws:lb/loadBalancer:LoadBalancer", { loadBalancerType: "application", internal: false, subnets: ["subnet-1", "subnet-2"] }],
                ["aws:alb/loadBalancer:LoadBalancer", { subnets: ["subnet-1"] }],
                ["aws:elb/loadBalancer:LoadBalancer", { listeners: [{ instancePort: 8443, instanceProtocol: "tcp", lbPort: 443, lbProtocol: "tcp" }], subnets: ["subnet-1"] }],
            ] as const) {
                expectViolation(runResource(mandatoryIpFilter, res(type, "lb", props)), /internet-facing/);
            }
            // compliant twins: internal, or filtered by its security groups (judged as SG rules)
            expectClean(runResource(mandatoryIpFilter, res("aws:lb/loadBalancer:LoadBalancer", "lb", { loadBalancerType: "network", internal: true, subnets: ["subnet-1"] })));
            expectClean(runResource(mandatoryIpFilter, res("aws:lb/loadBalancer:LoadBalancer", "lb", { loadBalancerType: "network", securityGroups: ["sg-0lb"], subnets: ["subnet-1"] })));
            expectClean(runResource(mandatoryIpFilter, res("aws:lb/loadBalancer:LoadBalancer", "lb", { internal: UNKNOWN })));
        });
        it("flags the default security group opened to the world", () => {
            expectViolation(runResource(mandatoryIpFilter, res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", { vpcId: "vpc-1", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] }] })), /open to 0\.0\.0\.0\/0/);
            expectClean(runResource(mandatoryIpFilter, res("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup", "default", { vpcId: "vpc-1", ingress: [{ protocol: "-1", fromPort: 0, toPort: 0, self: true }] })));
        });
    });

    describe("joins (stack half)", () => {
        const world = res("aws:ec2/managedPrefixList:ManagedPrefixList", "clients", { name: "clients", addressFamily: "IPv4", maxEntries: 5, entries: [{ cidr: "0.0.0.0/0", description: "everyone" }], id: "pl-0world" });
        const office = res("aws:ec2/managedPrefixList:ManagedPrefixList", "office", { name: "office", addressFamily: "IPv4", maxEntries: 5, entries: [{ cidr: "203.0.113.0/24" }], id: "pl-0office" });
        it("flags rules whose source is a prefix list holding a world-open CIDR (inline, rule resources, entry resources)", () => {
            const rule = res("aws:ec2/securityGroupRule:SecurityGroupRule", "r", { type: "ingress", securityGroupId: "sg-1", protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: [UNKNOWN] }, { propertyDependencies: { prefixListIds: [world.urn] } });
            expectViolation(runStack(mandatoryIpFilter, [world, rule]).map((v) => v.message), /prefix list 'clients', which holds 0\.0\.0\.0\/0/);
            const vpcRule = res("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "v", { securityGroupId: "sg-1", prefixListId: "pl-0world", ipProtocol: "tcp", fromPort: 443, toPort: 443 });
            expectViolation(runStack(mandatoryIpFilter, [world, vpcRule]).map((v) => v.message), /'v' admits ingress from prefix list/);
            const sg = res("aws:ec2/securityGroup:SecurityGroup", "sg", { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, prefixListIds: ["pl-0office"] }] });
            const entry = res("aws:ec2/managedPrefixListEntry:ManagedPrefixListEntry", "e", { prefixListId: "pl-0office", cidr: "::/0" });
            expectViolation(runStack(mandatoryIpFilter, [office, entry, sg]).map((v) => v.message), /holds ::\/0/);
            // compliant twin: a prefix list of client networks
            expectClean(runStack(mandatoryIpFilter, [office, sg]));
        });
        it("ALB Ingresses: internet-facing without inbound-cidrs, by annotation or through IngressClass → IngressClassParams", () => {
            const ing = (annotations: Record<string, string>, cls = "alb") => res("kubernetes:networking.k8s.io/v1:Ingress", "ch", { metadata: { name: "ch", namespace: "clickhouse", annotations }, spec: { ingressClassName: cls, rules: [{ http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "ch", port: { number: 8123 } } } }] } }] } });
            expectViolation(runStack(mandatoryIpFilter, [ing({ "alb.ingress.kubernetes.io/scheme": "internet-facing" })]).map((v) => v.message), /internet-facing ALB that has no IP allow list/);
            expectViolation(runStack(mandatoryIpFilter, [ing({ "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/inbound-cidrs": "0.0.0.0/0" })], { env: "prod" }).map((v) => v.message), /allows 0\.0\.0\.0\/0 in prod/);
            const cls = res("kubernetes:networking.k8s.io/v1:IngressClass", "public", { metadata: { name: "public-alb" }, spec: { controller: "ingress.k8s.aws/alb", parameters: { apiGroup: "elbv2.k8s.aws", kind: "IngressClassParams", name: "public" } } });
            const params = (spec: Record<string, unknown>) => res("kubernetes:elbv2.k8s.aws/v1beta1:IngressClassParams", "public", { metadata: { name: "public" }, spec });
            expectViolation(runStack(mandatoryIpFilter, [cls, params({ scheme: "internet-facing" }), ing({}, "public-alb")]).map((v) => v.message), /IngressClassParams 'public'/);
            // compliant twins: inbound CIDRs set (annotation or params), internal (the controller's default), other controllers
            expectClean(runStack(mandatoryIpFilter, [ing({ "alb.ingress.kubernetes.io/scheme": "internet-facing", "alb.ingress.kubernetes.io/inbound-cidrs": "203.0.113.0/24" })]));
            expectClean(runStack(mandatoryIpFilter, [cls, params({ scheme: "internet-facing", inboundCIDRs: ["203.0.113.0/24"] }), ing({}, "public-alb")]));
            expectClean(runStack(mandatoryIpFilter, [ing({})]));
            expectClean(runStack(mandatoryIpFilter, [ing({ "alb.ingress.kubernetes.io/scheme": "internet-facing" }, "nginx")]));
        });
        it("Gateway API Gateways of Istio's class create a LoadBalancer Service: allow list from the copied annotations", () => {
            const gw = (annotations: Record<string, string> | undefined, cls = "istio") => res("kubernetes:gateway.networking.k8s.io/v1:Gateway", "gw", { metadata: { name: "gw", namespace: "istio-ingress" }, spec: { gatewayClassName: cls, listeners: [{ name: "https", port: 443, protocol: "HTTPS", tls: { certificateRefs: [{ name: "cert" }] } }], ...(annotations ? { infrastructure: { annotations } } : {}) } });
            expectViolation(runStack(mandatoryIpFilter, [gw(undefined)]).map((v) => v.message), /Gateway 'gw' \(class istio\)/);
            expectClean(runStack(mandatoryIpFilter, [gw({ "service.beta.kubernetes.io/load-balancer-source-ranges": "203.0.113.0/24" })]));
            expectClean(runStack(mandatoryIpFilter, [gw({ "networking.istio.io/service-type": "ClusterIP" })]));
            const gc = res("kubernetes:gateway.networking.k8s.io/v1:GatewayClass", "mesh", { metadata: { name: "mesh" }, spec: { controllerName: "istio.io/gateway-controller" } });
            expectViolation(runStack(mandatoryIpFilter, [gc, gw(undefined, "mesh")]).map((v) => v.message), /class mesh/);
        });
    });
});
