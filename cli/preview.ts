// `npm run preview -- <stack> [--json FILE|-]` and `npm run preview -- --all [--json DIR]`: the offline preview
// (DESIGN.md §6). Exit 0 clean, 1 on mandatory policy violations or a program error, 2 on invalid config or usage;
// with --all the worst of all stacks.
//
// Only commander is loaded to define the command: the config schema, the program and the provider SDKs are
// required when a preview runs, so `byoc policy check` and `byoc --help` never pay for them.
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import type { OfflineResult } from "../preview/offline";

export interface Io {
    out: (text: string) => void;
    err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

export const PREVIEW_EXIT_CODES = `
Exit codes:
  0  clean: no mandatory policy violation
  1  a mandatory policy violation, or a component rejected its arguments (the program failed)
  2  invalid stack configuration, a missing or unreadable stack file, or a usage error
  With --all: the worst code of all stacks.
Errors are one line each; BYOC_DEBUG=1 adds stack traces.`;

export interface PreviewOptions {
    /** A file for the snapshot; `-` writes it to stdout (the human output then goes to stderr). With --all: a directory. */
    json?: string;
    dir?: string;
}

export function previewCommand(io: Io = stdio, onExit: (code: number) => void = (c) => (process.exitCode = c)): Command {
    return new Command("preview")
        .description("validate Pulumi.<stack>.yaml, run the program under Pulumi's mock runtime and the policy pack, print what it builds")
        .argument("[stack]", "stack name: reads Pulumi.<stack>.yaml")
        .option("--all", "preview every Pulumi.<stack>.yaml in --dir, in one process: one line per stack and totals")
        .option("--json <file>", "write the snapshot in `pulumi stack export` shape (`-`: to stdout, the rest to stderr); with --all a directory, one <stack>.json each")
        .option("--dir <dir>", "directory holding the stack files", process.cwd())
        .option("--project <project>", "dataplane (the default: this directory's program) or bootstrap (the customer-run bootstrap/ project; stack files in bootstrap/)", "dataplane")
        .addHelpText("after", PREVIEW_EXIT_CODES)
        .action(async (stack: string | undefined, opts: PreviewOptions & { all?: boolean; project?: string }, cmd: Command) => {
            if (opts.project !== "dataplane" && opts.project !== "bootstrap") cmd.error(`error: --project "${opts.project}": must be dataplane or bootstrap`, { exitCode: 2, code: "byoc.usage" });
            if (opts.project === "bootstrap") {
                if (opts.all || stack === undefined) cmd.error(`error: --project bootstrap previews one stack: give its name (bootstrap/Pulumi.<stack>.yaml)`, { exitCode: 2, code: "byoc.usage" });
            } else {
                if (opts.all && stack !== undefined) cmd.error(`error: give a stack name or --all, not both`, { exitCode: 2, code: "byoc.usage" });
                if (!opts.all && stack === undefined) cmd.error(`error: missing required argument 'stack' (or --all for every Pulumi.<stack>.yaml)`, { exitCode: 2, code: "byoc.usage" });
                if (opts.all && opts.json === "-") cmd.error(`error: --all --json takes a directory (one <stack>.json per stack), not -`, { exitCode: 2, code: "byoc.usage" });
            }
            // The SDK captures a stack trace for every promise and resource; offline nobody reads them, and they cost
            // ~7% of a preview. BYOC_DEBUG=1 keeps them (and prints the traces of program errors).
            // Source maps only cost when read: with BYOC_DEBUG the traces point at the TypeScript lines.
            if (!process.env.BYOC_DEBUG) Error.stackTraceLimit = 0;
            else process.setSourceMapsEnabled(true);
            if (opts.project === "bootstrap") onExit(await runBootstrapPreview(stack!, opts, io));
            else onExit(opts.all ? await runPreviewAll(opts, io) : await runPreview(stack!, opts, io));
        });
}

/** What one stack's preview came to: the exit code, and either the result or the reason there is none. */
interface Outcome {
    stack: string;
    code: 0 | 1 | 2;
    result?: OfflineResult;
    /** The full message (config problems, program errors), one line per problem. */
    problem?: string;
    /** The same in one line, for --all. */
    summary?: string;
}

const plural = (n: number, word: string, many = `${word}s`) => `${n} ${n === 1 ? word : many}`;

/** One line per program error: the message for Pulumi's own errors, `Name: message` for anything else (a bug). */
function describeFailure(err: unknown): { lines: string[]; unexpected: boolean } {
    const { RunError, ResourceError }: typeof import("@pulumi/pulumi") = require("@pulumi/pulumi");
    const { ProgramErrors, DuplicateUrnError }: typeof import("../preview/runtime") = require("../preview/runtime");
    const errors = err instanceof ProgramErrors ? err.errors : [err];
    let unexpected = false;
    const lines = errors.map((e) => {
        if (process.env.BYOC_DEBUG) return (e instanceof Error && e.stack) || String(e);
        if (!(e instanceof Error)) return String(e);
        const pulumiError: boolean = RunError.isInstance(e) || ResourceError.isInstance(e);
        if (pulumiError || e instanceof DuplicateUrnError || e.constructor === Error) return e.message;
        unexpected = true;
        return `${e.name}: ${e.message}`;
    });
    return { lines, unexpected };
}

/** Validates and previews one stack file; never throws for a bad stack (only for a bug in this tool). */
async function previewStack(stack: string, dir: string): Promise<Outcome> {
    (require("../preview/sdkLoad") as typeof import("../preview/sdkLoad")).deferClosureSerializer();
    const { readStackFile, StackConfigError }: typeof import("../stacks/loader") = require("../stacks/loader");
    let raw: Record<string, unknown>;
    try {
        raw = readStackFile(stack, dir).raw;
    } catch (err) {
        if (err instanceof StackConfigError) return { stack, code: 2, problem: err.message, summary: err.problems.map((p) => p.message).join("; ") };
        throw err;
    }
    const { offlinePreview }: typeof import("../preview/offline") = require("../preview/offline");
    const result = await offlinePreview(stack, raw);
    if (result.exitCode === 2) {
        const { formatProblems }: typeof import("../stacks/schema") = require("../stacks/schema");
        const n = plural(result.problems.length, "problem");
        return {
            stack,
            code: 2,
            problem: `Invalid stack configuration in Pulumi.${stack}.yaml (${n}):\n${formatProblems(result.problems)}`,
            summary: `invalid config, ${n}: ${[...new Set(result.problems.map((p) => p.path))].join(", ")}`,
        };
    }
    if (result.error !== undefined || !result.run || !result.policy) {
        const { lines, unexpected } = describeFailure(result.failure ?? new Error(result.error ?? "no result"));
        const indented = lines.map((l) => l.replace(/^/gm, "  "));
        if (unexpected && !process.env.BYOC_DEBUG) indented.push("  (an error in the program itself: BYOC_DEBUG=1 prints its stack trace)");
        return { stack, code: 1, result, problem: `The program failed for stack ${stack}:\n${indented.join("\n")}`, summary: `program failed: ${lines.map((l) => l.split("\n")[0]).join("; ")}` };
    }
    return { stack, code: result.exitCode, result };
}

export async function runPreview(stack: string, opts: PreviewOptions, io: Io = stdio): Promise<number> {
    const outcome = await previewStack(stack, opts.dir ?? process.cwd());
    if (outcome.problem !== undefined) {
        io.err(outcome.problem);
        return outcome.code;
    }
    const result = outcome.result!;
    const run = result.run!;
    const config = result.config!;
    // With `--json -` stdout carries the snapshot alone.
    const say = opts.json === "-" ? io.err : io.out;
    const { formatActions, formatCounts, formatFlows, formatPolicy, formatTree, MOCK_LEGEND }: typeof import("../preview/printer") = require("../preview/printer");
    const flows = formatFlows(result.flows ?? [], { invented: run.invented });
    const actions = formatActions((result.outputs?.operatorActions ?? []) as string[], run.invented);
    say(`Stack ${stack} (${config.environment}, customer ${config.customer.id}, ${config.region}): ${result.resourceCount} resources\n`);
    say(formatTree(run.resources));
    say(`\nResources by type:\n${formatCounts(run.resources)}`);
    say(`\nPolicy pack:\n${formatPolicy(result.policy!)}`);
    say(`\nNetwork flows:\n${flows.text}`);
    say(`\nOutside Pulumi (phase ${config.controlPlane.access}):\n${actions.text}`);
    if (flows.marked || actions.marked) say(`\n${MOCK_LEGEND}`);
    emitSnapshot(opts, io, result.snapshot);
    return result.exitCode;
}

/**
 * `--project bootstrap <stack>`: validates `bootstrap/Pulumi.<stack>.yaml` (namespace `byoc-bootstrap:`), runs
 * bootstrap/index.ts under the mock runtime and prints the tree, the counts and the outputs. Exit 0 clean, 1 the
 * program failed, 2 invalid config. `--dir` names the directory of the stack files (default: ./bootstrap).
 */
export async function runBootstrapPreview(stack: string, opts: PreviewOptions, io: Io = stdio): Promise<number> {
    const cwd = process.cwd();
    const dir = opts.dir && path.resolve(opts.dir) !== cwd ? opts.dir : path.join(cwd, "bootstrap");
    (require("../preview/sdkLoad") as typeof import("../preview/sdkLoad")).deferClosureSerializer();
    const { readBootstrapStackFile, BootstrapConfigError, formatProblems }: typeof import("../bootstrap/config") = require("../bootstrap/config");
    let raw: Record<string, unknown>;
    try {
        raw = readBootstrapStackFile(stack, dir);
    } catch (err) {
        if (err instanceof BootstrapConfigError) {
            io.err(err.message);
            return 2;
        }
        throw err;
    }
    const { offlineBootstrapPreview }: typeof import("../preview/offline") = require("../preview/offline");
    const result = await offlineBootstrapPreview(stack, raw);
    if (result.exitCode === 2) {
        io.err(`Invalid stack configuration in ${path.join(dir, `Pulumi.${stack}.yaml`)} (${plural(result.problems.length, "problem")}):\n${formatProblems(result.problems)}`);
        return 2;
    }
    if (result.error !== undefined || !result.run) {
        const { lines } = describeFailure(result.failure ?? new Error(result.error ?? "no result"));
        io.err(`The bootstrap program failed for stack ${stack}:\n${lines.map((l) => l.replace(/^/gm, "  ")).join("\n")}`);
        return 1;
    }
    const say = opts.json === "-" ? io.err : io.out;
    const { formatCounts, formatTree, markInvented, MOCK_LEGEND }: typeof import("../preview/printer") = require("../preview/printer");
    const c = result.config!;
    say(`Bootstrap stack ${stack} (customer ${c.customer}, account ${c.accountId}, ${c.region}): ${result.resourceCount} resources`);
    say(`  vendor access ${c.vendorAccess}${c.vendorAccess === "suspended" ? ` (sessions issued before ${c.suspendedAt ?? "this up"} revoked)` : ""}; break-glass ${c.breakGlass}; trail ${c.createTrail ? "created" : "not created"}\n`);
    say(formatTree(result.run.resources));
    say(`\nResources by type:\n${formatCounts(result.run.resources)}`);
    const shown = Object.entries(result.outputs ?? {}).map(([k, v]) => `  ${k}: ${k === "externalId" || (v && typeof v === "object") ? "[secret]" : String(v)}`).join("\n");
    const marked = markInvented(shown, result.run.invented);
    say(`\nOutputs (what the provider needs):\n${marked.text}`);
    if (c.externalId === undefined) say(`\nbyoc-bootstrap:externalId is ciphertext in the stack file; the preview used a placeholder (pulumi up decrypts it).`);
    if (marked.marked) say(`\n${MOCK_LEGEND}`);
    emitSnapshot(opts, io, result.snapshot);
    return 0;
}

/** `--json -`: the snapshot alone on stdout (everything else went to stderr); `--json FILE`: written, and said so. */
function emitSnapshot(opts: PreviewOptions, io: Io, snapshot: unknown) {
    if (opts.json === "-") io.out(JSON.stringify(snapshot, null, 2));
    else if (opts.json) {
        writeJson(opts.json, snapshot);
        io.out(`\nSnapshot written to ${opts.json}`);
    }
}

function writeJson(file: string, value: unknown) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

/** The stacks of a directory: every `Pulumi.<stack>.yaml` (not the project's `Pulumi.yaml`), sorted. */
export function stackFiles(dir: string): string[] {
    return fs
        .readdirSync(dir)
        .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * `--all`: every stack of `dir` in this process, one after the other (the mock runtime is process-global), reusing
 * the loaded program and SDKs. One line per stack, then totals; the exit code is the worst. Results are dropped as
 * soon as their line is printed (and their snapshot written), so memory stays that of one stack.
 */
export async function runPreviewAll(opts: PreviewOptions, io: Io = stdio): Promise<number> {
    const dir = path.resolve(opts.dir ?? process.cwd());
    let stacks: string[];
    try {
        stacks = stackFiles(dir);
    } catch (err) {
        io.err(`preview --all: cannot read ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        return 2;
    }
    if (stacks.length === 0) {
        io.err(`preview --all: no Pulumi.<stack>.yaml in ${dir}`);
        return 2;
    }
    if (opts.json) {
        try {
            fs.mkdirSync(opts.json, { recursive: true });
        } catch (err) {
            io.err(`preview --all: --json ${opts.json}: cannot create the directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
            return 2;
        }
    }
    const width = Math.max(...stacks.map((s) => s.length));
    const started = performance.now();
    const counts = { clean: 0, violations: 0, failed: 0, invalid: 0 };
    let resources = 0;
    let worst = 0;
    for (const stack of stacks) {
        const t0 = performance.now();
        let o: Outcome;
        try {
            o = await previewStack(stack, dir);
        } catch (err) {
            // A bug in this tool for one stack must not hide the verdict on the others.
            o = { stack, code: 1, summary: `error: ${(err as Error)?.message ?? String(err)}` };
        }
        const secs = ((performance.now() - t0) / 1000).toFixed(1);
        worst = Math.max(worst, o.code);
        const r = o.result;
        let detail: string;
        if (r?.policy && r.run) {
            resources += r.resourceCount;
            const p = r.policy;
            const failing = [...new Set(p.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.policy))];
            detail = `${String(r.resourceCount).padStart(4)} resources  policy ${p.mandatoryCount} mandatory${failing.length ? ` (${failing.join(", ")})` : ""}, ${p.advisoryCount} advisory`;
            if (opts.json) writeJson(path.join(opts.json, `${stack}.json`), r.snapshot);
            if (o.code === 0) counts.clean++;
            else counts.violations++;
        } else {
            detail = `${o.summary}`;
            if (o.code === 2) counts.invalid++;
            else counts.failed++;
        }
        io.out(`${stack.padEnd(width)}  exit ${o.code}  ${detail}  (${secs} s)`);
    }
    const secs = ((performance.now() - started) / 1000).toFixed(1);
    io.out(
        `${plural(stacks.length, "stack")}, ${resources} resources in ${secs} s: ${counts.clean} clean, ${counts.violations} with mandatory violations, ` +
            `${plural(counts.failed, "program error")}, ${counts.invalid} invalid config${opts.json ? `; snapshots in ${opts.json}` : ""} — exit ${worst}`,
    );
    return worst;
}

if (require.main === module) {
    const program = previewCommand().exitOverride();
    program.parseAsync(process.argv).catch((err) => {
        if (err instanceof CommanderError) {
            process.exitCode = err.exitCode === 0 ? 0 : 2;
            return;
        }
        console.error(`preview failed: ${(err as Error).message}`);
        process.exitCode = 1;
    });
}
