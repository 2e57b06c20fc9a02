// The tailnet policy fragment: only the on-call group reaches the endpoints' ports on the data-plane tags, and
// its own `tests` say so (accept on-call on those ports; deny other ports and every other source).
import { strict as assert } from "assert";
import { PROBE_PORTS, renderAclFragment } from "../../../components/render/tailscaleAcl";
import { aclProblems } from "../../../policies/rules/tailscale-management-only";

describe("render/tailscaleAcl", () => {
    const input = {
        oncallGroup: "group:byoc-oncall",
        tags: ["tag:byoc-dataplane", "tag:byoc-prod"],
        endpoints: [
            { hostname: "k8s.acme.us-east-1.aws.byoc.example-prd.com", ports: [443] },
            { hostname: "ch.acme.us-east-1.aws.byoc.example-prd.com", ports: [9440, 8443] },
            { hostname: "metrics.acme.us-east-1.aws.byoc.example-prd.com", ports: [443] },
        ],
    };

    it("grants only the on-call group, only the endpoints' TCP ports, only on the data-plane tags", () => {
        const acl = renderAclFragment(input);
        assert.deepEqual(acl.grants, [{ src: ["group:byoc-oncall"], dst: ["tag:byoc-dataplane", "tag:byoc-prod"], ip: ["tcp:443", "tcp:8443", "tcp:9440"] }]);
    });

    it("tests accept the on-call group on every endpoint port and deny other ports and other sources", () => {
        const acl = renderAclFragment(input);
        const oncall = acl.tests.find((t) => t.src === "group:byoc-oncall")!;
        assert.deepEqual(oncall.accept!.sort(), ["tag:byoc-dataplane:443", "tag:byoc-dataplane:8443", "tag:byoc-dataplane:9440", "tag:byoc-prod:443", "tag:byoc-prod:8443", "tag:byoc-prod:9440"]);
        for (const p of PROBE_PORTS) assert.ok(oncall.deny!.includes(`tag:byoc-prod:${p}`), `on-call denied port ${p}`);
        const outsider = acl.tests.find((t) => t.src === "not-oncall@example.invalid")!;
        for (const p of [443, 8443, 9440, 22]) assert.ok(outsider.deny!.includes(`tag:byoc-prod:${p}`));
        assert.equal(outsider.accept, undefined);
        for (const tag of input.tags) assert.ok(acl.tests.some((t) => t.src === tag && t.deny!.includes("tag:byoc-prod:443")), `${tag} cannot reach endpoints`);
    });

    it("satisfies the policy pack's ACL rule", () => {
        const acl = renderAclFragment(input);
        assert.deepEqual(aclProblems(acl, { oncallGroups: ["group:byoc-oncall"], dataPlaneTags: input.tags }), []);
    });

    it("refuses a non-group source, untagged devices or no ports", () => {
        assert.throws(() => renderAclFragment({ ...input, oncallGroup: "*" }), /oncallGroup "\*"/);
        assert.throws(() => renderAclFragment({ ...input, tags: [] }), /tags is empty/);
        assert.throws(() => renderAclFragment({ ...input, endpoints: [] }), /no endpoint ports/);
    });
});
