import type { RunPhase, StepState } from '../../runner/run-phase.js';
import type { StepProgress, StepSizes } from '../../runner/run-event.js';
import type { DowntimeEstimate } from '../../estimate/downtime-estimate.js';
import type { AnnouncementState } from '../../jobs/operations-queue.js';

/**
 * Platform-neutral data the Slack views are rendered from (as Botkube builds messages as data first).
 * Builders in this folder are pure functions of these: same data, same Block Kit JSON.
 */

/** A downtime estimate with its range; defined by the estimators (`src/estimate`), shown by these views. */
export type { DowntimeEstimate } from '../../estimate/downtime-estimate.js';

/** One step of a run as the checklist shows it. */
export interface StepView {
  name: string;
  title: string;
  state: StepState;
  downtime: boolean;
  durationMs?: number;
  sizes?: StepSizes;
  summary?: string;
  error?: string;
  /** How far a running step is (a copy's objects and bytes so far, summed over every worker copying it). */
  progress?: StepProgress;
}

/** A backup or a restore as its ops-channel message shows it. */
export interface RunView {
  id: string;
  kind: 'backup' | 'restore' | 'drill';
  cluster: string;
  clusterDisplayName: string;
  requestedBy: string;
  /** Who approved it (restores): each a Slack mention or a name. */
  approvedBy?: string[];
  note?: string;
  phase: RunPhase;
  steps: StepView[];
  startedAt: string;
  finishedAt?: string;
  estimate?: DowntimeEstimate;
  /** Seconds paused so far (while paused) or in all (after). */
  downtimeSeconds?: number;
  pausedAt?: string;
  error?: string;
  warnings: string[];
}

/** The end of a backup, for the final summary reply. */
export interface BackupSummaryView {
  id: string;
  cluster: string;
  phase: RunPhase;
  error?: string;
  warnings: string[];
  downtimeSeconds: number | null;
  estimate?: DowntimeEstimate;
  objects: { total: number; copied: number; copiedWhilePaused: number };
  bytes: { total: number; copied: number };
  /** Seconds the copies took in all, for throughput. */
  copySeconds: number;
  databases: { name: string; bytes: number }[];
  verified?: boolean;
}

/** What the users' channel is told about an outage. */
export interface AnnouncementView {
  cluster: string;
  clusterDisplayName: string;
  /** What it says (see `AnnouncementState`). */
  state: AnnouncementState;
  /** When the outage starts (or started), ISO. */
  startsAt: string;
  /** The expected downtime; absent for a restore that does not pause the cluster. */
  estimate?: DowntimeEstimate;
  /** Revised expected end while overrunning, ISO. */
  revisedEndAt?: string;
  /** The real downtime, when back. */
  actualSeconds?: number;
  /** IANA zone for the plain-text fallback (readers see their own zone through Slack's date tokens). */
  fallbackZone: string;
  /** Set for a restore: the state users get back, and whether the cluster switches to it (pauses) in this run. */
  restore?: RestoreAnnouncement;
  /** For `failed-back`, `still-paused` and `failed`: an operator cancelled it (users are told so, not that it failed). */
  cancelled?: boolean;
}

/** What users are told a restore does to them. */
export interface RestoreAnnouncement {
  /** When the restored backup was taken, ISO: anything saved after it is not in the restored state. */
  backupTakenAt: string;
  /** The cluster is paused and switched to the restored state by this run (in place or its own state replaced). */
  switches: boolean;
  /** The cluster's databases were already replaced when it failed (for `failed-back`). */
  replaced?: boolean;
}

/** A cluster's state for `status` and App Home. */
export interface ClusterStatusView {
  name: string;
  displayName: string;
  context: string;
  namespace: string;
  /** Kubernetes answered (the namespace's workloads could be read, or were found missing). */
  reachable: boolean;
  /** What the cluster lacks though Kubernetes answered, e.g. "Deployment pachd not found in namespace pachyderm". */
  missing?: string;
  error?: string;
  pachd?: { replicas: number; ready: number; image?: string };
  paused: boolean;
  workers: { name: string; replicas: number; ready: number }[];
  running?: { runId: string; kind: string; requestedBy: string; since: string; phase?: RunPhase };
  lastGoodBackup?: { id: string; completedAt: string; downtimeSeconds: number };
  /** Now, ISO: ages are computed against it so renders are reproducible. */
  now: string;
}

/** A complete backup in `list`. */
export interface BackupListItemView {
  id: string;
  completedAt: string;
  downtimeSeconds: number;
  objects: number;
  bytes: number;
  databaseBytes: number;
  pachydermVersion?: string;
  verified: boolean | null;
}

/** A past run in `history`, with its estimate against the real downtime. */
export interface HistoryItemView {
  id: string;
  kind: string;
  phase: RunPhase;
  requestedBy: string;
  createdAt: string;
  estimatedSeconds?: number;
  estimateLowSeconds?: number;
  estimateHighSeconds?: number;
  actualSeconds?: number;
  /**
   * Set when the run paused the cluster: `now` while it is paused; `stillPaused` when resuming it failed; else,
   * without `actualSeconds` (a run stopped before it measured its downtime), about how long: `approxSeconds`.
   */
  pause?: { now?: boolean; stillPaused?: boolean; approxSeconds?: number };
  error?: string;
}

/** What will be paused, for the confirmation. */
export interface BackupConfirmationView {
  confirmationId: string;
  cluster: string;
  clusterDisplayName: string;
  context: string;
  namespace: string;
  pauseStrategy: 'scale' | 'enterprise';
  deployments: { name: string; replicas: number }[];
  workers: { name: string; replicas: number }[];
  ingress: string[];
  databases: string[];
  bucket: string;
  backupStore: string;
  estimate: DowntimeEstimate;
  note?: string;
  expiresAt: string;
}
