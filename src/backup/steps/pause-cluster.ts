import { PachbackupError } from '../../errors.js';
import { noticeRetry } from '../../runner/retry-notices.js';
import type { WorkloadReplicas } from '../../kubernetes/pachyderm-workloads.js';
import type { Step, StepContext } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

/** What pausing and resuming use: the cluster's settings and its workloads (restores pause a target cluster too). */
export type PauseDeps = Pick<BackupDeps, 'cluster' | 'workloads'>;

function describeReplicas(r: WorkloadReplicas): string {
  const workers = r.workers.reduce((n, w) => n + w.replicas, 0);
  return [`${r.pachd.name} ×${r.pachd.replicas}`, ...r.deployments.map((d) => `${d.name} ×${d.replicas}`), `${r.workers.length} worker RCs (${workers} pods)`].join(', ');
}

/**
 * Brings Pachyderm back to exactly the recorded replicas, then waits — watching, not polling — until pachd is
 * ready. Every scale call goes out at once: nothing in Pachyderm needs pachd up before its workers or pachw
 * (workers and pachw connect to pachd and PostgreSQL themselves and wait for them; pachd, once up, reconciles the
 * workers to their pipelines — PACHYDERM.md "resume: pachd brings the workers back" — so applying the recorded
 * counts together with pachd only saves that round). The one order Pachyderm does need is inside the enterprise
 * strategy: MODE=full is written before pachd restarts, since pachd reads its mode at start
 * (`setPachdMode` does both, in that order).
 * Idempotent: run as the resume step, as the undo of the pause, and by crash recovery.
 */
export async function resumeWorkloads(deps: PauseDeps, recorded: WorkloadReplicas, signal?: AbortSignal): Promise<void> {
  const { workloads, cluster } = deps;
  await applyReplicas(deps, recorded);
  if (recorded.pachd.replicas > 0) {
    await workloads.waitForDeploymentReady(recorded.pachd.name, { timeoutMs: cluster.backup.resumeTimeoutSeconds * 1000, ...(signal ? { signal } : {}) });
  }
}

/**
 * The resume step's way back: `resumeWorkloads`, and while pachd is not ready within `resumeTimeoutSeconds`, the
 * recorded replicas applied again and another wait — until pachd is ready or the step is stopped (cancel,
 * shutdown): giving up would leave the cluster down with nobody trying. Each wait that runs out is a retry of
 * "pachd" told to the step (`noticeRetry`), so the thread and the CLI say what is wrong once it lasts, and that it
 * is back when it is.
 */
export async function resumeUntilReady(deps: PauseDeps, recorded: WorkloadReplicas, signal: AbortSignal): Promise<void> {
  const service = `pachd (Deployment ${recorded.pachd.name})`;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      await resumeWorkloads(deps, recorded, signal);
      if (attempt > 1) noticeRetry({ type: 'recovered', service, attempts: attempt - 1 });
      return;
    } catch (err) {
      if (!(err instanceof PachbackupError) || err.code !== 'timeout' || signal.aborted) throw err;
      noticeRetry({ type: 'retrying', service, attempt, error: `${err.message}${err.hint ? ` — ${err.hint}` : ''}; still trying`, waitMs: 0, failingSince: started });
    }
  }
}

async function applyReplicas(deps: PauseDeps, recorded: WorkloadReplicas): Promise<void> {
  const { workloads, cluster } = deps;
  await Promise.all([
    cluster.pachyderm.pauseStrategy === 'enterprise'
      ? workloads.setPachdMode(recorded.pachdMode === 'paused' ? 'paused' : 'full').then(() => workloads.scaleDeployment(recorded.pachd.name, recorded.pachd.replicas))
      : workloads.scaleDeployment(recorded.pachd.name, recorded.pachd.replicas),
    ...recorded.deployments.map((d) => workloads.scaleDeployment(d.name, d.replicas)),
    ...recorded.workers.map((w) => workloads.scaleWorker(w.name, w.replicas)),
  ]);
}

function recordedReplicas(ctx: StepContext<BackupOutputs>): WorkloadReplicas | undefined {
  return ctx.outputs.pause?.recorded ?? ctx.checkpoint<{ recorded: WorkloadReplicas }>()?.recorded;
}

/**
 * Pauses Pachyderm: records the replicas of pachd, the quiesced deployments and every worker RC durably, then
 * either scales them all to 0 (`scale`, the runbook's kubectl commands) or does what `pachctl enterprise pause`
 * does (`enterprise`: MODE=paused and a pachd restart; pachd stops the workers) and stops the quiesced
 * deployments — every call at once; then waits, watching pods (re-listing and watching again when a watch
 * drops), until nothing that writes to the bucket or the databases runs.
 * Refuses to go on while anything still runs. Undo: `resumeWorkloads` with the recorded replicas.
 */
