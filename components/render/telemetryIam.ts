// IAM documents of the telemetry paths as plain functions over plain strings, so each one can be checked
// statement by statement without the engine: exact actions, exact resources, no wildcards beyond object keys
// under a bucket prefix.

import { PolicyDocument, policyDocument as doc } from "./iam";

export type { PolicyDocument, PolicyStatement } from "./iam";

export interface S3Arn {
    partition: string;
    bucket: string;
    /** Key prefix after the bucket, without leading/trailing slashes ("" when the ARN names the bucket only). */
    prefix: string;
}

export interface SqsArn {
    partition: string;
    region: string;
    account: string;
    name: string;
}

/** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/some/prefix`. */
export function parseS3Arn(arn: string, what = "telemetry.billingBucketArn"): S3Arn {
    const m = /^arn:(aws[a-z-]*):s3:::([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(arn);
    if (!m) throw new Error(`${what} "${arn}" is not an S3 bucket ARN such as arn:aws:s3:::provider-billing or arn:aws:s3:::provider-billing/prefix`);
    const prefix = (m[3] ?? "").replace(/^\/+|\/+$/g, "");
    if (/[*?]/.test(prefix)) throw new Error(`${what} "${arn}" contains a wildcard; name the bucket and an exact prefix`);
    return { partition: m[1], bucket: m[2], prefix };
}

/** `arn:aws:sqs:us-east-1:111122223333:queue-name`. */
export function parseSqsArn(arn: string, what = "telemetry.stateQueueArn"): SqsArn {
    const m = /^arn:(aws[a-z-]*):sqs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/.exec(arn);
    if (!m) throw new Error(`${what} "${arn}" is not an SQS queue ARN such as arn:aws:sqs:us-east-1:111122223333:byoc-state`);
    return { partition: m[1], region: m[2], account: m[3], name: m[4] };
}

const DNS_SUFFIX: Record<string, string> = { aws: "amazonaws.com", "aws-us-gov": "amazonaws.com", "aws-cn": "amazonaws.com.cn" };

/** The queue URL SQS clients need, derived from the ARN: https://sqs.<region>.<suffix>/<account>/<name>. */
export function sqsQueueUrl(arn: string): string {
    const q = parseSqsArn(arn);
    const suffix = DNS_SUFFIX[q.partition];
    if (!suffix) throw new Error(`telemetry.stateQueueArn "${arn}" is in partition ${q.partition}; supported partitions are ${Object.keys(DNS_SUFFIX).join(", ")}`);
    return `https://sqs.${q.region}.${suffix}/${q.account}/${q.name}`;
}

/** The key prefix the billing scraper writes under: `<arn prefix>/<customer>`. */
export function billingKeyPrefix(bucketArn: string, customer: string): string {
    const { prefix } = parseS3Arn(bucketArn);
    if (!/^[a-z0-9][a-z0-9-]*[a-z0-9]$/.test(customer)) throw new Error(`customer id "${customer}" must be a DNS label; it becomes the billing key prefix`);
    return prefix ? `${prefix}/${customer}` : customer;
}

/** Objects the billing scraper may write: everything under its customer prefix, nothing else. */
export function billingObjectArn(bucketArn: string, customer: string): string {
    const { partition, bucket } = parseS3Arn(bucketArn);
    return `arn:${partition}:s3:::${bucket}/${billingKeyPrefix(bucketArn, customer)}/*`;
}

/** Billing scraper: s3:PutObject under `<bucket>[/<prefix>]/<customer>/*` only. */
export function billingScraperPolicy(bucketArn: string, customer: string): PolicyDocument {
    return doc({ Sid: "PutBillingObjects", Effect: "Allow", Action: ["s3:PutObject"], Resource: [billingObjectArn(bucketArn, customer)] });
}

/** State Exporter: sqs:SendMessage on the provider's queue only. */
export function stateExporterPolicy(queueArn: string): PolicyDocument {
    parseSqsArn(queueArn);
    return doc({ Sid: "SendServiceState", Effect: "Allow", Action: ["sqs:SendMessage"], Resource: [queueArn] });
}

/**
 * What Thanos does to objects. Blocks' chunk files exceed the 64 MiB `part_size` of thanos-io/objstore's S3
 * provider, so they go up as multipart uploads (thanos-io/objstore@d1dd89d41f97:providers/s3/s3.go, the version
 * Thanos v0.37.2 pins); Create/UploadPart/Complete are authorized as s3:PutObject, but when an upload fails minio-go
 * calls AbortMultipartUpload (minio/minio-go@v7.0.80:api-put-object-streaming.go), which needs its own action
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/mpuoverview.html#mpuAndPermissions). Without it the parts
 * of a failed upload linger until the bucket's abort-incomplete-uploads lifecycle rule reaps them.
 */
export const THANOS_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"];

/** Thanos: list the customer bucket, read/write/delete its objects, and use its KMS key through S3 only. */
export function thanosPolicy(bucketArn: string, keyArn: string, region: string): PolicyDocument {
    parseS3Arn(bucketArn, "Thanos bucket ARN");
    return doc(
        { Sid: "ListMetricsBucket", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucketArn] },
        { Sid: "MetricsObjects", Effect: "Allow", Action: [...THANOS_OBJECT_ACTIONS], Resource: [`${bucketArn}/*`] },
        {
            Sid: "MetricsBucketKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: [keyArn],
            // Only as S3's SSE-KMS on the customer's behalf, never direct use of the key.
            Condition: { StringEquals: { "kms:ViaService": `s3.${region}.amazonaws.com` } },
        },
    );
}

export interface EndpointPolicyOptions {
    billingBucketArn: string;
    customer: string;
    /** The customer's own buckets this program creates (Thanos). */
    customerBucketArns: string[];
    accountId: string;
    region: string;
    partition?: string;
}

/**
 * The bucket registry.k8s.io redirects blob GETs to when the client's address is in an AWS region, for the regions
 * whose bucket is in the region itself (kubernetes/registry.k8s.io@093d55a66ded:cmd/archeio/internal/app/buckets.go,
 * awsRegionToHostURL; the flow is cmd/archeio/docs/request-handling.md). Left out, because their S3 traffic never
 * crosses this region's gateway endpoint: ap-east-2 (served from ap-east-1), me-south-1 (from me-central-1), the
 * China regions, and every region archeio does not list (its default is a CloudFront distribution). archeio adds
 * regions over time; a region added there but not here fails pulls of registry.k8s.io images with 403 until this
 * table is refreshed from that file.
 */
export const REGISTRY_K8S_IO_BUCKETS: Readonly<Record<string, string>> = Object.fromEntries([
    ...["af-south-1", "ap-east-1", "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
        "ap-southeast-4", "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ap-south-1", "ap-south-2", "ca-central-1", "ca-west-1",
        "eu-central-1", "eu-central-2", "eu-north-1", "eu-south-1", "eu-south-2", "eu-west-1", "eu-west-3", "il-central-1", "me-central-1",
        "mx-central-1", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"].map((r) => [r, `prod-registry-k8s-io-${r}`]),
    ["eu-west-2", "767373bbdcb8270361b96548387bf2a9ad0d48758c35-eu-west-2"],
]);

export interface ImageLayerBucket {
    /** Statement id in the endpoint policy. */
    sid: string;
    registry: string;
    bucket: string;
}

/**
 * Buckets from which the registries this stack pulls from serve image layers to nodes in `region` over S3 in that
 * region, i.e. through this VPC's S3 gateway endpoint (a gateway endpoint only carries traffic to S3 in its own
 * region: https://docs.aws.amazon.com/vpc/latest/privatelink/vpc-endpoints-s3.html, "Considerations").
 *  - Regional ECR (EKS add-ons from 602401143452.dkr.ecr.<region> and the other accounts of
 *    https://docs.aws.amazon.com/eks/latest/userguide/add-ons-images.html): `prod-<region>-starport-layer-bucket`
 *    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway).
 *  - registry.k8s.io (kube-state-metrics, kube-webhook-certgen): REGISTRY_K8S_IO_BUCKETS, anonymous GETs; the
 *    redirect and the 403 behind an endpoint policy: prometheus-community/helm-charts#2421.
 *  - quay.io (Prometheus, Alertmanager, Thanos, the operator and its config reloader, node-exporter, cert-manager):
 *    the CloudFrontedS3Storage of quay/quay@ffba0c70e2d8:storage/cloud.py returns a presigned S3 URL instead of its
 *    CDN when the client's address is AWS in the bucket's own region (is_in_network_request); quay.io's bucket
 *    `quayio-production-s3` is in us-east-1 (presigned URLs carry `us-east-1/s3/aws4_request`; OpenShift's firewall
 *    docs list quayio-production-s3.s3.amazonaws.com "to access Quay image content in AWS").
 *  - docker.io: nothing is pulled from it (Docker Hub limits anonymous pulls per address; dev's nodes share one
 *    NAT), so its `docker-images-prod` bucket, where it sends clients inside AWS (JFrog KB 000004313), is not admitted.
 * Registries whose blobs go elsewhere, so never through the endpoint and not in this policy: public.ecr.aws (the
 * load balancer controller, nginx, the billing scraper and State Exporter) serves layers from CloudFront
 * (d2glxqk2uabbnd.cloudfront.net: aws/eks-anywhere@0cee9fefced7:docs/content/en/docs/getting-started/baremetal/bare-prereq.md),
 * quay.io elsewhere than us-east-1 from its CloudFront CDN (cdn*.quay.io), registry.k8s.io from GCP Artifact
 * Registry when S3 lacks the blob, gcr.io/istio-release (Istio) from Google and ghcr.io (Tailscale) from GitHub's
 * package CDN. Those go through the NAT gateway, where the endpoint policy has no say.
 */
export function imageLayerBuckets(region: string): ImageLayerBucket[] {
    const buckets: ImageLayerBucket[] = [{ sid: "EcrImageLayers", registry: "Amazon ECR", bucket: `prod-${region}-starport-layer-bucket` }];
    const k8s = REGISTRY_K8S_IO_BUCKETS[region];
    if (k8s) buckets.push({ sid: "RegistryK8sIoImageLayers", registry: "registry.k8s.io", bucket: k8s });
    if (region === "us-east-1") {
        buckets.push({ sid: "QuayImageLayers", registry: "quay.io", bucket: "quayio-production-s3" });
    }
    return buckets;
}

/**
 * Policy of the S3 gateway endpoint: requests through it may only write billing objects under the customer's
 * prefix of the provider's bucket, use the customer's own buckets, and read image layers from the registries'
 * buckets of imageLayerBuckets (without those no node could pull the images they serve). Anything else through
 * the endpoint is denied, which closes the endpoint as an exfiltration path to arbitrary buckets.
 */
export function s3EndpointPolicy(o: EndpointPolicyOptions): PolicyDocument {
    const partition = o.partition ?? "aws";
    const own = { StringEquals: { "aws:PrincipalAccount": o.accountId } };
    return doc(
        { Sid: "ProviderBilling", Effect: "Allow", Principal: "*", Action: ["s3:PutObject"], Resource: [billingObjectArn(o.billingBucketArn, o.customer)], Condition: own },
        {
            Sid: "CustomerBuckets",
            Effect: "Allow",
            Principal: "*",
            Action: ["s3:ListBucket", ...THANOS_OBJECT_ACTIONS],
            Resource: o.customerBucketArns.flatMap((b) => [b, `${b}/*`]),
            Condition: own,
        },
        // Layer downloads are anonymous or use URLs presigned by the registry's own account, so no
        // principal-account condition here; GetObject only, so nothing can be written there.
        ...imageLayerBuckets(o.region).map(({ sid, bucket }) => ({
            Sid: sid,
            Effect: "Allow" as const,
            Principal: "*" as const,
            Action: ["s3:GetObject"],
            Resource: [`arn:${partition}:s3:::${bucket}/*`],
        })),
    );
}

/** Bucket policy that refuses every request not made over TLS. */
export function tlsOnlyBucketPolicy(bucketArn: string): PolicyDocument {
    return doc({
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: "*",
        Action: ["s3:*"],
        Resource: [bucketArn, `${bucketArn}/*`],
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    });
}

/** JSON text of a document. */
export function policyJson(d: PolicyDocument): string {
    return JSON.stringify(d);
}
