// `npm run preview -- <stack> [--json FILE]`: the offline preview (DESIGN.md §6). Exit 0 clean, 1 on mandatory
// policy violations or a program error, 2 on invalid config.
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";
import { readStackFile, StackConfigError } from "../stacks/loader";
import { formatProblems } from "../stacks/schema";
import { offlinePreview } from "../preview/offline";
import { formatActions, formatCounts, formatFlows, formatPolicy, formatTree } from "../preview/printer";

export interface Io {
    out: (text: string) => void;
    err: (text: string) => void;
}

const stdio: Io = { out: (t) => process.stdout.write(`${t}\n`), err: (t) => process.stderr.write(`${t}\n`) };

export function previewCommand(io: Io = stdio, onExit: (code: number) => void = (c) => (process.exitCode = c)): Command {
    return new Command("preview")
        .description("validate Pulumi.<stack>.yaml, run the program under Pulumi's mock runtime and the policy pack, print what it builds")
        .argument("<stack>", "stack name: reads Pulumi.<stack>.yaml")
        .option("--json <file>", "write the snapshot in `pulumi stack export` shape")
        .option("--dir <dir>", "directory holding the stack files", process.cwd())
        .action(async (stack: string, opts: { json?: string; dir: string }) => onExit(await runPreview(stack, opts, io)));
}

export async function runPreview(stack: string, opts: { json?: string; dir?: string }, io: Io = stdio): Promise<number> {
    let raw: Record<string, unknown>;
    try {
        raw = readStackFile(stack, opts.dir ?? process.cwd()).raw;
    } catch (err) {
        if (err instanceof StackConfigError) {
            io.err(err.message);
            return 2;
        }
        throw err;
    }
    const result = await offlinePreview(stack, raw);
    if (result.exitCode === 2) {
        io.err(`Invalid stack configuration in Pulumi.${stack}.yaml (${result.problems.length} problem${result.problems.length === 1 ? "" : "s"}):\n${formatProblems(result.problems)}`);
        return 2;
    }
    if (result.error !== undefined || !result.run || !result.policy) {
        io.err(`The program failed for stack ${stack}:\n  ${result.error}`);
        return 1;
    }
    io.out(`Stack ${stack} (${result.config!.environment}, customer ${result.config!.customer.id}, ${result.config!.region}): ${result.resourceCount} resources\n`);
    io.out(formatTree(result.run.resources));
    io.out(`\nResources by type:\n${formatCounts(result.run.resources)}`);
    io.out(`\nPolicy pack:\n${formatPolicy(result.policy)}`);
    io.out(`\nNetwork flows:\n${formatFlows(result.flows ?? [])}`);
    io.out(`\nOutside Pulumi (phase ${result.config!.controlPlane.access}):\n${formatActions((result.outputs?.operatorActions ?? []) as string[])}`);
    if (opts.json) {
        fs.mkdirSync(path.dirname(path.resolve(opts.json)), { recursive: true });
        fs.writeFileSync(opts.json, `${JSON.stringify(result.snapshot, null, 2)}\n`);
        io.out(`\nSnapshot written to ${opts.json}`);
    }
    return result.exitCode;
}

if (require.main === module) {
    // The SDK captures a stack trace for every promise and resource; offline nobody reads them, and they cost
    // ~7% of a preview. BYOC_DEBUG=1 keeps them.
    if (!process.env.BYOC_DEBUG) Error.stackTraceLimit = 0;
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
