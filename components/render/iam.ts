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
