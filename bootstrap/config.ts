// The bootstrap project's stack configuration (namespace `byoc-bootstrap:`): validated as a whole before any resource
// exists, one problem per line naming the key, the value and what is allowed, as the data plane's stacks/schema.ts.
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { editDistance, PROVIDER_CONFIG_KEYS, STACK_FILE_KEYS } from "../stacks/keys";
import { ISO_SECONDS, isoSeconds, partitionOf } from "./policies";

export const PROJECT = "byoc-bootstrap";
const NS = `${PROJECT}:`;

export interface ConfigProblem {
    path: string;
    value: unknown;
    message: string;
}

export interface BootstrapConfig {
    region: string;
    /** The customer id of the data plane (`byoc:customer.id` there): a DNS label, 3–20 chars. */
    customer: string;
    /** The customer's AWS account, where everything is created and which the role ARNs name. */
    accountId: string;
    /** The provider's principals that may assume the deploy and support roles. */
    providerPrincipals: string[];
    /** `sts:ExternalId` the provider must present; undefined offline when the stack file holds only its ciphertext. */
    externalId: string | undefined;
    vendorAccess: "enabled" | "suspended";
    /** UTC second sessions issued before are revoked, when suspended. */
    suspendedAt?: string;
    breakGlass: "open" | "closed";
    breakGlassPrincipals: string[];
    createTrail: boolean;
    maxSessionSeconds: number;
    /**
     * The data plane's telemetry destinations (`byoc:telemetry` there: the billing bucket, the state queue): the only
     * resources of another account the workload boundary lets the data plane's roles send data to.
     */
    telemetryDestinations: string[];
    /**
     * The data plane's EKS cluster names (`byoc-<customer>-<env>`) whose tailnet agents the kill switch stops while
     * vendor access is suspended (KillSwitch.ts); empty: the agents are the manual step of the runbook.
     */
    dataPlaneClusters: string[];
    /**
     * Whose EKS access entry the kill switch creates: undefined = the principal running the bootstrap (its role, for
     * an assumed-role session); an ARN = that role or user (pins it whoever runs `up`); "existing" = none, the
     * principal running the bootstrap already has cluster-admin through an access entry of its own.
     */
    killSwitchPrincipalArn?: string;
    /** `aws:profile`, handed to `aws eks get-token` of the kill switch's Kubernetes provider. */
    awsProfile?: string;
}

const KEYS = [
    "customer", "accountId", "providerPrincipals", "externalId", "vendorAccess", "suspendedAt", "breakGlass", "breakGlassPrincipals", "createTrail", "maxSessionSeconds",
    "telemetryDestinations", "dataPlaneClusters", "killSwitchPrincipalArn",
] as const;
/** The same aws: and pulumi: keys as the data plane (stacks/keys.ts PROVIDER_CONFIG_KEYS documents each). */
const AWS_KEYS: readonly string[] = PROVIDER_CONFIG_KEYS.aws;
const PULUMI_KEYS: readonly string[] = PROVIDER_CONFIG_KEYS.pulumi;

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ACCOUNT = /^\d{12}$/;
const PRINCIPAL = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):(root|role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
/** An IAM role or user an EKS access entry can name (not an account root, not an STS session). */
const ACCESS_ENTRY_PRINCIPAL = /^arn:aws(?:-cn|-us-gov)?:iam::(\d{12}):(role\/[\w+=,.@\/-]+|user\/[\w+=,.@\/-]+)$/;
/** EKS cluster names: 1–100 chars, a letter or digit first, then letters, digits, "-" and "_". */
const EKS_CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/;
const EXTERNAL_ID = /^[\w+=,.@:\/-]{16,1224}$/;
/** An S3 bucket (optionally a prefix in it) or an SQS queue, as the data plane's byoc:telemetry names them; no wildcard. */
const S3_DESTINATION = /^arn:(aws|aws-cn|aws-us-gov):s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/[^*?\s]*)?$/;
const SQS_DESTINATION = /^arn:(aws|aws-cn|aws-us-gov):sqs:([a-z]{2}(?:-gov)?-[a-z]+-\d):(\d{12}):[A-Za-z0-9_-]{1,80}(\.fifo)?$/;
/** The workload boundary lists each destination twice (and an S3 one with its objects): IAM's 6,144-character quota. */
export const MAX_TELEMETRY_DESTINATIONS = 4;

/** A `{ secure: … }` value read from a stack file: ciphertext the offline preview cannot decrypt. */
const isCiphertext = (v: unknown): boolean => typeof v === "object" && v !== null && typeof (v as { secure?: unknown }).secure === "string";

