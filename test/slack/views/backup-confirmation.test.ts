import { describe, expect, it } from 'vitest';
import { ACTION_IDS } from '../../../src/slack/slack-ids.js';
import { buildBackupConfirmation } from '../../../src/slack/views/backup-confirmation.js';
import { actionIdsOf, allText, blockKitProblems, mrkdwnTexts } from './block-kit-check.js';
import { expectGolden } from './golden.js';
import { INJECTED_NOTE, confirmation, throughputEstimate } from './view-fixtures.js';

describe('backup confirmation', () => {
  it('renders as in the golden file', () => {
    const message = buildBackupConfirmation(confirmation);
    expectGolden('backup-confirmation', message);
    expect(blockKitProblems(message)).toEqual([]);
  });

  it('puts the Kubernetes context and namespace up front, as the runbook asks', () => {
    const message = buildBackupConfirmation(confirmation);
    const firstSection = message.blocks.find((b) => b.type === 'section');
    expect(JSON.stringify(firstSection)).toContain('*Kubernetes context*\\n:dart: `prod-eks-eu-west-1`');
    expect(JSON.stringify(firstSection)).toContain('*Namespace*\\n:dart: `pachyderm`');
    expect(message.text).toContain('context prod-eks-eu-west-1, namespace pachyderm');
  });

  it('lists what will be paused with replica counts, the databases, where objects go and the estimate with its basis', () => {
    const text = allText(buildBackupConfirmation(confirmation)).join('\n');
    expect(text).toContain('`pachd` ×1, `pachd-proxy` ×1, `console` ×1');
    expect(text).toContain('3 RCs, 6 pods — `pipeline-images-edges-v3` ×2');
    expect(text).toContain('*Data ingestion suspended:* `CronJob s3-import`, `Deployment upload-gateway`');
    expect(text).toContain('*Databases dumped:* `pachyderm`, `dex`');
    expect(text).toContain('`acme-pachyderm-prod` → `acme-pachyderm-backups/prod`');
    expect(text).toContain('*Estimated downtime: about 4 min (3–5 min)*\nfrom 12 past runs');
    expect(text).toContain('*Note:* before the 2.12 upgrade');
    expect(text).toContain('expires <!date^1795489800^{date_short_pretty} at {time}|Tue 24 Nov 03:10 UTC>');
    expect(allText(buildBackupConfirmation({ ...confirmation, estimate: throughputEstimate })).join('\n')).toContain('no history yet: from measured throughput');
  });

  it('has Confirm (primary, with a confirm dialog) and Cancel, both carrying the confirmation id', () => {
    const message = buildBackupConfirmation(confirmation);
    expect(actionIdsOf(message.blocks)).toEqual([ACTION_IDS.confirmBackup, ACTION_IDS.dismissBackup]);
    const [confirm, cancel] = message.blocks.flatMap((b) => (b.type === 'actions' ? b.elements : []));
    expect(confirm).toMatchObject({ value: 'c0nf1rm-7f3a', style: 'primary', confirm: { title: { text: 'Pause Production?' } } });
    expect(cancel).toMatchObject({ value: 'c0nf1rm-7f3a' });
  });

  it('escapes the note and names, and keeps hundreds of pipelines readable', () => {
    const workers = Array.from({ length: 400 }, (_, i) => ({ name: `pipeline-${'p'.repeat(40)}-${i}`, replicas: 2 }));
    const message = buildBackupConfirmation({ ...confirmation, note: INJECTED_NOTE, workers, namespace: '<!here>' });
    expect(blockKitProblems(message)).toEqual([]);
    for (const t of mrkdwnTexts(message)) {
      expect(t).not.toContain('<!channel>');
      expect(t).not.toContain('<!here>');
    }
    expect(allText(message).join('\n')).toMatch(/400 RCs, 800 pods — .* and \d+ more/);
  });
});
