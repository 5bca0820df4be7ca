import { applyDefaults } from './defaults.js';
import { cloneJson, type KubeObject } from './kube-object.js';
import { KINDS, mustResourceForKind } from './resources.js';
import type { ObjectStore } from './store.js';
import { validateObject } from './validation.js';
import {
  SIM_NODE_NAME,
  buildPod,
  buildReplicaSet,
  deploymentStatus,
  desiredReplicas,
  nextPodName,
  podTemplateHash,
  replicaStatus,
  runningPod,
  scheduledPod,
  statefulSetStatus,
} from './workloads.js';

/**
 * Creates an object as the API would (defaults, validation, server-set metadata) and, for a workload, its
 * ReplicaSet and Pods already Running and Ready with the status a settled controller would have written:
 * the state of a cluster that has been up for a while. Returns the stored object.
 */
export function seedObject(store: ObjectStore, input: KubeObject, options: SeedPodOptions = {}): KubeObject {
  const resource = mustResourceForKind(input.apiVersion, input.kind);
  const obj = cloneJson(input);
  applyDefaults(resource, obj);
  validateObject(resource, obj);
  const created = store.create(resource, obj);
  switch (created.kind) {
    case 'Deployment':
      return seedDeployment(store, created, options);
    case 'ReplicationController':
    case 'ReplicaSet':
    case 'StatefulSet':
      return seedReplicas(store, created, options);
    default:
      return created;
  }
}

/** How seeded pods look as if they had started: how long ago, and how long they took to become Ready. */
export interface SeedPodOptions {
  /** PodScheduled → Ready of each seeded pod (default 0), as the simulator's pods start (its podDelayMs). */
  podStartupSeconds?: number;
  /** How long ago the seeded pods became Ready (default an hour). */
  podAgeSeconds?: number;
}

function seedPods(store: ObjectStore, owner: KubeObject, count: number, options: SeedPodOptions): KubeObject[] {
  const names = store.list(KINDS.pod, owner.metadata.namespace).map((p) => p.metadata.name ?? '');
  const pods: KubeObject[] = [];
  const age = options.podAgeSeconds ?? 3600;
  for (let i = 0; i < count; i++) {
    const name = nextPodName(owner, names);
    names.push(name);
    // Stamped as Kubernetes stamps them (to the second): scheduled, then Ready once it had started.
    const scheduled = scheduledPod(buildPod(owner, name), store.timestamp(-(age + (options.podStartupSeconds ?? 0))));
    pods.push(store.create(KINDS.pod, runningPod(scheduled, store.timestamp(-age), true)));
  }
  return pods;
}

function seedReplicas(store: ObjectStore, owner: KubeObject, options: SeedPodOptions): KubeObject {
  const resource = mustResourceForKind(owner.apiVersion, owner.kind);
  const pods = seedPods(store, owner, desiredReplicas(owner), options);
  return store.mutate(resource, owner.metadata.namespace, owner.metadata.name ?? '', (obj) => {
    obj.status = owner.kind === 'StatefulSet' ? statefulSetStatus(obj, pods) : replicaStatus(obj, pods);
  });
}

function seedDeployment(store: ObjectStore, deployment: KubeObject, options: SeedPodOptions): KubeObject {
  const hash = podTemplateHash((deployment.spec as Record<string, unknown>).template);
  const rs = store.create(KINDS.replicaSet, buildReplicaSet(deployment, hash, 1, desiredReplicas(deployment)));
  const seededRs = seedReplicas(store, rs, options);
  const pods = store.list(KINDS.pod, deployment.metadata.namespace).filter((p) => p.metadata.ownerReferences?.some((r) => r.uid === seededRs.metadata.uid));
  return store.mutate(KINDS.deployment, deployment.metadata.namespace, deployment.metadata.name ?? '', (obj) => {
    obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': '1' };
    obj.status = deploymentStatus(obj, seededRs, pods, store.timestamp());
  });
}

/**
 * What every cluster has before anything is installed: the `default`, `kube-system`, `kube-public` and
 * `kube-node-lease` namespaces and one Ready node that all pods are scheduled on.
 */
export function seedBaseCluster(store: ObjectStore): void {
  for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
    if (!store.get(KINDS.namespace, undefined, name)) seedObject(store, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  if (!store.get(KINDS.node, undefined, SIM_NODE_NAME)) {
    const now = store.timestamp();
    store.create(KINDS.node, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: SIM_NODE_NAME, labels: { 'kubernetes.io/hostname': SIM_NODE_NAME, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' } },
      spec: { podCIDR: '10.244.0.0/24' },
      status: {
        capacity: { cpu: '8', memory: '32Gi', pods: '110' },
        allocatable: { cpu: '8', memory: '32Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now }],
        addresses: [
          { type: 'InternalIP', address: '10.0.0.10' },
          { type: 'Hostname', address: SIM_NODE_NAME },
        ],
        nodeInfo: {
          kubeletVersion: 'v1.32.4',
          kubeProxyVersion: 'v1.32.4',
          containerRuntimeVersion: 'containerd://1.7.24',
          operatingSystem: 'linux',
          architecture: 'amd64',
          osImage: 'kube-sim',
          kernelVersion: '6.1.0',
          machineID: 'kube-sim',
          systemUUID: 'kube-sim',
          bootID: 'kube-sim',
        },
      },
    });
  }
}
