// README section "What the provider can do in your account", generated from the program itself: the bootstrap's IAM
// documents (bootstrap/policies.ts, for the example customer of bootstrap/Pulumi.acme.yaml) and the data plane's
// prod and dev stacks run under the offline preview's mocks (preview/offline.ts). test/preview/providerPowers.spec.ts
// fails when README.md differs from what this renders, so a change to a role, a policy or a path shows up in review.
//
//   node --require ./cli/register.js preview/providerPowers.ts            # print the section
//   node --require ./cli/register.js preview/providerPowers.ts --write    # rewrite it in README.md (npm run docs:provider-powers)
//   node --require ./cli/register.js preview/providerPowers.ts --check    # exit 1 when README.md is out of date
//
// `renderProviderPowers` is pure (documents and recorded resources in, markdown out); `collectProviderPowersInput`
// runs the programs. Secret values never reach the text: the ExternalId is rendered as "the ExternalId you set", and
// the renderer refuses to return text that contains any value listed in `input.secrets`.
import { createPrivateKey, createPublicKey, sign } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { PolicyDocument, PolicyStatement } from "../bootstrap/policies";
import type { RecordedResource } from "./runtime";
import type { ResolvedFlow } from "../components/flows";
import { normalize } from "../policies/snapshot";

export const BEGIN_MARKER = "<!-- provider-powers:begin -->";
export const END_MARKER = "<!-- provider-powers:end -->";
export const WRITE_COMMAND = "npm run docs:provider-powers";

/** The instant every run is judged at (grants, suspension), so the section does not change with the clock. */
const GENERATION_TIME = new Date("2026-11-25T12:00:00Z");
/** Stands in for the ExternalId in the example documents; listed in `secrets`, so it can never be printed. */
const EXAMPLE_EXTERNAL_ID = "example-ExternalId-0000-never-printed";

// ------------------------------------------------------------------------------------------------
// Input
// ------------------------------------------------------------------------------------------------

export interface BootstrapPowers {
    customer: string;
    account: string;
    region: string;
    /** The example bootstrap stack file the values come from (`bootstrap/Pulumi.acme.yaml`). */
    source: string;
    boundaryArn: string;
    /** The boundary every role of the data plane carries (bootstrap/policies.ts workloadBoundaryPolicy). */
    workloadBoundaryArn: string;
    roleNames: { deploy: string; support: string; breakGlass: string; boundary: string; workloadBoundary: string };
    revokePolicyName: string;
    /** The roles the bootstrap program registers (its offline run): boundary and session limit, by role name. */
    roles: Record<string, { boundary?: string; maxSessionDuration?: number }>;
    documents: {
        /** Trust of deploy and support while vendor access is enabled. */
        vendorTrust: PolicyDocument;
        /** Trust of deploy and support while suspended, and of break-glass while closed. */
        suspendedTrust: PolicyDocument;
        breakGlassClosedTrust: PolicyDocument;
        breakGlassOpenTrust: PolicyDocument;
        deploy: PolicyDocument;
        support: PolicyDocument;
        boundary: PolicyDocument;
        workloadBoundary: PolicyDocument;
        /** The inline policy the kill switch attaches (its instant is a placeholder: the moment you suspend). */
        revokeSessions: PolicyDocument;
    };
}

/** One program run of a data-plane stack, or why there is none. */
export type StackPowers =
    | { stack: string; file: string; ok: true; customer: string; environment: string; resources: RecordedResource[]; flows: ResolvedFlow[]; invented: ReadonlyMap<string, string> }
    | { stack: string; file: string; ok: false; reason: string; problemPaths: string[] };

export interface ProviderPowersInput {
    bootstrap: BootstrapPowers;
    /** prod first, then dev. */
    stacks: StackPowers[];
    /** The prod stack with one example troubleshooting grant added: what a grant creates. */
    grantExample?: { run: StackPowers; grantId: string; engineer: string; hours: number };
    /** The prod stack with `byoc:access.vendorAccess: suspended`. */
    suspended: StackPowers;
    /** Values that must never appear in the text (ExternalIds, ciphertext). */
    secrets: string[];
}

// ------------------------------------------------------------------------------------------------
// Small renderers
// ------------------------------------------------------------------------------------------------

