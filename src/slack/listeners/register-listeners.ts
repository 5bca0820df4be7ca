import type { App } from '@slack/bolt';
import type { SlackAppDeps } from '../app-deps.js';
import { registerActionListeners } from './action-listeners.js';
import { registerCommandListener } from './command-listener.js';
import { registerEventListeners } from './event-listeners.js';

/** The part of Bolt's App the listeners register on (a test can record what is registered). */
export type ListenerRegistry = Pick<App, 'command' | 'action' | 'event' | 'view' | 'options'>;

/** Registers every listener of the app: the slash command, the buttons, and App Home. */
export function registerListeners(app: ListenerRegistry, deps: SlackAppDeps): void {
  registerCommandListener(app, deps);
  registerActionListeners(app, deps);
  registerEventListeners(app, deps);
}
