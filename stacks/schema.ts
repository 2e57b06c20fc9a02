// The stack configuration contract (DESIGN.md §3) as zod schemas, plus the cross-field rules a schema of one
// field cannot express. `parseStackConfig` never throws on bad input: it returns every problem at once.
import { parseMaintenanceWindow, WINDOW_MESSAGE } from "./maintenanceWindow";
import { z } from "zod";
import { cidrProblem, isOverlyBroad, isWorldOpen, kubernetesServiceCidrFor, overlaps, parseCidr } from "./cidr";
import { Baseline, baselines, Environment } from "./baselines";
import { allowedConfigKeys, ByocKeys, configKeyProblem, Field, nestedSuggestion, normalizeConfigKeys } from "./keys";
// The bootstrap's names (a pure module with no imports): one definition for the bootstrap and the stacks that use it.
import { bootstrapPrefix, workloadBoundaryArn } from "../bootstrap/policies";

const cidr = z.string({ error: "must be a CIDR string such as 203.0.113.0/24" }).superRefine((v, ctx) => {
    const problem = cidrProblem(v);
    if (problem) ctx.addIssue({ code: "custom", message: problem, input: v });
});
const regionPattern = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
/** `arn:<partition>:iam::<account>:role/<bootstrapPrefix(customer)>deploy`, the bootstrap's deploy role (bootstrap/VendorAccess.ts). */
const DEPLOY_ROLE_ARN = /^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role\/byoc-bootstrap-([a-z0-9-]+)-deploy$/;
/** STS's ExternalId alphabet and length (AssumeRole API reference), as bootstrap/config.ts checks it. */
const EXTERNAL_ID = /^[A-Za-z0-9_+=,.@:\/-]{16,1224}$/;
/**
 * "suspending": the first of the two runs that suspend (the portal drives both): the tailnet and grant paths go,
 * while the restricted public endpoint stays for that run so the Kubernetes provider can still remove them;
 * "suspended" then closes the endpoint. The customer's own switch is the bootstrap's (bootstrap/README.md).
 */
export const VENDOR_ACCESS = ["enabled", "suspending", "suspended"] as const;
export type VendorAccessState = (typeof VENDOR_ACCESS)[number];

/** The bootstrap roles and boundary a deploy role ARN implies (named by bootstrap/policies.ts, roles by bootstrap/VendorAccess.ts). */
export interface DeployRole {
    roleArn: string;
    /** Undefined when only ciphertext is at hand (a stack file read offline). */
    externalId?: string;
    account: string;
    partition: string;
    /** The permissions boundary every IAM role of the data plane carries. */
    boundaryArn: string;
    /** The bootstrap's support role: troubleshooting grants chain from it, so the customer's switch closes them too. */
    supportRoleArn: string;
}

export function deployRoleOf(roleArn: string, externalId: unknown): DeployRole | undefined {
    const m = DEPLOY_ROLE_ARN.exec(roleArn);
    if (!m) return undefined;
    const [, partition, account, customer] = m;
    return {
        roleArn,
        externalId: typeof externalId === "string" ? externalId : undefined,
        account,
        partition,
        boundaryArn: workloadBoundaryArn({ partition, account, customer }),
        supportRoleArn: `arn:${partition}:iam::${account}:role/${bootstrapRoleName(customer, "support")}`,
    };
}

/** A role of the customer's bootstrap (bootstrap/VendorAccess.ts names them `<bootstrapPrefix>deploy`, `…support`). */
const bootstrapRoleName = (customer: string, role: "deploy" | "support") => `${bootstrapPrefix(customer)}${role}`;

const email = (what: string) => z.string({ error: `must be ${what}` }).email({ message: `must be ${what}` });
const dnsLabel = z
    .string({ error: "must be a string" })
    .regex(/^[a-z0-9](?:[a-z0-9-]{1,18})[a-z0-9]$/, {
        message: "must be a DNS label: 3–20 characters of a–z, 0–9 and '-', starting and ending with a letter or digit",
    });
const domain = z
    .string({ error: "must be a domain name" })
    .regex(/^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, {
        message: "must be a lowercase DNS domain such as byoc.example.com",
    });
/** `scoped`: the ARN names a region and an account (SQS); otherwise both are empty (S3 buckets are global). */
const arn = (service: string, resource: RegExp, example: string, scoped: boolean) =>
    z.string({ error: `must be an ARN such as ${example}` }).refine(
        (v) => {
            const m = /^arn:aws[a-z-]*:([a-z0-9-]+):([a-z0-9-]*):(\d{12})?:(.+)$/.exec(v);
            if (m === null || m[1] !== service || !resource.test(m[4])) return false;
            return scoped ? regionPattern.test(m[2]) && m[3] !== undefined : m[2] === "" && m[3] === undefined;
        },
        { message: `must be an ARN such as ${example}` },
    );

