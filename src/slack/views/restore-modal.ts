import type { KnownBlock, View } from '@slack/types';
import { formatBytes } from '../../format-units.js';
import type { DatabaseTarget, ObjectTarget, RestoreRequest } from '../../restore/restore-request.js';
import { VIEW_IDS } from '../slack-ids.js';
import { escapeAndTruncate, codeSpan, formatCount, plural, truncateText } from './mrkdwn.js';
import { formatAge } from './time-text.js';

/** One complete backup offered in the restore modal. */
export interface RestoreBackupChoice {
  id: string;
  completedAt: string;
  bytes: number;
  pachydermVersion?: string;
  /** verify.json: passed, failed, or none yet. */
  verified: 'ok' | 'failed' | 'unverified';
}

/** What the modal remembers between opening and submitting (private_metadata). */
export interface RestoreModalMetadata {
  channelId: string;
  /** The clusters whose backups the picker offers (rights are checked again at each search). */
  sources?: string[];
}

/** Slack's limits on a select's options (https://docs.slack.dev/reference/block-kit/composition-objects/option-object). */
const OPTION_TEXT_CHARS = 75;
const OPTIONS_PER_MENU = 100;

const option = (text: string, value: string, description?: string) => ({
  text: { type: 'plain_text' as const, text: truncateText(text, OPTION_TEXT_CHARS) },
  value,
  ...(description ? { description: { type: 'plain_text' as const, text: truncateText(description, OPTION_TEXT_CHARS) } } : {}),
});

/**
 * A backup id as an option's text (at most 75 characters). Ids end with what tells backups apart — the time and a
 * random suffix — so a long one keeps its end and loses the middle of the cluster name, marked with "…":
 * `production-eu-west-1-…-20261124t030000z-7f3a`. Every backup of a long-named cluster stays distinct.
 */
export function backupOptionText(id: string): string {
  if (id.length <= OPTION_TEXT_CHARS) return id;
  const tail = 40;
  return `${id.slice(0, OPTION_TEXT_CHARS - tail - 1)}…${id.slice(-tail)}`;
}

/** "3 h ago · 48.3 GiB · Pachyderm 2.11.3 · verified": a backup option's description. */
function describeChoice(b: RestoreBackupChoice, now: string): string {
  const verified = { ok: 'verified', failed: 'VERIFY FAILED', unverified: 'not verified' }[b.verified];
  return `${formatAge(b.completedAt, now)} · ${formatBytes(b.bytes)} · ${verified} · Pachyderm ${b.pachydermVersion ?? '?'}`;
}

/** A backup as an option of the picker. */
export function backupOption(b: RestoreBackupChoice, now: string) {
  return option(backupOptionText(b.id), b.id, describeChoice(b, now));
}

/**
 * The picker's answer to what the person typed (Slack's `block_suggestion`): the backups whose id contains every
 * word of `query` (ids hold the cluster and the time as yyyymmddThhmmss, so "prod 202611" or "1124" finds them),
 * newest first. At most 100 fit a menu: past that, the newest 100 under a label saying how many matched and to
 * type more — never a silent cut. None matching says so.
 */
export function backupOptions(backups: RestoreBackupChoice[], query: string, now: string): { options: ReturnType<typeof option>[] } | { option_groups: { label: { type: 'plain_text'; text: string }; options: ReturnType<typeof option>[] }[] } {
  const words = query.toLowerCase().split(/[\s,]+/).filter(Boolean);
  const matching = backups.filter((b) => words.every((w) => b.id.toLowerCase().includes(w)));
  if (matching.length === 0) {
    return { option_groups: [{ label: { type: 'plain_text', text: truncateText(`No backup id contains “${query.trim()}”`, OPTION_TEXT_CHARS) }, options: [option('Clear the search to see every backup', NO_MATCH)] }] };
  }
  const options = matching.slice(0, OPTIONS_PER_MENU).map((b) => backupOption(b, now));
  if (matching.length <= OPTIONS_PER_MENU) return { options };
  const label = `Newest ${OPTIONS_PER_MENU} of ${formatCount(matching.length)}: type a date (20261124) to narrow`;
  return { option_groups: [{ label: { type: 'plain_text', text: truncateText(label, OPTION_TEXT_CHARS) }, options }] };
}

/** Block and action ids of the modal's inputs (block id = action id). */
export const RESTORE_INPUTS = {
  backup: 'backup',
  target: 'target',
  databases: 'databases',
  suffix: 'suffix',
  objects: 'objects',
  bucket: 'bucket',
  overwrite: 'overwrite',
  confirm: 'confirm',
} as const;

