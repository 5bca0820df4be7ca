import { afterEach, describe, expect, it } from 'vitest';
import { runBackup } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { estimateBackup } from '../../src/estimate/estimate-backup.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

let fixture: PachydermFixture | undefined;
afterEach(async () => {
  await fixture?.cleanup();
  fixture = undefined;
});

describe("a cluster's first backup", () => {
  it('is announced with a range that holds its downtime, from what the cluster shows', async () => {
    // Pods that take half a second to start and to stop, as the sandbox's do.
    const f = (fixture = await createPachydermFixture({ podDelayMs: 500 }));
    const deps = { ...f.deps('estimate'), pool: f.state.pool };
    const { estimate, upcoming } = await estimateBackup(deps);
    expect(estimate).toMatchObject({ basis: 'throughput', runs: 0 });
    expect(upcoming.throughput.snapshotsUsable).toBe(true);
    expect(upcoming.throughput.pace).toMatchObject({ maxGraceSeconds: 30 });
    expect(upcoming.throughput.pace!.pachdStartupSeconds).toBeLessThanOrEqual(1);

    const result = await runBackup({ deps: f.deps(newBackupId('test')), events: createRunEvents(), log: quietLogger });
    expect(result.status, result.error).toBe('succeeded');
    const actual = result.downtimeSeconds!;
    expect(actual).toBeGreaterThanOrEqual(estimate.lowSeconds);
    expect(actual).toBeLessThanOrEqual(estimate.highSeconds);
    // Near the mark, not "about 30 s" for a one-second outage. Kubernetes' condition timestamps are whole seconds,
    // so the half-second pod start and stop read as 0 or 1 s each: the expected figure can sit up to 2 s above an
    // outage of about 1.1 s (3.28 s against 1.08 s seen), never tens of seconds.
    expect(estimate.expectedSeconds).toBeLessThan(actual * 3 + 0.5);
    expect(estimate.expectedSeconds).toBeGreaterThan(actual / 3);
  });
});
