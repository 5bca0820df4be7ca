import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { loadKubeConfig } from '../../src/kubernetes/kube-config.js';
import { createPachydermWorkloads } from '../../src/kubernetes/pachyderm-workloads.js';
import { createMetrics, loadClusterMetrics, observeRun, type PachbackupMetrics } from '../../src/observability/metrics.js';
import { pachdRunning } from '../../src/observability/pachd-running.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { kubeconfigFor } from '../../src/sandbox/kube-sim/kubeconfig.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { parseSamples, sampleValue } from './prometheus-text.js';

/** `pachbackup_cluster_not_back` of `cluster` as a scrape of `metrics` shows it. */
async function notBack(metrics: PachbackupMetrics, cluster = 'test'): Promise<number | undefined> {
  return sampleValue(parseSamples(await metrics.registry.metrics()), 'pachbackup_cluster_not_back', { cluster });
}

/** Loads `metrics` from the state database and Kubernetes, as `pachbackup worker` and `serve` do at start and on the stale-backup check. */
async function load(f: PachydermFixture, metrics: PachbackupMetrics): Promise<void> {
  await loadClusterMetrics(metrics, { config: f.config, runs: f.state.runs, pachdRunning: (name) => pachdRunning(f.config.clusters[name]!) });
}

/** A process starting: its metrics, loaded as `pachbackup worker` and `serve` load them. */
async function processStarted(f: PachydermFixture): Promise<PachbackupMetrics> {
  const metrics = createMetrics({ defaultMetrics: false });
  await load(f, metrics);
  return metrics;
}

/**
 * The gauge is per process; a process started after the one whose run left the cluster paused (it gave up resuming
 * it, then died or was restarted) still shows the cluster not back, from the state database — until pachd runs
 * again (brought back by hand) or a later run paused and resumed it.
 */
describe('the cluster-not-back metric of a process started later', () => {
  let f: PachydermFixture;
  let before: Record<string, number>;
  let first: BackupResult;
  let restarted: PachbackupMetrics;

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 5, podDelayMs: 300 });
    before = await f.replicas();
    const events = createRunEvents();
    const cancel = new AbortController();
    const metrics = await processStarted(f);
    const unsubscribe = observeRun(metrics, { kind: 'backup', cluster: 'test' }, events);
    events.subscribe((e) => {
      // Paused: pachbackup may no longer scale (its role was taken away), and the backup is cancelled; its undo
      // gives up (403 is not retried: the undo's three attempts fail at once).
      if (e.type === 'step-finished' && e.step === 'pause') {
        f.kube.faults.failures.push({ verb: 'patch', resource: 'deployments', subresource: 'scale', code: 403, message: 'forbidden: the role no longer allows scaling' });
        cancel.abort('cancelled by the test');
      }
    });
    first = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger, signal: cancel.signal });
    unsubscribe();
    expect(await notBack(metrics)).toBe(1);
    // The process that ran it is gone; another starts.
    restarted = await processStarted(f);
  }, 240_000);
  afterAll(async () => {
    await f?.cleanup();
  });

  it('shows a cluster a dead process left paused as not back', async () => {
    expect(first.status).not.toBe('succeeded');
    expect((await f.replicas()).pachd).toBe(0);
    expect(await notBack(restarted)).toBe(1);
  });

  it('keeps it not back when its Kubernetes cannot be read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pachbackup-unreachable-'));
    try {
      const kubeconfig = join(dir, 'kubeconfig');
      writeFileSync(kubeconfig, kubeconfigFor('http://127.0.0.1:1'));
      const unreachable = { ...f.cluster, kubernetes: { ...f.cluster.kubernetes, kubeconfig } };
      expect(await pachdRunning(unreachable)).toBeUndefined();
      const metrics = createMetrics({ defaultMetrics: false });
      await loadClusterMetrics(metrics, { config: f.config, runs: f.state.runs, pachdRunning: () => pachdRunning(unreachable) });
      expect(await notBack(metrics)).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows it back once someone brings pachd back by hand, and after a later run paused and resumed it', async () => {
    // The operator brings it back by hand, as the ops alert says.
    f.kube.faults.failures.splice(0);
    const workloads = createPachydermWorkloads(loadKubeConfig(f.cluster.kubernetes), f.cluster);
    for (const [name, replicas] of Object.entries(before)) {
      if ((await f.replicas())[name] === replicas) continue;
      if ((await workloads.listWorkers()).some((w) => w.name === name)) await workloads.scaleWorker(name, replicas);
      else await workloads.scaleDeployment(name, replicas);
    }
    expect(await f.replicas()).toEqual(before);
    await workloads.waitForDeploymentReady(f.cluster.pachyderm.deployment, { timeoutMs: 60_000 });
    // Nothing has run since: the last run that paused it still says it was left paused, but pachd runs.
    expect(await notBack(await processStarted(f))).toBe(0);
    await load(f, restarted);
    expect(await notBack(restarted)).toBe(0);

    // Then the next backup pauses and resumes it: back from the runs alone, whatever Kubernetes says.
    const next = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(next.error).toBeUndefined();
    expect(next.status).toBe('succeeded');

    const fromRuns = createMetrics({ defaultMetrics: false });
    await loadClusterMetrics(fromRuns, { config: f.config, runs: f.state.runs });
    expect(await notBack(fromRuns)).toBe(0);
  }, 120_000);
});
