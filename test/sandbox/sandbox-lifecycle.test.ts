import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Client } from '../../src/object-store/s3-client.js';
import { isRunning } from '../../src/sandbox/processes.js';
import type { SandboxState } from '../../src/sandbox/sandbox-state.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, ['bin/pachbackup.js', ...args], { env: { ...process.env, LOG_LEVEL: 'error' } });

function listening(hostPort: string): Promise<boolean> {
  const url = new URL(hostPort.includes('://') ? hostPort : `tcp://${hostPort}`);
  return new Promise((resolve) => {
    const socket = connect({ host: url.hostname, port: Number(url.port) });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('pachbackup sandbox up --detach / status / down', () => {
  // A private folder inside a private folder (mktemp -d makes 0700 folders), as a clone under /root would be:
  // PostgreSQL's tools, run as the postgres user when we are root, cannot traverse it.
  const root = mkdtempSync(join(tmpdir(), 'pachbackup-sandbox-'));
  const privateDir = join(root, 'private');
  mkdirSync(privateDir, { mode: 0o700 });
  const dir = join(privateDir, 'sandbox');
  afterAll(async () => {
    await cli('sandbox', '--dir', dir, 'down').catch(() => undefined);
    rmSync(root, { recursive: true, force: true });
  });

  it('starts every service from a private folder without opening it up, describes them in sandbox.json, and stops them all leaving nothing behind', async () => {
    await cli('sandbox', '--dir', dir, 'up', '--detach');
    const state = JSON.parse(readFileSync(join(dir, 'sandbox.json'), 'utf8')) as SandboxState;
    expect([modeOf(root), modeOf(privateDir)]).toEqual([0o700, 0o700]); // the user's folders keep their permissions
    if (process.getuid?.() === 0) {
      // PostgreSQL lives in a directory of its own that the postgres user owns and can reach, recorded for `down`.
      expect(state.postgres.dataDir.startsWith(root)).toBe(false);
      expect(statSync(state.postgres.dataDir).uid).toBe(Number(/^postgres:[^:]*:(\d+):/m.exec(readFileSync('/etc/passwd', 'utf8'))![1]));
      expect(modeOf(state.postgres.dataDir)).toBe(0o700);
    } else {
      expect(state.postgres.dataDir).toBe(join(dir, 'postgres'));
    }

    expect(Object.keys(state.pids).sort()).toEqual(['app', 'kubernetes', 'postgres', 'redis', 's3', 'slack', 'worker']);
    for (const pid of Object.values(state.pids)) expect(isRunning(pid)).toBe(true);
    expect(state).toMatchObject({ cluster: 'sandbox', s3: { clusterBucket: 'pachyderm-data', backupBucket: 'pachbackup-store' }, kubernetes: { namespace: 'pachyderm' } });
    for (const endpoint of [state.postgres.url, state.redis.url, state.s3.endpoint, state.kubernetes.server, state.slack.apiUrl]) {
      expect(await listening(endpoint)).toBe(true);
    }

    // Like a real install, the app is in Socket Mode: connected to the Slack simulator, no port of its own for Slack.
    expect(state.slack).toMatchObject({ mode: 'socket' });
    expect(state.slack.eventsUrl).toBeUndefined();
    const socket = (await (await fetch(`${state.slack.apiUrl.replace(/\/api\/$/, '')}/socket-mode`)).json()) as { connections: number };
    expect(socket.connections).toBe(1);

    const status = JSON.parse((await cli('sandbox', '--dir', dir, 'status', '--json')).stdout) as { running: boolean };
    expect(status.running).toBe(true);
    const check = await cli('config', 'check', '--config', state.config);
    expect(check.stdout).toContain('OK — 1 cluster: sandbox');

    // The bucket's chunks and the database's storage.chunk_objects name the same objects, as in Pachyderm.
    const s3 = createS3Client({ endpoint: state.s3.endpoint, region: state.s3.region, bucket: state.s3.clusterBucket, prefix: '', forcePathStyle: true, credentials: { accessKeyId: state.s3.accessKeyId, secretAccessKey: state.s3.secretAccessKey } });
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: state.s3.clusterBucket, ContinuationToken: token }));
      keys.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    s3.destroy();
    expect(keys.length).toBe(state.s3.objects);
    expect(keys.every((k) => /^chunk\/[0-9a-f]{64}\.[0-9a-f]{16}$/.test(k))).toBe(true);
    const db = new pg.Client({ connectionString: state.postgres.url.replace(/\/postgres$/, '/pachyderm') });
    await db.connect();
    const { rows } = await db.query<{ key: string }>(`SELECT 'chunk/' || encode(chunk_id, 'hex') || '.' || lpad(to_hex(gen), 16, '0') AS key FROM storage.chunk_objects`);
    await db.end();
    expect(rows.map((r) => r.key).sort()).toEqual(keys.sort());

    const { stdout } = await cli('sandbox', '--dir', dir, 'down');
    expect(stdout).toMatch(/Stopped/);
    for (const pid of Object.values(state.pids)) expect(isRunning(pid)).toBe(false);
    for (const endpoint of [state.postgres.url, state.redis.url, state.s3.endpoint, state.kubernetes.server, state.slack.apiUrl]) {
      expect(await listening(endpoint)).toBe(false);
    }
    expect(existsSync(state.postgres.dataDir)).toBe(false);
    expect(readdirSync(dir)).toEqual(['logs']);
  }, 300_000);
});
