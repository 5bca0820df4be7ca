import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_IDS } from '../../../src/sandbox/slack-sim/seed.js';

const MAIN = fileURLToPath(new URL('../../../src/sandbox/slack-sim/main.ts', import.meta.url));

describe('slack-sim main (standalone process)', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('says where it listens once listening, serves the sandbox workspace, and exits 0 on SIGTERM', async () => {
    child = spawn(
      process.execPath,
      ['--import', 'tsx', MAIN, '--port', '0', '--signing-secret', 'main-test-secret', '--bot-token', 'xoxb-main-test', '--app-events-url', 'http://127.0.0.1:9/slack/events'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    // A plain line says where it listens, whatever the log level; the JSON log says it too, secrets left out.
    const lines = createInterface({ input: child.stdout! });
    const seen: string[] = [];
    let url: string | undefined;
    for await (const line of lines) {
      seen.push(line);
      url = /^slack-sim listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
      if (url) break;
    }
    expect(url).toBeDefined();
    expect(seen.join('\n')).not.toContain('main-test-secret');
    const apiUrl = `${url}/api/`;

    const auth = await fetch(`${apiUrl}auth.test`, { method: 'POST', headers: { Authorization: 'Bearer xoxb-main-test' } });
    expect(await auth.json()).toMatchObject({ ok: true, team_id: SANDBOX_IDS.team, user_id: SANDBOX_IDS.botUser });

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];
    expect(code).toBe(0);
  });
});
