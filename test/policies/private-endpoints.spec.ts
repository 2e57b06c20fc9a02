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

describe("private-endpoints: public addresses and public endpoints in every resource type that hands them out", () => {
    const judge = (type: string, props: Record<string, unknown>) => runResource(privateEndpoints, res(type, "x", props));
    const exposed: [string, Record<string, unknown>, RegExp][] = [
        ["aws:ec2/instance:Instance", { ami: "ami-1", instanceType: "t3.micro", associatePublicIpAddress: true }, /public IP/],
        ["aws:ec2/spotInstanceRequest:SpotInstanceRequest", { ami: "ami-1", instanceType: "t3.micro", associatePublicIpAddress: "true" }, /public IP/],
        ["aws:ec2/launchConfiguration:LaunchConfiguration", { imageId: "ami-1", instanceType: "t3.micro", associatePublicIpAddress: true }, /public IP/],
        ["aws:ec2/eip:Eip", { domain: "vpc", instance: "i-0abc" }, /public address to instance i-0abc/],
        ["aws:ec2/eip:Eip", { domain: "vpc", networkInterface: UNKNOWN }, /public address/],
        ["aws:ec2/eipAssociation:EipAssociation", { allocationId: "eipalloc-1", networkInterfaceId: "eni-1" }, /Elastic IP/],
        ["aws:rds/instance:Instance", { engine: "postgres", instanceClass: "db.t4g.micro", publiclyAccessible: true }, /publicly accessible/],
        ["aws:rds/clusterInstance:ClusterInstance", { clusterIdentifier: "c", instanceClass: "db.r6g.large", publiclyAccessible: true }, /publicly accessible/],
        ["aws:redshift/cluster:Cluster", { clusterIdentifier: "r", nodeType: "ra3.xlplus", publiclyAccessible: true }, /publicly accessible/],
        ["aws:mq/broker:Broker", { brokerName: "b", engineType: "RabbitMQ", publiclyAccessible: true }, /publicly accessible/],
        ["aws:dms/replicationInstance:ReplicationInstance", { replicationInstanceClass: "dms.t3.micro", replicationInstanceId: "d", publiclyAccessible: true }, /publicly accessible/],
        ["aws:opensearch/domain:Domain", { domainName: "logs" }, /no vpcOptions/],
        ["aws:msk/cluster:Cluster", { brokerNodeGroupInfo: { connectivityInfo: { publicAccess: { type: "SERVICE_PROVIDED_EIPS" } } } }, /public addresses/],
        ["aws:ecs/service:Service", { networkConfiguration: { subnets: ["subnet-1"], assignPublicIp: true } }, /assignPublicIp/],
        ["aws:apprunner/service:Service", { serviceName: "s", sourceConfiguration: {} }, /App Runner/],
        ["aws:transfer/server:Server", {}, /PUBLIC endpoint/],
        ["aws:sagemaker/notebookInstance:NotebookInstance", { instanceType: "ml.t3.medium", roleArn: "arn:aws:iam::1:role/r" }, /direct internet access/],
        ["aws:lambda/functionUrl:FunctionUrl", { functionName: "f", authorizationType: "NONE" }, /without authentication/],
        ["aws:lambda/permission:Permission", { action: "lambda:InvokeFunctionUrl", function: "f", principal: "*", functionUrlAuthType: "NONE" }, /anyone invoke/],
        ["aws:apigateway/restApi:RestApi", { name: "api" }, /public EDGE endpoint/],
        ["aws:apigateway/restApi:RestApi", { name: "api", endpointConfiguration: { types: "REGIONAL" } }, /REGIONAL/],
        ["aws:apigatewayv2/api:Api", { protocolType: "HTTP" }, /execute-api/],
        ["aws:cloudfront/distribution:Distribution", { enabled: true, origins: [], defaultCacheBehavior: {}, restrictions: {}, viewerCertificate: {} }, /CloudFront/],
        ["aws:globalaccelerator/accelerator:Accelerator", { name: "ga" }, /Global Accelerator/],
        ["aws:lightsail/instance:Instance", { availabilityZone: "us-east-1a", blueprintId: "amazon_linux_2", bundleId: "nano_3_0" }, /Lightsail/],
    ];
    for (const [type, props, re] of exposed) {
        it(`flags ${type.split(":")[1]} ${JSON.stringify(props).slice(0, 60)}`, () => expectViolation(judge(type, props), re));
    }
    const privateTwins: [string, Record<string, unknown>][] = [
        ["aws:ec2/instance:Instance", { ami: "ami-1", instanceType: "t3.micro", associatePublicIpAddress: false }],
        ["aws:ec2/eip:Eip", { domain: "vpc", tags: { Name: "nat-0" } }], // the NAT gateways' addresses
        ["aws:rds/instance:Instance", { engine: "postgres", instanceClass: "db.t4g.micro", publiclyAccessible: false }],
        ["aws:opensearch/domain:Domain", { domainName: "logs", vpcOptions: { subnetIds: ["subnet-1"] } }],
        ["aws:msk/cluster:Cluster", { brokerNodeGroupInfo: { connectivityInfo: { publicAccess: { type: "DISABLED" } } } }],
        ["aws:ecs/service:Service", { networkConfiguration: { subnets: ["subnet-1"], assignPublicIp: false } }],
        ["aws:apprunner/service:Service", { serviceName: "s", networkConfiguration: { ingressConfiguration: { isPubliclyAccessible: false } } }],
        ["aws:transfer/server:Server", { endpointType: "VPC" }],
        ["aws:sagemaker/notebookInstance:NotebookInstance", { directInternetAccess: "Disabled" }],
        ["aws:lambda/functionUrl:FunctionUrl", { functionName: "f", authorizationType: "AWS_IAM" }],
        ["aws:apigateway/restApi:RestApi", { name: "api", endpointConfiguration: { types: "PRIVATE", vpcEndpointIds: ["vpce-1"] } }],
        ["aws:apigatewayv2/api:Api", { protocolType: "HTTP", disableExecuteApiEndpoint: true }],
        ["aws:cloudfront/distribution:Distribution", { enabled: false, origins: [] }],
        ["aws:globalaccelerator/accelerator:Accelerator", { name: "ga", enabled: false }],
    ];
    it("accepts the private twins (and the NAT gateways' EIPs)", () => {
        for (const [type, props] of privateTwins) expectClean(judge(type, props));
    });
    it("flags nodes and instances launched in a subnet that maps public IPs (stack half)", () => {
        const pub = res("aws:ec2/subnet:Subnet", "edge-0", { vpcId: "vpc-1", cidrBlock: "10.0.0.0/24", mapPublicIpOnLaunch: true, id: "subnet-0pub" });
        const priv = res("aws:ec2/subnet:Subnet", "app-private-0", { vpcId: "vpc-1", cidrBlock: "10.0.1.0/24", mapPublicIpOnLaunch: false, id: "subnet-0priv" });
        const ng = res("aws:eks/nodeGroup:NodeGroup", "ng", { clusterName: "c", nodeRoleArn: "arn:aws:iam::1:role/n", subnetIds: [UNKNOWN], scalingConfig: { desiredSize: 1, maxSize: 1, minSize: 1 } }, { propertyDependencies: { subnetIds: [pub.urn] } });
        expectViolation(runStack(privateEndpoints, [pub, ng]).map((v) => v.message), /launches nodes in subnet 'edge-0'/);
        const inst = res("aws:ec2/instance:Instance", "i", { ami: "ami-1", instanceType: "t3.micro", subnetId: "subnet-0pub" });
        expectViolation(runStack(privateEndpoints, [pub, inst]).map((v) => v.message), /launches instances/);
        // compliant twins: private subnet; explicit associatePublicIpAddress false
        expectClean(runStack(privateEndpoints, [priv, { ...ng, propertyDependencies: { subnetIds: [priv.urn] } }]));
        expectClean(runStack(privateEndpoints, [pub, { ...inst, props: { ...inst.props, associatePublicIpAddress: false } }]));
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
