// IPv4/IPv6 CIDR helpers on top of ipaddr.js: parsing, containment, overlap and subnet carving.
import * as ipaddr from "ipaddr.js";

export interface Cidr {
    /** Canonical text form, e.g. "10.0.0.0/16" (host bits cleared). */
    text: string;
    kind: "ipv4" | "ipv6";
    prefix: number;
    /** First address as an integer, and the block size, for overlap arithmetic. */
    start: bigint;
    size: bigint;
}

const bits = (kind: Cidr["kind"]) => (kind === "ipv4" ? 32 : 128);

function toBigInt(bytes: number[]): bigint {
    return bytes.reduce((acc, b) => (acc << 8n) | BigInt(b), 0n);
}

function fromBigInt(value: bigint, kind: Cidr["kind"]): string {
    const len = bits(kind) / 8;
    const bytes = new Array<number>(len);
    for (let i = len - 1; i >= 0; i--) {
        bytes[i] = Number(value & 0xffn);
        value >>= 8n;
    }
    return ipaddr.fromByteArray(bytes).toString();
}

// ipaddr.js also accepts inet_aton forms ("10.20/16", "0xa.0.0.0/8", "010.0.0.0/8" which is octal 8.0.0.0)
// and IPv6 zone ids; AWS accepts none of them, and a stack file is copied verbatim into AWS inputs.
const octet = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const dottedQuad = `${octet}(?:\\.${octet}){3}`;
const strictIpv4 = new RegExp(`^${dottedQuad}/(?:3[0-2]|[12]?\\d)$`);
const strictIpv6 = new RegExp(`^[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(?:${dottedQuad})?/(?:12[0-8]|1[01]\\d|[1-9]?\\d)$`);

/**
 * Parses a CIDR in the notation AWS accepts (dotted-quad IPv4, plain IPv6, decimal prefix), or returns undefined
 * when it is not one. Host bits must be zero ("10.0.0.1/16" is rejected).
 */
export function parseCidr(text: string): Cidr | undefined {
    if (typeof text !== "string" || !(strictIpv4.test(text) || strictIpv6.test(text)) || !ipaddr.isValidCIDR(text)) return undefined;
    const [addr, prefix] = ipaddr.parseCIDR(text);
    const kind = addr.kind() as Cidr["kind"];
    const total = bits(kind);
    const size = 1n << BigInt(total - prefix);
    const start = toBigInt(addr.toByteArray());
    if (start % size !== 0n) return undefined;
    return { text: `${fromBigInt(start, kind)}/${prefix}`, kind, prefix, start, size };
}

/** Why `text` is not a CIDR, in words for a person; undefined when it is one. */
export function cidrProblem(text: string): string | undefined {
    if (parseCidr(text) !== undefined) return undefined;
    if (typeof text === "string" && (strictIpv4.test(text) || strictIpv6.test(text)) && ipaddr.isValidCIDR(text)) {
        const [addr, prefix] = ipaddr.parseCIDR(text);
        const kind = addr.kind() as Cidr["kind"];
        const size = 1n << BigInt(bits(kind) - prefix);
        const start = toBigInt(addr.toByteArray());
        return `has host bits set: use the network address ${fromBigInt(start - (start % size), kind)}/${prefix}`;
    }
    return "is not a CIDR: use an address and prefix with the host bits zero, such as 203.0.113.0/24";
}

export function isCidr(text: string): boolean {
    return parseCidr(text) !== undefined;
}

/** True for 0.0.0.0/0 and ::/0 — "the whole internet". */
export function isWorldOpen(text: string): boolean {
    const c = parseCidr(text);
    return c !== undefined && c.prefix === 0;
}

/**
 * True for blocks wider than any real client network or NAT range: shorter than /8 (IPv4) or /16 (IPv6).
 * Catches the whole internet written in pieces, such as 0.0.0.0/1 + 128.0.0.0/1.
 */
export function isOverlyBroad(text: string): boolean {
    const c = parseCidr(text);
    return c !== undefined && c.prefix > 0 && c.prefix < (c.kind === "ipv4" ? 8 : 16);
}

