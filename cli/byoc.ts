/**
 * `byoc` — the command-line root. Subcommands:
 *   byoc policy check FILE [--env dev|prod] [--config FILE] [--json]   (cli/policy-check.ts)
 *   byoc preview STACK [--json FILE]                                     (cli/preview.ts)
 *   byoc portal                                                           (cli/portal.ts)
 */
import { Command, CommanderError } from "commander";

export function buildProgram(): Command {
    // exitOverride before adding subcommands so they inherit it: usage errors exit 2, --help exits 0.
    const program = new Command("byoc").description("BYOC data plane tooling").exitOverride().showHelpAfterError();
    const policy = program.command("policy").description("CrossGuard policy pack tools");
    const { configurePolicyCheckCommand, executePolicyCheck } = require("./policy-check") as typeof import("./policy-check");
    configurePolicyCheckCommand(policy.command("check")).action((file: string, opts: { env?: "dev" | "prod"; config?: string; json?: boolean }) => {
        process.exitCode = executePolicyCheck(file, opts);
    });
    // cli/preview.ts loads the program and the provider SDKs only when a preview runs.
    program.addCommand((require("./preview") as typeof import("./preview")).previewCommand());
    program
        .command("portal")
        .description("start the provisioning service on 127.0.0.1:${PORT:-8080} (see README: Provisioning portal)")
        .action(() => (require("./portal") as typeof import("./portal")).main());
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
