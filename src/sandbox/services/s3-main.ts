/**
 * The sandbox's S3-compatible server as a process: s3rver on loopback, buckets created at start.
 * Run with --openssl-legacy-provider: s3rver's list continuation tokens use DES, and without the legacy
 * provider listing past 1000 keys answers 500 (see docs/development.md).
 */
import { parseArgs } from 'node:util';
import S3rver from 's3rver';
import { copyFilesDirectly } from './direct-copy.js';
import { indexListings } from './indexed-listing.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    directory: { type: 'string' },
    bucket: { type: 'string', multiple: true, default: [] },
  },
});
if (!values.port || !values.directory) {
  console.error('usage: s3-main --port N --directory DIR [--bucket NAME ...]');
  process.exit(2);
}
const server = new S3rver({
  address: '127.0.0.1',
  port: Number(values.port),
  directory: values.directory,
  silent: true,
  vhostBuckets: false,
  configureBuckets: values.bucket.map((name) => ({ name })),
});
// Copies copy three files and nothing more (see direct-copy.ts); listings answer in time proportional to the
// page, not the bucket (see indexed-listing.ts), and index what the copies write.
copyFilesDirectly((server as unknown as { store: Parameters<typeof copyFilesDirectly>[0] }).store);
indexListings((server as unknown as { store: Parameters<typeof indexListings>[0] }).store);
// s3rver emits a listen error (a port in use) as an uncaught exception: one line saying so, and exit.
const fail = (err: unknown) => {
  console.error(`s3rver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
};
process.once('uncaughtException', fail);
const address = await server.run().catch(fail);
console.log(`s3rver listening on http://${address.address}:${address.port}`);
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
