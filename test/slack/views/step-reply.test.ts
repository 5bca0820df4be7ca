import { describe, expect, it } from 'vitest';
import { buildStepReply } from '../../../src/slack/views/step-reply.js';
import type { StepView } from '../../../src/slack/views/view-models.js';
import { blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, stepsUpTo } from './view-fixtures.js';

const steps = stepsUpTo(11);
const step = (name: string): StepView => steps.find((s) => s.name === name)!;

describe('step reply', () => {
  it('renders a finished, a failed and an undone step as in the golden files', () => {
    const replies = {
      done: buildStepReply(step('dump-databases')),
      failed: buildStepReply({ ...step('delta-copy'), state: 'failed', durationMs: 12_000, error: 'SlowDown: Please reduce your request rate' }),
      undone: buildStepReply({ ...step('pause'), state: 'undone' }),
      'undo-failed': buildStepReply({ ...step('pause'), state: 'undo-failed', error: 'pachd not ready after 300 s' }),
      skipped: buildStepReply({ ...step('preflight'), state: 'skipped' }),
    };
    for (const [name, reply] of Object.entries(replies)) {
      expectGolden(`step-reply-${name}`, reply);
      expect(blockKitProblems(reply), name).toEqual([]);
    }
  });

  it('says what a step did, how long it took and how much it moved', () => {
    expect(buildStepReply(step('dump-databases')).text).toBe(
      '✅ Dump the databases · ⏸ while paused — 1 min 58 s · 1.3 GiB, 2,104,331 rows\npachyderm 1.3 GiB (84 tables), dex 212.0 KiB (12 tables)',
    );
    expect(buildStepReply({ ...step('delta-copy'), state: 'failed', durationMs: 12_000, error: 'SlowDown' }).text).toBe(
      '❌ Copy new objects and write the inventory failed after 12.0 s · ⏸ while paused\nSlowDown',
    );
  });

  it('says what an undo gave back', () => {
    expect(buildStepReply({ ...step('pause'), state: 'undone' }).text).toBe('↩️ Undid: Pause Pachyderm — cluster resumed');
    expect(buildStepReply({ ...step('suspend-ingress'), state: 'undone' }).text).toBe('↩️ Undid: Suspend data ingestion — data ingestion resumed');
    expect(buildStepReply({ ...step('pause'), state: 'undo-failed', error: 'pachd not ready' }).text).toBe(
      '🚨 Could not undo: Pause Pachyderm — what it changed is still in place\npachd not ready',
    );
  });

  it('escapes summaries and errors', () => {
    for (const reply of [buildStepReply({ ...step('pause'), summary: INJECTED_NOTE }), buildStepReply({ ...step('pause'), state: 'failed', error: INJECTED_NOTE })]) {
      for (const t of mrkdwnTexts(reply)) expect(t).not.toContain('<!channel>');
    }
  });
});
