import type { WebClient } from '@slack/web-api';
import type { ClusterConfig, Principals } from '../config/config.js';
import { describeError, PachbackupError } from '../errors.js';

/** What a user may do on a cluster. */
export type Permission = 'read' | 'operate' | 'approve';

/**
 * Decides who may do what: anyone in the workspace may read (status, list, estimate...); operators may back up,
 * cancel, drill and ask for restores; approvers approve restores. Principals are Slack user ids and user groups
 * from the config; group members come from `usergroups.users.list`, cached for `cacheMs` (default a minute) so a
 * click stays fast and a removal takes effect within the cache's lifetime; decisions (asking for and approving a
 * restore) read them fresh, and the worker checks with no cache.
 *
 * Fails closed: when a user is not named in the config and a group's members cannot be read (Slack answers an
 * error, or there is no Slack client), `can` throws an `unavailable` error naming the group and why, rather than
 * answer yes or no — callers refuse the action with that reason.
 */
export function createAuthorizer(client: Pick<WebClient, 'usergroups'> | undefined, options: { cacheMs?: number } = {}) {
  const cacheMs = options.cacheMs ?? 60_000;
  const groups = new Map<string, { users: Set<string>; at: number }>();

  async function members(group: string, fresh: boolean): Promise<Set<string>> {
    const cached = groups.get(group);
    if (cached && !fresh && Date.now() - cached.at < cacheMs) return cached.users;
    if (!client) throw new PachbackupError('unavailable', `cannot check who is in Slack user group ${group}: this process has no Slack client`, { hint: 'configure slack.botToken for the worker, or name the users in the config' });
    let users: Set<string>;
    try {
      users = new Set((await client.usergroups.users.list({ usergroup: group })).users ?? []);
    } catch (err) {
      throw new PachbackupError('unavailable', `cannot check who is in Slack user group ${group}: ${describeError(err)}`, { hint: 'rights are confirmed before anything runs; try again when Slack answers', retryable: true, cause: err });
    }
    groups.set(group, { users, at: Date.now() });
    return users;
  }

  async function isIn(userId: string, principals: Principals, fresh: boolean): Promise<boolean> {
    if (principals.users.includes(userId)) return true;
    for (const group of principals.groups) {
      if ((await members(group, fresh)).has(userId)) return true;
    }
    return false;
  }

  return {
    /** Whether `userId` may do `permission` on `cluster`; `fresh` reads group members now (for decisions: asking for or approving a restore). */
    async can(userId: string, permission: Permission, cluster: ClusterConfig, options: { fresh?: boolean } = {}): Promise<boolean> {
      if (permission === 'read') return true;
      const fresh = options.fresh ?? false;
      if (permission === 'operate') return isIn(userId, cluster.access.operators, fresh);
      return isIn(userId, cluster.access.approvers, fresh);
    },
  };
}

export type Authorizer = ReturnType<typeof createAuthorizer>;
