import { strict as assert } from "assert";
import { runComponent, runStack, Stack } from "../harness";
import { parseCidr, overlaps, contains } from "../../stacks/cidr";
import { DataPlaneNetwork } from "../../components/DataPlaneNetwork";

const SUBNET = "aws:ec2/subnet:Subnet";
const ROUTE_TABLE = "aws:ec2/routeTable:RouteTable";

function tier(stack: Stack, t: "private" | "public") {
    return stack.ofType(SUBNET).filter((s) => s.inputs.tags["byoc:tier"] === t);
}

describe("DataPlaneNetwork", () => {
    let dev: Stack;
    let prod: Stack;
    before(async () => {
        dev = await runStack("dev");
        prod = await runStack("prod");
    });

    for (const [env, azs, nats] of [["dev", 2, 1], ["prod", 3, 3]] as const) {
        describe(`${env} stack`, () => {
            const stack = () => (env === "dev" ? dev : prod);

            it(`has ${azs} private and ${azs} public subnets in distinct AZs from getAvailabilityZones`, () => {
                for (const t of ["private", "public"] as const) {
                    const subnets = tier(stack(), t);
                    assert.equal(subnets.length, azs);
                    const zones = subnets.map((s) => s.inputs.availabilityZone);
                    assert.equal(new Set(zones).size, azs);
                    zones.forEach((z) => assert.match(z, /^us-east-1[a-d]$/));
                }
            });

            it("carves non-overlapping subnets inside the VPC, private ones larger than public ones", () => {
                const vpc = parseCidr(stack().one("aws:ec2/vpc:Vpc").inputs.cidrBlock)!;
                const subnets = stack().ofType(SUBNET).map((s) => ({ tier: s.inputs.tags["byoc:tier"], cidr: parseCidr(s.inputs.cidrBlock)! }));
                for (const s of subnets) assert.ok(contains(vpc, s.cidr), `${s.cidr.text} outside ${vpc.text}`);
                subnets.forEach((a, i) => subnets.slice(i + 1).forEach((b) => assert.ok(!overlaps(a.cidr, b.cidr), `${a.cidr.text} overlaps ${b.cidr.text}`)));
                const minPrivate = Math.min(...subnets.filter((s) => s.tier === "private").map((s) => Number(s.cidr.size)));
                const maxPublic = Math.max(...subnets.filter((s) => s.tier === "public").map((s) => Number(s.cidr.size)));
                assert.ok(minPrivate > maxPublic);
                const privateShare = subnets.filter((s) => s.tier === "private").reduce((n, s) => n + Number(s.cidr.size), 0) / Number(vpc.size);
                assert.ok(privateShare >= 0.5, `private subnets hold ${privateShare} of the VPC`);
            });

            it("never maps public IPs on launch and tags subnets for the load balancer controller", () => {
                for (const s of stack().ofType(SUBNET)) assert.equal(s.inputs.mapPublicIpOnLaunch, false, s.name);
                tier(stack(), "private").forEach((s) => assert.equal(s.inputs.tags["kubernetes.io/role/internal-elb"], "1"));
                tier(stack(), "public").forEach((s) => assert.equal(s.inputs.tags["kubernetes.io/role/elb"], "1"));
            });

            it(`has ${nats} NAT gateway(s) with Elastic IPs in public subnets, default routes of private tables through them`, () => {
                const natGws = stack().ofType("aws:ec2/natGateway:NatGateway");
                assert.equal(natGws.length, nats);
                assert.equal(stack().ofType("aws:ec2/eip:Eip").length, nats);
                const publicIds = new Set(tier(stack(), "public").map((s) => s.id));
                natGws.forEach((n) => assert.ok(publicIds.has(n.inputs.subnetId)));
                const natIds = new Set(natGws.map((n) => n.id));
                const privateTables = stack().ofType(ROUTE_TABLE).filter((rt) => rt.inputs.tags["byoc:tier"] === "private");
                assert.equal(privateTables.length, azs);
                const used = privateTables.map((rt) => rt.inputs.routes.find((r: any) => r.cidrBlock === "0.0.0.0/0").natGatewayId);
                used.forEach((id) => assert.ok(natIds.has(id)));
                assert.equal(new Set(used).size, nats);
                assert.equal(stack().outputs.natPublicIps.length, nats);
            });

            it("routes the public subnets to the internet gateway and nothing else", () => {
                const publicTable = stack().ofType(ROUTE_TABLE).filter((rt) => rt.inputs.tags["byoc:tier"] === "public");
                assert.equal(publicTable.length, 1);
                assert.deepEqual(publicTable[0].inputs.routes.map((r: any) => Object.keys(r).sort()), [["cidrBlock", "gatewayId"]]);
            });

            it("puts an S3 gateway endpoint on every private route table and only those", () => {
                const endpoint = stack().one("aws:ec2/vpcEndpoint:VpcEndpoint");
                assert.equal(endpoint.inputs.vpcEndpointType, "Gateway");
                assert.equal(endpoint.inputs.serviceName, "com.amazonaws.us-east-1.s3");
                const privateTableIds = stack().ofType(ROUTE_TABLE).filter((rt) => rt.inputs.tags["byoc:tier"] === "private").map((rt) => rt.id);
                assert.deepEqual([...endpoint.inputs.routeTableIds].sort(), privateTableIds.sort());
                assert.equal(stack().outputs.s3EndpointId, endpoint.id);
            });

            it("writes flow logs of all traffic to a KMS-encrypted log group", () => {
                const flowLog = stack().one("aws:ec2/flowLog:FlowLog");
                assert.equal(flowLog.inputs.trafficType, "ALL");
                const group = stack().ofType("aws:cloudwatch/logGroup:LogGroup").find((g) => g.outputs.arn === flowLog.inputs.logDestination)!;
                assert.ok(group, "flow log destination is a log group of this stack");
                const key = stack().ofType("aws:kms/key:Key").find((k) => k.outputs.arn === group.inputs.kmsKeyId);
                assert.ok(key, "log group encrypted with a key of this stack");
                assert.equal(key!.inputs.enableKeyRotation, true);
            });
        });
    }

    it("peers with customer VPCs: routes on every private route table, none on the public one", () => {
        const peering = prod.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection");
        assert.equal(peering.inputs.peerVpcId, "vpc-0a1b2c3d4e5f67890");
        assert.equal(peering.inputs.peerOwnerId, "444455556666");
        assert.equal(peering.inputs.autoAccept, undefined, "cross-account peering is accepted by the customer");
        for (const rt of prod.ofType(ROUTE_TABLE)) {
            const peerRoutes = rt.inputs.routes.filter((r: any) => r.vpcPeeringConnectionId === peering.id);
            if (rt.inputs.tags["byoc:tier"] === "private") assert.deepEqual(peerRoutes.map((r: any) => r.cidrBlock), ["172.31.0.0/16"]);
            else assert.equal(peerRoutes.length, 0);
        }
        assert.equal(dev.ofType("aws:ec2/vpcPeeringConnection:VpcPeeringConnection").length, 0);
    });

    it("auto-accepts same-account peering", async () => {
        const stack = await runComponent(() => new DataPlaneNetwork("n", { vpcCidr: "10.1.0.0/22", azCount: 2, natGateways: "single", peering: [{ vpcId: "vpc-0123456789abcdef0", cidr: "10.9.0.0/16" }] }));
        assert.equal(stack.one("aws:ec2/vpcPeeringConnection:VpcPeeringConnection").inputs.autoAccept, true);
        const sizes = stack.ofType(SUBNET).map((s) => s.inputs.cidrBlock).sort();
        assert.deepEqual(sizes, ["10.1.0.0/24", "10.1.1.0/24", "10.1.3.0/26", "10.1.3.64/26"]);
    });

    it("rejects a VPC CIDR outside /16–/22 and an AZ count other than 2 or 3 with a ResourceError", async () => {
        await assert.rejects(runComponent(() => new DataPlaneNetwork("n", { vpcCidr: "10.0.0.0/8", azCount: 3, natGateways: "perAz" })), /vpcCidr "10.0.0.0\/8" must be an IPv4 CIDR between \/16 and \/22/);
        await assert.rejects(runComponent(() => new DataPlaneNetwork("n", { vpcCidr: "10.0.0.0/16", azCount: 4, natGateways: "perAz" })), /azCount 4 must be 2 or 3/);
    });
});