const code = (s: string) => (s.includes("`") ? `\`\` ${s} \`\`` : `\`${s}\``);
/** A table cell: pipes escaped, line breaks as <br>. */
const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, "<br>");
const table = (header: string[], rows: string[][]) =>
    [`| ${header.join(" | ")} |`, `|${header.map(() => "---").join("|")}|`, ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`)].join("\n");
const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const sorted = (xs: string[]) => [...new Set(xs)].sort((a, b) => a.localeCompare(b));
const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** "NoIamUsersOrKeys" → "No IAM users or keys". */
function sidTitle(sid: string): string {
    const words = sid.replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2").split(" ");
    const acronyms: Record<string, string> = { iam: "IAM", eks: "EKS", kms: "KMS", id: "ID", ebs: "EBS", elb: "ELB", s3: "S3", sqs: "SQS", acme: "ACME", api: "API", dns: "DNS", tls: "TLS", nlb: "NLB" };
    return words.map((w, i) => acronyms[w.toLowerCase()] ?? (i === 0 ? w : w.toLowerCase())).join(" ");
}

/** Actions grouped by service: `ec2:{Describe*, GetManagedPrefixListEntries}`, `s3:PutObject`. */
export function formatActions(actions: string[]): string {
    if (actions.includes("*")) return "`*` (every action)";
    const byService = new Map<string, string[]>();
    for (const a of sorted(actions)) {
        const [service, name] = a.includes(":") ? [a.slice(0, a.indexOf(":")), a.slice(a.indexOf(":") + 1)] : ["", a];
        byService.set(service, [...(byService.get(service) ?? []), name]);
    }
    return [...byService].map(([s, names]) => code(names.length === 1 ? `${s}:${names[0]}` : `${s}:{${names.join(", ")}}`)).join(" ");
}

const OPERATORS: Record<string, string> = {
    StringEquals: "=", StringNotEquals: "≠", StringLike: "like", StringNotLike: "not like", ArnEquals: "=", ArnLike: "like", ArnNotEquals: "≠",
    Bool: "=", DateLessThan: "<", DateGreaterThan: ">", NumericLessThan: "<", NumericLessThanEquals: "≤", NumericGreaterThan: ">",
};

/** One condition in words. The ExternalId's value is never printed. */
function conditionPhrase(op: string, key: string, value: string | string[], trust = false): string {
    const values = list(value);
    const v = values.map(code).join(" or ");
    const negated = /Not/.test(op);
    if (key === "sts:ExternalId") return `${code("sts:ExternalId")} ${negated ? "≠" : "="} the ExternalId you set`;
    if (op === "Null") {
        const present = values[0] === "false";
        if (key === "sts:SourceIdentity") return present ? `a source identity is set (${code("sts:SourceIdentity")}: CloudTrail names who acted)` : `no source identity is set`;
        return `${code(key)} is ${present ? "present" : "absent"}`;
    }
    const tag = /^aws:(ResourceTag|RequestTag)\/(.+)$/.exec(key);
    if (tag && /^String(Not)?Equals$/.test(op)) {
        const tags = values.map((x) => code(`${tag[2]} = ${x}`)).join(" or ");
        if (tag[1] === "ResourceTag") return `the resource is${negated ? " not" : ""} tagged ${tags}`;
        // In a trust policy request tags are the session's tags; elsewhere the tags a create call puts on the resource.
        return trust ? `the session is${negated ? " not" : ""} tagged ${tags}` : `the request${negated ? " does not tag" : " tags"} the new resource ${tags}`;
    }
    if (key === "iam:PermissionsBoundary") return `the role ${negated ? "does not carry" : "carries"} the boundary ${v}`;
    if (key === "aws:TokenIssueTime" && op === "DateLessThan") return `the session was issued before ${v}`;
    if (key === "aws:CurrentTime" && op === "DateLessThan") return `it is before ${v}`;
    if (key === "sts:RoleSessionName" && op === "StringEquals") return `the session name is ${v}`;
    if (key === "aws:SourceAccount") return `on behalf of account ${v}`;
    if (key === "aws:SourceArn") return `on behalf of ${v}`;
    return `${code(key)} ${OPERATORS[op.replace(/^(ForAllValues|ForAnyValue):/, "")] ?? op}${/^ForAllValues:/.test(op) ? " (all of)" : /^ForAnyValue:/.test(op) ? " (any of)" : ""} ${v}`;
}

type Condition = NonNullable<PolicyStatement["Condition"]>;

const POD_IDENTITY_TAGS = ["aws:RequestTag/eks-cluster-name", "aws:RequestTag/kubernetes-namespace", "aws:RequestTag/kubernetes-service-account"];

function conditionPhrases(c: Condition | undefined, trust = false): string[] {
    const out: string[] = [];
    // EKS Pod Identity's session tags: one service account of one cluster.
    const eq = (c?.StringEquals ?? {}) as Record<string, string | string[]>;
    let skip = new Set<string>();
    if (trust && POD_IDENTITY_TAGS.every((k) => typeof eq[k] === "string")) {
        out.push(`the session is for service account ${code(`${eq[POD_IDENTITY_TAGS[1]]}/${eq[POD_IDENTITY_TAGS[2]]}`)} of cluster ${code(String(eq[POD_IDENTITY_TAGS[0]]))}`);
        skip = new Set(POD_IDENTITY_TAGS);
    }
    for (const [op, keys] of Object.entries(c ?? {}).sort(([a], [b]) => a.localeCompare(b))) {
        // Null conditions on *:CreateAction: "unless it is the tag-on-create of EC2 / ELB".
        const createActions = Object.entries(keys).filter(([k, val]) => op === "Null" && /:CreateAction$/.test(k) && list(val)[0] === "true");
        if (createActions.length > 0) out.push(`it is not the tag-on-create of ${createActions.map(([k]) => code(k.split(":")[0])).join(" or ")}`);
        for (const [k, val] of Object.entries(keys).sort(([a], [b]) => a.localeCompare(b))) {
            if (createActions.some(([ck]) => ck === k) || (op === "StringEquals" && skip.has(k))) continue;
            out.push(conditionPhrase(op, k, val as string | string[], trust));
        }
    }
    return out;
}

function resourcePhrase(s: PolicyStatement): string {
    if (s.NotResource) return `any resource except ${s.NotResource.map(code).join(", ")}`;
    const rs = list(s.Resource);
    if (rs.length === 0 || rs.includes("*")) return "any resource";
    return sorted(rs).map(code).join(", ");
}

/** One permission statement: `Sid`: Allow|Deny actions on scope, when conditions. */
function statementLine(s: PolicyStatement, withSid = true): string {
    const actions = s.NotAction ? `every action except ${formatActions(s.NotAction)}` : formatActions(list(s.Action));
    const when = conditionPhrases(s.Condition);
    return `${withSid && s.Sid ? `${code(s.Sid)}: ` : ""}**${s.Effect}** ${actions} on ${resourcePhrase(s)}${when.length ? `, when ${when.join(" and ")}` : ""}`;
}

const SERVICE_NAMES: Record<string, string> = {
    "pods.eks.amazonaws.com": "EKS Pod Identity",
    "ec2.amazonaws.com": "EC2 (the nodes)",
    "eks.amazonaws.com": "EKS (the cluster)",
    "vpc-flow-logs.amazonaws.com": "VPC Flow Logs",
};

function principalPhrase(p: PolicyStatement["Principal"]): string {
    if (p === undefined) return "(no principal)";
    if (p === "*") return "every principal";
    const parts: string[] = [];
    for (const [kind, v] of Object.entries(p).sort(([a], [b]) => a.localeCompare(b))) {
        for (const x of sorted(list(v))) {
            if (x === "*") parts.push("every principal");
            else if (kind === "Service") parts.push(`${SERVICE_NAMES[x] ?? "AWS service"} (${code(x)})`);
            else if (kind === "AWS" && /^arn:[\w-]+:iam::\d{12}:root$/.test(x)) parts.push(`account ${code(x.split(":")[4])} (any of its principals its own IAM policies allow)`);
            else parts.push(code(x));
        }
    }
    return parts.join(", ");
}

/** Who may assume a role under this trust policy, one line per statement; a lone Deny reads as "nobody". */
function trustLines(doc: PolicyDocument, extra: (s: PolicyStatement) => string[] = () => []): string[] {
    const allows = doc.Statement.filter((s) => s.Effect === "Allow");
    const lines: string[] = [];
    if (allows.length === 0) {
        const denied = doc.Statement.filter((s) => s.Effect === "Deny").flatMap((s) => list(s.Action));
        return [`**nobody**: no Allow, and an explicit Deny of ${formatActions(denied)} for every principal`];
    }
    // One line per principal (and effect): "P may `sts:AssumeRole` only when …; `sts:SetSourceIdentity` only when …".
    const groups = new Map<string, string[]>();
    for (const s of doc.Statement) {
        const when = [...conditionPhrases(s.Condition, true), ...extra(s)];
        const head = `${s.Effect === "Deny" ? "**Deny** for " : ""}${principalPhrase(s.Principal)}`;
        groups.set(head, [...(groups.get(head) ?? []), `${formatActions(list(s.Action))}${when.length ? ` only when ${when.join(" and ")}` : ""}`]);
    }
    for (const [head, parts] of groups) lines.push(`${head} ${head.startsWith("**Deny**") ? "of" : "may"} ${parts.join("; ")}`);
    return lines;
}

const parseDoc = (v: unknown): PolicyDocument | undefined => {
    if (typeof v === "string") {
        try {
            return JSON.parse(v) as PolicyDocument;
        } catch {
            return undefined;
        }
    }
    return v && typeof v === "object" ? (v as PolicyDocument) : undefined;
};

// ------------------------------------------------------------------------------------------------
// Mock values
// ------------------------------------------------------------------------------------------------

/**
 * `text` with the values the mocks made up shortened to what is real about them: `vpce-…`, `byoc-acme-lbc-…`
 * (a random suffix), `key/…`. The example account is real (it is the example's), so it stays.
 */
function deMock(text: string, invented: ReadonlyMap<string, string>, keep: Set<string>): string {
    const rules: [RegExp, (m: RegExpExecArray) => string][] = [
        [/^([a-z]+-)[0-9a-f]{8,}$/, (m) => `${m[1]}…`],
        [/^(.+-)[0-9a-f]{7}$/, (m) => `${m[1]}…`],
        [/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/, () => "…"],
        [/^[A-Z0-9]{16,}$/, () => "…"],
    ];
    const values = [...invented.keys()].filter((v) => v.length >= 7 && !keep.has(v) && text.includes(v)).sort((a, b) => a.length - b.length || a.localeCompare(b));
    for (const v of values) {
        const rule = rules.map(([re, f]) => [re.exec(v), f] as const).find(([m]) => m);
        if (!rule) continue;
        const replacement = rule[1](rule[0]!);
        let out = "";
        let pos = 0;
        for (let at = text.indexOf(v); at >= 0; at = text.indexOf(v, at + v.length)) {
            const before = text[at - 1] ?? "";
            const after = text[at + v.length] ?? "";
            if (/[A-Za-z0-9]/.test(before) || /[A-Za-z0-9]/.test(after)) continue;
            out += text.slice(pos, at) + replacement;
            pos = at + v.length;
        }
        text = out + text.slice(pos);
    }
    return text;
}

// ------------------------------------------------------------------------------------------------
// Data-plane snapshot → roles, access entries, paths
// ------------------------------------------------------------------------------------------------

interface RoleRow {
    name: string;
    logical: string;
    component: string;
    trust: string[];
    permissions: string[];
    boundary: string;
}

/** Every IAM role of a run, with its trust (linked to the Pod Identity associations that use it) and its policies. */
function dataPlaneRoles(run: Extract<StackPowers, { ok: true }>, boundaryArn: string): RoleRow[] {
    const res = run.resources;
    const roles = res.filter((r) => r.type === "aws:iam/role:Role");
    const managed = new Map(res.filter((r) => r.type === "aws:iam/policy:Policy").map((p) => [String(p.outputs.arn ?? p.id), p] as const));
    const roleKey = (r: RecordedResource) => [String(r.outputs.name ?? r.id), String(r.outputs.arn ?? "")];
    const podIdentity = new Map<string, string[]>();
    const addPod = (arn: unknown, who: string) => podIdentity.set(String(arn), [...(podIdentity.get(String(arn)) ?? []), who]);
    for (const a of res.filter((r) => r.type === "aws:eks/podIdentityAssociation:PodIdentityAssociation")) {
        addPod(a.inputs.roleArn, `${code(`${a.inputs.namespace}/${a.inputs.serviceAccount}`)} in cluster ${code(String(a.inputs.clusterName))}`);
    }
    for (const a of res.filter((r) => r.type === "aws:eks/addon:Addon")) {
        for (const p of list(a.inputs.podIdentityAssociations as { roleArn: string; serviceAccount: string }[] | undefined)) {
            addPod(p.roleArn, `${code(p.serviceAccount)} of the EKS add-on ${code(String(a.inputs.addonName))} in cluster ${code(String(a.inputs.clusterName))}`);
        }
    }
    return roles.map((role) => {
        const [name, arn] = roleKey(role);
        const trustDoc = parseDoc(role.inputs.assumeRolePolicy);
        const pods = podIdentity.get(arn) ?? [];
        const trust = trustDoc
            ? trustLines(trustDoc, (s) => {
                  const isPods = list((s.Principal as Record<string, string | string[]> | undefined)?.Service).includes("pods.eks.amazonaws.com");
                  return isPods && pods.length > 0 ? [`bound to ${sorted(pods).join(", ")}`] : isPods ? ["(no Pod Identity association uses it)"] : [];
              })
            : ["(trust policy not known offline)"];
        const permissions: string[] = [];
        const inline = res.filter((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && [name, arn].includes(String(r.inputs.role)));
        for (const p of [...inline].sort((a, b) => a.name.localeCompare(b.name))) {
            for (const s of parseDoc(p.inputs.policy)?.Statement ?? []) permissions.push(statementLine(s));
        }
        for (const p of list(role.inputs.inlinePolicies as { name?: string; policy?: string }[] | undefined)) {
            for (const s of parseDoc(p.policy)?.Statement ?? []) permissions.push(statementLine(s));
        }
        const attached = [
            ...res.filter((r) => r.type === "aws:iam/rolePolicyAttachment:RolePolicyAttachment" && [name, arn].includes(String(r.inputs.role))).map((r) => String(r.inputs.policyArn)),
            ...list(role.inputs.managedPolicyArns as string[] | undefined).map(String),
        ];
        for (const policyArn of sorted(attached)) {
            const own = managed.get(policyArn);
            if (/^arn:[\w-]+:iam::aws:policy\//.test(policyArn)) permissions.push(`AWS managed policy ${code(policyArn.split("/").pop()!)}`);
            else if (own) for (const s of parseDoc(own.inputs.policy)?.Statement ?? []) permissions.push(statementLine(s));
            else permissions.push(`managed policy ${code(policyArn)}`);
        }
        const pb = role.inputs.permissionsBoundary as string | undefined;
        const display = role.inputs.name ? String(role.inputs.name) : role.inputs.namePrefix ? `${role.inputs.namePrefix}…` : `${role.name}-…`;
        return {
            name: display,
            logical: role.name,
            component: String((role.inputs.tags as Record<string, string> | undefined)?.["byoc:component"] ?? ""),
            trust,
            permissions: permissions.length > 0 ? permissions : ["none"],
            boundary: pb === undefined ? "**none**" : pb === boundaryArn || /:policy\/byoc-bootstrap-[a-z0-9-]+-boundary$/.test(pb) ? "yes" : code(pb),
        };
    }).sort((a, b) => a.name.localeCompare(b.name) || a.logical.localeCompare(b.logical));
}

interface AccessRow {
    principal: string;
    kubernetes: string;
    policies: string;
}

/** EKS access entries and their access policy associations (who gets what in Kubernetes). */
export function accessEntries(run: Extract<StackPowers, { ok: true }>): AccessRow[] {
    const res = run.resources;
    const roleName = new Map(res.filter((r) => r.type === "aws:iam/role:Role").map((r) => [String(r.outputs.arn), r.inputs.name ? String(r.inputs.name) : r.inputs.namePrefix ? `${r.inputs.namePrefix}… (${r.name})` : `${r.name}-…`] as const));
    const who = (arn: unknown) => (roleName.has(String(arn)) ? `role ${code(roleName.get(String(arn))!)}` : code(String(arn)));
    const assoc = res.filter((r) => r.type === "aws:eks/accessPolicyAssociation:AccessPolicyAssociation");
    const policiesOf = (arn: unknown) =>
        sorted(assoc.filter((a) => String(a.inputs.principalArn) === String(arn)).map((a) => {
            const scope = a.inputs.accessScope as { type?: string; namespaces?: string[] } | undefined;
            return `${code(String(a.inputs.policyArn).split("/").pop()!)} (${scope?.type === "namespace" ? `namespaces ${list(scope.namespaces).map(code).join(", ")}` : "whole cluster"})`;
        })).join(", ") || "none";
    const rows: AccessRow[] = res.filter((r) => r.type === "aws:eks/accessEntry:AccessEntry").map((e) => ({
        principal: who(e.inputs.principalArn),
        kubernetes: [e.inputs.userName ? `user ${code(String(e.inputs.userName))}` : "", ...list(e.inputs.kubernetesGroups as string[] | undefined).map((g) => `group ${code(g)}`), e.inputs.type && e.inputs.type !== "STANDARD" ? `type ${code(String(e.inputs.type))}` : ""].filter(Boolean).join(", ") || "(EKS default user name)",
        policies: policiesOf(e.inputs.principalArn),
    }));
    // Associations whose entry the snapshot does not hold (an entry created elsewhere).
    for (const a of assoc) if (!rows.some((r) => r.principal === who(a.inputs.principalArn))) rows.push({ principal: who(a.inputs.principalArn), kubernetes: "(entry not in this stack)", policies: policiesOf(a.inputs.principalArn) });
    // pulumi-eks: entries given to the cluster component, and the creator's admin.
    for (const c of res.filter((r) => r.type === "eks:index:Cluster")) {
        for (const [key, e] of Object.entries((c.inputs.accessEntries ?? {}) as Record<string, { principalArn?: string; kubernetesGroups?: string[]; accessPolicies?: Record<string, { policyArn?: string; accessScope?: { type?: string } }> }>).sort(([a], [b]) => a.localeCompare(b))) {
            rows.push({
                principal: who(e.principalArn),
                kubernetes: [`entry ${code(key)} of the cluster`, ...list(e.kubernetesGroups).map((g) => `group ${code(g)}`)].join(", "),
                policies: sorted(Object.values(e.accessPolicies ?? {}).map((p) => `${code(String(p.policyArn).split("/").pop() ?? "")} (${p.accessScope?.type === "namespace" ? "namespaces" : "whole cluster"})`)).join(", ") || "none",
            });
        }
        if (c.inputs.bootstrapClusterCreatorAdminPermissions !== false) {
            const creator = deployRoles(run);
            rows.push({
                principal: creator.length > 0 ? `${creator.map((a) => `role ${code(a)}`).join(", ")} (it creates the cluster)` : "the identity that creates the cluster (whoever runs the first `pulumi up`)",
                kubernetes: "cluster creator (EKS `bootstrapClusterCreatorAdminPermissions`)",
                policies: `${code("AmazonEKSClusterAdminPolicy")} (whole cluster)`,
            });
        }
    }
    return rows.sort((a, b) => a.principal.localeCompare(b.principal) || a.policies.localeCompare(b.policies));
}

interface AssumeRole {
    roleArn?: string;
    sessionName?: string;
    sourceIdentity?: string;
    externalId?: string;
    duration?: string;
}

/** A recorded input with Pulumi's secret wrappers removed (policies/snapshot.ts, as `byoc policy check` reads them). */
const unsecret = (v: unknown): any => normalize(v, "");

/** The roles the stack's explicit AWS providers assume, by provider. */
function assumedRoles(run: Extract<StackPowers, { ok: true }>): [RecordedResource, AssumeRole][] {
    const out: [RecordedResource, AssumeRole][] = [];
    for (const p of run.resources.filter((r) => r.type === "pulumi:providers:aws").sort((a, b) => a.name.localeCompare(b.name))) {
        const raw = unsecret(p.inputs.assumeRoles ?? p.inputs.assumeRole);
        let roles: AssumeRole[] = [];
        try {
            roles = list(typeof raw === "string" ? JSON.parse(raw) : raw) as AssumeRole[];
        } catch {
            roles = [];
        }
        for (const r of roles.filter((x) => x && x.roleArn)) out.push([p, r]);
    }
    return out;
}

const deployRoles = (run: Extract<StackPowers, { ok: true }>) => sorted(assumedRoles(run).map(([, r]) => String(r.roleArn)));

/** How the data plane's AWS providers authenticate: the role they assume (the deploy role), never the secret. */
function deployIdentity(run: Extract<StackPowers, { ok: true }>): string[] {
    return assumedRoles(run).map(([p, r]) => {
        const extras = [
            r.externalId !== undefined ? "with the ExternalId you set" : "",
            r.sourceIdentity !== undefined ? "with the source identity of whoever runs `pulumi up` (CloudTrail names them)" : "",
            r.duration ? `for at most ${r.duration}` : "",
        ].filter(Boolean);
        return `provider ${code(p.name)} assumes ${code(String(r.roleArn))}${extras.length ? ` ${extras.join(", ")}` : ""}`;
    });
}

const PROVIDER_PATH_COMPONENTS = new Set(["DataPlaneCluster", "TailnetEndpoint", "TroubleshootingAccess"]);
const TO_PROVIDER_COMPONENTS = new Set(["TelemetryOutbound"]);

function flowRows(flows: ResolvedFlow[], pick: (f: ResolvedFlow) => boolean, fix: (s: string) => string): string[][] {
    return flows
        .filter(pick)
        .map((f) => [fix(f.flow), `${f.direction}, ${f.exposure}`, fix(f.restrictedBy)])
        .sort((a, b) => a[0].localeCompare(b[0]) || a[2].localeCompare(b[2]));
}

// ------------------------------------------------------------------------------------------------
// The section
// ------------------------------------------------------------------------------------------------

const fileOf = (s: StackPowers) => code(s.file);

function renderBootstrap(b: BootstrapPowers, out: string[]): void {
    const d = b.documents;
    const session = (role: string) => {
        const seconds = b.roles[role]?.maxSessionDuration;
        return seconds === undefined ? "(not registered)" : `≤ ${seconds / 60} min (${code(`MaxSessionDuration ${seconds}`)})`;
    };
    const boundary = (role: string) => {
        const r = b.roles[role];
        return r === undefined ? "(not registered)" : r.boundary === b.boundaryArn ? "yes" : r.boundary ? code(r.boundary) : "**none**";
    };
    out.push(`#### Roles the provider can assume (the ${code("bootstrap/")} stack you run)`, "");
    out.push(`Values are those of the example ${code(b.source)} (customer ${code(b.customer)}, account ${code(b.account)}). "Boundary": the role carries ${code(b.roleNames.boundary)}, whose denials (below) hold whatever the role's own policy says.`, "");
    out.push(table(["Role", "Who can assume it", "Session", "Boundary", "What it may do"], [
        [code(b.roleNames.deploy), trustLines(d.vendorTrust).join("\n"), session(b.roleNames.deploy), boundary(b.roleNames.deploy), `deploy the data plane — the deploy policy (below)`],
        [code(b.roleNames.support), trustLines(d.vendorTrust).join("\n"), session(b.roleNames.support), boundary(b.roleNames.support), `read-only support — the support policy (below)`],
        [
            code(b.roleNames.breakGlass),
            `closed (default): ${trustLines(d.breakGlassClosedTrust).join("; ")}\nwhen you open it: ${trustLines(d.breakGlassOpenTrust).join("\n")}`,
            session(b.roleNames.breakGlass),
            boundary(b.roleNames.breakGlass),
            "the deploy policy, for your own principals in an emergency",
        ],
    ]), "");
    const policyTable = (title: string, doc: PolicyDocument) => {
        out.push(`**${title}**`, "");
        out.push(table(["Statement", "Allows", "On", "When"], [...doc.Statement].sort((a, b) => (a.Sid ?? "").localeCompare(b.Sid ?? "")).map((s) => {
            const when = conditionPhrases(s.Condition);
            return [`${code(s.Sid ?? "(no Sid)")} ${sidTitle(s.Sid ?? "")}`.trim(), `${s.Effect === "Deny" ? "**Deny** " : ""}${s.NotAction ? `every action except ${formatActions(s.NotAction)}` : formatActions(list(s.Action))}`, resourcePhrase(s), when.join(" and ") || "always"];
        })), "");
    };
    policyTable(`Deploy policy (${code(b.roleNames.deploy)}, and ${code(b.roleNames.breakGlass)})`, d.deploy);
    policyTable(`Support policy (${code(b.roleNames.support)})`, d.support);

    out.push(`#### What the boundary denies (${code(b.roleNames.boundary)})`, "");
    out.push("An explicit Deny wins over every Allow: no role the provider holds or creates can do these, whatever its own policy says.", "");
    const denies = d.boundary.Statement.filter((s) => s.Effect === "Deny").sort((a, b) => (a.Sid ?? "").localeCompare(b.Sid ?? ""));
    out.push(table(["Denial", "Denied actions", "On", "Unless / when"], denies.map((s) => {
        const when = conditionPhrases(s.Condition);
        return [`${code(s.Sid ?? "(no Sid)")} ${sidTitle(s.Sid ?? "")}`.trim(), s.NotAction ? `every action except ${formatActions(s.NotAction)}` : formatActions(list(s.Action)), resourcePhrase(s), when.length ? `denied when ${when.join(" and ")}` : "always"];
    })), "");
    const allows = d.boundary.Statement.filter((s) => s.Effect === "Allow").sort((a, b) => (a.Sid ?? "").localeCompare(b.Sid ?? ""));
    out.push("The ceiling (the most a role under the boundary can be allowed):", "");
    for (const s of allows) out.push(`- ${statementLine(s)}`);
    out.push("");

    out.push(`#### The workload boundary (${code(b.roleNames.workloadBoundary)})`, "");
    out.push("Every IAM role the data plane creates carries it (the deploy role may create no other): its ceiling is every action, and these denials hold whatever the role's own policy says.", "");
    const workloadDenies = d.workloadBoundary.Statement.filter((s) => s.Effect === "Deny").sort((a, b) => (a.Sid ?? "").localeCompare(b.Sid ?? ""));
    out.push(table(["Denial", "Denied actions", "On", "Unless / when"], workloadDenies.map((s) => {
        const when = conditionPhrases(s.Condition);
        return [`${code(s.Sid ?? "(no Sid)")} ${sidTitle(s.Sid ?? "")}`.trim(), s.NotAction ? `every action except ${formatActions(s.NotAction)}` : formatActions(list(s.Action)), resourcePhrase(s), when.length ? `denied when ${when.join(" and ")}` : "always"];
    })), "");
}

