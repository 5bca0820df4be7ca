import { scrubSecretText } from '../secrets/redact-secrets.js';

/**
 * The `fetch` the Slack Web API clients (the app's and the worker's) send through: the last line of defence
 * behind the redaction at the source (Helm values and plans are redacted where they are made). Every form field
 * and every uploaded text file is scrubbed of secret shapes — URL passwords, credentials in query strings,
 * `NAME=value` assignments of secret names, PEM private keys, tokens — before it reaches Slack. The request is
 * sent unchanged when there was nothing to scrub; the `token` field (the app's own credential, for Slack) is
 * never touched.
 */
export function createSecretScrubbingFetch(base: typeof fetch = globalThis.fetch): typeof fetch {
  return async (input, init) => {
    const body = init?.body;
    if (body === undefined || body === null) return base(input, init);
    return base(input, { ...init, body: await scrubBody(body) });
  };
}

async function scrubBody(body: NonNullable<RequestInit['body']>): Promise<NonNullable<RequestInit['body']>> {
  if (typeof body === 'string') return scrubForm(body);
  if (body instanceof FormData) {
    const scrubbed = new FormData();
    for (const [name, value] of body.entries()) {
      if (typeof value === 'string') scrubbed.append(name, name === 'token' ? value : scrubSecretText(value));
      else scrubbed.append(name, await scrubFile(value), value.name);
    }
    return scrubbed;
  }
  return body;
}

/** An uploaded file, scrubbed when it is UTF-8 text; binary files go as they are. */
async function scrubFile(file: Blob): Promise<Blob> {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await file.arrayBuffer());
  } catch {
    return file;
  }
  const scrubbed = scrubSecretText(text);
  return scrubbed === text ? file : new Blob([scrubbed], { type: file.type });
}

/** A form-encoded body (what @slack/web-api sends for every method) with each value scrubbed. */
function scrubForm(body: string): string {
  const params = new URLSearchParams(body);
  let changed = false;
  for (const [name, value] of [...params.entries()]) {
    if (name === 'token') continue;
    const scrubbed = scrubSecretText(value);
    if (scrubbed !== value) {
      params.set(name, scrubbed);
      changed = true;
    }
  }
  return changed ? params.toString() : body;
}
