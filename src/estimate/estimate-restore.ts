import type { RestorePlan } from '../restore/restore-plan.js';
import type { DowntimeEstimate } from './downtime-estimate.js';

/**
 * Seconds allowed for the restore's own paused steps, which backups do not have: ending the sessions and
 * renaming each staging database (catalog operations, independent of size), and writing the Helm values.
 */
const SWAP_SECONDS_PER_DATABASE = 1;
const HELM_VALUES_SECONDS = 0.5;

/**
 * The downtime of a restore that pauses its target, from the estimate of a backup of that cluster made now
 * (fitted on its past backups): a restore pauses and resumes exactly as a backup does (the same steps, the same
 * pods), its copy of objects that went missing meanwhile lists the bucket as the backup's delta copy does, and it
 * dumps nothing — the databases are restored beside the running cluster and only swapped in while paused. The
 * range keeps the backup estimate's relative spread. Undefined when the restore does not pause.
 */
export function estimateRestoreDowntime(backup: DowntimeEstimate, plan: RestorePlan): DowntimeEstimate | undefined {
  if (!plan.pause.needed) return undefined;
  const of = (step: string) => backup.perStep.find((p) => p.step === step)?.expectedSeconds ?? 0;
  const perStep = [
    { step: 'pause', title: 'Pause Pachyderm', expectedSeconds: of('pause') },
    ...(plan.objects.mode === 'copy' && plan.objects.live ? [{ step: 'copy-delta', title: 'Copy objects that went missing meanwhile', expectedSeconds: of('delta-copy') }] : []),
    { step: 'swap-databases', title: 'Put the restored databases in place', expectedSeconds: SWAP_SECONDS_PER_DATABASE * plan.databases.length },
    { step: 'helm-values', title: 'Render the Helm values', expectedSeconds: HELM_VALUES_SECONDS },
    { step: 'resume', title: 'Resume Pachyderm', expectedSeconds: of('resume') },
  ];
  const expected = perStep.reduce((n, p) => n + p.expectedSeconds, 0);
  const scale = (s: number) => (backup.expectedSeconds > 0 ? (s / backup.expectedSeconds) * expected : expected);
  const round = (s: number) => Math.round(s * 10) / 10;
  return {
    expectedSeconds: round(expected),
    lowSeconds: round(Math.min(expected, scale(backup.lowSeconds))),
    highSeconds: round(Math.max(expected, scale(backup.highSeconds))),
    basis: backup.basis,
    runs: backup.runs,
    perStep: perStep.map((p) => ({ ...p, expectedSeconds: round(p.expectedSeconds) })),
  };
}
