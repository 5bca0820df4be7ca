import type { Job } from 'bullmq';
import type { Authorizer } from '../access/authorizer.js';
import type { ClusterConfig, Config } from '../config/config.js';
import { describeError } from '../errors.js';
import { approvalRefusal, missingApprovals, requesterRefusal, restoreRightsFor, type ApprovalSet } from '../restore/restore-approval.js';
import type { RestoreRequestStore, StoredRestoreRequest } from '../restore/restore-request-store.js';
import { isFinal } from '../runner/run-phase.js';
import type { Schedules } from '../schedules/schedules.js';
import type { RunRecord, RunStore } from '../state/run-store.js';
import type { SlackRunTarget } from './operations-queue.js';

/**
 * Jobs carry ids, not authority. Anyone who reaches Redis can add a job, so the worker believes nothing in a job
 * but the ids it names (and Slack message references, which only say where to report): what runs, on which
 * cluster, for whom, with whose approval and with which plan is read from the state database, where only the app
 * (after checking signatures and rights) and the worker write it. Before a job runs:
 *
 * - a backup runs only for a run the app recorded at Confirm (kind `backup`, still queued) whose requester is
 *   still an operator of its cluster, or for a run a schedule made whose schedule still exists (config file or
 *   state database) for that cluster;
 * - a drill runs only for a drill run the app recorded when it was asked for, whose requester is still an operator;
 * - a restore runs only for a restore request that is approved in the state database, not expired, approved by
 *   enough distinct approvers other than the requester — from the source cluster's approvers and, when it writes
 *   into the target's state, the target's (see restore-approval) — who all still hold that right, requested by
 *   someone who still operates both clusters; and only once: the worker claims it (`approved` → `started`) in one
 *   conditional UPDATE. The plan it runs is the stored one, checked again against the world by the run's first
 *   step.
 *
 * Rights are checked when a run starts. A job picked up again after its worker died (BullMQ's stalled-job
 * recovery) continues a run that already started — it may have paused the cluster, which must be finished or
 * brought back — so rights are not asked again then. Group membership that cannot be read fails closed: the job
 * is refused, saying so.
 */
export interface JobAuthorityDeps {
  config: Config;
  runs: Pick<RunStore, 'getRun' | 'finishRun'>;
  requests: Pick<RestoreRequestStore, 'get' | 'claim'>;
  schedules: Pick<Schedules, 'get'>;
  authorizer: Pick<Authorizer, 'can'>;
}

/** A job the worker will not run, why, and where in Slack to say so (from the state database). */
export interface JobRefusal {
  kind: 'backup' | 'restore' | 'drill';
  /** The run the job named (as the job named it: it may not exist). */
  runId: string;
  jobId: string;
  reason: string;
  cluster?: string;
  requestId?: string;
  /** The run's message, or a restore request's plan messages. */
  slack: { channel: string; ts: string }[];
}

/** A run the state database says may run now: its record and cluster; `started` when an earlier attempt began it. */
export interface AuthorizedRun {
  run: RunRecord;
  cluster: ClusterConfig;
  started: boolean;
}

/** An approved restore request claimed for its run. */
export interface AuthorizedRestore {
  request: StoredRestoreRequest;
  runId: string;
  cluster: ClusterConfig;
  /** The distinct approvers who count (never the requester), oldest first. */
  approvedBy: string[];
  /** An earlier attempt already claimed it and started the run (its worker died). */
  started: boolean;
}

export type Authorization<T> = ({ ok: true } & T) | { ok: false; refusal: JobRefusal };

/** An id as a job may carry one: a short string of the characters run and request ids are made of. */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/.test(value) ? value : undefined;
}

/** `U0123` from a run's `requestedBy` as the app records it (`<@U0123>`). */
function slackUserOf(requestedBy: string): string | undefined {
  return /^<@([A-Z0-9]+)>$/.exec(requestedBy)?.[1];
}

function slackTargetOf(run: RunRecord): { channel: string; ts: string }[] {
  const slack = run.slack as SlackRunTarget | null;
  return slack?.channel && slack.ts ? [{ channel: slack.channel, ts: slack.ts }] : [];
}

