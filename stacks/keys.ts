// Which config keys a stack may set, how Pulumi spells a key it reads from a stack file, and "did you mean"
// suggestions. Nothing in a stack file may be silently dropped (DESIGN.md §3): a key this program does not read is
// an error, whichever namespace it is in and whichever path (stack file or running engine) it arrives by.
// The Pulumi rules cited below were read in pulumi/pulumi at commit 1b5949891b3cefcb9974752b24a5ecef0acc86c8.
import type { ConfigProblem } from "./schema";

/**
 * The Pulumi project (Pulumi.yaml `name: byoc`): the namespace Pulumi gives a key written without one. pulumi/pulumi
 * sdk/go/common/workspace/loaders.go, `stackConfigNamespacedWithProject` (called by `LoadProjectStackBytes`):
 * a config key without ':' is rewritten to `fmt.Sprintf("%s:%s", project.Name, key)`, so `privateEndpointOnly`
 * directly under `config:` is `byoc:privateEndpointOnly`.
 */
export const PROJECT = "byoc";

/**
 * The top-level keys of a stack settings file: the yaml tags of `ProjectStack` in pulumi/pulumi
 * sdk/go/common/workspace/project.go (secretsprovider, encryptedkey, encryptionsalt, config, environment). The file
 * is decoded with a plain (non-strict) yaml.Unmarshal (sdk/go/common/encoding/marshal.go), so Pulumi ignores any
 * other key without a word.
 */
export const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptionsalt", "encryptedkey", "environment"] as const;

/**
 * Config keys of the other namespaces this program allows, by namespace (the `byoc` ones are the sections of
 * stacks/schema.ts; see ALLOWED_CONFIG_KEYS there). Any other namespace is an error.
 *  - aws: the default AWS provider (the program creates no explicit one) reads every aws:* key. Allowed are the
 *    region (required), the credentials profile (the cluster's kubeconfigs pass the same profile to
 *    `aws eks get-token`), account guards, default tags and retry settings. Everything else either changes the
 *    identity the provider acts as, so that the Kubernetes provider (authenticated by `aws eks get-token
 *    --profile`) would act as another one, or changes endpoints and transport (see REFUSED_CONFIG_KEYS).
 *  - tailscale: the program builds its Tailscale provider explicitly (index.ts) from byoc:tailscale.tailnet and the
 *    OAuth client in tailscale:oauthClientId / tailscale:oauthClientSecret; an explicit provider does not read
 *    stack config, so any other tailscale:* key would be ignored. tailscale:tailnet may only repeat
 *    byoc:tailscale.tailnet.
 *  - kubernetes: none. The program reaches the cluster only through the provider it builds from the EKS cluster
 *    (components/DataPlaneCluster.ts); kubernetes:* keys configure only Pulumi's default Kubernetes provider, which
 *    the program never uses.
 *  - pulumi: the engine's own stack settings that fit this program: `pulumi:tags` (stack tags, pulumi/pulumi
 *    pkg/backend/stack.go) and `pulumi:disable-default-providers` (pkg/resource/deploy/default_providers.go; e.g.
 *    ["kubernetes"] makes a Kubernetes resource that lost its provider fail instead of using ~/.kube/config).
 */
export const PROVIDER_CONFIG_KEYS = {
    aws: ["region", "profile", "allowedAccountIds", "forbiddenAccountIds", "defaultTags", "maxRetries", "retryMode"],
    tailscale: ["oauthClientId", "oauthClientSecret", "tailnet"],
    kubernetes: [],
    pulumi: ["tags", "disable-default-providers"],
} as const satisfies Record<string, readonly string[]>;

const awsIdentity =
    "it changes the AWS identity of the default provider, while the cluster's kubeconfigs authenticate with `aws eks get-token` and aws:profile only, so the Kubernetes provider would act as another identity; name the credentials with aws:profile";
const awsEndpoint = "it changes the endpoints, transport or checks of the AWS provider, which this program does not support (it deploys to AWS's standard regional endpoints)";
const tailscaleIgnored =
    "the program's Tailscale provider is built from byoc:tailscale.tailnet and tailscale:oauthClientId / tailscale:oauthClientSecret only, so this key would be ignored";

/** Real settings of the providers (and the engine) that this program refuses, with the reason. */
export const REFUSED_CONFIG_KEYS: Record<string, Record<string, string>> = {
    aws: {
        ...Object.fromEntries(["accessKey", "secretKey", "token", "sharedConfigFiles", "sharedCredentialsFiles", "assumeRoles", "assumeRoleWithWebIdentity"].map((k) => [k, awsIdentity])),
        ...Object.fromEntries([
            "endpoints", "skipCredentialsValidation", "skipMetadataApiCheck", "skipRegionValidation", "skipRequestingAccountId", "insecure",
            "customCaBundle", "ec2MetadataServiceEndpoint", "ec2MetadataServiceEndpointMode", "httpProxy", "httpsProxy", "noProxy",
            "s3UsePathStyle", "s3UsEast1RegionalEndpoint", "stsRegion", "useDualstackEndpoint", "useFipsEndpoint",
            "tagPolicyCompliance", "tokenBucketRateLimiterCapacity", "userAgents",
        ].map((k) => [k, awsEndpoint])),
        ignoreTags: "the provider would stop tracking those tags, and the policy pack reads the byoc:* tags from the state",
    },
    tailscale: Object.fromEntries(["apiKey", "audience", "baseUrl", "identityToken", "identityTokenEnvironmentVariableName", "scopes", "userAgent"].map((k) => [k, tailscaleIgnored])),
    pulumi: { autonaming: "resource names derive from the component names (DESIGN.md §4), and the policies rely on them" },
};

