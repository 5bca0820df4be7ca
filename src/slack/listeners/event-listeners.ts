import type { SlackAppDeps } from '../app-deps.js';
import { gatherStatus } from '../handlers/read-commands.js';
import { EVENTS } from '../slack-ids.js';
import { buildAppHome } from '../views/app-home.js';
import { afterAcks } from './ack-first.js';
import type { ListenerRegistry } from './register-listeners.js';

/** App Home: each cluster's state, last good backup and running operation, rendered when the tab is opened. */
export function registerEventListeners(app: ListenerRegistry, deps: SlackAppDeps): void {
  app.event(EVENTS.appHomeOpened, async ({ event, client }) => {
    if (event.tab !== 'home') return;
    await afterAcks();
    const statuses = await gatherStatus(deps);
    await client.views.publish({ user_id: event.user, view: buildAppHome(statuses) as never });
  });
}
