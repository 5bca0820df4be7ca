import type { Step, StepContext } from '../../runner/step.js';
import type { BackupDeps } from '../backup-deps.js';
import type { BackupOutputs } from '../backup-outputs.js';

type IngressState = BackupOutputs['ingress'];

/** Puts the configured CronJobs and Deployments back as they were recorded. Idempotent. */
async function restoreIngress(deps: BackupDeps, recorded: IngressState | undefined): Promise<void> {
  if (!recorded) return;
  for (const cj of recorded.cronJobs) await deps.workloads.setCronJobSuspended(cj.name, cj.suspended);
  for (const d of recorded.deployments) await deps.workloads.scaleDeployment(d.name, d.replicas);
}

function recordedIngress(ctx: StepContext<BackupOutputs>): IngressState | undefined {
  return ctx.outputs.ingress ?? ctx.checkpoint<IngressState>();
}

/**
 * Stops the cluster's data ingestion (the runbook's "stop external processes that push data"): suspends the
 * configured CronJobs and scales the configured Deployments to 0, after recording their state durably.
 * Undo: puts them back exactly as recorded.
 */
export function suspendIngress(deps: BackupDeps): Step<BackupOutputs> {
  const { cronJobs, deployments } = deps.cluster.ingress;
  return {
    name: 'suspend-ingress',
    title: 'Suspend data ingestion',
    description: cronJobs.length + deployments.length === 0
      ? 'No ingestion is configured to suspend.'
      : `Suspend ${[...cronJobs.map((c) => `CronJob ${c}`), ...deployments.map((d) => `Deployment ${d}`)].join(', ')}.`,
    async run(ctx) {
      const recorded: IngressState = ctx.checkpoint<IngressState>() ?? {
        cronJobs: await Promise.all(cronJobs.map(async (name) => ({ name, suspended: await deps.workloads.readCronJobSuspended(name) }))),
        deployments: await Promise.all(deployments.map(async (name) => ({ name, replicas: await deps.workloads.readDeploymentReplicas(name) }))),
      };
      await ctx.saveCheckpoint(recorded);
      for (const cj of recorded.cronJobs) await deps.workloads.setCronJobSuspended(cj.name, true);
      for (const d of recorded.deployments) await deps.workloads.scaleDeployment(d.name, 0);
      const n = recorded.cronJobs.length + recorded.deployments.length;
      return { output: { ingress: recorded }, summary: n === 0 ? 'nothing configured' : `suspended ${n} ingestion workload${n === 1 ? '' : 's'}` };
    },
    async undo(ctx) {
      await restoreIngress(deps, recordedIngress(ctx));
    },
  };
}

/** Resumes data ingestion after the cluster is back: CronJobs and Deployments as they were recorded. */
export function resumeIngress(deps: BackupDeps): Step<BackupOutputs> {
  return {
    name: 'resume-ingress',
    title: 'Resume data ingestion',
    description: 'Put the suspended CronJobs and Deployments back as they were.',
    compensates: 'suspend-ingress',
    async run(ctx) {
      await restoreIngress(deps, ctx.outputs.ingress);
      return { output: { ingressRestored: true } };
    },
  };
}
