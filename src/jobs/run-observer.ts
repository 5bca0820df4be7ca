import type { Job } from 'bullmq';
import type { DowntimeEstimate } from '../estimate/downtime-estimate.js';
import type { RunEvents } from '../runner/run-event.js';
import type { PlannedStep } from '../runner/step.js';
import type { SlackRunTarget } from './operations-queue.js';

/** The run a job runs, as the state database records it (never as the job says). */
export interface RunSubject {
  id: string;
  cluster: string;
  /** As recorded: a Slack mention (`<@U…>`) or `schedule:<id>`. */
  requestedBy: string;
  note?: string;
  /** Where the app posted the run's message (backups, drills). */
  slack?: SlackRunTarget;
}

/**
 * What an observer is told when a job's run starts: the job (whose data it may add Slack message references to,
 * for a later attempt), the run as recorded, its event stream, its checklist and when the run was created.
 */
export interface RunStart<D> {
  job: Job<D>;
  run: RunSubject;
  events: RunEvents;
  steps: PlannedStep[];
  createdAt: Date;
  /** The downtime announced for the run, when it pauses the cluster and one could be made. */
  estimate?: DowntimeEstimate;
}

/** An observer's hold on one run. */
export interface RunObservation<R> {
  /** The run ended with `result`; the job returns only once this resolves (e.g. the Slack thread is final). */
  finish?(result: R): Promise<void>;
  /** The job is done with the run, however it ended (also when it threw): stop listening. */
  stop?(): void;
}

/**
 * Something that follows a job's runs from outside the job — metrics, the Slack thread — attached where the worker
 * is composed. Job processors only emit their run's events and return its result; what is reported, and where,
 * is the observers' business. `S` is what the observer is told at the start (a `RunStart` and, for some jobs,
 * more).
 */
export type RunObserver<S, R> = (start: S) => Promise<RunObservation<R> | undefined> | RunObservation<R> | undefined;

/** Starts every observer in order; the combined observation finishes and stops them all, in the same order. */
export async function observeWith<S, R>(observers: readonly (RunObserver<S, R> | undefined)[], start: S): Promise<Required<RunObservation<R>>> {
  const held: RunObservation<R>[] = [];
  for (const observer of observers) {
    const observation = await observer?.(start);
    if (observation) held.push(observation);
  }
  return {
    async finish(result) {
      for (const o of held) await o.finish?.(result);
    },
    stop() {
      for (const o of held) o.stop?.();
    },
  };
}
