import type { BlockButtonAction } from '@slack/bolt';
import type { SlackAppDeps } from '../app-deps.js';
import { cancelRun } from '../handlers/cancel-run.js';
import { confirmBackup } from '../handlers/confirm-backup.js';
import { loadRestoreBackupOptions } from '../handlers/open-restore-modal.js';
import { decideRestore, submitRestoreRequest } from '../handlers/restore-requests.js';
import { RESTORE_INPUTS } from '../views/restore-modal.js';
import { ACTION_IDS, VIEW_IDS } from '../slack-ids.js';
import { ackFirst } from './ack-first.js';
import type { ListenerRegistry } from './register-listeners.js';

/**
 * The buttons: confirm or dismiss a backup confirmation, cancel a running operation, decide a restore (each acks
 * first); the restore modal's backup picker (answers with its options) and its submission.
 */
export function registerActionListeners(app: ListenerRegistry, deps: SlackAppDeps): void {
  app.action<BlockButtonAction>(ACTION_IDS.confirmBackup, async ({ ack, body, action, respond, client }) => {
    await ackFirst(ack);
    await confirmBackup({ userId: body.user.id, confirmationId: action.value ?? '', respond, client }, deps);
  });

  app.action<BlockButtonAction>(ACTION_IDS.dismissBackup, async ({ ack, body, action, respond }) => {
    await ackFirst(ack);
    const taken = await deps.confirmations.take(action.value ?? '', body.user.id);
    await deps.audit.record({ actor: body.user.id, action: 'backup-dismiss', outcome: taken.ok ? 'cancelled' : 'refused', ...(taken.pending ? { cluster: taken.pending.cluster } : {}) });
    await respond({ response_type: 'ephemeral', replace_original: taken.ok, text: taken.ok ? 'Backup not started.' : 'This confirmation is no longer valid.' });
  });

  app.action<BlockButtonAction>(ACTION_IDS.cancelRun, async ({ ack, body, action, respond, client }) => {
    await ackFirst(ack);
    const result = await cancelRun({ userId: body.user.id, runId: action.value ?? '', client }, deps);
    await respond({ response_type: 'ephemeral', replace_original: false, text: result.text, ...(result.blocks ? { blocks: result.blocks as never } : {}) });
  });

  for (const [actionId, decision] of [
    [ACTION_IDS.approveRestore, 'approve'],
    [ACTION_IDS.rejectRestore, 'reject'],
  ] as const) {
    app.action<BlockButtonAction>(actionId, async ({ ack, body, action, respond, client }) => {
      await ackFirst(ack);
      try {
        await decideRestore(
          {
            userId: body.user.id,
            requestId: action.value ?? '',
            decision,
            ...(body.channel?.id && body.message?.ts ? { message: { channel: body.channel.id, ts: body.message.ts } } : {}),
            client,
            respond: (m) => respond({ response_type: 'ephemeral', replace_original: false, text: m.text, ...(m.blocks ? { blocks: m.blocks as never } : {}) }),
          },
          deps,
        );
      } catch (err) {
        deps.log.error({ err }, 'restore decision failed');
        await respond({ response_type: 'ephemeral', replace_original: false, text: 'Something went wrong deciding this restore request; the pachbackup logs say more.' });
      }
    });
  }

  // The restore modal's backup picker: its options, for what the person typed, in the answer itself (within 3 s).
  app.options<'block_suggestion'>({ action_id: RESTORE_INPUTS.backup }, async ({ ack, body }) => {
    try {
      await ack(await loadRestoreBackupOptions({ userId: body.user.id, metadata: body.view?.private_metadata ?? '', query: body.value ?? '' }, deps));
    } catch (err) {
      deps.log.error({ err }, 'could not list the backups for the restore picker');
      await ack({ options: [] });
    }
  });

  // The restore modal's submission: answered within 3 s (field errors, or closed), planned after.
  app.view(VIEW_IDS.restoreRequest, async ({ ack, body, view, client }) => {
    try {
      await submitRestoreRequest(
        { userId: body.user.id, values: view.state.values as never, privateMetadata: view.private_metadata ?? '', ack: (answer) => ackFirst(() => (answer ? ack(answer as never) : ack())), client },
        deps,
      );
    } catch (err) {
      deps.log.error({ err }, 'restore request failed');
    }
  });
}
