/**
 * least-privilege-telemetry — the roles that push telemetry out of the customer's account (billing scraper →
 * provider S3, State Exporter → provider SQS) can do exactly their one job for their one customer: "can this role
 * write another customer's object, or do more than its one job?", asked of the *effective* permissions — every
 * document the role holds (inline, RolePolicy, customer-managed policies however attached, managedPolicyArns),
 * Allow minus Deny, NotAction/NotResource, wildcards, policy variables, a permissions boundary — evaluated by
 * ./iam.ts against probe requests (other customers' keys, other buckets/queues, other actions).
 *
 * A role is a telemetry role by its byoc:role tag or name, or by what uses it: an EKS Pod Identity association
 * (roleArn or targetRoleArn) or an IRSA service-account annotation, for a billing-scraper / state-exporter
 * service account or workload.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { evaluate, instantiate, matches, namedValues, parsePolicy, PolicyDoc, Statement } from "./iam";
import { namespaceKey, podSpecs } from "./k8s";
import { arr, COMPONENT_LABEL, get, indexBy, isObj, isUnknown, k8sType, Obj, raw, resolveRef, ROLE_TAG, StackRes, str, tags } from "./util";

export const IAM_POLICY = "aws:iam/policy:Policy";
export const IAM_ROLE = "aws:iam/role:Role";
export const IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
export const IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment";
export const IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE = "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive";
export const POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation";
export const TELEMETRY_ROLES = new Set(["billing-scraper", "state-exporter"]);
const TELEMETRY_NAME = /billing|state[-_]?export/i;
const AWS_MANAGED = /^arn:aws[a-z-]*:iam::aws:policy\//;

type Job = "billing-scraper" | "state-exporter";

/** A role/policy belongs to the telemetry path by its byoc:role tag or by its name. */
export function isTelemetry(name: string, props: Obj): boolean {
    return jobOfIdentity(name, props) !== undefined;
}
function jobOfName(s: string | undefined): Job | undefined {
    if (!s) return undefined;
    if (/billing/i.test(s)) return "billing-scraper";
    if (/state[-_]?export/i.test(s)) return "state-exporter";
    return undefined;
}
function jobOfIdentity(name: string, props: Obj): Job | undefined {
    const role = String(tags(props)[ROLE_TAG]);
    if (TELEMETRY_ROLES.has(role)) return role as Job;
    if (role !== "undefined" && role !== "") return undefined; // tagged for something else
    for (const s of [name, str(props.name), str(props.namePrefix)]) {
        const j = jobOfName(s);
        if (j) return j;
    }
    return undefined;
}

const FIX =
    "Remediation: allow only s3:PutObject on the provider's billing bucket under this customer's prefix (billing scraper) or sqs:SendMessage on the provider's state queue (State Exporter), with explicit ARNs, in customer-managed documents the stack defines.";

function report(rv: (m: string, urn?: string) => void, what: string, problems: string[], urn?: string) {
    for (const p of problems) rv(`${what}: ${p}. ${FIX}`, urn);
}

