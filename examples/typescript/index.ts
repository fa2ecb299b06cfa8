// A sandboxed tenant from TypeScript: the same components as the Python examples, served by the
// Tenantry plugin and typed by the SDK that `pulumi package add` generated from its schema.
import * as pulumi from "@pulumi/pulumi";
import * as tenantry from "@pulumi/tenantry";

const config = new pulumi.Config();
const name = config.get("tenant") ?? "acme";

// Component inputs are plain values (a tenant's shape is validated at preview), so the
// isolation is written out from what the VirtualNode will create, not taken from its outputs.
const sandbox = new tenantry.VirtualNode(`${name}-sandbox`, {
    preset: tenantry.CloudPreset.BARE,
    backend: tenantry.RuntimeBackend.GVISOR,
    runtimeClassName: `${name}-sandbox`,
});

const vcluster = new tenantry.VirtualCluster(
    name,
    {
        policy: { quota: { hard: { "count/pods": "50" } } },
        isolation: {
            runtimeClassName: `${name}-sandbox`,
            backend: tenantry.RuntimeBackend.GVISOR,
            allowPrivileged: true,
        },
        exposure: { type: tenantry.ExposureType.CLUSTER_IP },
        readKubeconfig: config.getBoolean("readKubeconfig") ?? true,
    },
    { dependsOn: [sandbox] },
);

export const namespace = vcluster.namespace;
export const endpoint = vcluster.endpoint;
export const kubeconfig = vcluster.kubeconfig;
export const runtimeClass = sandbox.runtimeClassName;
