// DESIGN.md §4 in one place: the tags every taggable AWS resource carries and the labels every Kubernetes
// object carries. Applied by transformations (stack-wide for customer/environment, per component for
// `byoc:component`), so no resource spells them out by hand and none can forget them.
import * as pulumi from "@pulumi/pulumi";

export const PART_OF = "byoc-data-plane";

export type Role =
    | "tailscale-agent"
    | "tailnet-nginx"
    | "ingress-gateway"
    | "billing-scraper"
    | "state-exporter"
    | "alertmanager"
    | "prometheus"
    | "thanos"
    | "troubleshooting";

export interface StackIdentity {
    customer: string;
    environment: string;
    /**
     * The customer's permissions boundary (byoc-bootstrap), set on every IAM role the stack creates: the deploy role
     * may only create roles that carry it, and the policy pack rejects a role without it.
     */
    permissionsBoundary?: string;
}

/** Every IAM role carries the boundary: a transformation, so no role can forget it (the boundary wins over a role's own). */
function boundaryTransformation(boundaryArn: string): pulumi.ResourceTransformation {
    return ({ type, props, opts }) => (type === "aws:iam/role:Role" ? { props: { ...props, permissionsBoundary: boundaryArn }, opts } : undefined);
}

/** Tags that identify a resource's role; merged over the conventions' tags. */
export const roleTags = (role: Role): Record<string, string> => ({ "byoc:role": role });

/** The standard labels for a Kubernetes object (or a pod template) of the given role. */
export function k8sLabels(role: Role | string, extra: Record<string, string> = {}): Record<string, string> {
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        "app.kubernetes.io/component": role,
        ...extra,
    };
}

/** Selector labels: stable subset used by Services, NetworkPolicies and Deployments. */
export function selectorLabels(role: Role | string, name: string): Record<string, string> {
    return { "app.kubernetes.io/name": name, "app.kubernetes.io/component": role };
}

type Dict = Record<string, unknown>;

function mergeUnder(base: Record<string, string>, value: unknown): unknown {
    if (value === undefined || value === null) return base;
    if (pulumi.Output.isInstance(value) || value instanceof Promise) {
        return pulumi.output(value as pulumi.Input<Dict>).apply((v) => ({ ...base, ...(v ?? {}) }));
    }
    return { ...base, ...(value as Dict) };
}

/**
 * Adds `tags` to AWS resources that support them and `labels` to Kubernetes objects. A resource's own
 * values win, so a child can set its `byoc:role` or a more specific component label.
 * AWS taggability is read off the provider SDK itself: taggable resources declare a `tagsAll` output.
 */
export function conventionsTransformation(tags: Record<string, string>, labels: Record<string, string>): pulumi.ResourceTransformation {
    return ({ type, props, opts }) => {
        // @pulumi/eks components pass `tags` on to everything they create inside the remote component.
        if ((type.startsWith("aws:") && "tagsAll" in props) || (type.startsWith("eks:index:") && "tags" in props)) {
            return { props: { ...props, tags: mergeUnder(tags, props.tags) }, opts };
        }
        if (type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh") && type !== "pulumi:providers:kubernetes" && "metadata" in props) {
            const metadata = props.metadata;
            const withLabels = (m: Dict | undefined) => ({ ...(m ?? {}), labels: mergeUnder(labels, m?.labels) });
            const next = pulumi.Output.isInstance(metadata) ? (metadata as pulumi.Output<Dict>).apply(withLabels) : withLabels(metadata as Dict | undefined);
            return { props: { ...props, metadata: next }, opts };
        }
        return undefined;
    };
}

/** Stack-wide: customer and environment on everything. Call once at the top of the program. */
export function registerStackConventions(id: StackIdentity): void {
    pulumi.runtime.registerStackTransformation(
        conventionsTransformation(
            { "byoc:customer": id.customer, "byoc:environment": id.environment },
            { "app.kubernetes.io/part-of": PART_OF, "app.kubernetes.io/managed-by": "pulumi" },
        ),
    );
    if (id.permissionsBoundary) pulumi.runtime.registerStackTransformation(boundaryTransformation(id.permissionsBoundary));
}

/**
 * Base of every byoc component: type token `byoc:index:<Component>`, and `byoc:component` on every AWS child.
 * Kubernetes children get `app.kubernetes.io/component` = the component's default role unless they set one.
 */
export abstract class ByocComponent extends pulumi.ComponentResource {
    protected constructor(component: string, name: string, defaultRole: string | undefined, opts?: pulumi.ComponentResourceOptions) {
        const transformation = conventionsTransformation(
            { "byoc:component": component },
            defaultRole ? { "app.kubernetes.io/component": defaultRole } : {},
        );
        super(`byoc:index:${component}`, name, {}, { ...opts, transformations: [transformation, ...(opts?.transformations ?? [])] });
    }
}

/** Restricted-profile security context: non-root, read-only root filesystem, no privilege escalation. */
export function restrictedSecurityContext(uid = 65532) {
    return {
        runAsNonRoot: true,
        runAsUser: uid,
        runAsGroup: uid,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/**
 * Options of every KMS key the stack creates: retained when the program stops managing it (e.g. once
 * byoc:encryption.kmsKeyArn is set), because volumes, buckets, log groups and EKS itself keep data encrypted under it —
 * EKS cannot change its secrets key, and a deleted key makes that data unrecoverable.
 */
// `protect` (prod): `pulumi destroy` and a replacing `up` stop at the key instead of scheduling its deletion.
export const KEY_OPTS = (parent: pulumi.Resource, protect = false): pulumi.CustomResourceOptions => ({ parent, retainOnDelete: true, ...(protect ? { protect: true } : {}) });

/** Seconds Helm waits for a release's resources to become ready (every release of the stack; the nodes exist by then). */
export const RELEASE_TIMEOUT_SECONDS = 900;
