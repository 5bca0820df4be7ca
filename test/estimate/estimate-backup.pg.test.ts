import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupSteps } from '../../src/backup/backup-steps.js';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { estimateBackup, estimateError } from '../../src/estimate/estimate-backup.js';
import { loadDowntimeHistory } from '../../src/estimate/history.js';
import { podsOf } from '../../src/estimate/probe.js';
import { DOWNTIME_STEPS } from '../../src/estimate/step-features.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import type { RunPhase } from '../../src/runner/run-phase.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

describe('estimating the downtime of a backup', () => {
  let f: PachydermFixture;
  /** The adapters a backup of the fixture's cluster uses, with the state database. */
  let deps: ReturnType<PachydermFixture['deps']> & { pool: PachydermFixture['state']['pool'] };
  let pods: number;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 60 });
    deps = { ...f.deps('estimate'), pool: f.state.pool };
    pods = podsOf(await deps.workloads.snapshot());
  });
  afterAll(async () => f?.cleanup());

  it('names the downtime steps as the backup does', () => {
    const steps = createBackupSteps(deps).filter((s) => s.downtime);
    expect(steps.map((s) => ({ step: s.name, title: s.title }))).toEqual(DOWNTIME_STEPS.map(({ step, title }) => ({ step, title })));
  });

  it('without history: comes from the throughput model and the cluster as it is now', async () => {
    const { estimate, upcoming } = await estimateBackup(deps);
    expect(estimate).toMatchObject({ basis: 'throughput', runs: 0 });
    expect(estimate.perStep.map((s) => s.step)).toEqual(['pause', 'delta-copy', 'snapshot', 'resume']);
    for (const s of estimate.perStep) expect(s.expectedSeconds).toBeGreaterThan(0);
    expect(estimate.lowSeconds).toBeGreaterThan(0);
    expect(estimate.lowSeconds).toBeLessThan(estimate.expectedSeconds);
    expect(estimate.highSeconds).toBeGreaterThan(estimate.expectedSeconds);
    expect(upcoming.warnings).toEqual([]);
    expect(pods).toBeGreaterThan(1);
    expect(upcoming.sizes.pods).toBe(pods);
    expect(upcoming.objects).toEqual({ count: 60, source: 'listing' });
    expect(upcoming.databases.map((d) => d.name)).toEqual([f.pachydermDb.name, f.dexDb.name]);
    expect(upcoming.sizes.databaseBytes).toBe(upcoming.databases.reduce((n, d) => n + d.bytes!, 0));
    expect(upcoming.sizes.databaseBytes).toBeGreaterThan(1_000_000);
    expect(upcoming.throughput.measured).toEqual({ list: true, dump: false });
    expect(upcoming.throughput.listObjectsPerSecond).toBeGreaterThan(0);
  });

  it('stops counting a large bucket with no backup yet, and says the count is a lower bound', async () => {
    const { upcoming } = await estimateBackup(deps, { pageSize: 10, maxKeys: 25 });
    expect(upcoming.objects).toEqual({ count: 25, source: 'partial-listing' });
    expect(upcoming.warnings).toEqual([expect.stringContaining('lower bound')]);
  });

  it('leaves out what it cannot measure, and says so', async () => {
    const { estimate, upcoming } = await estimateBackup({ ...deps, cluster: { ...deps.cluster, objectStore: { ...deps.cluster.objectStore, bucket: 'no-such-bucket-here' } } });
    expect(upcoming.objects).toBeUndefined();
    expect(upcoming.sizes.objects).toBe(0);
    expect(upcoming.warnings).toEqual([expect.stringContaining('no-such-bucket-here'), expect.stringContaining('no past backup')]);
    expect(upcoming.throughput.measured.list).toBe(false);
    expect(estimate.expectedSeconds).toBeGreaterThan(0);
  });

  describe('after backups of different sizes', () => {
    const results: BackupResult[] = [];
    /** Objects in the bucket at each backup. */
    const objectCounts: number[] = [];

    beforeAll(async () => {
      for (const add of [0, 20, 40, 60]) {
        if (add > 0) await f.addObjects(add);
        objectCounts.push((objectCounts.at(-1) ?? 60) + add);
        const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
        expect(result.status, result.error).toBe('succeeded');
        results.push(result);
      }
    }, 120_000);

    it('has their sizes and step durations in the history, newest first', async () => {
      const history = await loadDowntimeHistory(f.state.pool, 'test');
      expect(history.runs.map((r) => r.runId)).toEqual(results.map((r) => r.id).reverse());
      expect(history.runs.map((r) => r.sizes.objects)).toEqual([...objectCounts].reverse());
      for (const [i, run] of history.runs.entries()) {
        expect(run.phase).toBe('succeeded');
        expect(run.sizes.pods).toBe(pods);
        expect(run.sizes.databaseBytes).toBeGreaterThan(1_000_000);
        expect(Object.keys(run.seconds).sort()).toEqual(['delta-copy', 'pause', 'resume', 'snapshot']);
        for (const seconds of Object.values(run.seconds)) expect(seconds).toBeGreaterThan(0);
        expect(run.downtimeSeconds).toBe(results[results.length - 1 - i]!.downtimeSeconds);
      }
      expect((await loadDowntimeHistory(f.state.pool, 'test', { limit: 2 })).runs.map((r) => r.runId)).toEqual([results[3]!.id, results[2]!.id]);
      expect((await loadDowntimeHistory(f.state.pool, 'another-cluster')).runs).toEqual([]);
    });

    it('estimates from that history, in line with the downtimes it had', async () => {
      const { estimate, upcoming, detail } = await estimateBackup(deps);
      const downtimes = results.map((r) => r.downtimeSeconds!);
      expect(estimate).toMatchObject({ basis: 'history', runs: 4 });
      expect(detail.range).toBe('total-residuals');
      expect(upcoming.objects).toEqual({ count: 180, source: 'listing' });
      expect(estimate.lowSeconds).toBeLessThanOrEqual(estimate.expectedSeconds);
      expect(estimate.highSeconds).toBeGreaterThanOrEqual(estimate.expectedSeconds);
      // Timings on a shared machine vary; what cannot vary is that an estimate from these runs lies among them.
      expect(estimate.expectedSeconds).toBeGreaterThan(Math.min(...downtimes) / 3);
      expect(estimate.expectedSeconds).toBeLessThan(Math.max(...downtimes) * 3);
      expect(estimate.lowSeconds).toBeLessThanOrEqual(Math.max(...downtimes));
      expect(estimate.highSeconds).toBeGreaterThanOrEqual(Math.min(...downtimes));

      const next = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
      expect(next.status, next.error).toBe('succeeded');
      const error = estimateError(estimate, next.downtimeSeconds!);
      expect(error.errorSeconds).toBeCloseTo(next.downtimeSeconds! - estimate.expectedSeconds, 6);
    });

    it('takes the object count from the last backup when the bucket is too large to list here', async () => {
      const { upcoming } = await estimateBackup(deps, { pageSize: 10 });
      expect(upcoming.objects).toMatchObject({ count: 180, source: 'manifest' });
      expect(upcoming.warnings).toEqual([]);
    });
  });
});

