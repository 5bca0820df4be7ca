import { DeleteObjectsCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { loadConfig } from '../config/load-config.js';
import { PachbackupError } from '../errors.js';
import { listObjects } from '../object-store/list-objects.js';
import { withPostgresClient } from '../postgres/connection.js';
import { clusterAdapters } from '../runtime/cluster-adapters.js';
import { SANDBOX } from './sandbox-config.js';
import type { SandboxState } from './sandbox-state.js';
import type { RemoteSlackDriver } from './slack-sim/remote-driver.js';
import type { MessageView } from './slack-sim/workspace.js';

const ALICE = SANDBOX.operators[0];
/** The sandbox's approver who is not an operator: the second person a restore needs. */
const CAROL = SANDBOX.approvers.find((u) => !(SANDBOX.operators as readonly string[]).includes(u))!;
/** The table the demo drops: Pachyderm's role bindings (a small table every installation has). */
const DROPPED_TABLE = 'auth.role_bindings';
const DELETED_OBJECTS = 5;

type Wait = <T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>) => Promise<T>;

/**
 * The second half of the sandbox demo: something goes wrong after the backup — a table of the `pachyderm`
 * database is dropped and chunk objects are deleted from the cluster's bucket — and @alice asks for an in-place
 * restore with `/pachbackup restore`, @carol approves it with the button, and the worker restores it while the
 * users' channel is told what happens. Then the demo checks what an operator would: the table and its rows are
 * back, so are the objects, and pachd runs ready. Throws when any of that is not so.
 */
export async function demoRestore(options: { state: SandboxState; slack: RemoteSlackDriver; backupId: string; waitFor: Wait }): Promise<string> {
  const { state, slack, backupId, waitFor } = options;
  const cluster = loadConfig(state.config).clusters[state.cluster]!;
  const adapters = clusterAdapters(cluster);
  try {
    const rows = await withPostgresClient(cluster.postgres, 'pachyderm', async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${DROPPED_TABLE}`)).rows[0].n));
    await withPostgresClient(cluster.postgres, 'pachyderm', (c) => c.query(`DROP TABLE ${DROPPED_TABLE}`));
    const deleted: string[] = [];
    for await (const o of listObjects(adapters.clusterS3, cluster.objectStore.bucket, '')) {
      if (deleted.length === DELETED_OBJECTS) break;
      deleted.push(o.key);
    }
    await adapters.clusterS3.send(new DeleteObjectsCommand({ Bucket: cluster.objectStore.bucket, Delete: { Objects: deleted.map((Key) => ({ Key })) } }));
    console.log(`\nThen something goes wrong: ${DROPPED_TABLE} (${rows} rows) is dropped and ${deleted.length} objects are deleted from s3://${cluster.objectStore.bucket}.\n`);

    console.log(`@alice types in #pachyderm-ops: /pachbackup restore ${state.cluster}`);
    const answer = await slack.slashCommand({ text: `restore ${state.cluster}`, userId: ALICE, channelId: state.slack.opsChannel });
    if (!answer.ok || answer.status !== 200) throw new PachbackupError('unavailable', `the app did not take the command: ${answer.error ?? answer.status}`);
    const modal = await waitFor('the restore modal to list the backups', 60_000, async () =>
      (await slack.snapshot()).views.find((v) => v.user === ALICE && v.type === 'modal' && JSON.stringify(v.blocks ?? []).includes('"block_id":"backup"')),
    );
    console.log(`@alice picks backup ${backupId}, the original databases and the cluster's own bucket, ticks Overwrite, types "${state.cluster}" and submits.`);
    const submitted = await slack.submitView({
      userId: ALICE,
      viewId: modal.id,
      values: {
        backup: { backup: backupId },
        target: { target: state.cluster },
        databases: { databases: 'original' },
        objects: { objects: 'cluster-bucket' },
        overwrite: { overwrite: ['overwrite'] },
        confirm: { confirm: state.cluster },
      },
    });
    if (!submitted.ok) throw new PachbackupError('unavailable', `the app did not take the restore request: ${submitted.error ?? submitted.status}`);
    const ops = async () => (await slack.snapshot()).channels.find((c) => c.id === state.slack.opsChannel)?.messages ?? [];
    const plan = await waitFor('the restore plan', 60_000, async () => (await ops()).find((m) => /Restore request \S+:/.test(m.text) && m.text.includes(backupId)));
    const runId = /Restore request (\S+):/.exec(plan.text)![1]!;
    if (/refused/.test(plan.text)) throw new PachbackupError('internal', `the sandbox restore plan was refused: ${plan.text}`);
    console.log('@carol, an approver, clicks [ Approve ] on the plan\n');
    await slack.clickButton({ userId: CAROL, actionId: 'restore_approve', message: { channel: plan.channel, ts: plan.ts } });
    const summary = await waitFor(`restore ${runId} to finish`, 300_000, async () =>
      (await ops()).flatMap((m: MessageView) => m.replies).find((r) => r.text.includes(`Restore ${runId} of`)),
    );
    if (!/is complete/.test(summary.text)) throw new PachbackupError('internal', `the sandbox restore did not succeed: ${summary.text}`);

    // What an operator checks afterwards.
    const restoredRows = await withPostgresClient(cluster.postgres, 'pachyderm', async (c) => Number((await c.query(`SELECT count(*) AS n FROM ${DROPPED_TABLE}`)).rows[0].n));
    if (restoredRows !== rows) throw new PachbackupError('internal', `${DROPPED_TABLE} has ${restoredRows} rows after the restore; it had ${rows}`);
    for (const key of deleted) await adapters.clusterS3.send(new HeadObjectCommand({ Bucket: cluster.objectStore.bucket, Key: key }));
    const pachd = await adapters.workloads.snapshot();
    if (pachd.pachdReady < pachd.pachd.replicas || pachd.pachd.replicas === 0) throw new PachbackupError('internal', `pachd is not running after the restore: ${pachd.pachdReady}/${pachd.pachd.replicas} ready`);
    return `Restore ${runId} succeeded: ${DROPPED_TABLE} is back with its ${rows} rows, the ${deleted.length} deleted objects are back, and pachd runs (${pachd.pachdReady}/${pachd.pachd.replicas} ready).`;
  } finally {
    adapters.close();
  }
}
