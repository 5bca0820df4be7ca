import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_SERVICES, type SandboxService } from '../../src/sandbox/launch-record.js';

const run = promisify(execFile);

/** PIDs of every process whose environment says it belongs to the sandbox in `dir`, recorded or not. */
function processesOf(dir: string): number[] {
  const marker = `PACHBACKUP_SANDBOX_DIR=${dir}\0`;
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').includes(marker);
      } catch {
        return false; // gone meanwhile, or not ours to read
      }
    })
    .map(Number);
}

/** Runs `sandbox up --detach` with the service's start made to fail (its port taken); resolves with how it ended. */
async function upFailingAt(dir: string, service: SandboxService): Promise<{ code: number; stderr: string }> {
  try {
    await run(process.execPath, ['bin/pachbackup.js', 'sandbox', '--dir', dir, 'up', '--detach'], {
      env: { ...process.env, LOG_LEVEL: 'error', PACHBACKUP_SANDBOX_FAIL: service },
      timeout: 240_000,
    });
    return { code: 0, stderr: '' };
  } catch (err) {
    const e = err as { code?: number; stderr?: string };
    return { code: e.code ?? -1, stderr: e.stderr ?? '' };
  }
}

const NAMES: Record<SandboxService, RegExp> = {
  postgres: /PostgreSQL/,
  redis: /Redis/,
  s3: /S3 server/,
  kubernetes: /Kubernetes simulator/,
  slack: /Slack simulator/,
  app: /Slack app \(pachbackup serve\)/,
  worker: /worker \(pachbackup worker\)/,
};

describe('sandbox up when a service fails to start', () => {
  const root = mkdtempSync(join(tmpdir(), 'pachbackup-sandbox-fail-'));
  afterAll(async () => {
    for (const service of SANDBOX_SERVICES) {
      await run(process.execPath, ['bin/pachbackup.js', 'sandbox', '--dir', join(root, service), 'down']).catch(() => undefined);
    }
    rmSync(root, { recursive: true, force: true });
  });

  // One sandbox per service, all at once: each fails at its own service, the others started before it running.
  const outcomes = new Map<SandboxService, Promise<{ code: number; stderr: string }>>();
  const outcome = (service: SandboxService) => {
    if (outcomes.size === 0) {
      for (const s of SANDBOX_SERVICES) {
        mkdirSync(join(root, s));
        outcomes.set(s, upFailingAt(join(root, s), s));
      }
    }
    return outcomes.get(service)!;
  };

  for (const service of SANDBOX_SERVICES) {
    it(`at ${service}: says what failed and what to do, and leaves no process and no data behind`, async () => {
      const dir = join(root, service);
      const { code, stderr } = await outcome(service);
      expect(code).toBe(1);
      expect(stderr).toMatch(/sandbox up failed starting/);
      expect(stderr).toMatch(NAMES[service]);
      expect(stderr).toMatch(/address already in use|Address already in use|could not create any TCP\/IP sockets/);
      expect(stderr).toMatch(/nothing is left running/);
      expect(stderr).toMatch(/then run `pachbackup sandbox up` again/);
      if (service !== 'postgres') expect(stderr).toContain(join(dir, 'logs', `${service}.log`));
      expect(processesOf(dir)).toEqual([]);
      expect(readdirSync(dir)).toEqual(['logs']); // no sandbox.json, no starting.json, no data: logs stay
    }, 300_000);
  }
});
