import type { WorkspaceSeed } from './workspace.js';

/**
 * The sandbox's default Slack workspace: a small platform team running Pachyderm and a data scientist who
 * reads the announcements. Who may operate or approve is pachbackup's configuration, not Slack's; the ids
 * below are what the sandbox's generated config names (`SANDBOX_PEOPLE`).
 */

/** Slack ids of the sandbox workspace, for configs and tests. */
export const SANDBOX_IDS = {
  team: 'T0SANDBOX',
  alice: 'U0OPS1',
  bob: 'U0OPS2',
  carol: 'U0APR1',
  dave: 'U0USER1',
  platformGroup: 'S0PLATFORM',
  opsChannel: 'C0OPS',
  announceChannel: 'C0ANNOUNCE',
  botUser: 'U0BOT',
  bot: 'B0BOT',
  app: 'A0PACHBACKUP',
} as const;

/** The sandbox bot's token (not a secret: it only opens the local simulator). */
export const SANDBOX_BOT_TOKEN = 'xoxb-sandbox-0000000000-pachbackup';

/** The sandbox app's app-level token, for Socket Mode (not a secret either). */
export const SANDBOX_APP_TOKEN = 'xapp-1-A0PACHBACKUP-0000000000-sandbox';

/** Who the sandbox config lets do what: operators (alice, and bob through @platform) and approvers (bob, carol). */
export const SANDBOX_PEOPLE = {
  operators: [SANDBOX_IDS.alice, SANDBOX_IDS.bob],
  operatorGroups: [SANDBOX_IDS.platformGroup],
  approvers: [SANDBOX_IDS.bob, SANDBOX_IDS.carol],
  /** Nobody gave dave any rights: he reads announcements and is refused operations. */
  noRights: [SANDBOX_IDS.dave],
} as const;

/** A fresh copy of the sandbox workspace (safe to mutate). */
export function sandboxSeed(): WorkspaceSeed {
  const { alice, bob, carol, dave } = SANDBOX_IDS;
  return {
    team: { id: SANDBOX_IDS.team, domain: 'pachyderm-sandbox', name: 'Pachyderm Sandbox' },
    users: [
      { id: alice, name: 'alice', real_name: 'Alice Ops', tz: 'Europe/Berlin', title: 'Platform engineer (operator)' },
      { id: bob, name: 'bob', real_name: 'Bob Ops', tz: 'America/New_York', title: 'Platform lead (operator, approver)' },
      { id: carol, name: 'carol', real_name: 'Carol Approver', tz: 'Europe/London', title: 'Engineering manager (approver)' },
      { id: dave, name: 'dave', real_name: 'Dave Data', tz: 'Asia/Kolkata', title: 'Data scientist' },
    ],
    usergroups: [{ id: SANDBOX_IDS.platformGroup, handle: 'platform', name: 'Platform team', users: [alice, bob] }],
    channels: [
      {
        id: SANDBOX_IDS.opsChannel,
        name: 'pachyderm-ops',
        members: [alice, bob, carol],
        purpose: 'Pachyderm operations: backups, restores, approvals',
      },
      {
        id: SANDBOX_IDS.announceChannel,
        name: 'data-announcements',
        members: [alice, bob, carol, dave],
        purpose: 'Planned downtime of the data platform',
      },
    ],
    bot: { user_id: SANDBOX_IDS.botUser, bot_id: SANDBOX_IDS.bot, token: SANDBOX_BOT_TOKEN, app_token: SANDBOX_APP_TOKEN, name: 'pachbackup', app_id: SANDBOX_IDS.app },
  };
}