export const endpointKinds = ["kubernetes-api", "clickhouse-system", "metrics"] as const;
export const INGRESS_MODES = ["public", "private", "privatelink"] as const;
/** IAM principals an endpoint service may admit: an account root, a role or a user; never `*`. */
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
const PRINCIPAL_HINT = "must be an IAM principal ARN such as arn:aws:iam::444455556666:root or arn:aws:iam::444455556666:role/clickhouse-clients (never *)";
/** Phases of a private API endpoint (byoc:controlPlane.phase); see ApiAccess. */
export const API_PHASES = ["bootstrap", "switchover", "tailnet"] as const;
export type EndpointKind = (typeof endpointKinds)[number];

/**
 * One PEM "CERTIFICATE REQUEST" block and nothing else, whose body is base64 of a single DER SEQUENCE of the
 * declared length: catches truncated or mangled copy-pastes here instead of at signing time.
 */
export function isCsrPem(text: string): boolean {
    const m = /^-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\s]+?)\r?\n?-----END (?:NEW )?CERTIFICATE REQUEST-----$/.exec(text.trim());
    if (!m) return false;
    const body = m[1].replace(/\s+/g, "");
    if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) return false;
    const der = Buffer.from(body, "base64");
    if (der.length < 2 || der[0] !== 0x30) return false;
    let length = der[1];
    let header = 2;
    if (length & 0x80) {
        const n = length & 0x7f;
        if (n === 0 || n > 4 || der.length < 2 + n) return false;
        length = 0;
        for (let i = 0; i < n; i++) length = length * 256 + der[2 + i];
        header += n;
    }
    return header + length === der.length;
}

const grant = z
    .object({
        id: z
            .string({ error: "must be a lowercase id (a–z, 0–9, '-'), at most 41 characters" })
            .regex(/^[a-z0-9][a-z0-9-]{0,40}$/, { message: "must be a lowercase id (a–z, 0–9, '-'), at most 41 characters" }),
        engineer: email("the engineer's e-mail address"),
        csrPem: z.string({ error: "must be a PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST-----)" }).refine(isCsrPem, {
            message: "must be one PEM certificate signing request (-----BEGIN CERTIFICATE REQUEST----- … -----END CERTIFICATE REQUEST-----) with an intact base64 body",
        }),
        reason: z.string({ error: "must say why access is needed" }).min(3, { message: "must say why access is needed (at least 3 characters)" }),
        approvedBy: email("the approver's e-mail address"),
        notAfter: z.iso.datetime({ offset: true, message: "must be an ISO-8601 date-time such as 2026-11-25T18:00:00Z" }),
    })
    .strict();