const mrkdwnSection = (text: string): KnownBlock => ({ type: 'section', text: { type: 'mrkdwn', text } });

const input = (id: string, label: string, element: Record<string, unknown>, extra: { optional?: boolean; hint?: string } = {}): KnownBlock =>
  ({
    type: 'input',
    block_id: id,
    label: { type: 'plain_text', text: label },
    element: { ...element, action_id: id },
    ...(extra.optional ? { optional: true } : {}),
    ...(extra.hint ? { hint: { type: 'plain_text', text: extra.hint } } : {}),
  }) as KnownBlock;

/** A cluster whose backups could not be listed for the modal, and why. */
export interface UnlistedCluster {
  cluster: string;
  error: string;
}

/** The backup picker's one option while the backups are being listed; never a backup id (ids have no colon). */
export const LOADING_BACKUPS = 'loading:backups';
/** The picker's one option when nothing matches the search; never a backup id. */
export const NO_MATCH = 'search:none';

/**
 * The `/pachbackup restore` modal: which backup (a searchable picker over every complete backup — its options
 * come from `backupOptions` as the person types — the newest chosen to start with, each with age, size, verify
 * state and Pachyderm version), into which cluster, where the databases and objects go, overwrite, and the target cluster's name typed
 * to confirm. Submitting it asks for approval; nothing is restored yet.
 *
 * With `loading`, the same form whose backup picker says the backups of those clusters are being listed: it is
 * opened at once (a trigger id lives 3 s, a slow backup store may take longer) and replaced by the full modal
 * with `views.update`. Its inputs keep their ids, so whatever the person filled in meanwhile stays
 * (https://docs.slack.dev/reference/views/modal-views, "Preserving input entry"). Clusters in `unlisted` are named with the
 * error, so a backup missing from the list is never a silent surprise.
 */
