import { describe, expect, it } from 'vitest';
import { ACTIVE_PHASES, FINAL_PHASES } from '../../../src/runner/run-phase.js';
import { ACTION_IDS } from '../../../src/slack/slack-ids.js';
import { buildRunMessage } from '../../../src/slack/views/run-message.js';
import type { RunView, StepView } from '../../../src/slack/views/view-models.js';
import { actionIdsOf, allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, backupSteps, failedRun, runningRun, succeededRun } from './view-fixtures.js';

describe('run message', () => {
  it('renders a paused run, a finished one and a failed one as in the golden files', () => {
    expectGolden('run-message-running', buildRunMessage(runningRun));
    expectGolden('run-message-succeeded', buildRunMessage(succeededRun));
    expectGolden('run-message-failed', buildRunMessage(failedRun));
    expectGolden('run-message-queued', buildRunMessage({ ...runningRun, phase: 'queued', steps: backupSteps(), pausedAt: undefined, downtimeSeconds: undefined }));
    for (const run of [runningRun, succeededRun, failedRun]) expect(blockKitProblems(buildRunMessage(run))).toEqual([]);
  });

  it('renders a restore with who approved it, its paused steps and its Cancel', () => {
    const steps: StepView[] = [
      { name: 'check-plan', title: 'Check the approved plan', state: 'done', downtime: false, durationMs: 210, summary: 'plan f3ba8bf599fa… unchanged; restoring in place' },
      { name: 'restore-databases', title: 'Restore the databases', state: 'done', downtime: false, durationMs: 41_000 },
      { name: 'pause', title: 'Pause Pachyderm', state: 'done', downtime: true, durationMs: 9_000 },
      { name: 'swap-databases', title: 'Put the restored databases in place', state: 'running', downtime: true },
      { name: 'resume', title: 'Resume Pachyderm', state: 'pending', downtime: true },
    ];
    const restore: RunView = { ...runningRun, id: 'prod-20261124t031500z-restore-7f3a', kind: 'restore', approvedBy: ['<@U0APR1>', '<@U0APR2>'], note: 'restores backup prod-20261123-030000 in place', steps };
    const message = buildRunMessage(restore);
    expectGolden('run-message-restore', message);
    expect(blockKitProblems(message)).toEqual([]);
    const text = allText(message).join('\n');
    expect(text).toContain('Restore · Production');
    expect(text).toContain('Requested by <@U024BE7LH> · approved by <@U0APR1>, <@U0APR2>');
    expect(text).toContain('*Pachyderm is paused*');
    expect(actionIdsOf(message.blocks)).toEqual([ACTION_IDS.cancelRun]);
  });

  it('offers Cancel (value: the run id) while the run is active, and not once it has finished', () => {
    for (const phase of ACTIVE_PHASES) {
      const ids = actionIdsOf(buildRunMessage({ ...runningRun, phase }).blocks);
      expect(ids, phase).toEqual([ACTION_IDS.cancelRun]);
    }
    const button = buildRunMessage(runningRun).blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []))[0];
    expect(button).toMatchObject({ action_id: ACTION_IDS.cancelRun, value: runningRun.id, style: 'danger' });
    for (const phase of FINAL_PHASES) expect(actionIdsOf(buildRunMessage({ ...succeededRun, phase }).blocks), phase).toEqual([]);
  });

  it('shows each step with its state icon, duration, sizes and summary, and marks the downtime steps', () => {
    const text = allText(buildRunMessage(runningRun)).join('\n');
    expect(text).toContain('✅ Copy objects (cluster running) · 1 min 4 s · 12,034 objects, 4.2 GiB');
    expect(text).toContain('copied 12,034 objects (4.2 GiB) at 67 MiB/s');
    expect(text).toContain('🔄 *Dump the databases* · ⏸ while paused · _running…_');
    expect(text).toContain('⏳ Resume data ingestion');
    expect(text).toMatch(/⏳ Resume Pachyderm · ⏸ while paused/);
    expect(text).not.toMatch(/⏳ Resume data ingestion · ⏸/);
  });

  it('shows how far a running copy is, summed over every worker copying it', () => {
    const steps = runningRun.steps.map((s): StepView => (s.state === 'running' ? { ...s, progress: { objectsDone: 1200, objectsTotal: 20_000, bytesDone: 5 * 1024 ** 3, message: '1150 copied, 50 already stored; 3 of 20 key ranges done by the workers' } } : s));
    const message = buildRunMessage({ ...runningRun, steps });
    expect(allText(message).join('\n')).toContain('🔄 *Dump the databases* · ⏸ while paused · _running_ · 1,200 of 20,000 objects, 5.0 GiB — 1150 copied, 50 already stored; 3 of 20 key ranges done by the workers');
    expect(blockKitProblems(message)).toEqual([]);
  });

  it('while paused, shows the pause so far against the estimate and when it should end', () => {
    const text = allText(buildRunMessage(runningRun)).join('\n');
    expect(text).toContain('⏸️ *Pachyderm is paused* since <!date^1795489267^{time}|03:01 UTC> — 1 min 2 s so far');
    expect(text).toContain('estimated about 4 min (3–5 min), back around <!date^1795489507^{time}|03:05 UTC>');
    expect(text).not.toContain('longer than estimated');
    expect(allText(buildRunMessage({ ...runningRun, downtimeSeconds: 301 })).join('\n')).toContain('longer than estimated');
  });

  it('after the run, shows the downtime against the estimate, the error, the undone steps and the warnings', () => {
    const ok = allText(buildRunMessage(succeededRun)).join('\n');
    expect(ok).toContain('Downtime *3 min 12 s* · estimated 4 min (3–5 min) · ✅ within the estimated range');
    expect(ok).not.toContain('is paused');
    const failed = allText(buildRunMessage(failedRun)).join('\n');
    expect(failed).toContain('❌ *Error:* delta-copy: copy of chunk/9f/9f3a… failed: SlowDown');
    expect(failed).toContain('↩️ Pause Pachyderm · ⏸ while paused · undone · 4.1 s\n\u2003\u2003cluster resumed');
    expect(failed).toContain('Downtime *2 min 21 s* in all; Pachyderm is running again');
    expect(failed).toContain('◽ Write the manifest · not run');
    expect(failed).not.toContain('⏳');
    expect(failed).toContain('• the announcement channel #data-users could not be edited: not_in_channel');
    expect(buildRunMessage(failedRun).text).toContain('❌ Backup of Production (prod-20261124-030000): failed');
  });

  it('warns loudly when an undo failed, since the cluster may still be paused', () => {
    const run: RunView = {
      ...failedRun,
      steps: failedRun.steps.map((s) => (s.name === 'pause' ? { ...s, state: 'undo-failed', error: 'undo of "Pause Pachyderm" failed: pachd not ready after 300 s' } : s)),
    };
    const text = allText(buildRunMessage(run)).join('\n');
    expect(text).toContain('🚨 *Could not undo Pause Pachyderm*');
    expect(text).toContain('🚨 Pause Pachyderm · ⏸ while paused · *undo failed*');
  });

  it('escapes a note, an error and step text that try to ping the channel or link', () => {
    const run: RunView = {
      ...failedRun,
      note: INJECTED_NOTE,
      error: INJECTED_NOTE,
      warnings: [INJECTED_NOTE],
      clusterDisplayName: `Prod ${INJECTED_NOTE}`,
      steps: failedRun.steps.map((s) => ({ ...s, summary: INJECTED_NOTE })),
    };
    const texts = mrkdwnTexts(buildRunMessage(run));
    for (const t of texts) {
      expect(t).not.toContain('<!channel>');
      expect(t).not.toContain('<https://evil');
    }
    expect(texts.join('\n')).toContain('*Note:* &lt;!channel&gt; &lt;https://evil|click&gt;');
  });

  it('stays within 50 blocks and 3000 characters per text for 30 steps with very long errors', () => {
    const long = `connection reset ${'x'.repeat(10_000)} <@U1>`;
    const steps: StepView[] = Array.from({ length: 30 }, (_, i) => ({
      name: `step-${i}`,
      title: `A long step title number ${i} ${'t'.repeat(200)}`,
      state: i % 3 === 0 ? 'failed' : 'done',
      downtime: i % 2 === 0,
      durationMs: 1000 * i,
      sizes: { bytes: 1e9 * i, objects: 1000 * i, rows: 10 * i },
      summary: `summary ${'s'.repeat(5000)}`,
      ...(i % 3 === 0 ? { error: long } : {}),
    }));
    const run: RunView = { ...failedRun, steps, error: long, note: 'n'.repeat(5000), warnings: Array.from({ length: 40 }, () => long) };
    for (const view of [run, { ...run, phase: 'running' as const }]) {
      const message = buildRunMessage(view);
      expect(blockKitProblems(message)).toEqual([]);
      expect(message.blocks.length).toBeLessThanOrEqual(50);
      const text = allText(message).join('\n');
      // Every step is still listed, or said to be left out.
      expect(text).toContain('A long step title number 29');
    }
    const hundred = buildRunMessage({ ...run, steps: Array.from({ length: 400 }, (_, i) => ({ ...steps[i % 30]!, title: `Step ${i}` })) });
    expect(blockKitProblems(hundred)).toEqual([]);
    expect(allText(hundred).join('\n')).toMatch(/…and \d+ more steps/);
  });
});