/** One schema per top-level key, so a broken section never hides the problems of another. */
export const sections = {
    region: z.string({ error: "must be an AWS region such as us-east-1" }).regex(regionPattern, {
        message: "must be an AWS region such as us-east-1",
    }),
    environment: z.enum(["dev", "prod"], { error: 'must be "dev" or "prod"' }),
    /**
     * The ExternalId the customer's bootstrap deploy role requires: a secret of its own key, like the Tailscale
     * OAuth client (`pulumi config set --secret byoc:deployExternalId …`; the portal takes it as { "secret": … }).
     */
    deployExternalId: z
        .union([
            z.string().regex(EXTERNAL_ID, { message: "must be 16–1224 characters of A-Za-z0-9_+=,.@:/- (the ExternalId set in the customer's byoc-bootstrap stack)" }),
            z.object({ secure: z.string() }).strict(),
        ], { error: "must be the ExternalId set in the customer's byoc-bootstrap stack (a secret)" })
        .optional(),
    customer: z
        .object({
            id: dnsLabel,
            name: z
                .string({ error: "must be the customer's display name (1–100 characters)" })
                .min(1, { message: "must be the customer's display name (1–100 characters)" })
                .max(100, { message: "must be the customer's display name (1–100 characters)" })
                .optional(),
            // When rollouts may run this customer's `up` (stacks/maintenanceWindow.ts).
            maintenanceWindow: z
                .string({ error: WINDOW_MESSAGE })
                .refine((v) => parseMaintenanceWindow(v) !== undefined, { message: WINDOW_MESSAGE })
                .optional(),
        })
        .strict(),
    network: z
        .object({
            vpcCidr: cidr,
            azCount: z.number({ error: "must be 2 or 3" }).int({ message: "must be 2 or 3" }).min(2, { message: "must be 2 or 3" }).max(3, { message: "must be 2 or 3" }).optional(),
            natGateways: z.enum(["single", "perAz"], { error: 'must be "single" or "perAz"' }).optional(),
            peering: z
                .array(
                    z
                        .object({
                            vpcId: z.string({ error: "must be a VPC id such as vpc-0a1b2c3d4e5f67890" }).regex(/^vpc-[0-9a-f]{8,17}$/, { message: "must be a VPC id such as vpc-0a1b2c3d4e5f67890" }),
                            cidr,
                            // A number would lose leading zeros of account ids such as 012345678901, so the id is a quoted string.
                            ownerId: z
                                .string({ error: 'must be a 12-digit AWS account id as a quoted string, such as "444455556666"' })
                                .regex(/^\d{12}$/, { message: "must be a 12-digit AWS account id" })
                                .optional(),
                            region: z.string({ error: "must be an AWS region such as us-east-1" }).regex(regionPattern, { message: "must be an AWS region such as us-east-1" }).optional(),
                        })
                        .strict(),
                )
                .optional(),
        })
        .strict(),
    controlPlane: z
        .object({
            managementCidrs: z.array(cidr).min(1, { message: "must list at least one management CIDR" }),
            privateEndpointOnly: z.boolean({ error: "must be true or false" }).optional(),
            // Only with privateEndpointOnly: which path management uses to reach the API (README "Private API").
            phase: z.enum(API_PHASES, { error: `must be one of ${API_PHASES.map((p) => `"${p}"`).join(", ")}` }).optional(),
            breakGlass: z.boolean({ error: "must be true or false" }).optional(),
        })
        .strict(),
    ingress: z
        .object({
            mode: z.enum(INGRESS_MODES, { error: `must be one of ${INGRESS_MODES.map((m) => `"${m}"`).join(", ")}` }),
            ipAllowList: z.array(cidr).min(1, { message: "must list at least one CIDR: the IP filter is mandatory" }),
            domain,
            acmeEmail: email("an e-mail address for Let's Encrypt notices"),
            acmeServer: z.enum(["staging", "production"], { error: 'must be "staging" or "production"' }).optional(),
            // With (and only with) mode privatelink: who may connect an interface endpoint to the gateway's NLB.
            privateLink: z
                .object({
                    allowedPrincipals: z
                        .array(z.string({ error: PRINCIPAL_HINT }).regex(IAM_PRINCIPAL, { message: PRINCIPAL_HINT }))
                        .min(1, { message: "must list at least one principal: an endpoint service that admits nobody cannot be used, and `*` is never allowed" }),
                    acceptanceRequired: z.boolean({ error: "must be true or false" }).optional(),
                })
                .strict()
                .optional(),
        })
        .strict(),
    tailscale: z
        .object({
            tailnet: z.string({ error: "must name the tailnet, such as example.com or example.github" }).min(1, { message: "must name the tailnet, such as example.com or example.github" }),
            domain,
            tags: z
                .array(z.string({ error: 'must be a Tailscale tag such as "tag:byoc-dataplane"' }).regex(/^tag:[a-z0-9][a-z0-9-]*$/, { message: 'must be a Tailscale tag such as "tag:byoc-dataplane"' }))
                .min(1, { message: "must list at least one tag: auth keys are always tagged" }),
            oncallGroup: z.string({ error: 'must be a Tailscale group such as "group:byoc-oncall"' }).regex(/^group:[a-z0-9][a-z0-9._-]*$/, { message: 'must be a Tailscale group such as "group:byoc-oncall"' }),
            // The tailnet identity of the provider's management services (portal, runners): the only source besides
            // the on-call group the ACL lets reach the kubernetes-api endpoint; required for phase "tailnet".
            managementTag: z.string({ error: 'must be a Tailscale tag such as "tag:byoc-management"' }).regex(/^tag:[a-z0-9][a-z0-9-]*$/, { message: 'must be a Tailscale tag such as "tag:byoc-management"' }).optional(),
            endpoints: z
                .array(z.enum(endpointKinds, { error: `must be one of ${endpointKinds.join(", ")}` }))
                .min(1, { message: "must list at least one endpoint" }),
        })
        .strict(),
    telemetry: z
        .object({
            billingBucketArn: arn("s3", /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/, "arn:aws:s3:::provider-billing (an S3 bucket, no region or account)", false),
            stateQueueArn: arn("sqs", /^[A-Za-z0-9_-]{1,80}(\.fifo)?$/, "arn:aws:sqs:us-east-1:111122223333:byoc-state (an SQS queue with region and account)", true),
            alertWebhookUrl: z.url({ protocol: /^https$/, message: "must be an https:// URL" }),
        })
        .strict(),
    // The customer's own KMS key for everything the data plane encrypts (README "Customer-managed keys").
    encryption: z
        .object({
            kmsKeyArn: arn("kms", /^key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^key\/mrk-[0-9a-f]{32}$/, "arn:aws:kms:us-east-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab (a key ARN, not an alias)", true).optional(),
        })
        .strict(),
    access: z
        .object({
            maxCertificateHours: z
                .number({ error: "must be a whole number of hours" })
                .int({ message: "must be a whole number of hours" })
                .min(1, { message: "must be at least 1 hour" })
                .optional(),
            approvers: z.array(email("an e-mail address")).optional(),
            grants: z.array(grant).optional(),
            /** The bootstrap's deploy role (bootstrap/README.md): the explicit AWS provider assumes it. */
            deployRoleArn: z
                .string({ error: "must be the deployRoleArn output of the customer's byoc-bootstrap stack" })
                .regex(DEPLOY_ROLE_ARN, { message: "must be the deployRoleArn output of the customer's byoc-bootstrap stack, such as arn:aws:iam::111122223333:role/byoc-bootstrap-acme-deploy" })
                .optional(),
            /** The data plane's view of the customer's kill switch (README "Vendor access"). */
            vendorAccess: z.enum(VENDOR_ACCESS, { error: 'must be "enabled", "suspending" or "suspended"' }).optional(),
        })
        .strict(),
};

type Sections = { [K in keyof typeof sections]: z.infer<(typeof sections)[K]> };

