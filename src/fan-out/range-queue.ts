/**
 * The queue of range jobs, apart from the operations queue: an operation waiting for its ranges holds a slot of
 * the operations queue, so ranges taking those slots too could starve each other; here they never wait behind
 * operations, nor operations behind them.
 */
export function rangesQueueName(prefix: string): string {
  return `${prefix}-ranges`;
}

/** The job name of one range; its data is RangeJobData. */
export const RANGE_JOB = 'range';
/** The job name of a fan-out's parent in the flow, which BullMQ runs once every range has succeeded. */
export const JOIN_JOB = 'join';

/**
 * A range job carries ids only: which fan-out (its work and ranges are in the state database) and which of its
 * ranges. The run id is there so cancelling the run (whose cancel requests name runs) reaches it at once.
 */
export interface RangeJobData {
  fanOutId: string;
  runId: string;
  part: number;
}

/** The flow's parent: the fan-out it joins. */
export interface JoinJobData {
  fanOutId: string;
  runId: string;
}

/** The BullMQ job id of range `part` of a fan-out (ids are unique per queue, so adding a range twice adds it once). */
export function rangeJobId(fanOutId: string, part: number): string {
  return `${fanOutId}.${part}`;
}

/** Attempts of one range before it fails the fan-out; a range whose worker died is not counted (stalled-job recovery). */
export const RANGE_ATTEMPTS = 3;
