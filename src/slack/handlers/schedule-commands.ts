import { DEFAULT_HEADS_UP_MINUTES } from '../../schedules/schedule.js';
import { scheduleView } from '../../schedules/schedule-view.js';
import type { SlackAppDeps } from '../app-deps.js';
import { SCHEDULE_USAGE, type ScheduleCommand } from '../parse-command.js';
import { usageError } from '../views/help.js';
import { buildHeadsUpWithdrawn } from '../views/heads-up-withdrawn.js';
import { buildScheduleCreated } from '../views/schedule-created.js';
import { buildScheduleList } from '../views/schedule-list.js';
import { buildScheduleRemoved } from '../views/schedule-removed.js';
import { replyPrivately, type CommandContext } from './command-context.js';

/**
 * `/pachbackup schedule ...`: `list` is open to everyone; adding a schedule to a cluster and removing one are for
 * the cluster's operators. A schedule made here is kept in the state database and its BullMQ job scheduler is
 * installed at once; the confirmation shows the next three runs as Slack date tokens so the operator sees, in
 * their own time zone, whether the expression means what they meant. Schedules from the config file cannot be
 * removed here — the file is their source of truth. Every change and refusal is audited.
 */
export async function handleScheduleCommand(ctx: CommandContext, command: ScheduleCommand, deps: SlackAppDeps): Promise<void> {
  const { schedules } = deps;
  if (!schedules) return replyPrivately(ctx, usageError('schedules are not available in this pachbackup process', 'ask the team running pachbackup'));

  switch (command.action) {
    case 'list': {
      const all = await schedules.list();
      return replyPrivately(ctx, buildScheduleList({ schedules: all.map((s) => scheduleView(s, deps, 1)) }));
    }

    case 'add': {
      const cluster = deps.config.clusters[command.cluster]!;
      const detail = { via: 'slack', channel: ctx.channelId, cron: command.cron, timezone: command.timezone };
      if (!(await deps.authorizer.can(ctx.userId, 'operate', cluster))) {
        await deps.audit.record({ actor: ctx.userId, action: 'schedule-add', cluster: cluster.name, outcome: 'refused', detail: { ...detail, reason: 'not an operator' } });
        return replyPrivately(
          ctx,
          usageError(`you are not an operator of ${cluster.name}: only its operators may schedule its backups`, `ask one of its operators; \`${SCHEDULE_USAGE.list}\` is open to everyone`),
        );
      }
      const result = await schedules.add({ cluster: cluster.name, cron: command.cron, timezone: command.timezone, headsUpMinutes: DEFAULT_HEADS_UP_MINUTES, createdBy: ctx.userId });
      if (!result.added && result.reason === 'too-frequent') {
        await deps.audit.record({ actor: ctx.userId, action: 'schedule-add', cluster: cluster.name, outcome: 'refused', detail: { ...detail, reason: 'too frequent' } });
        return replyPrivately(ctx, usageError(`\`${command.cron}\` runs too often: ${result.problem}`, SCHEDULE_USAGE.add));
      }
      if (!result.added) {
        const { existing } = result;
        await deps.audit.record({ actor: ctx.userId, action: 'schedule-add', cluster: cluster.name, outcome: 'refused', detail: { ...detail, reason: 'duplicate', scheduleId: existing.id } });
        const where = existing.source === 'config' ? 'in the config file' : 'made in Slack';
        return replyPrivately(ctx, usageError(`${cluster.name} already has this schedule: \`${existing.id}\` (\`${existing.cron}\` in ${existing.timezone}, ${where})`, SCHEDULE_USAGE.list));
      }
      const { schedule } = result;
      await deps.audit.record({ actor: ctx.userId, action: 'schedule-add', cluster: cluster.name, outcome: 'accepted', detail: { ...detail, scheduleId: schedule.id, headsUpMinutes: schedule.headsUpMinutes } });
      const announceChannel = cluster.slack?.announceChannel;
      return replyPrivately(ctx, buildScheduleCreated({ ...scheduleView(schedule, deps, 3), ...(announceChannel ? { announceChannel } : {}) }));
    }

    case 'remove': {
      const schedule = await schedules.get(command.scheduleId);
      const refuse = async (reason: string, message: string, usage: string, cluster?: string) => {
        await deps.audit.record({ actor: ctx.userId, action: 'schedule-remove', ...(cluster ? { cluster } : {}), outcome: 'refused', detail: { scheduleId: command.scheduleId, reason } });
        return replyPrivately(ctx, usageError(message, usage));
      };
      if (!schedule) return refuse('unknown', `no schedule \`${command.scheduleId}\``, `\`${SCHEDULE_USAGE.list}\` shows the schedules and their ids`);
      if (schedule.source === 'config') {
        return refuse(
          'defined in the config file',
          `\`${schedule.id}\` is defined in the config file (\`clusters.${schedule.cluster}.schedules\`), so it cannot be removed from Slack`,
          'remove it from the config file and restart the workers; schedules made in Slack can be removed here',
          schedule.cluster,
        );
      }
      const cluster = deps.config.clusters[schedule.cluster]!;
      if (!(await deps.authorizer.can(ctx.userId, 'operate', cluster))) {
        return refuse('not an operator', `you are not an operator of ${cluster.name}: only its operators may remove its schedules`, `ask one of its operators; \`${SCHEDULE_USAGE.list}\` is open to everyone`, cluster.name);
      }
      const result = await schedules.remove(schedule.id);
      if (!result.removed) return refuse(result.reason, `no schedule \`${command.scheduleId}\``, `\`${SCHEDULE_USAGE.list}\` shows the schedules and their ids`, cluster.name);
      await deps.audit.record({
        actor: ctx.userId,
        action: 'schedule-remove',
        cluster: cluster.name,
        outcome: 'accepted',
        detail: { scheduleId: schedule.id, cron: schedule.cron, timezone: schedule.timezone, createdBy: schedule.createdBy },
      });
      if (result.postedHeadsUp) {
        // Its users were told a pause is coming; it is not.
        const { channel, ts, runAt } = result.postedHeadsUp;
        const withdrawn = buildHeadsUpWithdrawn({ clusterDisplayName: cluster.displayName, startsAt: new Date(runAt).toISOString(), fallbackZone: deps.fallbackZone, reason: 'removed' });
        await ctx.client.chat.update({ channel, ts, text: withdrawn.text, blocks: withdrawn.blocks }).catch((err: unknown) => deps.log.warn({ err }, 'could not withdraw the heads-up'));
      }
      return replyPrivately(ctx, buildScheduleRemoved({ ...schedule, clusterDisplayName: cluster.displayName }));
    }
  }
}
