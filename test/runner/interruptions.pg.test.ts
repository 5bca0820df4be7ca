import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createInterruptions } from '../../src/runner/interruption.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { runSteps } from '../../src/runner/run-steps.js';
import type { Step } from '../../src/runner/step.js';
import { migrate } from '../../src/state/migrations.js';
import { createRunStore, type RunStore } from '../../src/state/run-store.js';
import { quietLogger } from '../support/pachyderm-fixture.js';
import { createTestDatabase, uniqueName } from '../support/services.js';

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let pool: pg.Pool;
let store: RunStore;
beforeAll(async () => {
  db = await createTestDatabase('runner');
  pool = new pg.Pool({ connectionString: db.url });
  await migrate(pool);
  store = createRunStore(pool);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/**
 * A miniature operation shaped like a backup: `prepare` (an undo: "ingress"), `pause` (downtime, undo = resume),
 * `work` (downtime), `resume` (compensates pause), `finish`. `world` is what the steps changed, as a person
 * would see it: whether ingress is suspended and whether the cluster is paused.
 */
function operation(durations: { work?: number; finish?: number } = {}, options: { workHolds?: boolean } = {}) {
  const world = { ingressSuspended: false, paused: false, ran: [] as string[] };
  const wait = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });
  const step = (name: string, extra: Partial<Step<Record<string, never>>>): Step<Record<string, never>> => ({
    name,
    title: name,
    description: name,
    async run(ctx) {
      world.ran.push(name);
      await wait(10, ctx.signal);
      return {};
    },
    ...extra,
  });
  const steps: Step<Record<string, never>>[] = [
    step('prepare', {
      async run(ctx) {
        world.ran.push('prepare');
        world.ingressSuspended = true;
        await wait(50, ctx.signal);
        return {};
      },
      async undo() {
        world.ingressSuspended = false;
      },
    }),
    step('pause', {
      downtime: true,
      async run() {
        world.ran.push('pause');
        world.paused = true;
        return {};
      },
      async undo() {
        world.paused = false;
      },
    }),
    step('work', {
      downtime: true,
      async run(ctx) {
        world.ran.push('work');
        await wait(durations.work ?? 300, ctx.signal);
        return {};
      },
      // Like the database snapshots exported while paused and held for the dumps after the resume.
      ...(options.workHolds ? { undo: async () => undefined } : {}),
    }),
    step('resume', {
      downtime: true,
      compensates: 'pause',
      async run() {
        world.ran.push('resume');
        world.paused = false;
        return {};
      },
    }),
    step('unprepare', {
      compensates: 'prepare',
      async run() {
        world.ran.push('unprepare');
        world.ingressSuspended = false;
        return {};
      },
    }),
    step('finish', {
      async run(ctx) {
        world.ran.push('finish');
        await wait(durations.finish ?? 10, ctx.signal);
        return {};
      },
    }),
  ];
  return { world, steps };
}

async function newRun(): Promise<string> {
  const id = uniqueName('run');
  await store.createRun({ id, kind: 'backup', cluster: 'test', requestedBy: 'test' });
  return id;
}

/** Runs the operation, interrupting it when `at` starts (after `afterMs`), and records its events. */
async function runInterrupted(
  op: ReturnType<typeof operation>,
  runId: string,
  options: { at: string; afterMs?: number; deadlineInMs?: number; expected?: Record<string, number>; phase?: 'failed' },
) {
  const interruptions = createInterruptions();
  const events = createRunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
    if (e.type === 'step-started' && e.step === options.at) {
      setTimeout(
        () =>
          interruptions.interrupt({
            reason: 'worker shutting down',
            ...(options.deadlineInMs !== undefined ? { deadline: Date.now() + options.deadlineInMs } : {}),
            ...(options.phase ? { phase: options.phase } : {}),
          }),
        options.afterMs ?? 5,
      );
    }
  });
  const outcome = await runSteps({
    runId,
    steps: op.steps,
    store,
    events,
    log: quietLogger,
    interruptions,
    ...(options.expected ? { expectedSeconds: (step: string) => options.expected![step] } : {}),
  });
  return { outcome, seen };
}

