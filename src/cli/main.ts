/**
 * The `pachbackup` command: the composition root of the CLI. It parses arguments, reads configuration and
 * hands each command what it needs; errors end here, printed for a person (no stack trace) with an exit code:
 * 2 for bad input or config, 1 for an operation that failed.
 */
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { describeError, isPachbackupError } from '../errors.js';
import { registerBackupCommands } from './backup-commands.js';
import { registerConfigCommands } from './config-commands.js';
import { registerOnCallCommands } from './on-call-commands.js';
import { registerRestoreCommands } from './restore-commands.js';
import { registerRetentionCommands } from './retention-commands.js';
import { registerSandboxCommands } from './sandbox-commands.js';
import { registerServeCommands } from './serve-commands.js';
import { PACHBACKUP_VERSION } from '../version.js';

const program = new Command('pachbackup')
  .description('Back up and restore Pachyderm clusters: consistent snapshots, short announced outages, approved restores.')
  .version(PACHBACKUP_VERSION)
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerBackupCommands(program);
registerOnCallCommands(program);
registerServeCommands(program);
registerRetentionCommands(program);
registerRestoreCommands(program);
registerConfigCommands(program);
registerSandboxCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  process.exitCode = exitCodeFor(err);
  if (!(err instanceof CommanderError)) console.error(`pachbackup: ${describeError(err)}`);
}

function exitCodeFor(err: unknown): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
  if (err instanceof ConfigError) return 2;
  if (isPachbackupError(err) && (err.code === 'usage' || err.code === 'config-missing' || err.code === 'config-invalid')) return 2;
  return 1;
}
