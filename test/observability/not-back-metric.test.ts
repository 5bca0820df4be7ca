import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { startHealthServer, type HealthServer } from '../../src/observability/health-server.js';
import { createMetrics, loadClusterMetrics, observeRun, type PachbackupMetrics } from '../../src/observability/metrics.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { parseSamples, sampleValue } from './prometheus-text.js';

/**
 * `pachbackup_cluster_not_back`, scraped over HTTP: 0 for every cluster from the start, 1 from the first refused
 * resume of a cancelled backup (Kubernetes answers 500 to every scale) while the undo keeps trying, and 0 again
 * once Kubernetes lets the resume through.
 */
describe('the cluster-not-back metric', () => {
  let f: PachydermFixture;
  let metrics: PachbackupMetrics;
  let server: HealthServer;
  const seen: { at: string; value: number | undefined }[] = [];
  let result: BackupResult;

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`);
    return sampleValue(parseSamples(await res.text()), 'pachbackup_cluster_not_back', { cluster: 'test' });
  };

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 5, podDelayMs: 300 });
    metrics = createMetrics();
    await loadClusterMetrics(metrics, { config: f.config, runs: f.state.runs });
    server = await startHealthServer({ port: 0, host: '127.0.0.1', registry: metrics.registry, checks: [] });
    seen.push({ at: 'start', value: await scrape() });

    const events = createRunEvents();
    const cancel = new AbortController();
    const unsubscribe = observeRun(metrics, { kind: 'backup', cluster: 'test' }, events);
    events.subscribe((e) => {
      // Paused: every scale is refused from now on, and the backup is cancelled.
      if (e.type === 'step-finished' && e.step === 'pause') {
        f.kube.faults.failures.push({ verb: 'patch', resource: 'deployments', subresource: 'scale', code: 500, message: 'etcd is unavailable' });
        cancel.abort('cancelled by the test');
      }
      // The first attempt at resuming failed: scraped now, then Kubernetes lets the next attempt through.
      if (e.type === 'undo-retrying' && e.step === 'pause') {
        void scrape().then((value) => {
          seen.push({ at: 'first refused resume', value });
          f.kube.faults.failures.splice(0);
        });
      }
    });
    result = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger, signal: cancel.signal });
    unsubscribe();
    seen.push({ at: 'end', value: await scrape() });
  }, 240_000);
  afterAll(async () => {
    await server?.close();
    await f?.cleanup();
  });

  it('is 0 at the start, 1 while the resume is refused, 0 once the cluster is back', async () => {
    expect(result.status).toBe('cancelled');
    expect(seen).toEqual([
      { at: 'start', value: 0 },
      { at: 'first refused resume', value: 1 },
      { at: 'end', value: 0 },
    ]);
    expect((await f.replicas()).pachd).toBeGreaterThan(0);
  });
});
