// IAM document shapes shared by the components, and the one trust policy every workload role uses: EKS Pod Identity.

export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: "*" | Record<string, string | string[]>;
    Action: string[];
    /** Absent only in trust policies. */
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}
export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

export const policyDocument = (...Statement: PolicyStatement[]): PolicyDocument => ({ Version: "2012-10-17", Statement });

export interface PodIdentityTrust {
    account: string;
    /** Limit to one cluster by its ARN (aws:SourceArn). */
    clusterArn?: string;
    /** Limit to one cluster, namespace and service account through the session tags Pod Identity sets. */
    session?: { clusterName: string; namespace: string; serviceAccount: string };
}

/** Trust of a Pod Identity role: the EKS Pod Identity service, for this account, narrowed as far as the caller can. */
export function podIdentityTrustPolicy(t: PodIdentityTrust): PolicyDocument {
    const stringEquals: Record<string, string> = { "aws:SourceAccount": t.account };
    if (t.session) {
        stringEquals["aws:RequestTag/eks-cluster-name"] = t.session.clusterName;
        stringEquals["aws:RequestTag/kubernetes-namespace"] = t.session.namespace;
        stringEquals["aws:RequestTag/kubernetes-service-account"] = t.session.serviceAccount;
    }
    return policyDocument({
        Sid: "EksPodIdentity",
        Effect: "Allow",
        Principal: { Service: "pods.eks.amazonaws.com" },
        Action: ["sts:AssumeRole", "sts:TagSession"],
        Condition: { StringEquals: stringEquals, ...(t.clusterArn ? { ArnEquals: { "aws:SourceArn": t.clusterArn } } : {}) },
    });
}

/**
 * What the EBS CSI driver's role needs to create and attach volumes encrypted with a customer-managed key: the
 * grants it passes to EC2 (only for AWS resources) and the data-key calls. From the driver's documented example
 * policy (kubernetes-sigs/aws-ebs-csi-driver docs/install.md, "Set up driver permissions", KMS key example).
 */
export function ebsCsiKmsPolicy(keyArn: string): PolicyDocument {
    return policyDocument(
        { Sid: "GrantsForEbs", Effect: "Allow", Action: ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], Resource: keyArn, Condition: { Bool: { "kms:GrantIsForAWSResource": "true" } } },
        { Sid: "DataKeys", Effect: "Allow", Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], Resource: keyArn },
    );
}

/**
 * Policy of the stack's own volume-and-logs key: the account administers it (so IAM policies such as the EBS CSI
 * driver's apply), EC2 Auto Scaling's service-linked role encrypts the managed nodes' root volumes (EC2 Auto
 * Scaling "Required KMS key policy for use with encrypted volumes"), CloudWatch Logs encrypts the EKS
 * control-plane log group (CloudWatch Logs "Encrypt log data using AWS KMS", encryption-context condition).
 * The Auto Scaling role is named by condition, not as the principal: in a fresh account it does not exist until the
 * first Auto Scaling group, and KMS refuses a key policy whose principals do not exist (MalformedPolicyDocument).
 */
export function dataKeyPolicy(a: { account: string; partition: string; region: string; clusterName: string }) {
    const asg = `arn:${a.partition}:iam::${a.account}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling`;
    const asAsg = { StringEquals: { "aws:PrincipalArn": asg, "kms:CallerAccount": a.account } };
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "AccountAdmin", Effect: "Allow", Principal: { AWS: `arn:${a.partition}:iam::${a.account}:root` }, Action: "kms:*", Resource: "*" },
            { Sid: "AutoScalingVolumes", Effect: "Allow", Principal: { AWS: "*" }, Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"], Resource: "*", Condition: asAsg },
            { Sid: "AutoScalingGrants", Effect: "Allow", Principal: { AWS: "*" }, Action: "kms:CreateGrant", Resource: "*", Condition: { ...asAsg, Bool: { "kms:GrantIsForAWSResource": "true" } } },
            {
                Sid: "ControlPlaneLogs",
                Effect: "Allow",
                Principal: { Service: `logs.${a.region}.amazonaws.com` },
                Action: ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                Resource: "*",
                Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": `arn:${a.partition}:logs:${a.region}:${a.account}:log-group:/aws/eks/${a.clusterName}/cluster` } },
            },
        ],
    };
}