/** Every field of the object schema `schema` at `path`, through optional wrappers and lists, for suggestions. */
function fieldsOf(schema: z.ZodType, path: string, inList: boolean): Field[] {
    let s: any = schema;
    while (s?.unwrap && !(s instanceof z.ZodObject) && !(s instanceof z.ZodArray)) s = s.unwrap();
    if (s instanceof z.ZodArray) return fieldsOf(s.element as z.ZodType, `${path}[]`, true);
    if (!(s instanceof z.ZodObject)) return [];
    return Object.entries(s.shape as Record<string, z.ZodType>).flatMap(([name, field]) => [
        { path: `${path}.${name}`, name, parent: path, inList },
        ...fieldsOf(field, `${path}.${name}`, inList),
    ]);
}

/** The byoc:* keys and their fields, for the key checks and suggestions of stacks/keys.ts. */
export const byocKeys: ByocKeys = {
    sections: Object.keys(sections).filter((s) => s !== "region"),
    fields: Object.entries(sections).filter(([s]) => s !== "region").flatMap(([s, schema]) => fieldsOf(schema, `byoc:${s}`, false)),
};

/**
 * Every config key a stack may set, by namespace (README "Configuration reference"): the byoc:* sections above
 * (aws:region is the `region` section), and the provider and engine keys of stacks/keys.ts, PROVIDER_CONFIG_KEYS,
 * where the reasons are. Any other key or namespace is an error, from a stack file and from the engine alike.
 */
export const ALLOWED_CONFIG_KEYS: Readonly<Record<string, readonly string[]>> = allowedConfigKeys(byocKeys);
export type Grant = z.infer<typeof grant>;
export type Peering = NonNullable<Sections["network"]["peering"]>[number];

/** The validated configuration with the environment's baseline applied: no optional knobs left. */
export interface StackConfig {
    region: string;
    environment: Environment;
    customer: { id: string; name: string };
    network: { vpcCidr: string; azCount: number; natGateways: "single" | "perAz"; peering: Peering[] };
    controlPlane: { managementCidrs: string[]; privateEndpointOnly: boolean; access: ApiAccess };
    ingress: {
        mode: (typeof INGRESS_MODES)[number];
        ipAllowList: string[];
        domain: string;
        acmeEmail: string;
        acmeServer: "staging" | "production";
        /** Only in mode privatelink; acceptanceRequired defaults to true. */
        privateLink?: { allowedPrincipals: string[]; acceptanceRequired: boolean };
    };
    /** The customer's key for everything the data plane encrypts; undefined: the program creates its own keys. */
    encryption: { kmsKeyArn?: string };
    tailscale: Sections["tailscale"];
    /**
     * The Tailscale provider's settings: byoc:tailscale.tailnet, and the provider's OAuth client from its own secret
     * config (tailscale:oauthClientId / tailscale:oauthClientSecret; absent offline, then the provider reads
     * TAILSCALE_OAUTH_CLIENT_ID / _SECRET from the environment).
     */
    tailscaleProvider: { tailnet: string; oauthClientId?: string; oauthClientSecret?: string };
    /** `aws:profile`, when the stack names one: the kubeconfigs' `aws eks get-token` must use the same credentials. */
    awsProfile?: string;
    /** The stack's other `aws:*` provider keys, which the explicit deploy-role provider must carry itself (it reads no `aws:` config). */
    awsSettings: AwsSettings;
    telemetry: Sections["telemetry"];
    access: {
        maxCertificateHours: number;
        approvers: string[];
        grants: Grant[];
        /** The customer's bootstrap deploy role; required in prod. Undefined: the ambient credentials deploy (dev). */
        deployRole?: DeployRole;
        /** "suspended": no vendor path at all (no tailnet agents or keys, no grants, no management CIDRs); "suspending": the run before. */
        vendorAccess: VendorAccessState;
    };
    baseline: Baseline;
}

/**
 * How management reaches the EKS API (source document: "Management Services Access"):
 *  - "public": the public endpoint, restricted to the management NAT CIDRs (the default);
 *  - "bootstrap": privateEndpointOnly, first `up`: the restricted public endpoint stays open so the program can
 *    install the cluster, including the tailnet kubernetes-api endpoint that is the way in afterwards;
 *  - "switchover": the Kubernetes provider already goes through the tailnet endpoint (nginx → kubernetes.default,
 *    EKS tokens) while the restricted public endpoint is still open: an `up` that succeeds proves the way in before
 *    anything is closed, and one that fails has closed nothing;
 *  - "tailnet": steady state: no public endpoint; the provider goes through the tailnet as in switchover;
 *  - "break-glass": privateEndpointOnly with breakGlass: the restricted public endpoint is reopened and used.
 */
export type ApiAccess = "public" | "bootstrap" | "switchover" | "tailnet" | "break-glass";

export interface ConfigProblem {
    /** Full key path, e.g. "byoc:network.peering[0].cidr". */
    path: string;
    /** The offending value (undefined when the key is missing). */
    value: unknown;
    message: string;
}

export type ParseResult = { ok: true; config: StackConfig } | { ok: false; problems: ConfigProblem[] };

