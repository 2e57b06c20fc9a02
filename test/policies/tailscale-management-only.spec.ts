import { strict as assert } from "assert";
import { tailscaleManagementOnly } from "../../policies/rules";
import { agent, deployment, expectClean, expectViolation, res, runResource, UNKNOWN } from "./helpers";

const KEY = "tailscale:index/tailnetKey:TailnetKey";
const ACL = "tailscale:index/acl:Acl";
const goodKey = { tags: ["tag:byoc-dataplane"], preauthorized: true, reusable: false, ephemeral: false, expiry: 3600 };

describe("tailscale-management-only", () => {
    describe("agents", () => {
        it("accepts a management-only agent", () => {
            expectClean(runResource(tailscaleManagementOnly, agent()));
        });
        it("flags TS_ROUTES (subnet router)", () => {
            const a = agent("a", "tailnet", { env: [{ name: "TS_ROUTES", value: "10.0.0.0/16" }] });
            expectViolation(runResource(tailscaleManagementOnly, a), /subnet router/);
        });
        it("flags TS_ROUTES coming from a ConfigMap", () => {
            const a = agent("a", "tailnet", { env: [{ name: "TS_ROUTES", valueFrom: { configMapKeyRef: { name: "x", key: "routes" } } }] });
            expectViolation(runResource(tailscaleManagementOnly, a), /TS_ROUTES/);
        });
        it("flags --advertise-exit-node in TS_EXTRA_ARGS", () => {
            const a = agent("a", "tailnet", { env: [{ name: "TS_EXTRA_ARGS", value: "--advertise-exit-node --accept-dns=false" }] });
            expectViolation(runResource(tailscaleManagementOnly, a), /exit node/);
        });
        it("flags --advertise-routes on the command line of an unlabelled tailscale container", () => {
            const d = deployment("relay", { containers: [{ name: "ts", image: "docker.io/tailscale/tailscale:v1.80", args: ["up", "--advertise-routes=10.0.0.0/16"] }] });
            expectViolation(runResource(tailscaleManagementOnly, d), /advertises subnet routes/);
            const sts = { ...d, type: "kubernetes:apps/v1:StatefulSet" };
            expectViolation(runResource(tailscaleManagementOnly, sts), /advertises subnet routes/);
        });
        it("ignores unrelated containers and an empty --advertise-routes", () => {
            const d = deployment("app", { containers: [{ name: "app", image: "nginx:1.27", env: [{ name: "TS_ROUTES", value: "x" }] }] });
            expectClean(runResource(tailscaleManagementOnly, d));
            expectClean(runResource(tailscaleManagementOnly, agent("a", "tailnet", { env: [{ name: "TS_EXTRA_ARGS", value: "--advertise-routes= --advertise-exit-node=false" }] })));
        });
        it("flags DeviceSubnetRoutes and a tailscale.com Connector that routes", () => {
            expectViolation(runResource(tailscaleManagementOnly, res("tailscale:index/deviceSubnetRoutes:DeviceSubnetRoutes", "r", { deviceId: "d", routes: ["10.0.0.0/16"] })), /subnet routes/);
            expectViolation(
                runResource(tailscaleManagementOnly, res("kubernetes:tailscale.com/v1alpha1:Connector", "c", { spec: { exitNode: true } })),
                /subnet router or exit node/,
            );
            expectClean(runResource(tailscaleManagementOnly, res("kubernetes:tailscale.com/v1alpha1:Connector", "c", { spec: { appConnector: {} } })));
        });
    });

    describe("auth keys (TailnetKey)", () => {
        it("accepts a tagged, preauthorized, single-use, short-lived key", () => {
            expectClean(runResource(tailscaleManagementOnly, res(KEY, "k", goodKey)));
        });
        for (const [what, props, re] of [
            ["untagged", { ...goodKey, tags: [] }, /no ACL tags/],
            ["tags not tag:*", { ...goodKey, tags: ["autogroup:member"] }, /must all be/],
            ["not preauthorized", { ...goodKey, preauthorized: false }, /not preauthorized/],
            ["preauthorized omitted", { tags: ["tag:x"], expiry: 600 }, /not preauthorized/],
            ["reusable", { ...goodKey, reusable: true }, /reusable/],
            ["without expiry (90-day default)", { ...goodKey, expiry: undefined }, /no expiry/],
            ["long-lived", { ...goodKey, expiry: 7776000 }, /expires after 7776000s/],
        ] as const) {
            it(`flags a key that is ${what}`, () => {
                expectViolation(runResource(tailscaleManagementOnly, res(KEY, "k", props as Record<string, unknown>)), re);
            });
        }
        it("honours maxAuthKeyExpirySeconds from the pack config", () => {
            const config = { "tailscale-management-only": { maxAuthKeyExpirySeconds: 86400 } };
            expectClean(runResource(tailscaleManagementOnly, res(KEY, "k", { ...goodKey, expiry: 80000 }), { config }));
        });
        it("does not judge unknown values", () => {
            expectClean(runResource(tailscaleManagementOnly, res(KEY, "k", { tags: UNKNOWN, preauthorized: true, expiry: UNKNOWN })));
        });
    });

    describe("ACL", () => {
        const acl = (doc: unknown) => res(ACL, "acl", { acl: typeof doc === "string" ? doc : JSON.stringify(doc) });
        it("accepts grants to the on-call group only (JSON and HuJSON)", () => {
            expectClean(runResource(tailscaleManagementOnly, acl({ grants: [{ src: ["group:byoc-oncall"], dst: ["tag:byoc-dataplane"], ip: ["443"] }], tests: [] })));
            const hujson = `{
  // on-call engineers only
  "acls": [
    { "action": "accept", "src": ["group:byoc-oncall"], "dst": ["tag:byoc-dataplane:443"], }, /* trailing comma */
  ],
}`;
            expectClean(runResource(tailscaleManagementOnly, acl(hujson)));
        });
        it("flags a grant from * to the data-plane tags", () => {
            expectViolation(runResource(tailscaleManagementOnly, acl({ grants: [{ src: ["*"], dst: ["tag:byoc-dataplane"], ip: ["*"] }] })), /lets "\*" reach tag:byoc-dataplane/);
        });
        it("flags autogroup:member and users in acls[] (host:port destinations)", () => {
            const msgs = runResource(tailscaleManagementOnly, acl({ acls: [{ action: "accept", src: ["autogroup:member", "alice@example.com"], dst: ["tag:byoc-dataplane:*"] }] }));
            expectViolation(msgs, /autogroup:member/);
            expectViolation(msgs, /alice@example.com/);
        });
        it("flags a wildcard destination reachable by everyone", () => {
            expectViolation(runResource(tailscaleManagementOnly, acl({ acls: [{ action: "accept", src: ["autogroup:member"], dst: ["*:*"] }] })), /reach \*/);
        });
        it("restricts to the configured on-call groups when given", () => {
            const config = { "tailscale-management-only": { oncallGroups: ["group:byoc-oncall"] } };
            expectViolation(runResource(tailscaleManagementOnly, acl({ grants: [{ src: ["group:everyone"], dst: ["tag:byoc-dataplane"] }] }), { config }), /group:everyone/);
        });
        it("ignores rules that do not reach data-plane tags", () => {
            expectClean(runResource(tailscaleManagementOnly, acl({ grants: [{ src: ["autogroup:member"], dst: ["autogroup:internet"], ip: ["*"] }] })));
        });
        it("flags an ACL that cannot be parsed and skips an unknown one", () => {
            expectViolation(runResource(tailscaleManagementOnly, acl("{ not json")), /cannot be parsed/);
            assert.deepEqual(runResource(tailscaleManagementOnly, res(ACL, "acl", { acl: UNKNOWN })), []);
        });
    });
});
