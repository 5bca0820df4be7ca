import type { Redis } from 'ioredis';

/**
 * Cancel requests cross processes over Redis pub/sub: the app publishes a run id, every worker hears it, and the
 * one running that run aborts it (the others ignore it), as BullMQ recommends for cancelling on other workers.
 */
export function cancelChannel(prefix: string): string {
  return `${prefix}:cancel`;
}

export async function requestCancel(redis: Redis, prefix: string, runId: string): Promise<number> {
  return redis.publish(cancelChannel(prefix), runId);
}

/** Subscribes on a dedicated connection (a subscribed connection can do nothing else). */
export async function onCancelRequest(redis: Redis, prefix: string, handler: (runId: string) => void): Promise<() => Promise<void>> {
  const subscriber = redis.duplicate();
  subscriber.on('error', () => undefined); // ioredis reconnects and subscribes again by itself
  await subscriber.subscribe(cancelChannel(prefix));
  subscriber.on('message', (_channel: string, runId: string) => handler(runId));
  return async () => {
    await subscriber.quit().catch(() => undefined);
  };
}
