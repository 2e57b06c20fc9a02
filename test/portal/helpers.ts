// Shared setup for the portal specs: a temp data dir, inline tokens, a controllable clock, a customer config
// derived from the repository's dev stack, and a small fetch wrapper.
import * as fs from "fs";
import { execFileSync } from "child_process";
import * as os from "os";
import * as path from "path";
import { readStackFile } from "../../stacks/loader";
import { createHash } from "crypto";
import { OfflineEngine, Operation, OperationResult, RunContext, StackEngine } from "../../automation";
import type { OfflinePreviewFn } from "../../automation/offline";
import { parseStackConfig } from "../../stacks/schema";
import { startPortal, tokenTable, RunningPortal, HttpOptions } from "../../portal";
import type { PortalOptions } from "../../portal/service";
import { ROOT } from "../harness";

export const TOKENS = {
    operator: "tok-operator-0123456789abcdef",
    engineer: "tok-engineer-0123456789abcdef",
    engineer2: "tok-engineer2-0123456789abcdef",
    approver: "tok-approver-0123456789abcdef",
    approverEngineer: "tok-approver-engineer-0123456789",
    outsider: "tok-outsider-approver-0123456789",
    // An operator who also holds the approver role (portal hardening: whoever sets approvers never decides).
    operatorApprover: "tok-operator-approver-0123456789",
    auditor: "tok-auditor-0123456789abcdef",
};

export const tokens = tokenTable({
    [TOKENS.operator]: { user: "operator@example.com", roles: ["operator"] },
    [TOKENS.engineer]: { user: "alice@example.com", roles: ["engineer"] },
    [TOKENS.engineer2]: { user: "bob@example.com", roles: ["engineer"] },
    [TOKENS.approver]: { user: "lead@example.com", roles: ["approver"] },
    // Both engineer and approver: may request, must never approve their own request.
    [TOKENS.approverEngineer]: { user: "sre-manager@example.com", roles: ["engineer", "approver"] },
    // An approver who is not in the stack's byoc:access.approvers.
    [TOKENS.outsider]: { user: "mallory@example.com", roles: ["approver"] },
    [TOKENS.operatorApprover]: { user: "opslead@example.com", roles: ["operator", "approver"] },
    [TOKENS.auditor]: { user: "audit@example.com", roles: ["auditor"] },
});

const csrs = new Map<string, string>();
/** A real PKCS#10 CSR with CN = the engineer's e-mail (what TroubleshootingAccess requires), made by openssl. */
export function csrFor(email: string): string {
    let pem = csrs.get(email);
    if (!pem) {
        pem = execFileSync("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null", "-subj", `/CN=${email}`], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
        csrs.set(email, pem);
    }
    return pem;
}

/** Raw config of a customer stack, from Pulumi.dev.yaml with its own customer id. */
export function customerConfig(customerId: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const raw = readStackFile("dev", ROOT).raw;
    return { ...raw, "byoc:customer": { id: customerId, name: `${customerId} Inc.` }, ...overrides };
}

/**
 * Raw config of a prod customer stack (prod's program is policy-clean and caps certificates at 8 h), with this
 * customer's bootstrap deploy role (Pulumi.prod.yaml's names customer "acme"; the schema wants the stack's own).
 */
export function prodCustomerConfig(customerId: string): Record<string, unknown> {
    const raw = readStackFile("prod", ROOT).raw;
    const access = { ...(raw["byoc:access"] as Record<string, unknown>), deployRoleArn: `arn:aws:iam::111122223333:role/byoc-bootstrap-${customerId}-deploy` };
    // …and its own ingress domain: the deploy role writes DNS only under <customer>.byoc.<parent>.
    const ingress = { ...(raw["byoc:ingress"] as Record<string, unknown>), domain: `${customerId}.byoc.example.com` };
    // The ExternalId goes to the portal as a marked secret (a stack file's ciphertext belongs to that stack only).
    return { ...raw, "byoc:customer": { id: customerId, name: `${customerId} Inc.` }, "byoc:access": access, "byoc:ingress": ingress, "byoc:deployExternalId": { secret: "test-external-id-0123456789abcdef" } };
}

