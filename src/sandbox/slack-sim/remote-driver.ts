import type { SocketModeLogEntry } from './socket-mode.js';
import type { ApiCallRecord, SlackSnapshot } from './workspace.js';

/** What a driver action over HTTP answers: the app's HTTP status and body. */
export interface RemoteDriverAnswer {
  ok: boolean;
  status?: number;
  body?: string;
  /** Milliseconds the app took to answer the signed request (its acknowledgement). */
  ackMs?: number;
  error?: string;
}

/**
 * The Slack simulator's person-side driver from another process (the sandbox demo, a shell): the same actions
 * as `SlackDriver`, sent to the simulator's `/driver/*` endpoints, which sign them and deliver them to the app.
 */
export function createRemoteSlackDriver(simulatorUrl: string) {
  const base = simulatorUrl.replace(/\/$/, '');
  const post = async (action: string, input: unknown): Promise<RemoteDriverAnswer> => {
    const res = await fetch(`${base}/driver/${action}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
    return (await res.json()) as RemoteDriverAnswer;
  };
  return {
    slashCommand: (input: { text: string; userId: string; channelId: string; command?: string }) => post('slash-command', input),
    clickButton: (input: { userId: string; actionId: string; message?: { channel: string; ts: string }; channelId?: string; value?: string }) => post('click', input),
    submitView: (input: { userId: string; viewId: string; values?: Record<string, Record<string, unknown>> }) => post('submit-view', input),
    openHome: (userId: string) => post('open-home', { userId }),
    /** Sends Socket Mode's `disconnect` (default `refresh_requested`) to every connection of the app. */
    socketDisconnect: (reason: 'warning' | 'refresh_requested' | 'link_disabled' = 'refresh_requested') => post('socket-disconnect', { reason }),
    /** Socket Mode's open connections and wire log. */
    async socketMode(): Promise<{ connections: number; log: SocketModeLogEntry[] }> {
      return (await (await fetch(`${base}/socket-mode`)).json()) as { connections: number; log: SocketModeLogEntry[] };
    },
    async snapshot(): Promise<SlackSnapshot> {
      return (await (await fetch(`${base}/messages`)).json()) as SlackSnapshot;
    },
    /** Every Web API call the app made, oldest first. */
    async calls(): Promise<ApiCallRecord[]> {
      return ((await (await fetch(`${base}/calls`)).json()) as { calls: ApiCallRecord[] }).calls;
    },
    async transcript(): Promise<string> {
      return (await fetch(`${base}/transcript`)).text();
    },
  };
}

export type RemoteSlackDriver = ReturnType<typeof createRemoteSlackDriver>;
