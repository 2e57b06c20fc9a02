/**
 * private-endpoints — the management plane and the data stay private: the EKS API is never open to the
 * world (public only for the management NAT CIDRs, or private-only when the stack says so), private
 * subnets never hand out public IPs, every S3 bucket has a full public access block, and every VPC has
 * an S3 gateway endpoint so billing/telemetry traffic to S3 stays on the AWS network.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { arr, bool, cidrWithin, environmentSchema, indexBy, isObj, isUnknown, isWorldCidr, Obj, raw, resolveRef, StackRes, str, tags } from "./util";

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

export const privateEndpoints: ResourceValidationPolicy = {
    name: "private-endpoints",
    description:
        "The EKS API endpoint is never open to the world: public access only for the management NAT CIDRs, or private-only when the stack asks for it. Private subnets and node launch templates never assign public IPs.",
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
        if (t !== EKS_COMPONENT && t !== EKS_CLUSTER && t !== SUBNET && t !== LAUNCH_TEMPLATE) return;
        const props = raw(args.props);
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
