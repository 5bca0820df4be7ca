import type { IncomingMessage, ServerResponse } from 'node:http';
import { noFaults, type Faults } from './faults.js';

/** Where the simulator's faults are read and changed over HTTP (beside the Kubernetes API, never part of it). */
export const FAULTS_PATH = '/sandbox/faults';

/**
 * The fault endpoint, so tests and people can break a running simulator (the sandbox runs it as its own process):
 * - `GET /sandbox/faults`: the faults in force (see `Faults`);
 * - `PUT /sandbox/faults`: replaces the fields given (`{}` changes nothing; `noFaults()`'s shape resets all), then
 *   every controller runs again (a pod stuck Terminating is let go, a never-ready pod becomes ready);
 * - `POST /sandbox/faults/drop-watches`: ends every open watch stream now, as an apiserver restart does.
 * Answers 400 with a message for a body that is not a JSON object of known fields.
 */
export async function serveFaults(req: IncomingMessage, res: ServerResponse, deps: { faults: Faults; dropWatches(): number; changed(): void }): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://kube-sim.invalid');
  const path = url.pathname.replace(/\/+$/, '');
  const send = (code: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
  if (path === FAULTS_PATH && req.method === 'GET') return send(200, deps.faults);
  if (path === `${FAULTS_PATH}/drop-watches` && req.method === 'POST') return send(200, { dropped: deps.dropWatches() });
  if (path !== FAULTS_PATH || req.method !== 'PUT') return send(404, { message: `expected GET or PUT ${FAULTS_PATH}, or POST ${FAULTS_PATH}/drop-watches` });
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
  } catch {
    return send(400, { message: 'expected a JSON object such as {"failures":[{"resource":"pods","code":429,"retryAfterSeconds":1,"times":3}]}' });
  }
  const known = Object.keys(noFaults());
  const unknown = body !== null && typeof body === 'object' && !Array.isArray(body) ? Object.keys(body).filter((k) => !known.includes(k)) : ['(not an object)'];
  if (unknown.length > 0) return send(400, { message: `unknown fault fields ${unknown.join(', ')}; expected some of ${known.join(', ')}` });
  const change = body as Partial<Faults>;
  if (change.neverReady) deps.faults.neverReady.splice(0, Infinity, ...change.neverReady);
  if (change.failures) deps.faults.failures.splice(0, Infinity, ...change.failures);
  if (change.stuckTerminating) deps.faults.stuckTerminating.splice(0, Infinity, ...change.stuckTerminating);
  if (change.dropWatchesAfterMs !== undefined) deps.faults.dropWatchesAfterMs = change.dropWatchesAfterMs;
  if (change.latencyMs !== undefined) deps.faults.latencyMs = change.latencyMs;
  deps.changed();
  send(200, deps.faults);
}
