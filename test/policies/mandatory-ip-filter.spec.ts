import { mandatoryIpFilter } from "../../policies/rules";
import { expectClean, expectViolation, res, runResource, service, UNKNOWN } from "./helpers";

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
});
