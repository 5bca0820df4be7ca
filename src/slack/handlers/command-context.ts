import type { RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';

/** Who typed a command, where, and how to answer them. */
export interface CommandContext {
  userId: string;
  channelId: string;
  respond: RespondFn;
  client: WebClient;
}

/** A message only the requester sees. */
export async function replyPrivately(ctx: Pick<CommandContext, 'respond'>, message: { text: string; blocks?: unknown[] }): Promise<void> {
  await ctx.respond({ response_type: 'ephemeral', replace_original: false, text: message.text, ...(message.blocks ? { blocks: message.blocks as never } : {}) });
}
