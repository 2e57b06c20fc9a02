/**
 * `byoc` — the command-line root. Subcommands:
 *   byoc policy check FILE [--env dev|prod] [--config FILE] [--json]   (cli/policy-check.ts)
 *   byoc preview STACK [--json FILE|-] | --all [--json DIR]             (cli/preview.ts)
 *   byoc portal                                                           (cli/portal.ts)
 *
 * Defining the commands loads only commander: each subcommand requires what it needs when it runs (the policy
 * engine, the program and the provider SDKs, the portal), so `byoc policy check` never loads @pulumi/pulumi.
 */
import { Command, CommanderError } from "commander";
import { configurePolicyCheckCommand, POLICY_CHECK_EXIT_CODES } from "./policy-check";
import { previewCommand, PREVIEW_EXIT_CODES } from "./preview";

const VERSION: string = require("../package.json").version;

const ROOT_EXIT_CODES = `
Exit codes (every subcommand):
  0  success: no mandatory policy violation
  1  a mandatory policy violation, or the program failed (a component rejected its arguments);
     byoc portal: it could not start or stop
  2  invalid input (stack config, stack export, policy config) or a usage error
Errors are one line each; BYOC_DEBUG=1 adds stack traces.`;

const PORTAL_EXIT_CODES = `
Exit codes:
  0  stopped by SIGINT or SIGTERM
  1  could not start (bad settings, port in use) or stop cleanly
  2  a usage error`;

export function buildProgram(): Command {
    // exitOverride before adding subcommands so they inherit it: usage errors exit 2, --help/--version exit 0.
    const program = new Command("byoc")
        .description("BYOC data plane tooling")
        .version(VERSION, "-V, --version", "print the version of byoc-dataplane")
        .exitOverride()
        .showHelpAfterError()
        .addHelpText("after", ROOT_EXIT_CODES);
    const policy = program.command("policy").description("CrossGuard policy pack tools").addHelpText("after", POLICY_CHECK_EXIT_CODES.replace("Exit codes:", "Exit codes (policy check):"));
    configurePolicyCheckCommand(policy.command("check")).action((file: string, opts: { env?: "dev" | "prod"; config?: string; json?: boolean }) => {
        const { executePolicyCheck }: typeof import("./policy-check") = require("./policy-check");
        process.exitCode = executePolicyCheck(file, opts);
    });
    // addCommand does not pass settings on the way .command() does: the preview command gets them explicitly.
    program.addCommand(previewCommand().exitOverride().showHelpAfterError());
    program
        .command("portal")
        .description("start the provisioning service on 127.0.0.1:${PORT:-8080} (see README: Provisioning portal)")
        .addHelpText("after", PORTAL_EXIT_CODES)
        .action(async () => {
            try {
                await (require("./portal") as typeof import("./portal")).main();
            } catch (e) {
                process.stderr.write(`byoc portal: ${e instanceof Error ? e.message : String(e)}\n`);
                process.exitCode = 1;
            }
        });
    return program;
}

/** Runs the CLI; resolves to the exit code (also set on process.exitCode). */
export async function main(argv: string[] = process.argv): Promise<number> {
    try {
        await buildProgram().parseAsync(argv);
    } catch (e) {
        if (e instanceof CommanderError) process.exitCode = e.exitCode === 0 ? 0 : 2;
        else {
            process.stderr.write(`byoc: ${e instanceof Error ? (process.env.BYOC_DEBUG ? e.stack : e.message) : String(e)}\n`);
            process.exitCode = 2;
        }
    }
    return typeof process.exitCode === "number" ? process.exitCode : 0;
}

if (require.main === module) void main();
