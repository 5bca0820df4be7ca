import type { RunEvent, StepProgress } from '../runner/run-event.js';
import { formatBytes, formatDuration } from '../format-units.js';

/**
 * Renders a run's events in a terminal: on a TTY, a live status line per step (objects and bytes with rate and
 * ETA) that settles into one line when the step ends; otherwise plain lines only, for logs and cron mail.
 */
export function createProgressDisplay(out: NodeJS.WriteStream = process.stderr): (event: RunEvent) => void {
  const tty = out.isTTY === true;
  let current: { step: string; title: string; startedAt: number } | undefined;
  let lastDraw = 0;
  const clear = () => tty && out.write('\r\x1b[2K');

  const progressLine = (p: StepProgress): string => {
    const parts: string[] = [];
    const elapsed = current ? (Date.now() - current.startedAt) / 1000 : 0;
    if (p.objectsDone !== undefined) parts.push(`${p.objectsDone}${p.objectsTotal !== undefined ? `/${p.objectsTotal}` : ''} objects`);
    if (p.bytesDone !== undefined) {
      const rate = elapsed > 0 ? p.bytesDone / elapsed : 0;
      parts.push(`${formatBytes(p.bytesDone)}${p.bytesTotal !== undefined ? `/${formatBytes(p.bytesTotal)}` : ''}`);
      if (rate > 0) parts.push(`${formatBytes(rate)}/s`);
      if (rate > 0 && p.bytesTotal !== undefined && p.bytesTotal > p.bytesDone) parts.push(`ETA ${formatDuration(((p.bytesTotal - p.bytesDone) / rate) * 1000)}`);
    }
    if (p.message) parts.push(p.message);
    return parts.join(' · ');
  };

  return (event) => {
    switch (event.type) {
      case 'step-started':
        current = { step: event.step, title: event.title, startedAt: Date.now() };
        if (tty) out.write(`\r\x1b[2K  … ${event.title}${event.downtime ? ' (paused)' : ''}`);
        else out.write(`[${event.at}] ${event.title}: started\n`);
        break;
      case 'step-progress': {
        // A retry that lasts (a service failing, pachd not ready) is a line of its own, on a terminal or not.
        if (event.progress.retry) {
          clear();
          out.write(`${tty ? '  ⚠' : `[${event.at}]`} ${current?.title ?? event.step}: ${event.progress.message ?? event.progress.retry.error ?? `retrying ${event.progress.retry.service}`}\n`);
          break;
        }
        if (!tty || !current || Date.now() - lastDraw < 100) break;
        lastDraw = Date.now();
        out.write(`\r\x1b[2K  … ${current.title}: ${progressLine(event.progress)}`.slice(0, (out.columns ?? 120) + 8));
        break;
      }
      case 'step-finished':
        clear();
        out.write(`${tty ? '  ✓' : `[${event.at}]`} ${current?.title ?? event.step}${event.state === 'skipped' ? ' (already done)' : ''} — ${formatDuration(event.durationMs)}${event.summary ? `: ${event.summary}` : ''}\n`);
        current = undefined;
        break;
      case 'step-failed':
        clear();
        out.write(`${tty ? '  ✗' : `[${event.at}]`} ${current?.title ?? event.step} failed after ${formatDuration(event.durationMs)}: ${event.error}${event.critical ? '' : ' (continuing)'}\n`);
        current = undefined;
        break;
      case 'undo-started':
        out.write(`${tty ? '  ↺' : `[${event.at}]`} undoing: ${event.title}\n`);
        break;
      case 'undo-retrying':
        out.write(`${tty ? '  ⚠' : `[${event.at}]`} undoing ${event.title} failed (attempt ${event.attempt} of ${event.attempts}): ${event.error}; trying again\n`);
        break;
      case 'undo-finished':
        if (event.state === 'undo-failed') out.write(`${tty ? '  ✗' : `[${event.at}]`} UNDO FAILED: ${event.error}\n`);
        break;
      case 'run-finished':
        clear();
        break;
      case 'run-handed-back':
        clear();
        out.write(`${tty ? '  ↩' : `[${event.at}]`} handed back: ${event.reason}\n`);
        break;
      default:
        break;
    }
  };
}
