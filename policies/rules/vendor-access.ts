/**
 * The customer's hold over the provider's access, as the data plane sees it (bootstrap/README.md: the deploy role,
 * its permissions boundary and the kill switch).
 *
 * deploy-role-boundary — a stack that deploys through the customer's bootstrap deploy role
 * (`arn:<partition>:iam::<account>:role/byoc-bootstrap-<customer>-deploy`, named by an aws provider's
 * `assumeRoles` or by the stack output `deployRoleArn`), and every prod stack, creates every AWS resource on that
 * provider and every IAM role with the workload boundary of that role's account and customer
 * (`arn:<partition>:iam::<account>:policy/byoc-bootstrap-<customer>-workload-boundary`, bootstrap/policies.ts
 * `workloadBoundaryName`; the stricter `…-boundary` is the bootstrap roles' own). The deploy policy allows
 * iam:CreateRole only with that boundary (bootstrap/policies.ts `RolesCarryTheBoundary`, and the deploy role's own
 * boundary denies it otherwise: `RolesCarryTheWorkloadBoundary`), so a role without it fails at `pulumi up`; a
 * resource on a default provider is created with whatever credentials run pulumi — outside the role, its boundary
 * and its CloudTrail source identity.
 *
 * vendor-access-suspended — when the stack output `vendorAccess` is "suspended" (byoc:access.vendorAccess, the
 * customer's kill switch), the stack holds no vendor path at all: no Tailscale key or agent (recognised as
 * ./tailscale.ts recognises them, in every pod-spec bearer, joined with the ConfigMaps/Secrets they read; operator
 * proxies; EC2 user data), no troubleshooting grant (its role, EKS access entry and access policy association,
 * client certificate, ClickHouse certificate user), a private EKS API endpoint and no tailnet ACL fragment output.
 *
 * Both are stack policies: they need the Stack resource's outputs (which the real AnalyzeStack carries — a
 * component's registered outputs) and the providers. Providers are looked up among the stack's own resources by
 * URN, so the engine and the real runtime (which sends a provider only when it is in the snapshot) agree.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { KubeData, namespaceKey, objectData } from "./k8s";
import { IAM_ROLE } from "./least-privilege-telemetry";
import { userDataRunsTailscale } from "./no-inbound-to-tailscale";
import { EKS_CLUSTER, EKS_COMPONENT, LAUNCH_TEMPLATE } from "./private-endpoints";
import { ingressOfTailscaleClass, inlineWorkloadViews, OAUTH_CLIENT_TYPE, referencesData, serviceExposedOnTailnet, serviceIsTailnetEgress, TAILNET_KEY_TYPE, workloadViews } from "./tailscale";
import { ACCESS_ENTRY, ACCESS_POLICY_ASSOCIATION, clickhouseCertUsers, LOCALLY_SIGNED_CERT, tlsClientCapable } from "./time-bound-access";
import { bool, environmentSchema, envOf, get, indexBy, isObj, isUnknown, k8sType, obj, Obj, raw, resolveRef, ROLE_TAG, StackRes, str, tags, unwrapSecret } from "./util";

const STACK_TYPE = "pulumi:pulumi:Stack";
const AWS_PROVIDER = "pulumi:providers:aws";
const TAILNET_ENDPOINT = "byoc:index:TailnetEndpoint";
const TROUBLESHOOTING_COMPONENT = "byoc:index:TroubleshootingAccess";
const EC2_INSTANCE = "aws:ec2/instance:Instance";
const HELM_TYPES = new Set(["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"]);

// ------------------------------------------------------------------------------------------------
// The deploy role
// ------------------------------------------------------------------------------------------------

/** The shape stacks/schema.ts accepts for byoc:access.deployRoleArn (the bootstrap's fixed role name). */
const DEPLOY_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/byoc-bootstrap-([a-z0-9-]+)-deploy$/;

