import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { startHealthServer, type HealthServer } from '../../src/observability/health-server.js';
import { createMetrics, loadClusterMetrics, observeRun, type PachbackupMetrics } from '../../src/observability/metrics.js';
import { redisCheck, stateDatabaseCheck } from '../../src/observability/readiness-checks.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { backupDepsFor } from '../../src/runtime/backup-deps-for.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { parseSamples, sampleValue, type Sample } from './prometheus-text.js';

const backup = { kind: 'backup', cluster: 'test' } as const;

describe('metrics of backups, scraped over HTTP', () => {
  let f: PachydermFixture;
  let metrics: PachbackupMetrics;
  let server: HealthServer;
  let before: Sample[];
  let good: BackupResult;
  let failed: BackupResult;
  let startedAt: number;
  let finishedAt: number;
  let inProgressWhilePaused: number | undefined;
  let stillSubscribed: number;

  const scrape = async (): Promise<{ samples: Sample[]; contentType: string | null }> => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    return { samples: parseSamples(await res.text()), contentType: res.headers.get('content-type') };
  };

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 40 });
    metrics = createMetrics();
    await loadClusterMetrics(metrics, { config: f.config, runs: f.state.runs });
    server = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, checks: [stateDatabaseCheck(f.state.pool), redisCheck(f.state.redis)] });
    before = (await scrape()).samples;

    const events = createRunEvents();
    const unsubscribe = observeRun(metrics, { ...backup, estimateSeconds: 1 }, events);
    events.subscribe((e) => {
      if (e.type === 'step-finished' && e.step === 'pause') void metrics.inProgress.get().then((g) => (inProgressWhilePaused = g.values.find((v) => v.labels.cluster === 'test')?.value));
    });
    // Uploads that land between the pre-copy and the moment ingestion stops: the delta copies them while paused.
    const deps = f.deps(newBackupId('test'));
    const workloads = deps.workloads;
    let arrived = false;
    deps.workloads = {
      ...workloads,
      setCronJobSuspended: async (name, suspend) => {
        if (suspend && !arrived) arrived = (await f.addObjects(3)).length > 0;
        return workloads.setCronJobSuspended(name, suspend);
      },
    };
    startedAt = Date.now() / 1000;
    good = await runBackup({ deps, events, log: quietLogger });
    finishedAt = Date.now() / 1000;
    unsubscribe();

    // A backup refused in preflight: the backup store is the cluster's own bucket.
    const refusedEvents = createRunEvents();
    const stop = observeRun(metrics, backup, refusedEvents);
    const refusedDeps = backupDepsFor({ ...f.cluster, backupStore: { ...f.cluster.objectStore, prefix: 'pachbackup' } }, f.state, { id: newBackupId('test'), requestedBy: 'test' });
    try {
      failed = await runBackup({ deps: refusedDeps, events: refusedEvents, log: quietLogger });
    } finally {
      refusedDeps.close();
    }
    stillSubscribed = (await metrics.inProgress.get()).values.find((v) => v.labels.cluster === 'test')?.value ?? NaN;
    stop();
  });
  afterAll(async () => {
    await server?.close();
    await f?.cleanup();
  });

  it('starts every cluster at zero, with no good backup (0) until one finishes', () => {
    expect(sampleValue(before, 'pachbackup_last_success_timestamp_seconds', { cluster: 'test' })).toBe(0);
    expect(sampleValue(before, 'pachbackup_runs_total', { ...backup, outcome: 'succeeded' })).toBe(0);
    expect(sampleValue(before, 'pachbackup_copied_bytes_total', { cluster: 'test', phase: 'delta' })).toBe(0);
    expect(sampleValue(before, 'pachbackup_operation_in_progress', backup)).toBe(0);
  });

  it('counts runs by outcome: the good backup as succeeded, the refused one as failed-validation', async () => {
    expect(good.status, good.error).toBe('succeeded');
    expect(failed.status).toBe('failed-validation');
    const { samples, contentType } = await scrape();
    expect(contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(sampleValue(samples, 'pachbackup_runs_total', { ...backup, outcome: 'succeeded' })).toBe(1);
    expect(sampleValue(samples, 'pachbackup_runs_total', { ...backup, outcome: 'failed-validation' })).toBe(1);
    expect(sampleValue(samples, 'pachbackup_runs_total', { ...backup, outcome: 'failed' })).toBe(0);
  });

  it('observes the duration of every step that ran, once each, and not the step that failed', async () => {
    const { samples } = await scrape();
    for (const step of ['pause', 'dump-databases', 'delta-copy', 'resume', 'manifest']) {
      expect(sampleValue(samples, 'pachbackup_step_duration_seconds_count', { ...backup, step }), step).toBe(1);
      expect(sampleValue(samples, 'pachbackup_step_duration_seconds_sum', { ...backup, step }), step).toBeGreaterThan(0);
      expect(sampleValue(samples, 'pachbackup_step_duration_seconds_bucket', { ...backup, step, le: '+Inf' }), step).toBe(1);
    }
    // The refused run's preflight failed: only the good run's preflight is a duration sample.
    expect(sampleValue(samples, 'pachbackup_step_duration_seconds_count', { ...backup, step: 'preflight' })).toBe(1);
  });

  it("records the downtime and the estimate's error", async () => {
    const { samples } = await scrape();
    const downtime = good.downtimeSeconds!;
    expect(downtime).toBeGreaterThan(0);
    expect(sampleValue(samples, 'pachbackup_downtime_seconds_count', { cluster: 'test' })).toBe(1);
    expect(sampleValue(samples, 'pachbackup_downtime_seconds_sum', { cluster: 'test' })).toBe(downtime);
    expect(sampleValue(samples, 'pachbackup_last_downtime_seconds', { cluster: 'test' })).toBe(downtime);
    expect(sampleValue(samples, 'pachbackup_estimate_error_seconds', { cluster: 'test' })).toBeCloseTo(downtime - 1, 6);
    expect(sampleValue(samples, 'pachbackup_estimate_relative_error_count', { cluster: 'test' })).toBe(1);
  });

  it("counts the bytes and objects copied, by phase, as the backup's result does", async () => {
    const { samples } = await scrape();
    const bytes = (phase: string) => sampleValue(samples, 'pachbackup_copied_bytes_total', { cluster: 'test', phase })!;
    const objects = (phase: string) => sampleValue(samples, 'pachbackup_copied_objects_total', { cluster: 'test', phase })!;
    expect(good.bytes.copied).toBeGreaterThan(0);
    expect(bytes('pre-copy') + bytes('delta')).toBe(good.bytes.copied);
    expect(objects('pre-copy') + objects('delta')).toBe(good.objects.copied);
    expect(objects('pre-copy')).toBe(40);
    expect(objects('delta')).toBe(3);
    expect(objects('delta')).toBe(good.objects.copiedWhilePaused);
    expect(bytes('delta')).toBeGreaterThan(0);
  });

  it('sets the last success time to when the good backup finished, and keeps it over a restart', async () => {
    const { samples } = await scrape();
    const last = sampleValue(samples, 'pachbackup_last_success_timestamp_seconds', { cluster: 'test' })!;
    expect(last).toBeGreaterThanOrEqual(Math.floor(startedAt));
    expect(last).toBeLessThanOrEqual(finishedAt);

    const restarted = createMetrics({ defaultMetrics: false });
    await loadClusterMetrics(restarted, { config: f.config, runs: f.state.runs });
    const run = await f.state.runs.getRun(good.id);
    const reloaded = parseSamples(await restarted.registry.metrics());
    expect(sampleValue(reloaded, 'pachbackup_last_success_timestamp_seconds', { cluster: 'test' })).toBe(run!.finishedAt!.getTime() / 1000);
    expect(sampleValue(reloaded, 'pachbackup_last_downtime_seconds', { cluster: 'test' })).toBe(good.downtimeSeconds);
  });

  it('shows an operation in progress while it runs, and none after', async () => {
    expect(inProgressWhilePaused).toBe(1);
    // Refused runs end with run-finished too: in progress ends there, before the unsubscribe.
    expect(stillSubscribed).toBe(0);
    expect(sampleValue((await scrape()).samples, 'pachbackup_operation_in_progress', backup)).toBe(0);
  });

  it("includes the process's default metrics", async () => {
    const { samples } = await scrape();
    expect(samples.some((s) => s.name === 'process_resident_memory_bytes')).toBe(true);
    expect(samples.some((s) => s.name.startsWith('nodejs_eventloop_lag'))).toBe(true);
  });
});
