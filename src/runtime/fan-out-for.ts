import { Queue } from 'bullmq';
import type { Config } from '../config/config.js';
import { createFanOutStore } from '../fan-out/fan-out-store.js';
import { createInProcessFanOut, type FanOut } from '../fan-out/fan-out.js';
import { createQueuedFanOut } from '../fan-out/queued-fan-out.js';
import { rangesQueueName } from '../fan-out/range-queue.js';
import { createRangeRunner, type RangeRunner } from '../fan-out/run-range.js';
import type { Logger } from '../log.js';
import type { StateConnections } from './connect-state.js';
import { createS3ClientCache } from './s3-client-cache.js';

/**
 * The fan-out of a process (worker or CLI) and the range runner behind it: ranges go to the ranges queue when
 * some worker takes them, and run in this process otherwise (`rangesAtOnce` at a time). `close()` releases its
 * Redis connections and S3 clients.
 */
export function fanOutFor(config: Config, state: Pick<StateConnections, 'pool' | 'redis'>, log: Logger, options: { rangesAtOnce?: number } = {}): { fanOut: FanOut; runRange: RangeRunner; close(): Promise<void> } {
  const clients = createS3ClientCache();
  const threshold = Number(process.env.PACHBACKUP_MULTIPART_THRESHOLD);
  const runRange = createRangeRunner({ config, clientFor: clients.clientFor, ...(threshold > 0 ? { multipartThreshold: threshold } : {}) });
  const fallback = createInProcessFanOut({ runRange, ...(options.rangesAtOnce ? { rangesAtOnce: options.rangesAtOnce } : {}) });
  const queued = createQueuedFanOut({
    redis: state.redis,
    prefix: config.redis.prefix,
    fanOuts: createFanOutStore(state.pool),
    fallback,
    log: log.child({ component: 'fan-out' }),
    ...(options.rangesAtOnce ? { rangesPerWorker: options.rangesAtOnce } : {}),
  });
  return {
    fanOut: queued,
    runRange,
    async close() {
      await queued.close();
      clients.close();
    },
  };
}

/** Whether any worker process takes range jobs now (so a large copy asked for here would be split among them). */
export async function rangeWorkersRunning(config: Config, state: Pick<StateConnections, 'redis'>): Promise<boolean> {
  const connection = state.redis.duplicate();
  const queue = new Queue(rangesQueueName(config.redis.prefix), { connection });
  try {
    return (await queue.getWorkersCount()) > 0;
  } finally {
    await queue.close();
    connection.disconnect();
  }
}
