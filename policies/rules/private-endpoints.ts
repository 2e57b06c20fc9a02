/**
 * private-endpoints — the management plane and the data stay private: the EKS API is never open to the
 * world (public only for the management NAT CIDRs, or private-only when the stack says so), private
 * subnets never hand out public IPs, every S3 bucket has a full public access block, and every VPC has
 * an S3 gateway endpoint so billing/telemetry traffic to S3 stays on the AWS network.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { arr, bool, cidrWithin, environmentSchema, get, indexBy, isObj, isUnknown, isWorldCidr, Obj, raw, resolveRef, StackRes, str, tags } from "./util";

export const EKS_COMPONENT = "eks:index:Cluster";
export const EKS_CLUSTER = "aws:eks/cluster:Cluster";
export const SUBNET = "aws:ec2/subnet:Subnet";
export const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
export const BUCKET_TYPES = new Set(["aws:s3/bucketV2:BucketV2", "aws:s3/bucket:Bucket"]);
export const PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock";
export const ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock";
export const VPC = "aws:ec2/vpc:Vpc";
export const VPC_ENDPOINT = "aws:ec2/vpcEndpoint:VpcEndpoint";

interface Cfg {
    environment?: string;
    privateEndpointOnly?: boolean;
    managementCidrs?: string[];
}

interface Endpoint {
    publicAccess: unknown;
    privateAccess: unknown;
    cidrs: unknown;
}

function endpointProblems(e: Endpoint, cfg: Cfg): string[] {
    const pub = bool(e.publicAccess, true); // AWS and @pulumi/eks default: public endpoint on
    const priv = bool(e.privateAccess, false);
    const out: string[] = [];
    if (cfg.privateEndpointOnly) {
        if (pub === true) out.push("the stack requires a private-only API endpoint but endpointPublicAccess is on");
        if (priv === false) out.push("the stack requires a private-only API endpoint but endpointPrivateAccess is off");
        return out;
    }
    if (pub !== true || isUnknown(e.cidrs)) return out;
    const cidrs = e.cidrs === undefined || e.cidrs === null ? [] : arr(e.cidrs);
    if (cidrs.some(isUnknown)) return out;
    if (cidrs.length === 0) {
        out.push("the public API endpoint has no publicAccessCidrs, which AWS defaults to 0.0.0.0/0");
        return out;
    }
    const world = cidrs.filter(isWorldCidr);
    if (world.length > 0) out.push(`the public API endpoint is open to ${world.join(", ")}`);
    const mgmt = cfg.managementCidrs ?? [];
    if (mgmt.length > 0) {
        const outside = cidrs.filter((c) => !isWorldCidr(c) && !cidrWithin(String(c), mgmt));
        if (outside.length > 0) out.push(`publicAccessCidrs ${outside.join(", ")} are not management CIDRs (${mgmt.join(", ")})`);
    }
    return out;
}

export function isPrivateSubnet(name: string, props: Obj): boolean {
    const t = tags(props);
    if ("kubernetes.io/role/internal-elb" in t || t["byoc:tier"] === "private") return true;
    return /(^|[-_])private([-_]|$)/i.test(name) || /(^|[-_ ])private([-_ ]|$)/i.test(str(t["Name"]) ?? "");
}

/**
 * Resources that hand out a public address or a public endpoint (enumerated from @pulumi/aws 7.x typings):
 * returns the problem, or undefined. The NAT gateways' EIPs (no instance / network interface) are not workloads.
 */
