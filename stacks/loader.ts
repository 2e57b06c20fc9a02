// The only reader of Pulumi config: from the running engine (`pulumi up`, the mock runtime) or from a
// `Pulumi.<stack>.yaml` file (offline preview, portal). Both end in `parseStackConfig`.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import { formatProblems, parseStackConfig, ConfigProblem, StackConfig } from "./schema";

export class StackConfigError extends pulumi.RunError {
    constructor(readonly source: string, readonly problems: ConfigProblem[]) {
        super(`Invalid stack configuration in ${source} (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n${formatProblems(problems)}`);
        this.name = "StackConfigError";
    }
}

/** Decodes a value as the Pulumi engine hands it over: objects arrive as JSON text, plain strings as themselves. */
function decode(value: string): unknown {
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/** Validates and returns the configuration of the running stack; throws before any resource exists. */
export function loadStackConfig(): StackConfig {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) raw[key] = decode(value);
    return parseOrThrow(raw, `stack ${pulumi.getStack()}`);
}

export function parseOrThrow(raw: Record<string, unknown>, source: string): StackConfig {
    const result = parseStackConfig(raw);
    if (!result.ok) throw new StackConfigError(source, result.problems);
    return result.config;
}

export interface StackFile {
    stack: string;
    file: string;
    /** Config as Pulumi keys it ("aws:region", "byoc:network"), values decoded. Secure values stay ciphertext objects. */
    raw: Record<string, unknown>;
}

/** Reads `Pulumi.<stack>.yaml` from `dir`; a missing file or bad YAML is a StackConfigError, never a crash. */
export function readStackFile(stack: string, dir = process.cwd()): StackFile {
    // Pulumi's own stack-name alphabet; anything else ("../x", "a/b") would read a file outside `dir`.
    if (typeof stack !== "string" || !/^[A-Za-z0-9_.-]+$/.test(stack) || /^\.+$/.test(stack)) {
        throw new StackConfigError(`Pulumi.${stack}.yaml`, [{ path: "stack", value: stack, message: "is not a stack name: use letters, digits, '-', '_' and '.'" }]);
    }
    const file = path.join(dir, `Pulumi.${stack}.yaml`);
    let text: string;
    try {
        text = fs.readFileSync(file, "utf8");
    } catch {
        throw new StackConfigError(file, [{ path: file, value: undefined, message: `stack file not found; create Pulumi.${stack}.yaml (see README "Adding a customer stack")` }]);
    }
    let doc: unknown;
    try {
        doc = parseYaml(text);
    } catch (err) {
        throw new StackConfigError(file, [{ path: file, value: undefined, message: `is not valid YAML: ${(err as Error).message.split("\n")[0]}` }]);
    }
    const config = (doc as { config?: unknown } | null)?.config;
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new StackConfigError(file, [{ path: `${file}: config`, value: config, message: "must be a map of config keys" }]);
    }
    return { stack, file, raw: { ...(config as Record<string, unknown>) } };
}

/** Pulumi's own text form of config values, as `pulumi.runtime.setAllConfig` and PULUMI_CONFIG expect them. */
export function toEngineConfig(raw: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) out[key] = typeof value === "string" ? value : JSON.stringify(value);
    return out;
}