/**
 * The boundary the deploy policy demands on every role the data plane creates (bootstrap/policies.ts
 * workloadBoundaryName; mirrored here, the pack cannot import the bootstrap program).
 */
export const workloadBoundaryName = (customer: string) => `byoc-bootstrap-${customer}-workload-boundary`;

export interface DeployRole {
    roleArn: string;
    partition: string;
    account: string;
    customer: string;
    /** The (workload) boundary every role created through it must carry. */
    boundaryArn: string;
}

export function deployRoleOf(arn: string): DeployRole | undefined {
    const m = DEPLOY_ROLE_ARN.exec(arn.trim());
    if (!m) return undefined;
    const [, partition, account, customer] = m;
    return { roleArn: arn.trim(), partition, account, customer, boundaryArn: `arn:${partition}:iam::${account}:policy/${workloadBoundaryName(customer)}` };
}

/**
 * The role ARNs an aws provider assumes: `assumeRoles` (a list, JSON text of one as the provider stores it, or either
 * secret-wrapped) and the older single `assumeRole`. `unknown`: some of it cannot be read (a preview placeholder, a
 * secret the reader could not decrypt).
 */
export function assumedRoleArns(props: Obj): { arns: string[]; unknown: boolean } {
    const arns: string[] = [];
    let unknown = false;
    const visit = (v: unknown, depth: number) => {
        v = unwrapSecret(v);
        if (v === undefined || v === null || depth > 4) return;
        if (isUnknown(v)) {
            unknown = true;
            return;
        }
        if (typeof v === "string") {
            const t = v.trim();
            if (!t.startsWith("[") && !t.startsWith("{") && !t.startsWith('"')) return;
            try {
                visit(JSON.parse(t), depth + 1);
            } catch {
                /* not JSON: no role */
            }
            return;
        }
        if (Array.isArray(v)) {
            for (const x of v) visit(x, depth + 1);
            return;
        }
        if (isObj(v)) {
            const a = unwrapSecret(v.roleArn);
            if (isUnknown(a)) unknown = true;
            else if (typeof a === "string") arns.push(a);
        }
    };
    visit(props.assumeRoles, 0);
    visit(props.assumeRole, 0);
    return { arns, unknown };
}

const isDefaultProviderName = (name: string) => name.startsWith("default");

const BOUNDARY_WHY = "the deploy role may only create roles that carry the boundary; IAM would refuse the CreateRole";

