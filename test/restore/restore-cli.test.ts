import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BackupManifest } from '../../src/catalog/manifest.js';
import { dropDatabaseIfExists } from '../../src/restore/target-databases.js';
import { createPachydermFixture, type PachydermFixture } from '../support/pachyderm-fixture.js';
import { uniqueName } from '../support/services.js';
import { backUp, listAll, removeBucket, runCli } from './restore-fixtures.js';

describe('pachbackup restore', () => {
  let f: PachydermFixture;
  let manifest: BackupManifest;
  const bucket = uniqueName('cli-restored');
  const restoredNames: string[] = [];

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 10, podDelayMs: 1000 });
    ({ manifest } = await backUp(f));
  });
  afterAll(async () => {
    for (const name of restoredNames) await dropDatabaseIfExists(f.cluster.postgres, name);
    await removeBucket(f.clusterBucket.s3, bucket);
    await f?.cleanup();
  });

  it('needs --yes when stdin is not a terminal, and changes nothing without it', async () => {
    const cli = await runCli(['restore', manifest.id, '--cluster', 'test', '--config', f.configFile, '--target-bucket', bucket]);
    expect(cli.code).toBe(2);
    expect(cli.stderr).toContain('pass --yes');
    expect((await f.state.runs.listRuns({ kind: 'restore' })).length).toBe(0);
  });

  it('prints the plan and exits 1 when it is refused, auditing the refusal', async () => {
    const cli = await runCli(['restore', manifest.id, '--cluster', 'test', '--config', f.configFile, '--same-databases', '--yes']);
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`Restore plan: backup ${manifest.id}`);
    expect(cli.stdout).toMatch(/REFUSED +database ".*" .* exists and is not empty/);
    expect(cli.stderr).toContain('Nothing was changed');
    const audit = await f.state.audit.list({ cluster: 'test' });
    expect(audit.filter((a) => a.action === 'restore').map((a) => a.outcome)).toEqual(['refused', 'requested']);
  });

  it('on a terminal, asks for the target cluster\'s name and stops when something else is typed', async () => {
    // `script` gives the command a terminal; what is written to its stdin is what the person types.
    const command = ['node', 'bin/pachbackup.js', 'restore', manifest.id, '--cluster', 'test', '--config', f.configFile, '--target-bucket', bucket].map((w) => `'${w}'`).join(' ');
    const typed = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => {
        output += d;
        if (output.includes('Type the name of the target cluster (test)') && !child.stdin.writableEnded) child.stdin.end('prod\n');
      });
      child.once('exit', (code) => resolve({ code, output }));
    });
    expect(typed.output).toContain(`Restore plan: backup ${manifest.id}`);
    expect(typed.output).toContain('Not confirmed: nothing was changed.');
    expect(typed.code).toBe(1);
    const audit = await f.state.audit.list({ cluster: 'test' });
    expect(audit[0]).toMatchObject({ action: 'restore', outcome: 'refused', detail: expect.objectContaining({ confirmation: 'name not typed' }) });
    expect((await f.state.runs.listRuns({ kind: 'restore' })).length).toBe(0);
  });

  it('restores with --yes, prints one JSON object with the plan and the result, and audits it', async () => {
    const cli = await runCli(['restore', manifest.id, '--cluster', 'test', '--config', f.configFile, '--target-bucket', bucket, '--database-suffix', 'cli', '--yes', '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const { plan, result } = JSON.parse(cli.stdout);
    restoredNames.push(...plan.databases.map((d: { target: string }) => d.target));
    expect(restoredNames).toEqual([`${f.pachydermDb.name}_cli`, `${f.dexDb.name}_cli`]);
    expect(result).toMatchObject({ status: 'succeeded', backupId: manifest.id, fingerprint: plan.fingerprint, objects: { copied: 10 } });
    expect(result.helm.command).toContain('helm upgrade --install pachyderm pachyderm/pachyderm --version 2.11.6');
    expect((await listAll(f.clusterBucket.s3, bucket)).size).toBe(10);
    const audit = await f.state.audit.list({ cluster: 'test' });
    const mine = audit.filter((a) => a.runId === result.id).map((a) => [a.outcome, (a.detail as { confirmation?: string }).confirmation]);
    expect(mine).toEqual([
      ['succeeded', undefined],
      ['approved', '--yes'],
      ['requested', undefined],
    ]);
  });

  it('when killed while the cluster is paused, is ended by the next start, which resumes the cluster', async () => {
    const before = await f.replicas();
    const child = spawn(process.execPath, ['bin/pachbackup.js', 'restore', manifest.id, '--cluster', 'test', '--config', f.configFile, '--same-databases', '--overwrite', '--yes'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let killedId = '';
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`the restore ended (${code}) before it was killed`)));
      createInterface({ input: child.stderr! }).on('line', (line) => {
        killedId ||= /as (test-\S+-restore-[0-9a-f]+)/.exec(line)?.[1] ?? '';
        if (line.includes('Pause Pachyderm —')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    expect(killedId).not.toBe('');
    expect((await f.state.runs.getRun(killedId))?.phase).toBe('running');

    const next = await runCli(['drill', '--cluster', 'test', '--config', f.configFile, '--json']);
    expect(next.stderr).toContain(`recovered interrupted restore ${killedId}`);
    expect(await f.replicas()).toEqual(before);
    const killed = await f.state.runs.getRun(killedId);
    expect(killed).toMatchObject({ phase: 'failed' });
    expect(killed?.error).toMatch(/interrupted/);
    expect(next.code, next.stdout).toBe(0);
  }, 240_000); // a restore, then a drill, each a CLI process: minutes on a loaded machine
});