const keyOf = (section: string) => (section === "region" ? "aws:region" : `byoc:${section}`);
const required = new Set(["region", "environment", "customer", "network", "controlPlane", "ingress", "tailscale", "telemetry"]);

function pathText(section: string, path: PropertyKey[]): string {
    return path.reduce<string>((acc, p) => (typeof p === "number" ? `${acc}[${p}]` : `${acc}.${String(p)}`), keyOf(section));
}

function valueAt(root: unknown, path: PropertyKey[]): unknown {
    return path.reduce<unknown>((v, p) => (v !== null && typeof v === "object" ? (v as Record<PropertyKey, unknown>)[p] : undefined), root);
}

/** The schema at `path` inside `schema`, optional/array wrappers followed. */
function schemaAt(schema: z.ZodType, path: PropertyKey[]): any {
    let s: any = schema;
    for (const p of path) {
        while (s?.unwrap && !(s instanceof z.ZodObject) && !(s instanceof z.ZodArray)) s = s.unwrap();
        s = typeof p === "number" ? s?.element : s?.shape?.[p as string];
    }
    while (s?.unwrap && !(s instanceof z.ZodObject) && !(s instanceof z.ZodArray)) s = s.unwrap();
    return s;
}

/** Allowed keys of the object schema at `path`, for "unknown key" messages. */
function allowedKeys(schema: z.ZodType, path: PropertyKey[]): string[] {
    const s = schemaAt(schema, path);
    return s?.shape ? Object.keys(s.shape) : [];
}

/** "a map with keys vpcCidr, azCount?, …" for the object schema at `path`; optional keys end in "?". */
function describeMap(schema: z.ZodType, path: PropertyKey[]): string {
    const s = schemaAt(schema, path);
    if (!s?.shape) return "a map";
    const keys = Object.entries(s.shape as Record<string, z.ZodType>).map(([k, v]) => (v.safeParse(undefined).success ? `${k}?` : k));
    return `a map with keys ${keys.join(", ")}`;
}

/** zod's default type message ("Invalid input: expected object, received string") in the words of this contract. */
function typeMessage(schema: z.ZodType, issue: z.core.$ZodIssue): string {
    if (issue.code !== "invalid_type" || !issue.message.startsWith("Invalid input")) return issue.message;
    switch (issue.expected) {
        case "object":
            return `must be ${describeMap(schema, issue.path)}`;
        case "array":
            return "must be a list (a YAML sequence of '- item' lines)";
        case "boolean":
            return "must be true or false";
        case "number":
            return "must be a number";
        default:
            return `must be a ${issue.expected}`;
    }
}

/** What a missing top-level key must hold. */
function describeSection(section: keyof typeof sections): string {
    if (section === "region") return "the AWS region, such as us-east-1";
    if (section === "environment") return '"dev" or "prod"';
    return describeMap(sections[section], []);
}

/**
 * Validates raw stack config (keys as Pulumi spells them: "aws:region", "byoc:network", …; a key without a
 * namespace is read as byoc:<key>, as Pulumi does; values already decoded from YAML/JSON) and applies the
 * environment's baseline. Every key outside ALLOWED_CONFIG_KEYS is a problem.
 */