export function pauseCluster(deps: PauseDeps): Step<BackupOutputs> {
  const { cluster, workloads } = deps;
  const strategy = cluster.pachyderm.pauseStrategy;
  return {
    name: 'pause',
    title: 'Pause Pachyderm',
    description:
      strategy === 'scale'
        ? `Scale ${[cluster.pachyderm.deployment, ...cluster.pachyderm.quiesce].join(', ')} and the worker ReplicationControllers (${cluster.pachyderm.workerSelector}) to 0 and wait for their pods to go.`
        : `Put pachd in paused mode (as \`pachctl enterprise pause\`), scale ${cluster.pachyderm.quiesce.join(', ') || 'no other deployments'} to 0 and wait for the workers to go.`,
    downtime: true,
    async run(ctx) {
      const saved = ctx.checkpoint<{ recorded: WorkloadReplicas; pausedAt: string }>();
      let recorded = saved?.recorded;
      const pausedAt = saved?.pausedAt ?? new Date().toISOString();
      if (!recorded) {
        const snapshot = await workloads.snapshot();
        recorded = { pachd: snapshot.pachd, deployments: snapshot.deployments, workers: snapshot.workers, ...(snapshot.pachdMode ? { pachdMode: snapshot.pachdMode } : {}) };
        // Durable before anything changes: the undo, and a recovery after a crash, restore exactly this.
        await ctx.saveCheckpoint({ recorded, pausedAt });
      }
      ctx.progress({ message: `stopping ${describeReplicas(recorded)}` });
      // Everything at once: the outage starts with the first call, so no call waits for another.
      await Promise.all([
        strategy === 'scale' ? workloads.scaleDeployment(recorded.pachd.name, 0) : workloads.setPachdMode('paused'),
        ...recorded.deployments.map((d) => workloads.scaleDeployment(d.name, 0)),
        ...recorded.workers.map((w) => workloads.scaleWorker(w.name, 0)),
      ]);

      const includePachd = strategy === 'scale';
      await workloads.waitForPodsGone({
        includePachd,
        timeoutMs: cluster.backup.pauseTimeoutSeconds * 1000,
        signal: ctx.signal,
        onProgress: (remaining) => ctx.progress({ message: remaining.length ? `waiting for ${remaining.length} pods to stop` : 'all pods stopped' }),
      });
      if (strategy === 'enterprise') {
        // pachd itself keeps running, restarted in paused mode: wait until the paused pods serve.
        await workloads.waitForDeploymentReady(recorded.pachd.name, { timeoutMs: cluster.backup.pauseTimeoutSeconds * 1000, signal: ctx.signal });
      }
      // Nothing may still run: check once more after the wait, and name anything that came back.
      const still = await workloads.runningPods({ includePachd });
      if (still.length > 0) {
        throw new PachbackupError('precondition', `pods came back during the pause: ${still.join(', ')}`, { hint: 'something else scales Pachyderm (an autoscaler, GitOps sync?)' });
      }
      const workers = recorded.workers.reduce((n, w) => n + w.replicas, 0);
      return {
        output: { pause: { recorded, pausedAt } },
        sizes: { objects: recorded.pachd.replicas + recorded.deployments.reduce((n, d) => n + d.replicas, 0) + workers },
        summary: `stopped ${describeReplicas(recorded)}`,
      };
    },
    async undo(ctx) {
      const recorded = recordedReplicas(ctx);
      if (recorded) await resumeWorkloads(deps, recorded);
    },
  };
}

/**
 * Resumes Pachyderm with exactly the recorded replicas and waits until pachd is ready: the end of the outage.
 * `beforeResume` runs first, while still paused (a backup makes sure it holds its database snapshots).
 */
export function resumeCluster(deps: PauseDeps, options: { beforeResume?: (ctx: StepContext<BackupOutputs>) => Promise<void> } = {}): Step<BackupOutputs> {
  return {
    name: 'resume',
    title: 'Resume Pachyderm',
    description: `Restore the recorded replicas, all at once, and wait until ${deps.cluster.pachyderm.deployment} is ready.`,
    downtime: true,
    compensates: 'pause',
    async run(ctx) {
      const recorded = recordedReplicas(ctx);
      if (!recorded) throw new PachbackupError('internal', 'no recorded replicas to resume from');
      await options.beforeResume?.(ctx);
      await resumeUntilReady(deps, recorded, ctx.signal);
      return { output: { resume: { resumedAt: new Date().toISOString() } }, summary: `back at ${describeReplicas(recorded)}` };
    },
  };
}