export const deployRoleBoundary: StackValidationPolicy = {
    name: "deploy-role-boundary",
    description:
        "A stack that deploys through the customer's bootstrap deploy role (byoc-bootstrap-<customer>-deploy, assumed by an aws provider or named by the deployRoleArn output) — and every prod stack — creates every AWS resource on that provider, never a default one, and every IAM role with the workload boundary of that role's account and customer (byoc-bootstrap-<customer>-workload-boundary).",
    enforcementLevel: "mandatory",
    configSchema: { properties: { ...environmentSchema } },
    validateStack: (args, report) => {
        const env = envOf(args.getConfig<{ environment?: string }>());
        const resources = args.resources as unknown as StackRes[];
        const byUrn = new Map(resources.map((r) => [r.urn, r]));
        const stack = resources.find((r) => r.type === STACK_TYPE);
        const stackLabel = stack ? `Stack '${stack.name}'` : "The stack";

        // Which providers assume a deploy role; which cannot be read.
        const deployProviders = new Map<string, { provider: StackRes; role: DeployRole }>();
        const unreadable: StackRes[] = [];
        for (const p of resources) {
            if (p.type !== AWS_PROVIDER) continue;
            const { arns, unknown } = assumedRoleArns(raw(p.props));
            const role = arns.map(deployRoleOf).find((x): x is DeployRole => !!x);
            if (role) deployProviders.set(p.urn, { provider: p, role });
            else if (unknown) unreadable.push(p);
        }

        // The stack output (index.ts exports byoc:access.deployRoleArn when set).
        const outRaw = stack ? unwrapSecret(raw(stack.props).deployRoleArn) : undefined;
        let outRole: DeployRole | undefined;
        if (typeof outRaw === "string" && !isUnknown(outRaw) && outRaw.trim() !== "") {
            outRole = deployRoleOf(outRaw);
            if (!outRole) {
                report(
                    `${stackLabel}: its deployRoleArn output ${outRaw} is not a bootstrap deploy role (arn:<partition>:iam::<account>:role/byoc-bootstrap-<customer>-deploy), so the boundary its roles must carry cannot be derived. ` +
                        "Remediation: set byoc:access.deployRoleArn to the deployRoleArn output of the customer's byoc-bootstrap stack.",
                    stack?.urn,
                );
            }
        }
        // An unreadable assumeRoles (an undecrypted secret) while the output names the role: that provider is taken to be the one.
        if (outRole && deployProviders.size === 0) for (const p of unreadable) deployProviders.set(p.urn, { provider: p, role: outRole });

        const roles = [...deployProviders.values()];
        const fallback = outRole ?? roles[0]?.role;
        const awsResources = resources.filter((r) => r.type.startsWith("aws:"));
        if (!fallback) {
            if (env !== "prod" || awsResources.length === 0 || unreadable.length > 0 || (typeof outRaw === "string" && !outRole) || isUnknown(outRaw)) return;
            report(
                `${stackLabel} is a prod stack with ${awsResources.length} AWS resource(s), but no aws provider assumes the customer's bootstrap deploy role (arn:<partition>:iam::<account>:role/byoc-bootstrap-<customer>-deploy) and no deployRoleArn output names one: ` +
                    "in prod every AWS change goes through that role (its policy, its permissions boundary, CloudTrail naming who acted), and the customer's kill switch closes it. " +
                    "Remediation: set byoc:access.deployRoleArn (the customer's byoc-bootstrap outputs) and byoc:deployExternalId; the program then deploys through the provider byoc-<customer>-aws.",
                stack?.urn,
            );
            return;
        }
        if (outRole && roles.length === 0) {
            report(
                `${stackLabel}: its deployRoleArn output names ${outRole.roleArn}, but no aws provider assumes it (assumeRoles), so its AWS resources are created with whatever credentials run pulumi. ` +
                    `Remediation: create an explicit aws provider with assumeRoles [{ roleArn: "${outRole.roleArn}", externalId, sourceIdentity }] and give it to every AWS resource (index.ts deployRoleProvider).`,
                stack?.urn,
            );
        }

        for (const r of awsResources) {
            const provUrn = (r as { provider?: { urn?: string } }).provider?.urn;
            const prov = provUrn ? byUrn.get(provUrn) : undefined;
            const dp = prov ? deployProviders.get(prov.urn) : undefined;
            if (roles.length > 0 && !dp) {
                const on = !prov
                    ? "names no provider of the stack, so it runs on a default provider"
                    : isDefaultProviderName(prov.name)
                      ? `is on the default provider '${prov.name}'`
                      : `is on provider '${prov.name}', which does not assume a byoc-bootstrap-…-deploy role`;
                const want = roles[0];
                report(
                    `'${r.name}' (${r.type}) ${on}; it must be on the deploy-role provider '${want.provider.name}' (assumes ${want.role.roleArn}): on any other provider it is created with whatever credentials run pulumi, outside the customer's deploy role, its boundary and its CloudTrail source identity. ` +
                        `Remediation: create it with { provider: ${want.provider.name} }, or pass the provider through its parent component's providers.`,
                    r.urn,
                );
            }
            if (r.type !== IAM_ROLE) continue;
            const role = dp?.role ?? fallback;
            const pb = unwrapSecret(raw(r.props).permissionsBoundary);
            if (isUnknown(pb) || pb === role.boundaryArn) continue;
            const has = typeof pb === "string" && pb.trim() !== "" ? `has permissionsBoundary ${pb}` : "has no permissionsBoundary";
            report(
                `IAM role '${r.name}' ${has}; a role created through the deploy role ${role.roleArn} must carry ${role.boundaryArn} (the workload boundary of account ${role.account}, customer ${role.customer}): ${BOUNDARY_WHY}. ` +
                    `Remediation: set permissionsBoundary: "${role.boundaryArn}" on the role (components/conventions.ts sets it on every role when byoc:access.deployRoleArn is set).`,
                r.urn,
            );
        }
    },
};

