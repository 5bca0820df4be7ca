import { stringify } from 'yaml';

/** Names used inside the generated kubeconfig. */
export const SANDBOX_CONTEXT = 'sandbox';

/**
 * A kubeconfig (YAML) for the simulator at `url`: cluster `sandbox` with that server, a user with a dummy
 * bearer token (the simulator accepts any), `insecure-skip-tls-verify: true` (without it client-node refuses
 * an http:// server), and context `sandbox` selected, defaulting to `namespace`.
 * Write it to a file and point `KUBECONFIG` (kubectl) or `KubeConfig.loadFromFile` (client-node) at it, or
 * pass the string to `KubeConfig.loadFromString`.
 */
export function kubeconfigFor(url: string, namespace = 'pachyderm'): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    // client-node refuses plain http unless TLS verification is (vacuously) skipped for the cluster.
    clusters: [{ name: SANDBOX_CONTEXT, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: SANDBOX_CONTEXT, user: { token: 'kube-sim-sandbox-token' } }],
    contexts: [{ name: SANDBOX_CONTEXT, context: { cluster: SANDBOX_CONTEXT, user: SANDBOX_CONTEXT, namespace } }],
    'current-context': SANDBOX_CONTEXT,
  });
}