/** prodCustomerConfig as the portal stores it and hands it to an engine: the secret a placeholder (portal/configSecrets.ts). */
export function storedProdCustomerConfig(customerId: string): Record<string, unknown> {
    return { ...prodCustomerConfig(customerId), "byoc:deployExternalId": { secure: "[secret]" } };
}

/**
 * Raw config of a private prod customer stack (privateEndpointOnly, phase bootstrap by default) with the
 * management tag phase tailnet needs, unless `managementTag: null`; `tailscale` overrides byoc:tailscale keys.
 */
export function privateCustomerConfig(customerId: string, opts: { managementTag?: string | null; tailscale?: Record<string, unknown> } = {}): Record<string, unknown> {
    const raw = prodCustomerConfig(customerId);
    const tailscale = { ...(raw["byoc:tailscale"] as Record<string, unknown>), ...(opts.tailscale ?? {}) };
    if (opts.managementTag !== null) tailscale.managementTag = opts.managementTag ?? "tag:byoc-management";
    return { ...raw, "byoc:tailscale": tailscale };
}

/**
 * A fast stand-in for the program run (the real one takes seconds per stack): the real schema decides validity
 * (exit 2 with its problems), and the outputs have the shapes the portal reads — network flows and the
 * TroubleshootingAccess grant outputs (one certificate per grant still valid at `now`), the API phase
 * (clusterApiAccess) and a logged-in tailnet device per endpoint (tailnetDevices). The real program is
 * exercised by the "real program" spec.
 */
export const quickPreview: OfflinePreviewFn = async (stack, raw, opts) => {
    const parsed = parseStackConfig(raw);
    if (!parsed.ok) return { exitCode: 2, problems: parsed.problems, resourceCount: 0 };
    const now = (opts?.now ?? new Date()).getTime();
    const hex = (seed: string) => createHash("sha1").update(seed).digest("hex");
    const grants = parsed.config.access.grants.filter((g) => Date.parse(g.notAfter) > now);
    const outputs = {
        vpcId: `vpc-${hex(stack).slice(0, 17)}`,
        networkFlows: [
            { flow: "Client queries → NLB → Istio → ClickHouse", direction: "inbound", exposure: parsed.config.ingress.mode, restrictedBy: "IP allow list on the NLB", component: "IngressGateway" },
            { flow: "Management → EKS API", direction: "inbound", exposure: "public (NAT CIDRs only)", restrictedBy: "publicAccessCidrs", component: "DataPlaneCluster" },
        ],
        clusterApiAccess: parsed.config.controlPlane.access,
        tailnetDevices: Object.fromEntries(parsed.config.tailscale.endpoints.map((e) => [e, { deviceName: `${e}-${stack}`, magicDnsName: `${e}-${stack}.tailnet-mock.ts.net`, addresses: [`100.64.0.${1 + (parseInt(hex(e + stack).slice(0, 2), 16) % 250)}`] }])),
        troubleshootingGrants: grants.map((g) => ({ id: g.id, engineer: g.engineer, notAfter: g.notAfter, certPem: `-----BEGIN CERTIFICATE-----\nMOCK${hex(g.id + g.csrPem)}\n-----END CERTIFICATE-----\n` })),
    };
    const resourceCount = 3 + grants.length;
    return {
        exitCode: 0,
        problems: [],
        outputs,
        resourceCount,
        snapshot: { version: 3, deployment: { manifest: { time: new Date(now).toISOString(), magic: "", version: "test stand-in" }, resources: [] } },
    };
};

export class Clock {
    constructor(public current = new Date("2026-11-25T12:00:00Z")) {}
    now = () => new Date(this.current.getTime());
    advanceHours(h: number) {
        this.current = new Date(this.current.getTime() + h * 3600_000);
    }
}

export function tempDir(prefix = "byoc-portal-"): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** An engine wrapper that records overlapping runs per stack and can hold runs until released. */
export class ObservedEngine implements StackEngine {
    readonly kind: StackEngine["kind"];
    readonly active = new Map<string, number>();
    maxPerStack = 0;
    maxOverall = 0;
    private overall = 0;
    private gate?: Promise<void>;
    private openGate?: () => void;
    readonly started: string[] = [];

