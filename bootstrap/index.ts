// The customer-run bootstrap (Pulumi project `byoc-bootstrap`): run once in the customer's account, before any
// data-plane stack; re-run to suspend or re-enable vendor access and to open or close break-glass. Pulumi calls
// the exported function; the offline preview (`npm run preview -- --project bootstrap <stack>`) and the tests
// call it the same way under the mock runtime.
import * as pulumi from "@pulumi/pulumi";
import { BootstrapConfig, parseOrThrow } from "./config";
import { partitionOf } from "./policies";
import { VendorAccess, VendorTrail } from "./VendorAccess";

/** The engine's config, decoded (objects and lists arrive as JSON text). */
function engineConfig(): Record<string, unknown> {
    const raw: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(pulumi.runtime.allConfig())) {
        try {
            raw[k] = JSON.parse(v);
        } catch {
            raw[k] = v;
        }
    }
    return raw;
}

/** UTC to the second, the form aws:TokenIssueTime compares. */
const isoSeconds = (d: Date) => `${d.toISOString().slice(0, 19)}Z`;

function bootstrap(config?: BootstrapConfig, now: Date = new Date()) {
    const c = config ?? parseOrThrow(engineConfig(), `stack ${pulumi.getStack()}`, now);
    const partition = partitionOf(c.region);
    // Offline the ExternalId may be only ciphertext in the stack file; the preview stands a placeholder in for it.
    const externalId = pulumi.secret(c.externalId ?? "offline-preview-placeholder-external-id");
    const name = `byoc-bootstrap-${c.customer}`;
    const access = new VendorAccess(name, {
        customer: c.customer,
        account: c.accountId,
        partition,
        providerPrincipals: c.providerPrincipals,
        externalId,
        vendorAccess: c.vendorAccess,
        // Without byoc-bootstrap:suspendedAt every `up` while suspended moves the instant to that `up`: it only widens.
        suspendedAt: c.suspendedAt ?? isoSeconds(now),
        breakGlass: c.breakGlass,
        breakGlassPrincipals: c.breakGlassPrincipals,
        maxSessionSeconds: c.maxSessionSeconds,
        telemetryDestinations: c.telemetryDestinations,
    });
    const trail = c.createTrail ? new VendorTrail(name, { customer: c.customer, account: c.accountId, partition, region: c.region }) : undefined;
    return {
        deployRoleArn: access.deployRoleArn,
        supportRoleArn: access.supportRoleArn,
        breakGlassRoleArn: access.breakGlassRoleArn,
        boundaryArn: access.boundaryArn,
        workloadBoundaryArn: access.workloadBoundaryArn,
        externalId,
        vendorAccess: c.vendorAccess,
        breakGlass: c.breakGlass,
        ...(trail ? { trailArn: trail.trailArn, trailBucket: trail.bucketName } : {}),
    };
}

export = bootstrap;
