import { describe, expect, it } from 'vitest';
import { backupOptions, backupOptionText, buildRestoreModal, LOADING_BACKUPS, NO_MATCH, parseRestoreSubmission, type RestoreBackupChoice } from '../../../src/slack/views/restore-modal.js';
import { buildRestorePlanMessage } from '../../../src/slack/views/restore-plan.js';
import { actionIdsOf, allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { backupChoices, inPlacePlan, sideBySidePlan } from './restore-view-fixtures.js';

const NOW = '2026-11-24T10:00:00.000Z';

describe('the restore modal', () => {
  it('renders as in the golden file: a searchable picker starting at the newest backup, with age, size, verify state and version', () => {
    const view = buildRestoreModal({ backups: backupChoices, clusters: ['prod', 'staging'], defaultCluster: 'prod', now: NOW, metadata: { channelId: 'C0OPS', sources: ['prod'] } });
    expectGolden('restore-modal', view);
    const text = JSON.stringify(view);
    expect(text).toContain('restored_20261124');
    expect(text).toContain('"type":"external_select"');
    expect(JSON.stringify(backupOptions(backupChoices, '', NOW))).toContain('VERIFY FAILED');
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

  it('offers any number of backups: the newest 100 under a label saying how many matched, and a search by id or date', () => {
    const many: RestoreBackupChoice[] = Array.from({ length: 250 }, (_, i) => {
      const at = new Date(Date.parse('2026-11-24T03:00:00Z') - i * 6 * 3600_000);
      const stamp = at.toISOString().replace(/[-:]/g, '').slice(0, 15).toLowerCase();
      return { id: `production-eu-west-1-primary-with-a-long-name-${stamp}z-${(1000 + i).toString(16)}`, completedAt: at.toISOString(), bytes: 1e9, verified: 'ok' };
    });
    const all = backupOptions(many, '', NOW);
    if (!('option_groups' in all)) throw new Error('expected a labelled group');
    expect(all.option_groups[0]!.label.text).toBe('Newest 100 of 250: type a date (20261124) to narrow');
    expect(all.option_groups[0]!.options).toHaveLength(100);
    // The oldest are found by searching: nothing is silently out of reach.
    const oldest = many.at(-1)!;
    const found = backupOptions(many, oldest.id.slice(-21, -8), NOW);
    expect('options' in found && found.options.map((o) => o.value)).toEqual([oldest.id]);
    const byDay = backupOptions(many, 'primary 20261123', NOW);
    expect('options' in byDay && byDay.options.map((o) => o.value)).toEqual(many.filter((b) => b.completedAt.startsWith('2026-11-23')).map((b) => b.id));
    const none = backupOptions(many, 'staging', NOW);
    expect('option_groups' in none && none.option_groups[0]!.options.map((o) => o.value)).toEqual([NO_MATCH]);
    expect(parseRestoreSubmission(values({ backup: { backup: { selected_option: { value: NO_MATCH } } } }), ['prod'])).toMatchObject({ ok: false, errors: { backup: 'pick a backup: clear the search to see them all' } });
  });

  it('keeps every option of a long-named cluster distinct and within 75 characters, the cut marked', () => {
    const ids = ['20261124t030000z-7f3a', '20261124t090000z-1b2c', '20261123t030000z-9d8e'].map((t) => `production-eu-west-1-primary-with-a-very-long-name-indeed-${t}`);
    const texts = ids.map(backupOptionText);
    for (const t of texts) expect(t.length).toBeLessThanOrEqual(75);
    expect(new Set(texts).size).toBe(3);
    expect(texts[0]).toMatch(/^production-eu-west-1-primary-with-….*-20261124t030000z-7f3a$/);
    expect(backupOptionText('prod-20261124t030000z-7f3a')).toBe('prod-20261124t030000z-7f3a');
  });

  it('says which clusters are loading in words that fit, never cut mid-word', () => {
    const clusters = Array.from({ length: 8 }, (_, i) => `cluster-with-a-long-name-${i}`);
    const loading = buildRestoreModal({ backups: [], clusters, loading: clusters, now: NOW, metadata: { channelId: 'C0OPS' } });
    const picker = (loading.blocks as { block_id?: string; element?: { options?: { text: { text: string } }[] } }[]).find((b) => b.block_id === 'backup')!;
    expect(picker.element!.options![0]!.text.text).toBe('⏳ Loading the backups of 8 clusters…');
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
    const approved = buildRestorePlanMessage({ ...request, decision: { state: 'approved', by: 'U0APR1', at: '2026-11-24T10:05:00.000Z', runId: 'prod-20261124t100500z-restore-9f8e7d' } });
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
    // The approval line stays true after the run: it names the run, it does not say "queued" forever.
    expect(allText(approved).join('\n')).toContain('started as run `prod-20261124t100500z-restore-9f8e7d`; its own message follows it');
    expect(allText(approved).join('\n')).not.toContain('queued');
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
