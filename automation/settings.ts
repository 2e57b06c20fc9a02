// Where stacks live and how their secrets are encrypted, from the environment, with defaults that work on a
// fresh clone: a file:// backend and a generated passphrase under .byoc/.
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";

export const REPO_ROOT = path.resolve(__dirname, "..");

export type EngineKind = "pulumi" | "offline" | "deployments";

export interface PulumiSettings {
    /** The Pulumi program's directory: this repository. */
    workDir: string;
    backendUrl: string;
    /** "passphrase" (default), or e.g. "awskms://alias/byoc-state?region=us-east-1" for teams. */
    secretsProvider: string;
    /** Environment for every CLI call: backend URL, passphrase (when the provider is passphrase). */
    envVars: Record<string, string>;
    policyPackDir: string;
    policyConfigDir: string;
}

/** Resolves the Pulumi settings; with the passphrase provider and no passphrase given, creates `.byoc/passphrase` (0600). */
export function pulumiSettings(env: NodeJS.ProcessEnv = process.env, root = REPO_ROOT): PulumiSettings {
    const dataDir = path.join(root, ".byoc");
    const backendUrl = env.PULUMI_BACKEND_URL || `file://${path.join(dataDir, "state")}`;
    if (backendUrl.startsWith("file://")) fs.mkdirSync(backendUrl.slice("file://".length), { recursive: true });
    const secretsProvider = env.BYOC_SECRETS_PROVIDER || "passphrase";
    if (!/^(passphrase|default|awskms:\/\/.+|azurekeyvault:\/\/.+|gcpkms:\/\/.+|hashivault:\/\/.+)$/.test(secretsProvider)) {
        throw new Error(`BYOC_SECRETS_PROVIDER = "${secretsProvider}": use "passphrase" or a KMS URL such as awskms://alias/byoc-state?region=us-east-1`);
    }
    const envVars: Record<string, string> = { PULUMI_BACKEND_URL: backendUrl, PULUMI_SKIP_UPDATE_CHECK: "true" };
    if (secretsProvider === "passphrase") {
        if (env.PULUMI_CONFIG_PASSPHRASE !== undefined) envVars.PULUMI_CONFIG_PASSPHRASE = env.PULUMI_CONFIG_PASSPHRASE;
        else if (env.PULUMI_CONFIG_PASSPHRASE_FILE) envVars.PULUMI_CONFIG_PASSPHRASE_FILE = env.PULUMI_CONFIG_PASSPHRASE_FILE;
        else envVars.PULUMI_CONFIG_PASSPHRASE_FILE = ensurePassphraseFile(dataDir);
    }
    return {
        workDir: root,
        backendUrl,
        secretsProvider,
        envVars,
        policyPackDir: path.join(root, "policies"),
        policyConfigDir: path.join(root, "policies", "config"),
    };
}

function ensurePassphraseFile(dataDir: string): string {
    const file = path.join(dataDir, "passphrase");
    fs.mkdirSync(dataDir, { recursive: true });
    try {
        fs.writeFileSync(file, randomBytes(32).toString("base64url") + "\n", { flag: "wx", mode: 0o600 });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    return file;
}

/** True when an executable `pulumi` is on PATH. */
export function pulumiOnPath(env: NodeJS.ProcessEnv = process.env): boolean {
    for (const dir of (env.PATH ?? "").split(path.delimiter)) {
        if (!dir) continue;
        try {
            fs.accessSync(path.join(dir, "pulumi"), fs.constants.X_OK);
            return true;
        } catch {
            // not in this directory
        }
    }
    return false;
}

/** `BYOC_ENGINE` = pulumi | offline | deployments | auto (default): auto picks pulumi when the CLI is on PATH. */
export function selectEngineKind(env: NodeJS.ProcessEnv = process.env): EngineKind {
    const wanted = (env.BYOC_ENGINE ?? "auto").trim() || "auto";
    if (wanted === "pulumi" || wanted === "offline" || wanted === "deployments") return wanted;
    if (wanted === "auto") return pulumiOnPath(env) ? "pulumi" : "offline";
    throw new Error(`BYOC_ENGINE = "${wanted}": use "pulumi", "offline" or "auto" (pulumi when the pulumi CLI is on PATH), or "deployments" (Pulumi Deployments)`);
}
