// The data-plane VPC: a private and a public subnet per AZ, NAT egress, an S3 gateway endpoint on the private
// route tables, encrypted flow logs, and optional peering to customer VPCs.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { planSubnets, parseCidr } from "../stacks/cidr";
import { ByocComponent, KEY_OPTS } from "./conventions";
import { NetworkFlow } from "./flows";

export interface PeeringArgs {
    vpcId: pulumi.Input<string>;
    cidr: string;
    ownerId?: pulumi.Input<string>;
    region?: pulumi.Input<string>;
}

export interface DataPlaneNetworkArgs {
    /** Deletion protection (prod): `protect` on the VPC and the flow-log KMS key. */
    protect?: boolean;
    /** IPv4 CIDR between /16 and /22. Plain, not an Input: the subnet plan is decided at construction. */
    vpcCidr: string;
    /** Number of AZs (2 or 3); plain for the same reason. */
    azCount: number;
    natGateways: "single" | "perAz";
    peering?: PeeringArgs[];
    /** Days to keep VPC flow logs. */
    flowLogRetentionDays?: pulumi.Input<number>;
    /** The customer's KMS key (byoc:encryption.kmsKeyArn) for the flow logs; without it the component creates one. */
    kmsKeyArn?: string;
}

export class DataPlaneNetwork extends ByocComponent {
    readonly vpcId: pulumi.Output<string>;
    readonly vpcCidr: pulumi.Output<string>;
    readonly availabilityZones: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateRouteTableIds: pulumi.Output<string[]>;
    readonly publicRouteTableId: pulumi.Output<string>;
    readonly natPublicIps: pulumi.Output<string[]>;
    readonly s3EndpointId: pulumi.Output<string>;
    readonly peeringConnectionIds: pulumi.Output<string[]>;
    readonly flowLogGroupName: pulumi.Output<string>;
    readonly flowLogKeyArn: pulumi.Output<string>;
    /** The peering routes into the private subnets, as a flow row (none without peering). */
    readonly flows: NetworkFlow[];

