// The tailnet policy fragment for one stack's endpoints: grants that let only the on-call group reach the
// data-plane tags on the endpoints' ports, and policy `tests` that pin it (the on-call group is accepted on
// exactly those ports; other ports and every other source are denied).
//
// It is a fragment, not a `tailscale.Acl` resource: that resource owns the tailnet's *whole* policy file, which
// the provider shares between every customer stack and its own management rules. One stack applying it would
// erase every other stack's grants (last writer wins, and `resetAclOnDestroy` would wipe the tailnet on a stack
// removal). The provider's policy-file repository merges these fragments (e.g. with an ACL combiner) and
// Tailscale runs the `tests` on every change, before the policy is applied.

export interface AclEndpoint {
    hostname: string;
    ports: number[];
}

export interface AclFragmentInput {
    oncallGroup: string;
    /** The data-plane devices' tags (the auth keys' tags). */
    tags: string[];
    endpoints: AclEndpoint[];
    /**
     * The provider's management services (byoc:tailscale.managementTag): port 443 of the data-plane devices, i.e.
     * the Kubernetes API endpoint (the provider's way in once a private stack goes through the tailnet) and the
     * metrics endpoint, which shares the port and the tags (management's dashboards read metrics too); never the
     * system tables (9440/8443), which stay the on-call group's.
     */
    managementTag?: string;
    /** A source that must never get in, used by the deny tests (defaults to a user outside the group). */
    outsider?: string;
}

export interface AclGrant {
    src: string[];
    dst: string[];
    ip: string[];
}

export interface AclTest {
    src: string;
    accept?: string[];
    deny?: string[];
}

export interface AclFragment {
    grants: AclGrant[];
    tests: AclTest[];
}

/** The Kubernetes API endpoint's tailnet port: all management services may reach. */
export const MANAGEMENT_PORT = 443;

/** Ports probed by the deny tests besides the endpoints' own: SSH, plain HTTP, kubelet, ClickHouse plain ports. */
export const PROBE_PORTS = [22, 80, 8080, 8123, 9000, 10250];

export function renderAclFragment(input: AclFragmentInput): AclFragment {
    if (!/^group:[a-z0-9][a-z0-9._-]*$/.test(input.oncallGroup)) throw new Error(`tailnet ACL: oncallGroup ${JSON.stringify(input.oncallGroup)} must be a group such as "group:byoc-oncall"`);
    if (input.tags.length === 0) throw new Error("tailnet ACL: tags is empty; data-plane devices are always tagged");
    const bad = input.tags.find((t) => !/^tag:[a-z0-9][a-z0-9-]*$/.test(t));
    if (bad) throw new Error(`tailnet ACL: tag ${JSON.stringify(bad)} must look like "tag:byoc-dataplane"`);
    const ports = [...new Set(input.endpoints.flatMap((e) => e.ports))].sort((a, b) => a - b);
    if (ports.length === 0) throw new Error("tailnet ACL: no endpoint ports; list at least one endpoint");
    const outsider = input.outsider ?? "not-oncall@example.invalid";
    const closed = PROBE_PORTS.filter((p) => !ports.includes(p));
    const at = (tag: string, list: number[]) => list.map((p) => `${tag}:${p}`);
    if (input.managementTag !== undefined && !/^tag:[a-z0-9][a-z0-9-]*$/.test(input.managementTag)) {
        throw new Error(`tailnet ACL: managementTag ${JSON.stringify(input.managementTag)} must look like "tag:byoc-management"`);
    }
    const management = input.managementTag
        ? {
              grant: { src: [input.managementTag], dst: [...input.tags], ip: [`tcp:${MANAGEMENT_PORT}`] },
              test: { src: input.managementTag, accept: input.tags.flatMap((t) => at(t, [MANAGEMENT_PORT])), deny: input.tags.flatMap((t) => at(t, [...ports, ...closed].filter((p) => p !== MANAGEMENT_PORT))) },
          }
        : undefined;
    return {
        grants: [{ src: [input.oncallGroup], dst: [...input.tags], ip: ports.map((p) => `tcp:${p}`) }, ...(management ? [management.grant] : [])],
        tests: [
            ...(management ? [management.test] : []),
            { src: input.oncallGroup, accept: input.tags.flatMap((t) => at(t, ports)), deny: input.tags.flatMap((t) => at(t, closed)) },
            { src: outsider, deny: input.tags.flatMap((t) => at(t, [...ports, ...closed])) },
            // Data-plane devices never reach each other (one customer's agent cannot reach another's endpoints).
            ...input.tags.map((t) => ({ src: t, deny: input.tags.flatMap((d) => at(d, ports)) })),
        ],
    };
}
