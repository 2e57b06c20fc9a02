/**
 * least-privilege-telemetry — the roles that push telemetry out of the customer's account (billing
 * scraper → provider S3, State Exporter → provider SQS) can do exactly that and nothing more: no wildcard
 * actions, no wildcard resources, no NotAction/NotResource, no AWS-managed (broad) policies.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { arr, indexBy, isObj, isUnknown, Obj, parseJsonDoc, raw, resolveRef, ROLE_TAG, StackRes, str, tags } from "./util";

export const IAM_POLICY = "aws:iam/policy:Policy";
export const IAM_ROLE = "aws:iam/role:Role";
export const IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
export const IAM_ROLE_POLICY_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
export const IAM_POLICY_ATTACHMENT = "aws:iam/policyAttachment:PolicyAttachment";
export const TELEMETRY_ROLES = new Set(["billing-scraper", "state-exporter"]);
const TELEMETRY_NAME = /billing|state[-_]?export/i;
const AWS_MANAGED = /^arn:aws[a-z-]*:iam::aws:policy\//;

/** A role/policy belongs to the telemetry path by its byoc:role tag or by its name. */
export function isTelemetry(name: string, props: Obj): boolean {
    if (TELEMETRY_ROLES.has(String(tags(props)[ROLE_TAG]))) return true;
    return [name, str(props.name), str(props.namePrefix)].some((s) => !!s && TELEMETRY_NAME.test(s));
}

function isWildcardResource(r: string): boolean {
    if (r === "*") return true;
    const parts = r.split(":");
    if (parts.length < 6 || parts[0] !== "arn") return r.includes("*");
    if (parts.slice(1, 5).some((p) => p.includes("*") || p.includes("?"))) return true;
    const resource = parts.slice(5).join(":");
    const head = resource.split("/")[0];
    return head.includes("*") || head.includes("?"); // object-key wildcards below a bucket/prefix are fine
}

/** Problems in an IAM policy document (string, object or unknown). */
export function documentProblems(policy: unknown): string[] {
    if (isUnknown(policy) || policy === undefined || policy === null) return [];
    const doc = parseJsonDoc(policy);
    if (!doc) return ["the policy document is not valid JSON, so it cannot be verified"];
    const out: string[] = [];
    const statements = Array.isArray(doc.Statement) ? doc.Statement : isObj(doc.Statement) ? [doc.Statement] : [];
    statements.forEach((s: unknown, i: number) => {
        if (!isObj(s) || s.Effect === "Deny") return;
        const where = `Statement[${i}]${str(s.Sid) ? ` (${s.Sid})` : ""}`;
        if (s.NotAction !== undefined) out.push(`${where} uses NotAction (allows everything else)`);
        if (s.NotResource !== undefined) out.push(`${where} uses NotResource (applies to everything else)`);
        const actions = (typeof s.Action === "string" ? [s.Action] : arr(s.Action)).filter((a) => typeof a === "string" && !isUnknown(a));
        const wa = actions.filter((a: string) => a.includes("*") || a.includes("?"));
        if (wa.length > 0) out.push(`${where} has wildcard action(s) ${wa.join(", ")}`);
        const resources = (typeof s.Resource === "string" ? [s.Resource] : arr(s.Resource)).filter((r) => typeof r === "string" && !isUnknown(r));
        const wr = resources.filter(isWildcardResource);
        if (wr.length > 0) out.push(`${where} has wildcard resource(s) ${wr.join(", ")}`);
    });
    return out;
}

const FIX =
    "Remediation: allow only s3:PutObject on the provider's billing bucket/prefix (billing scraper) or sqs:SendMessage on the provider's state queue (State Exporter), with explicit ARNs.";

function report(rv: (m: string, urn?: string) => void, what: string, problems: string[], urn?: string) {
    for (const p of problems) rv(`${what}: ${p}. ${FIX}`, urn);
}