export function publicExposure(type: string, p: Obj): string | undefined {
    const on = (v: unknown) => bool(v, false) === true;
    switch (type) {
        case "aws:ec2/instance:Instance":
        case "aws:ec2/spotInstanceRequest:SpotInstanceRequest":
        case "aws:ec2/launchConfiguration:LaunchConfiguration":
            return on(p.associatePublicIpAddress) ? "associates a public IP address (associatePublicIpAddress)" : undefined;
        case "aws:ec2/eip:Eip":
            return str(p.instance) || str(p.networkInterface) || isUnknown(p.instance) || isUnknown(p.networkInterface)
                ? `gives a public address to ${str(p.instance) ? `instance ${p.instance}` : "a network interface"}`
                : undefined;
        case "aws:ec2/eipAssociation:EipAssociation":
            return `attaches an Elastic IP to ${p.instanceId !== undefined ? "an instance" : "a network interface"}`;
        case "aws:rds/instance:Instance":
        case "aws:rds/clusterInstance:ClusterInstance":
        case "aws:redshift/cluster:Cluster":
        case "aws:mq/broker:Broker":
        case "aws:dms/replicationInstance:ReplicationInstance":
            return on(p.publiclyAccessible) ? "is publicly accessible (publiclyAccessible: true)" : undefined;
        case "aws:opensearch/domain:Domain":
        case "aws:elasticsearch/domain:Domain":
            return p.vpcOptions === undefined || p.vpcOptions === null ? "has a public endpoint (no vpcOptions)" : undefined;
        case "aws:msk/cluster:Cluster": {
            const t = get(p, "brokerNodeGroupInfo", "connectivityInfo", "publicAccess", "type");
            return t === "SERVICE_PROVIDED_EIPS" ? "gives its brokers public addresses (publicAccess SERVICE_PROVIDED_EIPS)" : undefined;
        }
        case "aws:ecs/service:Service":
            return on(get(p, "networkConfiguration", "assignPublicIp")) ? "assigns its tasks public IPs (assignPublicIp)" : undefined;
        case "aws:apprunner/service:Service": {
            const v = get(p, "networkConfiguration", "ingressConfiguration", "isPubliclyAccessible");
            return isUnknown(v) || v === false ? undefined : "is publicly accessible (App Runner's default)";
        }
        case "aws:transfer/server:Server": {
            const t = p.endpointType;
            return isUnknown(t) || (t !== undefined && t !== "PUBLIC") ? undefined : "has a PUBLIC endpoint (the default endpointType)";
        }
        case "aws:sagemaker/notebookInstance:NotebookInstance":
            return isUnknown(p.directInternetAccess) || p.directInternetAccess === "Disabled" ? undefined : "has direct internet access (the default)";
        case "aws:lambda/functionUrl:FunctionUrl":
            return p.authorizationType === "NONE" ? "is a public function URL without authentication (authorizationType NONE)" : undefined;
        case "aws:lambda/permission:Permission":
            return p.functionUrlAuthType === "NONE" || (p.principal === "*" && /InvokeFunctionUrl/i.test(String(p.action))) ? "lets anyone invoke the function URL" : undefined;
        case "aws:apigateway/restApi:RestApi": {
            const types = get(p, "endpointConfiguration", "types");
            if (isUnknown(types)) return undefined;
            const list = typeof types === "string" ? [types] : arr(types).map(String);
            return list.includes("PRIVATE") ? undefined : `has a public ${list[0] ?? "EDGE"} endpoint (endpointConfiguration.types is not PRIVATE)`;
        }
        case "aws:apigatewayv2/api:Api":
            return on(p.disableExecuteApiEndpoint) ? undefined : "has a public execute-api endpoint (API Gateway v2 APIs are always public; disableExecuteApiEndpoint is off)";
        case "aws:cloudfront/distribution:Distribution":
            return bool(p.enabled, true) === false ? undefined : "is a public CloudFront distribution";
        case "aws:globalaccelerator/accelerator:Accelerator":
            return bool(p.enabled, true) === false ? undefined : "hands out public anycast addresses (Global Accelerator)";
        case "aws:lightsail/instance:Instance":
            return "is a Lightsail instance (always on a public address)";
        default:
            return undefined;
    }
}

const NODE_GROUP_TYPES = new Set(["aws:eks/nodeGroup:NodeGroup", "eks:index:ManagedNodeGroup"]);
const INSTANCE_TYPES = new Set(["aws:ec2/instance:Instance", "aws:ec2/spotInstanceRequest:SpotInstanceRequest"]);

