/**
 * The Kubernetes API simulator: the sandbox's stand-in for a cluster running Pachyderm. Start it with
 * {@link startKubeSimulator}; point kubectl or @kubernetes/client-node at `sim.url` (or a file holding
 * `sim.kubeconfig()`).
 */
export { startKubeSimulator, type KubeSimulator, type KubeSimulatorOptions } from './simulator.js';
export { kubeconfigFor, SANDBOX_CONTEXT } from './kubeconfig.js';
export {
  seedPachydermCluster,
  defaultHelmValues,
  workerRcName,
  DEFAULT_WORKERS,
  PACHYDERM_VERSION,
  type SeedOptions,
  type SeededCluster,
  type WorkerSpec,
} from './pachyderm-cluster.js';
export { PIPELINE_REPLICAS_ANNOTATION, WORKER_SELECTOR, PACHD_CONFIG_MAP, pachdModeIn, type PachdMode } from './pachd-mode.js';
export { ObjectStore, type StoreEvent, type StoreSnapshot, type WatchEventType } from './store.js';
export { KINDS, RESOURCE_TYPES, type ResourceType, type Verb } from './resources.js';
export type { DeniedRule } from './access-rules.js';
export type { RecordedRequest } from './request-log.js';
export type { Faults, FailureRule } from './faults.js';
export type { KubeObject, ObjectMeta } from './kube-object.js';