export const leastPrivilegeTelemetry: ResourceValidationPolicy = {
    name: "least-privilege-telemetry",
    description:
        "The billing-scraper and State Exporter roles hold only customer-managed, readable policies: no AWS-managed policy is attached to them, and their documents parse (their effective permissions are judged across the stack).",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const t = args.type;
        if (t !== IAM_POLICY && t !== IAM_ROLE && t !== IAM_ROLE_POLICY && t !== IAM_ROLE_POLICY_ATTACHMENT) return;
        const props = raw(args.props);
        const self = isTelemetry(args.name, props) || (t !== IAM_ROLE && t !== IAM_POLICY && !!str(props.role) && TELEMETRY_NAME.test(str(props.role)!));
        if (!self) return;
        const job = jobOfIdentity(args.name, props) ?? (t === IAM_ROLE_POLICY ? jobOfName(str(props.role)) : undefined);
        const customer = str(tags(props)["byoc:customer"]) ?? args.stackTags.get("byoc:customer");
        const judge = (what: string, docs: HeldDoc[]) => {
            if (!job) return;
            const who = { name: args.name, urn: args.urn, props };
            for (const f of effectiveProblems({ role: who, jobs: new Map([[job, "its tag or name"]]), docs, boundary: [] }, customer, false)) report(reportViolation, `${what} (${job})`, [f.text]);
        };
        if (t === IAM_POLICY || t === IAM_ROLE_POLICY) {
            const p = parsePolicy(props.policy, `policy '${args.name}'`);
            if (!p.ok && p.problem) report(reportViolation, `Telemetry IAM policy '${args.name}'`, [p.problem]);
            if (p.ok) judge(`Telemetry IAM policy '${args.name}'`, [{ doc: p.doc, urn: args.urn }]);
        } else if (t === IAM_ROLE) {
            const docs: HeldDoc[] = [];
            arr(props.inlinePolicies).forEach((ip, k) => {
                if (!isObj(ip)) return;
                const p = parsePolicy(ip.policy, `inline policy '${str(ip.name) ?? k}'`);
                if (!p.ok && p.problem) report(reportViolation, `Inline policy '${str(ip.name) ?? "?"}' of telemetry role '${args.name}'`, [p.problem]);
                if (p.ok) docs.push({ doc: p.doc, urn: args.urn });
            });
            judge(`Telemetry role '${args.name}'`, docs);
            const managed = arr(props.managedPolicyArns).filter((a) => typeof a === "string" && AWS_MANAGED.test(a));
            if (managed.length > 0) report(reportViolation, `Telemetry role '${args.name}'`, [`has AWS-managed policies ${managed.join(", ")} attached`]);
        } else if (t === IAM_ROLE_POLICY_ATTACHMENT) {
            const arn = str(props.policyArn);
            if (arn && AWS_MANAGED.test(arn)) report(reportViolation, `Attachment '${args.name}' on a telemetry role`, [`attaches AWS-managed policy ${arn}`]);
        }
    },
};

interface HeldDoc {
    doc: PolicyDoc;
    urn: string;
    /** Owned by a resource that names itself telemetry: the resource half judges it on its own. */
    self?: boolean;
}

interface RoleInfo {
    role: StackRes;
    jobs: Map<Job, string>; // job → why
    docs: HeldDoc[];
    boundary: PolicyDoc[];
    problems: { text: string; urn: string }[];
    customer?: string;
}

/** The workloads' jobs by (namespace, service account). */
function workloadJobs(resources: StackRes[]): Map<string, Job> {
    const out = new Map<string, Job>();
    for (const r of resources) {
        const kt = k8sType(r.type);
        if (!kt || kt.kind === "ServiceAccount") continue;
        const p = raw(r.props);
        for (const ps of podSpecs(r.type, p)) {
            const comp = String(ps.labels[COMPONENT_LABEL] ?? get(p, "metadata", "labels", COMPONENT_LABEL) ?? "");
            const job = TELEMETRY_ROLES.has(comp) ? (comp as Job) : undefined;
            if (!job) continue;
            const sa = str(ps.spec.serviceAccountName) ?? str(ps.spec.serviceAccount) ?? "default";
            out.set(`${namespaceKey(r)}/${sa}`, job);
        }
    }
    return out;
}