function closest(key: string, known: readonly string[]): string | undefined {
    const best = known.map((k) => [k, editDistance(key, k)] as const).sort((x, y) => x[1] - y[1])[0];
    return best && best[1] <= 3 ? best[0] : undefined;
}

export type ParseResult = { ok: true; config: BootstrapConfig } | { ok: false; problems: ConfigProblem[] };

/** Validates raw config keyed as Pulumi keys it (`aws:region`, `byoc-bootstrap:customer`), values decoded. */
export function parseBootstrapConfig(raw: Record<string, unknown>, now: Date = new Date()): ParseResult {
    const problems: ConfigProblem[] = [];
    const bad = (key: string, value: unknown, message: string) => problems.push({ path: key, value, message });
    for (const key of Object.keys(raw)) {
        const [ns, ...rest] = key.split(":");
        const name = rest.join(":");
        const known = ns === PROJECT ? (KEYS as readonly string[]) : ns === "aws" ? AWS_KEYS : ns === "pulumi" ? PULUMI_KEYS : undefined;
        if (known === undefined) bad(key, undefined, `namespace "${ns}" is not read by the bootstrap project; allowed: ${PROJECT}:, aws:, pulumi:`);
        else if (!known.includes(name)) {
            const hint = closest(name, known);
            bad(key, undefined, `unknown key${hint ? `; did you mean ${ns}:${hint}?` : ""} (allowed: ${known.map((k) => `${ns}:${k}`).join(", ")})`);
        }
    }
    const get = (k: string) => raw[`${NS}${k}`];
    const key = (k: string) => `${NS}${k}`;

    const region = raw["aws:region"];
    if (typeof region !== "string" || !/^[a-z]{2}(-gov)?-[a-z]+-\d$/.test(region)) bad("aws:region", region, "is required: an AWS region such as us-east-1");

    const customer = get("customer");
    if (typeof customer !== "string" || customer.length < 3 || customer.length > 20 || !DNS_LABEL.test(customer)) {
        bad(key("customer"), customer, "must be the data plane's customer id (byoc:customer.id): a DNS label of 3–20 chars of a–z, 0–9, \"-\"");
    } else if (customer.startsWith("bootstrap")) {
        bad(key("customer"), customer, "may not start with \"bootstrap\": the data plane's name scope byoc-<customer>-* would then include the bootstrap's own byoc-bootstrap-* roles");
    }

    const accountId = get("accountId");
    if (typeof accountId !== "string" || !ACCOUNT.test(accountId)) bad(key("accountId"), accountId, "must be the customer's 12-digit AWS account id, quoted");

    const principals = (k: string, v: unknown, required: boolean, ownAccount: boolean): string[] => {
        if (v === undefined && !required) return [];
        if (!Array.isArray(v) || v.length === 0) {
            bad(key(k), v, "must be a non-empty list of IAM principal ARNs (arn:aws:iam::<account>:role/<name>, …:user/<name> or …:root)");
            return [];
        }
        const out: string[] = [];
        v.forEach((p, i) => {
            const m = typeof p === "string" ? PRINCIPAL.exec(p) : null;
            if (!m) return bad(`${key(k)}[${i}]`, p, "must be an IAM principal ARN (role, user or account root), never \"*\" or a wildcard");
            if (typeof accountId === "string" && ownAccount && m[1] !== accountId) return bad(`${key(k)}[${i}]`, p, `must be a principal of the customer's own account ${accountId}`);
            if (typeof accountId === "string" && !ownAccount && m[1] === accountId) return bad(`${key(k)}[${i}]`, p, `is in the customer's own account ${accountId}; name the provider's principals`);
            out.push(p as string);
        });
        return out;
    };
    const providerPrincipals = principals("providerPrincipals", get("providerPrincipals"), true, false);

    const ext = get("externalId");
    let externalId: string | undefined;
    if (isCiphertext(ext)) externalId = undefined;
    else if (typeof ext !== "string") bad(key("externalId"), ext === undefined ? undefined : "[not shown]", "is required: the ExternalId the provider gave you; set it with `pulumi config set --secret byoc-bootstrap:externalId <value>`");
    else if (!EXTERNAL_ID.test(ext)) bad(key("externalId"), "[secret]", "must be 16–1224 characters of letters, digits and _+=,.@:/-");
    else externalId = ext;

    const vendorAccess = get("vendorAccess") ?? "enabled";
    if (vendorAccess !== "enabled" && vendorAccess !== "suspended") bad(key("vendorAccess"), vendorAccess, "must be \"enabled\" or \"suspended\"");
    const suspendedAt = get("suspendedAt");
    if (suspendedAt !== undefined) {
        if (typeof suspendedAt !== "string" || !ISO_SECONDS.test(suspendedAt) || Number.isNaN(Date.parse(suspendedAt))) {
            bad(key("suspendedAt"), suspendedAt, "must be a UTC time such as 2026-12-01T10:00:00Z (`date -u +%FT%TZ`)");
        } else if (Date.parse(suspendedAt) > now.getTime() + 5 * 60_000) {
            bad(key("suspendedAt"), suspendedAt, `is in the future (now ${isoSeconds(now)}); sessions are revoked as of the moment you suspend`);
        }
        if (vendorAccess !== "suspended") bad(key("suspendedAt"), suspendedAt, "is only read with byoc-bootstrap:vendorAccess: suspended; remove it when re-enabling");
    }

    const breakGlass = get("breakGlass") ?? "closed";
    if (breakGlass !== "open" && breakGlass !== "closed") bad(key("breakGlass"), breakGlass, "must be \"open\" or \"closed\"");
    const breakGlassPrincipals = principals("breakGlassPrincipals", get("breakGlassPrincipals"), breakGlass === "open", true);

    const createTrail = get("createTrail") ?? false;
    if (typeof createTrail !== "boolean") bad(key("createTrail"), createTrail, "must be true or false");

    const maxSessionSeconds = get("maxSessionSeconds") ?? 3600;
    if (typeof maxSessionSeconds !== "number" || !Number.isInteger(maxSessionSeconds) || maxSessionSeconds < 900 || maxSessionSeconds > 3600) {
        bad(key("maxSessionSeconds"), maxSessionSeconds, "must be a whole number of seconds between 900 and 3600 (one hour at most)");
    }

    const telemetry = get("telemetryDestinations");
    const telemetryDestinations: string[] = [];
    if (!Array.isArray(telemetry) || telemetry.length === 0 || telemetry.length > MAX_TELEMETRY_DESTINATIONS) {
        bad(key("telemetryDestinations"), telemetry, `is required: 1–${MAX_TELEMETRY_DESTINATIONS} ARNs, the billingBucketArn and stateQueueArn of the data plane's byoc:telemetry (arn:aws:s3:::<bucket>, arn:aws:sqs:<region>:<account>:<queue>); the data plane's roles may send data to no other account's resource`);
    } else {
        telemetry.forEach((d, i) => {
            const at = `${key("telemetryDestinations")}[${i}]`;
            const s3 = typeof d === "string" ? S3_DESTINATION.exec(d) : null;
            const sqs = typeof d === "string" ? SQS_DESTINATION.exec(d) : null;
            if (!s3 && !sqs) return bad(at, d, "must be an S3 bucket ARN (arn:aws:s3:::<bucket>[/<prefix>]) or an SQS queue ARN (arn:aws:sqs:<region>:<account>:<queue>), never a wildcard");
            const partition = (s3 ?? sqs)![1];
            if (typeof region === "string" && partition !== partitionOf(region)) return bad(at, d, `is in partition ${partition}, the stack's region ${region} in ${partitionOf(region)}`);
            if (telemetryDestinations.includes(d as string)) return bad(at, d, "is listed twice");
            telemetryDestinations.push(d as string);
        });
    }

    // The kill switch's Kubernetes side: the data plane's clusters (named byoc-<customer>-<env> by its program).
    const clusters = get("dataPlaneClusters");
    const dataPlaneClusters: string[] = [];
    if (clusters !== undefined) {
        const example = typeof customer === "string" ? `byoc-${customer}-prod` : "byoc-<customer>-prod";
        if (!Array.isArray(clusters)) {
            bad(key("dataPlaneClusters"), clusters, `must be a list of the data plane's EKS cluster names, e.g. [${example}] (YAML: one "- ${example}" line per cluster)`);
        } else {
            clusters.forEach((n, i) => {
                const at = `${key("dataPlaneClusters")}[${i}]`;
                if (typeof n !== "string" || !EKS_CLUSTER_NAME.test(n)) return bad(at, n, `must be an EKS cluster name such as ${example} (1–100 letters, digits, "-", "_")`);
                if (typeof customer === "string" && !n.startsWith(`byoc-${customer}-`)) return bad(at, n, `is not a cluster of this customer's data plane: its clusters are named byoc-${customer}-<environment>, e.g. ${example}`);
                if (dataPlaneClusters.includes(n)) return bad(at, n, "is listed twice");
                dataPlaneClusters.push(n);
            });
        }
    }
    const ksPrincipal = get("killSwitchPrincipalArn");
    if (ksPrincipal !== undefined && ksPrincipal !== "existing") {
        const m = typeof ksPrincipal === "string" ? ACCESS_ENTRY_PRINCIPAL.exec(ksPrincipal) : null;
        if (!m) bad(key("killSwitchPrincipalArn"), ksPrincipal, "must be \"existing\" (you already have an access entry of your own) or the ARN of an IAM role or user of your account (arn:aws:iam::<account>:role/<name>) for the kill switch's access entry");
        else if (typeof accountId === "string" && m[1] !== accountId) bad(key("killSwitchPrincipalArn"), ksPrincipal, `must be a principal of the customer's own account ${accountId}`);
    }
    if (ksPrincipal !== undefined && clusters === undefined) bad(key("killSwitchPrincipalArn"), ksPrincipal, "is only read with byoc-bootstrap:dataPlaneClusters (the clusters whose tailnet agents the kill switch stops)");
    const profile = raw["aws:profile"];

    if (problems.length > 0) return { ok: false, problems };
    return {
        ok: true,
        config: {
            region: region as string, customer: customer as string, accountId: accountId as string, providerPrincipals, externalId,
            vendorAccess: vendorAccess as BootstrapConfig["vendorAccess"], suspendedAt: suspendedAt as string | undefined,
            breakGlass: breakGlass as BootstrapConfig["breakGlass"], breakGlassPrincipals, createTrail: createTrail as boolean, maxSessionSeconds: maxSessionSeconds as number,
            telemetryDestinations, dataPlaneClusters,
            ...(ksPrincipal !== undefined ? { killSwitchPrincipalArn: ksPrincipal as string } : {}),
            ...(typeof profile === "string" && profile !== "" ? { awsProfile: profile } : {}),
        },
    };
}

