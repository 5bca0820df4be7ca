import { applyDefaults } from './defaults.js';
import {
  cloneJson,
  controllerOf,
  controllerReference,
  isJsonObject,
  jsonEqual,
  specOf,
  statusOf,
  type JsonObject,
  type KubeObject,
} from './kube-object.js';
import { KINDS } from './resources.js';
import { randomSuffix } from './store.js';

/**
 * The shapes and status arithmetic shared by the workload controllers and by seeding: pod-template hashes,
 * ReplicaSets for Deployments, Pods from templates, pod phases, and the `status` blocks of Deployments,
 * ReplicaSets, ReplicationControllers and StatefulSets (with the apiserver's omitempty rules, so a count of
 * zero is absent — client code must cope with that on a real cluster too).
 */

/** The name of the one simulated node every pod is scheduled on. */
export const SIM_NODE_NAME = 'kube-sim-node-1';

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** The `pod-template-hash` label value of a Deployment template (FNV-1a, encoded like Kubernetes' SafeEncodeString). */
export function podTemplateHash(template: unknown): string {
  const text = stableStringify(template);
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return [...String(hash)].map((ch) => SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length]).join('');
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (isJsonObject(value)) {
    return `{${Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify(value[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `spec.template` of a workload (empty object when missing). */
export function templateOf(workload: KubeObject): JsonObject {
  const template = specOf(workload).template;
  return isJsonObject(template) ? template : {};
}

/** Desired replicas of a workload (`spec.replicas`, default 1). */
export function desiredReplicas(workload: KubeObject): number {
  const replicas = specOf(workload).replicas;
  return typeof replicas === 'number' ? replicas : 1;
}

/** Whether a pod is being deleted or has finished, i.e. no longer counts towards its owner's replicas. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = statusOf(pod).phase;
  return !pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** Whether the pod's Ready condition is True. */
export function isPodReady(pod: KubeObject): boolean {
  const conditions = statusOf(pod).conditions;
  return Array.isArray(conditions) && conditions.some((c) => isJsonObject(c) && c.type === 'Ready' && c.status === 'True');
}

/** Whether `pod` is controlled by `owner` (controller owner reference with its uid). */
export function isOwnedBy(pod: KubeObject, owner: KubeObject): boolean {
  return controllerOf(pod)?.uid === owner.metadata.uid;
}

/** The ReplicaSet a Deployment runs for a template hash (named `<deployment>-<hash>`). */
export function buildReplicaSet(deployment: KubeObject, hash: string, revision: number, replicas: number): KubeObject {
  const template = cloneJson(templateOf(deployment));
  const templateMeta = isJsonObject(template.metadata) ? template.metadata : {};
  templateMeta.labels = { ...((templateMeta.labels as Record<string, string> | undefined) ?? {}), 'pod-template-hash': hash };
  template.metadata = templateMeta;
  const selector = cloneJson(isJsonObject(specOf(deployment).selector) ? specOf(deployment).selector : {}) as JsonObject;
  selector.matchLabels = { ...((selector.matchLabels as Record<string, string> | undefined) ?? {}), 'pod-template-hash': hash };
  const rs: KubeObject = {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${deployment.metadata.name ?? ''}-${hash}`,
      namespace: deployment.metadata.namespace ?? '',
      labels: { ...(templateMeta.labels as Record<string, string>) },
      annotations: {
        'deployment.kubernetes.io/desired-replicas': String(desiredReplicas(deployment)),
        'deployment.kubernetes.io/max-replicas': String(desiredReplicas(deployment) + 1),
        'deployment.kubernetes.io/revision': String(revision),
      },
      ownerReferences: [controllerReference(deployment)],
    },
    spec: { replicas, selector, template },
  };
  applyDefaults(KINDS.replicaSet, rs);
  return rs;
}

/** A new Pod for a workload, from its template, controlled by it, not yet scheduled (phase Pending). */
export function buildPod(owner: KubeObject, name: string): KubeObject {
  const template = cloneJson(templateOf(owner));
  const templateMeta = isJsonObject(template.metadata) ? template.metadata : {};
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      generateName: owner.kind === 'StatefulSet' ? undefined : `${name.slice(0, name.lastIndexOf('-'))}-`,
      namespace: owner.metadata.namespace ?? '',
      labels: { ...((templateMeta.labels as Record<string, string> | undefined) ?? {}) },
      ...(isJsonObject(templateMeta.annotations) ? { annotations: { ...(templateMeta.annotations as Record<string, string>) } } : {}),
      ownerReferences: [controllerReference(owner)],
    },
    spec: isJsonObject(template.spec) ? template.spec : { containers: [] },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
  };
  if (pod.metadata.generateName === undefined) delete pod.metadata.generateName;
  if (owner.kind === 'StatefulSet') {
    pod.metadata.labels = { ...(pod.metadata.labels ?? {}), 'statefulset.kubernetes.io/pod-name': name, 'apps.kubernetes.io/pod-index': name.slice(name.lastIndexOf('-') + 1) };
    (pod.spec as JsonObject).hostname = name;
  }
  applyDefaults(KINDS.pod, pod);
  return pod;
}

