import { formatDuration } from '../../format-units.js';
import { type SlackMessage, messageText, section } from './block-kit.js';
import { escapeAndTruncate, escapeMrkdwn } from './mrkdwn.js';
import { STEP_ICONS } from './run-badges.js';
import { UNDO_OUTCOMES, describeSizes } from './step-text.js';

export { UNDO_OUTCOMES } from './step-text.js';
import type { StepView } from './view-models.js';


const DETAIL_CHARS = 2000;

/**
 * The short thread reply under a run's message when one of its steps finishes, is skipped, fails, or is undone
 * (or fails to be undone) — one section, one or two lines. `undoOutcome` overrides what the undo gave back.
 */
export function buildStepReply(step: StepView, options: { undoOutcome?: string } = {}): SlackMessage {
  const title = escapeAndTruncate(step.title, 150);
  const icon = STEP_ICONS[step.state];
  const duration = step.durationMs !== undefined ? formatDuration(step.durationMs) : undefined;
  const paused = step.downtime ? ' · ⏸ while paused' : '';
  let line: string;
  switch (step.state) {
    case 'done': {
      const facts = [duration, describeSizes(step.sizes)].filter((f) => f !== undefined && f !== '');
      line = `${icon} *${title}*${paused}${facts.length > 0 ? ` — ${facts.join(' · ')}` : ''}`;
      if (step.summary) line += `\n${escapeAndTruncate(step.summary, DETAIL_CHARS)}`;
      break;
    }
    case 'skipped':
      line = `${icon} *${title}* — already done, skipped`;
      break;
    case 'failed':
      line = `${icon} *${title} failed*${duration ? ` after ${duration}` : ''}${paused}`;
      if (step.error) line += `\n${escapeAndTruncate(step.error, DETAIL_CHARS)}`;
      break;
    case 'undone': {
      const outcome = options.undoOutcome ?? UNDO_OUTCOMES[step.name];
      line = `${icon} Undid: *${title}*${outcome ? ` — ${escapeMrkdwn(outcome)}` : ''}`;
      break;
    }
    case 'undo-failed':
      line = `${icon} *Could not undo: ${title}* — what it changed is still in place`;
      if (step.error) line += `\n${escapeAndTruncate(step.error, DETAIL_CHARS)}`;
      break;
    case 'running':
      line = `${icon} Started: *${title}*${paused}`;
      break;
    case 'pending':
      line = `${icon} Waiting: *${title}*`;
      break;
  }
  return { text: messageText(line.replace(/\*/g, '')), blocks: [section(line)] };
}
