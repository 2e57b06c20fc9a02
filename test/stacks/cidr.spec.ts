// CIDR helpers: strict parsing, overlap/containment arithmetic and the subnet plan DataPlaneNetwork carves.
import { strict as assert } from "assert";
import { apiServerClusterIp, cidrProblem, contains, isCidr, isWorldOpen, kubernetesServiceCidrFor, overlaps, parseCidr, planSubnets, subnet, Cidr } from "../../stacks/cidr";

const c = (text: string): Cidr => {
    const parsed = parseCidr(text);
    if (!parsed) assert.fail(`${text} should parse`);
    return parsed;
};

describe("stacks/cidr", () => {
    describe("parseCidr", () => {
        it("parses IPv4 and IPv6 CIDRs into canonical text, family, prefix, start and size", () => {
            assert.deepEqual(parseCidr("10.40.0.0/16"), { text: "10.40.0.0/16", kind: "ipv4", prefix: 16, start: 0x0a280000n, size: 65536n });
            assert.deepEqual(parseCidr("203.0.113.64/26"), { text: "203.0.113.64/26", kind: "ipv4", prefix: 26, start: 0xcb007140n, size: 64n });
            assert.equal(c("0.0.0.0/0").size, 1n << 32n);
            assert.equal(c("192.0.2.7/32").size, 1n);
            const v6 = c("2001:DB8:0:0::/32");
            assert.equal(v6.text, "2001:db8::/32");
            assert.equal(v6.kind, "ipv6");
            assert.equal(v6.size, 1n << 96n);
            assert.equal(c("::/0").prefix, 0);
        });

        it("rejects host bits set", () => {
            for (const text of ["10.40.0.1/16", "203.0.113.65/26", "2001:db8::1/64"]) assert.equal(parseCidr(text), undefined, text);
        });

        it("rejects garbage, missing prefixes and out-of-range numbers", () => {
            for (const text of ["", "garbage", "10.40.0.0", "10.40.0.0/", "/16", "10.40.0.0/33", "10.40.0.256/24", "::/129", "10.40.0.0/16/1", "10.40.0.0/-1"]) {
                assert.equal(parseCidr(text), undefined, text);
            }
            assert.equal(parseCidr(42 as unknown as string), undefined);
            assert.equal(parseCidr(undefined as unknown as string), undefined);
        });

        it("rejects notations ipaddr.js tolerates but AWS does not (short, hex, octal, integer, zone ids, padding)", () => {
            // "010.020.0.0/16" would otherwise be read as octal: 8.16.0.0/16.
            for (const text of ["10.40/16", "10/8", "0xa.0.0.0/8", "010.020.0.0/16", "167772160/8", "10.0.0.0/016", "fe80::%eth0/64", " 10.0.0.0/16", "10.0.0.0/16 ", "10.0.0.0 /16"]) {
                assert.equal(parseCidr(text), undefined, text);
            }
        });

        it("accepts IPv6 with an embedded IPv4 tail", () => {
            assert.equal(c("::ffff:10.0.0.0/104").kind, "ipv6");
        });
    });

    describe("cidrProblem", () => {
        it("is undefined for a CIDR", () => {
            assert.equal(cidrProblem("10.40.0.0/16"), undefined);
        });

        it("names the network address when host bits are set", () => {
            assert.equal(cidrProblem("10.40.7.9/16"), "has host bits set: use the network address 10.40.0.0/16");
            assert.equal(cidrProblem("2001:db8::1/64"), "has host bits set: use the network address 2001:db8::/64");
        });

        it("explains what a CIDR looks like otherwise", () => {
            assert.equal(cidrProblem("10.40/16"), "is not a CIDR: use an address and prefix with the host bits zero, such as 203.0.113.0/24");
        });
    });

    describe("isCidr / isWorldOpen", () => {
        it("isCidr mirrors parseCidr", () => {
            assert.equal(isCidr("192.0.2.0/24"), true);
            assert.equal(isCidr("192.0.2.1/24"), false);
        });

        it("isWorldOpen is true for 0.0.0.0/0 and ::/0 only", () => {
            assert.equal(isWorldOpen("0.0.0.0/0"), true);
            assert.equal(isWorldOpen("::/0"), true);
            for (const text of ["0.0.0.0/1", "128.0.0.0/1", "0.0.0.0/32", "::/1", "garbage", "0/0"]) assert.equal(isWorldOpen(text), false, text);
        });
    });

    describe("overlaps / contains", () => {
        it("overlaps is true for nesting, identity and partial overlap, symmetric", () => {
            const pairs: [string, string][] = [["10.0.0.0/8", "10.40.0.0/16"], ["10.40.0.0/16", "10.40.0.0/16"], ["10.40.255.0/24", "10.40.255.128/25"], ["0.0.0.0/0", "192.0.2.0/24"]];
            for (const [a, b] of pairs) {
                assert.equal(overlaps(c(a), c(b)), true, `${a} ~ ${b}`);
                assert.equal(overlaps(c(b), c(a)), true, `${b} ~ ${a}`);
            }
        });

        it("overlaps is false for adjacent blocks and across families", () => {
            assert.equal(overlaps(c("10.40.0.0/16"), c("10.41.0.0/16")), false);
            assert.equal(overlaps(c("10.40.0.0/17"), c("10.40.128.0/17")), false);
            assert.equal(overlaps(c("0.0.0.0/0"), c("::/0")), false);
        });

        it("contains is true when the inner block lies entirely inside, including equality", () => {
            assert.equal(contains(c("10.40.0.0/16"), c("10.40.192.0/20")), true);
            assert.equal(contains(c("10.40.0.0/16"), c("10.40.0.0/16")), true);
            assert.equal(contains(c("10.40.0.0/16"), c("10.40.255.255/32")), true);
            assert.equal(contains(c("10.40.0.0/16"), c("10.0.0.0/8")), false);
            assert.equal(contains(c("10.40.0.0/16"), c("10.41.0.0/24")), false);
            assert.equal(contains(c("::/0"), c("10.0.0.0/8")), false);
        });
    });

    describe("subnet", () => {
        it("returns the index-th block of a prefix", () => {
            assert.equal(subnet(c("10.40.0.0/16"), 18, 0).text, "10.40.0.0/18");
            assert.equal(subnet(c("10.40.0.0/16"), 18, 3).text, "10.40.192.0/18");
            assert.equal(subnet(c("10.40.0.0/16"), 24, 255).text, "10.40.255.0/24");
        });

        it("throws when the block does not fit", () => {
            assert.throws(() => subnet(c("10.40.0.0/16"), 18, 4), /block 4 of \/18 does not fit in 10.40.0.0\/16/);
            assert.throws(() => subnet(c("10.40.0.0/16"), 15, 0), RangeError);
            assert.throws(() => subnet(c("10.40.0.0/16"), 18, -1), RangeError);
            assert.throws(() => subnet(c("10.40.0.0/16"), 33, 0), RangeError);
        });
    });

    describe("planSubnets", () => {
        const expected: Record<string, { private: string[]; public: string[] }> = {
            "10.40.0.0/16 × 3": { private: ["10.40.0.0/18", "10.40.64.0/18", "10.40.128.0/18"], public: ["10.40.192.0/20", "10.40.208.0/20", "10.40.224.0/20"] },
            "10.40.0.0/16 × 2": { private: ["10.40.0.0/18", "10.40.64.0/18"], public: ["10.40.192.0/20", "10.40.208.0/20"] },
            "10.1.4.0/22 × 3": { private: ["10.1.4.0/24", "10.1.5.0/24", "10.1.6.0/24"], public: ["10.1.7.0/26", "10.1.7.64/26", "10.1.7.128/26"] },
            "10.1.4.0/22 × 2": { private: ["10.1.4.0/24", "10.1.5.0/24"], public: ["10.1.7.0/26", "10.1.7.64/26"] },
            "10.20.0.0/20 × 2": { private: ["10.20.0.0/22", "10.20.4.0/22"], public: ["10.20.12.0/24", "10.20.13.0/24"] },
        };
        for (const [label, plan] of Object.entries(expected)) {
            it(`carves ${label} AZs`, () => {
                const [vpc, az] = label.split(" × ");
                assert.deepEqual(planSubnets(vpc, Number(az)), plan);
            });
        }

        it("for every size /16–/22 and 2 or 3 AZs: one subnet per tier and AZ, inside the VPC, no overlaps, private larger than public", () => {
            for (let prefix = 16; prefix <= 22; prefix++) {
                for (const azCount of [2, 3]) {
                    const vpcText = `10.${64 + prefix}.0.0/${prefix}`;
                    const vpc = c(vpcText);
                    const plan = planSubnets(vpcText, azCount);
                    const label = `${vpcText} × ${azCount}`;
                    assert.equal(plan.private.length, azCount, label);
                    assert.equal(plan.public.length, azCount, label);
                    const all = [...plan.private, ...plan.public].map(c);
                    for (const s of all) assert.ok(contains(vpc, s), `${s.text} lies in ${vpcText}`);
                    all.forEach((a, i) => all.slice(i + 1).forEach((b) => assert.equal(overlaps(a, b), false, `${a.text} and ${b.text} (${label})`)));
                    const smallestPrivate = plan.private.map((t) => c(t).size).reduce((a, b) => (a < b ? a : b));
                    const largestPublic = plan.public.map((t) => c(t).size).reduce((a, b) => (a > b ? a : b));
                    assert.ok(smallestPrivate > largestPublic, `private subnets are larger than public ones (${label})`);
                    const privateTotal = plan.private.map((t) => c(t).size).reduce((a, b) => a + b);
                    const publicTotal = plan.public.map((t) => c(t).size).reduce((a, b) => a + b);
                    assert.ok(privateTotal > publicTotal * 3n, `private subnets get most of the space (${label})`);
                }
            }
        });

        it("rejects what it cannot carve", () => {
            assert.throws(() => planSubnets("2001:db8::/56", 2), /"2001:db8::\/56" is not an IPv4 CIDR/);
            assert.throws(() => planSubnets("10.40.0.1/16", 2), /is not an IPv4 CIDR/);
            assert.throws(() => planSubnets("10.40.0.0/16", 0), /azCount 0 is not between 1 and 3/);
            assert.throws(() => planSubnets("10.40.0.0/16", 4), /azCount 4 is not between 1 and 3/);
        });
    });
});

describe("stacks/cidr: the pinned Kubernetes service CIDR", () => {
    it("is one of EKS's own two defaults, the first clear of the VPC, and depends on nothing else", () => {
        assert.equal(kubernetesServiceCidrFor("10.40.0.0/16"), "172.20.0.0/16");
        assert.equal(kubernetesServiceCidrFor("172.20.0.0/16"), "10.100.0.0/16");
        assert.equal(kubernetesServiceCidrFor("172.20.128.0/20"), "10.100.0.0/16");
        assert.equal(apiServerClusterIp("172.20.0.0/16"), "172.20.0.1");
        assert.equal(apiServerClusterIp("10.100.0.0/16"), "10.100.0.1");
    });
});
