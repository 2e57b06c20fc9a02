// The customer-run bootstrap (Pulumi project `byoc-bootstrap`): run once in the customer's account, before any
// data-plane stack; re-run to suspend or re-enable vendor access and to open or close break-glass. Pulumi calls
// the exported function; the offline preview (`npm run preview -- --project bootstrap <stack>`) and the tests
// call it the same way under the mock runtime.
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { BootstrapConfig, parseOrThrow } from "./config";
import { isoSeconds, partitionOf } from "./policies";
import { KillSwitch } from "./KillSwitch";
import { VendorAccess, VendorTrail } from "./VendorAccess";
import { engineConfig } from "../stacks/loader";

/**
 * While suspended, the tailnet agents of each cluster in byoc-bootstrap:dataPlaneClusters are held at 0 replicas
 * (KillSwitch.ts), after the IAM half has cut the provider off. Returns what the `tailnetAgents` output says, only
 * while suspended: which agents this stack stops, or that stopping them is the runbook's manual step.
 */
function killSwitch(c: BootstrapConfig, name: string, access: VendorAccess): string | undefined {
    if (c.vendorAccess !== "suspended") return undefined;
    if (c.dataPlaneClusters.length === 0) {
        return "not stopped by this stack: stop them by hand (bootstrap/README.md, Kill switch: scale the tailnet-* namespaces to 0), or list the clusters in byoc-bootstrap:dataPlaneClusters";
    }
    // The principal running this `up`: for an assumed-role session its role (an access entry names a role, not a
    // session), else the user itself; byoc-bootstrap:killSwitchPrincipalArn pins it or says one already exists.
    // getSessionContext reads the role with iam:GetRole (an assumed-role ARN lacks the role's path; terraform-provider-aws
    // data source aws_iam_session_context, dataSourceSessionContextRead), so that principal needs iam:GetRole on its role.
    const principalArn = c.killSwitchPrincipalArn
        ?? aws.iam.getSessionContextOutput({ arn: aws.getCallerIdentityOutput().arn }).issuerArn;
    const stopped: string[] = [];
    for (const cluster of c.dataPlaneClusters) {
        const ks = new KillSwitch(`${name}-kill-switch-${cluster.slice(`byoc-${c.customer}-`.length)}`, {
            customer: c.customer, region: c.region, clusterName: cluster, principalArn, awsProfile: c.awsProfile,
        }, { dependsOn: [access] });
        stopped.push(`${cluster}: ${ks.stoppedAgents.join(", ")}`);
    }
    return `held at 0 replicas by this stack: ${stopped.join("; ")}`;
}

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
    const agents = killSwitch(c, name, access);
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
        ...(agents !== undefined ? { tailnetAgents: agents } : {}),
        ...(trail ? { trailArn: trail.trailArn, trailBucket: trail.bucketName } : {}),
    };
}

export = bootstrap;
