import { strict as assert } from "assert";
import { buildTrie, Cluster, lookupTrie, NetworkPolicy, Pod, Service } from "./networkPolicy";

const pod = (namespace: string, name: string, ip: string, labels: Record<string, string>, extra: Partial<Pod> = {}): Pod => ({ namespace, name, ip, labels, ...extra });
const policy = (namespace: string, name: string, spec: NetworkPolicy["spec"]): NetworkPolicy => ({ namespace, name, spec });

const web = pod("shop", "web", "10.0.1.10", { app: "web", tier: "front" }, { ports: [{ name: "http", containerPort: 8080 }], nodeIp: "10.0.0.5" });
const api = pod("shop", "api", "10.0.1.11", { app: "api" }, { ports: [{ name: "http", containerPort: 9000 }] });
const other = pod("other", "client", "10.0.2.20", { app: "web" }, { namespaceLabels: { team: "b" } });
const dns = pod("kube-system", "coredns", "10.0.3.30", { "k8s-app": "kube-dns" }, { ports: [{ name: "dns", containerPort: 53, protocol: "UDP" }, { name: "dns-tcp", containerPort: 53 }] });
const nodeExporter = pod("mon", "node-exporter", "10.0.0.6", { app: "node-exporter" }, { hostNetwork: true });
const KUBERNETES: Service = { namespace: "default", name: "kubernetes", clusterIP: "172.20.0.1", ports: [{ name: "https", port: 443 }], endpoints: ["10.0.100.10", "10.0.101.10"] };
const KUBE_DNS: Service = {
    namespace: "kube-system", name: "kube-dns", selector: { "k8s-app": "kube-dns" }, clusterIP: "172.20.0.10",
    ports: [{ name: "dns", port: 53, protocol: "UDP" }, { name: "dns-tcp", port: 53 }],
};
const WEB_SVC: Service = { namespace: "shop", name: "web", selector: { app: "web" }, clusterIP: "172.20.1.1", ports: [{ name: "http", port: 80, targetPort: 8080 }] };
const pods = [web, api, other, dns, nodeExporter];
const services = [KUBERNETES, KUBE_DNS, WEB_SVC];
const denyAll = (ns: string) => policy(ns, "deny-all", { podSelector: {}, policyTypes: ["Ingress", "Egress"] });
const cluster = (policies: NetworkPolicy[], mode?: "vpc-cni" | "kubernetes") => new Cluster({ policies, pods, services, mode, namespaces: [{ name: "default" }] });
const ok = (c: Cluster, src: Parameters<Cluster["check"]>[0], dst: Parameters<Cluster["check"]>[1]) => {
    const v = c.check(src, dst);
    assert.ok(v.allowed, `expected allowed:\n  ${v.why.join("\n  ")}`);
};
const no = (c: Cluster, src: Parameters<Cluster["check"]>[0], dst: Parameters<Cluster["check"]>[1]) => {
    const v = c.check(src, dst);
    assert.ok(!v.allowed, `expected denied:\n  ${v.why.join("\n  ")}`);
};