export const leastPrivilegeTelemetryStack: StackValidationPolicy = {
    name: "least-privilege-telemetry-stack",
    description:
        "Across the stack: the effective permissions of every billing-scraper or State Exporter role (recognised by tag, name, Pod Identity association or IRSA annotation; every document it holds, Allow minus Deny) allow only its one job for its one customer.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = args.resources as unknown as StackRes[];
        const allRoles = indexBy(resources, (r) => r.type === IAM_ROLE);
        const policies = indexBy(resources, (r) => r.type === IAM_POLICY);
        const infos = new Map<string, RoleInfo>();
        const info = (role: StackRes): RoleInfo => {
            let i = infos.get(role.urn);
            if (!i) {
                i = { role, jobs: new Map(), docs: [], boundary: [], problems: [], customer: str(tags(raw(role.props))["byoc:customer"]) };
                infos.set(role.urn, i);
            }
            return i;
        };
        // 1. Telemetry roles: by identity, by what uses them.
        for (const r of new Set(allRoles.values())) {
            const j = jobOfIdentity(r.name, raw(r.props));
            if (j) info(r).jobs.set(j, `its ${tags(raw(r.props))[ROLE_TAG] ? "byoc:role tag" : "name"}`);
        }
        let wj: Map<string, Job> | undefined;
        const jobsOfSa = () => (wj ??= workloadJobs(resources));
        let stackCustomer: string | undefined;
        for (const r of resources) {
            const p = raw(r.props);
            stackCustomer ??= str(tags(p)["byoc:customer"]);
            if (r.type === POD_IDENTITY_ASSOCIATION) {
                const ns = str(p.namespace);
                const sa = str(p.serviceAccount);
                const job = jobOfIdentity("", p) ?? jobOfName(sa) ?? (ns && sa ? jobsOfSa().get(`${ns}/${sa}`) : undefined);
                if (!job) continue;
                for (const prop of ["roleArn", "targetRoleArn"]) {
                    const role = resolveRef(r, prop, allRoles, ["roleArn", "targetRoleArn"].filter((x) => x !== prop));
                    if (role) {
                        const i = info(role);
                        i.jobs.set(job, `Pod Identity association '${r.name}' (${ns ?? "?"}/${sa ?? "?"})`);
                        i.customer ??= str(tags(p)["byoc:customer"]);
                    }
                }
            } else if (r.type === "kubernetes:core/v1:ServiceAccount") {
                const arn = str(get(p, "metadata", "annotations", "eks.amazonaws.com/role-arn"));
                const role = arn ? allRoles.get(arn) : undefined;
                if (!role) continue;
                const name = str(get(p, "metadata", "name"));
                const job = jobOfName(name) ?? jobsOfSa().get(`${namespaceKey(r)}/${name ?? ""}`) ?? (TELEMETRY_ROLES.has(String(get(p, "metadata", "labels", COMPONENT_LABEL))) ? (String(get(p, "metadata", "labels", COMPONENT_LABEL)) as Job) : undefined);
                if (job) info(role).jobs.set(job, `the IRSA annotation of service account ${name ?? r.name}`);
            } else if (r.type === IAM_ROLE_POLICY) {
                const j = jobOfIdentity(r.name, p);
                const role = j ? resolveRef(r, "role", allRoles) : undefined;
                if (role && j) info(role).jobs.set(j, `its inline policy '${r.name}'`);
            }
        }
        const roles = new Map<string, RoleInfo>();
        for (const [k, r] of allRoles) {
            const i = infos.get(r.urn);
            if (i) roles.set(k, i);
        }

        // 2. Every document each telemetry role holds.
        const addPolicyRes = (i: RoleInfo, pol: StackRes, via: string, self: boolean) => {
            const parsed = parsePolicy(raw(pol.props).policy, `policy '${pol.name}'`);
            if (parsed.ok) i.docs.push({ doc: parsed.doc, urn: pol.urn, self: isTelemetry(pol.name, raw(pol.props)) });
            else if (parsed.problem && !(self && isTelemetry(pol.name, raw(pol.props)))) i.problems.push({ text: `${parsed.problem} (attached ${via})`, urn: pol.urn });
        };
        const attachArn = (i: RoleInfo, r: StackRes, arnProp: string, arn: unknown, via: string, self: boolean, reportManaged: boolean) => {
            if (typeof arn === "string" && AWS_MANAGED.test(arn)) {
                if (reportManaged) i.problems.push({ text: `attaches AWS-managed policy ${arn} (${via})`, urn: r.urn });
                return;
            }
            const pol = typeof arn === "string" && !isUnknown(arn) ? policies.get(arn) : resolveRef(r, arnProp, policies, ["role", "roles", "roleName"]);
            if (pol) addPolicyRes(i, pol, via, self);
            else if (typeof arn === "string" && !isUnknown(arn)) i.problems.push({ text: `attaches ${arn}, which is not defined in this stack, so what it allows cannot be verified (${via})`, urn: r.urn });
        };
        for (const i of infos.values()) {
            const rp = raw(i.role.props);
            arr(rp.inlinePolicies).forEach((ip, k) => {
                if (!isObj(ip)) return;
                const parsed = parsePolicy(ip.policy, `inline policy '${str(ip.name) ?? k}'`);
                if (parsed.ok) i.docs.push({ doc: parsed.doc, urn: i.role.urn, self: isTelemetry(i.role.name, rp) });
            });
            // managedPolicyArns: known ARNs by value, unknown ones (preview) through the property's dependencies.
            const viaDeps = new Set((i.role.propertyDependencies?.["managedPolicyArns"] ?? []).filter((d) => d.type === IAM_POLICY));
            for (const arn of arr(rp.managedPolicyArns)) {
                if (typeof arn === "string" && !isUnknown(arn)) {
                    const pol = policies.get(arn);
                    if (pol) viaDeps.delete(pol);
                    attachArn(i, i.role, "managedPolicyArns", arn, "managedPolicyArns", false, false);
                }
            }
            if (arr(rp.managedPolicyArns).some(isUnknown) || isUnknown(rp.managedPolicyArns)) for (const d of viaDeps) addPolicyRes(i, d, "managedPolicyArns", false);
            if (rp.permissionsBoundary !== undefined && rp.permissionsBoundary !== null) {
                const b = str(rp.permissionsBoundary);
                const pol = b ? policies.get(b) : resolveRef(i.role, "permissionsBoundary", policies);
                const parsed = pol ? parsePolicy(raw(pol.props).policy, `permissions boundary '${pol.name}'`) : undefined;
                if (parsed?.ok) i.boundary.push(parsed.doc);
            }
        }
        for (const r of resources) {
            if (r.type !== IAM_ROLE_POLICY && r.type !== IAM_ROLE_POLICY_ATTACHMENT && r.type !== IAM_POLICY_ATTACHMENT && r.type !== IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE) continue;
            const p = raw(r.props);
            const self = isTelemetry(r.name, p) || (!!str(p.role) && TELEMETRY_NAME.test(str(p.role)!));
            if (r.type === IAM_POLICY_ATTACHMENT) {
                const targets = new Set<RoleInfo>();
                for (const name of arr(p.roles)) {
                    const hit = typeof name === "string" ? roles.get(name) : undefined;
                    if (hit) targets.add(hit);
                }
                for (const d of r.propertyDependencies?.["roles"] ?? []) {
                    const hit = roles.get(d.urn);
                    if (hit) targets.add(hit);
                }
                for (const i of targets) attachArn(i, r, "policyArn", p.policyArn, `by '${r.name}'`, false, true);
                continue;
            }
            if (r.type === IAM_ROLE_POLICY_ATTACHMENTS_EXCLUSIVE) {
                const i = resolveRef(r, "roleName", allRoles, ["policyArns"]);
                const ri = i ? infos.get(i.urn) : undefined;
                if (!ri) continue;
                arr(p.policyArns).forEach((arn) => attachArn(ri, r, "policyArns", arn, `by '${r.name}'`, false, true));
                continue;
            }
            const role = resolveRef(r, "role", allRoles, ["policyArn"]);
            const i = role ? infos.get(role.urn) : undefined;
            if (!i) continue;
            if (r.type === IAM_ROLE_POLICY) {
                const parsed = parsePolicy(p.policy, `policy '${r.name}'`);
                if (parsed.ok) i.docs.push({ doc: parsed.doc, urn: r.urn, self });
                else if (parsed.problem && !self) i.problems.push({ text: parsed.problem, urn: r.urn });
                continue;
            }
            const arn = p.policyArn;
            if (isUnknown(arn) && !(r.propertyDependencies?.["policyArn"]?.length || r.dependencies?.length)) continue;
            attachArn(i, r, "policyArn", arn, `by '${r.name}'`, self, !self);
        }

        // 3. Judge each role's effective permissions.
        for (const i of infos.values()) {
            for (const pr of i.problems) report(reportViolation, `Telemetry role '${i.role.name}'`, [pr.text], pr.urn);
            if (i.jobs.size > 1) {
                reportViolation(
                    `Telemetry role '${i.role.name}' does more than one job: ${[...i.jobs].map(([j, why]) => `${j} (${why})`).join(" and ")}. Remediation: give the billing scraper and the State Exporter a role each.`,
                    i.role.urn,
                );
            }
            const customer = i.customer ?? stackCustomer;
            // One self-identified document and no boundary: the resource half has judged exactly this.
            if (i.docs.length === 1 && i.docs[0].self && i.boundary.length === 0) continue;
            for (const f of effectiveProblems(i, customer, true)) {
                if (!f.self) report(reportViolation, `Telemetry role '${i.role.name}' (${[...i.jobs.keys()].join(", ")})`, [f.text], f.urn);
            }
        }
    },
};

