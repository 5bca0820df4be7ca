import type { WebClient } from '@slack/web-api';
import type { ClusterConfig, Principals } from '../config/config.js';

/** What a user may do on a cluster. */
export type Permission = 'read' | 'operate' | 'approve';

/**
 * Decides who may do what: anyone in the workspace may read (status, list, estimate...); operators may back up
 * and cancel; approvers approve restores. Principals are Slack user ids and user groups from the config; group
 * members come from `usergroups.users.list`, cached briefly so a click stays fast and a removal takes effect
 * within the cache's lifetime.
 */
export function createAuthorizer(client: Pick<WebClient, 'usergroups'>, options: { cacheMs?: number } = {}) {
  const cacheMs = options.cacheMs ?? 60_000;
  const groups = new Map<string, { users: Set<string>; at: number }>();

  async function members(group: string): Promise<Set<string>> {
    const cached = groups.get(group);
    if (cached && Date.now() - cached.at < cacheMs) return cached.users;
    const res = await client.usergroups.users.list({ usergroup: group });
    const users = new Set(res.users ?? []);
    groups.set(group, { users, at: Date.now() });
    return users;
  }

  async function isIn(userId: string, principals: Principals): Promise<boolean> {
    if (principals.users.includes(userId)) return true;
    for (const group of principals.groups) {
      if ((await members(group)).has(userId)) return true;
    }
    return false;
  }

  return {
    async can(userId: string, permission: Permission, cluster: ClusterConfig): Promise<boolean> {
      if (permission === 'read') return true;
      if (permission === 'operate') return isIn(userId, cluster.access.operators);
      return isIn(userId, cluster.access.approvers);
    },
  };
}

export type Authorizer = ReturnType<typeof createAuthorizer>;