    constructor(readonly inner: StackEngine) {
        this.kind = inner.kind;
    }
    hold(): void {
        this.gate = new Promise((r) => (this.openGate = r));
    }
    release(): void {
        this.openGate?.();
        this.gate = undefined;
    }
    configure(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        return this.inner.configure(stack, raw, ctx);
    }
    /** Closing the portal closes the engine: pass it on, so the offline engine's workers stop with the test. */
    async close(): Promise<void> {
        await (this.inner as { close?: () => Promise<void> }).close?.();
    }
    /** Drift checks count as operations on the stack like any other (started as `drift:<stack>`). */
    async drift(stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        if (!this.inner.drift) return { outcome: "failed", message: `the ${this.inner.kind} engine cannot check stacks for drift` };
        const inner = this.inner;
        return this.observe("drift", stack, () => inner.drift!(stack, raw, ctx));
    }
    async run(op: Operation, stack: string, raw: Record<string, unknown>, ctx: RunContext): Promise<OperationResult> {
        return this.observe(op, stack, () => this.inner.run(op, stack, raw, ctx));
    }
    private async observe(op: string, stack: string, fn: () => Promise<OperationResult>): Promise<OperationResult> {
        const n = (this.active.get(stack) ?? 0) + 1;
        this.active.set(stack, n);
        this.overall++;
        this.maxPerStack = Math.max(this.maxPerStack, n);
        this.maxOverall = Math.max(this.maxOverall, this.overall);
        this.started.push(`${op}:${stack}`);
        try {
            while (this.gate) await this.gate;
            return await fn();
        } finally {
            this.active.set(stack, (this.active.get(stack) ?? 1) - 1);
            this.overall--;
        }
    }
    outputs(stack: string) {
        return this.inner.outputs(stack);
    }
}

export interface Harness {
    dir: string;
    clock: Clock;
    engine: ObservedEngine;
    running: RunningPortal;
    call(method: string, url: string, token?: string, body?: unknown): Promise<{ status: number; body: any }>;
    close(): Promise<void>;
}

/**
 * `program`: the stand-in (default) or the real program; `preview`: another stand-in; `engine`: another engine
 * altogether (e.g. the pulumi engine over the recording fake CLI) instead of the offline one.
 */
export async function startHarness(opts: { dir?: string; clock?: Clock; sweepIntervalMs?: number; maxParallel?: number; program?: "stand-in" | "real"; preview?: OfflinePreviewFn; engine?: StackEngine; http?: HttpOptions } & Pick<PortalOptions, "busyTimeoutMs" | "retry" | "limits" | "driftIntervalMs"> = {}): Promise<Harness> {
    const dir = opts.dir ?? tempDir();
    const clock = opts.clock ?? new Clock();
    const preview = opts.preview ?? (opts.program === "real" ? undefined : quickPreview);
    const engine = new ObservedEngine(opts.engine ?? new OfflineEngine({ stateDir: path.join(dir, "offline"), preview }));
    // Specs send many bad tokens from one address on purpose: the failed-login throttle is lifted unless a spec sets it.
    const http = opts.http ?? { loginThrottle: { max: 100_000, windowMs: 60_000 } };
    const running = await startPortal({ dbFile: path.join(dir, "portal.db"), engine, tokens, now: clock.now, sweepIntervalMs: opts.sweepIntervalMs ?? 0, maxParallel: opts.maxParallel, http, busyTimeoutMs: opts.busyTimeoutMs, retry: opts.retry, limits: opts.limits, driftIntervalMs: opts.driftIntervalMs, driftTickMs: 0 });
    const call = async (method: string, url: string, token?: string, body?: unknown) => {
        const headers: Record<string, string> = {};
        if (token) headers.authorization = `Bearer ${token}`;
        if (body !== undefined) headers["content-type"] = "application/json";
        const res = await fetch(running.url + url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
        const text = await res.text();
        let parsed: unknown = text;
        try {
            parsed = JSON.parse(text);
        } catch {
            // not JSON (the page)
        }
        return { status: res.status, body: parsed as any };
    };
    return { dir, clock, engine, running, call, close: () => running.close() };
}

/** Polls until `check` returns a truthy value (jobs run in the background). */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await check();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 10));
    }
}
