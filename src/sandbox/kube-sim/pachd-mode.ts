import type { SimLogger } from './controllers.js';
import { labelsOf, type KubeObject } from './kube-object.js';
import { KINDS } from './resources.js';
import { matchesLabels, parseLabelSelector } from './selectors.js';
import type { ObjectStore } from './store.js';

/**
 * The simulator's stand-in for the pipeline replica count that real pachd reads from the pipeline spec in
 * its database. Set on each worker ReplicationController at seeding; not a Pachyderm annotation.
 */
export const PIPELINE_REPLICAS_ANNOTATION = 'sim.pachbackup.dev/pipeline-replicas';

/** The selector of every pipeline worker RC (Pachyderm's own docs scale workers with it). */
export const WORKER_SELECTOR = 'suite=pachyderm,component=worker';

/** The ConfigMap pachd reads its mode from through `envFrom` (src/server/enterprise/server/api_server.go). */
export const PACHD_CONFIG_MAP = 'pachd-config';

/** pachd's run mode: `full` serves everything; `paused` only the enterprise/admin/auth services. */
export type PachdMode = 'full' | 'paused';

/** Whether a pod is a pachd pod (labels `app=pachd`, `suite=pachyderm`). */
export function isPachdPod(pod: KubeObject): boolean {
  const labels = labelsOf(pod);
  return labels.app === 'pachd' && labels.suite === 'pachyderm';
}

/** The mode a pachd starting now in `namespace` runs in: `MODE` of ConfigMap pachd-config, `full` without it. */
export function pachdModeIn(store: ObjectStore, namespace: string): PachdMode {
  const cm = store.get(KINDS.configMap, namespace, PACHD_CONFIG_MAP);
  const data = cm?.data as Record<string, string> | undefined;
  return data?.MODE === 'paused' ? 'paused' : 'full';
}

/**
 * What pachd does on start-up to pipeline workers, as the simulator models it (PACHYDERM.md, "How pachctl
 * enterprise pause works"): started paused, it scales every worker RC to 0 (src/internal/pachd/paused.go);
 * started in full mode, its pipeline controllers bring each worker RC back to its pipeline's replica count.
 * Workers only change when a pachd pod becomes Ready, so with pachd at 0 replicas they stay as they are.
 */
export function applyPachdStartup(store: ObjectStore, pod: KubeObject, logger?: SimLogger): void {
  if (!isPachdPod(pod)) return;
  const namespace = pod.metadata.namespace ?? '';
  const mode = pachdModeIn(store, namespace);
  const selector = parseLabelSelector(WORKER_SELECTOR);
  const workers = store.list(KINDS.replicationController, namespace).filter((rc) => matchesLabels(selector, rc.metadata.labels));
  for (const rc of workers) {
    let target: number;
    if (mode === 'paused') {
      target = 0;
    } else {
      const wanted = Number(rc.metadata.annotations?.[PIPELINE_REPLICAS_ANNOTATION]);
      if (!Number.isInteger(wanted) || wanted < 0) continue;
      target = wanted;
    }
    const spec = rc.spec as Record<string, unknown> | undefined;
    if (spec?.replicas === target) continue;
    store.mutate(KINDS.replicationController, namespace, rc.metadata.name ?? '', (obj) => {
      (obj.spec as Record<string, unknown>).replicas = target;
    });
  }
  logger?.info({ namespace, pod: pod.metadata.name, mode, workers: workers.length }, 'kube-sim: pachd started');
}