// ------------------------------------------------------------------------------------------------
// Vendor access suspended
// ------------------------------------------------------------------------------------------------

const SUSPENDED = "vendor access is suspended (byoc:access.vendorAccess)";
const LIFT = "Remediation: remove it — the program creates none while suspended (run `pulumi up` with the stack's own config); or, when the customer re-enables access, set byoc:access.vendorAccess: enabled first.";

/** Is this an EKS endpoint the internet can reach? undefined = cannot be known (preview). */
function publicEndpoint(v: unknown): boolean | undefined {
    return bool(unwrapSecret(v), true); // AWS and @pulumi/eks default: public endpoint on
}

/** What makes a non-pod resource a Tailscale agent (operator proxies, EC2), or undefined. */
function otherAgent(r: StackRes, p: Obj): string | undefined {
    const kt = k8sType(r.type);
    if (kt?.group === "tailscale.com" && (kt.kind === "Connector" || kt.kind === "ProxyGroup")) return `a Tailscale operator ${kt.kind}, which runs Tailscale proxies`;
    if (kt?.group === "core" && kt.kind === "Service") {
        if (serviceExposedOnTailnet(p)) return "a Service the Tailscale operator exposes with a proxy on the tailnet";
        if (serviceIsTailnetEgress(p)) return "a Service the Tailscale operator backs with an egress proxy";
    }
    if (kt && (kt.group.startsWith("networking.k8s.io") || kt.group === "extensions") && kt.kind === "Ingress" && ingressOfTailscaleClass(p)) {
        return "an Ingress the Tailscale operator serves with a proxy on the tailnet";
    }
    if (HELM_TYPES.has(r.type)) {
        const chart = str(p.chart) ?? "";
        if (/(^|\/)tailscale(-operator)?$/i.test(chart.trim())) return `a Helm release of the ${chart} chart (the Tailscale operator)`;
    }
    if (r.type === EC2_INSTANCE || r.type === LAUNCH_TEMPLATE) {
        if (tags(p)[ROLE_TAG] === "tailscale-agent") return `an EC2 ${r.type === EC2_INSTANCE ? "instance" : "launch template"} tagged ${ROLE_TAG}=tailscale-agent`;
        if (userDataRunsTailscale(p)) return `an EC2 ${r.type === EC2_INSTANCE ? "instance" : "launch template"} whose user data runs Tailscale`;
    }
    return undefined;
}

const isGrantRole = (r: StackRes) => r.type === IAM_ROLE && tags(raw(r.props))[ROLE_TAG] === "troubleshooting";

