import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import { FINAL_PHASES, type RunPhase } from '../../src/runner/run-phase.js';
import type { RunStore } from '../../src/state/run-store.js';
import type { FaultServices } from './fault-services.js';

/**
 * What the backup and restore fault matrices share: their columns run three at a time (each has a cluster and
 * services of its own, on two cores), one run watched with a fault fired at the start of each of its steps, a
 * reason shortened for a cell, and the matrix printed as step × fault → outcome at the end, so the closing note
 * of a run can quote it.
 */

let running = 0;
const waiting: (() => void)[] = [];

/** Runs `work` once fewer than three columns run. */
export async function oneOfThree<T>(work: () => Promise<T>): Promise<T> {
  while (running >= 3) await new Promise<void>((resolve) => waiting.push(resolve));
  running += 1;
  try {
    return await work();
  } finally {
    running -= 1;
    waiting.shift()?.();
  }
}

/** ": <reason>" cut to 160 characters for a cell, or nothing. */
export const shortReason = (error: string | null | undefined): string => (error ? `: ${error.length > 160 ? `${error.slice(0, 157)}...` : error}` : '');

/** Prints the matrix: each column (fault) with its cells in step order. */
export function printMatrix(title: string, matrix: Map<string, Map<string, string>>, stepOrder: string[]): void {
  const lines = ['', `${title} (step × fault → outcome)`];
  for (const [column, cells] of matrix) {
    lines.push(`- ${column}`);
    for (const step of [...stepOrder, ...[...cells.keys()].filter((k) => !stepOrder.includes(k))]) if (cells.has(step)) lines.push(`    ${step}: ${cells.get(step)}`);
  }
  console.log(lines.join('\n'));
}

/** A fault that passes by itself, fired at a step's start: in force `lastsMs`, `fire` resolves when it is over. */
export interface PassingFault {
  name: string;
  lastsMs: number;
  fire(target: { s: FaultServices; kubeUrl: string }): Promise<void>;
}

const putKubeFaults = (kubeUrl: string, body: unknown) => fetch(`${kubeUrl}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) }).then((r) => r.json());

/** Redis restarted empty, the object store stopped or answering SlowDown, Kubernetes 429/500 bursts and dropped watches. */
export const PASSING_FAULTS: PassingFault[] = [
  {
    name: 'Redis restarted empty',
    lastsMs: 0,
    async fire({ s }) {
      await s.restartRedisEmpty();
    },
  },
  {
    name: 'object store stopped 2.5 s',
    lastsMs: 2500,
    async fire({ s }) {
      await s.stopS3();
      await sleep(2500);
      await s.startS3();
    },
  },
  {
    name: 'object store 503 SlowDown 2.5 s',
    lastsMs: 2500,
    async fire({ s }) {
      s.proxy.faults.slowDownUntil = Date.now() + 2500;
      await sleep(2500);
    },
  },
  {
    name: 'Kubernetes 429 then 500 burst 2.5 s',
    lastsMs: 2500,
    async fire({ kubeUrl }) {
      const now = Date.now();
      await putKubeFaults(kubeUrl, { failures: [{ code: 429, retryAfterSeconds: 1, until: now + 1200 }, { code: 500, until: now + 2500 }] });
      await sleep(2500);
    },
  },
  {
    name: 'Kubernetes watch dropped',
    lastsMs: 2500,
    async fire({ kubeUrl }) {
      // Every watch ends 300 ms after it starts, and the open ones end now, for the next 2.5 s.
      await putKubeFaults(kubeUrl, { dropWatchesAfterMs: 300 });
      await fetch(`${kubeUrl}/sandbox/faults/drop-watches`, { method: 'POST' });
      await sleep(2500);
      await putKubeFaults(kubeUrl, { dropWatchesAfterMs: 0 });
    },
  },
];

/** A run that did not succeed ended failed or cancelled with a reason a person reads: no stack, no "[object", no bare code. */
export function expectReasonInWords(run: { phase: RunPhase; error?: string | null }): void {
  if (run.phase === 'succeeded') return;
  expect(run.phase).toMatch(/^(failed|cancelled)$/);
  expect(run.error ?? '').toMatch(/^[A-Za-z"].{15,}/);
  expect(run.error).not.toMatch(/\n\s+at |\[object|undefined/);
}

/** A column's fault as fired at the start of a step: in force `lastsMs` after it is fired, at most `perRun` times a run. */
export interface StepFault {
  lastsMs: number;
  perRun?: number;
  /** Fires the fault; resolves (with what to add to the cell, e.g. an exit time) once it is over. */
  fire(): Promise<string | void>;
}

/**
 * Watches one run step by step (the state database's step records, polled every few ms — the sandbox's latency
 * makes sure no step ends unseen): when a step starts and no fault is in force, `fault` is fired; a step starting
 * while one is in force is met by it too. Steps already in `cells` are left alone. Resolves, once the run ended
 * (or `stop` said so while no fault was firing), with how the fault met each step it saw.
 */
export async function faultStepsOfRun(options: {
  runs: RunStore;
  runId: string;
  /** The steps every run must declare, in order: the matrix's rows. */
  stepOrder: string[];
  cells: Map<string, string>;
  fault: StepFault;
  stop?: () => Promise<boolean>;
}): Promise<Map<string, string>> {
  const { runs, runId, cells, fault } = options;
  const met = new Map<string, string>();
  const seen = new Set<string>();
  let inForceUntil = 0;
  let firing: Promise<void> | undefined;
  let fired = 0;
  let run = await runs.getRun(runId);
  while (!run || !FINAL_PHASES.includes(run.phase)) {
    if (!firing && (await options.stop?.())) break;
    const steps = await runs.getSteps(runId);
    // Once a step has started, every step is declared: the matrix must have a row for each.
    if (steps.some((s) => s.state !== 'pending')) expect(steps.map((s) => s.name)).toEqual(options.stepOrder);
    for (const s of steps) {
      if (s.state === 'pending' || seen.has(s.name)) continue;
      seen.add(s.name);
      if (cells.has(s.name) || met.has(s.name)) continue;
      if (firing !== undefined || Date.now() < inForceUntil) met.set(s.name, 'started while in force');
      else if (s.state === 'skipped') met.set(s.name, `n/a: nothing to do (skipped in ${(s.durationMs ?? 0).toFixed(1)} ms), no fault could meet it`);
      else if (fired >= (fault.perRun ?? Infinity)) continue; // left for the next run
      else if (s.state === 'running') {
        fired += 1;
        inForceUntil = Date.now() + fault.lastsMs;
        const name = s.name;
        met.set(name, 'fired at its start');
        firing = fault.fire().then((said) => {
          met.set(name, `fired at its start${said ? ` (${said})` : ''}`);
          firing = undefined;
        });
      } else met.set(s.name, `MISSED: ended in ${(s.durationMs ?? 0).toFixed(1)} ms, before the fault could land`);
    }
    await sleep(5);
    run = await runs.getRun(runId);
  }
  await firing;
  return met;
}

/** What became of a step, for its cell: "step done", or "step failed: <reason>". */
export function stepEnd(record: { state: string; error?: string | null } | undefined): string {
  return record?.state === 'failed' || record?.state === 'undo-failed' ? `step ${record.state}${shortReason(record.error)}` : `step ${record?.state ?? '?'}`;
}