    constructor(name: string, args: DataPlaneNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("DataPlaneNetwork", name, undefined, opts);
        const vpcCidr = parseCidr(args.vpcCidr);
        if (!vpcCidr || vpcCidr.kind !== "ipv4" || vpcCidr.prefix < 16 || vpcCidr.prefix > 22) {
            throw new pulumi.ResourceError(`DataPlaneNetwork ${name}: vpcCidr "${args.vpcCidr}" must be an IPv4 CIDR between /16 and /22`, this);
        }
        if (!Number.isInteger(args.azCount) || args.azCount < 2 || args.azCount > 3) {
            throw new pulumi.ResourceError(`DataPlaneNetwork ${name}: azCount ${args.azCount} must be 2 or 3`, this);
        }
        const plan = planSubnets(vpcCidr.text, args.azCount);
        const parent = { parent: this };
        const region = aws.getRegionOutput({}, parent).region;
        const azs = aws.getAvailabilityZonesOutput({ state: "available", filters: [{ name: "opt-in-status", values: ["opt-in-not-required"] }] }, parent);
        const zones = [...Array(args.azCount).keys()].map((i) =>
            azs.names.apply((names) => {
                if (names.length < args.azCount) throw new pulumi.ResourceError(`DataPlaneNetwork ${name}: region has ${names.length} AZs, ${args.azCount} needed`, this);
                return names[i];
            }),
        );

        const vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: vpcCidr.text, enableDnsHostnames: true, enableDnsSupport: true, tags: { Name: `${name}-vpc` } }, args.protect === true ? { ...parent, protect: true } : parent);

        // Subnets: private ones host nodes and internal NLBs; public ones only NAT gateways and internet-facing NLBs.
        // Neither maps public IPs: nothing in this VPC gets a public address it did not ask for.
        const subnet = (tier: "private" | "public", i: number) =>
            new aws.ec2.Subnet(`${name}-${tier}-${i}`, {
                vpcId: vpc.id,
                cidrBlock: plan[tier][i],
                availabilityZone: zones[i],
                mapPublicIpOnLaunch: false,
                tags: {
                    Name: `${name}-${tier}-${i}`,
                    "byoc:tier": tier,
                    [tier === "private" ? "kubernetes.io/role/internal-elb" : "kubernetes.io/role/elb"]: "1",
                },
            }, parent);
        const privateSubnets = plan.private.map((_, i) => subnet("private", i));
        const publicSubnets = plan.public.map((_, i) => subnet("public", i));

        const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: { Name: `${name}-igw` } }, parent);
        const publicRouteTable = new aws.ec2.RouteTable(`${name}-public`, {
            vpcId: vpc.id,
            routes: [{ cidrBlock: "0.0.0.0/0", gatewayId: igw.id }],
            tags: { Name: `${name}-public`, "byoc:tier": "public" },
        }, parent);
        publicSubnets.forEach((s, i) => new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: s.id, routeTableId: publicRouteTable.id }, parent));

        const natCount = args.natGateways === "perAz" ? args.azCount : 1;
        const nats = [...Array(natCount).keys()].map((i) => {
            const eip = new aws.ec2.Eip(`${name}-nat-${i}`, { domain: "vpc", tags: { Name: `${name}-nat-${i}` } }, { parent: this, dependsOn: [igw] });
            return new aws.ec2.NatGateway(`${name}-nat-${i}`, { allocationId: eip.allocationId, subnetId: publicSubnets[i].id, tags: { Name: `${name}-nat-${i}` } }, parent);
        });

        const peerings = (args.peering ?? []).map((p, i) => {
            // Same-account, same-region peering can be accepted here; cross-account peering waits for the customer.
            const crossAccount = p.ownerId !== undefined || p.region !== undefined;
            return new aws.ec2.VpcPeeringConnection(`${name}-peer-${i}`, {
                vpcId: vpc.id,
                peerVpcId: p.vpcId,
                peerOwnerId: p.ownerId,
                peerRegion: p.region,
                autoAccept: crossAccount ? undefined : true,
                tags: { Name: `${name}-peer-${i}` },
            }, parent);
        });

        const privateRouteTables = privateSubnets.map((s, i) => {
            const rt = new aws.ec2.RouteTable(`${name}-private-${i}`, {
                vpcId: vpc.id,
                routes: [
                    { cidrBlock: "0.0.0.0/0", natGatewayId: nats[args.natGateways === "perAz" ? i : 0].id },
                    ...(args.peering ?? []).map((p, j) => ({ cidrBlock: parseCidr(p.cidr)!.text, vpcPeeringConnectionId: peerings[j].id })),
                ],
                tags: { Name: `${name}-private-${i}`, "byoc:tier": "private" },
            }, parent);
            new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: s.id, routeTableId: rt.id }, parent);
            return rt;
        });

        // S3 traffic (billing scraper, Thanos) stays on the AWS network through a gateway endpoint.
        const s3Endpoint = new aws.ec2.VpcEndpoint(`${name}-s3`, {
            vpcId: vpc.id,
            serviceName: pulumi.interpolate`com.amazonaws.${region}.s3`,
            vpcEndpointType: "Gateway",
            routeTableIds: privateRouteTables.map((rt) => rt.id),
            tags: { Name: `${name}-s3` },
        }, parent);

        const flowLogs = this.flowLogs(name, vpc, args.flowLogRetentionDays ?? 90, args.kmsKeyArn, args.protect === true);

        this.vpcId = vpc.id;
        this.vpcCidr = vpc.cidrBlock;
        this.availabilityZones = pulumi.all(zones);
        this.privateSubnetIds = pulumi.all(privateSubnets.map((s) => s.id));
        this.publicSubnetIds = pulumi.all(publicSubnets.map((s) => s.id));
        this.privateRouteTableIds = pulumi.all(privateRouteTables.map((rt) => rt.id));
        this.publicRouteTableId = publicRouteTable.id;
        this.natPublicIps = pulumi.all(nats.map((n) => n.publicIp));
        this.s3EndpointId = s3Endpoint.id;
        this.peeringConnectionIds = pulumi.all(peerings.map((p) => p.id));
        this.flowLogGroupName = flowLogs.group.name;
        this.flowLogKeyArn = flowLogs.keyArn;
        this.flows = (args.peering ?? []).length === 0 ? [] : [{
            flow: "Customer VPCs ↔ private subnets (VPC peering)",
            direction: "inbound",
            exposure: "private",
            restrictedBy: pulumi.all(peerings.map((p) => p.id)).apply((ids) =>
                `routes to ${(args.peering ?? []).map((p, i) => `${parseCidr(p.cidr)!.text} via ${ids[i]}`).join(", ")} on the private route tables only (public subnets have none); what the peers reach is what security groups admit: the internal NLB's allow list`),
            component: "DataPlaneNetwork",
        }];
        this.registerOutputs({
            vpcId: this.vpcId,
            vpcCidr: this.vpcCidr,
            availabilityZones: this.availabilityZones,
            privateSubnetIds: this.privateSubnetIds,
            publicSubnetIds: this.publicSubnetIds,
            privateRouteTableIds: this.privateRouteTableIds,
            publicRouteTableId: this.publicRouteTableId,
            natPublicIps: this.natPublicIps,
            s3EndpointId: this.s3EndpointId,
            peeringConnectionIds: this.peeringConnectionIds,
            flowLogGroupName: this.flowLogGroupName,
        });
    }

    /** All VPC traffic metadata to a CloudWatch log group encrypted with the customer's key or one of its own. */
    private flowLogs(name: string, vpc: aws.ec2.Vpc, retentionDays: pulumi.Input<number>, customerKeyArn?: string, protect = false): { group: aws.cloudwatch.LogGroup; keyArn: pulumi.Output<string> } {
        const parent = { parent: this };
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const region = aws.getRegionOutput({}, parent).region;
        const partition = aws.getPartitionOutput({}, parent).partition;
        const keyArn = customerKeyArn ?? new aws.kms.Key(`${name}-flow-logs`, {
            description: `Encrypts VPC flow logs of ${name}`,
            enableKeyRotation: true,
            deletionWindowInDays: 30,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [
                    { Sid: "AccountAdmin", Effect: "Allow", Principal: { AWS: pulumi.interpolate`arn:${partition}:iam::${account}:root` }, Action: "kms:*", Resource: "*" },
                    {
                        Sid: "CloudWatchLogs",
                        Effect: "Allow",
                        Principal: { Service: pulumi.interpolate`logs.${region}.amazonaws.com` },
                        Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                        Resource: "*",
                        Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:/byoc/${name}/flow-logs` } },
                    },
                ],
            }),
        }, KEY_OPTS(this, protect)).arn;
        const group = new aws.cloudwatch.LogGroup(`${name}-flow-logs`, { name: `/byoc/${name}/flow-logs`, retentionInDays: retentionDays, kmsKeyId: keyArn }, parent);
        const role = new aws.iam.Role(`${name}-flow-logs`, {
            assumeRolePolicy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Principal: { Service: "vpc-flow-logs.amazonaws.com" },
                    Action: "sts:AssumeRole",
                    Condition: { StringEquals: { "aws:SourceAccount": account } },
                }],
            }),
        }, parent);
        new aws.iam.RolePolicy(`${name}-flow-logs`, {
            role: role.id,
            policy: pulumi.jsonStringify({
                Version: "2012-10-17",
                Statement: [{
                    Effect: "Allow",
                    Action: ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    Resource: [group.arn, pulumi.interpolate`${group.arn}:*`],
                }],
            }),
        }, parent);
        new aws.ec2.FlowLog(`${name}-flow-logs`, {
            vpcId: vpc.id,
            trafficType: "ALL",
            logDestinationType: "cloud-watch-logs",
            logDestination: group.arn,
            iamRoleArn: role.arn,
            maxAggregationInterval: 60,
        }, parent);
        return { group, keyArn: pulumi.output(keyArn) };
    }
}