/** The wildcard patterns of a statement that match a probe (for the message). */
function wildcardsUsed(s: Statement, action: string, resource: string): string {
    const notes: string[] = [];
    const wa = (s.action ?? []).filter((a) => /[*?]/.test(a) && matches(a, action, true));
    if (wa.length > 0) notes.push(`wildcard action(s) ${wa.join(", ")}`);
    if (s.notAction) notes.push(`NotAction ${s.notAction.join(", ")}`);
    const wr = (s.resource ?? []).filter((r) => /[*?]|\$\{/.test(r) && matches(r, resource, false));
    if (wr.length > 0) notes.push(`wildcard resource(s) ${wr.join(", ")}`);
    if (s.notResource) notes.push(`NotResource ${s.notResource.join(", ")}`);
    return notes.length > 0 ? ` (${notes.join("; ")})` : "";
}

// ------------------------------------------------------------------------------------------------
// Effective permissions vs the job
// ------------------------------------------------------------------------------------------------

const NOTABLE_ACTIONS = [
    "s3:GetObject", "s3:DeleteObject", "s3:PutObjectAcl", "s3:PutBucketPolicy", "s3:ListBucket", "s3:PutObject",
    "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:PurgeQueue", "sqs:SetQueueAttributes",
    "iam:PassRole", "sts:AssumeRole", "kms:Decrypt",
];
const PROBE = "zz-probe";
const S3_OBJECT = /^arn:(aws[a-z-]*):s3:::([^/]+)\/([^/]*)(\/.*)?$/;
const SQS_QUEUE = /^arn:(aws[a-z-]*):sqs:([^:]+):(\d{12}|[^:]+):([^:/]+)$/;

interface Finding {
    text: string;
    urn: string;
    /** Found in a self-identified document (the resource half reports it). */
    self?: boolean;
}

export function effectiveProblems(
    i: { jobs: Map<Job, string>; docs: HeldDoc[]; boundary: PolicyDoc[]; role: { name: string; urn: string; props: Obj } },
    customer: string | undefined,
    roleLevel: boolean,
): Finding[] {
    if (i.docs.length === 0) return [];
    const docs = i.docs.map((d) => d.doc);
    const urnOf = new Map<Statement, string>();
    const selfStmt = new Set<Statement>();
    for (const d of i.docs) for (const s of d.doc.statements) {
        urnOf.set(s, d.urn);
        if (d.self) selfStmt.add(s);
    }
    const vars: Obj = {};
    for (const [k, v] of Object.entries(tags(raw(i.role.props)))) if (typeof v === "string") vars[`aws:PrincipalTag/${k}`] = v;
    const { actions: namedActions, resources: namedResources } = namedValues(docs);

    // Literal buckets/queues and key prefixes the documents name; partitions.
    const buckets = new Set<string>();
    const prefixes = new Set<string>();
    const queues = new Set<string>();
    let partition = "aws";
    for (const r of namedResources) {
        const m = S3_OBJECT.exec(r) ?? /^arn:(aws[a-z-]*):s3:::([^/]+)$/.exec(r);
        if (m) {
            partition = m[1];
            if (!/[*?$]/.test(m[2])) buckets.add(m[2]);
            if (m[3] !== undefined && m[3] !== "" && !/[*?$]/.test(m[3])) prefixes.add(m[3]);
        }
        const q = SQS_QUEUE.exec(r);
        if (q) {
            partition = q[1];
            if (!/[*?$]/.test(r)) queues.add(r);
        }
    }
    const home = customer ?? (prefixes.size === 1 ? [...prefixes][0] : undefined);

    const billing = i.jobs.has("billing-scraper");
    const state = i.jobs.has("state-exporter");
    // Fast path (the common, compliant case): every Allow names literal in-job actions on literal in-job resources,
    // so nothing outside the job can be allowed; only the role-level counts remain to be read.
    const literal = (v: string) => !/[*?$]/.test(v);
    const jobAction = (a: string) => (billing && a.toLowerCase() === "s3:putobject") || (state && a.toLowerCase() === "sqs:sendmessage");
    const fast = docs.every((d) =>
        d.statements.every((st) => st.effect === "Deny" || (!!st.action && !!st.resource && st.action.every((a) => literal(a) && jobAction(a)) && st.resource.every((r) => st.action!.every((a) => inJobRes(a, r))))),
    );
    function inJobRes(a: string, r: string): boolean {
        if (billing && a.toLowerCase() === "s3:putobject") {
            const m = S3_OBJECT.exec(r);
            if (m && m[4] !== undefined && m[4].length > 1 && buckets.has(m[2]) && home !== undefined && m[3] === home) return true;
        }
        return state && a.toLowerCase() === "sqs:sendmessage" && literal(r) && queues.has(r);
    }
    if (fast) {
        if (!roleLevel) return [];
        const out: Finding[] = [];
        const bs = new Set<string>();
        const qs = new Set<string>();
        for (const d of docs) for (const st of d.statements) if (st.effect === "Allow") for (const r of st.resource!) {
            const m = S3_OBJECT.exec(r);
            if (m) bs.add(m[2]);
            else qs.add(r);
        }
        if (bs.size > 1) out.push({ text: `writes billing objects to ${bs.size} buckets (${[...bs].join(", ")}); its job is one`, urn: i.role.urn });
        if (qs.size > 1) out.push({ text: `sends to ${qs.size} queues (${[...qs].join(", ")}); its job is one`, urn: i.role.urn });
        return out;
    }

    const actions = new Set<string>(NOTABLE_ACTIONS);
    const services = new Set<string>(["s3", "sqs", "iam"]);
    for (const a of namedActions) {
        if (/[*?]/.test(a)) actions.add(instantiate(a, "Zzprobe"));
        else actions.add(a);
        const svc = a.split(":")[0];
        if (svc && !/[*?]/.test(svc)) services.add(svc.toLowerCase());
    }
    for (const s of services) actions.add(`${s}:ZzprobeAction`);
    actions.add("zzprobe:ZzprobeAction");

    const resources = new Set<string>([
        `arn:${partition}:s3:::${PROBE}-bucket/${home ?? "zz-home"}/${PROBE}`,
        `arn:${partition}:s3:::${PROBE}-bucket`,
        `arn:${partition}:sqs:${PROBE}-1:000000000000:${PROBE}`,
        `arn:${partition}:iam::000000000000:role/${PROBE}`,
        `arn:${partition}:kms:${PROBE}-1:000000000000:key/${PROBE}`,
    ]);
    for (const r of namedResources) resources.add(/[*?$]/.test(r) ? instantiate(r, PROBE) : r);
    for (const b of buckets) {
        resources.add(`arn:${partition}:s3:::${b}`);
        resources.add(`arn:${partition}:s3:::${b}/${PROBE}`);
        resources.add(`arn:${partition}:s3:::${b}/zz-other-customer/${PROBE}`);
        if (home) {
            resources.add(`arn:${partition}:s3:::${b}/${home}/${PROBE}`);
            resources.add(`arn:${partition}:s3:::${b}/${home}zz/${PROBE}`);
            resources.add(`arn:${partition}:s3:::${b}/zz${home}/${PROBE}`);
        }
    }
    for (const q of queues) resources.add(`${q}zz`);

    const inJob = (a: string, r: string): boolean => {
        if (billing && a.toLowerCase() === "s3:putobject") {
            const m = S3_OBJECT.exec(r);
            if (m && m[4] !== undefined && m[4].length > 1 && buckets.has(m[2]) && home !== undefined && m[3] === home) return true;
        }
        if (state && a.toLowerCase() === "sqs:sendmessage" && queues.has(r)) return true;
        return false;
    };

    const findings: Finding[] = [];
    const seen = new Set<string>();
    const inJobBuckets = new Set<string>();
    const inJobQueues = new Set<string>();
    for (const a of actions) {
        for (const r of resources) {
            const d = evaluate(docs, a, r, { vars, boundary: i.boundary });
            if (!d.allowed || !d.by) continue;
            if (inJob(a, r)) {
                const m = S3_OBJECT.exec(r);
                if (m) inJobBuckets.add(m[2]);
                else inJobQueues.add(r);
                continue;
            }
            const m = S3_OBJECT.exec(r);
            let kind: string;
            let text: string;
            const pretty = r.replace(new RegExp(`${PROBE}(-bucket|-1)?`, "g"), "…").replace("zz-other-customer", "<another customer>").replace("zz-home", "<any prefix>");
            if (billing && a.toLowerCase() === "s3:putobject" && m && buckets.has(m[2]) && m[3] !== home) {
                kind = "other-customer";
                text = `can write another customer's objects (s3:PutObject on ${pretty}) through ${d.by.label}`;
            } else if (a.toLowerCase() === (billing ? "s3:putobject" : "sqs:sendmessage")) {
                kind = "other-target";
                text = `can ${a} on ${pretty}, outside its one ${billing ? "bucket and customer prefix" : "queue"}, through ${d.by.label}`;
            } else {
                kind = `action:${a.split(":")[0]}`;
                text = `can ${a.includes("Zzprobe") ? `${a.split(":")[0]}:* actions` : a} on ${pretty} — more than its one job — through ${d.by.label}`;
            }
            const key = `${d.by.label}|${kind}`;
            if (seen.has(key)) continue;
            seen.add(key);
            findings.push({ text: text + wildcardsUsed(d.by, a, r), urn: urnOf.get(d.by) ?? i.role.urn, self: selfStmt.has(d.by) });
        }
    }
    if (roleLevel && inJobBuckets.size > 1) findings.push({ text: `writes billing objects to ${inJobBuckets.size} buckets (${[...inJobBuckets].join(", ")}); its job is one`, urn: i.role.urn });
    if (roleLevel && inJobQueues.size > 1) findings.push({ text: `sends to ${inJobQueues.size} queues (${[...inJobQueues].join(", ")}); its job is one`, urn: i.role.urn });
    return findings.slice(0, 8);
}
