import { strict as assert } from "assert";
import { privateEndpoints, privateEndpointsStack } from "../../policies/rules";
import { expectClean, expectViolation, res, runResource, runStack, UNKNOWN } from "./helpers";

const EKS = "eks:index:Cluster";
const AWS_EKS = "aws:eks/cluster:Cluster";
const MGMT = ["198.51.100.0/28", "203.0.113.16/29"];

describe("private-endpoints", () => {
    describe("EKS API endpoint — eks:index:Cluster inputs", () => {
        it("flags the @pulumi/eks defaults (public endpoint, no CIDRs = 0.0.0.0/0)", () => {
            expectViolation(runResource(privateEndpoints, res(EKS, "cluster", { vpcId: UNKNOWN })), /AWS defaults to 0\.0\.0\.0\/0/);
        });
        it("flags a public endpoint open to the world", () => {
            expectViolation(runResource(privateEndpoints, res(EKS, "cluster", { endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] })), /open to 0\.0\.0\.0\/0/);
        });
        it("accepts a public endpoint restricted to management CIDRs", () => {
            expectClean(runResource(privateEndpoints, res(EKS, "cluster", { endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: MGMT })));
        });
        it("checks publicAccessCidrs against managementCidrs when configured", () => {
            const config = { "private-endpoints": { managementCidrs: ["198.51.100.0/24"] } };
            expectClean(runResource(privateEndpoints, res(EKS, "c", { publicAccessCidrs: ["198.51.100.0/28"] }), { config }));
            expectViolation(runResource(privateEndpoints, res(EKS, "c", { publicAccessCidrs: ["192.0.2.0/24"] }), { config }), /not management CIDRs/);
        });
        it("requires private-only when the stack says so", () => {
            const config = { "private-endpoints": { privateEndpointOnly: true } };
            expectViolation(runResource(privateEndpoints, res(EKS, "c", { endpointPublicAccess: true, endpointPrivateAccess: true, publicAccessCidrs: MGMT }), { config }), /private-only/);
            expectViolation(runResource(privateEndpoints, res(EKS, "c", { endpointPublicAccess: false }), { config }), /endpointPrivateAccess is off/);
            expectClean(runResource(privateEndpoints, res(EKS, "c", { endpointPublicAccess: false, endpointPrivateAccess: true }), { config }));
        });
        it("flags public IPs on nodes", () => {
            expectViolation(runResource(privateEndpoints, res(EKS, "c", { endpointPublicAccess: false, endpointPrivateAccess: true, nodeAssociatePublicIpAddress: true })), /public IPs/);
        });
    });

    describe("EKS API endpoint — aws:eks/cluster:Cluster vpcConfig", () => {
        it("flags an open vpcConfig, also in the old array layout and with string booleans", () => {
            expectViolation(runResource(privateEndpoints, res(AWS_EKS, "c", { vpcConfig: { subnetIds: ["a"], endpointPublicAccess: true, publicAccessCidrs: ["0.0.0.0/0"] } })), /open to/);
            expectViolation(runResource(privateEndpoints, res(AWS_EKS, "c", { vpcConfig: [{ endpointPublicAccess: "true", publicAccessCidrs: [] }] })), /no publicAccessCidrs/);
        });
        it("accepts a restricted or private endpoint", () => {
            expectClean(runResource(privateEndpoints, res(AWS_EKS, "c", { vpcConfig: { endpointPublicAccess: true, publicAccessCidrs: MGMT } })));
            expectClean(runResource(privateEndpoints, res(AWS_EKS, "c", { vpcConfig: { endpointPublicAccess: false, endpointPrivateAccess: true } })));
            expectClean(runResource(privateEndpoints, res(AWS_EKS, "c", { vpcConfig: UNKNOWN })));
        });
    });

    describe("subnets and launch templates", () => {
        const subnet = (name: string, props: Record<string, unknown>) => res("aws:ec2/subnet:Subnet", name, { vpcId: UNKNOWN, cidrBlock: "10.0.0.0/19", ...props });
        it("flags a private subnet that maps public IPs (by tag or by name)", () => {
            expectViolation(runResource(privateEndpoints, subnet("s", { mapPublicIpOnLaunch: true, tags: { "kubernetes.io/role/internal-elb": "1" } })), /maps public IPs/);
            expectViolation(runResource(privateEndpoints, subnet("s", { mapPublicIpOnLaunch: true, tags: { "byoc:tier": "private" } })), /maps public IPs/);
            expectViolation(runResource(privateEndpoints, subnet("acme-private-0", { mapPublicIpOnLaunch: true })), /maps public IPs/);
        });
        it("accepts public subnets that map public IPs and private ones that do not", () => {
            expectClean(runResource(privateEndpoints, subnet("acme-public-0", { mapPublicIpOnLaunch: true, tags: { "kubernetes.io/role/elb": "1" } })));
            expectClean(runResource(privateEndpoints, subnet("acme-private-0", { mapPublicIpOnLaunch: false, tags: { "byoc:tier": "private" } })));
        });
        it("flags a launch template that associates public IPs", () => {
            expectViolation(runResource(privateEndpoints, res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { networkInterfaces: [{ associatePublicIpAddress: "true" }] })), /public IP/);
            expectClean(runResource(privateEndpoints, res("aws:ec2/launchTemplate:LaunchTemplate", "lt", { networkInterfaces: [{ associatePublicIpAddress: "false" }] })));
        });
    });
});

