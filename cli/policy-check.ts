/**
 * `byoc policy check FILE [--env dev|prod] [--config FILE] [--json | --format text|json|sarif|junit]`
 *
 * Evaluates the CrossGuard pack (policies/rules, via policies/engine) against a `pulumi stack export`
 * file, an old checkpoint, a `pulumi preview --json` file or the offline preview's snapshot.
 * Exit codes: 0 no mandatory violation, 1 at least one mandatory violation, 2 unreadable or empty input,
 * invalid policy config, usage error.
 *
 * Strict by default: a document that declares no environment is judged with prod enforcement; `--env dev` on a
 * prod document is warned about; a `--config` that disables or downgrades a rule the environment's own config
 * makes mandatory is named in the summary. The engine is loaded only when a check runs, so defining the command
 * (`byoc --help`, `byoc preview`) costs nothing.
 */
import * as path from "path";
import { Command, CommanderError, Option } from "commander";
import type { EnforcementLevel, Environment, PackConfig, PolicyReport } from "../policies/engine";
import type { SnapshotFormat } from "../policies/snapshot";
import type { ReportFormat } from "./formats";

export interface PolicyCheckIO {
    stdout: { write(s: string): unknown };
    stderr: { write(s: string): unknown };
}
export interface PolicyCheckOptions {
    env?: Environment;
    config?: string;
    json?: boolean;
    /** text (default), json (= --json), sarif (GitHub code scanning), junit (CI test reports): cli/formats.ts. */
    format?: ReportFormat;
}
/** A rule the environment's own config (policies/config/<env>.json) makes mandatory, weakened by `--config`. */
export interface WeakenedPolicy {
    policy: string;
    level: EnforcementLevel;
    /** Its level in policies/config/<env>.json. */
    standard: EnforcementLevel;
}
export interface PolicyCheckResult {
    file: string;
    format: SnapshotFormat;
    environment: Environment;
    environmentSource: "flag" | "document" | "tags" | "default";
    config: string;
    /** The pack config loaded from `config` (the formats take the enforcement levels from it). */
    packConfig: PackConfig;
    report: PolicyReport;
    weakened: WeakenedPolicy[];
    /** Printed on stderr (so `--json` output stays pure JSON) and listed in the JSON report. */
    warnings: string[];
}

export const EXIT_OK = 0;
export const EXIT_VIOLATIONS = 1;
export const EXIT_UNREADABLE = 2;

export const POLICY_CHECK_EXIT_CODES = `
Exit codes:
  0  no mandatory violation
  1  at least one mandatory violation
  2  unreadable input, an export with no resources, invalid policy config, or a usage error`;

const defaultIO: PolicyCheckIO = { stdout: process.stdout, stderr: process.stderr };

/** Adds the arguments/options of `policy check` to a commander command (shared by runPolicyCheck and cli/byoc.ts). */
export function configurePolicyCheckCommand(cmd: Command): Command {
    return cmd
        .description("evaluate the policy pack against a pulumi stack export, preview --json or offline snapshot file")
        .argument("<file>", "stack export / checkpoint / preview --json / offline snapshot (JSON)")
        .addOption(
            new Option("--env <env>", "environment whose enforcement applies (default: the document's or the resources' byoc:environment, else prod)").choices(["dev", "prod"]),
        )
        .option("--config <file>", "policy pack config JSON (default: policies/config/<env>.json)")
        .option("--json", "print the report as JSON (same as --format json)")
        .addOption(new Option("--format <format>", "report format: text, json, sarif (SARIF 2.1.0, GitHub code scanning) or junit (JUnit XML)").choices(["text", "json", "sarif", "junit"] satisfies ReportFormat[]).conflicts("json"))
        .addHelpText("after", POLICY_CHECK_EXIT_CODES);
}

/** Raised for input that parses but holds nothing to judge. */
class NothingToCheck extends Error {}

/** Runs the check on one file; returns the exit code. Never throws for bad input. */
export function executePolicyCheck(file: string, opts: PolicyCheckOptions, io: PolicyCheckIO = defaultIO): number {
    let result: PolicyCheckResult;
    try {
        result = checkFile(file, opts);
    } catch (e) {
        // Loaded by checkFile before it can throw them (cached: no cost here).
        const { SnapshotError }: typeof import("../policies/snapshot") = require("../policies/snapshot");
        const { PolicyConfigError }: typeof import("../policies/engine") = require("../policies/engine");
        const expected = e instanceof NothingToCheck || e instanceof SnapshotError || e instanceof PolicyConfigError;
        io.stderr.write(`byoc policy check: ${expected ? "" : "unexpected error: "}${e instanceof Error ? e.message : String(e)}\n`);
        return EXIT_UNREADABLE;
    }
    for (const w of result.warnings) io.stderr.write(`byoc policy check: warning: ${w}\n`);
    const format = opts.format ?? (opts.json ? "json" : "text");
    if (format === "sarif" || format === "junit") io.stdout.write((require("./formats") as typeof import("./formats")).renderReport(format, result));
    else io.stdout.write(format === "json" ? JSON.stringify(toJson(result), null, 2) + "\n" : formatText(result));
    if (result.report.checkedResources === 0) {
        io.stderr.write(`byoc policy check: ${file}: no well-formed resource to judge (${result.report.errors.length} malformed)\n`);
        return EXIT_UNREADABLE;
    }
    return result.report.mandatoryCount > 0 ? EXIT_VIOLATIONS : EXIT_OK;
}