export function parseStackConfig(input: Record<string, unknown>): ParseResult {
    const { raw, problems } = normalizeConfigKeys(input);
    const add = (path: string, value: unknown, message: string) => problems.push({ path, value, message });

    for (const [key, value] of Object.entries(raw)) {
        if (value === undefined) continue;
        const problem = configKeyProblem(key, value, byocKeys);
        if (problem) problems.push(problem);
    }

    const parsed: Partial<Sections> = {};
    for (const [section, schema] of Object.entries(sections) as [keyof Sections, z.ZodType][]) {
        const value = raw[keyOf(section)];
        if (value === undefined) {
            if (required.has(section)) add(keyOf(section), undefined, `is required: ${describeSection(section)}`);
            continue;
        }
        const result = schema.safeParse(value);
        if (result.success) {
            (parsed as Record<string, unknown>)[section] = result.data;
            continue;
        }
        for (const issue of result.error.issues) {
            if (issue.code === "unrecognized_keys") {
                for (const k of issue.keys) {
                    const path = [...issue.path, k];
                    const allowed = allowedKeys(schema, issue.path);
                    const at = pathText(section, issue.path);
                    add(pathText(section, path), valueAt(value, path), `is not a known key; allowed keys are ${allowed.join(", ")}${nestedSuggestion(k, allowed, at, byocKeys)}`);
                }
                continue;
            }
            const v = valueAt(value, issue.path);
            const message = typeMessage(schema, issue);
            add(pathText(section, issue.path), v, v === undefined ? `is required: ${message}` : message);
        }
    }

    const env = parsed.environment;
    const baseline = baselines[env ?? "dev"];
    const { network, controlPlane, ingress, access, tailscale } = parsed;

    if (network) {
        const vpc = parseCidr(network.vpcCidr)!;
        if (vpc.kind !== "ipv4" || vpc.prefix < 16 || vpc.prefix > 22) {
            add("byoc:network.vpcCidr", network.vpcCidr, "must be an IPv4 CIDR between /16 and /22");
        }
        if (env && network.azCount !== undefined && network.azCount < baseline.minAzCount) {
            add("byoc:network.azCount", network.azCount, `must be ${baseline.minAzCount} in ${env}`);
        }
        if (env && network.natGateways !== undefined && !baseline.allowedNatGateways.includes(network.natGateways)) {
            add("byoc:network.natGateways", network.natGateways, `must be ${baseline.allowedNatGateways.map((n) => `"${n}"`).join(" or ")} in ${env}: one NAT gateway per AZ`);
        }
        (network.peering ?? []).forEach((p, i) => {
            const peer = parseCidr(p.cidr)!;
            // Peering routes go into the IPv4 route tables of an IPv4-only VPC.
            if (peer.kind !== "ipv4") {
                add(`byoc:network.peering[${i}].cidr`, p.cidr, "must be an IPv4 CIDR: the VPC and its peering routes are IPv4-only");
                return;
            }
            if (overlaps(peer, vpc)) add(`byoc:network.peering[${i}].cidr`, p.cidr, `overlaps the VPC CIDR ${vpc.text}; peered networks must not overlap`);
            const serviceCidr = kubernetesServiceCidrFor(vpc.text);
            if (overlaps(peer, parseCidr(serviceCidr)!)) {
                add(`byoc:network.peering[${i}].cidr`, p.cidr, `overlaps the cluster's Kubernetes service CIDR ${serviceCidr} (fixed for this VPC CIDR; changing it would replace the cluster): pods could not reach that part of the peered network`);
            }
            (network.peering ?? []).slice(0, i).forEach((q, j) => {
                if (overlaps(peer, parseCidr(q.cidr)!)) add(`byoc:network.peering[${i}].cidr`, p.cidr, `overlaps byoc:network.peering[${j}].cidr ${q.cidr}`);
            });
        });
    }
    if (controlPlane && !controlPlane.privateEndpointOnly) {
        if (controlPlane.phase !== undefined) add("byoc:controlPlane.phase", controlPlane.phase, "only applies with byoc:controlPlane.privateEndpointOnly: true (a public endpoint has one phase)");
        if (controlPlane.breakGlass !== undefined) add("byoc:controlPlane.breakGlass", controlPlane.breakGlass, "only applies with byoc:controlPlane.privateEndpointOnly: true (the public endpoint is already the way in)");
    }
    const keyRegion = parsed.encryption?.kmsKeyArn?.split(":")[3];
    if (keyRegion && parsed.region && keyRegion !== parsed.region) {
        add("byoc:encryption.kmsKeyArn", parsed.encryption!.kmsKeyArn, `is in ${keyRegion}, the stack in ${parsed.region}: EKS, EBS, S3 and CloudWatch Logs only use a key of their own region (a multi-Region replica key in ${parsed.region} works)`);
    }
    const providerTailnet = raw["tailscale:tailnet"];
    if (tailscale && providerTailnet !== undefined && providerTailnet !== tailscale.tailnet) {
        add("tailscale:tailnet", providerTailnet, `differs from byoc:tailscale.tailnet ${JSON.stringify(tailscale.tailnet)}; the program configures the Tailscale provider from byoc:tailscale.tailnet, so drop tailscale:tailnet`);
    }
    const viaTailnet = controlPlane?.phase === "switchover" || controlPlane?.phase === "tailnet";
    if (controlPlane?.privateEndpointOnly && viaTailnet && tailscale) {
        if (!tailscale.endpoints.includes("kubernetes-api")) add("byoc:controlPlane.phase", controlPlane.phase, 'needs "kubernetes-api" in byoc:tailscale.endpoints: the Kubernetes provider goes through it');
        if (!tailscale.managementTag) add("byoc:tailscale.managementTag", undefined, `is required with byoc:controlPlane.phase "${controlPlane.phase}": the tag of the management services the ACL lets reach the Kubernetes API (such as "tag:byoc-management")`);
    }
    controlPlane?.managementCidrs.forEach((c, i) => {
        if (isWorldOpen(c)) add(`byoc:controlPlane.managementCidrs[${i}]`, c, "opens the Kubernetes API to the whole internet; list the provider's management NAT CIDRs");
        else if (isOverlyBroad(c)) add(`byoc:controlPlane.managementCidrs[${i}]`, c, "is broader than /8 (IPv6: /16), which is the internet in pieces; list the provider's management NAT CIDRs");
    });
    if (ingress) {
        if (env === "prod") {
            ingress.ipAllowList.forEach((c, i) => {
                if (isWorldOpen(c)) add(`byoc:ingress.ipAllowList[${i}]`, c, "is not allowed in prod: the IP filter must name the client networks");
                else if (isOverlyBroad(c)) add(`byoc:ingress.ipAllowList[${i}]`, c, "is broader than /8 (IPv6: /16), which is not allowed in prod: the IP filter must name the client networks");
            });
        }
        if (env && ingress.acmeServer !== undefined && !baseline.allowedAcmeServers.includes(ingress.acmeServer)) {
            add("byoc:ingress.acmeServer", ingress.acmeServer, `must be "production" in ${env}: staging certificates are not trusted by clients`);
        }
        if (ingress.mode === "privatelink" && !ingress.privateLink) {
            add("byoc:ingress.privateLink", undefined, "is required with mode privatelink: { allowedPrincipals: [IAM principal ARNs], acceptanceRequired?: true }");
        }
        if (ingress.mode !== "privatelink" && ingress.privateLink) {
            add("byoc:ingress.privateLink", ingress.privateLink, `only applies with mode privatelink (mode is ${ingress.mode})`);
        }
        if (ingress.mode === "privatelink" && env === "prod" && ingress.privateLink?.acceptanceRequired === false) {
            add("byoc:ingress.privateLink.acceptanceRequired", false, "must be true in prod: every interface endpoint is accepted explicitly");
        }
        if (ingress.mode === "private" && network && (network.peering ?? []).length === 0) {
            add("byoc:ingress.mode", ingress.mode, "private ingress is reached over VPC peering: list at least one byoc:network.peering entry");
        }
    }
    if (tailscale) {
        tailscale.endpoints.forEach((e, i) => {
            const first = tailscale.endpoints.indexOf(e);
            if (first !== i) add(`byoc:tailscale.endpoints[${i}]`, e, `repeats byoc:tailscale.endpoints[${first}]; each endpoint is listed once (it gets one tailnet hostname)`);
        });
    }
    if (access) {
        if (env && access.maxCertificateHours !== undefined && access.maxCertificateHours > baseline.maxCertificateHours) {
            add("byoc:access.maxCertificateHours", access.maxCertificateHours, `must be at most ${baseline.maxCertificateHours} in ${env}`);
        }
        // A grant is only as good as its approval: without designated approvers anyone could be named approvedBy.
        if ((access.grants ?? []).length > 0 && (access.approvers ?? []).length === 0) {
            add("byoc:access.approvers", access.approvers, "must list the designated approvers when byoc:access.grants is set: every grant's approvedBy is checked against it");
        }
        const ids = new Map<string, number>();
        // Mail systems treat addresses case-insensitively, so "Lead@example.com" approving "lead@example.com" is self-approval.
        const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();
        (access.grants ?? []).forEach((g, i) => {
            if (ids.has(g.id)) add(`byoc:access.grants[${i}].id`, g.id, `is already used by byoc:access.grants[${ids.get(g.id)}]; grant ids are unique`);
            else ids.set(g.id, i);
            if (same(g.approvedBy, g.engineer)) add(`byoc:access.grants[${i}].approvedBy`, g.approvedBy, "must not be the engineer who requested access");
            else if (access.approvers && access.approvers.length > 0 && !access.approvers.some((a) => same(a, g.approvedBy))) {
                add(`byoc:access.grants[${i}].approvedBy`, g.approvedBy, `is not a designated approver (${access.approvers.join(", ")})`);
            }
        });
    }
    checkDeployRole(parsed, raw, add);

    if (problems.length > 0) return { ok: false, problems };
    const s = parsed as Sections;
    return {
        ok: true,
        config: {
            region: s.region,
            environment: s.environment,
            customer: { id: s.customer.id, name: s.customer.name ?? s.customer.id },
            network: {
                vpcCidr: parseCidr(s.network.vpcCidr)!.text,
                azCount: s.network.azCount ?? baseline.defaultAzCount,
                natGateways: s.network.natGateways ?? baseline.defaultNatGateways,
                peering: s.network.peering ?? [],
            },
            controlPlane: {
                managementCidrs: s.controlPlane.managementCidrs,
                privateEndpointOnly: s.controlPlane.privateEndpointOnly ?? false,
                access: apiAccessOf(s.controlPlane),
            },
            ingress: {
                ...s.ingress,
                acmeServer: s.ingress.acmeServer ?? "production",
                privateLink: s.ingress.privateLink && { allowedPrincipals: s.ingress.privateLink.allowedPrincipals, acceptanceRequired: s.ingress.privateLink.acceptanceRequired ?? true },
            },
            encryption: { kmsKeyArn: s.encryption?.kmsKeyArn },
            tailscale: s.tailscale,
            tailscaleProvider: {
                tailnet: s.tailscale.tailnet,
                oauthClientId: plainString(raw["tailscale:oauthClientId"]),
                oauthClientSecret: plainString(raw["tailscale:oauthClientSecret"]),
            },
            telemetry: s.telemetry,
            awsProfile: plainString(raw["aws:profile"]),
            awsSettings: awsSettingsOf(raw),
            access: {
                maxCertificateHours: s.access?.maxCertificateHours ?? baseline.maxCertificateHours,
                approvers: s.access?.approvers ?? [],
                grants: s.access?.grants ?? [],
                deployRole: s.access?.deployRoleArn ? deployRoleOf(s.access.deployRoleArn, raw["byoc:deployExternalId"]) : undefined,
                vendorAccess: s.access?.vendorAccess ?? "enabled",
            },
            baseline,
        },
    };
}