export function createJobAuthority(deps: JobAuthorityDeps) {
  const { config, authorizer } = deps;

  /** Whether `run`'s requester may still have it run: an operator now, or a schedule that still exists. */
  async function requesterProblem(run: RunRecord, cluster: ClusterConfig): Promise<string | undefined> {
    const schedule = /^schedule:(.+)$/.exec(run.requestedBy)?.[1];
    if (schedule !== undefined) {
      const found = await deps.schedules.get(schedule);
      if (!found || found.cluster !== cluster.name) return `it was made by schedule ${schedule}, which is not a schedule of ${cluster.name} in the config file or the state database`;
      return undefined;
    }
    const user = slackUserOf(run.requestedBy);
    if (!user) return `it was requested by ${run.requestedBy}, who is neither a Slack user nor a schedule: only those queue ${run.kind}s`;
    try {
      if (!(await authorizer.can(user, 'operate', cluster))) return `its requester ${run.requestedBy} is no longer an operator of ${cluster.name}`;
    } catch (err) {
      return `could not confirm that its requester ${run.requestedBy} still operates ${cluster.name}: ${describeError(err)}`;
    }
    return undefined;
  }

  /** A backup or drill job: its run as recorded when it was confirmed, asked for or scheduled. */
  async function authorizeRun(kind: 'backup' | 'drill', job: Job): Promise<Authorization<AuthorizedRun>> {
    const data = (job.data ?? {}) as Record<string, unknown>;
    const runId = idOf(data.runId);
    const refuse = async (reason: string, run?: RunRecord): Promise<Authorization<AuthorizedRun>> => {
      // A confirmed run that may not start any more ends here, so that it does not wait for ever.
      if (run && run.phase === 'queued') await deps.runs.finishRun(run.id, { phase: 'failed-validation', error: `refused: ${reason}`, warnings: [] });
      return { ok: false, refusal: { kind, runId: runId ?? String(data.runId ?? '').slice(0, 200), jobId: String(job.id), reason, ...(run ? { cluster: run.cluster } : {}), slack: run ? slackTargetOf(run) : [] } };
    };
    if (!runId) return refuse('the job names no run id');
    const run = await deps.runs.getRun(runId);
    const what = kind === 'backup' ? `no backup run ${runId} was confirmed or scheduled` : `no drill ${runId} was asked for`;
    if (!run || run.kind !== kind) return refuse(`${what}: the state database has no such ${kind} run`);
    const cluster = config.clusters[run.cluster];
    if (!cluster) return refuse(`its cluster ${run.cluster} is not in this worker's config`, run);
    if (isFinal(run.phase) || run.phase !== 'queued') return { ok: true, run, cluster, started: true };
    const problem = await requesterProblem(run, cluster);
    if (problem) return refuse(problem, run);
    return { ok: true, run, cluster, started: false };
  }

  return {
    backup: (job: Job) => authorizeRun('backup', job),
    drill: (job: Job) => authorizeRun('drill', job),

    /** A restore job: the approved request it names, claimed for its run (see the module comment). */
    async restore(job: Job): Promise<Authorization<AuthorizedRestore>> {
      const data = (job.data ?? {}) as Record<string, unknown>;
      const requestId = idOf(data.requestId) ?? idOf(data.runId);
      const runId = idOf(data.runId) ?? requestId;
      let found: StoredRestoreRequest | undefined;
      const refuse = (reason: string): Authorization<AuthorizedRestore> => ({
        ok: false,
        refusal: {
          kind: 'restore',
          runId: runId ?? String(data.runId ?? '').slice(0, 200),
          jobId: String(job.id),
          reason,
          ...(requestId ? { requestId } : {}),
          ...(found ? { cluster: found.cluster } : {}),
          slack: found?.planMessages ?? [],
        },
      });
      if (!requestId || !runId) return refuse('the job names no restore request');
      const request = (found = await deps.requests.get(requestId));
      if (!request) return refuse(`there is no restore request ${requestId} in the state database: nothing was asked for or approved`);
      const cluster = config.clusters[request.cluster];
      if (!cluster) return refuse(`its target cluster ${request.cluster} is not in this worker's config`);
      switch (request.status) {
        case 'pending': {
          const missing = missingApprovals(request.approvalSets, request.approvals.filter((a) => a.decision === 'approve'), request.requestedBy).filter((s) => s.approvals > 0);
          return refuse(`restore request ${requestId} is not approved: it still needs ${missing.map((s) => `${s.approvals} approval(s) from ${s.cluster}'s approvers`).join(' and ') || 'its approvals'}`);
        }
        case 'rejected':
          return refuse(`restore request ${requestId} was rejected`);
        case 'expired':
          return refuse(`restore request ${requestId} expired before it was approved`);
        case 'started': {
          const run = request.runId === runId ? await deps.runs.getRun(runId) : undefined;
          if (run && !isFinal(run.phase)) return { ok: true, request, runId, cluster, approvedBy: approversOf(request), started: true };
          const earlier = request.runId ? await deps.runs.getRun(request.runId) : undefined;
          return refuse(`restore request ${requestId} already ran: run ${request.runId ?? '?'}${earlier ? ` ${earlier.phase}` : ' started'}; an approval is good for one restore`);
        }
        case 'approved':
          break;
      }
      if (request.runId !== runId) return refuse(`restore request ${requestId} was approved for run ${request.runId ?? '?'}, not ${runId}`);
      if (request.expiresAt.getTime() <= Date.now()) return refuse(`the approval of restore request ${requestId} expired at ${request.expiresAt.toISOString()} before a worker started it`);
      if (request.plan.fingerprint !== request.fingerprint) return refuse(`the stored plan of restore request ${requestId} does not match the fingerprint that was approved`);
      // The sets as stored, raised to what the config asks for now.
      const rights = restoreRightsFor(config, request.plan, cluster);
      const sets = mergeSets(request.approvalSets, rights.approvalSets);
      const notRequester = await requesterRefusal(authorizer, request.requestedBy, rights);
      if (notRequester) return refuse(notRequester);
      const notApproved = await approvalRefusal(authorizer, config, { requestedBy: request.requestedBy, approvals: request.approvals.filter((a) => a.decision === 'approve'), sets });
      if (notApproved) return refuse(notApproved);
      const claimed = await deps.requests.claim(requestId, runId);
      if (!claimed) return refuse(`restore request ${requestId} was claimed by another job, or its approval expired, just before this one`);
      return { ok: true, request: claimed, runId, cluster, approvedBy: approversOf(claimed), started: false };
    },
  };
}

export type JobAuthority = ReturnType<typeof createJobAuthority>;

/** The distinct users who approved, the requester left out, oldest first. */
function approversOf(request: StoredRestoreRequest): string[] {
  return [...new Set(request.approvals.filter((a) => a.decision === 'approve' && a.user !== request.requestedBy).map((a) => a.user))];
}

/** Every cluster of both lists, each with the larger number of approvals asked. */
function mergeSets(a: readonly ApprovalSet[], b: readonly ApprovalSet[]): ApprovalSet[] {
  const merged = new Map<string, number>();
  for (const s of [...a, ...b]) merged.set(s.cluster, Math.max(merged.get(s.cluster) ?? 0, s.approvals));
  return [...merged].map(([cluster, approvals]) => ({ cluster, approvals }));
}