describe('the downtime history', () => {
  let f: PachydermFixture;
  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 1 });
  });
  afterAll(async () => f?.cleanup());

  /** A run recorded as the runner records one, created `daysAgo` days ago. */
  async function record(id: string, fields: { cluster?: string; kind?: 'backup' | 'verify'; phase?: RunPhase; daysAgo: number; objects?: number; skipDump?: boolean }) {
    const runs = f.state.runs;
    await runs.createRun({ id, kind: fields.kind ?? 'backup', cluster: fields.cluster ?? 'prod', requestedBy: 'test' });
    await f.state.pool.query(`UPDATE runs SET created_at = now() - $2::float8 * interval '1 day' WHERE id = $1`, [id, fields.daysAgo]);
    const names = ['preflight', 'pause', 'delta-copy', 'snapshot', 'resume'];
    await runs.declareSteps(id, names.map((name, position) => ({ name, position, downtime: name !== 'preflight' })));
    const workers = Array.from({ length: 200 }, (_, i) => ({ name: `pipeline-${i}-v1`, replicas: 1 }));
    await runs.stepFinished(id, 'preflight', { state: 'done', durationMs: 800, output: { preflight: { databaseBytes: { pachyderm: 6_000_000, dex: 1_000_000 }, snapshot: { workers } } } });
    await runs.stepFinished(id, 'pause', { state: 'done', durationMs: 5000, sizes: { objects: 203 }, output: { pause: { recorded: { workers } } } });
    await runs.stepFinished(id, 'snapshot', { state: fields.skipDump ? 'skipped' : 'done', durationMs: 12_000, sizes: { bytes: 2_000_000 } });
    await runs.stepFinished(id, 'delta-copy', { state: 'done', durationMs: 3000, sizes: { objects: 2 }, output: { delta: { listed: fields.objects ?? 1000, copied: 2 } } });
    await runs.stepFinished(id, 'resume', { state: 'done', durationMs: 16_000 });
    await runs.finishRun(id, { phase: fields.phase ?? 'succeeded', warnings: [], downtimeSeconds: 36.5 });
  }

  it('holds the finished backups of one cluster, newest first, each read in one query', async () => {
    await record('old', { daysAgo: 3, objects: 1000 });
    await record('partial', { daysAgo: 2, objects: 2000, phase: 'partially-failed' });
    await record('failed', { daysAgo: 1.5, phase: 'failed' });
    await record('other-cluster', { daysAgo: 1, cluster: 'staging' });
    await record('a-verify', { daysAgo: 1, kind: 'verify' });
    await record('resumed', { daysAgo: 1, objects: 3000, skipDump: true });
    const queries: string[] = [];
    const query = f.state.pool.query.bind(f.state.pool);
    const counting = new Proxy(f.state.pool, {
      get: (pool, key) => (key === 'query' ? (text: string, values?: unknown[]) => (queries.push(text), query(text, values)) : Reflect.get(pool, key)),
    });
    const history = await loadDowntimeHistory(counting, 'prod');
    expect(queries).toHaveLength(1);
    expect(history.runs.map((r) => [r.runId, r.phase])).toEqual([
      ['resumed', 'succeeded'],
      ['partial', 'partially-failed'],
      ['old', 'succeeded'],
    ]);
    expect(history.runs[2]).toMatchObject({
      downtimeSeconds: 36.5,
      sizes: { pods: 203, databaseBytes: 7_000_000, objects: 1000 },
      seconds: { pause: 5, snapshot: 12, 'delta-copy': 3, resume: 16 },
    });
    // A skipped step's time is not the time to do it.
    expect(history.runs[0]!.seconds).toEqual({ pause: 5, 'delta-copy': 3, resume: 16 });
    expect(history.runs[0]!.sizes.objects).toBe(3000);
  });
});
