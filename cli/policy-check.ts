/**
 * `byoc policy check FILE [--env dev|prod] [--config FILE] [--json]`
 *
 * Evaluates the CrossGuard pack (policies/rules, via policies/engine) against a `pulumi stack export`
 * file, an old checkpoint, a `pulumi preview --json` file or the offline preview's snapshot.
 * Exit codes: 0 no mandatory violation, 1 at least one mandatory violation, 2 unreadable input/usage error.
 */
import * as path from "path";
import { Command, CommanderError, Option } from "commander";
import { Environment, evaluatePolicies, loadPackConfig, PolicyConfigError, PolicyReport } from "../policies/engine";
import { detectEnvironment, readSnapshotFile, SnapshotError, SnapshotFormat } from "../policies/snapshot";

export interface PolicyCheckIO {
    stdout: { write(s: string): unknown };
    stderr: { write(s: string): unknown };
}
export interface PolicyCheckOptions {
    env?: Environment;
    config?: string;
    json?: boolean;
}
export interface PolicyCheckResult {
    file: string;
    format: SnapshotFormat;
    environment: Environment;
    environmentSource: "flag" | "document" | "tags" | "default";
    config: string;
    report: PolicyReport;
}

export const EXIT_OK = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_UNREADABLE = 2;

const defaultIO: PolicyCheckIO = { stdout: process.stdout, stderr: process.stderr };

/** Adds the arguments/options of `policy check` to a commander command (shared by runPolicyCheck and cli/byoc.ts). */
export function configurePolicyCheckCommand(cmd: Command): Command {
    return cmd
        .description("evaluate the policy pack against a pulumi stack export, preview --json or offline snapshot file")
        .argument("<file>", "stack export / checkpoint / preview --json / offline snapshot (JSON)")
        .addOption(new Option("--env <env>", "environment whose enforcement applies (default: the resources' byoc:environment tag, else dev)").choices(["dev", "prod"]))
        .option("--config <file>", "policy pack config JSON (default: policies/config/<env>.json)")
        .option("--json", "print the report as JSON");
}

/** Runs the check on one file; returns the exit code. Never throws for bad input. */
export function executePolicyCheck(file: string, opts: PolicyCheckOptions, io: PolicyCheckIO = defaultIO): number {
    let result: PolicyCheckResult;
    try {
        result = checkFile(file, opts);
    } catch (e) {
        if (e instanceof SnapshotError || e instanceof PolicyConfigError) {
            io.stderr.write(`byoc policy check: ${e.message}\n`);
            return EXIT_UNREADABLE;
        }
        io.stderr.write(`byoc policy check: unexpected error: ${e instanceof Error ? e.message : String(e)}\n`);
        return EXIT_UNREADABLE;
    }
    io.stdout.write(opts.json ? JSON.stringify(toJson(result), null, 2) + "\n" : formatText(result));
    return result.report.mandatoryCount > 0 ? EXIT_VIOLATIONS : EXIT_OK;
}

export function checkFile(file: string, opts: PolicyCheckOptions = {}): PolicyCheckResult {
    const snap = readSnapshotFile(file);
    let environment: Environment = "dev";
    let environmentSource: PolicyCheckResult["environmentSource"] = "default";
    const tagged = detectEnvironment(snap.resources);
    if (opts.env) [environment, environmentSource] = [opts.env, "flag"];
    else if (snap.declaredEnvironment) [environment, environmentSource] = [snap.declaredEnvironment, "document"];
    else if (tagged) [environment, environmentSource] = [tagged, "tags"];
    const configFile = opts.config ?? path.join(__dirname, "..", "policies", "config", `${environment}.json`);
    const config = loadPackConfig(environment, configFile);
    const report = evaluatePolicies(snap.resources, { env: environment, config });
    return { file, format: snap.format, environment, environmentSource, config: configFile, report };
}

function toJson(r: PolicyCheckResult) {
    const { environment: _env, ...report } = r.report;
    return {
        file: r.file,
        format: r.format,
        environment: r.environment,
        environmentSource: r.environmentSource,
        config: path.relative(process.cwd(), r.config) || r.config,
        ...report,
    };
}

export function formatText(r: PolicyCheckResult): string {
    const { report } = r;
    const lines: string[] = [];
    lines.push(`Policy check of ${r.file} (${r.format}, env ${r.environment} from ${r.environmentSource}, config ${path.relative(process.cwd(), r.config) || r.config})`);
    const order = { mandatory: 0, remediate: 0, advisory: 1, disabled: 2 } as const;
    const sorted = [...report.violations].sort((a, b) => order[a.enforcementLevel] - order[b.enforcementLevel] || a.policy.localeCompare(b.policy));
    for (const v of sorted) {
        lines.push("");
        lines.push(`  ${v.enforcementLevel.toUpperCase().padEnd(9)} ${v.policy}`);
        lines.push(`            ${v.urn ?? "(stack)"}`);
        lines.push(`            ${v.message}`);
    }
    if (report.errors.length > 0) {
        lines.push("");
        lines.push("Malformed resources (skipped):");
        for (const e of report.errors) lines.push(`  - ${e.urn ?? `resource #${e.index ?? "?"}`}: ${e.message}`);
    }
    lines.push("");
    lines.push(
        `Summary: ${report.checkedResources} resources checked against ${report.policyCount} policies: ` +
            `${report.mandatoryCount} mandatory, ${report.advisoryCount} advisory violation(s), ${report.errors.length} malformed resource(s).`,
    );
    lines.push(report.mandatoryCount > 0 ? "Result: FAILED (mandatory violations)" : "Result: passed");
    return lines.join("\n") + "\n";
}

/**
 * In-process entry point: `argv` are the arguments after `policy check` (e.g. ["snap.json", "--env", "prod"]).
 * Returns the exit code.
 */
export function runPolicyCheck(argv: string[], io: PolicyCheckIO = defaultIO): number {
    let code: number | undefined;
    const cmd = configurePolicyCheckCommand(new Command("byoc policy check"))
        .exitOverride()
        .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
        .action((file: string, opts: PolicyCheckOptions) => {
            code = executePolicyCheck(file, opts, io);
        });
    try {
        cmd.parse(argv, { from: "user" });
    } catch (e) {
        if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT_OK : EXIT_UNREADABLE;
        throw e;
    }
    return code ?? EXIT_UNREADABLE;
}

if (require.main === module) {
    process.exitCode = runPolicyCheck(process.argv.slice(2));
}
