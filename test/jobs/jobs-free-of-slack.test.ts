import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const jobsDir = join(root, 'src', 'jobs');
const slackDir = join(root, 'src', 'slack');

/** Every module `file` imports or re-exports (static, type-only and dynamic `import()`), resolved to a path when relative. */
function importsOf(file: string, source: string): string[] {
  const { importedFiles } = ts.preProcessFile(source, true, true);
  return importedFiles.map((i) => (i.fileName.startsWith('.') ? resolve(dirname(file), i.fileName) : i.fileName));
}

/** The imports of `file` that land in src/slack. */
function slackImports(file: string, source: string): string[] {
  return importsOf(file, source).filter((target) => target === slackDir || target.startsWith(slackDir + sep));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the queue layer knows nothing of Slack', () => {
  it('no file under src/jobs imports from src/slack (the Slack reporting subscribes where the worker is composed)', () => {
    const files = sourceFiles(jobsDir);
    expect(files.length).toBeGreaterThan(5);
    const offending = files.flatMap((file) => slackImports(file, readFileSync(file, 'utf8')).map((target) => `${relative(root, file)} → ${relative(root, target)}`));
    expect(offending).toEqual([]);
  });

  it('the import reader sees every way a module can be pulled in', () => {
    const file = join(jobsDir, 'example.ts');
    const source = [
      "import { a } from '../slack/run-reporter.js';",
      "import type { B } from '../slack/views/view-models.js';",
      "export { c } from '../slack/run-outcomes.js';",
      "const d = await import('../slack/views/mrkdwn.js');",
      "import { e } from './operations-queue.js';",
      "import { WebClient } from '@slack/web-api';",
    ].join('\n');
    expect(slackImports(file, source).map((t) => relative(root, t))).toEqual([
      'src/slack/run-reporter.js',
      'src/slack/views/view-models.js',
      'src/slack/run-outcomes.js',
      'src/slack/views/mrkdwn.js',
    ]);
  });
});
