// One harness for every spec that runs the program or a component under the mock runtime.
import * as path from "path";
import { runProgram, ProgramRun, RecordedResource } from "../preview/runtime";
import { readStackFile, parseOrThrow, toEngineConfig } from "../stacks/loader";
import { StackConfig } from "../stacks/schema";
import { registerStackConventions } from "../components/conventions";
import { toStackExport } from "../preview/snapshot";
import { parseSnapshot } from "../policies/snapshot";
import { evaluatePolicies, PolicyReport } from "../policies/engine";
import dataPlane = require("../index");

export const ROOT = path.resolve(__dirname, "..");

/** Raw config of a stack file of this repository (`dev`, `prod`), optionally with `byoc:*` sections replaced. */
export function stackRaw(stack: "dev" | "prod", overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...readStackFile(stack, ROOT).raw, ...overrides };
}

export function stackConfig(stack: "dev" | "prod", overrides: Record<string, unknown> = {}): StackConfig {
    return parseOrThrow(stackRaw(stack, overrides), `Pulumi.${stack}.yaml`);
}

/** The source identity the specs run the program with (a prod stack's deploy-role session needs one). */
export const TEST_SOURCE_IDENTITY = "test-runner@example.com";

/**
 * Runs the whole program (index.ts) for a stack file of this repository, with optional overrides; `sourceIdentity`
 * null makes the program read BYOC_SOURCE_IDENTITY, as under `pulumi up`.
 */
export async function runStack(stack: "dev" | "prod", overrides: Record<string, unknown> = {}, now = new Date("2026-11-25T12:00:00Z"), sourceIdentity: string | null = TEST_SOURCE_IDENTITY): Promise<Stack> {
    const raw = stackRaw(stack, overrides);
    const config = parseOrThrow(raw, `Pulumi.${stack}.yaml`);
    return new Stack(await runProgram(() => dataPlane(config, now, sourceIdentity ?? undefined), { stack, config: toEngineConfig(raw) }));
}

/** Runs `build` as a program body (with the stack conventions registered) and records what it creates. */
export async function runComponent(build: () => unknown, stack: "dev" | "prod" = "dev"): Promise<Stack> {
    const raw = stackRaw(stack);
    return new Stack(await runProgram(() => {
        registerStackConventions({ customer: "acme", environment: stack });
        return build();
    }, { stack, config: toEngineConfig(raw) }));
}

export class Stack {
    constructor(readonly run: ProgramRun) {}
    get resources(): RecordedResource[] {
        return this.run.resources;
    }
    get outputs(): Record<string, any> {
        return this.run.outputs;
    }
    ofType(type: string): RecordedResource[] {
        return this.resources.filter((r) => r.type === type);
    }
    one(type: string, name?: string): RecordedResource {
        const found = this.ofType(type).filter((r) => name === undefined || r.name === name);
        if (found.length !== 1) throw new Error(`expected one ${type}${name ? ` named ${name}` : ""}, found ${found.length}: ${found.map((r) => r.name).join(", ")}`);
        return found[0];
    }
    byUrn(urn: string): RecordedResource | undefined {
        return this.resources.find((r) => r.urn === urn);
    }
    /** The policy pack's verdict on this run, read the way the offline preview and `byoc policy check` read it. */
    policyReport(env: "dev" | "prod"): PolicyReport {
        return evaluatePolicies(parseSnapshot(toStackExport(this.run)).resources, { env });
    }
}

/** A value as the engine hands it to a provider: a secret's plaintext (the snapshot keeps secrets wrapped). */
export function unsecret(v: any): any {
    return v && typeof v === "object" && v["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" ? v.value : v;
}
