import { describeError } from '../../errors.js';
import type { SlackAppDeps } from '../app-deps.js';
import { cancelRun } from '../handlers/cancel-run.js';
import { replyPrivately } from '../handlers/command-context.js';
import { handleReadCommand } from '../handlers/read-commands.js';
import { requestBackup } from '../handlers/request-backup.js';
import { requestDrill } from '../handlers/request-drill.js';
import { openRestoreModal } from '../handlers/open-restore-modal.js';
import { handleScheduleCommand } from '../handlers/schedule-commands.js';
import { isUsageError, parseCommand } from '../parse-command.js';
import { SLASH_COMMAND } from '../slack-ids.js';
import { usageError } from '../views/help.js';
import { ackFirst } from './ack-first.js';
import type { ListenerRegistry } from './register-listeners.js';

/**
 * `/pachbackup`: acknowledged at once (Slack wants an answer within 3 s), parsed, and answered privately;
 * malformed input gets the error and the right usage, and nothing else happens.
 */
export function registerCommandListener(app: ListenerRegistry, deps: SlackAppDeps): void {
  app.command(SLASH_COMMAND, async ({ command, ack, respond, client }) => {
    await ackFirst(ack);
    const ctx = { userId: command.user_id, channelId: command.channel_id, respond, client };
    const parsed = parseCommand(command.text ?? '', Object.keys(deps.config.clusters));
    const log = deps.log.child({ user: command.user_id, command: isUsageError(parsed) ? 'invalid' : parsed.name });
    if (isUsageError(parsed)) {
      await deps.audit.record({ actor: command.user_id, action: 'command', outcome: 'refused', detail: { error: parsed.error, length: (command.text ?? '').length } });
      await replyPrivately(ctx, usageError(parsed.error, parsed.usage));
      return;
    }
    try {
      await deps.audit.record({ actor: command.user_id, action: `command:${parsed.name}`, ...('cluster' in parsed && parsed.cluster ? { cluster: parsed.cluster } : {}), outcome: 'accepted', detail: {} });
      if (parsed.name === 'backup') await requestBackup(ctx, parsed, deps);
      else if (parsed.name === 'drill') await requestDrill(ctx, parsed, deps);
      else if (parsed.name === 'restore') await openRestoreModal({ ...ctx, triggerId: command.trigger_id }, parsed, deps);
      else if (parsed.name === 'cancel') {
        const result = await cancelRun({ userId: command.user_id, runId: parsed.runId, client }, deps);
        await replyPrivately(ctx, result as { text: string; blocks?: unknown[] });
      } else if (parsed.name === 'schedule') await handleScheduleCommand(ctx, parsed, deps);
      else await handleReadCommand(ctx, parsed, deps);
    } catch (err) {
      log.error({ err }, 'command failed');
      await replyPrivately(ctx, usageError(`something went wrong: ${describeError(err)}`, 'try again; if it persists, the pachbackup logs say more'));
    }
  });
}