describe("private-endpoints-stack", () => {
    const bucket = res("aws:s3/bucketV2:BucketV2", "thanos", { bucket: "thanos-1a2b3c", tags: { "byoc:role": "thanos" } });
    const allOn = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };
    const vpc = res("aws:ec2/vpc:Vpc", "acme-vpc", { cidrBlock: "10.0.0.0/16" });
    const s3ep = res("aws:ec2/vpcEndpoint:VpcEndpoint", "acme-s3", { vpcId: UNKNOWN, serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" }, { propertyDependencies: { vpcId: [vpc.urn] }, dependencies: [vpc.urn] });

    it("accepts a bucket with a full public access block joined by propertyDependencies", () => {
        const pab = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "thanos-pab", { bucket: UNKNOWN, ...allOn }, { propertyDependencies: { bucket: [bucket.urn] } });
        expectClean(runStack(privateEndpointsStack, [bucket, pab]));
    });
    it("joins by the bucket's known name and by dependencies", () => {
        const byName = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "p", { bucket: "thanos-1a2b3c", ...allOn });
        expectClean(runStack(privateEndpointsStack, [bucket, byName]));
        const byDep = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "p", { bucket: UNKNOWN, ...allOn }, { dependencies: [bucket.urn] });
        expectClean(runStack(privateEndpointsStack, [bucket, byDep]));
    });
    it("flags a bucket without a public access block (both bucket types)", () => {
        const v = runStack(privateEndpointsStack, [bucket, res("aws:s3/bucket:Bucket", "logs", {})]);
        assert.equal(v.length, 2);
        expectViolation(v.map((x) => x.message), /'thanos' has no public access block/);
    });
    it("flags a partial public access block", () => {
        const pab = res("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "p", { bucket: "thanos-1a2b3c", ...allOn, restrictPublicBuckets: false });
        const v = runStack(privateEndpointsStack, [bucket, pab]);
        assert.deepEqual(v.map((x) => x.urn), [pab.urn]);
        assert.match(v[0].message, /restrictPublicBuckets off/);
    });
    it("accepts an account-wide public access block", () => {
        expectClean(runStack(privateEndpointsStack, [bucket, res("aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock", "acct", allOn)]));
    });
    it("requires an S3 gateway endpoint in every VPC", () => {
        expectClean(runStack(privateEndpointsStack, [vpc, s3ep]));
        expectViolation(runStack(privateEndpointsStack, [vpc]).map((x) => x.message), /no S3 gateway endpoint/);
        const iface = res("aws:ec2/vpcEndpoint:VpcEndpoint", "i", { vpcId: "vpc-1", serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Interface" }, { dependencies: [vpc.urn] });
        expectViolation(runStack(privateEndpointsStack, [vpc, iface]).map((x) => x.message), /no S3 gateway endpoint/);
        const otherVpc = res("aws:ec2/vpc:Vpc", "peer-vpc", { id: "vpc-2" });
        const v = runStack(privateEndpointsStack, [vpc, otherVpc, s3ep]);
        assert.deepEqual(v.map((x) => x.urn), [otherVpc.urn]);
    });
});