describe("support/networkPolicy (offline NetworkPolicy evaluator)", () => {
    for (const mode of ["vpc-cni", "kubernetes"] as const) {
        describe(`Kubernetes semantics shared by both modes (${mode})`, () => {
            it("allows everything when no policy selects either pod", () => {
                const c = cluster([], mode);
                ok(c, "shop/web", { pod: "shop/api", port: 9000 });
                ok(c, "shop/web", { ip: "8.8.8.8", port: 12345, protocol: "UDP" });
            });

            it("an Ingress-only policy leaves egress open; default policyTypes follow the rules present", () => {
                const c = cluster([policy("shop", "in-only", { podSelector: { matchLabels: { app: "web" } } })], mode);
                ok(c, "shop/web", { ip: "8.8.8.8", port: 443 });
                no(c, "shop/api", { pod: "shop/web", port: 8080 });
                const withEgress = cluster([policy("shop", "inferred", { podSelector: { matchLabels: { app: "web" } }, egress: [{ ports: [{ port: 443 }] }] })], mode);
                ok(withEgress, "shop/web", { ip: "8.8.8.8", port: 443 });
                no(withEgress, "shop/web", { ip: "8.8.8.8", port: 80 });
                no(withEgress, "shop/api", { pod: "shop/web", port: 8080 }, );
            });

            it("pod to pod needs egress at the source AND ingress at the destination", () => {
                const egressOnly = [denyAll("shop"), policy("shop", "web-out", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "api" } } }] }] })];
                no(cluster(egressOnly, mode), "shop/web", { pod: "shop/api", port: 9000 });
                const both = [...egressOnly, policy("shop", "api-in", { podSelector: { matchLabels: { app: "api" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 9000 }] }] })];
                ok(cluster(both, mode), "shop/web", { pod: "shop/api", port: 9000 });
                no(cluster(both, mode), "shop/web", { pod: "shop/api", port: 9001 });
            });

            it("ipBlock honours except", () => {
                const c = cluster([policy("shop", "out", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8", "192.168.0.0/16"] } }], ports: [{ port: 443 }] }] })], mode);
                ok(c, "shop/web", { ip: "52.1.2.3", port: 443 });
                no(c, "shop/web", { ip: "10.9.9.9", port: 443 });
                no(c, "shop/web", { ip: "192.168.1.1", port: 443 });
            });

            it("namespaceSelector + podSelector in one peer is AND; in two peers it is OR", () => {
                const and = cluster([policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "b" } }, podSelector: { matchLabels: { app: "api" } } }] }] })], mode);
                no(and, "other/client", { pod: "shop/web", port: 8080 }); // team b, but app=web
                no(and, "shop/api", { pod: "shop/web", port: 8080 }); // app=api, but namespace shop
                const or = cluster([policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: "b" } } }, { podSelector: { matchLabels: { app: "api" } } }] }] })], mode);
                ok(or, "other/client", { pod: "shop/web", port: 8080 });
                ok(or, "shop/api", { pod: "shop/web", port: 8080 });
                const byName = cluster([policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["other"] }] } }] }] })], mode);
                ok(byName, "other/client", { pod: "shop/web", port: 8080 });
            });

            it("ports: protocol defaults to TCP, endPort is an inclusive range, named ports resolve on the pod", () => {
                const c = cluster([policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: 8000, endPort: 8080 }, { port: "http", protocol: "UDP" }] }] })], mode);
                ok(c, "shop/api", { pod: "shop/web", port: 8080 });
                ok(c, "shop/api", { pod: "shop/web", port: 8000 });
                no(c, "shop/api", { pod: "shop/web", port: 8081 });
                no(c, "shop/api", { pod: "shop/web", port: 8080, protocol: "UDP" }); // "http" is declared TCP only
                const named = cluster([policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ ports: [{ port: "http" }] }] })], mode);
                ok(named, "shop/api", { pod: "shop/web", port: 8080 });
                no(named, "shop/api", { pod: "shop/web", port: 9000 });
            });

            it("a hostNetwork pod is never isolated; the pod's own node always reaches it", () => {
                const c = cluster([denyAll("mon"), denyAll("shop")], mode);
                ok(c, "other/client", { ip: nodeExporter.ip, port: 9100 });
                ok(c, { ip: "10.0.0.5" }, { pod: "shop/web", port: 8080 }); // kubelet probe from web's node
                no(c, { ip: "10.0.0.7" }, { pod: "shop/web", port: 8080 });
            });
        });
    }

    describe("the VPC CNI judges egress before DNAT", () => {
        // An egress allow-list that names the VPC (where the API server's ENIs are) but not the ClusterIP.
        const vpcOnly = [denyAll("shop"), policy("shop", "to-vpc", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "10.0.0.0/16" } }], ports: [{ port: 443 }] }] })];

        it("kubernetes.default (no selector): the VPC CIDR is enough upstream, not on the VPC CNI", () => {
            ok(cluster(vpcOnly, "kubernetes"), "shop/web", { service: "default/kubernetes", port: 443 });
            no(cluster(vpcOnly), "shop/web", { service: "default/kubernetes", port: 443 });
            no(cluster(vpcOnly), "shop/web", { ip: "172.20.0.1", port: 443 });
            // The API server's ENIs themselves (e.g. for a webhook's reply path or direct endpoints) stay reachable.
            ok(cluster(vpcOnly), "shop/web", { ip: "10.0.100.10", port: 443 });
        });

        it("kubernetes.default is reachable once an ipBlock covers its ClusterIP, on that port only", () => {
            const fixed = [...vpcOnly, policy("shop", "to-api", { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: "172.20.0.1/32" } }], ports: [{ port: 443 }] }] })];
            ok(cluster(fixed), "shop/web", { service: "default/kubernetes", port: "https" });
            no(cluster(fixed), "shop/web", { ip: "172.20.0.1", port: 80 });
            no(cluster(fixed), "shop/web", { ip: "172.20.0.2", port: 443 });
        });

        it("a pod peer adds the ClusterIP of Services whose selector it matches, mapping targetPort to the Service port", () => {
            const toWeb = (podSelector: Record<string, string>, port: number) =>
                cluster([denyAll("shop"), policy("shop", "api-out", { podSelector: { matchLabels: { app: "api" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: podSelector } }], ports: [{ port }] }] }),
                    policy("shop", "web-in", { podSelector: { matchLabels: { app: "web" } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: "api" } } }] }] })]);
            ok(toWeb({ app: "web" }, 8080), "shop/api", { service: "shop/web", port: 80 });
            ok(toWeb({ app: "web" }, 8080), "shop/api", { pod: "shop/web", port: 8080 });
            // The policy port is the pod's port: "80" matches no targetPort, so the ClusterIP is not added.
            no(toWeb({ app: "web" }, 80), "shop/api", { service: "shop/web", port: 80 });
            // The peer selects the web pod by a label the Service's selector does not carry: the pod is reachable,
            // its ClusterIP is not (the controller matches the peer against the Service's selector, not its pods).
            ok(toWeb({ tier: "front" }, 8080), "shop/api", { pod: "shop/web", port: 8080 });
            no(toWeb({ tier: "front" }, 8080), "shop/api", { service: "shop/web", port: 80 });
            const upstream = new Cluster({ mode: "kubernetes", pods, services, policies: [policy("shop", "api-out", { podSelector: { matchLabels: { app: "api" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { tier: "front" } } }], ports: [{ port: 8080 }] }] })] });
            ok(upstream, "shop/api", { service: "shop/web", port: 80 });
        });

        it("a named targetPort that could land on a port the policy does not allow keeps the ClusterIP out", () => {
            const named: Service = { ...WEB_SVC, name: "web-named", clusterIP: "172.20.1.2", ports: [{ port: 80, targetPort: "http" }] };
            const rogue = pod("shop", "web-2", "10.0.1.12", { app: "web" }, { ports: [{ name: "http", containerPort: 9999 }] });
            const policies = [policy("shop", "api-out", { podSelector: { matchLabels: { app: "api" } }, policyTypes: ["Egress"], egress: [{ to: [{ podSelector: { matchLabels: { app: "web" } } }], ports: [{ port: 8080 }] }] })];
            ok(new Cluster({ policies, pods, services: [named] }), "shop/api", { ip: "172.20.1.2", port: 80 });
            no(new Cluster({ policies, pods: [...pods, rogue], services: [named] }), "shop/api", { ip: "172.20.1.2", port: 80 });
        });

        it("DNS: a kube-dns podSelector peer and a namespace-only peer both admit the kube-dns ClusterIP", () => {
            const withPeer = (peer: object) => cluster([denyAll("shop"), policy("shop", "dns", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [peer], ports: [{ port: 53, protocol: "UDP" }, { port: 53 }] }] })]);
            for (const peer of [
                { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } }, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } },
                { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } } },
            ]) {
                ok(withPeer(peer), "shop/web", { service: "kube-system/kube-dns", port: 53, protocol: "UDP" });
                ok(withPeer(peer), "shop/web", { ip: "172.20.0.10", port: 53, protocol: "TCP" });
                no(withPeer(peer), "shop/web", { ip: "172.20.0.10", port: 80 });
            }
        });

        it("quirk: a namespace-only peer of `default` admits kubernetes.default's ClusterIP (empty podSelector matches an empty selector)", () => {
            const c = cluster([denyAll("shop"), policy("shop", "default-ns", { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "default" } } }], ports: [{ port: 443 }] }] })]);
            ok(c, "shop/web", { service: "default/kubernetes", port: 443 });
        });

        it("quirk: an except becomes deny-all for its whole range, even where another rule would allow it", () => {
            const policies = [policy("shop", "out", { podSelector: {}, policyTypes: ["Egress"], egress: [
                { to: [{ ipBlock: { cidr: "0.0.0.0/0", except: ["10.0.0.0/8"] } }], ports: [{ port: 443 }] },
                { ports: [{ port: 53, protocol: "UDP" }] },
            ] })];
            ok(cluster(policies, "kubernetes"), "shop/web", { ip: "10.0.3.99", port: 53, protocol: "UDP" });
            no(cluster(policies), "shop/web", { ip: "10.0.3.99", port: 53, protocol: "UDP" });
            // A more specific CIDR inside the except wins, and keeps only its own ports.
            const trie = buildTrie([{ cidr: "0.0.0.0/0", except: ["10.0.0.0/8"], ports: [{ protocol: "TCP", port: 443 }] }, { cidr: "10.0.0.0/16", ports: [] }]);
            assert.equal(lookupTrie(trie, "10.0.5.5", "TCP", 5432).match, "10.0.0.0/16");
            assert.equal(lookupTrie(trie, "10.1.5.5", "TCP", 443).allowed, false);
            assert.equal(lookupTrie(trie, "8.8.8.8", "TCP", 443).allowed, true);
        });

        it("a more specific CIDR inherits the ports of a broader one that does not except it", () => {
            const trie = buildTrie([{ cidr: "10.0.0.0/16", ports: [{ protocol: "TCP", port: 443 }] }, { cidr: "10.0.1.10/32", ports: [{ protocol: "TCP", port: 8080 }] }]);
            assert.equal(lookupTrie(trie, "10.0.1.10", "TCP", 443).allowed, true);
            assert.equal(lookupTrie(trie, "10.0.1.10", "TCP", 8080).allowed, true);
            assert.equal(lookupTrie(trie, "10.0.1.11", "TCP", 8080).allowed, false);
        });
    });

    it("names what it cannot find", () => {
        assert.throws(() => cluster([]).check("shop/nope", { ip: "1.1.1.1", port: 1 }), /no pod shop\/nope/);
        assert.throws(() => cluster([]).check("shop/web", { service: "shop/nope", port: 1 }), /no Service shop\/nope/);
        assert.deepEqual(cluster([]).check("shop/web", { service: "shop/web", port: 81 }).allowed, false);
    });
});
