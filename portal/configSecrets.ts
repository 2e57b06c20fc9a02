// Secrets in a stack config sent to the portal. A secret value is sent marked, `"tailscale:oauthClientSecret":
// { "secret": "<value>" }`; the portal keeps the value apart (table customer_secrets), hands it only to the engine
// (the pulumi engine sets it with `pulumi config set --secret`), and the stored config — what every view, job
// snapshot, validation problem and offline state shows — holds a placeholder in Pulumi's own shape for an
// encrypted value, `{ "secure": "[secret]" }`. Which keys are allowed at all is parseStackConfig's business
// (stacks/schema.ts); this module only decides what must be secret and keeps it out of sight.
import type { ConfigProblem } from "../stacks/schema";

/** What a secret config value reads as everywhere but in the engine. */
const SECRET_PLACEHOLDER: Readonly<{ secure: string }> = Object.freeze({ secure: "[secret]" });

/** Config keys documented as secrets (README: `pulumi config set --secret`). */
const SECRET_KEYS = new Set(["tailscale:oauthClientId", "tailscale:oauthClientSecret", "byoc:deployExternalId"]);
/** Names that are credentials whatever their namespace (aws:secretKey, tailscale:apiKey, …). */
const CREDENTIAL_NAME = /(secret|password|passphrase|token|credential|accesskey|apikey|privatekey|authkey)/i;

/** Whether `key` holds a credential: it may only be sent marked secret, and is never shown. */
function isSecretKey(key: string): boolean {
    return SECRET_KEYS.has(key) || CREDENTIAL_NAME.test(key.slice(key.indexOf(":") + 1));
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isMarked = (v: unknown): v is { secret: unknown } => isObject(v) && Object.keys(v).length === 1 && "secret" in v;
const isCiphertext = (v: unknown): boolean => isObject(v) && "secure" in v;

/**
 * Splits a config from the API into what is stored (secrets replaced by SECRET_PLACEHOLDER) and the secrets
 * (key → value). Problems, never carrying a secret's value: a credential key sent in clear, a marked secret that
 * is not a non-empty string, Pulumi ciphertext (it belongs to another stack's secrets provider and cannot be
 * decrypted by this one's).
 */
export function splitSecrets(config: Record<string, unknown>): { config: Record<string, unknown>; secrets: Record<string, string>; problems: ConfigProblem[] } {
    const out: Record<string, unknown> = {};
    const secrets: Record<string, string> = {};
    const problems: ConfigProblem[] = [];
    for (const [key, value] of Object.entries(config)) {
        if (isMarked(value)) {
            if (typeof value.secret !== "string" || value.secret.length === 0 || value.secret.length > 4096) {
                problems.push({ path: key, value: SECRET_PLACEHOLDER, message: 'a secret must be { "secret": "<value>" } with a non-empty string of at most 4096 characters' });
            } else {
                secrets[key] = value.secret;
            }
            out[key] = { ...SECRET_PLACEHOLDER };
        } else if (isCiphertext(value)) {
            problems.push({ path: key, value: SECRET_PLACEHOLDER, message: 'is Pulumi ciphertext ({ "secure": … }), which only the stack that encrypted it can read; send the value as { "secret": "<value>" }: the portal sets it as a Pulumi secret of this stack' });
            out[key] = { ...SECRET_PLACEHOLDER };
        } else if (isSecretKey(key)) {
            problems.push({ path: key, value: SECRET_PLACEHOLDER, message: `is a credential: send it as { "secret": "<value>" } (stored apart, set as a Pulumi secret, never shown), never as plain config` });
            out[key] = { ...SECRET_PLACEHOLDER };
        } else {
            out[key] = value;
        }
    }
    return { config: out, secrets, problems };
}

/** A stored config as views show it: every credential key's value replaced by SECRET_PLACEHOLDER (rows from before this rule too). */
export function redactConfig(config: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(config)) out[key] = isSecretKey(key) || isMarked(value) || isCiphertext(value) ? { ...SECRET_PLACEHOLDER } : value;
    return out;
}