function renderStack(s: StackPowers, boundaryArn: string, out: string[]): void {
    if (!s.ok) {
        out.push(`#### Stack ${code(s.stack)} (${fileOf(s)})`, "");
        out.push(`Not shown: ${s.reason}. Fix the stack file, then run ${code(WRITE_COMMAND)}.`, "");
        return;
    }
    const keep = new Set<string>([s.resources.find((r) => r.type === "aws:iam/role:Role")?.outputs.arn?.split(":")[4] ?? ""]);
    const fix = (t: string) => deMock(t, s.invented, keep);
    out.push(`#### Stack ${code(s.stack)} (${fileOf(s)}, customer ${code(s.customer)}, ${s.environment})`, "");
    const deploy = deployIdentity(s);
    out.push(deploy.length > 0 ? `Deploys as: ${deploy.map(fix).join("; ")}.` : "Deploys as: the ambient AWS credentials of whoever runs `pulumi up` (no deploy role in this stack's configuration).", "");
    const roles = dataPlaneRoles(s, boundaryArn);
    out.push(`**IAM roles the data plane creates** (${plural(roles.length, "role")}; \`…\`: a suffix or id AWS or Pulumi assigns at deploy)`, "");
    out.push(table(["Role", "Assumed by", "Permissions", "Boundary"], roles.map((r) => [
        `${code(r.name)}${r.component ? `\n${r.component}` : ""}`,
        fix(r.trust.join("\n")),
        fix(r.permissions.join("\n")),
        r.boundary,
    ])), "");
    if (s.resources.some((r) => r.type === "eks:index:Cluster" && r.inputs.serviceRole === undefined && r.inputs.roleArn === undefined)) {
        out.push("Not in the table: the EKS cluster's own service role, which pulumi-eks creates inside its component (trusted by `eks.amazonaws.com`; the offline snapshot does not list a component's internals).", "");
    }
    const entries = accessEntries(s);
    out.push("**Who gets what in Kubernetes** (EKS access entries and access policies)", "");
    out.push(entries.length > 0 ? table(["Principal", "Kubernetes identity", "Access policies"], entries.map((e) => [fix(e.principal), fix(e.kubernetes), fix(e.policies)])) : "No access entries.", "");
    const inbound = flowRows(s.flows, (f) => PROVIDER_PATH_COMPONENTS.has(f.component), fix);
    const outbound = flowRows(s.flows, (f) => TO_PROVIDER_COMPONENTS.has(f.component), fix);
    const other = flowRows(s.flows, (f) => !PROVIDER_PATH_COMPONENTS.has(f.component) && !TO_PROVIDER_COMPONENTS.has(f.component), fix);
    out.push("**Network paths between the provider and the account** (the stack's `networkFlows`)", "");
    out.push(table(["Path", "Direction", "Restricted by"], [...inbound, ...outbound.map((r) => [`${r[0]} (data to the provider)`, r[1], r[2]])]), "");
    if (other.length > 0) out.push(`Your own clients' paths (not the provider's): ${other.map((r) => r[0]).join("; ")}.`, "");
}

