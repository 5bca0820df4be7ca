import { describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../../src/slack/slack-ids.js';
import { buildAnnouncement, buildOverrunNote } from '../../../src/slack/views/announcement.js';
import { buildBusyRefusal } from '../../../src/slack/views/busy-refusal.js';
import { buildHeadsUpWithdrawn } from '../../../src/slack/views/heads-up-withdrawn.js';
import { buildStaleBackupAlert, buildStaleBackupResolved } from '../../../src/slack/views/stale-backup-alert.js';
import { buildAppHome } from '../../../src/slack/views/app-home.js';
import { buildBackupConfirmation } from '../../../src/slack/views/backup-confirmation.js';
import { buildBackupList } from '../../../src/slack/views/backup-list.js';
import { buildBackupShow } from '../../../src/slack/views/backup-show.js';
import type { SlackMessage } from '../../../src/slack/views/block-kit.js';
import { buildClusterStatus } from '../../../src/slack/views/cluster-status.js';
import { buildEstimateView } from '../../../src/slack/views/estimate-view.js';
import { buildHandedBackReply } from '../../../src/slack/views/handed-back-reply.js';
import { buildHelp, usageError } from '../../../src/slack/views/help.js';
import { buildRetryReply } from '../../../src/slack/views/retry-reply.js';
import { buildRunHistory } from '../../../src/slack/views/run-history.js';
import { buildRunMessage } from '../../../src/slack/views/run-message.js';
import { buildRunSummary } from '../../../src/slack/views/run-summary.js';
import { buildStepReply } from '../../../src/slack/views/step-reply.js';
import { buildDrillCheckReply, buildDrillMessage, buildDrillSummary } from '../../../src/slack/views/drill-summary.js';
import { buildRestorePlanMessage } from '../../../src/slack/views/restore-plan.js';
import { inPlacePlan, sideBySidePlan } from './restore-view-fixtures.js';
import { actionIdsOf, allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import * as f from './view-fixtures.js';

/** Every builder with representative data (or, with `inject`, with every free-text field set to an injection attempt). */
function renderAll(inject: <T>(value: T) => T): Record<string, SlackMessage> {
  const statuses = [f.upStatus, f.pausedStatus, f.unreachableStatus].map(inject);
  return {
    help: buildHelp(),
    usageError: usageError(f.INJECTED_NOTE, '/pachbackup backup <cluster>'),
    confirmation: buildBackupConfirmation(inject(f.confirmation)),
    runRunning: buildRunMessage(inject(f.runningRun)),
    runFailed: buildRunMessage(inject(f.failedRun)),
    ...Object.fromEntries(inject(f.failedRun).steps.map((s, i) => [`stepReply${i}`, buildStepReply(s)])),
    summary: buildRunSummary(inject({ ...f.summary, error: 'x', warnings: ['w'] })),
    ...Object.fromEntries((['upcoming', 'paused', 'overrun', 'back', 'failed-back'] as const).map((s) => [`announcement-${s}`, buildAnnouncement(inject(f.announcement(s, { actualSeconds: 100 })))])),
    status: buildClusterStatus(statuses),
    list: buildBackupList(inject({ cluster: 'prod', clusterDisplayName: 'Production', backups: f.listItems, incomplete: ['x'], now: f.NOW })),
    show: buildBackupShow(inject(f.manifest), inject(f.verification)),
    history: buildRunHistory(inject({ cluster: 'prod', clusterDisplayName: 'Production', runs: f.historyItems })),
    estimate: buildEstimateView(inject({ cluster: 'prod', clusterDisplayName: 'Production', estimate: f.estimate })),
    home: { text: 'home', blocks: buildAppHome(statuses).blocks as SlackMessage['blocks'] },
    restorePlan: buildRestorePlanMessage(inject({ requestId: 'prod-20261124t100000z-restore-1a2b3c', plan: sideBySidePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' })),
    restorePlanPartlyApproved: buildRestorePlanMessage(
      inject({ requestId: 'r', plan: sideBySidePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z', requiredApprovals: 2, approvals: [{ user: 'U0APR1', at: '2026-11-24T10:05:00.000Z' }] }),
    ),
    restorePlanDecided: buildRestorePlanMessage(
      inject({ requestId: 'r', plan: inPlacePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z', decision: { state: 'void' as const, at: '2026-11-24T10:05:00.000Z', reason: ['objects changed'] } }),
    ),
    drillMessage: buildDrillMessage(inject({ id: 'd', cluster: 'prod', backupId: 'b', requestedBy: 'U0OPS1', state: 'failed' as const })),
    drillCheck: buildDrillCheckReply(inject({ name: 'rows of pachyderm', ok: false, detail: 'table x: 1 row, the backup says 2' })),
    busyRefusal: buildBusyRefusal(inject({ cluster: 'prod', kind: 'backup', runId: 'prod-20261124t092800z-1a2b', requestedBy: 'U0OPS1', since: '2026-11-24T09:28:00.000Z', now: f.NOW, fallbackZone: 'Europe/Berlin' })),
    overrunNote: { text: buildOverrunNote({ pausedSeconds: 400, revisedEndAt: '2026-11-24T09:40:00.000Z', fallbackZone: 'Europe/Berlin' }), blocks: [] },
    headsUpWithdrawn: buildHeadsUpWithdrawn(inject({ clusterDisplayName: 'Production', startsAt: '2026-11-24T09:40:00.000Z', fallbackZone: 'UTC', reason: 'removed' as const })),
    staleAlert: buildStaleBackupAlert(inject({ cluster: 'prod', displayName: 'Production', lastGoodBackup: { id: 'prod-20261120t030000z-1a2b', completedAt: '2026-11-20T03:05:00.000Z' }, thresholdSeconds: 26 * 3600, now: f.NOW })),
    staleResolved: buildStaleBackupResolved(inject({ cluster: 'prod', displayName: 'Production', backup: { id: 'prod-20261124t030000z-1a2b', completedAt: '2026-11-24T03:05:00.000Z' } })),
    handedBack: buildHandedBackReply(inject({ kind: 'backup' as const, reason: 'worker shutting down (SIGTERM)' })),
    retrying: buildRetryReply(inject({ stepTitle: 'Copy objects (cluster running)', message: 'retrying the object store for 6 s (9 retries so far): HTTP 503 SlowDown', recovered: false })),
    drillSummary: buildDrillSummary(inject({ id: 'd', cluster: 'prod', backupId: 'b', ok: false, error: 'e', checks: [{ name: 'n', ok: false, detail: 'd' }], durationMs: 1000 })),
  };
}

/** Fields that are not free text: enums, times and zones keep their values so the views still render. */
const STRUCTURAL = new Set(['state', 'phase', 'kind', 'basis', 'pauseStrategy', 'fallbackZone', 'format', 'status', 'now', 'since', 'step']);
const isTime = (key: string) => /At$/.test(key) || key === 'now' || key === 'since';

/** Every free-text field with `injected` appended. */
function injecting(injected: string) {
  const inject = <T>(value: T, key = ''): T => {
    if (typeof value === 'string') return (STRUCTURAL.has(key) || isTime(key) ? value : `${value} ${injected}`) as T;
    if (Array.isArray(value)) return value.map((v) => inject(v, key)) as T;
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inject(v, k)])) as T;
    }
    return value;
  };
  return inject;
}
const injectEverywhere = injecting(f.INJECTED_NOTE);
/** A display name or note a person could well type, with every character mrkdwn reads as markup. */
const FORMATTING = 'Prod <EU> & *Lab* _new_ ~old~ `x`';

describe('every view', () => {
  it('shows no raw ISO timestamp: times are date tokens (each reader\'s zone) or readable fallbacks', () => {
    for (const [name, message] of Object.entries(renderAll((v) => v))) {
      for (const text of allText(message)) expect(text, name).not.toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d/);
    }
  });

  it('is valid Block Kit: known block types, mrkdwn or plain_text text objects, within the limits', () => {
    for (const [name, message] of Object.entries(renderAll((v) => v))) {
      expect(blockKitProblems(message, name === 'home' ? 100 : 50), name).toEqual([]);
    }
  });

  it('uses only action ids from ACTION_IDS, and every action id has its button somewhere', () => {
    const used = Object.values(renderAll((v) => v)).flatMap((m) => actionIdsOf(m.blocks));
    const known = Object.values(ACTION_IDS) as string[];
    for (const id of used) expect(known).toContain(id);
    expect(new Set(used)).toEqual(new Set(known));
  });

  it('escapes every free-text field, so nothing from users or clusters can mention, link or fake a date', () => {
    for (const [name, message] of Object.entries(renderAll(injectEverywhere))) {
      expect(blockKitProblems(message, name === 'home' ? 100 : 50), name).toEqual([]);
      for (const text of mrkdwnTexts(message)) {
        expect(text, name).not.toContain('<!channel>');
        expect(text, name).not.toContain('<https://evil');
      }
    }
  });

  it('shows names and notes with markup characters as typed: no vanished <EU>, raw &, or bold, italics and code from them', () => {
    for (const [name, message] of Object.entries(renderAll(injecting(FORMATTING)))) {
      for (const text of mrkdwnTexts(message)) {
        expect(text, name).not.toContain('<EU>');
        expect(text, name).not.toMatch(/&(?!amp;|lt;|gt;)/);
        // Outside code spans (where markup is literal), none of the markup typed may survive as markup.
        const prose = text.replace(/`[^`\n]*`/g, '');
        for (const markup of ['*Lab*', '_new_', '~old~']) expect(prose, `${name}: ${markup}`).not.toContain(markup);
      }
    }
  });
});
