// Deletion protection: in prod the VPC, the EKS cluster, the stack's KMS keys and the Thanos bucket carry
// `protect`, and the offline snapshot records it as `pulumi stack export` does (`"protect": true`, absent otherwise).
import { strict as assert } from "assert";
import { toStackExport } from "../../preview/snapshot";
import { runStack } from "../harness";

describe("deletion protection (prod)", function () {
    this.timeout(60_000);
    const protectedOf = (snapshot: ReturnType<typeof toStackExport>) =>
        snapshot.deployment.resources.filter((r) => r.protect === true).map((r) => `${r.type} ${r.urn.split("::").pop()}`).sort();

    it("protects the VPC, EKS cluster, KMS keys and Thanos bucket in prod, and the export says so", async () => {
        const snapshot = toStackExport((await runStack("prod")).run);
        assert.deepEqual(protectedOf(snapshot), [
            "aws:ec2/vpc:Vpc byoc-acme-vpc",
            "aws:kms/key:Key byoc-acme-data",
            "aws:kms/key:Key byoc-acme-flow-logs",
            "aws:kms/key:Key byoc-acme-secrets",
            "aws:kms/key:Key byoc-acme-thanos",
            "aws:s3/bucket:Bucket byoc-acme-thanos",
            "eks:index:Cluster byoc-acme-eks",
        ]);
        // `pulumi stack export` omits the field on unprotected resources.
        assert.ok(snapshot.deployment.resources.filter((r) => r.protect !== true).every((r) => !("protect" in r)));
    });

    it("protects nothing in dev", async () => {
        assert.deepEqual(protectedOf(toStackExport((await runStack("dev")).run)), []);
    });
});