/** A name for the next pod of a workload: `<rs>-<rand5>`, `<rc>-<rand5>` or `<sts>-<ordinal>`. */
export function nextPodName(owner: KubeObject, existingNames: readonly string[]): string {
  const base = owner.metadata.name ?? 'pod';
  if (owner.kind === 'StatefulSet') {
    for (let ordinal = 0; ; ordinal++) if (!existingNames.includes(`${base}-${ordinal}`)) return `${base}-${ordinal}`;
  }
  for (;;) {
    const candidate = `${base}-${randomSuffix()}`;
    if (!existingNames.includes(candidate)) return candidate;
  }
}

function containersOf(pod: KubeObject): JsonObject[] {
  const containers = specOf(pod).containers;
  return Array.isArray(containers) ? containers.filter(isJsonObject) : [];
}

function fakePodIp(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (Math.imul(h, 31) + name.charCodeAt(i)) >>> 0;
  return `10.244.${(h >>> 8) % 250}.${(h % 250) + 2}`;
}

/** The pod after scheduling: on the simulated node, containers being created. */
export function scheduledPod(pod: KubeObject, now: string): KubeObject {
  const out = cloneJson(pod);
  (out.spec as JsonObject).nodeName = SIM_NODE_NAME;
  out.status = {
    phase: 'Pending',
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'False', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotReady', message: 'containers with unready status' },
      { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: now, reason: 'ContainersNotReady', message: 'containers with unready status' },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now },
    ],
    hostIP: '10.0.0.10',
    hostIPs: [{ ip: '10.0.0.10' }],
    startTime: now,
    qosClass: 'BestEffort',
    containerStatuses: containersOf(out).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: '',
      ready: false,
      restartCount: 0,
      started: false,
      state: { waiting: { reason: 'ContainerCreating' } },
      lastState: {},
    })),
  };
  return out;
}

/** The pod with its containers started; Ready unless `ready` is false (a pod that never passes readiness). */
export function runningPod(pod: KubeObject, now: string, ready: boolean): KubeObject {
  const scheduled = isJsonObject(pod.status) && pod.status.startTime ? cloneJson(pod) : scheduledPod(pod, now);
  const status = statusOf(scheduled);
  const ip = fakePodIp(scheduled.metadata.name ?? '');
  const readyStatus = ready ? 'True' : 'False';
  const notReady = ready ? {} : { reason: 'ContainersNotReady', message: 'containers with unready status' };
  scheduled.status = {
    ...status,
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    conditions: [
      { type: 'PodReadyToStartContainers', status: 'True', lastProbeTime: null, lastTransitionTime: now },
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: status.startTime ?? now },
      { type: 'Ready', status: readyStatus, lastProbeTime: null, lastTransitionTime: now, ...notReady },
      { type: 'ContainersReady', status: readyStatus, lastProbeTime: null, lastTransitionTime: now, ...notReady },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: status.startTime ?? now },
    ],
    containerStatuses: containersOf(scheduled).map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `docker.io/${String(c.image)}@sha256:${'0'.repeat(64)}`,
      containerID: `containerd://${fakeContainerId(scheduled.metadata.name ?? '', String(c.name))}`,
      ready,
      restartCount: 0,
      started: true,
      state: { running: { startedAt: now } },
      lastState: {},
    })),
  };
  return scheduled;
}

function fakeContainerId(pod: string, container: string): string {
  let out = '';
  let h = 2166136261;
  const text = `${pod}/${container}`;
  while (out.length < 64) {
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 64);
}

function omitZero(entries: Record<string, number | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(entries)) if (v) out[k] = v;
  return out;
}

