/**
 * `byoc` — the command-line root. Subcommands:
 *   byoc policy check FILE [--env dev|prod] [--config FILE] [--json]   (cli/policy-check.ts)
 *   byoc preview …                                                        (cli/preview.ts, registered when present)
 *   byoc portal …                                                         (cli/portal.ts, registered when present)
 * Subcommand modules are loaded lazily so `byoc policy check` does not pay for the preview runtime or the portal.
 */
import * as fs from "fs";
import * as path from "path";
import { Command, CommanderError } from "commander";

/**
 * Optional subcommand modules owned by other parts of the repo (cli/preview.ts, cli/portal.ts). The module is
 * only required when its subcommand runs, and may export any of:
 *   `<name>Command(): Command`  — a commander command (e.g. `previewCommand`), parsed with the remaining args;
 *   `main(argv): number | Promise<number>` — returns the exit code;
 *   `register(program: Command)` — attaches its own subcommand.
 * Until the module exists, nothing is registered.
 */
type SubcommandModule = {
    main?: (argv: string[]) => number | Promise<number>;
    register?: (program: Command) => void;
} & Record<string, unknown>;

function registerOptional(program: Command, name: "preview" | "portal"): void {
    const file = ["ts", "js"].map((ext) => path.join(__dirname, `${name}.${ext}`)).find((f) => fs.existsSync(f));
    if (!file) return;
    program
        .command(name)
        .description(`${name} (cli/${name}.ts; run \`byoc ${name} --help\` for its options)`)
        .allowUnknownOption()
        .helpOption(false)
        .argument("[args...]")
        .action(async (args: string[]) => {
            const mod = require(file) as SubcommandModule;
            const factory = mod[`${name}Command`];
            if (typeof factory === "function") {
                const sub = (factory as () => Command)().exitOverride();
                await sub.parseAsync(args, { from: "user" });
            } else if (typeof mod.main === "function") {
                process.exitCode = await mod.main(args);
            } else if (typeof mod.register === "function") {
                const root = new Command("byoc").exitOverride();
                mod.register(root);
                await root.parseAsync([name, ...args], { from: "user" });
            } else {
                throw new Error(`cli/${name} exports no ${name}Command(), main() or register()`);
            }
        });
}

export function buildProgram(): Command {
    // exitOverride before adding subcommands so they inherit it: usage errors exit 2, --help exits 0.
    const program = new Command("byoc").description("BYOC data plane tooling").exitOverride().showHelpAfterError();
    const policy = program.command("policy").description("CrossGuard policy pack tools");
    const { configurePolicyCheckCommand, executePolicyCheck } = require("./policy-check") as typeof import("./policy-check");
    configurePolicyCheckCommand(policy.command("check")).action((file: string, opts: { env?: "dev" | "prod"; config?: string; json?: boolean }) => {
        process.exitCode = executePolicyCheck(file, opts);
    });
    // preview: registered from cli/preview.ts (exports main(argv) or register(program)) once it exists.
    registerOptional(program, "preview");
    // portal: registered from cli/portal.ts (exports main(argv) or register(program)) once it exists.
    registerOptional(program, "portal");
    return program;
}

/** Runs the CLI; resolves to the exit code (also set on process.exitCode). */
export async function main(argv: string[] = process.argv): Promise<number> {
    try {
        await buildProgram().parseAsync(argv);
    } catch (e) {
        if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
        else {
            process.stderr.write(`byoc: ${e instanceof Error ? e.message : String(e)}\n`);
            process.exitCode = 2;
        }
    }
    return typeof process.exitCode === "number" ? process.exitCode : 0;
}

if (require.main === module) void main();
