import { describe, expect, it } from 'vitest';
import { buildRestoreModal, parseRestoreSubmission } from '../../../src/slack/views/restore-modal.js';
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
  it('renders as in the golden files: waiting with Approve / Reject, approved, refused', () => {
    const waiting = buildRestorePlanMessage({ requestId: 'prod-20261124t100000z-restore-1a2b3c', plan: sideBySidePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' });
    const approved = buildRestorePlanMessage({
      requestId: 'prod-20261124t100000z-restore-1a2b3c',
      plan: sideBySidePlan,
      requestedBy: 'U0OPS1',
      expiresAt: '2026-11-24T11:00:00.000Z',
      decision: { state: 'approved', by: 'U0APR1', at: '2026-11-24T10:05:00.000Z' },
    });
    const refused = buildRestorePlanMessage({ requestId: 'prod-20261124t100000z-restore-4d5e6f', plan: inPlacePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' });
    expectGolden('restore-plan-waiting', waiting);
    expectGolden('restore-plan-approved', approved);
    expectGolden('restore-plan-refused', refused);
    for (const m of [waiting, approved, refused]) expect(blockKitProblems(m)).toEqual([]);
    expect(actionIdsOf(waiting.blocks)).toEqual(['restore_approve', 'restore_reject']);
    expect(actionIdsOf(approved.blocks)).toEqual([]);
    expect(actionIdsOf(refused.blocks)).toEqual([]);
    expect(allText(approved).join('\n')).toContain('✅ *Approved* by <@U0APR1>');
  });

  it('shows overwrites prominently, the pause, refusals and the helm command', () => {
    const text = allText(buildRestorePlanMessage({ requestId: 'r', plan: inPlacePlan, requestedBy: 'U0OPS1', expiresAt: '2026-11-24T11:00:00.000Z' })).join('\n');
    expect(text).toContain('🔥 *OVERWRITES');
    expect(text).toContain('database pachyderm (42 tables)');
    expect(text).toContain('*Paused:* yes');
    expect(text).toContain('❌ *Refused');
    expect(text).toContain('helm upgrade --install pachyderm');
  });
});