/** Roles, access entries and paths of `after` that `before` lacks, as names. */
function diffRuns(before: Extract<StackPowers, { ok: true }>, after: Extract<StackPowers, { ok: true }>, boundaryArn: string) {
    const names = (run: Extract<StackPowers, { ok: true }>) => ({
        roles: new Set(dataPlaneRoles(run, boundaryArn).map((r) => `${r.name}`)),
        entries: new Set(accessEntries(run).map((e) => `${e.principal} → ${e.policies}`)),
        flows: new Set(run.flows.map((f) => `${f.flow}: ${f.restrictedBy}`)),
        flowNames: new Set(run.flows.map((f) => f.flow)),
    });
    const a = names(before);
    const b = names(after);
    const minus = (x: Set<string>, y: Set<string>) => [...x].filter((v) => !y.has(v)).sort((p, q) => p.localeCompare(q));
    return {
        rolesGone: minus(a.roles, b.roles), rolesNew: minus(b.roles, a.roles),
        entriesGone: minus(a.entries, b.entries), entriesNew: minus(b.entries, a.entries),
        flowsGone: minus(a.flowNames, b.flowNames), flowsNew: minus(b.flowNames, a.flowNames),
        flowsChanged: after.flows.filter((f) => a.flowNames.has(f.flow) && !a.flows.has(`${f.flow}: ${f.restrictedBy}`)).sort((p, q) => p.flow.localeCompare(q.flow)),
        resourcesGone: before.resources.length - after.resources.length,
    };
}