export const leastPrivilegeTelemetry: ResourceValidationPolicy = {
    name: "least-privilege-telemetry",
    description:
        "The billing-scraper and State Exporter IAM policies name exact actions and resources: no wildcard actions or resources, no NotAction/NotResource, no AWS-managed policies.",
    enforcementLevel: "mandatory",
    validateResource: (args, reportViolation) => {
        const t = args.type;
        if (t !== IAM_POLICY && t !== IAM_ROLE && t !== IAM_ROLE_POLICY && t !== IAM_ROLE_POLICY_ATTACHMENT) return;
        const props = raw(args.props);
        const self = isTelemetry(args.name, props) || (t !== IAM_ROLE && t !== IAM_POLICY && !!str(props.role) && TELEMETRY_NAME.test(str(props.role)!));
        if (!self) return;
        if (t === IAM_POLICY || t === IAM_ROLE_POLICY) {
            report(reportViolation, `Telemetry IAM policy '${args.name}'`, documentProblems(props.policy));
        } else if (t === IAM_ROLE) {
            arr(props.inlinePolicies).forEach((ip) => {
                if (isObj(ip)) report(reportViolation, `Inline policy '${str(ip.name) ?? "?"}' of telemetry role '${args.name}'`, documentProblems(ip.policy));
            });
            const managed = arr(props.managedPolicyArns).filter((a) => typeof a === "string" && AWS_MANAGED.test(a));
            if (managed.length > 0) report(reportViolation, `Telemetry role '${args.name}'`, [`has AWS-managed policies ${managed.join(", ")} attached`]);
        } else if (t === IAM_ROLE_POLICY_ATTACHMENT) {
            const arn = str(props.policyArn);
            if (arn && AWS_MANAGED.test(arn)) report(reportViolation, `Attachment '${args.name}' on a telemetry role`, [`attaches AWS-managed policy ${arn}`]);
        }
    },
};

export const leastPrivilegeTelemetryStack: StackValidationPolicy = {
    name: "least-privilege-telemetry-stack",
    description:
        "Across the stack: inline policies and policy attachments whose role is a billing-scraper or State Exporter role (joined by role name/ARN/URN) are least-privilege too.",
    enforcementLevel: "mandatory",
    validateStack: (args, reportViolation) => {
        const resources = args.resources as unknown as StackRes[];
        const roles = indexBy(resources, (r) => r.type === IAM_ROLE && isTelemetry(r.name, raw(r.props)));
        if (roles.size === 0) return;
        const policies = indexBy(resources, (r) => r.type === IAM_POLICY);
        for (const r of resources) {
            if (r.type !== IAM_ROLE_POLICY && r.type !== IAM_ROLE_POLICY_ATTACHMENT && r.type !== IAM_POLICY_ATTACHMENT) continue;
            const p = raw(r.props);
            let role: StackRes | undefined;
            if (r.type === IAM_POLICY_ATTACHMENT) {
                for (const name of arr(p.roles)) {
                    const hit = typeof name === "string" ? roles.get(name) : undefined;
                    if (hit) role = hit;
                }
                const pd = r.propertyDependencies?.["roles"] ?? [];
                for (const d of pd) if (roles.has(d.urn)) role = roles.get(d.urn);
            } else {
                role = resolveRef(r, "role", roles, ["policyArn"]);
            }
            if (!role) continue;
            // Already judged by the resource policy when the resource identifies itself.
            const self = isTelemetry(r.name, p) || (!!str(p.role) && TELEMETRY_NAME.test(str(p.role)!));
            if (r.type === IAM_ROLE_POLICY) {
                if (!self) report(reportViolation, `Inline policy '${r.name}' of telemetry role '${role.name}'`, documentProblems(p.policy), r.urn);
                continue;
            }
            const arn = p.policyArn;
            if (isUnknown(arn) && !(r.propertyDependencies?.["policyArn"]?.length || r.dependencies?.length)) continue;
            if (typeof arn === "string" && AWS_MANAGED.test(arn)) {
                if (!self || r.type === IAM_POLICY_ATTACHMENT) report(reportViolation, `Attachment '${r.name}' on telemetry role '${role.name}'`, [`attaches AWS-managed policy ${arn}`], r.urn);
                continue;
            }
            const pol = resolveRef(r, "policyArn", policies, ["role", "roles"]);
            if (pol && !isTelemetry(pol.name, raw(pol.props))) {
                report(reportViolation, `Policy '${pol.name}' attached to telemetry role '${role.name}'`, documentProblems(raw(pol.props).policy), pol.urn);
            }
        }
    },
};