export function checkFile(file: string, opts: PolicyCheckOptions = {}): PolicyCheckResult {
    const { detectEnvironment, readSnapshotFile }: typeof import("../policies/snapshot") = require("../policies/snapshot");
    const { enforcementLevelOf, evaluatePolicies, loadPackConfig, CONFIG_DIR }: typeof import("../policies/engine") = require("../policies/engine");
    const { allPolicies }: typeof import("../policies/rules") = require("../policies/rules");
    const snap = readSnapshotFile(file);
    if (snap.resources.length === 0) {
        throw new NothingToCheck(`${file}: no resources (${snap.format}): nothing to judge — an empty export is an error, not a pass`);
    }
    const warnings: string[] = [];
    const tagged = detectEnvironment(snap.resources);
    const declared = snap.declaredEnvironment ?? tagged;
    const declaredBy = snap.declaredEnvironment ? "document" : "tags";
    let environment: Environment = "prod"; // README: no environment means the strict setting
    let environmentSource: PolicyCheckResult["environmentSource"] = "default";
    if (opts.env) {
        [environment, environmentSource] = [opts.env, "flag"];
        if (declared === "prod" && opts.env === "dev") {
            warnings.push(
                `--env dev on a prod stack (${declaredBy === "document" ? "the document's byoc:environment" : "its resources' byoc:environment tags"} say prod): judged with dev's weaker enforcement`,
            );
        }
    } else if (declared) [environment, environmentSource] = [declared, declaredBy];
    const standardFile = path.join(CONFIG_DIR, `${environment}.json`);
    const configFile = opts.config ?? standardFile;
    const config = loadPackConfig(environment, configFile);
    const weakened: WeakenedPolicy[] = [];
    if (path.resolve(configFile) !== path.resolve(standardFile)) {
        const standard = loadPackConfig(environment, standardFile);
        for (const p of allPolicies) {
            const was = enforcementLevelOf(p, standard);
            const is = enforcementLevelOf(p, config);
            if ((was === "mandatory" || was === "remediate") && (is === "disabled" || is === "advisory")) weakened.push({ policy: p.name, level: is, standard: was });
        }
    }
    const report = evaluatePolicies(snap.resources, { env: environment, config });
    return { file, format: snap.format, environment, environmentSource, config: configFile, packConfig: config, report, weakened, warnings };
}

/** A path as the user would type it: relative below the working directory, absolute elsewhere. */
function shown(file: string): string {
    const rel = path.relative(process.cwd(), file);
    return rel && !rel.startsWith("..") && !path.isAbsolute(rel) ? rel : path.resolve(file);
}

function toJson(r: PolicyCheckResult) {
    const { environment: _env, ...report } = r.report;
    return {
        file: r.file,
        format: r.format,
        environment: r.environment,
        environmentSource: r.environmentSource,
        config: shown(r.config),
        ...report,
        weakened: r.weakened,
        warnings: r.warnings,
    };
}

export function formatText(r: PolicyCheckResult): string {
    const { report } = r;
    const lines: string[] = [];
    lines.push(`Policy check of ${r.file} (${r.format}, env ${r.environment} from ${r.environmentSource}, config ${shown(r.config)})`);
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
    const weakenedText = describeWeakened(r);
    if (weakenedText) lines.push(weakenedText);
    if (report.checkedResources === 0) lines.push("Result: nothing checked");
    else if (report.mandatoryCount > 0) lines.push("Result: FAILED (mandatory violations)");
    else lines.push(r.weakened.length > 0 ? `Result: passed, with ${r.weakened.length} mandatory polic${r.weakened.length === 1 ? "y" : "ies"} not enforced` : "Result: passed");
    return lines.join("\n") + "\n";
}

/** "Weakened by lenient.json: disabled a, b; advisory c (mandatory in policies/config/prod.json)." */
function describeWeakened(r: PolicyCheckResult): string | undefined {
    if (r.weakened.length === 0) return undefined;
    const of = (level: string) => r.weakened.filter((w) => w.level === level).map((w) => w.policy);
    const parts = [["disabled", of("disabled")], ["advisory", of("advisory")]].filter(([, l]) => l.length > 0).map(([k, l]) => `${k} ${(l as string[]).join(", ")}`);
    return `Weakened by ${shown(r.config)}: ${parts.join("; ")} (mandatory in policies/config/${r.environment}.json).`;
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