function renderGrant(input: ProviderPowersInput, out: string[]): void {
    const g = input.grantExample;
    const prod = input.stacks[0];
    if (!g) return;
    out.push("#### What a troubleshooting grant adds", "");
    if (!g.run.ok || !prod?.ok) {
        out.push(`Not shown: ${!g.run.ok ? g.run.reason : "the prod stack did not run"}.`, "");
        return;
    }
    const run = g.run;
    const keep = new Set<string>([input.bootstrap.account]);
    const fix = (t: string) => deMock(t, run.invented, keep);
    const before = new Set(prod.resources.map((r) => r.urn));
    const added = { ...run, resources: run.resources.filter((r) => !before.has(r.urn)) };
    const roles = dataPlaneRoles({ ...run, resources: run.resources }, input.bootstrap.boundaryArn).filter((r) => added.resources.some((x) => x.type === "aws:iam/role:Role" && x.name === r.logical));
    const entries = accessEntries({ ...run, resources: run.resources.filter((r) => r.type === "aws:iam/role:Role" || !before.has(r.urn)) }).filter((e) => !accessEntries(prod).some((p) => p.principal === e.principal && p.policies === e.policies));
    out.push(`Each approved grant under ${code("byoc:access.grants")} (here an example for ${code(g.engineer)}, ${g.hours} h, on the ${code(prod.stack)} stack) adds, until its ${code("notAfter")}:`, "");
    out.push(table(["Role", "Assumed by", "Permissions", "Boundary"], roles.map((r) => [code(r.name), fix(r.trust.join("\n")), fix(r.permissions.join("\n")), r.boundary])), "");
    if (entries.length > 0) out.push(table(["Principal", "Kubernetes identity", "Access policies"], entries.map((e) => [fix(e.principal), fix(e.kubernetes), fix(e.policies)])), "");
    out.push(`and a client certificate for ClickHouse over the tailnet (${code("system.*")} read-only). Grants past ${code("notAfter")} create nothing; the next ${code("pulumi up")} removes them.`, "");
}