/**
 * The deploy role: required in prod (every prod change goes through the customer's bootstrap role, with a source
 * identity); the role of this customer's bootstrap, in the account the stack is pinned to; with its ExternalId.
 */
function checkDeployRole(parsed: Partial<Sections>, raw: Record<string, unknown>, add: (path: string, value: unknown, message: string) => void): void {
    const access = parsed.access;
    const roleArn = access?.deployRoleArn;
    const rawAccess = raw["byoc:access"];
    // A deploy role in a byoc:access that failed validation has had its problem reported already.
    const givenButInvalid = rawAccess !== null && typeof rawAccess === "object" && "deployRoleArn" in rawAccess;
    if (!roleArn) {
        if (parsed.environment === "prod" && !givenButInvalid) {
            add("byoc:access.deployRoleArn", undefined, "is required in prod: the data plane deploys through the deploy role of the customer's byoc-bootstrap stack (its deployRoleArn output; bootstrap/README.md)");
        }
        if (parsed.deployExternalId !== undefined && !givenButInvalid) add("byoc:deployExternalId", "[secret]", "only applies with byoc:access.deployRoleArn");
        return;
    }
    const role = deployRoleOf(roleArn, parsed.deployExternalId)!;
    const customer = parsed.customer?.id;
    if (customer && roleArn.split("/").pop() !== bootstrapRoleName(customer, "deploy")) {
        add("byoc:access.deployRoleArn", roleArn, `is another customer's deploy role; this stack's is role/${bootstrapRoleName(customer, "deploy")}`);
    }
    if (parsed.deployExternalId === undefined) {
        add("byoc:deployExternalId", undefined, "is required with byoc:access.deployRoleArn: the ExternalId set in the customer's byoc-bootstrap stack (`pulumi config set --secret byoc:deployExternalId …`)");
    }
    // The deploy role may write DNS records only under <customer>.byoc.<parent> (bootstrap/policies.ts dnsRecordNames):
    // the gateway's records and cert-manager's DNS-01 challenge would be refused anywhere else.
    const domain = parsed.ingress?.domain;
    if (customer && domain && !domain.toLowerCase().startsWith(`${customer}.byoc.`)) {
        add("byoc:ingress.domain", domain, `must be ${customer}.byoc.<your parent domain> with a deploy role: the customer's bootstrap lets it write DNS records only there`);
    }
    if (raw["aws:forbiddenAccountIds"] !== undefined) {
        add("aws:forbiddenAccountIds", raw["aws:forbiddenAccountIds"], `cannot be combined with byoc:access.deployRoleArn: the deploy-role provider is pinned to account ${role.account} with allowedAccountIds, and the AWS provider refuses both lists together`);
    }
    const allowed = raw["aws:allowedAccountIds"];
    if (Array.isArray(allowed) && allowed.length > 0 && !allowed.map(String).includes(role.account)) {
        add("byoc:access.deployRoleArn", roleArn, `is in account ${role.account}, which aws:allowedAccountIds (${allowed.join(", ")}) does not list`);
    }
}