/** Stack half: nodes and instances placed in subnets that map public IPs on launch (any subnet, by join). */
function validatePlacement(args: Parameters<StackValidationPolicy["validateStack"]>[0], reportViolation: (m: string, urn?: string) => void) {
    const resources = args.resources as unknown as StackRes[];
    let subnets: Map<string, StackRes> | undefined;
    for (const r of resources) {
        const isNg = NODE_GROUP_TYPES.has(r.type);
        if (!isNg && !INSTANCE_TYPES.has(r.type) && r.type !== "aws:autoscaling/group:Group") continue;
        subnets ??= indexBy(resources, (x) => x.type === SUBNET && bool(raw(x.props).mapPublicIpOnLaunch, false) === true);
        if (subnets.size === 0) return;
        const p = raw(r.props);
        if (INSTANCE_TYPES.has(r.type) && p.associatePublicIpAddress !== undefined && p.associatePublicIpAddress !== null) continue; // explicit: judged by the resource half
        const prop = isNg ? "subnetIds" : r.type === "aws:autoscaling/group:Group" ? "vpcZoneIdentifiers" : "subnetId";
        const values = typeof p[prop] === "string" ? [p[prop]] : arr(p[prop]);
        const hits = new Set<StackRes>();
        for (const v of values) if (typeof v === "string" && subnets.has(v)) hits.add(subnets.get(v)!);
        if (values.some(isUnknown) || isUnknown(p[prop])) for (const d of r.propertyDependencies?.[prop] ?? []) if (subnets.has(d.urn)) hits.add(subnets.get(d.urn)!);
        for (const sn of hits) {
            reportViolation(
                `'${r.name}' (${r.type.split(":")[1]}) launches ${isNg ? "nodes" : "instances"} in subnet '${sn.name}', which maps public IPs on launch, so they get internet-routable addresses. ` +
                    "Remediation: place them in the private subnets (mapPublicIpOnLaunch: false), or set associatePublicIpAddress: false.",
                r.urn,
            );
        }
    }
}

export const privateEndpoints: ResourceValidationPolicy & StackValidationPolicy = {
    name: "private-endpoints",
    description:
        "The EKS API endpoint is never open to the world: public access only for the management NAT CIDRs, or private-only when the stack asks for it. Nothing gets a public address or public endpoint: private subnets, launch templates, instances, EIPs on workloads, public databases/brokers, function URLs, API Gateway, CloudFront, Global Accelerator.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            ...environmentSchema,
            privateEndpointOnly: { type: "boolean", default: false, description: "byoc:controlPlane.privateEndpointOnly of the stack." },
            managementCidrs: { type: "array", items: { type: "string" }, default: [], description: "byoc:controlPlane.managementCidrs; when set, publicAccessCidrs must lie within them." },
        },
    },
    validateResource: (args, reportViolation) => {
        const t = args.type;
        if (!t.startsWith("aws:") && t !== EKS_COMPONENT) return;
        const props = raw(args.props);
        const exposure = publicExposure(t, props);
        if (exposure) {
            reportViolation(
                `'${args.name}' (${t.split(":")[1]}) ${exposure}; the data plane has no public addresses or endpoints besides the allow-listed ingress load balancer. ` +
                    "Remediation: keep it private (VPC-only endpoint, private subnet, no public IP); reach it through the VPC, peering or the tailnet.",
            );
            return;
        }
        if (t !== EKS_COMPONENT && t !== EKS_CLUSTER && t !== SUBNET && t !== LAUNCH_TEMPLATE) return;
        const cfg = args.getConfig<Cfg>();
        const fix = cfg.privateEndpointOnly
            ? "Remediation: set endpointPublicAccess: false and endpointPrivateAccess: true; management then reaches the API over the tailnet."
            : "Remediation: set publicAccessCidrs to `byoc:controlPlane.managementCidrs`, or make the endpoint private-only (`privateEndpointOnly: true`).";
        let endpoint: Endpoint | undefined;
        if (args.type === EKS_COMPONENT) {
            endpoint = { publicAccess: props.endpointPublicAccess, privateAccess: props.endpointPrivateAccess, cidrs: props.publicAccessCidrs };
            if (props.nodeAssociatePublicIpAddress === true) {
                reportViolation(`EKS cluster '${args.name}' gives its nodes public IPs (nodeAssociatePublicIpAddress). Remediation: set nodeAssociatePublicIpAddress: false and place nodes in private subnets.`);
            }
        } else if (args.type === EKS_CLUSTER) {
            let vc = props.vpcConfig;
            if (Array.isArray(vc)) vc = vc[0];
            if (isUnknown(vc)) return;
            const v = isObj(vc) ? vc : {};
            endpoint = { publicAccess: v.endpointPublicAccess, privateAccess: v.endpointPrivateAccess, cidrs: v.publicAccessCidrs };
        }
        if (endpoint) {
            for (const p of endpointProblems(endpoint, cfg)) reportViolation(`EKS cluster '${args.name}': ${p}. ${fix}`);
            return;
        }
        if (args.type === SUBNET) {
            if (bool(props.mapPublicIpOnLaunch, false) === true && isPrivateSubnet(args.name, props)) {
                reportViolation(`Private subnet '${args.name}' maps public IPs on launch. Remediation: set mapPublicIpOnLaunch: false; private subnets reach out through the NAT gateway.`);
            }
            return;
        }
        if (args.type === LAUNCH_TEMPLATE) {
            arr(props.networkInterfaces).forEach((ni, i) => {
                if (isObj(ni) && bool(ni.associatePublicIpAddress, false) === true) {
                    reportViolation(`Launch template '${args.name}' networkInterfaces[${i}] associates a public IP. Remediation: set associatePublicIpAddress: false.`);
                }
            });
        }
    },
    validateStack: validatePlacement,
};