function renderSuspended(input: ProviderPowersInput, out: string[]): void {
    const b = input.bootstrap;
    out.push("#### When vendor access is suspended", "");
    out.push(`**Your bootstrap stack** (${code("byoc-bootstrap:vendorAccess: suspended")}, then ${code("pulumi up")}):`, "");
    out.push(`- ${code(b.roleNames.deploy)} and ${code(b.roleNames.support)}: trust becomes ${trustLines(b.documents.suspendedTrust).join("; ")}.`);
    out.push(`- Both get the inline policy ${code(b.revokePolicyName)}: ${b.documents.revokeSessions.Statement.map((s) => statementLine(s, false)).join("; ")} — sessions issued before you suspended stop working on their next call.`);
    out.push(`- ${code(b.roleNames.breakGlass)} is unaffected: it stays as you set it (closed by default).`, "");
    const s = input.suspended;
    const prod = input.stacks.find((x) => x.stack === s.stack);
    if (!s.ok) {
        const rejected = s.problemPaths.some((p) => /vendorAccess/.test(p));
        out.push(rejected
            ? `**The data-plane stack**: not shown — this version's configuration schema does not accept ${code("byoc:access.vendorAccess: suspended")} (${s.reason}); the section above is the bootstrap side only.`
            : `**The data-plane stack** (${code("byoc:access.vendorAccess: suspended")} on ${code(s.stack)}): not shown — ${s.reason}. The section above is the bootstrap side only.`, "");
        return;
    }
    if (!prod || !prod.ok) {
        out.push(`**The data-plane stack**: not compared — the ${code(s.stack)} stack itself did not run.`, "");
        return;
    }
    const keep = new Set<string>([b.account]);
    const fix = (t: string) => deMock(t, s.invented, keep);
    const d = diffRuns(prod, s, b.boundaryArn);
    out.push(`**The data-plane stack** (${code(s.file)} with ${code("byoc:access.vendorAccess: suspended")}, then ${code("pulumi up")}), compared with the enabled run above:`, "");
    const lines = [
        d.rolesGone.length ? `roles removed: ${d.rolesGone.map(code).join(", ")}` : "",
        d.rolesNew.length ? `roles added: ${d.rolesNew.map(code).join(", ")}` : "",
        d.entriesGone.length ? `access removed in Kubernetes: ${d.entriesGone.map(fix).join("; ")}` : "",
        d.entriesNew.length ? `access added in Kubernetes: ${d.entriesNew.map(fix).join("; ")}` : "",
        d.flowsGone.length ? `paths removed: ${d.flowsGone.join("; ")}` : "",
        d.flowsNew.length ? `paths added: ${d.flowsNew.join("; ")}` : "",
        ...d.flowsChanged.map((f) => `${f.flow}: now ${fix(f.restrictedBy)}`),
    ].filter(Boolean);
    if (lines.length === 0) out.push("- no role, Kubernetes access or network path changes (this version of the program does not act on the key yet).", "");
    else out.push(...lines.map((l) => `- ${l}`), `- ${plural(s.resources.length, "resource")} remain (${plural(Math.max(0, d.resourcesGone), "resource")} fewer).`, "");
    const remaining = flowRows(s.flows, (f) => PROVIDER_PATH_COMPONENTS.has(f.component) || TO_PROVIDER_COMPONENTS.has(f.component), fix);
    if (lines.length > 0) out.push(remaining.length > 0 ? table(["Path left", "Direction", "Restricted by"], remaining) : "No path between the provider and the account is left.", "");
}

