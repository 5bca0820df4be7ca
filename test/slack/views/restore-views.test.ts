import { describe, expect, it } from 'vitest';
import { buildRestoreModal, LOADING_BACKUPS, parseRestoreSubmission } from '../../../src/slack/views/restore-modal.js';
import { buildRestorePlanMessage } from '../../../src/slack/views/restore-plan.js';
import { actionIdsOf, allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { backupChoices, inPlacePlan, sideBySidePlan } from './restore-view-fixtures.js';

const NOW = '2026-11-24T10:00:00.000Z';

describe('the restore modal', () => {
  it('renders as in the golden file: backups newest first with age, size, version and verify state', () => {
    const view = buildRestoreModal({ backups: backupChoices, clusters: ['prod', 'staging'], defaultCluster: 'prod', now: NOW, metadata: { channelId: 'C0OPS' } });
    expectGolden('restore-modal', view);
    const text = JSON.stringify(view);
    expect(text).toContain('restored_20261124');
    expect(text).toContain('VERIFY FAILED');
    expect(text).toContain('the backup store stops being a backup');
    expect(view.callback_id).toBe('restore_request');
  });

  it('opens at once with the backups loading, keeping every input id, and refuses a submission before they are listed', () => {
    const loading = buildRestoreModal({ backups: [], clusters: ['prod', 'staging'], defaultCluster: 'prod', loading: ['prod'], now: NOW, metadata: { channelId: 'C0OPS' } });
    const full = buildRestoreModal({ backups: backupChoices, clusters: ['prod', 'staging'], defaultCluster: 'prod', now: NOW, metadata: { channelId: 'C0OPS' } });
    expectGolden('restore-modal-loading', loading);
    expect(JSON.stringify(loading)).toContain('Loading the backups of `prod`');
    // Slack keeps what was typed across views.update only for inputs with the same block and action ids.
    const inputIds = (v: typeof full) => (v.blocks as { type: string; block_id?: string }[]).filter((b) => b.type === 'input').map((b) => b.block_id);
    expect(inputIds(loading)).toEqual(inputIds(full));
    expect(loading.private_metadata).toBe(full.private_metadata);
    const early = parseRestoreSubmission(values({ backup: { backup: { selected_option: { value: LOADING_BACKUPS } } } }), ['prod']);
    expect(early).toEqual({ ok: false, errors: { backup: 'the backups are still being listed: pick one once they are shown' } });
  });

  it('names a cluster whose backups could not be listed, with the error', () => {
    const view = buildRestoreModal({ backups: backupChoices, clusters: ['prod', 'staging'], unlisted: [{ cluster: 'staging', error: 'AccessDenied: <not allowed>' }], now: NOW, metadata: { channelId: 'C0OPS' } });
    const text = JSON.stringify(view);
    expect(text).toContain('Could not list the backups of `staging`');
    expect(text).toContain('AccessDenied: &lt;not allowed&gt;');
    expect(text).toContain(backupChoices[0]!.id);
  });

  const values = (over: Record<string, unknown> = {}) => ({
    backup: { backup: { selected_option: { value: 'prod-20261124t030000z-7f3a' } } },
    target: { target: { selected_option: { value: 'prod' } } },
    databases: { databases: { selected_option: { value: 'new' } } },
    suffix: { suffix: { value: 'restored_20261124' } },
    objects: { objects: { selected_option: { value: 'bucket' } } },
    bucket: { bucket: { value: 'pachyderm-restored' } },
    overwrite: { overwrite: { selected_options: [] } },
    confirm: { confirm: { value: 'prod' } },
    ...over,
  });

  it('turns a submission into a restore request', () => {
    expect(parseRestoreSubmission(values(), ['prod'])).toEqual({
      ok: true,
      cluster: 'prod',
      request: { backupId: 'prod-20261124t030000z-7f3a', databases: { kind: 'new', suffix: 'restored_20261124' }, objects: { kind: 'bucket', bucket: 'pachyderm-restored' }, overwrite: false },
    });
    const inPlace = parseRestoreSubmission(
      values({ databases: { databases: { selected_option: { value: 'original' } } }, objects: { objects: { selected_option: { value: 'cluster-bucket' } } }, overwrite: { overwrite: { selected_options: [{ value: 'overwrite' }] } } }),
      ['prod'],
    );
    expect(inPlace).toMatchObject({ ok: true, request: { databases: { kind: 'original' }, objects: { kind: 'cluster-bucket' }, overwrite: true } });
  });

  it('answers field errors: a name that does not match, a bad bucket or suffix', () => {
    expect(parseRestoreSubmission(values({ confirm: { confirm: { value: 'staging' } } }), ['prod'])).toEqual({ ok: false, errors: { confirm: 'type prod exactly to confirm' } });
    const bad = parseRestoreSubmission(values({ bucket: { bucket: { value: 'No_Such' } }, suffix: { suffix: { value: 'x; drop' } } }), ['prod']);
    expect(bad.ok).toBe(false);
    expect(Object.keys(!bad.ok ? bad.errors : {}).sort()).toEqual(['bucket', 'suffix']);
  });
});

describe('the restore plan message', () => {
  const request = { requestId: 'prod-20261124t100000z-restore-1a2b3c', plan: sideBySidePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' };

  it('renders as in the golden files: waiting with Approve / Reject, partly approved, approved, refused', () => {
    const waiting = buildRestorePlanMessage(request);
    const partly = buildRestorePlanMessage({ ...request, requiredApprovals: 2, approvals: [{ user: 'U0APR1', at: '2026-11-24T10:05:00.000Z' }] });
    const approved = buildRestorePlanMessage({ ...request, decision: { state: 'approved', by: 'U0APR1', at: '2026-11-24T10:05:00.000Z' } });
    const refused = buildRestorePlanMessage({ requestId: 'prod-20261124t100000z-restore-4d5e6f', plan: inPlacePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' });
    expectGolden('restore-plan-waiting', waiting);
    expectGolden('restore-plan-partly-approved', partly);
    expectGolden('restore-plan-approved', approved);
    expectGolden('restore-plan-refused', refused);
    for (const m of [waiting, partly, approved, refused]) expect(blockKitProblems(m)).toEqual([]);
    expect(actionIdsOf(waiting.blocks)).toEqual(['restore_approve', 'restore_reject']);
    expect(actionIdsOf(partly.blocks)).toEqual(['restore_approve', 'restore_reject']);
    expect(actionIdsOf(approved.blocks)).toEqual([]);
    expect(actionIdsOf(refused.blocks)).toEqual([]);
    expect(allText(approved).join('\n')).toContain('✅ *Approved* by <@U0APR1>');
  });

  it('shows times as Slack date tokens and how many approvals are needed, given and missing', () => {
    const waiting = allText(buildRestorePlanMessage({ ...request, fallbackZone: 'Europe/Berlin' })).join('\n');
    // 11:00 UTC is 12:00 in Berlin; each reader sees their own zone, the fallback is in the configured one.
    expect(waiting).toContain('expires <!date^1795518000^{date_short_pretty} at {time}|Tue 24 Nov 12:00 GMT+1>');
    expect(waiting).not.toContain('2026-11-24T11:00:00.000Z');
    expect(waiting).toContain('needs 1 approval from an approver other than the requester');

    const partly = buildRestorePlanMessage({ ...request, requiredApprovals: 3, approvals: [{ user: 'U0APR1', at: '2026-11-24T10:05:00.000Z' }] });
    const text = allText(partly).join('\n');
    expect(text).toContain('needs 3 approvals from approvers other than the requester');
    expect(text).toMatch(/Approved by\* <@U0APR1> \(<!date\^1795514700\^[^>]+>\) · \*2 more approvals needed\*/);
    expect(partly.text).toContain('waiting for 2 more approvals');

    const approved = allText(
      buildRestorePlanMessage({
        ...request,
        requiredApprovals: 2,
        approvals: [
          { user: 'U0APR1', at: '2026-11-24T10:05:00.000Z' },
          { user: 'U0APR2', at: '2026-11-24T10:07:00.000Z' },
        ],
        decision: { state: 'approved', at: '2026-11-24T10:07:00.000Z' },
      }),
    ).join('\n');
    expect(approved).toMatch(/✅ \*Approved\* by <@U0APR1>, <@U0APR2> at <!date\^1795514820\^/);
  });

  it('shows overwrites prominently, the pause, refusals and the helm command', () => {
    const text = allText(buildRestorePlanMessage({ requestId: 'r', plan: inPlacePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' })).join('\n');
    expect(text).toContain('🔥 *OVERWRITES');
    expect(text).toContain('database pachyderm (42 tables)');
    expect(text).toContain('*Paused:* yes');
    expect(text).toContain('❌ *Refused');
    const approvable = allText(buildRestorePlanMessage({ requestId: 'r', plan: sideBySidePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' })).join('\n');
    expect(approvable).toContain('helm upgrade --install pachyderm');
  });

  it('shows a refused plan as posted: its refusals once, no helm command, no expiry or approvals to wait for', () => {
    const refused = buildRestorePlanMessage({
      requestId: 'prod-20261124t100000z-restore-4d5e6f',
      plan: inPlacePlan,
      requestedBy: 'U0OPS1',
      expiresAt: '2026-11-24T10:00:00.000Z',
      decision: { state: 'refused', at: '2026-11-24T10:00:00.000Z', reason: inPlacePlan.refusals },
    });
    expectGolden('restore-plan-refused-posted', refused);
    expect(blockKitProblems(refused)).toEqual([]);
    const text = allText(refused).join('\n');
    for (const refusal of inPlacePlan.refusals) expect(text.split(refusal).length - 1, refusal).toBe(1);
    expect(text).not.toMatch(/helm upgrade|expires|needs 1 approval/);
    expect(text).toContain('❌ *Refused* at <!date^');
    expect(actionIdsOf(refused.blocks)).toEqual([]);
  });
});
