import * as k8s from '@kubernetes/client-node';
import type { ClusterConfig } from '../config/config.js';
import { PachbackupError } from '../errors.js';
import { watchUntil } from './watch-until.js';
import { retryingApi } from './kube-retry.js';

const MERGE_PATCH = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

/** Replica counts of everything a pause stops, recorded before anything changes and restored exactly on resume. */
export interface WorkloadReplicas {
  pachd: { name: string; replicas: number };
  deployments: { name: string; replicas: number }[];
  workers: { name: string; replicas: number }[];
  /** pachd's MODE in ConfigMap pachd-config (enterprise pause), when the ConfigMap exists. */
  pachdMode?: string;
}

/** What is running now: for status, confirmations and checks that a pause took hold. */
export interface WorkloadSnapshot extends WorkloadReplicas {
  pachdReady: number;
  pachdImage?: string;
  pods: { pachd: number; deployments: number; workers: number };
}

/** An API permission pachbackup needs, checked with a SelfSubjectAccessReview. */
export interface AccessCheck {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  name?: string;
}

export type PachdMode = 'full' | 'paused';

const PACHD_CONFIG = 'pachd-config';

function isNotFound(err: unknown): boolean {
  return err instanceof k8s.ApiException && err.code === 404;
}

/** A Kubernetes API failure as a coded error that names what was being done. */
function apiError(doing: string, err: unknown): PachbackupError {
  if (err instanceof PachbackupError) return err;
  if (err instanceof k8s.ApiException) {
    let reason = '';
    try {
      reason = (JSON.parse(String(err.body)) as { message?: string }).message ?? '';
    } catch {
      reason = String(err.body ?? '').slice(0, 200);
    }
    const code = err.code === 404 ? 'not-found' : err.code === 403 ? 'forbidden' : err.code === 409 ? 'conflict' : 'unavailable';
    return new PachbackupError(code, `Kubernetes refused to ${doing}: HTTP ${err.code}${reason ? ` ${reason}` : ''}`, { retryable: err.code >= 500 || err.code === 409, cause: err });
  }
  return new PachbackupError('unavailable', `could not ${doing}: ${(err as Error)?.message ?? String(err)}`, { retryable: true, cause: err });
}

/** A rollout is finished: the controller saw the latest spec, every replica is updated and ready, no old pod is left. */
function isRolledOut(d: k8s.V1Deployment): boolean {
  const want = d.spec?.replicas ?? 0;
  const status = d.status ?? {};
  const observed = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0);
  return observed && (status.readyReplicas ?? 0) >= want && (status.updatedReplicas ?? want) >= want && (status.replicas ?? 0) <= want;
}

/** A ready pod's start-up: PodScheduled → Ready, seconds, from its status conditions; undefined if not ready. */
function startupOf(pod: k8s.V1Pod): number | undefined {
  const at = (type: string) => pod.status?.conditions?.find((c) => c.type === type && c.status === 'True')?.lastTransitionTime;
  const scheduled = at('PodScheduled');
  const ready = at('Ready');
  return scheduled && ready ? Math.max(0, (new Date(ready).getTime() - new Date(scheduled).getTime()) / 1000) : undefined;
}

