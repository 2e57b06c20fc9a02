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

export const THANOS_OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"];

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
 * Policy of the S3 gateway endpoint: requests through it may only write billing objects under the customer's
 * prefix of the provider's bucket, use the customer's own buckets, and fetch ECR image layers (ECR serves them
 * from S3, so without that statement no node could pull an image). Anything else through the endpoint is denied,
 * which closes the endpoint as an exfiltration path to arbitrary buckets.
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
        // Layer downloads use URLs presigned by ECR itself, so no principal-account condition here.
        { Sid: "EcrImageLayers", Effect: "Allow", Principal: "*", Action: ["s3:GetObject"], Resource: [`arn:${partition}:s3:::prod-${o.region}-starport-layer-bucket/*`] },
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
