/**
 * Every id Slack knows this app by — the slash command, action ids and view callback ids — in one place.
 * manifest.yml must name the same ones (test/slack/manifest.test.ts checks both ways).
 */
export const SLASH_COMMAND = '/pachbackup';

export const ACTION_IDS = {
  /** Confirm button of a backup confirmation (value: the confirmation id). */
  confirmBackup: 'backup_confirm',
  /** Dismiss button of a backup confirmation (value: the confirmation id). */
  dismissBackup: 'backup_dismiss',
  /** Cancel button on a running operation's message (value: the run id). */
  cancelRun: 'run_cancel',
  /** Approve button of a restore plan (value: the restore request id). */
  approveRestore: 'restore_approve',
  /** Reject button of a restore plan (value: the restore request id). */
  rejectRestore: 'restore_reject',
} as const;

export type ActionId = (typeof ACTION_IDS)[keyof typeof ACTION_IDS];

/** Modal callback ids. */
export const VIEW_IDS = {
  /** The `/pachbackup restore` modal. */
  restoreRequest: 'restore_request',
} as const;

/** Events the app subscribes to. */
export const EVENTS = {
  appHomeOpened: 'app_home_opened',
} as const;