/** One line per problem: `byoc-bootstrap:vendorAccess = "off": must be "enabled" or "suspended"`. */
export function formatProblems(problems: ConfigProblem[]): string {
    return problems.map((p) => `  ${p.path}${p.value === undefined ? "" : ` = ${JSON.stringify(p.value)}`}: ${p.message}`).join("\n");
}

export class BootstrapConfigError extends Error {
    constructor(readonly source: string, readonly problems: ConfigProblem[]) {
        super(`Invalid stack configuration in ${source} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${formatProblems(problems)}`);
        this.name = "BootstrapConfigError";
    }
}

export function parseOrThrow(raw: Record<string, unknown>, source: string, now?: Date): BootstrapConfig {
    const r = parseBootstrapConfig(raw, now);
    if (!r.ok) throw new BootstrapConfigError(source, r.problems);
    return r.config;
}

const BOOTSTRAP_DIR = __dirname;

/**
 * Reads `bootstrap/Pulumi.<stack>.yaml`; keys without a namespace are `byoc-bootstrap:<key>`, as Pulumi reads them.
 * Only stacks/keys.ts STACK_FILE_KEYS (`config`, `secretsprovider`, …) may stand at the top level.
 */
export function readBootstrapStackFile(stack: string, dir = BOOTSTRAP_DIR): Record<string, unknown> {
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    if (!/^[A-Za-z0-9_.-]+$/.test(stack) || /^\.+$/.test(stack)) throw new BootstrapConfigError(file, [{ path: "stack", value: stack, message: "is not a stack name: use letters, digits, '-', '_' and '.'" }]);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new BootstrapConfigError(file, [{ path: file, value: undefined, message: `stack file not found; create bootstrap/Pulumi.${stack}.yaml (copy bootstrap/Pulumi.acme.yaml)` }]);
    }
    let doc: unknown;
    try {
        doc = parseYaml(text, { uniqueKeys: true });
    } catch (err) {
        throw new BootstrapConfigError(file, [{ path: file, value: undefined, message: `is not valid YAML: ${(err as Error).message.split("\n")[0]}` }]);
    }
    const problems: ConfigProblem[] = [];
    const top = (doc ?? {}) as Record<string, unknown>;
    for (const k of Object.keys(top)) {
        if (!(STACK_FILE_KEYS as readonly string[]).includes(k)) problems.push({ path: `${file}: ${k}`, value: undefined, message: `is not a stack-file key Pulumi reads (${STACK_FILE_KEYS.join(", ")}); indent it under config:` });
    }
    const config = top.config;
    if (config === null || typeof config !== "object" || Array.isArray(config)) problems.push({ path: `${file}: config`, value: config, message: "must be a map of config keys" });
    if (problems.length > 0) throw new BootstrapConfigError(file, problems);
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config as Record<string, unknown>)) {
        const parts = k.split(":");
        // `foo` is byoc-bootstrap:foo; `byoc-bootstrap:config:foo` is byoc-bootstrap:foo.
        const normalized = parts.length === 1 ? `${NS}${k}` : parts.length === 3 && parts[1] === "config" ? `${parts[0]}:${parts[2]}` : k;
        raw[normalized] = v;
    }
    return raw;
}
