import type { ClusterConfig } from '../config/config.js';
import { loadKubeConfig } from '../kubernetes/kube-config.js';
import { createPachydermWorkloads } from '../kubernetes/pachyderm-workloads.js';
import { untilAborted } from '../object-store/abort-link.js';

/** How long a process start or a metrics reload waits for one cluster's Kubernetes. */
const READ_TIMEOUT_MS = 5000;

/**
 * Whether pachd of `cluster` runs again — scaled up, at least one pod ready, not in enterprise pause: how the
 * not-back gauge learns that someone brought back by hand a cluster pachbackup gave up resuming. Undefined when
 * Kubernetes does not answer within 5 s (a process start must not wait on an unreachable cluster); the gauge then
 * keeps what the runs say.
 */
export async function pachdRunning(cluster: ClusterConfig): Promise<boolean | undefined> {
  try {
    const workloads = createPachydermWorkloads(loadKubeConfig(cluster.kubernetes), cluster);
    const now = await untilAborted(workloads.snapshot(), AbortSignal.timeout(READ_TIMEOUT_MS));
    return now.pachd.replicas > 0 && now.pachdReady > 0 && now.pachdMode !== 'paused';
  } catch {
    return undefined;
  }
}
