import type { HomeView, KnownBlock } from '@slack/types';
import { LIMITS, blockTextLength, context, divider, header, section } from './block-kit.js';
import { clusterOverviewBlocks } from './cluster-status.js';
import { SLACK_DATE_TIME, slackDate } from './time-text.js';
import type { ClusterStatusView } from './view-models.js';

/**
 * The App Home tab: every configured cluster with its state (up, paused, unreachable), pods, the operation
 * running on it and its last good backup with the backup's age (summed up one line each when there are too many
 * for that, as in `status`); or, with no clusters, how to add one.
 * `now` (default: the first cluster's) is when the data was read, shown so people know how fresh it is.
 */
export function buildAppHome(clusters: ClusterStatusView[], now: string | undefined = clusters[0]?.now): HomeView {
  const updated = now ? `Updated ${slackDate(now, SLACK_DATE_TIME, 'UTC')} · open this tab again to refresh · ` : '';
  const top: KnownBlock[] = [header('Pachyderm backups'), context(`${updated}\`/pachbackup help\` for commands`)];
  if (clusters.length === 0) {
    return {
      type: 'home',
      blocks: [
        ...top,
        divider(),
        section('*No clusters yet.* Add a Pachyderm cluster under `clusters:` in the pachbackup config file and restart the app; it will show up here with its state and backups.'),
      ],
    };
  }
  return {
    type: 'home',
    blocks: [...top, ...clusterOverviewBlocks(clusters, { maxBlocks: LIMITS.blocksPerHomeTab - top.length, maxChars: LIMITS.blockTextBudget - blockTextLength(top), dividerFirst: true })],
  };
}
