/**
 * The floor of the acknowledgement benchmark: a Bolt app over HTTP whose `/pachbackup` listener only
 * acknowledges — what Bolt, Node's HTTP server and this machine cost per request, with none of pachbackup's work.
 *
 *   PORT=… SLACK_SIGNING_SECRET=… SLACK_API_URL=… node --import tsx bench/ack-floor-app.ts
 */
import { App, LogLevel } from '@slack/bolt';

const app = new App({
  token: 'xoxb-ack-floor',
  signingSecret: process.env.SLACK_SIGNING_SECRET!,
  clientOptions: { slackApiUrl: process.env.SLACK_API_URL! },
  tokenVerificationEnabled: false,
  botId: 'B0FLOOR',
  botUserId: 'U0FLOOR',
  logLevel: LogLevel.ERROR,
});
app.command('/pachbackup', async ({ ack }) => {
  await ack();
});
await app.start({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write(`ack-floor listening on ${process.env.PORT}\n`);
process.once('SIGTERM', () => void app.stop().then(() => process.exit(0)));
