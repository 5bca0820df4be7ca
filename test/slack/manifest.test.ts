import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { SlackAppDeps } from '../../src/slack/app-deps.js';
import { registerListeners, type ListenerRegistry } from '../../src/slack/listeners/register-listeners.js';
import { ACTION_IDS, EVENTS, SLASH_COMMAND, VIEW_IDS } from '../../src/slack/slack-ids.js';

const manifest = parse(readFileSync('manifest.yml', 'utf8')) as {
  features: { slash_commands: { command: string; url: string }[]; app_home: { home_tab_enabled: boolean } };
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] }; interactivity: { is_enabled: boolean; request_url: string; message_menu_options_url?: string }; socket_mode_enabled: boolean };
};

/** What the app registers, recorded through Bolt's registration methods. */
function registered() {
  const seen = { commands: [] as string[], actions: [] as string[], events: [] as string[], views: [] as string[], options: [] as unknown[] };
  const registry = {
    command: (id: string) => void seen.commands.push(id),
    action: (id: string) => void seen.actions.push(id),
    event: (id: string) => void seen.events.push(id),
    view: (id: string) => void seen.views.push(id),
    options: (constraints: unknown) => void seen.options.push(constraints),
  } as unknown as ListenerRegistry;
  registerListeners(registry, {} as SlackAppDeps);
  return seen;
}

/** The scope each Web API method the code calls needs (https://api.slack.com/methods). */
const SCOPE_OF: Record<string, string | null> = {
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.getPermalink': null,
  'views.open': null,
  'views.update': null,
  'views.push': null,
  'views.publish': null,
  'usergroups.users.list': 'usergroups:read',
  'users.info': 'users:read',
  'files.uploadV2': 'files:write',
  'conversations.history': 'channels:history',
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? (name === 'sandbox' ? [] : sourceFiles(path)) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('manifest.yml', () => {
  it('declares exactly the slash commands, events and interactivity the app registers', () => {
    const seen = registered();
    expect(manifest.features.slash_commands.map((c) => c.command)).toEqual([SLASH_COMMAND]);
    expect(seen.commands).toEqual([SLASH_COMMAND]);
    expect([...seen.events].sort()).toEqual([...manifest.settings.event_subscriptions.bot_events].sort());
    expect([...seen.events].sort()).toEqual(Object.values(EVENTS).sort());
    expect([...seen.actions].sort()).toEqual(Object.values(ACTION_IDS).sort());
    expect([...seen.views].sort()).toEqual(Object.values(VIEW_IDS).sort());
    expect(manifest.settings.interactivity.is_enabled).toBe(seen.actions.length + seen.views.length > 0);
    // A select whose options the app loads (external_select) needs Slack to know where to ask for them.
    expect(seen.options).toEqual([{ action_id: 'backup' }]);
    expect(manifest.settings.interactivity.message_menu_options_url).toBe(manifest.settings.interactivity.request_url);
    expect(manifest.features.app_home.home_tab_enabled).toBe(seen.events.includes('app_home_opened'));
    expect(manifest.settings.socket_mode_enabled).toBe(true);
  });

  it('asks for exactly the bot scopes of the Web API methods the code calls', () => {
    const methods = new Set<string>();
    for (const file of sourceFiles('src')) {
      for (const m of readFileSync(file, 'utf8').matchAll(/client\.(chat|views|usergroups|users|files|conversations)\.(\w+)(?:\.(\w+))?\(/g)) {
        methods.add([m[1], m[2], m[3]].filter(Boolean).join('.'));
      }
    }
    expect(methods.size).toBeGreaterThan(3);
    const unknown = [...methods].filter((m) => !(m in SCOPE_OF));
    expect(unknown).toEqual([]);
    const needed = new Set(['commands', ...[...methods].map((m) => SCOPE_OF[m]).filter((s): s is string => s !== null)]);
    expect([...manifest.oauth_config.scopes.bot].sort()).toEqual([...needed].sort());
  });
});
