/**
 * Drives rules through exactly the argument objects the engine builds (policies/engine.ts builders), so a
 * rule tested here behaves the same inside `pulumi preview --policy-pack`, `byoc policy check` and the
 * offline preview.
 */
import { strict as assert } from "assert";
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    buildResourceArgs, buildStackArgs, buildStackResources, Environment, loadPackConfig, makeContext, PackConfig, PolicyResource,
} from "../../policies/engine";

export const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const STACK = "urn:pulumi:test::byoc-dataplane";

/** A resource with a URN like a real one: `urn:pulumi:test::byoc-dataplane::<type>::<name>`. */
export function res(type: string, name: string, props: Record<string, any> = {}, extra: Partial<PolicyResource> = {}): PolicyResource {
    return { urn: `${STACK}::${type}::${name}`, type, name, props, ...extra };
}

export interface RunOpts {
    env?: Environment;
    config?: PackConfig;
    /** Other resources of the stack (for context/provider lookup). */
    others?: PolicyResource[];
}

function ctxFor(resources: PolicyResource[], o: RunOpts) {
    const env = o.env ?? "prod";
    return makeContext(resources, { env, config: o.config ?? loadPackConfig(env) });
}

function checkMessages(msgs: string[]) {
    for (const m of msgs) assert.match(m, /Remediation: /, `violation message lacks a remediation hint: ${m}`);
}

/** Runs a resource policy on one resource; returns the violation messages. */
export function runResource(policy: ResourceValidationPolicy, r: PolicyResource, o: RunOpts = {}): string[] {
    const ctx = ctxFor([r, ...(o.others ?? [])], o);
    const msgs: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource!];
    for (const v of validations) {
        const ret = v(buildResourceArgs(ctx, policy, r), (m: string) => msgs.push(m));
        assert.equal(ret, undefined, "rules must be synchronous");
    }
    checkMessages(msgs);
    return msgs;
}

/** Runs a stack policy over resources; returns the violations (message + URN). */
export function runStack(policy: StackValidationPolicy, resources: PolicyResource[], o: RunOpts = {}): { message: string; urn?: string }[] {
    const ctx = ctxFor(resources, o);
    const out: { message: string; urn?: string }[] = [];
    const ret = policy.validateStack(buildStackArgs(ctx, policy, buildStackResources(ctx, resources)), (message: string, urn?: string) => out.push({ message, urn }));
    assert.equal(ret, undefined, "rules must be synchronous");
    checkMessages(out.map((v) => v.message));
    return out;
}

export function expectViolation(msgs: string[], re: RegExp): void {
    assert.ok(msgs.some((m) => re.test(m)), `expected a violation matching ${re}, got:\n  ${msgs.join("\n  ") || "(none)"}`);
}
export function expectClean(msgs: string[] | { message: string }[]): void {
    const list = msgs.map((m) => (typeof m === "string" ? m : m.message));
    assert.deepEqual(list, [], `expected no violation, got:\n  ${list.join("\n  ")}`);
}

// ------------------------------------------------------------------------------------------------
// Builders for common Kubernetes objects
// ------------------------------------------------------------------------------------------------

export const LABELS = { "app.kubernetes.io/part-of": "byoc-data-plane", "app.kubernetes.io/managed-by": "pulumi" };

export function deployment(name: string, opts: { ns?: string; podLabels?: Record<string, string>; labels?: Record<string, string>; containers: Record<string, any>[] }): PolicyResource {
    return res("kubernetes:apps/v1:Deployment", name, {
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name, namespace: opts.ns ?? "tailnet", labels: opts.labels ?? {} },
        spec: {
            selector: { matchLabels: opts.podLabels ?? {} },
            template: { metadata: { labels: opts.podLabels ?? {} }, spec: { containers: opts.containers } },
        },
    });
}

/** A Tailscale agent as the TailnetEndpoint component builds it (labels + image + env). */
export function agent(name = "k8s-agent", ns = "tailnet", container: Record<string, any> = {}): PolicyResource {
    const podLabels = { ...LABELS, "app.kubernetes.io/component": "tailscale-agent", "byoc.dev/endpoint": name };
    return deployment(name, {
        ns,
        podLabels,
        labels: podLabels,
        containers: [
            {
                name: "tailscale",
                image: "ghcr.io/tailscale/tailscale:v1.80.3",
                env: [
                    { name: "TS_KUBE_SECRET", value: `${name}-state` },
                    { name: "TS_AUTHKEY", valueFrom: { secretKeyRef: { name: `${name}-authkey`, key: "authkey" } } },
                    { name: "TS_USERSPACE", value: "true" },
                    { name: "TS_HOSTNAME", value: "k8s-acme-eu-west-1-aws-byoc" },
                ],
                ...container,
            },
        ],
    });
}

export function service(name: string, spec: Record<string, any>, metadata: Record<string, any> = {}): PolicyResource {
    return res("kubernetes:core/v1:Service", name, { metadata: { name, namespace: "tailnet", ...metadata }, spec });
}

export function networkPolicy(name: string, ns: string, spec: Record<string, any>): PolicyResource {
    return res("kubernetes:networking.k8s.io/v1:NetworkPolicy", name, { metadata: { name, namespace: ns }, spec });
}