/** The whole internet, in one block or in pieces: what no allow list or management CIDR may contain. */
export function opensToInternet(text: string): boolean {
    return isWorldOpen(text) || isOverlyBroad(text);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
    return a.kind === b.kind && a.start < b.start + b.size && b.start < a.start + a.size;
}

export function contains(outer: Cidr, inner: Cidr): boolean {
    return outer.kind === inner.kind && inner.start >= outer.start && inner.start + inner.size <= outer.start + outer.size;
}

/** The index-th block of the given prefix inside `parent`. */
export function subnet(parent: Cidr, newPrefix: number, index: number): Cidr {
    const size = 1n << BigInt(bits(parent.kind) - newPrefix);
    const start = parent.start + size * BigInt(index);
    if (newPrefix < parent.prefix || newPrefix > bits(parent.kind) || index < 0 || start + size > parent.start + parent.size) {
        throw new RangeError(`block ${index} of /${newPrefix} does not fit in ${parent.text}`);
    }
    return { text: `${fromBigInt(start, parent.kind)}/${newPrefix}`, kind: parent.kind, prefix: newPrefix, start, size };
}

export interface SubnetPlan {
    private: string[];
    public: string[];
}

/**
 * Carves one private and one public subnet per AZ out of the VPC CIDR.
 * The VPC is split in quarters: the first three quarters are private subnets (one per AZ, the workloads live
 * there), the last quarter is split again in four for the public subnets, which only hold NAT gateways and
 * load balancer ENIs. A /16 gives 3 × /18 private and 3 × /20 public; a /22 gives /24 and /26.
 */
export function planSubnets(vpcCidr: string, azCount: number): SubnetPlan {
    const vpc = parseCidr(vpcCidr);
    if (!vpc || vpc.kind !== "ipv4") throw new RangeError(`"${vpcCidr}" is not an IPv4 CIDR`);
    if (azCount < 1 || azCount > 3) throw new RangeError(`azCount ${azCount} is not between 1 and 3`);
    const quarter = vpc.prefix + 2;
    const publicQuarter = subnet(vpc, quarter, 3);
    const azs = [...Array(azCount).keys()];
    return {
        private: azs.map((i) => subnet(vpc, quarter, i).text),
        public: azs.map((i) => subnet(publicQuarter, quarter + 2, i).text),
    };
}

/**
 * The Kubernetes service CIDR of the cluster, pinned rather than left to EKS so that the API server's ClusterIP
 * (`kubernetes.default`, always the first address) is known to the NetworkPolicies that must allow it. The
 * candidates are the two blocks EKS itself picks from (EKS `KubernetesNetworkConfigRequest.serviceIpv4Cidr`:
 * "10.100.0.0/16 or 172.20.0.0/16"): the first that does not overlap the VPC. It depends on the VPC CIDR alone, never
 * on the peering list: the service CIDR cannot change without replacing the cluster (ForceNew), so a peered network
 * that overlaps it is refused by the config rules instead (its addresses would be shadowed by ClusterIPs).
 */
export const SERVICE_CIDR_CANDIDATES = ["172.20.0.0/16", "10.100.0.0/16"] as const;

export function kubernetesServiceCidrFor(vpcCidr: string): string {
    const vpc = parseCidr(vpcCidr);
    const free = SERVICE_CIDR_CANDIDATES.find((c) => !vpc || !overlaps(parseCidr(c)!, vpc));
    // The two candidates are disjoint and a VPC is at most a /16, so one of them is always free.
    return free ?? SERVICE_CIDR_CANDIDATES[0];
}

/** The ClusterIP of `kubernetes.default`: the first host address of the service CIDR. */
export function apiServerClusterIp(serviceCidr: string): string {
    const c = parseCidr(serviceCidr);
    if (!c || c.kind !== "ipv4") throw new RangeError(`"${serviceCidr}" is not an IPv4 CIDR`);
    return fromBigInt(c.start + 1n, "ipv4");
}