const KUBERNETES_REFUSED =
    "the program reaches the cluster only through the Kubernetes provider it builds from the EKS cluster; kubernetes:* keys configure only Pulumi's default Kubernetes provider, which the program never uses, so they would be ignored (or point a resource that lost its provider at another cluster)";

/**
 * The key Pulumi makes of a key written in a stack file, or undefined when Pulumi cannot read it. pulumi/pulumi
 * sdk/go/common/resource/config/key.go, `ParseKey`: `<namespace>:<name>`, or `<namespace>:config:<name>` (an old
 * spelling of the same key); anything else is "could not parse … as a configuration key". A key without ':' has
 * been given the project namespace before (see PROJECT).
 */
function pulumiKey(key: string): string | undefined {
    const parts = key.split(":");
    if (parts.length === 1) return `${PROJECT}:${key}`;
    if (parts.length === 2) return key;
    if (parts.length === 3 && parts[1] === "config") return `${parts[0]}:${parts[2]}`;
    return undefined;
}

/** Config as Pulumi keys it: every key through `pulumiKey`; a key Pulumi cannot read, or one spelled twice, is a problem. */
export function normalizeConfigKeys(raw: Record<string, unknown>): { raw: Record<string, unknown>; problems: ConfigProblem[] } {
    const out: Record<string, unknown> = {};
    const spelling = new Map<string, string>();
    const problems: ConfigProblem[] = [];
    for (const [key, value] of Object.entries(raw)) {
        const k = pulumiKey(key);
        if (k === undefined) {
            problems.push({ path: key, value, message: "is not a config key Pulumi can read: write <namespace>:<name> with one ':', such as byoc:network" });
            continue;
        }
        const first = spelling.get(k);
        if (first !== undefined) {
            problems.push({ path: k, value, message: `is given twice, as ${first} and as ${key}; Pulumi keeps only one of them` });
            continue;
        }
        spelling.set(k, key);
        out[k] = value;
    }
    return { raw: out, problems };
}

/** A field of a byoc:* section, for suggestions: `byoc:controlPlane.privateEndpointOnly` in `byoc:controlPlane`. */
export interface Field {
    path: string;
    name: string;
    parent: string;
    /** Inside a list item (byoc:network.peering[].cidr): never suggested for a key elsewhere. */
    inList: boolean;
}

export interface ByocKeys {
    /** The byoc:* top-level keys, without the namespace ("environment", "customer", …). */
    sections: readonly string[];
    fields: readonly Field[];
}

