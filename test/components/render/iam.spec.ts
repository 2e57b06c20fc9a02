import { strict as assert } from "assert";
import { podIdentityTrustPolicy } from "../../../components/render/iam";

describe("render/iam: the Pod Identity trust policy", () => {
    it("pods.eks.amazonaws.com, AssumeRole + TagSession, one cluster/namespace/service account through session tags", () => {
        const t = podIdentityTrustPolicy({ account: "111122223333", session: { clusterName: "c", namespace: "kube-system", serviceAccount: "aws-load-balancer-controller" } });
        assert.equal(t.Statement.length, 1);
        assert.deepEqual(t.Statement[0].Principal, { Service: "pods.eks.amazonaws.com" });
        assert.deepEqual(t.Statement[0].Action, ["sts:AssumeRole", "sts:TagSession"]);
        assert.deepEqual(t.Statement[0].Condition, {
            StringEquals: {
                "aws:SourceAccount": "111122223333",
                "aws:RequestTag/eks-cluster-name": "c",
                "aws:RequestTag/kubernetes-namespace": "kube-system",
                "aws:RequestTag/kubernetes-service-account": "aws-load-balancer-controller",
            },
        });
    });

    it("limits to one cluster by ARN when given one, and always to this account", () => {
        const arn = "arn:aws:eks:us-east-1:111122223333:cluster/c";
        assert.deepEqual(podIdentityTrustPolicy({ account: "111122223333", clusterArn: arn }).Statement[0].Condition, {
            StringEquals: { "aws:SourceAccount": "111122223333" },
            ArnEquals: { "aws:SourceArn": arn },
        });
        assert.deepEqual(podIdentityTrustPolicy({ account: "111122223333" }).Statement[0].Condition, { StringEquals: { "aws:SourceAccount": "111122223333" } });
    });
});
