import { describe, expect, it } from 'vitest';
import { COMMAND_HELP, buildHelp, usageError } from '../../../src/slack/views/help.js';
import { allText, blockKitProblems } from './block-kit-check.js';
import { expectGolden } from './golden.js';

describe('help', () => {
  it('renders as in the golden file', () => {
    expectGolden('help', buildHelp());
    expect(blockKitProblems(buildHelp())).toEqual([]);
  });

  it('lists every subcommand that exists with its usage, escaped, and nothing that does not exist yet', () => {
    const text = allText(buildHelp()).join('\n');
    for (const usage of [
      'help',
      'status [cluster]',
      'backup &lt;cluster&gt; [--note text]',
      'estimate &lt;cluster&gt;',
      'list &lt;cluster&gt; [page]',
      'show &lt;backup-id&gt;',
      'history &lt;cluster&gt;',
      'schedule &lt;cluster&gt; "&lt;cron&gt;" [time zone]',
      'restore [cluster]',
      'drill &lt;cluster&gt; [backup-id]',
      'cancel &lt;run-id&gt;',
    ]) {
      expect(text).toContain(`\`/pachbackup ${usage}\``);
    }
    expect(Object.keys(COMMAND_HELP)).toEqual(['help', 'status', 'backup', 'estimate', 'list', 'show', 'history', 'schedule', 'restore', 'drill', 'cancel']);
    expect(text).toContain('`schedule list` shows every schedule, `schedule remove &lt;schedule-id&gt;` removes one made in Slack');
  });

  it('turns a usage error into what was wrong and the right usage, escaped', () => {
    const message = usageError('unknown cluster "<!channel>"', COMMAND_HELP.backup.usage);
    expectGolden('usage-error', message);
    expect(blockKitProblems(message)).toEqual([]);
    const text = allText(message).join('\n');
    expect(text).toContain('❌ unknown cluster "&lt;!channel&gt;"\n*Usage:* `/pachbackup backup &lt;cluster&gt; [--note text]`');
    expect(text).not.toContain('<!channel>');
    expect(message.text).toBe('unknown cluster "&lt;!channel&gt;" — usage: /pachbackup backup &lt;cluster&gt; [--note text]');
  });
});
