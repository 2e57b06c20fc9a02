/**
 * Report formats of `byoc policy check --format sarif|junit`, for the CI tools people already use:
 *
 *  - SARIF 2.1.0 (what Checkov and Trivy write for GitHub code scanning): one rule per policy of the pack, with its
 *    description, remediation and the enforcement level of this environment as its default level; one result per
 *    violation — level `error` (mandatory) or `warning` (advisory), the resource URN as its logical location, the
 *    stack's `Pulumi.<stack>.yaml` (else the checked file) as its physical one, and a fingerprint of
 *    policy + URN + message so an alert keeps its identity from run to run. `automationDetails.id` is one category
 *    per checked file, so several stacks can be uploaded side by side.
 *  - JUnit XML (GitLab `artifacts:reports:junit`, Jenkins, Azure DevOps): one test suite per policy; a policy
 *    without violations is one passing test case, each violation is a test case named by its URN, failed when
 *    mandatory and passing with the finding in `system-out` when advisory; malformed resources are errors.
 *
 * Pure functions of the check result (the pack config it loaded included): no I/O but looking for the stack's
 * `Pulumi.<stack>.yaml`.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { AnyPolicy, EnforcementLevel, Environment, PackConfig, PolicyReport, Violation } from "../policies/engine";

/** What `byoc policy check --format` accepts (text and json are cli/policy-check.ts's own). */
export type ReportFormat = "text" | "json" | "sarif" | "junit";

/** What the formats need of a check (cli/policy-check.ts PolicyCheckResult satisfies it). */
export interface FormatInput {
    file: string;
    environment: Environment;
    /** Path of the policy pack config the check used. */
    config: string;
    /** That config, as the check loaded it. */
    packConfig: PackConfig;
    report: PolicyReport;
    /** Input document kind (stack-export, checkpoint, preview). */
    format?: string;
    environmentSource?: string;
    warnings?: string[];
}

export interface FormatOptions {
    /** The pack's policies (default: policies/rules allPolicies). */
    policies?: AnyPolicy[];
    /** Paths in the report are made relative to this directory (default: the working directory). */
    cwd?: string;
}

const SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const TOOL_NAME = "byoc policy check";
const TOOL_VERSION: string = require("../package.json").version;

interface PolicyMeta {
    name: string;
    description: string;
    level: EnforcementLevel;
    kind: "resource" | "stack";
    remediationSteps?: string;
    url?: string;
    severity?: string;
}

function policyMeta(input: FormatInput, opts: FormatOptions): PolicyMeta[] {
    const engine: typeof import("../policies/engine") = require("../policies/engine");
    const policies = opts.policies ?? (require("../policies/rules") as typeof import("../policies/rules")).allPolicies;
    const config = input.packConfig;
    return policies.map((p) => {
        const extra = p as { remediationSteps?: string; url?: string; severity?: string };
        return {
            name: p.name,
            description: p.description,
            level: engine.enforcementLevelOf(p, config),
            kind: engine.isResourcePolicy(p) ? "resource" : "stack",
            remediationSteps: extra.remediationSteps,
            url: extra.url,
            severity: extra.severity,
        };
    });
}

function rel(file: string, cwd: string): string {
    const r = path.relative(cwd, path.resolve(cwd, file));
    return (r.startsWith("..") || path.isAbsolute(r) ? path.resolve(cwd, file) : r).split(path.sep).join("/");
}

/** `urn:pulumi:<stack>::<project>::…` → stack. */
function stackOfUrn(urn: string | undefined): string | undefined {
    const m = urn ? /^urn:pulumi:([^:]+)::/.exec(urn) : null;
    return m ? m[1] : undefined;
}

function stackOf(report: PolicyReport): string | undefined {
    for (const v of report.violations) {
        const s = stackOfUrn(v.urn);
        if (s) return s;
    }
    for (const e of report.errors) {
        const s = stackOfUrn(e.urn);
        if (s) return s;
    }
    return undefined;
}

function resourceName(urn: string): string {
    return urn.slice(urn.lastIndexOf("::") + 2);
}

/** The "Remediation: …" sentence(s) a rule puts at the end of its messages. */
export function remediationOf(message: string): string | undefined {
    const i = message.lastIndexOf("Remediation: ");
    return i >= 0 ? message.slice(i + "Remediation: ".length).trim() : undefined;
}

function firstSentence(text: string): string {
    const m = /^(.+?[.!?])(\s|$)/s.exec(text);
    return (m ? m[1] : text).trim();
}

function sarifLevel(level: EnforcementLevel): "error" | "warning" | "none" {
    return level === "mandatory" || level === "remediate" ? "error" : level === "advisory" ? "warning" : "none";
}

