import { formatBytes } from '../../format-units.js';
import type { StepSizes } from '../../runner/run-event.js';
import { plural } from './mrkdwn.js';

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
