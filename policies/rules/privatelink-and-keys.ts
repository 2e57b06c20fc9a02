/**
 * privatelink-exposure — a stack that offers its ingress over PrivateLink (it has a VPC endpoint service) has no
 * internet-facing load balancer, and no endpoint service anywhere admits `*` or (in prod) skips acceptance.
 * customer-managed-keys — in prod every resource of the types the data plane encrypts is encrypted with a
 * customer-managed KMS key (the customer's own or one the stack created), never an AWS-managed default.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { arr, bool, environmentSchema, envOf, get, indexBy, isObj, isUnknown, Obj, raw, resolveRef, StackRes, str } from "./util";

const ENDPOINT_SERVICE = "aws:ec2/vpcEndpointService:VpcEndpointService";
const ENDPOINT_PRINCIPAL = "aws:ec2/vpcEndpointServiceAllowedPrinciple:VpcEndpointServiceAllowedPrinciple";
const LOAD_BALANCERS = new Set(["aws:lb/loadBalancer:LoadBalancer", "aws:alb/loadBalancer:LoadBalancer", "aws:elb/loadBalancer:LoadBalancer"]);
const K8S_SERVICE = "kubernetes:core/v1:Service";
const SCHEME = "service.beta.kubernetes.io/aws-load-balancer-scheme";
const LEGACY_INTERNAL = "service.beta.kubernetes.io/aws-load-balancer-internal";

const principalsOf = (v: unknown): string[] => arr(v).map((p) => str(p)).filter((p): p is string => p !== undefined);
const admitsEveryone = (p: string) => p.trim() === "*";

/** Is this Service's load balancer internal? Unknown (a preview placeholder) counts as internal: judged again at up. */
function serviceIsInternal(props: Obj): boolean {
    const annotations = get(props, "metadata", "annotations");
    if (isUnknown(annotations)) return true;
    const a = isObj(annotations) ? annotations : {};
    return str(a[SCHEME]) === "internal" || str(a[LEGACY_INTERNAL]) === "true" || isUnknown(a[SCHEME]);
}

export const privateLinkExposure: StackValidationPolicy = {
    name: "privatelink-exposure",
    description:
        "A stack that exposes its ingress as a VPC endpoint service (PrivateLink) has no internet-facing load balancer (aws.lb/alb/elb LoadBalancer with internal false, LoadBalancer Services without the internal scheme); no endpoint service admits `*`, and in prod none lets endpoints connect without acceptance.",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateStack: (args, report) => {
        const env = envOf(args.getConfig<{ environment?: string }>());
        const services = args.resources.filter((r) => r.type === ENDPOINT_SERVICE);
        for (const s of services) {
            const p = raw(s.props);
            const open = principalsOf(p.allowedPrincipals).filter(admitsEveryone);
            if (open.length > 0) report(`Endpoint service '${s.name}' admits every AWS principal (allowedPrincipals contains "*"): anyone could connect an interface endpoint to the ingress. Remediation: list the customer's account or role ARNs (byoc:ingress.privateLink.allowedPrincipals).`, s.urn);
            if (env === "prod" && bool(p.acceptanceRequired, false) === false) report(`Endpoint service '${s.name}' accepts endpoint connections automatically (acceptanceRequired false): in prod every connection is accepted explicitly. Remediation: set acceptanceRequired: true.`, s.urn);
        }
        for (const r of args.resources.filter((x) => x.type === ENDPOINT_PRINCIPAL)) {
            const principal = str(raw(r.props).principalArn);
            if (principal !== undefined && admitsEveryone(principal)) report(`Endpoint service principal '${r.name}' is "*": every AWS principal may connect. Remediation: name an account or role ARN.`, r.urn);
        }
        if (services.length === 0) return;
        for (const r of args.resources) {
            const p = raw(r.props);
            if (LOAD_BALANCERS.has(r.type) && bool(p.internal, false) === false) {
                report(`Load balancer '${r.name}' is internet-facing in a stack whose ingress is PrivateLink-only: a second, public way in. Remediation: set internal: true, or remove it.`, r.urn);
            }
            if (r.type === K8S_SERVICE && str(get(p, "spec", "type")) === "LoadBalancer" && !serviceIsInternal(p)) {
                report(`Service '${r.name}' is of type LoadBalancer without the internal scheme (annotation ${SCHEME}: internal) in a stack whose ingress is PrivateLink-only: the controller would create an internet-facing NLB. Remediation: use the PrivateLink NLB (a ClusterIP Service and a TargetGroupBinding), or annotate it internal.`, r.urn);
            }
        }
    },
};

// ------------------------------------------------------------------------------------------------

const AWS_MANAGED = /^(arn:aws[a-z-]*:kms:[^:]*:\d*:)?alias\/aws\//;
/** A KMS key reference that names a customer-managed key: anything but absent or an `alias/aws/...` default. */
function customerKey(v: unknown): "yes" | "no" | "unknown" {
    if (isUnknown(v)) return "unknown";
    const k = str(v);
    return k && k.trim() !== "" && !AWS_MANAGED.test(k) ? "yes" : "no";
}

const SSE_TYPES = new Set(["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"]);
const BUCKETS = new Set(["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"]);
const EBS_PROVISIONERS = new Set(["ebs.csi.aws.com", "kubernetes.io/aws-ebs"]);

