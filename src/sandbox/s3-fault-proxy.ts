import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the proxy does to requests now (see `startS3FaultProxy`). */
export interface S3Faults {
  /** Answer 503 SlowDown, as S3 does when a prefix is asked too much, until this time (epoch ms). */
  slowDownUntil?: number;
  /** Answer 503 SlowDown to this many requests (then pass them again). */
  slowDownTimes?: number;
  /** Hold every request this long before passing it on. */
  latencyMs?: number;
}

/** Where the proxy's faults are changed: a path no bucket can have (bucket names have no underscore). */
export const S3_FAULTS_PATH = '/_sandbox/faults';

/** A running fault proxy. */
export interface S3FaultProxy {
  /** `http://127.0.0.1:PORT`: the endpoint clients use instead of the store's. */
  readonly endpoint: string;
  readonly port: number;
  /** The faults in force; change them directly, or with PUT `S3_FAULTS_PATH`. */
  readonly faults: S3Faults;
  /** How many requests were answered SlowDown so far. */
  slowDowns(): number;
  /** How many requests came in so far (fault control excluded). */
  requests(): number;
  /**
   * The most CopyObject requests (PUTs with x-amz-copy-source) in flight at once so far, from their arrival
   * to their answer's end: what the store was asked to copy at the same time.
   */
  peakCopies(): number;
  close(): Promise<void>;
}

const SLOW_DOWN = (requestId: string) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>${requestId}</RequestId></Error>`;

/**
 * A small HTTP proxy in front of the sandbox's S3 server (s3rver), for fault tests only — never in the product's
 * path: it passes every request through, streamed both ways, unless told to answer 503 SlowDown (S3's throttling
 * answer, which the SDK classifies as throttling and retries) for a while or a number of requests, or to add
 * latency. With the store itself stopped, a request's connection is dropped, as an unreachable store drops it.
 * `PUT /_sandbox/faults` with a JSON `S3Faults` replaces the faults; `GET` reads them.
 */
export async function startS3FaultProxy(options: { upstream: string; port?: number }): Promise<S3FaultProxy> {
  const upstream = new URL(options.upstream);
  const faults: S3Faults = {};
  let slowDowns = 0;
  let requests = 0;
  let copies = 0;
  let peakCopies = 0;

  const slowDownNow = (): boolean => {
    if ((faults.slowDownTimes ?? 0) > 0) {
      faults.slowDownTimes! -= 1;
      return true;
    }
    return faults.slowDownUntil !== undefined && Date.now() < faults.slowDownUntil;
  };

  const serveFaults = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === 'PUT') {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      try {
        const change = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as S3Faults;
        for (const key of Object.keys(faults) as (keyof S3Faults)[]) delete faults[key];
        Object.assign(faults, change);
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ message: 'expected JSON such as {"slowDownUntil": 1767225600000} or {"slowDownTimes": 5, "latencyMs": 50}' }));
        return;
      }
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(faults));
  };

  const pass = (req: IncomingMessage, res: ServerResponse) => {
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      // The store is gone (stopped, restarting): drop the client's connection as an unreachable store would.
      req.socket.destroy();
    });
    req.pipe(forward);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    if ((req.url ?? '').startsWith(S3_FAULTS_PATH)) return void serveFaults(req, res);
    requests += 1;
    if (req.method === 'PUT' && req.headers['x-amz-copy-source'] !== undefined) {
      copies += 1;
      peakCopies = Math.max(peakCopies, copies);
      res.once('close', () => (copies -= 1));
    }
    const go = () => {
      if (slowDownNow()) {
        slowDowns += 1;
        req.resume(); // read the body, so the client is not cut off mid-upload
        req.once('end', () => {
          const body = SLOW_DOWN(`sandbox-${requests}`);
          res.writeHead(503, { 'Content-Type': 'application/xml', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        });
        return;
      }
      pass(req, res);
    };
    if (faults.latencyMs) setTimeout(go, faults.latencyMs);
    else go();
  };

  const server: Server = createServer({ keepAliveTimeout: 5000 }, handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    faults,
    slowDowns: () => slowDowns,
    requests: () => requests,
    peakCopies: () => peakCopies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
