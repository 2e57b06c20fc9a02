/**
 * The single list of rules used by the PolicyPack (policies/index.ts), the engine (policies/engine.ts),
 * `byoc policy check` and the offline preview. Add a rule here and it runs everywhere.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import {
    deployReadinessPolicies, helmValuesValid, launchTemplateDeviceIndex, tailscaleKeyRecreate, waitForCrds, waitForEksCluster,
    waitForLbControllerWebhook, waitForNodes, waitForPodIdentity,
} from "./deploy-readiness";
import { leastPrivilegeTelemetry, leastPrivilegeTelemetryStack } from "./least-privilege-telemetry";
import { mandatoryIpFilter } from "./mandatory-ip-filter";
import { noInboundToTailscale, noInboundToTailscaleStack } from "./no-inbound-to-tailscale";
import { privateEndpoints, privateEndpointsStack } from "./private-endpoints";
import { tailscaleManagementOnly } from "./tailscale-management-only";
import { timeBoundAccess } from "./time-bound-access";
import { tlsEverywhere } from "./tls-everywhere";
import { customerManagedKeys, privateLinkExposure } from "./privatelink-and-keys";
import { deployRoleBoundary, vendorAccessSuspended } from "./vendor-access";

export {
    leastPrivilegeTelemetry, leastPrivilegeTelemetryStack, mandatoryIpFilter, noInboundToTailscale, noInboundToTailscaleStack,
    privateEndpoints, privateEndpointsStack, tailscaleManagementOnly, timeBoundAccess, tlsEverywhere,
    waitForEksCluster, waitForCrds, waitForNodes, waitForLbControllerWebhook, waitForPodIdentity, launchTemplateDeviceIndex,
    tailscaleKeyRecreate, helmValuesValid, privateLinkExposure, customerManagedKeys, deployRoleBoundary, vendorAccessSuspended,
};

export const allPolicies: (ResourceValidationPolicy | StackValidationPolicy)[] = [
    noInboundToTailscale,
    noInboundToTailscaleStack,
    tailscaleManagementOnly,
    mandatoryIpFilter,
    privateEndpoints,
    privateEndpointsStack,
    tlsEverywhere,
    timeBoundAccess,
    leastPrivilegeTelemetry,
    leastPrivilegeTelemetryStack,
    privateLinkExposure,
    customerManagedKeys,
    deployRoleBoundary,
    vendorAccessSuspended,
    ...deployReadinessPolicies,
];
