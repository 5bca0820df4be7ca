import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import * as k8s from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { backupDepsFor } from '../../src/runtime/backup-deps-for.js';
import { createRunEvents, type RunEvent } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { runCli } from '../support/run-cli.js';

let fixture: PachydermFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

function recording() {
  const events = createRunEvents();
  const seen: RunEvent[] = [];
  events.subscribe((e) => {
    seen.push(e);
  });
  return { events, seen };
}

describe('a backup that cannot complete', () => {
  it('fails when PostgreSQL stops during the dump after the resume, says why, leaves the cluster at its recorded replicas and writes no manifest', async () => {
    const f = (fixture = await createPachydermFixture({ dedicatedPostgres: true }));
    const before = await f.replicas();
    const { events, seen } = recording();
    events.subscribe((e) => {
      if (e.type === 'step-started' && e.step === 'dump-databases') process.kill(f.postgresPid!, 'SIGINT');
    });
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger });

    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/Dump the databases: .*(pachyderm|dex)_/);
    const failed = seen.find((e) => e.type === 'step-failed');
    expect(failed).toMatchObject({ step: 'dump-databases', critical: true });
    // The cluster was already back when the dumps ran: only the held snapshots are let go.
    expect(seen.filter((e) => e.type === 'undo-finished').map((e) => [(e as { step: string }).step, (e as { state: string }).state])).toEqual([['snapshot', 'undone']]);
    expect(await f.replicas()).toEqual(before);
    expect(await f.cronJobSuspended('ingest-uploads')).toBe(false);
    const { backups, incomplete } = await f.deps('x').catalog.list('test');
    expect(backups).toEqual([]);
    expect(incomplete).toEqual([result.id]);
    expect((await f.state.runs.getRun(result.id))?.phase).toBe('failed');
  });

  it('refuses a second backup of a cluster while one runs, naming the one that runs', async () => {
    const f = (fixture = await createPachydermFixture({ podDelayMs: 300 }));
    const firstId = newBackupId('test');
    const { events } = recording();
    let second: Promise<Awaited<ReturnType<typeof runBackup>>> | undefined;
    events.subscribe((e) => {
      if (e.type === 'step-started' && e.step === 'pause' && !second) {
        second = runBackup({ deps: f.deps(newBackupId('test'), 'bob'), events: createRunEvents(), log: quietLogger });
      }
    });
    const first = await runBackup({ deps: f.deps(firstId, 'alice'), events, log: quietLogger });
    const refused = await second!;
    expect(first.status, first.error).toBe('succeeded');
    expect(refused.status).toBe('failed-validation');
    expect(refused.error).toContain(`cluster test is busy: backup ${firstId} requested by alice`);
    expect((await f.state.runs.getRun(refused.id))?.phase).toBe('failed-validation');
  });

  it('ends as failed-validation, touching nothing, when the backup store is the cluster bucket', async () => {
    const f = (fixture = await createPachydermFixture());
    const before = await f.replicas();
    const cluster = { ...f.cluster, backupStore: { ...f.cluster.objectStore, prefix: 'pachbackup' } };
    const deps = backupDepsFor(cluster, f.state, { id: newBackupId('test'), requestedBy: 'test' });
    const result = await runBackup({ deps, events: createRunEvents(), log: quietLogger });
    deps.close();
    expect(result.status).toBe('failed-validation');
    expect(result.error).toMatch(/the backup store s3:\/\/\S+ at \S+ is the cluster's own bucket/);
    expect(await f.replicas()).toEqual(before);
    const written = await f.clusterBucket.s3.send(new ListObjectsV2Command({ Bucket: f.clusterBucket.name, Prefix: 'pachbackup/' }));
    expect(written.KeyCount ?? 0).toBe(0);
  });

  it('ends as failed-validation naming the permission Kubernetes denies', async () => {
    const f = (fixture = await createPachydermFixture());
    f.kube.denied.push({ verb: 'patch', resource: 'replicationcontrollers', subresource: 'scale' });
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(result.status).toBe('failed-validation');
    expect(result.error).toContain('Kubernetes denies: patch replicationcontrollers/scale');
    expect(await f.runningPods()).toBeGreaterThan(0);
  });

  it('resumes the cluster when the process running the backup is killed while it is paused', async () => {
    const f = (fixture = await createPachydermFixture({ podDelayMs: 1000 }));
    const before = await f.replicas();
    const child = spawn(process.execPath, ['bin/pachbackup.js', 'backup', '--config', f.configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let killedId = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the backup ended (${code}) before it was killed`)));
      createInterface({ input: child.stderr! }).on('line', (line) => {
        killedId ||= /as (test-\S+)/.exec(line)?.[1] ?? '';
        if (line.includes('Pause Pachyderm —')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await f.replicas()).pachd).toBe(0); // left paused by the dead process

    const next = await runCli(['backup', '--config', f.configFile, '--json']);
    expect(next.code).toBe(0);
    expect(next.stderr).toContain(`recovered interrupted backup ${killedId}`);
    expect(JSON.parse(next.stdout)).toMatchObject({ status: 'succeeded' });
    expect(await f.replicas()).toEqual(before);
    const killed = await f.state.runs.getRun(killedId);
    expect(killed).toMatchObject({ phase: 'failed' });
    expect(killed?.error).toMatch(/interrupted/);
    const { backups, incomplete } = await f.deps('x').catalog.list('test');
    expect(backups).toHaveLength(1);
    expect(incomplete).toEqual([killedId]);
  }, 120_000);
});

describe('the enterprise pause strategy', () => {
  it('pauses pachd as `pachctl enterprise pause` does and unpauses it after', async () => {
    const f = (fixture = await createPachydermFixture({ pauseStrategy: 'enterprise' }));
    const before = await f.replicas();
    const modes: string[] = [];
    const { events } = recording();
    const kc = new k8s.KubeConfig();
    kc.loadFromString(f.kube.kubeconfig('pachyderm'));
    const core = kc.makeApiClient(k8s.CoreV1Api);
    events.subscribe((e) => {
      if (e.type === 'step-finished' && e.step === 'pause') {
        void core.readNamespacedConfigMap({ name: 'pachd-config', namespace: 'pachyderm' }).then((cm) => modes.push(cm.data?.MODE ?? ''));
      }
    });
    const result = await runBackup({ deps: f.deps(newBackupId('test')), events, log: quietLogger });
    expect(result.status, result.error).toBe('succeeded');
    expect(modes).toEqual(['paused']);
    expect((await core.readNamespacedConfigMap({ name: 'pachd-config', namespace: 'pachyderm' })).data?.MODE).toBe('full');
    expect(await f.replicas()).toEqual(before);
  });
});