/** GitHub's `security-severity` (0–10): the policy's own severity if it declares one, else its enforcement here. */
function securitySeverity(p: PolicyMeta): string {
    switch (p.severity) {
        case "critical":
            return "9.5";
        case "high":
            return "8.0";
        case "medium":
            return "5.5";
        case "low":
            return "3.0";
    }
    return p.level === "advisory" ? "5.0" : "8.0";
}

function pascal(name: string): string {
    return name.replace(/(^|[-_\s]+)([a-z0-9])/g, (_m, _s, c: string) => c.toUpperCase());
}

function fingerprint(v: Violation): string {
    return createHash("sha256").update(`${v.policy}\0${v.urn ?? ""}\0${v.message}`).digest("hex").slice(0, 32);
}

export function toSarif(input: FormatInput, opts: FormatOptions = {}): Record<string, unknown> {
    const cwd = opts.cwd ?? process.cwd();
    const policies = policyMeta(input, opts);
    const index = new Map(policies.map((p, i) => [p.name, i]));
    const report = input.report;
    const file = rel(input.file, cwd);
    const stack = stackOf(report);
    const stackFile = stack && fs.existsSync(path.join(cwd, `Pulumi.${stack}.yaml`)) ? `Pulumi.${stack}.yaml` : undefined;
    const artifact = stackFile ?? file;
    const stem = path.basename(input.file).replace(/\.[^.]*$/, "");

    const remediations = new Map<string, Set<string>>();
    for (const v of report.violations) {
        const r = remediationOf(v.message);
        if (r) (remediations.get(v.policy) ?? remediations.set(v.policy, new Set()).get(v.policy)!).add(r);
    }

    const rules = policies.map((p) => {
        const seen = [...(remediations.get(p.name) ?? [])];
        const help = p.remediationSteps ?? (seen.length > 0 ? seen.join("\n") : "Each result names its remediation.");
        const rule: Record<string, unknown> = {
            id: p.name,
            name: pascal(p.name),
            shortDescription: { text: firstSentence(p.description) },
            fullDescription: { text: p.description },
            help: {
                text: `${p.description}\n\nRemediation: ${help}`,
                markdown: `${p.description}\n\n**Remediation:** ${help.split("\n").join("  \n")}`,
            },
            defaultConfiguration: { enabled: p.level !== "disabled", level: sarifLevel(p.level) },
            properties: {
                tags: ["security", "pulumi", "crossguard", `${p.kind}-policy`],
                enforcementLevel: p.level,
                "security-severity": securitySeverity(p),
            },
        };
        if (p.url) rule.helpUri = p.url;
        return rule;
    });

    const results = report.violations.map((v) => {
        const location: Record<string, unknown> = {
            physicalLocation: { artifactLocation: { uri: artifact }, region: { startLine: 1 } },
        };
        if (v.urn) location.logicalLocations = [{ fullyQualifiedName: v.urn, name: resourceName(v.urn), kind: "resource" }];
        const result: Record<string, unknown> = {
            ruleId: v.policy,
            level: sarifLevel(v.enforcementLevel),
            kind: "fail",
            message: { text: v.message },
            locations: [location],
            partialFingerprints: { "byocPolicyViolation/v1": fingerprint(v) },
            properties: { enforcementLevel: v.enforcementLevel, urn: v.urn ?? null },
        };
        const i = index.get(v.policy);
        if (i !== undefined) result.ruleIndex = i;
        return result;
    });

    const notifications = [
        ...report.errors.map((e) => ({
            level: "warning",
            message: { text: `${e.urn ?? `resource #${e.index ?? "?"}`}: ${e.message}` },
            ...(e.urn ? { locations: [{ logicalLocations: [{ fullyQualifiedName: e.urn, kind: "resource" }] }] } : {}),
        })),
        ...(input.warnings ?? []).map((w) => ({ level: "warning", message: { text: w } })),
    ];

    const artifacts = [{ location: { uri: file }, roles: ["analysisTarget"] }];
    if (stackFile) artifacts.push({ location: { uri: stackFile }, roles: ["resultFile"] });
    return {
        $schema: SARIF_SCHEMA,
        version: "2.1.0",
        runs: [
            {
                tool: { driver: { name: TOOL_NAME, semanticVersion: TOOL_VERSION, rules } },
                automationDetails: { id: `byoc-policy-check/${stem}/` },
                invocations: [{ executionSuccessful: true, ...(notifications.length > 0 ? { toolExecutionNotifications: notifications } : {}) }],
                artifacts,
                results,
                properties: {
                    environment: input.environment,
                    ...(input.environmentSource ? { environmentSource: input.environmentSource } : {}),
                    config: rel(input.config, cwd),
                    ...(input.format ? { inputFormat: input.format } : {}),
                    ...(stack ? { stack } : {}),
                    checkedResources: report.checkedResources,
                    mandatoryCount: report.mandatoryCount,
                    advisoryCount: report.advisoryCount,
                },
            },
        ],
    };
}

// ------------------------------------------------------------------------------------------------
// JUnit XML
// ------------------------------------------------------------------------------------------------

function xml(s: string): string {
    return s
        .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
        .replace(/&/g, "&amp;")
        .replace(/</g, "&lt;")
        .replace(/>/g, "&gt;")
        .replace(/"/g, "&quot;")
        .replace(/'/g, "&apos;");
}

function attrs(a: Record<string, string | number>): string {
    return Object.entries(a)
        .map(([k, v]) => ` ${k}="${xml(String(v))}"`)
        .join("");
}

export function toJunit(input: FormatInput, opts: FormatOptions = {}): string {
    const cwd = opts.cwd ?? process.cwd();
    const policies = policyMeta(input, opts).filter((p) => p.level !== "disabled");
    const report = input.report;
    const file = rel(input.file, cwd);
    const stem = path.basename(input.file).replace(/\.[^.]*$/, "");
    const byPolicy = new Map<string, Violation[]>();
    for (const v of report.violations) (byPolicy.get(v.policy) ?? byPolicy.set(v.policy, []).get(v.policy)!).push(v);
    for (const name of byPolicy.keys()) {
        if (!policies.some((p) => p.name === name)) policies.push({ name, description: "", level: "mandatory", kind: "stack" });
    }

    const suites: string[] = [];
    let tests = 0;
    let failures = 0;
    for (const p of policies) {
        const vs = byPolicy.get(p.name) ?? [];
        const classname = `${stem}.${p.name}`;
        const cases: string[] = [];
        let suiteFailures = 0;
        if (vs.length === 0) cases.push(`    <testcase${attrs({ classname, name: p.name, time: 0 })}/>`);
        const seen = new Map<string, number>();
        for (const v of vs) {
            // Test case names are unique within a suite (some reports fold equal names): a second finding on the
            // same resource is "<urn> (2)".
            const base = v.urn ?? "(stack)";
            const n = (seen.get(base) ?? 0) + 1;
            seen.set(base, n);
            const name = n === 1 ? base : `${base} (${n})`;
            if (v.enforcementLevel === "mandatory" || v.enforcementLevel === "remediate") {
                suiteFailures++;
                cases.push(
                    `    <testcase${attrs({ classname, name, time: 0 })}>\n` +
                        `      <failure${attrs({ type: v.enforcementLevel, message: firstSentence(v.message) })}>${xml(v.message)}</failure>\n` +
                        `    </testcase>`,
                );
            } else {
                cases.push(`    <testcase${attrs({ classname, name, time: 0 })}>\n      <system-out>${xml(`${v.enforcementLevel}: ${v.message}`)}</system-out>\n    </testcase>`);
            }
        }
        tests += cases.length;
        failures += suiteFailures;
        suites.push(
            `  <testsuite${attrs({ name: p.name, tests: cases.length, failures: suiteFailures, errors: 0, skipped: 0, time: 0 })}>\n` +
                `    <properties>\n` +
                `      <property${attrs({ name: "enforcementLevel", value: p.level })}/>\n` +
                (p.description ? `      <property${attrs({ name: "description", value: p.description })}/>\n` : "") +
                `    </properties>\n` +
                `${cases.join("\n")}\n  </testsuite>`,
        );
    }
    if (report.errors.length > 0) {
        const cases = report.errors.map(
            (e) =>
                `    <testcase${attrs({ classname: `${stem}.malformed-resource`, name: e.urn ?? `resource #${e.index ?? "?"}`, time: 0 })}>\n` +
                `      <error${attrs({ type: "malformed-resource", message: e.message })}/>\n    </testcase>`,
        );
        tests += cases.length;
        suites.push(`  <testsuite${attrs({ name: "malformed-resources", tests: cases.length, failures: 0, errors: cases.length, skipped: 0, time: 0 })}>\n${cases.join("\n")}\n  </testsuite>`);
    }
    const name = `${TOOL_NAME}: ${file} (${input.environment})`;
    return (
        `<?xml version="1.0" encoding="UTF-8"?>\n` +
        `<testsuites${attrs({ name, tests, failures, errors: report.errors.length, time: 0 })}>\n${suites.join("\n")}\n</testsuites>\n`
    );
}

/** The report in a machine format, as printed on stdout. */
export function renderReport(format: "sarif" | "junit", input: FormatInput, opts: FormatOptions = {}): string {
    return format === "sarif" ? `${JSON.stringify(toSarif(input, opts), null, 2)}\n` : toJunit(input, opts);
}
