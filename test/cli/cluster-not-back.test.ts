import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { killStartedClis, startCli } from '../support/cli-process.js';
import { createPachydermFixture, type PachydermFixture } from '../support/pachyderm-fixture.js';

/**
 * What `pachbackup backup` prints (not a terminal: cron mail, CI logs) when the cluster does not come back: the
 * resume waiting for a pachd that does not become ready says so, naming the Deployment and the timeout, and keeps
 * waiting; once pachd is ready the backup ends and the cluster is at its replicas.
 */
describe('pachbackup backup when pachd is not ready after the resume', () => {
  let f: PachydermFixture;
  const kubeFaults = (body: unknown) => fetch(`${f.kube.url}/sandbox/faults`, { method: 'PUT', body: JSON.stringify(body) });

  beforeAll(async () => {
    f = await createPachydermFixture({ objects: 5, podDelayMs: 500, resumeTimeoutSeconds: 5 });
  });
  afterAll(async () => {
    killStartedClis();
    await f?.cleanup();
  });

  it('prints that pachd is not ready, keeps trying, and exits 0 once it is', async () => {
    const before = await f.replicas();
    const cli = startCli(['backup', '--cluster', 'test', '--config', f.configFile], { LOG_LEVEL: 'silent' });
    await cli.waitForLine(/Pause Pachyderm: started/, 120_000);
    await kubeFaults({ neverReady: ['pachd'] });
    const told = await cli.waitForLine(/Resume Pachyderm: .*Deployment pachd not ready after 5 s/, 120_000);
    expect(told).toMatch(/^\[\S+\] Resume Pachyderm: retrying /);
    expect(cli.lines.join('\n')).not.toMatch(/Resume Pachyderm — /); // not done yet
    await kubeFaults({ neverReady: [] }); // whatever kept pachd from starting is fixed
    const exit = await cli.exited;
    expect(exit.code, cli.lines.slice(-10).join('\n')).toBe(0);
    expect(await f.replicas()).toEqual(before);
  }, 240_000);
});