export const vendorAccessSuspended: StackValidationPolicy = {
    name: "vendor-access-suspended",
    description:
        "When the stack's vendorAccess output is \"suspended\" (byoc:access.vendorAccess, the customer's kill switch), it holds no vendor path: no Tailscale key or agent (any pod-spec bearer, operator proxies, EC2), no troubleshooting grant (role, EKS access entry or policy association, client certificate, ClickHouse certificate user), no public EKS endpoint and no tailnetAclFragment output; \"suspending\" (the run before) the same but the restricted public endpoint.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const resources = args.resources as unknown as StackRes[];
        const stack = resources.find((r) => r.type === STACK_TYPE);
        if (!stack) return;
        const sp = raw(stack.props);
        const state = unwrapSecret(sp.vendorAccess);
        // "suspending" is the run that removes the paths: everything below holds but the restricted endpoint it still needs.
        if (state !== "suspended" && state !== "suspending") return;

        const grantRoles = indexBy(resources, isGrantRole);
        const grantEntries = new Set<string>();
        const grantPrincipals = new Set<string>();
        for (const r of resources) {
            if (r.type !== ACCESS_ENTRY) continue;
            const p = raw(r.props);
            const byRole = resolveRef(r, "principalArn", grantRoles) !== undefined;
            if (tags(p)[ROLE_TAG] === "troubleshooting" || /^troubleshoot:/.test(str(p.userName) ?? "") || byRole) {
                grantEntries.add(r.urn);
                const pa = str(p.principalArn);
                if (pa) grantPrincipals.add(pa);
            }
        }
        const clusterChildren = new Set(resources.filter((r) => r.type === EKS_CLUSTER && r.parent).map((r) => r.parent!.urn));
        let kd: KubeData | undefined;

        for (const r of resources) {
            const p = raw(r.props);
            const t = r.type;
            const name = `'${r.name}' (${t})`;
            if (t === TAILNET_KEY_TYPE || t === OAUTH_CLIENT_TYPE) {
                report(`${name} ${t === TAILNET_KEY_TYPE ? "mints a Tailscale auth key" : "creates a Tailscale OAuth client, which mints auth keys"}: ${SUSPENDED}: nothing may join the data plane to the tailnet. ${LIFT}`, r.urn);
                continue;
            }
            if (t === TAILNET_ENDPOINT) {
                report(`${name} is a tailnet endpoint (Tailscale agent + nginx into the cluster): ${SUSPENDED}: no tailnet path into the data plane may exist. ${LIFT}`, r.urn);
                continue;
            }
            if (isGrantRole(r)) {
                report(`IAM role ${name} is a troubleshooting grant's role (${ROLE_TAG}=troubleshooting${str(tags(p)["byoc:engineer"]) ? `, engineer ${tags(p)["byoc:engineer"]}` : ""}): ${SUSPENDED}: no engineer may assume a role in the customer's account. ${LIFT}`, r.urn);
                continue;
            }
            if (t === ACCESS_ENTRY && grantEntries.has(r.urn)) {
                report(`EKS access entry ${name} gives a troubleshooting grant access to the cluster: ${SUSPENDED}: no engineer may reach the Kubernetes API. ${LIFT}`, r.urn);
                continue;
            }
            if (t === ACCESS_POLICY_ASSOCIATION) {
                const pa = str(p.principalArn);
                const byDep = (r.dependencies ?? []).some((d) => grantEntries.has(d.urn));
                if (resolveRef(r, "principalArn", grantRoles) !== undefined || (pa !== undefined && grantPrincipals.has(pa)) || byDep) {
                    report(`EKS access policy association ${name} gives a troubleshooting grant ${str(p.policyArn) ?? "an access policy"}: ${SUSPENDED}: no engineer may reach the Kubernetes API. ${LIFT}`, r.urn);
                }
                continue;
            }
            if (t === LOCALLY_SIGNED_CERT) {
                const client = tlsClientCapable(p);
                if (client !== undefined || r.parent?.type === TROUBLESHOOTING_COMPONENT) {
                    report(`Certificate ${name} can authenticate a client (${client === "no-eku" ? "no extended key usage: any purpose" : "client_auth"}), as a troubleshooting grant's certificate does: ${SUSPENDED}: no engineer certificate may be issued. ${LIFT}`, r.urn);
                }
                continue;
            }
            if (t === EKS_COMPONENT || t === EKS_CLUSTER) {
                if (state === "suspending") continue;
                let pub: boolean | undefined;
                if (t === EKS_COMPONENT) {
                    // A real run has the aws:eks/cluster:Cluster child (judged itself); a component carries only its outputs there.
                    if (clusterChildren.has(r.urn) && !("endpointPublicAccess" in p)) continue;
                    pub = publicEndpoint(p.endpointPublicAccess);
                } else {
                    let vc = p.vpcConfig;
                    if (Array.isArray(vc)) vc = vc[0];
                    if (isUnknown(vc)) continue;
                    pub = publicEndpoint(obj(vc).endpointPublicAccess);
                }
                if (pub === true) {
                    report(
                        `EKS cluster ${name} has a public API endpoint (endpointPublicAccess ${t === EKS_COMPONENT && p.endpointPublicAccess === undefined ? "absent: on by default" : "true"}): ${SUSPENDED}: the provider's management CIDRs must not reach the API. ` +
                            "Remediation: set endpointPublicAccess: false (the program does so while suspended: `pulumi up` with the stack's own config).",
                        r.urn,
                    );
                }
                continue;
            }
            const kt = k8sType(t);
            if (kt && kt.group === "core" && (kt.kind === "ConfigMap" || kt.kind === "Secret")) {
                const { data } = objectData(kt.kind, p);
                for (const [key, value] of data) {
                    const users = clickhouseCertUsers(value);
                    if (users.length > 0) {
                        report(`ClickHouse users config ${name} (${key}) defines certificate user(s) ${users.join(", ")}, a troubleshooting grant's way into ClickHouse: ${SUSPENDED}: no engineer may log in. ${LIFT}`, r.urn);
                    }
                }
                continue;
            }
            if (kt && kt.group === "clickhouse.altinity.com" && (kt.kind === "ClickHouseInstallation" || kt.kind === "ClickHouseInstallationTemplate")) {
                const conf = obj(get(p, "spec", "configuration"));
                const users = [
                    ...(isObj(conf.users) ? clickhouseCertUsers(conf.users) : []),
                    ...Object.values(obj(conf.files)).flatMap((v) => (typeof v === "string" && !isUnknown(v) ? clickhouseCertUsers(v) : [])),
                ];
                if (users.length > 0) {
                    report(`ClickHouseInstallation ${name} defines certificate user(s) ${users.join(", ")}, a troubleshooting grant's way into ClickHouse: ${SUSPENDED}: no engineer may log in. ${LIFT}`, r.urn);
                }
                continue;
            }
            const other = otherAgent(r, p);
            if (other) {
                report(`${name} is ${other}: ${SUSPENDED}: no Tailscale agent may run in the data plane. ${LIFT}`, r.urn);
                continue;
            }
            if (!kt) continue;
            const inline = inlineWorkloadViews(t, p);
            if (inline.length === 0) continue;
            const views = inline.every((v) => v.agent) || !referencesData(inline) ? inline : workloadViews(t, p, namespaceKey(r), r, (kd ??= new KubeData(resources)));
            const agents = views.filter((v) => v.agent && !v.ps.tailscale);
            if (agents.length === 0) continue;
            const evidence = [...new Set(agents.flatMap((v) => v.containers.flatMap((c) => c.evidence)))];
            report(
                `Tailscale agent ${name} (${agents.map((v) => v.ps.where).join(", ")}: ${evidence.length > 0 ? evidence.slice(0, 3).join("; ") : "the tailscale-agent component label"}): ${SUSPENDED}: no Tailscale agent may run in the data plane. ${LIFT}`,
                r.urn,
            );
        }

        const frag = unwrapSecret(sp.tailnetAclFragment);
        if (frag !== undefined && frag !== null) {
            report(
                `Stack '${stack.name}' exports tailnetAclFragment, the tailnet ACL that lets on-call engineers reach the data plane: ${SUSPENDED}: the tailnet policy must not grant any path to it. ` +
                    "Remediation: do not export it while suspended (index.ts omits it), and remove the fragment from the tailnet policy repository.",
                stack.urn,
            );
        }
    },
};


