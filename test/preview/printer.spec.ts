// The offline preview's human output: the tree's connectors, the flow table's width, and "(mock)" on values the
// mocks made up (and on nothing else).
import { strict as assert } from "assert";
import { formatActions, formatFlows, formatTree, markInvented, wrap } from "../../preview/printer";
import { ByocMocks } from "../../preview/mocks";
import type { RecordedResource } from "../../preview/runtime";
import type { ResolvedFlow } from "../../components/flows";

const res = (urn: string, parent?: string): RecordedResource => ({
    urn,
    type: `t:index:${urn}`,
    name: urn,
    custom: true,
    parent,
    dependencies: [],
    propertyDependencies: {},
    inputs: {},
    outputs: {},
});

describe("preview printer", () => {
    it("draws the tree with ├─ for children followed by siblings, └─ for the last, │ where a parent continues", () => {
        const tree = formatTree([res("stack"), res("net", "stack"), res("vpc", "net"), res("subnet", "net"), res("rt", "subnet"), res("cluster", "stack"), res("nodes", "cluster")]);
        assert.equal(
            tree,
            [
                "t:index:stack  stack",
                "├─ t:index:net  net",
                "│  ├─ t:index:vpc  vpc",
                "│  └─ t:index:subnet  subnet",
                "│     └─ t:index:rt  rt",
                "└─ t:index:cluster  cluster",
                "   └─ t:index:nodes  nodes",
            ].join("\n"),
        );
    });

    const flow = (f: Partial<ResolvedFlow>): ResolvedFlow => ({ flow: "A → B", direction: "inbound", exposure: "public", restrictedBy: "nothing", ...f }) as ResolvedFlow;

    it("fits the flow table in 120 columns, wrapping cells without losing a word", () => {
        const long = "Tailscale ACL grants to group:byoc-oncall (tcp:443, tcp:8443, tcp:9440), time-bound certs (≤ 8 h), no SG ingress, no Service selects the agents, deny-all-ingress NetworkPolicy, and arn:aws:s3:::a-bucket-name-that-is-far-longer-than-any-column-would-ever-be/prefix/*";
        const flows = [
            flow({ flow: "Engineer → tailnet → nginx → K8s API / system tables / metrics", direction: "inbound over an outbound tunnel", exposure: "private", restrictedBy: long }),
            flow({}),
        ];
        const { text } = formatFlows(flows);
        const lines = text.split("\n");
        for (const l of lines) assert.ok(l.length <= 120, `${l.length} columns: ${l}`);
        assert.match(lines[0], /^Flow +Direction +Exposure +Restricted by$/);
        const words = (s: string) => s.split(/\s+/).filter(Boolean).join(" ");
        const restricted = lines.slice(2).map((l) => l.slice(lines[1].lastIndexOf("  ") + 2)).join(" ");
        assert.ok(words(restricted).replace(/ /g, "").includes(long.replace(/ /g, "")), "every character of the last column is printed, in order");
        assert.deepEqual(wrap("a bb ccc", 4), ["a bb", "ccc"]);
        assert.deepEqual(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        // Narrow content keeps its natural width.
        assert.equal(formatFlows([flow({})]).text.split("\n")[2], "A → B  inbound    public    nothing");
    });

    it("marks values the mocks made up, where they stand alone, and nothing the program computed", () => {
        const invented = new Map([
            ["vpce-90439f5a752923bfb", "id of aws:ec2/vpcEndpoint:VpcEndpoint s3"],
            ["111122223333", "getCallerIdentity.accountId"],
            ["ns-129.awsdns-1.com", "aws:route53/zone:Zone z.nameServers[0]"],
            ["k8s-istio-ingress-0a1b2c3d4e.elb.us-east-1.amazonaws.com", "NLB hostname"],
        ]);
        const m = markInvented("S3 gateway endpoint vpce-90439f5a752923bfb (+ endpoint policy); queue arn:aws:sqs:us-east-1:111122223333:q", invented);
        assert.equal(m.text, "S3 gateway endpoint vpce-… (mock) (+ endpoint policy); queue arn:aws:sqs:us-east-1:111122223333:q");
        assert.ok(m.marked);
        assert.equal(markInvented("Delegate to ns-129.awsdns-1.com, then wait.", invented).text, "Delegate to ns-129.awsdns-1.com (mock), then wait.");
        assert.equal(markInvented("not ns-129.awsdns-1.com.example", invented).text, "not ns-129.awsdns-1.com.example", "inside a longer name");
        assert.equal(markInvented("to k8s-istio-ingress-0a1b2c3d4e.elb.us-east-1.amazonaws.com.", invented).text, "to k8s-istio-ingress-0a1b2c3d4e.elb.us-east-1.amazonaws.com (mock).");
        assert.deepEqual(markInvented("nothing made up here", invented), { text: "nothing made up here", marked: false });
        const table = formatFlows([flow({ restrictedBy: "S3 gateway endpoint vpce-90439f5a752923bfb" })], { invented });
        assert.ok(table.marked);
        assert.match(table.text, /S3 gateway endpoint vpce-… \(mock\)$/m);
        const actions = formatActions(["Accept VPC peering pcx-334e1941adfacd88c in account 444455556666"], new Map([["pcx-334e1941adfacd88c", "id"]]));
        assert.equal(actions.text, "  1. Accept VPC peering pcx-… (mock) in account 444455556666");
    });

    it("the mocks register what they invent (ids, ARNs, addresses, hostnames, device names), never their inputs", () => {
        const mocks = new ByocMocks("eu-west-1");
        const ep = mocks.newResource({ type: "aws:ec2/vpcEndpoint:VpcEndpoint", name: "s3", inputs: { vpcId: "vpc-0aaaaaaaaaaaaaaaa", serviceName: "com.amazonaws.eu-west-1.s3" }, custom: true });
        assert.match(mocks.invented.get(ep.id!)!, /^id of aws:ec2\/vpcEndpoint:VpcEndpoint s3$/);
        assert.ok(mocks.invented.has(ep.state.prefixListId));
        assert.ok(!mocks.invented.has("vpc-0aaaaaaaaaaaaaaaa") && !mocks.invented.has("com.amazonaws.eu-west-1.s3"));
        const svc = mocks.newResource({ type: "kubernetes:core/v1:Service", name: "gw", inputs: { metadata: { namespace: "istio-ingress" }, spec: { type: "LoadBalancer" } }, custom: true });
        assert.ok(mocks.invented.has(svc.state.status.loadBalancer.ingress[0].hostname), "NLB hostname");
        const zone = mocks.newResource({ type: "aws:route53/zone:Zone", name: "z", inputs: { name: "acme.example.com" }, custom: true });
        for (const ns of zone.state.nameServers) assert.ok(mocks.invented.has(ns), ns);
        assert.ok(!mocks.invented.has("ACTIVE") && !mocks.invented.has("deployed"), "status words are not identifiers");
        const device = mocks.call({ token: "tailscale:index/getDevice:getDevice", inputs: { hostname: "k8s-acme-eu-west-1" } });
        assert.ok(mocks.invented.has(device.name) && mocks.invented.has(device.addresses[0]), "MagicDNS name and address");
        assert.ok(!mocks.invented.has("k8s-acme-eu-west-1"), "the hostname asked for is the program's");
        mocks.call({ token: "aws:index/getRegion:getRegion", inputs: {} });
        assert.ok(!mocks.invented.has("eu-west-1"), "the region is the stack's config");
    });
});
