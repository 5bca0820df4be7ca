import { describe, expect, it } from 'vitest';
import { buildBackupShow } from '../../../src/slack/views/backup-show.js';
import { allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, manifest, verification } from './view-fixtures.js';

describe('backup show', () => {
  it('renders a verified backup and an unverified one as in the golden files', () => {
    expectGolden('backup-show-verified', buildBackupShow(manifest, verification));
    expectGolden('backup-show-unverified', buildBackupShow(manifest));
    expect(blockKitProblems(buildBackupShow(manifest, verification))).toEqual([]);
  });

  it('shows versions, downtime, objects, databases, replicas, step timings and verification checks', () => {
    const text = allText(buildBackupShow(manifest, verification)).join('\n');
    expect(text).toContain('Pachyderm 2.11.3\nrelease `pachyderm` revision 7, chart 2.11.3');
    expect(text).toContain('*Downtime*\n3 min 12 s');
    expect(text).toContain('12,071 objects (48.3 GiB)');
    expect(text).toContain('`pachyderm` 1.3 GiB · 2 tables, 2,104,331 rows');
    expect(text).toContain('pachd ×1, `pachd-proxy` ×1, `console` ×1\n3 worker RCs (6 pods)');
    expect(text).toContain('• `dump-databases` 1 min 58 s · 1.3 GiB, 2,104,331 rows');
    expect(text).toContain('✅ passed <!date^');
    expect(text).toContain('✅ dumps — 2 dumps match their sha256');
    expect(text).toContain('Requested by <@U024BE7LH>');
  });

  it('says plainly when verification failed', () => {
    const failed = { ...verification, ok: false, checks: [...verification.checks, { name: 'objects', ok: false, detail: '3 objects missing from the pool' }] };
    const message = buildBackupShow(manifest, failed);
    expect(allText(message).join('\n')).toContain('❌ failed <!date^');
    expect(message.text).toContain('verification FAILED');
  });

  it('escapes the note and names from the manifest', () => {
    const message = buildBackupShow({ ...manifest, note: INJECTED_NOTE, requestedBy: INJECTED_NOTE }, { ...verification, checks: [{ name: INJECTED_NOTE, ok: false, detail: INJECTED_NOTE }] });
    for (const t of mrkdwnTexts(message)) expect(t).not.toContain('<!channel>');
  });
});