/** The markdown between the markers (without them). Pure; throws rather than print a secret. */
export function renderProviderPowers(input: ProviderPowersInput): string {
    const out: string[] = [];
    const ran = input.stacks.map((s) => `${code(s.stack)}`).join(" and ");
    out.push(`_Generated from ${code("bootstrap/policies.ts")} and from the data-plane program run offline for the ${ran} stacks (\`npm run preview\`'s mocks); ${code("npm test")} fails when this differs from the code — run ${code(WRITE_COMMAND)}. The ExternalId is never shown: it reads "the ExternalId you set"._`, "");
    renderBootstrap(input.bootstrap, out);
    for (const s of input.stacks) renderStack(s, input.bootstrap.boundaryArn, out);
    renderGrant(input, out);
    renderSuspended(input, out);
    const text = out.join("\n").replace(/\n{3,}/g, "\n\n").trim();
    for (const secret of input.secrets) {
        if (secret && text.includes(secret)) throw new Error("renderProviderPowers: the text would contain a secret value (an ExternalId or ciphertext); refusing to render it");
    }
    return text;
}

// ------------------------------------------------------------------------------------------------
// Collecting the input: the bootstrap documents and program runs
// ------------------------------------------------------------------------------------------------

const ROOT = path.resolve(__dirname, "..");

/** The example troubleshooting grant, with a CSR made here (Ed25519 from a fixed seed: the same bytes every run). */
function exampleCsr(cn: string): string {
    const der = (tag: number, body: Buffer) => {
        const n = body.length;
        const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
        return Buffer.concat([Buffer.from([tag]), len, body]);
    };
    const seq = (...parts: Buffer[]) => der(0x30, Buffer.concat(parts));
    const seed = Buffer.alloc(32, 7);
    const key = createPrivateKey({ key: Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]), format: "der", type: "pkcs8" });
    const spki = createPublicKey(key).export({ format: "der", type: "spki" }) as Buffer;
    const name = seq(der(0x31, seq(der(0x06, Buffer.from([0x55, 0x04, 0x03])), der(0x0c, Buffer.from(cn, "utf8")))));
    const info = seq(der(0x02, Buffer.from([0])), name, spki, Buffer.from([0xa0, 0x00]));
    const signature = sign(null, info, key);
    const csr = seq(info, seq(der(0x06, Buffer.from([0x2b, 0x65, 0x70]))), der(0x03, Buffer.concat([Buffer.from([0]), signature])));
    const b64 = csr.toString("base64").match(/.{1,64}/g)!.join("\n");
    return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** Strings under `{ secure: … }` and ExternalId values of a raw config: never to be printed. */
function secretsOf(raw: Record<string, unknown>): string[] {
    const out: string[] = [];
    const walk = (v: unknown, key = "") => {
        if (typeof v === "string") {
            if (/secret|externalId|token|password/i.test(key)) out.push(v);
        } else if (Array.isArray(v)) v.forEach((x) => walk(x, key));
        else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) walk(x, k === "secure" ? "secret" : k);
    };
    walk(raw);
    return out.filter((s) => s.length >= 8);
}

/** Runs one data-plane stack through the offline preview (preview/offline.ts); failures become reasons. */
async function runStackFile(stack: string, file: string, raw: Record<string, unknown>, now: Date): Promise<StackPowers> {
    const { offlinePreview }: typeof import("./offline") = require("./offline");
    const { formatProblems }: typeof import("../stacks/schema") = require("../stacks/schema");
    const r = await offlinePreview(stack, raw, { now });
    if (r.problems.length > 0) {
        const reason = `${file} does not validate: ${formatProblems(r.problems).split("\n").map((l) => l.trim()).join("; ")}`;
        return { stack, file, ok: false, reason, problemPaths: r.problems.map((p) => p.path) };
    }
    if (!r.run || !r.config) return { stack, file, ok: false, reason: `the program failed: ${String(r.error).split("\n")[0]}`, problemPaths: [] };
    return { stack, file, ok: true, customer: r.config.customer.id, environment: r.config.environment, resources: r.run.resources, flows: r.flows ?? [], invented: r.run.invented };
}

/** ExternalIds the runs handed to their AWS providers (the offline stand-in included): never printed. */
const providerSecrets = (s: StackPowers): string[] => (s.ok ? assumedRoles(s).map(([, r]) => r.externalId).filter((x): x is string => typeof x === "string" && x.length >= 8) : []);

export interface CollectOptions {
    root?: string;
    now?: Date;
}

export async function collectProviderPowersInput(opts: CollectOptions = {}): Promise<ProviderPowersInput> {
    // A prod stack deploys through the deploy role, with the source identity of whoever runs it; the runs here use a
    // fixed stand-in (never printed), so the section is the same from the CLI and from the tests.
    const saved = process.env.BYOC_SOURCE_IDENTITY;
    process.env.BYOC_SOURCE_IDENTITY = "provider-powers-docs";
    try {
        return await collect(opts);
    } finally {
        if (saved === undefined) delete process.env.BYOC_SOURCE_IDENTITY;
        else process.env.BYOC_SOURCE_IDENTITY = saved;
    }
}