function selectorOf(matchLabels: Record<string, string> | undefined): string {
  return Object.entries(matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/**
 * Pachyderm's workloads in one namespace, through the Kubernetes API: the pachd Deployment, the other
 * Deployments that write to its state (pachw), the pipeline worker ReplicationControllers, the pachd-config
 * ConfigMap used by `pachctl enterprise pause`, CronJobs, and Helm's release Secrets.
 */
export function createPachydermWorkloads(
  kc: k8s.KubeConfig,
  cluster: Pick<ClusterConfig, 'kubernetes' | 'pachyderm'>,
  options: { /** How long the API server may keep one watch open (default 300 s); waits watch again after. */ watchTimeoutSeconds?: number } = {},
) {
  // Every call is retried on throttling, 5xx and unreachable apiservers (see kube-retry.ts).
  const service = `the Kubernetes API (${kc.getCurrentCluster()?.server ?? 'in-cluster'})`;
  const apps = retryingApi(kc.makeApiClient(k8s.AppsV1Api), service);
  const core = retryingApi(kc.makeApiClient(k8s.CoreV1Api), service);
  const batch = retryingApi(kc.makeApiClient(k8s.BatchV1Api), service);
  const authz = retryingApi(kc.makeApiClient(k8s.AuthorizationV1Api), service);
  const namespace = cluster.kubernetes.namespace;
  const { deployment: pachdName, quiesce, workerSelector } = cluster.pachyderm;
  const { watchTimeoutSeconds } = options;

  async function readDeployment(name: string): Promise<k8s.V1Deployment> {
    try {
      return await apps.readNamespacedDeployment({ name, namespace });
    } catch (err) {
      if (isNotFound(err)) {
        throw new PachbackupError('not-found', `Deployment ${name} not found in namespace ${namespace}`, {
          hint: 'check the cluster\'s kubernetes.namespace and pachyderm.deployment / pachyderm.quiesce in the config',
        });
      }
      throw apiError(`read Deployment ${name}`, err);
    }
  }

  async function countPods(labelSelector: string): Promise<number> {
    if (!labelSelector) return 0;
    try {
      const pods = await core.listNamespacedPod({ namespace, labelSelector });
      return pods.items.length;
    } catch (err) {
      throw apiError(`list pods (${labelSelector})`, err);
    }
  }

  /** The label selectors of every pod a pause stops: the workers', the quiesced deployments' and (optionally) pachd's. */
  async function podSelectors(includePachd: boolean): Promise<string[]> {
    const deployments = await Promise.all([...(includePachd ? [pachdName] : []), ...quiesce].map(readDeployment));
    return [...new Set([workerSelector, ...deployments.map((d) => selectorOf(d.spec?.selector?.matchLabels))].filter(Boolean))];
  }

  /** Each pod of `selectors` as a person needs it: "pachd-1 stuck Terminating for 31 s (finalizer x)", or "worker-2 running". */
  async function describePods(selectors: string[]): Promise<string> {
    const pods = new Map<string, k8s.V1Pod>();
    for (const labelSelector of selectors) for (const pod of (await core.listNamespacedPod({ namespace, labelSelector })).items) pods.set(pod.metadata?.name ?? '', pod);
    return [...pods.values()]
      .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''))
      .map((pod) => {
        const deleted = pod.metadata?.deletionTimestamp;
        if (!deleted) return `${pod.metadata?.name} ${pod.status?.phase?.toLowerCase() ?? 'running'}`;
        // Kubernetes sets deletionTimestamp to the deletion request's time PLUS the grace period: the pod has been
        // Terminating since that time less deletionGracePeriodSeconds.
        const since = new Date(deleted).getTime() - (pod.metadata?.deletionGracePeriodSeconds ?? 0) * 1000;
        const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
        const finalizers = pod.metadata?.finalizers ?? [];
        return `${pod.metadata?.name} stuck Terminating for ${seconds} s${finalizers.length ? ` (finalizer ${finalizers.join(', ')})` : ''}`;
      })
      .join(', ');
  }

  const workloads = {
    namespace,

    async listWorkers(): Promise<{ name: string; replicas: number; ready: number }[]> {
      try {
        const rcs = await core.listNamespacedReplicationController({ namespace, labelSelector: workerSelector });
        return rcs.items
          .map((rc) => ({ name: rc.metadata?.name ?? '', replicas: rc.spec?.replicas ?? 0, ready: rc.status?.readyReplicas ?? 0 }))
          .sort((a, b) => a.name.localeCompare(b.name));
      } catch (err) {
        throw apiError(`list worker ReplicationControllers (${workerSelector})`, err);
      }
    },

    async readPachdMode(): Promise<string | undefined> {
      try {
        const cm = await core.readNamespacedConfigMap({ name: PACHD_CONFIG, namespace });
        return cm.data?.MODE;
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw apiError(`read ConfigMap ${PACHD_CONFIG}`, err);
      }
    },

    /** Everything a pause touches, with replica counts and running pods. */
    async snapshot(): Promise<WorkloadSnapshot> {
      const [pachd, deployments, workers, pachdMode] = await Promise.all([
        readDeployment(pachdName),
        Promise.all(quiesce.map(readDeployment)),
        workloads.listWorkers(),
        workloads.readPachdMode(),
      ]);
      const [pachdPods, deploymentPods, workerPods] = await Promise.all([
        countPods(selectorOf(pachd.spec?.selector?.matchLabels)),
        Promise.all(deployments.map((d) => countPods(selectorOf(d.spec?.selector?.matchLabels)))).then((n) => n.reduce((a, b) => a + b, 0)),
        countPods(workerSelector),
      ]);
      const image = pachd.spec?.template?.spec?.containers?.find((c) => c.name === 'pachd')?.image ?? pachd.spec?.template?.spec?.containers?.[0]?.image;
      return {
        pachd: { name: pachdName, replicas: pachd.spec?.replicas ?? 0 },
        pachdReady: pachd.status?.readyReplicas ?? 0,
        ...(image ? { pachdImage: image } : {}),
        deployments: deployments.map((d) => ({ name: d.metadata?.name ?? '', replicas: d.spec?.replicas ?? 0 })),
        workers: workers.map(({ name, replicas }) => ({ name, replicas })),
        ...(pachdMode !== undefined ? { pachdMode } : {}),
        pods: { pachd: pachdPods, deployments: deploymentPods, workers: workerPods },
      };
    },

    async scaleDeployment(name: string, replicas: number): Promise<void> {
      try {
        await apps.patchNamespacedDeploymentScale({ name, namespace, body: { spec: { replicas } } }, MERGE_PATCH);
      } catch (err) {
        throw apiError(`scale Deployment ${name} to ${replicas}`, err);
      }
    },

    async scaleWorker(name: string, replicas: number): Promise<void> {
      try {
        await core.patchNamespacedReplicationControllerScale({ name, namespace, body: { spec: { replicas } } }, MERGE_PATCH);
      } catch (err) {
        if (isNotFound(err)) return; // the pipeline was deleted meanwhile: nothing to bring back
        throw apiError(`scale ReplicationController ${name} to ${replicas}`, err);
      }
    },

    /**
     * What `pachctl enterprise pause`/`unpause` does (src/server/enterprise/server/api_server.go, rollPachd):
     * set MODE in ConfigMap pachd-config, then restart pachd by stamping its pod template.
     */
    async setPachdMode(mode: PachdMode): Promise<void> {
      const now = new Date().toISOString();
      try {
        await core.patchNamespacedConfigMap(
          { name: PACHD_CONFIG, namespace, body: { metadata: { annotations: { 'pachyderm.com/updatedAt': now } }, data: { MODE: mode } } },
          MERGE_PATCH,
        );
      } catch (err) {
        if (!isNotFound(err)) throw apiError(`set MODE=${mode} in ConfigMap ${PACHD_CONFIG}`, err);
        try {
          await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: PACHD_CONFIG, annotations: { 'pachyderm.com/updatedAt': now } }, data: { MODE: mode } } });
        } catch (createErr) {
          throw apiError(`create ConfigMap ${PACHD_CONFIG}`, createErr);
        }
      }
      try {
        await apps.patchNamespacedDeployment(
          { name: pachdName, namespace, body: { spec: { template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': now } } } } } },
          MERGE_PATCH,
        );
      } catch (err) {
        throw apiError(`restart Deployment ${pachdName}`, err);
      }
    },

    /** Pods of pachd, the quiesced deployments and the workers that still exist (terminating ones included). */
    async runningPods(options: { includePachd: boolean }): Promise<string[]> {
      const lists = await Promise.all(
        (await podSelectors(options.includePachd)).map(async (selector) => {
          try {
            return (await core.listNamespacedPod({ namespace, labelSelector: selector })).items;
          } catch (err) {
            throw apiError(`list pods (${selector})`, err);
          }
        }),
      );
      return [...new Set(lists.flat().map((p) => p.metadata?.name ?? ''))].sort();
    },

    /**
     * Waits until none of the pods remain — pachd's (with `includePachd`), the quiesced deployments' and the
     * workers', terminating ones included — watching each selector's pods (list, then watch from its
     * resourceVersion; re-list and re-watch whenever a watch ends), so it returns as soon as the API server
     * reports the last pod gone. Fails after `timeoutMs` naming the pods still there.
     */
    async waitForPodsGone(options: { includePachd: boolean; timeoutMs: number; signal?: AbortSignal; onProgress?: (remaining: string[]) => void }): Promise<void> {
      const selectors = await podSelectors(options.includePachd);
      const remaining = new Map<string, string[]>();
      const report = () => options.onProgress?.([...remaining.values()].flat().sort());
      try {
        await Promise.all(
          selectors.map((labelSelector) =>
            watchUntil<k8s.V1Pod>({
              kc,
              path: `/api/v1/namespaces/${namespace}/pods`,
              query: { labelSelector },
              list: async () => {
                try {
                  const pods = await core.listNamespacedPod({ namespace, labelSelector });
                  return { items: pods.items, ...(pods.metadata?.resourceVersion ? { resourceVersion: pods.metadata.resourceVersion } : {}) };
                } catch (err) {
                  throw apiError(`list pods (${labelSelector})`, err);
                }
              },
              satisfied: (pods) => pods.size === 0,
              describeWaiting: (pods) => `pods to stop: ${[...pods.keys()].join(', ')}`,
              onChange: (pods) => {
                remaining.set(labelSelector, [...pods.keys()]);
                report();
              },
              timeoutMs: options.timeoutMs,
              ...(options.signal ? { signal: options.signal } : {}),
              ...(watchTimeoutSeconds ? { watchTimeoutSeconds } : {}),
            }),
          ),
        );
      } catch (err) {
        if (!(err instanceof PachbackupError) || err.code !== 'timeout') throw err;
        const left = await describePods(selectors).catch(() => [...remaining.values()].flat().sort().join(', '));
        throw new PachbackupError('timeout', `pods still there after ${Math.round(options.timeoutMs / 1000)} s: ${left}`, {
          hint: `a pod stuck Terminating is held by its finalizers or an unreachable node: kubectl -n ${namespace} describe pod <name>`,
        });
      }
    },

    /**
     * How fast this cluster's pods come and go, from the pods a pause stops: pachd's current pod's start-up
     * (PodScheduled → Ready, as its status conditions stamp them, to the second), the median start-up of them
     * all, and the longest grace period among them (what a pod ignoring SIGTERM holds a pause for).
     */
    async podPace(): Promise<{ pachdStartupSeconds?: number; podStartupSeconds?: number; maxGraceSeconds?: number; pods: number }> {
      const pachdSelector = selectorOf((await readDeployment(pachdName)).spec?.selector?.matchLabels);
      const listed = await Promise.all(
        (await podSelectors(true)).map(async (selector) => {
          try {
            return { selector, pods: (await core.listNamespacedPod({ namespace, labelSelector: selector })).items };
          } catch (err) {
            throw apiError(`list pods (${selector})`, err);
          }
        }),
      );
      const all = [...new Map(listed.flatMap((l) => l.pods).map((p) => [p.metadata?.name ?? '', p])).values()];
      const pachdPods = (listed.find((l) => l.selector === pachdSelector)?.pods ?? []).filter((p) => startupOf(p) !== undefined);
      const pachdPod = pachdPods.sort((a, b) => String(b.status?.startTime ?? '').localeCompare(String(a.status?.startTime ?? '')))[0];
      const startups = all.map(startupOf).filter((s): s is number => s !== undefined).sort((a, b) => a - b);
      const graces = all.map((p) => p.spec?.terminationGracePeriodSeconds ?? 30);
      const pachdStartupSeconds = pachdPod ? startupOf(pachdPod) : undefined;
      return {
        ...(pachdStartupSeconds !== undefined ? { pachdStartupSeconds } : {}),
        ...(startups.length ? { podStartupSeconds: startups[Math.floor(startups.length / 2)]! } : {}),
        ...(graces.length ? { maxGraceSeconds: Math.max(...graces) } : {}),
        pods: all.length,
      };
    },

    /**
     * Waits until a Deployment has all its replicas ready and updated (a rollout finished), watching it (list,
     * then watch from its resourceVersion; re-list and re-watch whenever a watch ends): it returns as soon as the
     * API server reports the last pod ready.
     */
    async waitForDeploymentReady(name: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<k8s.V1Deployment> {
      const fieldSelector = `metadata.name=${name}`;
      try {
        const found = await watchUntil<k8s.V1Deployment>({
          kc,
          path: `/apis/apps/v1/namespaces/${namespace}/deployments`,
          query: { fieldSelector },
          list: async () => {
            try {
              const list = await apps.listNamespacedDeployment({ namespace, fieldSelector });
              return { items: list.items, ...(list.metadata?.resourceVersion ? { resourceVersion: list.metadata.resourceVersion } : {}) };
            } catch (err) {
              throw apiError(`list Deployment ${name}`, err);
            }
          },
          satisfied: (deployments) => {
            const d = deployments.get(name);
            return d !== undefined && isRolledOut(d);
          },
          describeWaiting: (deployments) => {
            const d = deployments.get(name);
            return d ? `Deployment ${name} to be ready (${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 0} ready)` : `Deployment ${name} (not found)`;
          },
          timeoutMs: options.timeoutMs,
          ...(options.signal ? { signal: options.signal } : {}),
          ...(watchTimeoutSeconds ? { watchTimeoutSeconds } : {}),
        });
        return found.get(name)!;
      } catch (err) {
        if (!(err instanceof PachbackupError) || err.code !== 'timeout') throw err;
        throw new PachbackupError('timeout', `Deployment ${name} not ready after ${Math.round(options.timeoutMs / 1000)} s: ${err.message}`, {
          hint: `look at its pods: kubectl -n ${namespace} describe deploy ${name}`,
        });
      }
    },

    async readCronJobSuspended(name: string): Promise<boolean> {
      try {
        const cj = await batch.readNamespacedCronJob({ name, namespace });
        return cj.spec?.suspend ?? false;
      } catch (err) {
        throw apiError(`read CronJob ${name}`, err);
      }
    },

    async setCronJobSuspended(name: string, suspend: boolean): Promise<void> {
      try {
        await batch.patchNamespacedCronJob({ name, namespace, body: { spec: { suspend } } }, MERGE_PATCH);
      } catch (err) {
        throw apiError(`${suspend ? 'suspend' : 'resume'} CronJob ${name}`, err);
      }
    },

    async readDeploymentReplicas(name: string): Promise<number> {
      return (await readDeployment(name)).spec?.replicas ?? 0;
    },

    /** The release Secrets of a Helm release (newest revision first). */
    async listHelmReleaseSecrets(release: string): Promise<k8s.V1Secret[]> {
      try {
        const list = await core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${release}` });
        return list.items.sort((a, b) => Number(b.metadata?.labels?.version ?? 0) - Number(a.metadata?.labels?.version ?? 0));
      } catch (err) {
        throw apiError(`list Helm release Secrets of ${release}`, err);
      }
    },

    /** The checks that are denied (empty when everything is allowed). */
    async deniedAccess(checks: AccessCheck[]): Promise<AccessCheck[]> {
      const results = await Promise.all(
        checks.map(async (check) => {
          try {
            const review = await authz.createSelfSubjectAccessReview({
              body: {
                apiVersion: 'authorization.k8s.io/v1',
                kind: 'SelfSubjectAccessReview',
                spec: {
                  resourceAttributes: {
                    namespace,
                    verb: check.verb,
                    group: check.group,
                    resource: check.resource,
                    ...(check.subresource ? { subresource: check.subresource } : {}),
                    ...(check.name ? { name: check.name } : {}),
                  },
                },
              },
            });
            return review.status?.allowed ? undefined : check;
          } catch (err) {
            throw apiError('check permissions (SelfSubjectAccessReview)', err);
          }
        }),
      );
      return results.filter((c): c is AccessCheck => c !== undefined);
    },
  };
  return workloads;
}

export type PachydermWorkloads = ReturnType<typeof createPachydermWorkloads>;

/** How a permission reads in a message: "patch deployments/scale pachd". */
export function describeAccess(check: AccessCheck): string {
  return `${check.verb} ${check.group ? `${check.resource}.${check.group}` : check.resource}${check.subresource ? `/${check.subresource}` : ''}${check.name ? ` ${check.name}` : ''}`;
}
