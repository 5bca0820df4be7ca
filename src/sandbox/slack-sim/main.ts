import { parseArgs } from 'node:util';
import { createLogger } from '../../log.js';
import { sandboxSeed } from './seed.js';
import { startSlackSimulator } from './server.js';

/**
 * The Slack simulator as a standalone process, for `pachbackup sandbox up`:
 *
 *   node main.js --signing-secret S [--port 0] [--host 127.0.0.1] [--app-events-url URL] [--bot-token xoxb-...]
 *                [--socket-mode [--app-token xapp-...]]
 *
 * The workspace is the sandbox's (`seed.ts`); `--bot-token` and `--app-token` replace its tokens. With
 * `--socket-mode` the app receives everything over Socket Mode, as a real install from `manifest.yml` does;
 * otherwise over HTTP at `--app-events-url`. The signing secret may come from SLACK_SIGNING_SECRET instead of the
 * command line (which `ps` shows).
 * Prints `slack-sim listening on URL` once listening; exits cleanly on SIGTERM or SIGINT.
 */
async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      'signing-secret': { type: 'string' },
      'app-events-url': { type: 'string' },
      'bot-token': { type: 'string' },
      'app-token': { type: 'string' },
      'socket-mode': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const log = createLogger({ name: 'slack-sim' });
  const signingSecret = values['signing-secret'] ?? env.SLACK_SIGNING_SECRET;
  const port = Number(values.port);
  if (!signingSecret) {
    log.fatal('no signing secret: pass --signing-secret SECRET or set SLACK_SIGNING_SECRET (the app must use the same one)');
    process.exitCode = 2;
    return;
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    log.fatal({ port: values.port }, '--port must be an integer from 0 to 65535');
    process.exitCode = 2;
    return;
  }
  const workspace = sandboxSeed();
  if (values['bot-token'] !== undefined) workspace.bot.token = values['bot-token'];
  if (values['app-token'] !== undefined) workspace.bot.app_token = values['app-token'];
  const sim = await startSlackSimulator({
    workspace,
    host: values.host,
    port,
    signingSecret,
    socketMode: values['socket-mode'],
    ...(values['app-events-url'] !== undefined && { appEventsUrl: values['app-events-url'] }),
  });
  log.info({ url: sim.url, apiUrl: sim.apiUrl, messagesUrl: sim.messagesUrl, eventsUrl: sim.eventsUrl }, 'slack simulator listening');
  // One plain line whatever the log level: whoever started the process waits for it.
  process.stdout.write(`slack-sim listening on ${sim.url}\n`);

  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => {
        log.info({ signal }, 'slack simulator stopped');
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'slack simulator did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main(process.argv.slice(2), process.env).catch((err: unknown) => {
  console.error(`slack-sim: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