/** Optimal string alignment distance: Levenshtein plus swapped neighbours ("netwrok"), case-insensitive. */
export function editDistance(a: string, b: string): number {
    a = a.toLowerCase();
    b = b.toLowerCase();
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

/** Close enough to be a misspelling: one edit for short names, two otherwise (and any difference of case only). */
const near = (a: string, b: string) => editDistance(a, b) <= (Math.min(a.length, b.length) <= 4 ? 1 : 2);

interface Candidate {
    /** What the suggestion names: "byoc:network", "aws:region", "byoc:controlPlane.privateEndpointOnly", "azCount". */
    key: string;
    /** What a misspelt name is compared with. */
    name: string;
    /** The byoc:* section a nested field belongs in. */
    parent?: string;
}

/** The candidates named exactly `name` or, when there are none, the nearest misspellings; at most three. */
function suggest(name: string, candidates: Candidate[], full?: string): Candidate[] {
    const exact = candidates.filter((c) => c.name === name);
    if (exact.length > 0) return exact.slice(0, 3);
    let best = Infinity;
    let found: Candidate[] = [];
    for (const c of candidates) {
        const byName = near(name, c.name) ? editDistance(name, c.name) : Infinity;
        const byKey = full !== undefined && near(full, c.key) ? editDistance(full, c.key) : Infinity;
        const d = Math.min(byName, byKey);
        if (d === Infinity || d > best) continue;
        if (d < best) found = [];
        best = d;
        if (!found.some((f) => f.key === c.key)) found.push(c);
    }
    return found.slice(0, 3);
}

const orList = (items: string[]) => (items.length <= 1 ? items.join("") : `${items.slice(0, -1).join(", ")} or ${items[items.length - 1]}`);

/** The allowed keys per namespace, `byoc` first. */
export function allowedConfigKeys(byoc: ByocKeys): Record<string, readonly string[]> {
    return { [PROJECT]: byoc.sections, ...PROVIDER_CONFIG_KEYS };
}

/**
 * The problem with a config key (as Pulumi keys it, `<namespace>:<name>`), or undefined when this program allows
 * it. Unknown keys name what they most likely are: a misspelling of an allowed key, a field of a byoc:* section
 * written directly under `config:`, or a key of another namespace.
 */
export function configKeyProblem(key: string, value: unknown, byoc: ByocKeys): ConfigProblem | undefined {
    // Own properties only: a key such as constructor:x or aws:toString must not find Object.prototype.
    const own = <T>(o: Record<string, T> | undefined, k: string): T | undefined => (o !== undefined && Object.hasOwn(o, k) ? o[k] : undefined);
    const allowed = allowedConfigKeys(byoc);
    const colon = key.indexOf(":");
    const ns = key.slice(0, colon);
    const name = key.slice(colon + 1);
    const keysOf = (n: string) => (own(allowed, n) ?? []).map((k) => `${n}:${k}`);
    if (own(allowed, ns)?.includes(name)) {
        // A YAML key without a value: Pulumi only warns ("No value for configuration key") and the provider gets nothing.
        if (value === null && ns !== PROJECT) return { path: key, value, message: "has no value; give it one or remove the key" };
        return undefined;
    }
    const list = (n: string) => (keysOf(n).length === 0 ? `no ${n}:* key is allowed` : `allowed ${n === PROJECT ? "" : `${n} `}keys are ${keysOf(n).join(", ")}`);
    const refused = ns === "kubernetes" ? KUBERNETES_REFUSED : own(own(REFUSED_CONFIG_KEYS, ns), name);
    if (refused !== undefined) return { path: key, value, message: `is not allowed: ${refused}; ${list(ns)}` };

    // Suggestions: the top-level keys of this namespace, the byoc:* fields (a key directly under config: that belongs
    // in a section), then the other namespaces' keys.
    const topLevel = (n: string): Candidate[] => (own(allowed, n) ?? []).map((k) => ({ key: `${n}:${k}`, name: k }));
    const fields: Candidate[] = byoc.fields.filter((f) => !f.inList).map((f) => ({ key: f.path, name: f.name, parent: f.parent }));
    const others = Object.keys(allowed).filter((n) => n !== ns).flatMap(topLevel);
    let found = suggest(name, [...topLevel(ns), ...fields, ...others], key);
    // tailscale:tags is byoc:tailscale.tags rather than pulumi:tags.
    if (found.some((f) => f.parent === `${PROJECT}:${ns}`)) found = found.filter((f) => f.parent === `${PROJECT}:${ns}`);
    if (found.length > 0) {
        const parents = [...new Set(found.filter((f) => f.parent !== undefined && ns === PROJECT).map((f) => f.parent!))];
        const hint = parents.length > 0 ? ` (Pulumi reads a key written without a namespace as ${key}: indent it under ${orList(parents)})` : "";
        return { path: key, value, message: `is not a known key; did you mean ${orList(found.map((f) => f.key))}?${hint}` };
    }
    if (own(allowed, ns) !== undefined) return { path: key, value, message: `is not a known key; ${list(ns)}` };
    const namespaces = Object.keys(allowed).filter((n) => allowed[n].length > 0);
    return { path: key, value, message: `is in a namespace this program does not read; allowed namespaces are ${namespaces.join(", ")} (README "Configuration reference")` };
}

/** "; did you mean azCount?" for an unknown key of a byoc:* map (`allowedHere`), or "" when nothing is close. */
export function nestedSuggestion(name: string, allowedHere: string[], path: string, byoc: ByocKeys): string {
    const siblings = suggest(name, allowedHere.map((k) => ({ key: k, name: k })));
    if (siblings.length > 0) return `; did you mean ${orList(siblings.map((s) => s.key))}?`;
    // A field of another section, such as privateEndpointOnly indented under byoc:ingress.
    const elsewhere = byoc.fields.filter((f) => !f.inList && f.name === name && !path.startsWith(`${f.parent}.`));
    return elsewhere.length > 0 ? `; did you mean ${orList(elsewhere.slice(0, 3).map((f) => f.path))}?` : "";
}

/** The problem with a top-level key of a stack file other than STACK_FILE_KEYS: Pulumi would ignore it. */
export function stackFileKeyMessage(key: string, byoc: ByocKeys): string {
    const fileKey = suggest(key, STACK_FILE_KEYS.map((k) => ({ key: k, name: k })));
    if (fileKey.length > 0) return `is not a stack file key, so Pulumi ignores it; did you mean ${orList(fileKey.map((k) => k.key))}?`;
    const asConfig = pulumiKey(key);
    if (asConfig !== undefined) {
        const problem = configKeyProblem(asConfig, undefined, byoc);
        if (problem === undefined) {
            return asConfig === key ? "is outside config:, so Pulumi ignores it; indent it under config:" : `is outside config:, so Pulumi ignores it; did you mean ${asConfig} under config:?`;
        }
        const suggestion = /did you mean ([^?]+)\?/.exec(problem.message)?.[1];
        if (suggestion) return `is outside config:, so Pulumi ignores it; did you mean ${suggestion} under config:?`;
    }
    return `is not a stack file key, so Pulumi ignores it; a stack file's top-level keys are ${STACK_FILE_KEYS.join(", ")}`;
}
