import { STUCK_FINALIZER, type Faults } from './faults.js';
import { controllerOf, isJsonObject, specOf, statusOf, type KubeObject } from './kube-object.js';
import { KINDS, RESOURCE_TYPES, type ResourceType } from './resources.js';
import type { ObjectStore, StoreEvent } from './store.js';
import {
  buildPod,
  buildReplicaSet,
  deploymentStatus,
  desiredReplicas,
  isOwnedBy,
  isPodActive,
  isPodReady,
  nextPodName,
  podTemplateHash,
  replicaStatus,
  runningPod,
  scheduledPod,
  statefulSetStatus,
  statusChanged,
  templateOf,
} from './workloads.js';

/** The logging the simulator does; pino's Logger fits. */
export interface SimLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Things outside the generic controllers that want to react to pod lifecycle (pachd's start-up logic). */
export interface ControllerHooks {
  /** A pod's containers started and it passed readiness. Called once per pod. */
  podReady?: (pod: KubeObject) => void;
}

/** What the controller manager needs. */
export interface ControllerOptions {
  store: ObjectStore;
  /** Time a pod takes to start (Pending → Running+Ready) and to terminate (deletionTimestamp → gone). */
  podDelayMs: number;
  faults: Faults;
  hooks?: ControllerHooks;
  logger?: SimLogger;
}

type WorkKey = string;

/**
 * The simulator's kube-controller-manager and kubelet in one: it watches the store and drives it towards the
 * declared state. Deployments own ReplicaSets (one per pod-template hash; a template change rolls the pods),
 * ReplicaSets, ReplicationControllers and StatefulSets own Pods, Pods go Pending → Running+Ready and
 * terminate after `podDelayMs`, deleting an owner deletes its dependents, a terminating Namespace empties
 * itself. Every change goes through the store, so watches see each step.
 */
export class ControllerManager {
  private readonly store: ObjectStore;
  private readonly podDelayMs: number;
  private readonly faults: Faults;
  private readonly hooks: ControllerHooks;
  private readonly logger: SimLogger | undefined;
  private readonly queue = new Set<WorkKey>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly readyNotified = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private drainScheduled: NodeJS.Immediate | undefined;
  private stopped = false;

  constructor(options: ControllerOptions) {
    this.store = options.store;
    this.podDelayMs = options.podDelayMs;
    this.faults = options.faults;
    this.hooks = options.hooks ?? {};
    this.logger = options.logger;
  }

  /** Starts watching the store and reconciles everything once. */
  start(): void {
    this.unsubscribe = this.store.subscribe((event) => this.onEvent(event));
    this.resyncAll();
    // Pods that were Ready before the controllers started (seeded) count as already started.
    for (const pod of this.store.list(KINDS.pod)) if (isPodReady(pod) && pod.metadata.uid) this.readyNotified.add(pod.metadata.uid);
  }

  /** Stops reacting and cancels every pending timer, so the process can exit. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    if (this.drainScheduled) clearImmediate(this.drainScheduled);
    this.drainScheduled = undefined;
    this.queue.clear();
  }

  /** Reconciles every workload, pod and namespace (after faults change, or a state restore). */
  resyncAll(): void {
    for (const r of [KINDS.deployment, KINDS.replicaSet, KINDS.replicationController, KINDS.statefulSet, KINDS.pod, KINDS.namespace]) {
      for (const obj of this.store.list(r)) this.enqueue(r, obj.metadata.namespace, obj.metadata.name ?? '');
    }
  }

  private enqueue(resource: ResourceType, namespace: string | undefined, name: string): void {
    this.queue.add(`${resource.kind}|${namespace ?? ''}|${name}`);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.stopped || this.drainScheduled) return;
    this.drainScheduled = setImmediate(() => {
      this.drainScheduled = undefined;
      this.drain();
    });
  }

  private drain(): void {
    let budget = 100_000;
    while (this.queue.size > 0 && !this.stopped && budget-- > 0) {
      const key = this.queue.values().next().value as WorkKey;
      this.queue.delete(key);
      const [kind, namespace, ...rest] = key.split('|');
      const name = rest.join('|');
      try {
        this.reconcile(kind ?? '', namespace || undefined, name);
      } catch (err) {
        this.logger?.warn({ err, key }, 'kube-sim reconcile failed');
      }
    }
    if (this.queue.size > 0) this.scheduleDrain();
  }

  private onEvent(event: StoreEvent): void {
    if (this.stopped) return;
    const obj = event.object;
    const ns = obj.metadata.namespace;
    const name = obj.metadata.name ?? '';
    switch (obj.kind) {
      case 'Deployment':
      case 'ReplicaSet':
      case 'ReplicationController':
      case 'StatefulSet':
        this.enqueue(event.resource, ns, name);
        if (obj.kind === 'ReplicaSet') this.enqueueOwner(obj);
        break;
      case 'Pod':
        if (event.type !== 'DELETED') this.enqueue(KINDS.pod, ns, name);
        this.enqueueOwner(obj);
        break;
      case 'Namespace':
        this.enqueue(KINDS.namespace, undefined, name);
        break;
      default:
        break;
    }
    if (event.type === 'DELETED') {
      if (obj.metadata.uid) this.queue.add(`gc|${ns ?? ''}|${obj.metadata.uid}`);
      if (ns) this.enqueue(KINDS.namespace, undefined, ns);
      this.scheduleDrain();
    }
  }

  private enqueueOwner(obj: KubeObject): void {
    const owner = controllerOf(obj);
    if (!owner) return;
    const resource = RESOURCE_TYPES.find((r) => r.kind === owner.kind && `${r.group ? `${r.group}/` : ''}${r.version}` === owner.apiVersion);
    if (!resource) return;
    this.enqueue(resource, obj.metadata.namespace, owner.name);
    if (owner.kind === 'ReplicaSet') {
      const rs = this.store.get(KINDS.replicaSet, obj.metadata.namespace, owner.name);
      if (rs) this.enqueueOwner(rs);
    }
  }

  private reconcile(kind: string, namespace: string | undefined, name: string): void {
    switch (kind) {
      case 'Deployment':
        return this.reconcileDeployment(namespace, name);
      case 'ReplicaSet':
        return this.reconcileReplicas(KINDS.replicaSet, namespace, name);
      case 'ReplicationController':
        return this.reconcileReplicas(KINDS.replicationController, namespace, name);
      case 'StatefulSet':
        return this.reconcileReplicas(KINDS.statefulSet, namespace, name);
      case 'Pod':
        return this.reconcilePod(namespace, name);
      case 'Namespace':
        return this.reconcileNamespace(name);
      case 'gc':
        return this.collectGarbage(namespace, name);
      default:
        return undefined;
    }
  }

  // ----- workloads ------------------------------------------------------------------------------------

  private ownedPods(owner: KubeObject): KubeObject[] {
    return this.store.list(KINDS.pod, owner.metadata.namespace).filter((pod) => isOwnedBy(pod, owner));
  }

  private reconcileReplicas(resource: ResourceType, namespace: string | undefined, name: string): void {
    const owner = this.store.get(resource, namespace, name);
    if (!owner || owner.metadata.deletionTimestamp) return;
    const pods = this.ownedPods(owner);
    const active = pods.filter(isPodActive);
    const desired = desiredReplicas(owner);
    if (active.length < desired) {
      const names = this.store.list(KINDS.pod, namespace).map((p) => p.metadata.name ?? '');
      for (let i = active.length; i < desired; i++) {
        const podName = nextPodName(owner, names);
        names.push(podName);
        this.store.create(KINDS.pod, buildPod(owner, podName));
      }
    } else if (active.length > desired) {
      const victims = [...active].sort((a, b) => victimRank(owner, a, b)).slice(0, active.length - desired);
      for (const pod of victims) this.beginPodTermination(pod);
    }
    const fresh = this.ownedPods(owner);
    const status = owner.kind === 'StatefulSet' ? statefulSetStatus(owner, fresh) : replicaStatus(owner, fresh);
    if (statusChanged(owner.status, status)) {
      this.store.mutate(resource, namespace, name, (obj) => {
        obj.status = status;
      });
    }
  }

  private reconcileDeployment(namespace: string | undefined, name: string): void {
    const deployment = this.store.get(KINDS.deployment, namespace, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const spec = specOf(deployment);
    const hash = podTemplateHash(templateOf(deployment));
    const owned = this.store.list(KINDS.replicaSet, namespace).filter((rs) => isOwnedBy(rs, deployment));
    const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.['deployment.kubernetes.io/revision'] ?? 0);
    const maxRevision = owned.reduce((max, rs) => Math.max(max, revisionOf(rs)), 0);
    let current = owned.find((rs) => rs.metadata.labels?.['pod-template-hash'] === hash);
    const old = owned.filter((rs) => rs !== current);
    const oldActive = old.flatMap((rs) => this.ownedPods(rs)).filter(isPodActive).length;
    const recreate = isJsonObject(spec.strategy) && spec.strategy.type === 'Recreate';
    const desired = desiredReplicas(deployment);
    const target = recreate && oldActive > 0 ? 0 : desired;

    if (spec.paused !== true) {
      if (!current) {
        current = this.store.create(KINDS.replicaSet, buildReplicaSet(deployment, hash, maxRevision + 1, target));
      } else {
        const needsRevision = revisionOf(current) < maxRevision;
        const rsSpec = specOf(current);
        const annotations = current.metadata.annotations ?? {};
        if (rsSpec.replicas !== target || needsRevision || annotations['deployment.kubernetes.io/desired-replicas'] !== String(desired)) {
          current = this.store.mutate(KINDS.replicaSet, namespace, current.metadata.name ?? '', (rs) => {
            (rs.spec as Record<string, unknown>).replicas = target;
            rs.metadata.annotations = {
              ...(rs.metadata.annotations ?? {}),
              'deployment.kubernetes.io/desired-replicas': String(desired),
              'deployment.kubernetes.io/max-replicas': String(desired + 1),
              ...(needsRevision ? { 'deployment.kubernetes.io/revision': String(maxRevision + 1) } : {}),
            };
          });
        }
      }
      for (const rs of old) {
        if (specOf(rs).replicas !== 0) {
          this.store.mutate(KINDS.replicaSet, namespace, rs.metadata.name ?? '', (obj) => {
            (obj.spec as Record<string, unknown>).replicas = 0;
          });
        }
      }
      this.trimHistory(deployment, old, revisionOf);
    }

    const allPods = this.store
      .list(KINDS.replicaSet, namespace)
      .filter((rs) => isOwnedBy(rs, deployment))
      .flatMap((rs) => this.ownedPods(rs));
    const now = this.store.timestamp();
    const status = deploymentStatus(deployment, current, allPods, now);
    const revision = current ? String(revisionOf(current) || maxRevision + 1) : undefined;
    const revisionChanged = revision !== undefined && deployment.metadata.annotations?.['deployment.kubernetes.io/revision'] !== revision;
    if (statusChanged(deployment.status, status) || revisionChanged) {
      this.store.mutate(KINDS.deployment, namespace, name, (obj) => {
        obj.status = status;
        if (revision !== undefined) obj.metadata.annotations = { ...(obj.metadata.annotations ?? {}), 'deployment.kubernetes.io/revision': revision };
      });
    }
  }

  private trimHistory(deployment: KubeObject, old: KubeObject[], revisionOf: (rs: KubeObject) => number): void {
    const limit = typeof specOf(deployment).revisionHistoryLimit === 'number' ? (specOf(deployment).revisionHistoryLimit as number) : 10;
    const idle = old
      .filter((rs) => specOf(rs).replicas === 0 && this.ownedPods(rs).length === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      this.store.delete(KINDS.replicaSet, rs.metadata.namespace, rs.metadata.name ?? '');
    }
  }

  // ----- pods -----------------------------------------------------------------------------------------

  /** Marks a pod terminating (deletionTimestamp) unless it already is; the pod goes after `podDelayMs`. */
  private beginPodTermination(pod: KubeObject): void {
    if (pod.metadata.deletionTimestamp) return;
    const grace = typeof specOf(pod).terminationGracePeriodSeconds === 'number' ? (specOf(pod).terminationGracePeriodSeconds as number) : 30;
    this.store.mutate(KINDS.pod, pod.metadata.namespace, pod.metadata.name ?? '', (obj) => {
      obj.metadata.deletionTimestamp = this.store.timestamp(grace);
      obj.metadata.deletionGracePeriodSeconds = grace;
    });
  }

  private reconcilePod(namespace: string | undefined, name: string): void {
    const pod = this.store.get(KINDS.pod, namespace, name);
    if (!pod) return;
    const uid = pod.metadata.uid ?? '';
    // The stuckTerminating fault: a finalizer nobody removes (until the fault is cleared).
    const finalizers = pod.metadata.finalizers ?? [];
    const stuck = this.isStuckTerminating(pod);
    if (stuck !== finalizers.includes(STUCK_FINALIZER)) {
      this.store.mutate(KINDS.pod, namespace, name, (obj) => {
        const others = (obj.metadata.finalizers ?? []).filter((f) => f !== STUCK_FINALIZER);
        if (stuck) obj.metadata.finalizers = [...others, STUCK_FINALIZER];
        else if (others.length > 0) obj.metadata.finalizers = others;
        else delete obj.metadata.finalizers;
      });
      return; // the change comes back as an event
    }
    if (pod.metadata.deletionTimestamp) {
      this.cancelTimer(`start|${uid}`);
      this.later(`remove|${uid}`, () => {
        const still = this.store.get(KINDS.pod, namespace, name);
        // A finalizer keeps the object: its containers are stopped, but the pod stays Terminating until it is removed.
        if (still && still.metadata.uid === uid && (still.metadata.finalizers ?? []).length === 0) this.store.delete(KINDS.pod, namespace, name);
      });
      return;
    }
    if (!specOf(pod).nodeName) {
      this.store.update(KINDS.pod, scheduledPod(pod, this.store.timestamp()));
      return;
    }
    const phase = statusOf(pod).phase;
    const wantsReady = !this.isNeverReady(pod);
    if (phase === 'Pending' || (phase === 'Running' && !isPodReady(pod) && wantsReady)) {
      this.later(`start|${uid}`, () => {
        const still = this.store.get(KINDS.pod, namespace, name);
        if (!still || still.metadata.uid !== uid || still.metadata.deletionTimestamp) return;
        const ready = !this.isNeverReady(still);
        const started = this.store.update(KINDS.pod, runningPod(still, this.store.timestamp(), ready));
        if (ready) this.notifyReady(started);
      });
    } else if (isPodReady(pod)) {
      this.notifyReady(pod);
    }
  }

  private notifyReady(pod: KubeObject): void {
    const uid = pod.metadata.uid ?? '';
    if (this.readyNotified.has(uid)) return;
    this.readyNotified.add(uid);
    try {
      this.hooks.podReady?.(pod);
    } catch (err) {
      this.logger?.warn({ err, pod: pod.metadata.name }, 'kube-sim pod hook failed');
    }
  }

  private isNeverReady(pod: KubeObject): boolean {
    return this.ownedByOneOf(pod, this.faults.neverReady);
  }

  private isStuckTerminating(pod: KubeObject): boolean {
    return this.ownedByOneOf(pod, this.faults.stuckTerminating);
  }

  /** The pod is named in `names`, or so is its controller (for a Deployment's pods, through their ReplicaSet). */
  private ownedByOneOf(pod: KubeObject, names: readonly string[]): boolean {
    if (names.length === 0) return false;
    if (names.includes(pod.metadata.name ?? '')) return true;
    const owner = controllerOf(pod);
    if (!owner) return false;
    if (names.includes(owner.name)) return true;
    if (owner.kind === 'ReplicaSet') {
      const rs = this.store.get(KINDS.replicaSet, pod.metadata.namespace, owner.name);
      const deployment = rs ? controllerOf(rs) : undefined;
      return deployment !== undefined && names.includes(deployment.name);
    }
    return false;
  }

  private later(key: string, action: () => void): void {
    if (this.timers.has(key) || this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(key);
      if (this.stopped) return;
      try {
        action();
      } catch (err) {
        this.logger?.warn({ err, key }, 'kube-sim timer failed');
      }
    }, this.podDelayMs);
    this.timers.set(key, timer);
  }

  private cancelTimer(key: string): void {
    const timer = this.timers.get(key);
    if (timer) clearTimeout(timer);
    this.timers.delete(key);
  }

  // ----- namespaces and garbage collection -------------------------------------------------------------

  private reconcileNamespace(name: string): void {
    const ns = this.store.get(KINDS.namespace, undefined, name);
    if (!ns || !ns.metadata.deletionTimestamp) return;
    for (const resource of RESOURCE_TYPES) {
      if (!resource.namespaced || resource.virtual) continue;
      for (const obj of this.store.list(resource, name)) {
        if (resource === KINDS.pod) this.beginPodTermination(obj);
        else this.store.delete(resource, name, obj.metadata.name ?? '');
      }
    }
    // Pods leave after their grace period; the namespace goes once it is empty.
    const left = RESOURCE_TYPES.some((r) => r.namespaced && !r.virtual && this.store.list(r, name).length > 0);
    if (!left) this.store.delete(KINDS.namespace, undefined, name);
  }

  /** Background cascading deletion: dependents of a deleted owner go too (pods gracefully). */
  private collectGarbage(namespace: string | undefined, ownerUid: string): void {
    for (const resource of RESOURCE_TYPES) {
      if (!resource.namespaced || resource.virtual) continue;
      for (const obj of this.store.list(resource, namespace)) {
        const refs = obj.metadata.ownerReferences ?? [];
        if (!refs.some((ref) => ref.uid === ownerUid)) continue;
        const others = refs.filter((ref) => ref.uid !== ownerUid);
        if (others.length > 0) {
          this.store.mutate(resource, namespace, obj.metadata.name ?? '', (o) => {
            o.metadata.ownerReferences = others;
          });
        } else if (resource === KINDS.pod) {
          this.beginPodTermination(obj);
        } else {
          this.store.delete(resource, namespace, obj.metadata.name ?? '');
        }
      }
    }
  }
}

/** Which pods a scale-down removes first: not ready before ready, then highest ordinal / newest. */
function victimRank(owner: KubeObject, a: KubeObject, b: KubeObject): number {
  const readyA = isPodReady(a) ? 1 : 0;
  const readyB = isPodReady(b) ? 1 : 0;
  if (readyA !== readyB) return readyA - readyB;
  if (owner.kind === 'StatefulSet') {
    const ordinal = (p: KubeObject): number => Number((p.metadata.name ?? '').split('-').pop() ?? 0);
    return ordinal(b) - ordinal(a);
  }
  return (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
}
