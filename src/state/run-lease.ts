import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { PachbackupError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Interruption } from '../runner/interruption.js';
import { LOST_LOCK, type ClusterLock } from './cluster-lock.js';
import { keepLeaseAlive } from './lease-keeper.js';
import type { RunRecord, RunStore } from './run-store.js';

/** How a run stops when its lease in the state database is gone: another process took the run over. */
export const LOST_LEASE: Interruption = {
  reason: 'lost its lease on the run in the state database (another process took it over after this one stopped renewing it)',
  phase: 'failed',
};

/** A process's hold on one run in the state database (see `holdRunLease`). */
export interface RunLease {
  owner: string;
  /** Renews every ttl/3 until released; `onLost` once when the lease is another's, or could not be renewed for a whole TTL. */
  keepAlive(onLost: () => void): void;
  release(): Promise<void>;
}

/** Who holds leases from this process: host and PID (for people), and a random part (a PID is reused after restarts). */
export function leaseOwner(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

/**
 * Takes the lease on run `runId` in the state database: the record that a live process runs it, which recovery
 * and every worker read to tell a run in flight from one left behind (Redis may have lost its queue and locks; the
 * state database has not). A lease left by a dead process is waited out (it runs out within its TTL); one a live
 * process keeps renewing is refused with `conflict`.
 */
export async function holdRunLease(runs: RunStore, runId: string, ttlMs: number): Promise<RunLease> {
  const owner = leaseOwner();
  // A run taken over from a dead process: its lease runs out within a TTL of its last renewal.
  const deadline = Date.now() + ttlMs + 5000;
  let claimed = await runs.claimLease(runId, owner, ttlMs);
  while (!claimed && Date.now() < deadline) {
    await sleep(500);
    claimed = await runs.claimLease(runId, owner, ttlMs);
  }
  if (!claimed) {
    const run = await runs.getRun(runId);
    throw new PachbackupError('conflict', `run ${runId} is held by ${run?.owner ?? 'another process'} until ${run?.leaseExpiresAt?.toISOString() ?? 'its lease runs out'}`, {
      hint: 'it is running elsewhere; wait for it, or cancel it',
      retryable: true,
    });
  }
  let stopRenewing: (() => void) | undefined;
  return {
    owner,
    keepAlive(onLost) {
      stopRenewing = keepLeaseAlive(() => runs.renewLease(runId, owner, ttlMs), ttlMs, onLost);
    },
    async release() {
      stopRenewing?.();
      await runs.releaseLease(runId, owner);
    },
  };
}

/**
 * Refuses, with `conflict`, when another run of `cluster` is in flight by the state database (a live lease) —
 * whatever Redis says: after Redis lost its data, a free lock there does not make the cluster free.
 */
export async function refuseIfClusterBusy(runs: RunStore, cluster: string, runId: string): Promise<void> {
  const busy = await runs.liveRunOn(cluster, runId);
  if (!busy) return;
  throw new PachbackupError('conflict', `cluster ${cluster} is busy: ${busy.kind} ${busy.id} requested by ${busy.requestedBy} is in flight`, {
    hint: 'wait for it to finish, or cancel it',
    retryable: true,
  });
}

/** True when `owner` (a lease owner) is a process on this host that no longer exists: its lease can be broken now. */
export function ownerIsDeadHere(owner: string | null, isRunning: (pid: number) => boolean): boolean {
  if (!owner) return false;
  const [host, pid] = owner.split(':');
  return host === hostname() && Number(pid) !== process.pid && Number.isInteger(Number(pid)) && !isRunning(Number(pid));
}

/**
 * Whether a run in flight was left behind: no live process holds it — its lease ran out (or was never taken), or
 * its holder is a process on this host that is gone. A run left behind by a dead process on this host has its
 * lease broken here, so that recovery can take it at once instead of waiting for the lease to run out.
 */
export async function runLeftBehind(runs: RunStore, run: RunRecord, isRunning: (pid: number) => boolean): Promise<boolean> {
  if (!run.leaseExpiresAt || run.leaseExpiresAt.getTime() < Date.now()) return true;
  if (!ownerIsDeadHere(run.owner, isRunning)) return false;
  await runs.releaseLease(run.id, run.owner!);
  return true;
}

/**
 * Keeps a run's cluster lock and its lease alive while it runs, and stops it at a safe point (see `runSteps`) as
 * soon as either is lost, so that two operations never overlap on a cluster.
 */
export function interruptWhenHoldIsLost(hold: { lock: ClusterLock; lease: RunLease }, interruptions: { interrupt(interruption: Interruption): void }, log: Logger): void {
  hold.lock.keepAlive(() => {
    log.error('lost the cluster lock; stopping the run at a safe point so that two operations never overlap');
    interruptions.interrupt(LOST_LOCK);
  });
  hold.lease.keepAlive(() => {
    log.error('lost the run lease; stopping the run at a safe point');
    interruptions.interrupt(LOST_LEASE);
  });
}