async function collect(opts: CollectOptions): Promise<ProviderPowersInput> {
    const root = opts.root ?? ROOT;
    const now = opts.now ?? GENERATION_TIME;
    const policies: typeof import("../bootstrap/policies") = require("../bootstrap/policies");
    const bootstrapConfig: typeof import("../bootstrap/config") = require("../bootstrap/config");
    const loader: typeof import("../stacks/loader") = require("../stacks/loader");

    // The bootstrap side, from the example stack file of bootstrap/ (its ExternalId is ciphertext: a stand-in is used).
    const bootstrapRaw = bootstrapConfig.readBootstrapStackFile("acme", path.join(root, "bootstrap"));
    const parsed = bootstrapConfig.parseBootstrapConfig(bootstrapRaw, now);
    if (!parsed.ok) throw new Error(`bootstrap/Pulumi.acme.yaml does not validate:\n${bootstrapConfig.formatProblems(parsed.problems)}`);
    const c = parsed.config;
    const scope = { customer: c.customer, account: c.accountId, partition: policies.partitionOf(c.region) };
    const prefix = policies.bootstrapPrefix(c.customer);
    // The bootstrap program itself, offline: which roles it registers, with which boundary and session limit.
    const { offlineBootstrapPreview }: typeof import("./offline") = require("./offline");
    const bootstrapRun = await offlineBootstrapPreview("acme", bootstrapRaw, { now });
    if (!bootstrapRun.run) throw new Error(`the bootstrap program failed offline: ${bootstrapRun.error ?? bootstrapConfig.formatProblems(bootstrapRun.problems)}`);
    const bootstrapSecrets: string[] = [];
    const bootstrapRoles: BootstrapPowers["roles"] = {};
    for (const r of bootstrapRun.run.resources.filter((x) => x.type === "aws:iam/role:Role")) {
        bootstrapRoles[String(r.inputs.name ?? r.name)] = { boundary: r.inputs.permissionsBoundary, maxSessionDuration: r.inputs.maxSessionDuration };
        // The trust it registered carries the offline stand-in ExternalId: never to be printed either.
        for (const st of parseDoc(unsecret(r.inputs.assumeRolePolicy))?.Statement ?? []) {
            const id = (st.Condition?.StringEquals as Record<string, unknown> | undefined)?.["sts:ExternalId"];
            if (typeof id === "string") bootstrapSecrets.push(id);
        }
    }
    const bootstrap: BootstrapPowers = {
        customer: c.customer,
        account: c.accountId,
        region: c.region,
        source: "bootstrap/Pulumi.acme.yaml",
        boundaryArn: policies.boundaryArn(scope),
        workloadBoundaryArn: policies.workloadBoundaryArn(scope),
        roleNames: {
            deploy: `${prefix}deploy`, support: `${prefix}support`, breakGlass: `${prefix}break-glass`,
            boundary: policies.boundaryName(c.customer), workloadBoundary: policies.workloadBoundaryName(c.customer),
        },
        revokePolicyName: policies.REVOKE_POLICY_NAME,
        roles: bootstrapRoles,
        documents: {
            vendorTrust: policies.vendorTrustPolicy({ principals: c.providerPrincipals, externalId: c.externalId ?? EXAMPLE_EXTERNAL_ID }),
            suspendedTrust: policies.closedTrustPolicy("VendorAccessSuspended"),
            breakGlassClosedTrust: policies.closedTrustPolicy("BreakGlassClosed"),
            breakGlassOpenTrust: policies.breakGlassTrustPolicy(c.breakGlassPrincipals.length > 0 ? c.breakGlassPrincipals : [`arn:${scope.partition}:iam::${c.accountId}:role/<your-oncall-role>`]),
            deploy: policies.deployPolicy(scope),
            support: policies.supportPolicy(scope),
            boundary: policies.boundaryPolicy(scope),
            workloadBoundary: policies.workloadBoundaryPolicy(scope, c.telemetryDestinations),
            revokeSessions: policies.revokeSessionsPolicy("2026-01-01T00:00:00Z"),
        },
    };
    // The instant is a placeholder for "the moment you suspend".
    bootstrap.documents.revokeSessions = JSON.parse(JSON.stringify(bootstrap.documents.revokeSessions).replace(/2026-01-01T00:00:00Z/g, "<suspendedAt>"));

    const secrets = [EXAMPLE_EXTERNAL_ID, ...(c.externalId ? [c.externalId] : []), ...secretsOf(bootstrapRaw), ...bootstrapSecrets];
    const stacks: StackPowers[] = [];
    const raws = new Map<string, Record<string, unknown>>();
    for (const stack of ["prod", "dev"]) {
        const file = `Pulumi.${stack}.yaml`;
        let raw: Record<string, unknown>;
        try {
            raw = loader.readStackFile(stack, root).raw;
        } catch (err) {
            stacks.push({ stack, file, ok: false, reason: (err as Error).message.split("\n").map((l) => l.trim()).join("; "), problemPaths: [] });
            continue;
        }
        raws.set(stack, raw);
        secrets.push(...secretsOf(raw));
        stacks.push(await runStackFile(stack, file, raw, now));
    }

    const prodRaw = raws.get("prod");
    const access = (prodRaw?.["byoc:access"] ?? {}) as Record<string, unknown>;
    let grantExample: ProviderPowersInput["grantExample"];
    let suspended: StackPowers;
    if (prodRaw) {
        const approver = (access.approvers as string[] | undefined)?.[0] ?? "approver@example.com";
        const engineer = "engineer@example.com";
        const hours = 4;
        const grant = { id: "example", engineer, csrPem: exampleCsr(engineer), reason: "example grant of the README", approvedBy: approver, notAfter: new Date(now.getTime() + hours * 3600_000).toISOString() };
        const withGrant = { ...prodRaw, "byoc:access": { ...access, approvers: (access.approvers as string[] | undefined) ?? [approver], grants: [...((access.grants as unknown[] | undefined) ?? []), grant] } };
        grantExample = { run: await runStackFile("prod", "Pulumi.prod.yaml + an example grant", withGrant, now), grantId: grant.id, engineer, hours };
        suspended = await runStackFile("prod", "Pulumi.prod.yaml", { ...prodRaw, "byoc:access": { ...access, vendorAccess: "suspended" } }, now);
    } else {
        suspended = { stack: "prod", file: "Pulumi.prod.yaml", ok: false, reason: "Pulumi.prod.yaml could not be read", problemPaths: [] };
    }
    for (const s of [...stacks, suspended, ...(grantExample ? [grantExample.run] : [])]) secrets.push(...providerSecrets(s));
    return { bootstrap, stacks, grantExample, suspended, secrets: sorted(secrets) };
}

// ------------------------------------------------------------------------------------------------
// README.md
// ------------------------------------------------------------------------------------------------

/** `readme` with the text between the markers replaced by `section`; throws when the markers are missing. */
export function replaceSection(readme: string, section: string): string {
    const begin = readme.indexOf(BEGIN_MARKER);
    const end = readme.indexOf(END_MARKER);
    if (begin < 0 || end < begin) throw new Error(`README.md has no ${BEGIN_MARKER} … ${END_MARKER} markers`);
    return `${readme.slice(0, begin + BEGIN_MARKER.length)}\n${section}\n${readme.slice(end)}`;
}

/** The text between the markers as README.md has it now (undefined without markers). */
export function currentSection(readme: string): string | undefined {
    const begin = readme.indexOf(BEGIN_MARKER);
    const end = readme.indexOf(END_MARKER);
    if (begin < 0 || end < begin) return undefined;
    return readme.slice(begin + BEGIN_MARKER.length, end).trim();
}

async function main(argv: string[]): Promise<number> {
    const write = argv.includes("--write");
    const check = argv.includes("--check");
    const unknown = argv.filter((a) => a !== "--write" && a !== "--check");
    if ((write && check) || unknown.length > 0) {
        process.stderr.write(`usage: node --require ./cli/register.js preview/providerPowers.ts [--write | --check]\n`);
        return 2;
    }
    (require("./sdkLoad") as typeof import("./sdkLoad")).deferClosureSerializer();
    if (!process.env.BYOC_DEBUG) Error.stackTraceLimit = 0;
    const section = renderProviderPowers(await collectProviderPowersInput());
    const file = path.join(ROOT, "README.md");
    if (!write && !check) {
        process.stdout.write(`${section}\n`);
        return 0;
    }
    const readme = fs.readFileSync(file, "utf8");
    if (check) {
        const now = currentSection(readme);
        if (now === undefined) {
            process.stderr.write(`README.md has no ${BEGIN_MARKER} … ${END_MARKER} markers\n`);
            return 1;
        }
        if (now !== section) {
            process.stderr.write(`README.md: "What the provider can do in your account" is out of date with the program; run \`${WRITE_COMMAND}\`\n`);
            return 1;
        }
        return 0;
    }
    const next = replaceSection(readme, section);
    if (next !== readme) fs.writeFileSync(file, next);
    process.stderr.write(next !== readme ? "README.md: provider-powers section rewritten\n" : "README.md: provider-powers section already up to date\n");
    return 0;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => (process.exitCode = code),
        (err) => {
            process.stderr.write(`${(err as Error)?.message ?? String(err)}\n`);
            process.exitCode = 2;
        },
    );
}
