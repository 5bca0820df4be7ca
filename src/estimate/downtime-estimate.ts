/**
 * A downtime estimate with its range (seconds): what a backup or a restore is expected to pause the cluster for.
 * Made by the estimators in this folder; shown by Slack, the CLI and metrics, and carried with a run.
 */
export interface DowntimeEstimate {
  expectedSeconds: number;
  lowSeconds: number;
  highSeconds: number;
  /** `history`: fitted on past runs (n of them); `throughput`: no history yet, from measured throughput. */
  basis: 'history' | 'throughput';
  runs: number;
  perStep: { step: string; title: string; expectedSeconds: number }[];
}