const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

function missingFlags(props: Obj): string[] {
    return PAB_FLAGS.filter((f) => !isUnknown(props[f]) && bool(props[f], false) !== true);
}

export function isS3GatewayEndpoint(props: Obj): boolean {
    const svc = str(props.serviceName);
    const type = props.vpcEndpointType;
    return !!svc && /^com\.amazonaws\.[a-z0-9-]+\.s3$/.test(svc) && (type === undefined || type === null || type === "Gateway" || isUnknown(type));
}

export const privateEndpointsStack: StackValidationPolicy = {
    name: "private-endpoints-stack",
    description:
        "Across the stack: every S3 bucket has a public access block with all four settings on (or an account-wide one), and every VPC has an S3 gateway endpoint.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateStack: (args, reportViolation) => {
        const resources = args.resources as unknown as StackRes[];
        const buckets = indexBy(resources, (r) => BUCKET_TYPES.has(r.type), ["bucket"]);
        const vpcs = indexBy(resources, (r) => r.type === VPC);
        const blocked = new Set<string>();
        let accountWide = false;
        const withEndpoint = new Set<string>();
        for (const r of resources) {
            const p = raw(r.props);
            if (r.type === ACCOUNT_PUBLIC_ACCESS_BLOCK) {
                if (missingFlags(p).length === 0) accountWide = true;
            } else if (r.type === PUBLIC_ACCESS_BLOCK && buckets.size > 0) {
                const b = resolveRef(r, "bucket", buckets);
                if (!b) continue;
                const missing = missingFlags(p);
                if (missing.length === 0) blocked.add(b.urn);
                else {
                    blocked.add(b.urn); // reported here, not again as "missing"
                    reportViolation(
                        `Public access block '${r.name}' of bucket '${b.name}' leaves ${missing.join(", ")} off. Remediation: set all four of ${PAB_FLAGS.join(", ")} to true.`,
                        r.urn,
                    );
                }
            } else if (r.type === VPC_ENDPOINT && vpcs.size > 0 && isS3GatewayEndpoint(p)) {
                const v = resolveRef(r, "vpcId", vpcs);
                if (v) withEndpoint.add(v.urn);
            }
        }
        const seen = new Set<string>();
        if (!accountWide) {
            for (const b of buckets.values()) {
                if (seen.has(b.urn) || blocked.has(b.urn)) continue;
                seen.add(b.urn);
                reportViolation(
                    `S3 bucket '${b.name}' has no public access block. Remediation: add an aws.s3.BucketPublicAccessBlock for it with blockPublicAcls, blockPublicPolicy, ignorePublicAcls and restrictPublicBuckets all true.`,
                    b.urn,
                );
            }
        }
        for (const v of vpcs.values()) {
            if (seen.has(v.urn) || withEndpoint.has(v.urn)) continue;
            seen.add(v.urn);
            reportViolation(
                `VPC '${v.name}' has no S3 gateway endpoint, so billing and telemetry traffic to S3 would leave through the NAT gateway. ` +
                    "Remediation: add an aws.ec2.VpcEndpoint with serviceName com.amazonaws.<region>.s3, vpcEndpointType Gateway, attached to the private route tables.",
                v.urn,
            );
        }
    },
};
