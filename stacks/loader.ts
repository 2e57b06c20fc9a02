// The only reader of Pulumi config: from the running engine (`pulumi up`, the mock runtime) or from a
// `Pulumi.<stack>.yaml` file (offline preview, portal). Both end in `parseStackConfig`.
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { LineCounter, parseDocument, YAMLError } from "yaml";
import { byocKeys, formatProblems, parseStackConfig, ConfigProblem, StackConfig } from "./schema";
import { normalizeConfigKeys, STACK_FILE_KEYS, stackFileKeyMessage } from "./keys";

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

/** The running engine's config, every value decoded (also read by the bootstrap project, bootstrap/index.ts). */
export function engineConfig(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) raw[key] = decode(value);
    return raw;
}

/** Validates and returns the configuration of the running stack; throws before any resource exists. */
export function loadStackConfig(): StackConfig {
    return parseOrThrow(engineConfig(), `stack ${pulumi.getStack()}`);
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

/**
 * Reads `Pulumi.<stack>.yaml` from `dir`, config keyed as Pulumi keys it (a key without a namespace is byoc:<key>).
 * A missing file, bad YAML, a top-level key Pulumi would ignore or a config key it cannot read is a
 * StackConfigError (listing the config's own problems too), never a crash; the config itself is validated by
 * `parseStackConfig`, as for the engine's config.
 */
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
    const doc = parseYamlFile(file, text);
    const config = (doc as { config?: unknown } | null)?.config;
    // Keys Pulumi would ignore (ProjectStack has no such field), or could not read; listed with the config's own problems.
    const problems: ConfigProblem[] = [];
    if (doc !== null && typeof doc === "object" && !Array.isArray(doc)) {
        for (const [key, value] of Object.entries(doc)) {
            if (!(STACK_FILE_KEYS as readonly string[]).includes(key)) problems.push({ path: `${file}: ${key}`, value, message: stackFileKeyMessage(key, byocKeys) });
        }
    }
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
        throw new StackConfigError(file, [{ path: `${file}: config`, value: config, message: "must be a map of config keys" }, ...problems]);
    }
    // As Pulumi keys it: `foo` is byoc:foo, `byoc:config:foo` is byoc:foo.
    const normalized = normalizeConfigKeys(config as Record<string, unknown>);
    problems.push(...normalized.problems);
    if (problems.length > 0) {
        const rest = parseStackConfig(normalized.raw);
        throw new StackConfigError(file, [...problems, ...(rest.ok ? [] : rest.problems)]);
    }
    return { stack, file, raw: normalized.raw };
}

/**
 * The stack file's YAML as plain data. Every error and warning of the `yaml` parser is one problem with its line,
 * column and the text there (YAMLError: `code`, `pos`; the LineCounter turns `pos` into line and column, as
 * `linePos` would be with prettyErrors), so a duplicate key or a stray tab is never a silent override.
 */
function parseYamlFile(file: string, text: string): unknown {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
    // One problem per position: a stray tab also makes the parser misread the rest of that line.
    const issues: YAMLError[] = [...doc.errors, ...doc.warnings]
        .sort((a, b) => a.pos[0] - b.pos[0])
        .filter((e, i, all) => i === 0 || e.pos[0] !== all[i - 1].pos[0]);
    if (issues.length > 0) throw new StackConfigError(file, issues.map((e) => ({ path: file, value: undefined, message: `is not valid YAML: ${yamlIssue(e, text, lineCounter)}` })));
    try {
        return doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
        // Unresolved or runaway aliases surface only here, without a position.
        throw new StackConfigError(file, [{ path: file, value: undefined, message: `is not valid YAML: ${(err as Error).message}` }]);
    }
}

/** `Map keys must be unique (DUPLICATE_KEY) at line 5, column 3: "  byoc:network:"`. */
function yamlIssue(e: YAMLError, text: string, lineCounter: LineCounter): string {
    const { line, col } = lineCounter.linePos(e.pos[0]);
    const lines = text.split(/\r?\n/);
    const quote = (t: string) => JSON.stringify(t.length > 80 ? `${t.slice(0, 77)}...` : t);
    const at = `${e.message} (${e.code}) at line ${line}, column ${col}`;
    const here = (lines[line - 1] ?? "").trimEnd();
    if (here.trim() !== "") return `${at}: ${quote(here)}`;
    // An unclosed bracket or quote is reported where the input ends: show the last line with text before it.
    let before = line - 2;
    while (before >= 0 && lines[before].trim() === "") before--;
    const where = e.pos[0] >= text.trimEnd().length ? " (the end of the file)" : "";
    return before < 0 ? `${at}${where}` : `${at}${where}, after line ${before + 1}: ${quote(lines[before].trimEnd())}`;
}

/** Pulumi's own text form of config values, as `pulumi.runtime.setAllConfig` and PULUMI_CONFIG expect them. */
export function toEngineConfig(raw: Record<string, unknown>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(raw)) out[key] = typeof value === "string" ? value : JSON.stringify(value);
    return out;
}