export interface AwsSettings {
    allowedAccountIds?: string[];
    forbiddenAccountIds?: string[];
    defaultTags?: { tags?: Record<string, string> };
    maxRetries?: number;
    retryMode?: string;
}

/** `aws:allowedAccountIds`, `aws:forbiddenAccountIds`, `aws:defaultTags`, `aws:maxRetries`, `aws:retryMode` as set. */
function awsSettingsOf(raw: Record<string, unknown>): AwsSettings {
    const out: AwsSettings = {};
    const strings = (v: unknown) => (Array.isArray(v) ? v.map(String) : undefined);
    if (strings(raw["aws:allowedAccountIds"])) out.allowedAccountIds = strings(raw["aws:allowedAccountIds"]);
    if (strings(raw["aws:forbiddenAccountIds"])) out.forbiddenAccountIds = strings(raw["aws:forbiddenAccountIds"]);
    const tags = raw["aws:defaultTags"];
    if (tags && typeof tags === "object" && !Array.isArray(tags)) out.defaultTags = tags as AwsSettings["defaultTags"];
    const retries = Number(raw["aws:maxRetries"]);
    if (raw["aws:maxRetries"] !== undefined && Number.isInteger(retries)) out.maxRetries = retries;
    if (typeof raw["aws:retryMode"] === "string") out.retryMode = raw["aws:retryMode"] as string;
    return out;
}

/** A config value the engine decrypted (a string); `{ secure: … }` ciphertext read from a stack file is not one. */
const plainString = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** The phase a control-plane section puts a stack in (also used by the portal on stored configs). */
export function apiAccessOf(c: { privateEndpointOnly?: boolean; breakGlass?: boolean; phase?: (typeof API_PHASES)[number] }): ApiAccess {
    if (!c.privateEndpointOnly) return "public";
    if (c.breakGlass) return "break-glass";
    return c.phase ?? "bootstrap";
}

/** One line per problem: `byoc:network.vpcCidr = "10.0.0.0/8": must be an IPv4 CIDR between /16 and /22`. */
export function formatProblems(problems: ConfigProblem[]): string {
    return problems
        .map((p) => `  ${p.path}${p.value === undefined ? "" : ` = ${truncate(JSON.stringify(p.value))}`}: ${p.message}`)
        .join("\n");
}

function truncate(text: string): string {
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

