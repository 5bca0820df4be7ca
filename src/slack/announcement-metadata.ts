import type { WebClient } from '@slack/web-api';
import type { AnnouncementState, PostedAnnouncement } from '../jobs/operations-queue.js';

/** The Slack message metadata `event_type` of a run's users'-channel announcement. */
export const ANNOUNCEMENT_EVENT_TYPE = 'pachbackup_announcement';

/** Pages of the users' channel read when looking for a run's announcement (100 messages each). */
const MAX_PAGES = 5;

/**
 * The metadata every announcement carries (Slack message metadata, posted and updated with it): the run it
 * belongs to, what it says and since when the cluster is paused — so a later attempt of the run finds and adopts
 * the announcement a dead worker posted but never got to record (a SIGKILL between chat.postMessage and recording
 * its ts), instead of posting a second one that leaves the first saying "paused" forever.
 */
export function announcementMetadata(runId: string, posted: { state: AnnouncementState; pausedAt?: string }) {
  return {
    event_type: ANNOUNCEMENT_EVENT_TYPE,
    event_payload: { run_id: runId, state: posted.state, ...(posted.pausedAt ? { paused_at: posted.pausedAt } : {}) },
  };
}

/**
 * The announcement of `runId` in `channel`, posted by this app since `since` (the run's creation), read back from
 * the channel's history with its metadata; undefined when there is none (or Slack would not say).
 */
export async function findAnnouncement(client: WebClient, channel: string, runId: string, since: string): Promise<PostedAnnouncement | undefined> {
  // A minute of slack for clocks: Slack's ts are its own.
  const oldest = String(Math.floor(Date.parse(since) / 1000) - 60);
  // Only this app's own messages: metadata can be posted by any app in the workspace, and adopting another's
  // message would announce nothing (its edits are refused) and take its "paused since" as ours.
  const ownBot = (await client.auth.test()).bot_id;
  if (!ownBot) return undefined;
  let cursor: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const history = await client.conversations.history({ channel, oldest, limit: 100, include_all_metadata: true, ...(cursor ? { cursor } : {}) });
    for (const m of history.messages ?? []) {
      const payload = m.metadata?.event_type === ANNOUNCEMENT_EVENT_TYPE ? (m.metadata.event_payload as { run_id?: unknown; state?: unknown; paused_at?: unknown } | undefined) : undefined;
      if (!payload || payload.run_id !== runId || !m.ts || m.bot_id !== ownBot) continue;
      return {
        channel,
        ts: m.ts,
        ...(typeof payload.state === 'string' ? { state: payload.state as AnnouncementState } : {}),
        ...(typeof payload.paused_at === 'string' ? { pausedAt: payload.paused_at } : {}),
      };
    }
    cursor = history.response_metadata?.next_cursor;
    if (!cursor) return undefined;
  }
  return undefined;
}
