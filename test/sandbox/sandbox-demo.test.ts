import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { slackModes } from '../support/slack-fixture.js';

const run = promisify(execFile);

describe.each(slackModes())('npm run sandbox (pachbackup sandbox demo --slack-mode %s)', (slackMode) => {
  const dir = mkdtempSync(join(tmpdir(), 'pachbackup-demo-'));
  afterAll(async () => {
    await run(process.execPath, ['bin/pachbackup.js', 'sandbox', '--dir', dir, 'down']).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs the sandbox up, restores it in place after damage through Slack with approval, and leaves nothing running', async () => {
    const { stdout } = await run(process.execPath, ['bin/pachbackup.js', 'sandbox', '--dir', dir, 'demo', '--slack-mode', slackMode], { env: { ...process.env, LOG_LEVEL: 'error' }, maxBuffer: 1 << 24 });
    expect(stdout).toMatch(/The backup \S+ succeeded\. Restore \S+ succeeded: auth\.role_bindings is back with its \d+ rows, the 5 deleted objects are back, and pachd runs \(1\/1 ready\)\./);
    // What users were told, in order: the backup's pause and all-clear, then the restore's start, pause and all-clear.
    const told = stdout.slice(stdout.indexOf('What #data-announcements showed')).split('\n').slice(1, 6);
    expect(told).toEqual([
      expect.stringMatching(/is paused for a backup since/),
      expect.stringMatching(/is back \(paused/),
      expect.stringMatching(/is being restored to its state of/),
      expect.stringMatching(/is paused since .* while its data is replaced/),
      expect.stringMatching(/is back, restored to its state of/),
    ]);
    expect(stdout).toMatch(/nothing left running/);
  }, 300_000);
});
