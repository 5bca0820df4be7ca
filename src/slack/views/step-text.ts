import { formatBytes } from '../../format-units.js';
import type { StepProgress, StepSizes } from '../../runner/run-event.js';
import { formatCount, plural } from './mrkdwn.js';

/**
 * What undoing a backup step gives back, by step name, for "↩️ Undid: Pause Pachyderm — cluster resumed" (and
 * beneath an undone step in the checklist). Steps not named here get just "↩️ Undid: <title>".
 */
export const UNDO_OUTCOMES: Readonly<Record<string, string>> = {
  pause: 'cluster resumed',
  'suspend-ingress': 'data ingestion resumed',
};

/**
 * How a step's sizes read, shared by the checklist and the thread replies:
 * "12,034 objects, 4.2 GiB, 210,000 rows"
 * — only what the step reported; empty when nothing.
 */
export function describeSizes(sizes: StepSizes | undefined): string {
  if (!sizes) return '';
  const parts: string[] = [];
  if (sizes.objects !== undefined) parts.push(plural(sizes.objects, 'object'));
  if (sizes.bytes !== undefined) parts.push(formatBytes(sizes.bytes));
  if (sizes.rows !== undefined) parts.push(plural(sizes.rows, 'row'));
  return parts.join(', ');
}

/**
 * How far a running step is, for the checklist: "1,200 of 20,000 objects, 1.2 GiB — 1,150 copied, 50 already
 * stored; 3 of 20 key ranges done by the workers" — what the step reported; a copy split over several workers
 * reports its sum.
 */
export function describeProgress(progress: StepProgress): string {
  const parts: string[] = [];
  if (progress.objectsDone !== undefined) {
    parts.push(progress.objectsTotal !== undefined ? `${formatCount(progress.objectsDone)} of ${plural(progress.objectsTotal, 'object')}` : plural(progress.objectsDone, 'object'));
  }
  if (progress.bytesDone !== undefined) parts.push(progress.bytesTotal !== undefined ? `${formatBytes(progress.bytesDone)} of ${formatBytes(progress.bytesTotal)}` : formatBytes(progress.bytesDone));
  const counts = parts.join(', ');
  if (!progress.message) return counts;
  return counts ? `${counts} — ${progress.message}` : progress.message;
}