/** What is not encrypted with a customer-managed key in one resource, as phrases; empty when it is (or unknown). */
function keyProblems(r: StackRes): string[] {
    const p = raw(r.props);
    const no = (what: string, v: unknown) => (customerKey(v) === "no" ? [what] : []);
    switch (r.type) {
        case "eks:index:Cluster":
            // Offline and in `byoc policy check` the component carries its inputs; in a real AnalyzeStack only its
            // outputs (pulumi-eks: core.encryptionConfig), and its aws:eks/cluster child is judged on its own.
            if ("encryptionConfigKeyArn" in p) return no("Kubernetes Secrets (encryptionConfigKeyArn)", p.encryptionConfigKeyArn);
            if (isObj(p.core)) return no("Kubernetes Secrets (core.encryptionConfig.provider.keyArn)", get(p, "core", "encryptionConfig", "provider", "keyArn"));
            return ["Kubernetes Secrets (no encryptionConfigKeyArn)"];
        case "aws:eks/cluster:Cluster":
            return no("Kubernetes Secrets (encryptionConfig.provider.keyArn)", get(p, "encryptionConfig", "provider", "keyArn"));
        case "aws:cloudwatch/logGroup:LogGroup":
            return no("the log group (kmsKeyId)", p.kmsKeyId);
        case "aws:ebs/volume:Volume":
            return bool(p.encrypted, false) === false ? ["the volume (encrypted false)"] : no("the volume (kmsKeyId)", p.kmsKeyId);
        case "aws:ec2/launchTemplate:LaunchTemplate":
            return arr(p.blockDeviceMappings).flatMap((m, i) => {
                const ebs = get(m, "ebs");
                if (!isObj(ebs)) return [];
                if (bool(ebs.encrypted, false) === false) return [`blockDeviceMappings[${i}] (encrypted false)`];
                return no(`blockDeviceMappings[${i}] (kmsKeyId)`, ebs.kmsKeyId);
            });
        case "kubernetes:storage.k8s.io/v1:StorageClass": {
            if (!EBS_PROVISIONERS.has(str(p.provisioner) ?? "")) return [];
            const params = isObj(p.parameters) ? p.parameters : {};
            if (bool(params.encrypted, false) === false) return ["its EBS volumes (parameters.encrypted)"];
            return no("its EBS volumes (parameters.kmsKeyId)", params.kmsKeyId);
        }
        default:
            if (!SSE_TYPES.has(r.type)) return [];
            return arr(p.rules).flatMap((rule, i) => {
                const d = get(rule, "applyServerSideEncryptionByDefault");
                const alg = str(get(d, "sseAlgorithm"));
                if (alg === undefined && isUnknown(get(d, "sseAlgorithm"))) return [];
                if (alg !== "aws:kms" && alg !== "aws:kms:dsse") return [`rules[${i}] (sseAlgorithm ${alg ?? "absent"}, not aws:kms)`];
                return no(`rules[${i}] (kmsMasterKeyId)`, get(d, "kmsMasterKeyId"));
            });
    }
}

export const customerManagedKeys: StackValidationPolicy = {
    name: "customer-managed-keys",
    description:
        "In prod, everything of the types the data plane encrypts is encrypted with a customer-managed KMS key (the customer's own or one the stack created), never an AWS-managed default: EKS Secrets, CloudWatch log groups, EBS volumes (volumes, launch templates, EBS StorageClasses) and S3 buckets (SSE-KMS).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateStack: (args, report) => {
        if (envOf(args.getConfig<{ environment?: string }>()) !== "prod") return;
        const resources = args.resources as unknown as StackRes[];
        const withClusterChild = new Set(resources.filter((r) => r.type === "aws:eks/cluster:Cluster" && r.parent).map((r) => r.parent!.urn));
        for (const r of resources) {
            if (r.type === "eks:index:Cluster" && withClusterChild.has(r.urn) && !("encryptionConfigKeyArn" in raw(r.props))) continue;
            const problems = keyProblems(r);
            if (problems.length > 0) report(`'${r.name}' (${r.type}) does not encrypt ${problems.join(", ")} with a customer-managed KMS key. Remediation: set byoc:encryption.kmsKeyArn, or a KMS key the stack creates, on it.`, r.urn);
        }
        // A bucket with no SSE-KMS configuration at all is encrypted with S3-managed keys only.
        const sse = resources.filter((r) => SSE_TYPES.has(r.type));
        const buckets = indexBy(resources, (r) => BUCKETS.has(r.type), ["bucket"]);
        const configured = new Set(sse.map((c) => resolveRef(c, "bucket", buckets)?.urn).filter((u): u is string => !!u));
        for (const b of resources.filter((r) => BUCKETS.has(r.type))) {
            const inline = get(raw(b.props), "serverSideEncryptionConfiguration", "rule", "applyServerSideEncryptionByDefault");
            if (configured.has(b.urn) || customerKey(get(inline, "kmsMasterKeyId")) !== "no") continue;
            report(`Bucket '${b.name}' has no SSE-KMS configuration with a customer-managed key (S3-managed keys only). Remediation: add a BucketServerSideEncryptionConfiguration with sseAlgorithm aws:kms and the key.`, b.urn);
        }
    },
};