/** `status` of a ReplicaSet or ReplicationController given the pods it controls. */
export function replicaStatus(owner: KubeObject, pods: readonly KubeObject[]): JsonObject {
  const active = pods.filter(isPodActive);
  const ready = active.filter(isPodReady).length;
  return {
    replicas: active.length,
    ...omitZero({ fullyLabeledReplicas: active.length, readyReplicas: ready, availableReplicas: ready, observedGeneration: owner.metadata.generation }),
  };
}

/** `status` of a StatefulSet given its pods. */
export function statefulSetStatus(owner: KubeObject, pods: readonly KubeObject[]): JsonObject {
  const active = pods.filter(isPodActive);
  const ready = active.filter(isPodReady).length;
  const revision = `${owner.metadata.name ?? ''}-${podTemplateHash(templateOf(owner))}`;
  return {
    replicas: active.length,
    availableReplicas: ready,
    ...omitZero({ readyReplicas: ready, currentReplicas: active.length, updatedReplicas: active.length, observedGeneration: owner.metadata.generation }),
    currentRevision: revision,
    updateRevision: revision,
    collisionCount: 0,
  };
}

function maxUnavailable(deployment: KubeObject, desired: number): number {
  const strategy = specOf(deployment).strategy;
  if (!isJsonObject(strategy) || strategy.type !== 'RollingUpdate' || desired === 0) return 0;
  const value = isJsonObject(strategy.rollingUpdate) ? strategy.rollingUpdate.maxUnavailable : undefined;
  if (typeof value === 'number') return Math.min(value, desired);
  const percent = typeof value === 'string' && value.endsWith('%') ? Number(value.slice(0, -1)) : 25;
  return Math.min(Math.floor((desired * percent) / 100), desired);
}

type Condition = { type: string; status: string; reason: string; message: string; lastUpdateTime?: string; lastTransitionTime?: string };

function mergeCondition(previous: unknown, next: Condition, now: string): Condition {
  const old = Array.isArray(previous) ? previous.find((c) => isJsonObject(c) && c.type === next.type) : undefined;
  const prev = isJsonObject(old) ? old : undefined;
  const sameStatus = prev?.status === next.status;
  const sameReason = sameStatus && prev?.reason === next.reason && prev?.message === next.message;
  return {
    ...next,
    lastUpdateTime: sameReason && typeof prev?.lastUpdateTime === 'string' ? prev.lastUpdateTime : now,
    lastTransitionTime: sameStatus && typeof prev?.lastTransitionTime === 'string' ? prev.lastTransitionTime : now,
  };
}

/**
 * `status` of a Deployment given the ReplicaSet of its current template (`current`) and the pods of all
 * its ReplicaSets: replica counts, `observedGeneration`, and the Available/Progressing conditions that
 * `kubectl rollout status` reads.
 */
export function deploymentStatus(
  deployment: KubeObject,
  current: KubeObject | undefined,
  pods: readonly KubeObject[],
  now: string,
): JsonObject {
  const desired = desiredReplicas(deployment);
  const active = pods.filter(isPodActive);
  const updated = current ? active.filter((p) => isOwnedBy(p, current)) : [];
  const available = active.filter(isPodReady).length;
  const unavailable = Math.max(0, desired - available);
  const previous = statusOf(deployment).conditions;
  const rsName = current?.metadata.name ?? deployment.metadata.name ?? '';
  const complete = updated.length === desired && active.length === desired && available === desired;
  const conditions = [
    mergeCondition(
      previous,
      available >= desired - maxUnavailable(deployment, desired)
        ? { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }
        : { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' },
      now,
    ),
    mergeCondition(
      previous,
      complete
        ? { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${rsName}" has successfully progressed.` }
        : { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message: `ReplicaSet "${rsName}" is progressing.` },
      now,
    ),
  ];
  return {
    ...omitZero({
      observedGeneration: deployment.metadata.generation,
      replicas: active.length,
      updatedReplicas: updated.length,
      readyReplicas: available,
      availableReplicas: available,
      unavailableReplicas: unavailable,
    }),
    conditions,
  };
}

/** Whether two status blocks differ in anything but condition timestamps (to avoid no-op writes). */
export function statusChanged(before: unknown, after: unknown): boolean {
  return !jsonEqual(stripTimes(before), stripTimes(after));
}

function stripTimes(status: unknown): unknown {
  if (!isJsonObject(status)) return status;
  const out = cloneJson(status);
  if (Array.isArray(out.conditions)) {
    out.conditions = out.conditions.map((c) => {
      if (!isJsonObject(c)) return c;
      const { lastUpdateTime: _u, lastTransitionTime: _t, ...rest } = c;
      return rest;
    });
  }
  return out;
}
