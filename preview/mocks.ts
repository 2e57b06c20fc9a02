// Realistic outputs for the mock runtime: ids, ARNs, AZ names, IPs and a kubeconfig shaped like the real ones,
// derived deterministically from each resource's name so snapshots are stable between runs.
import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import { partitionOf } from "../bootstrap/policies";

export const MOCK_ACCOUNT = "111122223333";

const hex = (seed: string, len: number) => createHash("sha1").update(seed).digest("hex").slice(0, len);
const octet = (seed: string) => parseInt(hex(seed, 2), 16) % 254 + 1;

type State = Record<string, any>;
type ResourceMock = (args: pulumi.runtime.MockResourceArgs, region: string) => { id?: string; state?: State };

const arn = (service: string, region: string, resource: string, account = MOCK_ACCOUNT) => `arn:aws:${service}:${region}:${account}:${resource}`;

/** Outputs per resource type; the inputs are always echoed back as outputs first. */
const resourceMocks: Record<string, ResourceMock> = {
    "aws:ec2/vpc:Vpc": ({ name }, r) => {
        const id = `vpc-${hex(name, 17)}`;
        return { id, state: { arn: arn("ec2", r, `vpc/${id}`), defaultSecurityGroupId: `sg-${hex(name + "sg", 17)}`, mainRouteTableId: `rtb-${hex(name + "rt", 17)}`, ownerId: MOCK_ACCOUNT } };
    },
    "aws:ec2/subnet:Subnet": ({ name }, r) => {
        const id = `subnet-${hex(name, 17)}`;
        return { id, state: { arn: arn("ec2", r, `subnet/${id}`) } };
    },
    "aws:ec2/internetGateway:InternetGateway": ({ name }) => ({ id: `igw-${hex(name, 17)}` }),
    "aws:ec2/routeTable:RouteTable": ({ name }) => ({ id: `rtb-${hex(name, 17)}` }),
    "aws:ec2/routeTableAssociation:RouteTableAssociation": ({ name }) => ({ id: `rtbassoc-${hex(name, 17)}` }),
    "aws:ec2/eip:Eip": ({ name }) => ({ id: `eipalloc-${hex(name, 17)}`, state: { allocationId: `eipalloc-${hex(name, 17)}`, publicIp: `198.51.100.${octet(name)}` } }),
    "aws:ec2/natGateway:NatGateway": ({ name }) => ({ id: `nat-${hex(name, 17)}`, state: { publicIp: `198.51.100.${octet(name)}`, privateIp: `10.0.192.${octet(name)}` } }),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ({ name }) => ({ id: `vpce-${hex(name, 17)}`, state: { prefixListId: `pl-${hex(name, 8)}` } }),
    "aws:ec2/vpcPeeringConnection:VpcPeeringConnection": ({ name }) => ({ id: `pcx-${hex(name, 17)}`, state: { acceptStatus: "active" } }),
    "aws:ec2/securityGroup:SecurityGroup": ({ name }, r) => ({ id: `sg-${hex(name, 17)}`, state: { arn: arn("ec2", r, `security-group/sg-${hex(name, 17)}`) } }),
    "aws:ec2/launchTemplate:LaunchTemplate": ({ name }) => ({ id: `lt-${hex(name, 17)}`, state: { latestVersion: 1 } }),
    "aws:ec2/flowLog:FlowLog": ({ name }) => ({ id: `fl-${hex(name, 17)}` }),
    "aws:kms/key:Key": ({ name }, r) => {
        const id = `${hex(name, 8)}-${hex(name + 1, 4)}-${hex(name + 2, 4)}-${hex(name + 3, 4)}-${hex(name + 4, 12)}`;
        return { id, state: { keyId: id, arn: arn("kms", r, `key/${id}`) } };
    },
    "aws:cloudwatch/logGroup:LogGroup": ({ name, inputs }, r) => {
        const group = inputs.name ?? `${name}-${hex(name, 7)}`;
        return { id: group, state: { name: group, arn: arn("logs", r, `log-group:${group}`) } };
    },
    "aws:iam/role:Role": ({ name, inputs }) => {
        const role = inputs.name ?? `${name}-${hex(name, 7)}`;
        return { id: role, state: { name: role, arn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${role}`, uniqueId: `AROA${hex(name, 16).toUpperCase()}` } };
    },
    "aws:iam/policy:Policy": ({ name, inputs }) => {
        const policy = inputs.name ?? `${name}-${hex(name, 7)}`;
        return { id: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${policy}`, state: { name: policy, arn: `arn:aws:iam::${MOCK_ACCOUNT}:policy/${policy}` } };
    },
    "aws:s3/bucketV2:BucketV2": ({ name, inputs }, r) => {
        const bucket = inputs.bucket ?? `${name}-${hex(name, 7)}`;
        return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${r}.amazonaws.com`, region: r } };
    },
    "aws:s3/bucket:Bucket": ({ name, inputs }, r) => {
        const bucket = inputs.bucket ?? `${name}-${hex(name, 7)}`;
        return { id: bucket, state: { bucket, arn: `arn:aws:s3:::${bucket}`, bucketRegionalDomainName: `${bucket}.s3.${r}.amazonaws.com`, region: r } };
    },
    "aws:eks/addon:Addon": ({ inputs }, r) => ({ id: `${inputs.clusterName}:${inputs.addonName}`, state: { arn: arn("eks", r, `addon/${inputs.clusterName}/${inputs.addonName}/${hex(inputs.addonName, 8)}`) } }),
    "aws:eks/nodeGroup:NodeGroup": ({ name, inputs }, r) => ({ id: `${inputs.clusterName}:${name}`, state: { arn: arn("eks", r, `nodegroup/${inputs.clusterName}/${name}/${hex(name, 8)}`), status: "ACTIVE" } }),
    "eks:index:Cluster": ({ name, inputs }, r) => {
        const clusterName = inputs.name ?? name;
        const endpoint = `https://${hex(name, 32).toUpperCase()}.gr7.${r}.eks.amazonaws.com`;
        return {
            id: undefined,
            state: {
                kubeconfigJson: JSON.stringify(mockKubeconfig(clusterName, endpoint, r)),
                kubeconfig: mockKubeconfig(clusterName, endpoint, r),
                // A resource reference in a real run (outputs of the aws.eks.Cluster child); its fields suffice here.
                eksCluster: {
                    name: clusterName, arn: arn("eks", r, `cluster/${clusterName}`), endpoint, id: clusterName,
                    certificateAuthority: { data: Buffer.from(`mock-ca-${clusterName}`).toString("base64") },
                },
                clusterSecurityGroupId: `sg-${hex(name + "cluster", 17)}`,
                nodeSecurityGroupId: `sg-${hex(name + "nodes", 17)}`,
                oidcIssuer: `oidc.eks.${r}.amazonaws.com/id/${hex(name, 32).toUpperCase()}`,
            },
        };
    },
    "tls:index/privateKey:PrivateKey": ({ name }) => ({
        id: hex(name, 40),
        state: {
            privateKeyPem: `-----BEGIN PRIVATE KEY-----\nMOCK${hex(name, 40)}\n-----END PRIVATE KEY-----\n`,
            publicKeyPem: `-----BEGIN PUBLIC KEY-----\nMOCK${hex(name + "pub", 40)}\n-----END PUBLIC KEY-----\n`,
        },
    }),
    "tls:index/selfSignedCert:SelfSignedCert": ({ name, inputs }) => certState(name, inputs),
    "tls:index/locallySignedCert:LocallySignedCert": ({ name, inputs }) => certState(name, inputs),
    // [ingress] IAM inline policies, Pod Identity associations, the Route53 zone/record, Helm releases and the
    // NLB hostname the AWS Load Balancer Controller writes into a LoadBalancer Service's status.
    "aws:iam/rolePolicy:RolePolicy": ({ name, inputs }) => ({ id: `${inputs.role ?? name}:${inputs.name ?? `${name}-${hex(name, 7)}`}`, state: { name: inputs.name ?? `${name}-${hex(name, 7)}` } }),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ({ name, inputs }, r) => {
        const id = `a-${hex(name, 17)}`;
        return { id: `${inputs.clusterName},${id}`, state: { associationId: id, associationArn: arn("eks", r, `podidentityassociation/${inputs.clusterName}/${id}`) } };
    },
    "aws:route53/zone:Zone": ({ name, inputs }) => {
        const zoneId = `Z${hex(name, 20).toUpperCase()}`;
        const n = octet(name);
        return {
            id: zoneId,
            state: {
                zoneId,
                arn: `arn:aws:route53:::hostedzone/${zoneId}`,
                nameServers: [`ns-${n}.awsdns-${n % 64}.com`, `ns-${n + 512}.awsdns-${n % 64}.net`, `ns-${n + 1024}.awsdns-${n % 64}.org`, `ns-${n + 1536}.awsdns-${n % 64}.co.uk`],
                primaryNameServer: `ns-${n}.awsdns-${n % 64}.com`,
                forceDestroy: inputs.forceDestroy ?? false,
            },
        };
    },
    "aws:route53/record:Record": ({ inputs }) => ({ id: `${inputs.zoneId}_${inputs.name}_${inputs.type}`, state: { fqdn: String(inputs.name) } }),
    "kubernetes:helm.sh/v3:Release": ({ name, inputs }) => {
        const release = inputs.name ?? `${name}-${hex(name, 8)}`;
        return {
            id: `${inputs.namespace ?? "default"}/${release}`,
            state: { name: release, status: { name: release, namespace: inputs.namespace ?? "default", chart: inputs.chart, version: inputs.version, appVersion: inputs.version, status: "deployed", revision: 1 } },
        };
    },
    "kubernetes:core/v1:Service": ({ name, inputs }, r) => {
        // [tailnet] ClusterIP Services get an address from EKS's default service range (the agent forwards to it).
        if (inputs.spec?.type !== "LoadBalancer") return { state: { spec: { ...(inputs.spec ?? {}), clusterIP: inputs.spec?.clusterIP ?? `172.20.${octet(name)}.${octet(name + "ip")}` } } };
        const ns = String(inputs.metadata?.namespace ?? "default").slice(0, 8);
        const svc = String(inputs.metadata?.name ?? name).slice(0, 8);
        const hostname = `k8s-${ns}-${svc}-${hex(name, 10)}-${hex(name + "nlb", 16)}.elb.${r}.amazonaws.com`;
        return { state: { status: { loadBalancer: { ingress: [{ hostname }] } } } };
    },
    // [ingress, privatelink] The NLB Pulumi owns, its target groups and the endpoint service.
    "aws:lb/loadBalancer:LoadBalancer": ({ name }, r) => {
        const id = arn("elasticloadbalancing", r, `loadbalancer/net/${name.slice(0, 24)}/${hex(name, 16)}`);
        return { id, state: { arn: id, dnsName: `${name.slice(0, 24)}-${hex(name, 16)}.elb.${r}.amazonaws.com`, zoneId: "Z26RNL4JYFTOTI" } };
    },
    "aws:lb/targetGroup:TargetGroup": ({ name }, r) => {
        const id = arn("elasticloadbalancing", r, `targetgroup/${name.slice(0, 24)}/${hex(name, 16)}`);
        return { id, state: { arn: id } };
    },
    "aws:lb/listener:Listener": ({ name }, r) => ({ id: arn("elasticloadbalancing", r, `listener/net/${hex(name, 16)}`), state: { arn: arn("elasticloadbalancing", r, `listener/net/${hex(name, 16)}`) } }),
    "aws:ec2/vpcEndpointService:VpcEndpointService": ({ name, inputs }, r) => {
        const id = `vpce-svc-${hex(name, 17)}`;
        return {
            id,
            state: {
                serviceName: `com.amazonaws.vpce.${r}.${id}`,
                baseEndpointDnsNames: [`${id}.${r}.vpce.amazonaws.com`],
                state: "Available",
                privateDnsNameConfigurations: inputs.privateDnsName ? [{ name: `_${hex(name, 10)}`, type: "TXT", value: `vpce:${hex(name + "v", 20)}`, state: "pendingVerification" }] : [],
            },
        };
    },
    "tailscale:index/tailnetKey:TailnetKey": ({ name }) => ({ id: hex(name, 16), state: { key: `tskey-auth-${hex(name, 12)}-${hex(name + "s", 30)}` } }),
};

/** The fixed instant mock certificates start from, so snapshots do not change with the clock. */
export const MOCK_NOW = new Date("2026-11-25T12:00:00Z");

function certState(name: string, inputs: State) {
    const hours = Number(inputs.validityPeriodHours ?? 0);
    return {
        id: hex(name, 38),
        state: {
            certPem: `-----BEGIN CERTIFICATE-----\nMOCK${hex(name, 40)}\n-----END CERTIFICATE-----\n`,
            validityStartTime: MOCK_NOW.toISOString(),
            validityEndTime: new Date(MOCK_NOW.getTime() + hours * 3600_000).toISOString(),
            readyForRenewal: false,
        },
    };
}

function mockKubeconfig(clusterName: string, endpoint: string, region: string) {
    return {
        apiVersion: "v1",
        kind: "Config",
        clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": Buffer.from(`mock-ca-${clusterName}`).toString("base64") } }],
        contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
        "current-context": "aws",
        users: [{ name: "aws", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token", "--cluster-name", clusterName, "--region", region] } } }],
    };
}

const AZ_SUFFIXES = ["a", "b", "c", "d"];

/**
 * A value worth marking as made up: identifier-shaped (ids, ARNs, addresses, hostnames, keys), not a word such as
 * "ACTIVE" or "deployed" that a real provider would report too, and without whitespace (PEMs, prose).
 */
function markable(v: string): boolean {
    return v.length >= 6 && !/\s/.test(v) && /[0-9.:/-]/.test(v);
}

/** Every string leaf of a value, with its property path. */
function* stringLeaves(v: unknown, at = ""): Generator<[string, string]> {
    if (typeof v === "string") yield [at, v];
    else if (Array.isArray(v)) for (let i = 0; i < v.length; i++) yield* stringLeaves(v[i], `${at}[${i}]`);
    else if (v !== null && typeof v === "object") for (const [k, x] of Object.entries(v)) yield* stringLeaves(x, at ? `${at}.${k}` : k);
}

/** The outputs of provider functions the mocks make up (the rest of their results are inputs or real constants). */
const INVENTED_CALL_RESULTS: Record<string, string[]> = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": ["zoneIds"],
    "aws:index/getCallerIdentity:getCallerIdentity": ["accountId", "arn", "userId", "id"],
    "tailscale:index/getDevice:getDevice": ["id", "name", "addresses"],
    "eks:index:Cluster/getKubeconfig": ["result"],
    "aws:eks/getCluster:getCluster": ["arn", "endpoint", "certificateAuthorities", "roleArn"],
    "aws:iam/getSessionContext:getSessionContext": ["issuerArn", "issuerId"],
};

/** Mocks for the data-plane program. Region comes from the stack config of the run. */
export class ByocMocks implements pulumi.runtime.Mocks {
    /**
     * What these mocks made up, by value → what it stands for ("id of aws:ec2/vpcEndpoint:VpcEndpoint byoc-acme-s3"):
     * every identifier-shaped output a mock adds beyond the resource's inputs (a real `pulumi up` gets those from
     * AWS, Tailscale or Kubernetes), so the printer can tell them from facts the program computed.
     */
    readonly invented = new Map<string, string>();

    constructor(public region = "us-east-1") {}

    private note(value: unknown, what: string, given: Set<string>) {
        for (const [at, v] of stringLeaves(value)) {
            if (markable(v) && !given.has(v) && !this.invented.has(v)) this.invented.set(v, at ? `${what}.${at}` : what);
        }
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
        const mock = resourceMocks[args.type]?.(args, this.region) ?? {};
        const fallbackId = args.custom === false ? undefined : `${args.name}-${hex(args.type + args.name, 8)}`;
        const id = mock.id ?? fallbackId;
        const given = new Set([...stringLeaves(args.inputs)].map(([, v]) => v));
        this.note(id, `id of ${args.type} ${args.name}`, given);
        this.note(mock.state, `${args.type} ${args.name}`, given);
        return { id, state: { ...args.inputs, ...(mock.state ?? {}) } };
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const result = this.answer(args);
        const fields = INVENTED_CALL_RESULTS[args.token];
        if (fields) {
            const given = new Set([...stringLeaves(args.inputs)].map(([, v]) => v));
            for (const f of fields) this.note(result[f], `${args.token.split(":").pop()}.${f}`, given);
        }
        return result;
    }

    private answer(args: pulumi.runtime.MockCallArgs): Record<string, any> {
        const r = this.region;
        switch (args.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return { names: AZ_SUFFIXES.map((s) => `${r}${s}`), zoneIds: AZ_SUFFIXES.map((_, i) => `use1-az${i + 1}`), id: r, groupNames: [r] };
            case "aws:index/getRegion:getRegion":
                return { id: r, name: r, region: r, endpoint: `ec2.${r}.amazonaws.com`, description: r };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: MOCK_ACCOUNT, arn: `arn:aws:iam::${MOCK_ACCOUNT}:user/byoc-operator`, userId: "AIDAMOCKUSER", id: MOCK_ACCOUNT };
            case "aws:index/getPartition:getPartition": {
                // The partition of the stack's region, as AWS answers it (aws-cn, aws-us-gov stacks name it in ARNs).
                const partition = partitionOf(r);
                const cn = partition === "aws-cn";
                return { partition, dnsSuffix: cn ? "amazonaws.com.cn" : "amazonaws.com", id: partition, reverseDnsPrefix: cn ? "cn.com.amazonaws" : "com.amazonaws" };
            }
            case "tailscale:index/getDevice:getDevice": {
                // The agent's device once it has logged in: its MagicDNS name in a mock tailnet and a CGNAT address.
                const host = String(args.inputs.hostname ?? args.inputs.name ?? "device");
                return { ...args.inputs, id: `n${hex(host, 12)}`, name: `${host}.tailnet-mock.ts.net`, hostname: host, addresses: [`100.${64 + (octet(host) % 64)}.${octet(host + "b")}.${octet(host + "c")}`], tags: [] };
            }
            case "aws:eks/getCluster:getCluster": {
                // [bootstrap kill switch] An existing cluster of the data plane, looked up by name: endpoint and CA as EKS reports them.
                const name = String(args.inputs.name ?? "cluster");
                return {
                    ...args.inputs, id: name, name, arn: arn("eks", r, `cluster/${name}`), status: "ACTIVE", version: "1.33",
                    endpoint: `https://${hex(name, 32).toUpperCase()}.gr7.${r}.eks.amazonaws.com`,
                    certificateAuthorities: [{ data: Buffer.from(`mock-ca-${name}`).toString("base64") }],
                    roleArn: `arn:aws:iam::${MOCK_ACCOUNT}:role/${name}-cluster`,
                    accessConfigs: [{ authenticationMode: "API", bootstrapClusterCreatorAdminPermissions: true }],
                };
            }
            case "aws:iam/getSessionContext:getSessionContext": {
                // [bootstrap kill switch] An assumed-role session's ARN → its role (no path: a real lookup adds the role's
                // path); any other ARN is passed through, as the AWS provider does.
                const given = String(args.inputs.arn ?? "");
                const m = /^arn:(aws[a-z-]*):sts::(\d{12}):assumed-role\/([^/]+)\/(.+)$/.exec(given);
                return m
                    ? { arn: given, id: given, issuerArn: `arn:${m[1]}:iam::${m[2]}:role/${m[3]}`, issuerId: `AROA${hex(m[3], 16).toUpperCase()}`, issuerName: m[3], sessionName: m[4] }
                    : { arn: given, id: given, issuerArn: given, issuerId: "", issuerName: "", sessionName: "" };
            }
            case "eks:index:Cluster/getKubeconfig":
                return { result: JSON.stringify(mockKubeconfig("mock", `https://MOCK.gr7.${r}.eks.amazonaws.com`, r)) };
            default:
                return args.inputs;
        }
    }
}
