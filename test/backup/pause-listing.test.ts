import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runBackup, type BackupResult } from '../../src/backup/run-backup.js';
import { newBackupId } from '../../src/catalog/backup-layout.js';
import { createRunEvents } from '../../src/runner/run-event.js';
import { recordCommands, type SentCommand } from '../object-store/s3-fixtures.js';
import { createPachydermFixture, quietLogger, type PachydermFixture } from '../support/pachyderm-fixture.js';

/** What one backup asked the object stores while its delta copy ran (the cluster paused), and its summary. */
interface PausedListing {
  result: BackupResult;
  /** Keys the cluster bucket's listings sent during the delta copy. */
  clusterKeysSent: number;
  clusterListRequests: number;
  /** Listing requests to the backup store (the pool) during the delta copy. */
  poolListRequests: number;
  summary: string;
}

async function backupWatchingThePause(f: PachydermFixture): Promise<PausedListing> {
  const deps = f.deps(newBackupId('test'));
  const cluster = recordCommands(deps.clusterS3);
  const pool = recordCommands(deps.backupS3);
  const events = createRunEvents();
  let from = { cluster: 0, pool: 0 };
  let to = { cluster: 0, pool: 0 };
  let summary = '';
  events.subscribe((e) => {
    if (e.type === 'step-started' && e.step === 'delta-copy') from = { cluster: cluster.length, pool: pool.length };
    if (e.type === 'step-finished' && e.step === 'delta-copy') ((to = { cluster: cluster.length, pool: pool.length }), (summary = e.summary ?? ''));
  });
  const result = await runBackup({ deps, events, log: quietLogger });
  const lists = (sent: SentCommand[], a: number, b: number) => sent.slice(a, b).filter((c) => c.command === 'ListObjectsV2Command');
  const clusterLists = lists(cluster, from.cluster, to.cluster);
  return {
    result,
    // KeyCount: the keys the store put in each page (the pages' objects are read by listing-page.ts, not into the output).
    clusterKeysSent: clusterLists.reduce((n, c) => n + Number(c.output?.KeyCount ?? 0), 0),
    clusterListRequests: clusterLists.length,
    poolListRequests: lists(pool, from.pool, to.pool).length,
    summary,
  };
}

describe("the pause's listing of the cluster bucket", () => {
  const OBJECTS = 300;
  let f: PachydermFixture;
  let first: PausedListing;
  let incremental: PausedListing;

  beforeAll(async () => {
    // The default 16 ranges at once: a first backup knows the bucket's size from no earlier backup. No catch-up
    // pass however slow the machine (its listing would be the one compared): the pause follows the pre-copy.
    f = await createPachydermFixture({ objects: OBJECTS, editConfig: (c) => (c.clusters.test.backup.catchUpAfterSeconds = 86_400) });
    first = await backupWatchingThePause(f);
    await f.addObjects(30);
    incremental = await backupWatchingThePause(f);
  });
  afterAll(async () => f?.cleanup());

  it("first backup: compares with the pre-copy's listing, never lists the pool, and is sent about as many keys as the bucket holds", () => {
    expect(first.result.status, first.result.error).toBe('succeeded');
    expect(first.result.objects).toMatchObject({ total: OBJECTS, copied: OBJECTS, copiedWhilePaused: 0 });
    expect(first.poolListRequests).toBe(0);
    // Not a full page of keys per range, each reaching far past the range's end.
    expect(first.clusterKeysSent).toBeGreaterThanOrEqual(OBJECTS);
    expect(first.clusterKeysSent).toBeLessThanOrEqual(OBJECTS * 1.1 + 20);
    expect(first.summary).toMatch(/compared with the pre-copy's listing/);
  });

  it('incremental backup: the same', () => {
    expect(incremental.result.status, incremental.result.error).toBe('succeeded');
    expect(incremental.result.objects).toMatchObject({ total: OBJECTS + 30, copied: 30 });
    expect(incremental.poolListRequests).toBe(0);
    expect(incremental.clusterKeysSent).toBeLessThanOrEqual((OBJECTS + 30) * 1.1 + 20);
    expect(incremental.summary).toMatch(/compared with the pre-copy's listing/);
  });
});