describe('a run interrupted by a shutdown or a lost lease', () => {
  it('before the pause: undoes what is in effect and is handed back; the next attempt carries on and succeeds', async () => {
    const op = operation();
    const runId = await newRun();
    const { outcome, seen } = await runInterrupted(op, runId, { at: 'prepare', deadlineInMs: 20_000 });

    expect(outcome).toMatchObject({ phase: 'queued', handedBack: 'worker shutting down' });
    expect(op.world).toMatchObject({ ingressSuspended: false, paused: false });
    expect(op.world.ran).toEqual(['prepare']);
    expect(seen.some((e) => e.type === 'run-handed-back')).toBe(true);
    expect(seen.some((e) => e.type === 'run-finished')).toBe(false);
    expect((await store.getRun(runId))?.phase).toBe('queued');

    const again = await runSteps({ runId, steps: op.steps, store, events: createRunEvents(), log: quietLogger });
    expect(again.phase).toBe('succeeded');
    expect(op.world.ran).toEqual(['prepare', 'prepare', 'pause', 'work', 'resume', 'unprepare', 'finish']);
    expect(op.world).toMatchObject({ ingressSuspended: false, paused: false });
  });

  it('while paused, with the rest of the pause estimated to fit before the deadline: finishes the run', async () => {
    const op = operation({ work: 400 });
    const runId = await newRun();
    const { outcome } = await runInterrupted(op, runId, { at: 'work', deadlineInMs: 15_000, expected: { pause: 1, work: 1, resume: 1 } });
    expect(outcome.phase, outcome.error).toBe('succeeded');
    expect(op.world.ran).toEqual(['prepare', 'pause', 'work', 'resume', 'unprepare', 'finish']);
  });

  it('while paused, with the rest estimated longer than the time left: resumes at once and ends cancelled with the reason', async () => {
    const op = operation({ work: 5000 });
    const runId = await newRun();
    const started = Date.now();
    const { outcome, seen } = await runInterrupted(op, runId, { at: 'work', deadlineInMs: 15_000, expected: { pause: 1, work: 60, resume: 2 } });
    expect(Date.now() - started).toBeLessThan(4000);
    expect(outcome.phase).toBe('cancelled');
    expect(outcome.error).toBe('worker shutting down: stopped during "work" and resumed the cluster');
    expect(op.world).toMatchObject({ ingressSuspended: false, paused: false });
    expect(seen.filter((e) => e.type === 'undo-finished').map((e) => (e as { step: string }).step)).toEqual(['pause', 'prepare']);
    expect((await store.getRun(runId))).toMatchObject({ phase: 'cancelled', error: outcome.error });
  });

  it('while paused without an estimate: resumes at once (nothing says the rest would fit)', async () => {
    const op = operation({ work: 5000 });
    const runId = await newRun();
    const { outcome } = await runInterrupted(op, runId, { at: 'work', deadlineInMs: 15_000 });
    expect(outcome.phase).toBe('cancelled');
    expect(op.world.paused).toBe(false);
  });

  it('while paused, when a step overruns what it was expected to take: resumes while the undo still fits before the deadline', async () => {
    const op = operation({ work: 20_000 });
    const runId = await newRun();
    const started = Date.now();
    // The estimate said 1 s of work left; the step hangs instead. Deadline 8 s away, 3 s kept back, resuming
    // expected to take 2 s: the run gives up on the step about 3 s in.
    const { outcome } = await runInterrupted(op, runId, { at: 'work', deadlineInMs: 8000, expected: { pause: 1, work: 1, resume: 2 } });
    const took = Date.now() - started;
    expect(outcome.phase).toBe('cancelled');
    expect(op.world.paused).toBe(false);
    expect(took).toBeGreaterThan(2000);
    expect(took).toBeLessThan(8000);
  });

  it('after the pause: goes on while there is time, then is handed back before the deadline with the cluster running', async () => {
    const op = operation({ finish: 20_000 });
    const runId = await newRun();
    const started = Date.now();
    const { outcome } = await runInterrupted(op, runId, { at: 'finish', deadlineInMs: 5000 });
    expect(outcome).toMatchObject({ phase: 'queued', handedBack: 'worker shutting down' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(op.world).toMatchObject({ ingressSuspended: false, paused: false });
    const steps = await store.getSteps(runId);
    expect(steps.filter((s) => s.state === 'done').map((s) => s.name)).toEqual(['prepare', 'pause', 'work', 'resume', 'unprepare']);
    expect(steps.find((s) => s.name === 'finish')?.state).toBe('pending');
  });

  it('a lost lease while paused: resumes at once and fails with the reason; after the pause it lets the run finish', async () => {
    const paused = operation({ work: 5000 });
    const lost = await runInterrupted(paused, await newRun(), { at: 'work', expected: { pause: 1, work: 1, resume: 1 }, phase: 'failed' });
    expect(lost.outcome.phase).toBe('failed');
    expect(lost.outcome.error).toMatch(/^worker shutting down: stopped during "work" and resumed the cluster$/);
    expect(paused.world.paused).toBe(false);

    const after = operation({ finish: 300 });
    const finished = await runInterrupted(after, await newRun(), { at: 'finish', phase: 'failed' });
    expect(finished.outcome.phase).toBe('succeeded');
  });

  it('after the resume, with what a paused step took still held (the database snapshots): the run is not paused any more — a lost lease lets it finish, a shutdown hands it back', async () => {
    const lost = await runInterrupted(operation({ finish: 300 }, { workHolds: true }), await newRun(), { at: 'finish', phase: 'failed' });
    expect(lost.outcome.phase, lost.outcome.error).toBe('succeeded');

    const op = operation({ finish: 20_000 }, { workHolds: true });
    const shutdown = await runInterrupted(op, await newRun(), { at: 'finish', deadlineInMs: 5000 });
    expect(shutdown.outcome).toMatchObject({ phase: 'queued', handedBack: 'worker shutting down' });
    expect(op.world).toMatchObject({ ingressSuspended: false, paused: false });
    expect(shutdown.seen.some((e) => e.type === 'run-finished')).toBe(false);
  });
});
