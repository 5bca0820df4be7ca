import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createAuthorizer } from '../../src/access/authorizer.js';
import { parseConfig } from '../../src/config/load-config.js';
import { approvalRefusal, missingApprovals, requesterRefusal, restoreRightsFor, sourceClusterOf } from '../../src/restore/restore-approval.js';
import type { RestorePlan } from '../../src/restore/restore-plan.js';
import { SANDBOX_BOT_TOKEN } from '../../src/sandbox/slack-sim/seed.js';
import { startSlackSimulator, type SlackSimulator } from '../../src/sandbox/slack-sim/server.js';

/** prod and dev, each with its own operators and approvers; dev's operators also come from a Slack group. */
const config = parseConfig(
  stringify({
    stateDatabase: { url: 'postgres://state@db/pachbackup' },
    redis: { url: 'redis://redis:6379' },
    clusters: Object.fromEntries(
      ['prod', 'dev'].map((name) => [
        name,
        {
          kubernetes: { inCluster: true },
          postgres: { host: `pg.${name}`, user: 'pachyderm', sslmode: 'disable' },
          objectStore: { bucket: `pach-${name}`, region: 'eu-west-1' },
          backupStore: { bucket: `pach-${name}-backups`, prefix: 'pachbackup' },
          access:
            name === 'prod'
              ? { operators: { users: ['U0PRODOPS'] }, approvers: { users: ['U0PRODAPR', 'U0BOTH'] } }
              : { operators: { users: ['U0DEVOPS', 'U0PRODOPS'], groups: ['S0DEV'] }, approvers: { users: ['U0DEVAPR', 'U0BOTH'] } },
        },
      ]),
    ),
  }),
  { source: 'test.yaml', env: {} },
);
const prod = config.clusters.prod!;
const dev = config.clusters.dev!;

/** A plan of prod's backup into dev: only the fields the rights depend on. */
function planIntoDev(options: { inPlace?: boolean; liveDatabase?: boolean; replaces?: boolean; liveBucket?: boolean }): RestorePlan {
  return {
    backup: { id: 'prod-20261201t030000z-ab12' },
    request: { overwrite: options.replaces ?? false },
    inPlace: options.inPlace ?? false,
    databases: [{ source: 'pachyderm', target: 'pachyderm_restored', live: options.liveDatabase ?? false, replaces: options.replaces ?? false }],
    objects: { live: options.liveBucket ?? false, empty: true },
  } as unknown as RestorePlan;
}

describe('whose people a restore needs', () => {
  // The simulated workspace has no group S0DEV: Slack answers its lookup with an error.
  let sim: SlackSimulator;
  let slack: WebClient;
  beforeAll(async () => {
    sim = await startSlackSimulator({ signingSecret: 'restore-approval-test-secret' });
    slack = new WebClient(SANDBOX_BOT_TOKEN, { slackApiUrl: sim.apiUrl, retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await sim?.close();
  });

  it("takes the source cluster from the backup's id, and the target itself for its own or unknown clusters' backups", () => {
    expect(sourceClusterOf(config, 'prod-20261201t030000z-ab12', dev).name).toBe('prod');
    expect(sourceClusterOf(config, 'dev-20261201t030000z-ab12', dev).name).toBe('dev');
    expect(sourceClusterOf(config, 'gone-20261201t030000z-ab12', dev).name).toBe('dev');
  });

  it("needs prod's operators and approvers to restore prod's backup beside dev, and dev's approvers too when it writes into dev's state", () => {
    expect(restoreRightsFor(config, planIntoDev({}), dev)).toMatchObject({ operate: [prod, dev], approvalSets: [{ cluster: 'prod', approvals: 1 }] });
    for (const change of [{ inPlace: true }, { liveDatabase: true }, { replaces: true }, { liveBucket: true }]) {
      expect(restoreRightsFor(config, planIntoDev(change), dev).approvalSets, JSON.stringify(change)).toEqual([
        { cluster: 'prod', approvals: 1 },
        { cluster: 'dev', approvals: 1 },
      ]);
    }
    expect(restoreRightsFor(config, { ...planIntoDev({ inPlace: true }), backup: { id: 'dev-20261201t030000z-ab12' } } as RestorePlan, dev).approvalSets).toEqual([{ cluster: 'dev', approvals: 1 }]);
  });

  it('counts each approver once per set, never the requester, and one approver holding both rights for both', () => {
    const sets = [
      { cluster: 'prod', approvals: 1 },
      { cluster: 'dev', approvals: 1 },
    ];
    expect(missingApprovals(sets, [{ user: 'U0DEVAPR', for: ['dev'] }], 'U0PRODOPS')).toEqual([
      { cluster: 'prod', approvals: 1 },
      { cluster: 'dev', approvals: 0 },
    ]);
    expect(missingApprovals(sets, [{ user: 'U0BOTH', for: ['prod', 'dev'] }], 'U0PRODOPS').every((s) => s.approvals === 0)).toBe(true);
    expect(missingApprovals(sets, [{ user: 'U0BOTH', for: ['prod', 'dev'] }], 'U0BOTH').every((s) => s.approvals === 1)).toBe(true);
  });

  it("refuses a requester who does not operate the source cluster, and approvals that lost their right since", async () => {
    const authorizer = createAuthorizer(undefined);
    const rights = restoreRightsFor(config, planIntoDev({}), dev);
    expect(await requesterRefusal(authorizer, 'U0DEVOPS', rights)).toMatch(/not an operator of prod, whose backup it is/);
    expect(await requesterRefusal(authorizer, 'U0PRODOPS', rights)).toBeUndefined();
    const sets = rights.approvalSets;
    // Recorded as a prod approval, but U0DEVAPR approves only dev restores: it does not count.
    expect(await approvalRefusal(authorizer, config, { requestedBy: 'U0PRODOPS', approvals: [{ user: 'U0DEVAPR', for: ['prod'] }], sets })).toMatch(/needs 1 more from prod's approvers \(<@U0DEVAPR> no longer approves restores there\)/);
    expect(await approvalRefusal(authorizer, config, { requestedBy: 'U0PRODOPS', approvals: [{ user: 'U0PRODAPR', for: ['prod'] }], sets })).toBeUndefined();
    expect(await approvalRefusal(authorizer, config, { requestedBy: 'U0PRODAPR', approvals: [{ user: 'U0PRODAPR', for: ['prod'] }], sets })).toMatch(/only by its requester/);
  });

  it('fails closed when group membership cannot be read: the reason says which group and why', async () => {
    const rights = restoreRightsFor(config, { ...planIntoDev({}), backup: { id: 'dev-20261201t030000z-ab12' } } as RestorePlan, dev);
    // Not named in the config: only the S0DEV group could make them an operator, and Slack does not answer.
    expect(await requesterRefusal(createAuthorizer(slack), 'U0SOMEONE', rights)).toMatch(/could not confirm that the requester <@U0SOMEONE> operates dev: cannot check who is in Slack user group S0DEV: .*no_such_subteam/);
    expect(await requesterRefusal(createAuthorizer(undefined), 'U0SOMEONE', rights)).toMatch(/this process has no Slack client/);
    // Named in the config: no lookup needed.
    expect(await requesterRefusal(createAuthorizer(slack), 'U0DEVOPS', rights)).toBeUndefined();
  });
});