export function buildRestoreModal(options: {
  backups: RestoreBackupChoice[];
  clusters: string[];
  defaultCluster?: string;
  now: string;
  metadata: RestoreModalMetadata;
  loading?: string[];
  unlisted?: UnlistedCluster[];
}): View {
  const loading = options.loading ?? [];
  const newest = options.backups[0];
  const loadingText = `⏳ Loading the backups of ${loading.join(', ')}…`;
  const clusters = options.clusters.map((c) => option(c, c));
  const initialCluster = options.defaultCluster ? clusters.find((c) => c.value === options.defaultCluster) : undefined;
  const suffix = `restored_${options.now.slice(0, 10).replace(/-/g, '')}`;
  const blocks: KnownBlock[] = [
    mrkdwnSection('Pick a backup and where it goes. Submitting shows the plan in the ops channel for an approver; *nothing is restored until someone else approves it*.'),
    ...(loading.length > 0 ? [mrkdwnSection(`⏳ Loading the backups of ${loading.map((c) => `${codeSpan(c, 100)}`).join(', ')}…`)] : []),
    ...(options.unlisted ?? []).map((u) => mrkdwnSection(`⚠️ Could not list the backups of ${codeSpan(u.cluster, 100)}, so none of them is offered: ${escapeAndTruncate(u.error, 500)}`)),
    loading.length > 0
      ? input(RESTORE_INPUTS.backup, 'Backup', {
          type: 'static_select',
          placeholder: { type: 'plain_text', text: 'loading…' },
          options: [option(loadingText.length <= OPTION_TEXT_CHARS ? loadingText : `⏳ Loading the backups of ${plural(loading.length, 'cluster')}…`, LOADING_BACKUPS)],
        })
      : newest
        ? input(
            RESTORE_INPUTS.backup,
            'Backup',
            // Options come from the app as the person types (block_suggestion): any number of backups, searchable.
            { type: 'external_select', min_query_length: 0, placeholder: { type: 'plain_text', text: 'type part of an id or a date, e.g. 20261124' }, initial_option: backupOption(newest, options.now) },
            { hint: `${plural(options.backups.length, 'complete backup')}, newest first; type to search them.` },
          )
        : mrkdwnSection('❌ There is no complete backup to restore.'),
    input(RESTORE_INPUTS.target, 'Target cluster', { type: 'static_select', options: clusters, ...(initialCluster ? { initial_option: initialCluster } : {}) }),
    input(RESTORE_INPUTS.databases, 'Databases', {
      type: 'radio_buttons',
      options: [option('New databases with a suffix (safe)', 'new'), option('The original names (in place needs overwrite)', 'original')],
      initial_option: option('New databases with a suffix (safe)', 'new'),
    }),
    input(RESTORE_INPUTS.suffix, 'Suffix of the new databases', { type: 'plain_text_input', initial_value: suffix, max_length: 40 }, { optional: true }),
    input(RESTORE_INPUTS.objects, 'Objects', {
      type: 'radio_buttons',
      options: [
        option("The target cluster's own bucket", 'cluster-bucket'),
        option('A new bucket (name below)', 'bucket'),
        option('The backup store in place (no copy)', 'backup-pool', '⚠️ the backup store stops being a backup'),
      ],
      initial_option: option('A new bucket (name below)', 'bucket'),
    }),
    input(RESTORE_INPUTS.bucket, 'New bucket', { type: 'plain_text_input', max_length: 63, placeholder: { type: 'plain_text', text: 'e.g. pachyderm-restored' } }, { optional: true }),
    input(RESTORE_INPUTS.overwrite, 'Overwrite', { type: 'checkboxes', options: [option('Replace non-empty databases and write into a non-empty bucket', 'overwrite')] }, { optional: true }),
    input(RESTORE_INPUTS.confirm, "Type the target cluster's name to confirm", { type: 'plain_text_input', max_length: 100 }),
  ];
  return {
    type: 'modal',
    callback_id: VIEW_IDS.restoreRequest,
    title: { type: 'plain_text', text: 'Restore a backup' },
    submit: { type: 'plain_text', text: 'Ask for approval' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(options.metadata),
    blocks,
  };
}

type StateValues = Record<string, Record<string, { type?: string; value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }>>;

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SUFFIX = /^[a-z0-9_]{1,40}$/;

/**
 * The modal's state as a restore request for a target cluster, or the field errors Slack shows under the
 * inputs (`response_action: errors`).
 */
export function parseRestoreSubmission(values: StateValues, clusters: readonly string[]): { ok: true; cluster: string; request: RestoreRequest } | { ok: false; errors: Record<string, string> } {
  const get = (id: string) => values[id]?.[id];
  const errors: Record<string, string> = {};
  const picked = get(RESTORE_INPUTS.backup)?.selected_option?.value;
  const backupId = picked === LOADING_BACKUPS || picked === NO_MATCH ? undefined : picked;
  const cluster = get(RESTORE_INPUTS.target)?.selected_option?.value;
  if (!cluster || !clusters.includes(cluster)) errors[RESTORE_INPUTS.target] = 'pick a configured cluster';
  // Without backups the modal has no backup input: the error goes where Slack can show it.
  if (picked === LOADING_BACKUPS) errors[RESTORE_INPUTS.backup] = 'the backups are still being listed: pick one once they are shown';
  else if (picked === NO_MATCH) errors[RESTORE_INPUTS.backup] = 'pick a backup: clear the search to see them all';
  else if (!backupId) errors[values[RESTORE_INPUTS.backup] ? RESTORE_INPUTS.backup : RESTORE_INPUTS.target] = values[RESTORE_INPUTS.backup] ? 'pick a backup' : 'there is no complete backup to restore';
  const typed = (get(RESTORE_INPUTS.confirm)?.value ?? '').trim();
  if (cluster && typed !== cluster) errors[RESTORE_INPUTS.confirm] = `type ${cluster} exactly to confirm`;

  let databases: DatabaseTarget = { kind: 'new' };
  if (get(RESTORE_INPUTS.databases)?.selected_option?.value === 'original') databases = { kind: 'original' };
  else {
    const suffix = (get(RESTORE_INPUTS.suffix)?.value ?? '').trim();
    if (suffix !== '' && !SUFFIX.test(suffix)) errors[RESTORE_INPUTS.suffix] = 'lower-case letters, digits and _ only';
    else if (suffix !== '') databases = { kind: 'new', suffix };
  }
  let objects: ObjectTarget = { kind: 'cluster-bucket' };
  const where = get(RESTORE_INPUTS.objects)?.selected_option?.value ?? 'cluster-bucket';
  if (where === 'backup-pool') objects = { kind: 'backup-pool' };
  else if (where === 'bucket') {
    const bucket = (get(RESTORE_INPUTS.bucket)?.value ?? '').trim();
    if (!BUCKET.test(bucket)) errors[RESTORE_INPUTS.bucket] = 'a bucket name: 3–63 lower-case letters, digits, dots and dashes';
    else objects = { kind: 'bucket', bucket };
  }
  const overwrite = (get(RESTORE_INPUTS.overwrite)?.selected_options ?? []).some((o) => o.value === 'overwrite');
  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, cluster: cluster!, request: { backupId: backupId!, databases, objects, overwrite } };
}
