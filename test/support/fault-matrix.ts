import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'vitest';
import type { RunPhase } from '../../src/runner/run-phase.js';
import type { FaultServices } from './fault-services.js';

/**
 * What the backup and restore fault matrices share: their columns run three at a time (each has a cluster and
 * services of its own, on two cores), a reason shortened for a cell, and the matrix printed as step × fault →
 * outcome at the end, so the closing note of a run can quote it.
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
