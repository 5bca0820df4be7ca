import type { S3Client } from '@aws-sdk/client-s3';
import type { ObjectStoreConfig } from '../config/config.js';
import { createS3Client } from '../object-store/s3-client.js';

/** S3 clients by store (endpoint, region, credentials), created on first use and destroyed together. */
export function createS3ClientCache() {
  const clients = new Map<string, S3Client>();
  return {
    clientFor(store: ObjectStoreConfig): S3Client {
      const key = JSON.stringify([store.endpoint ?? '', store.region, store.forcePathStyle, store.credentials?.accessKeyId ?? '', store.credentials?.secretAccessKey ?? '']);
      let client = clients.get(key);
      if (!client) {
        client = createS3Client(store);
        clients.set(key, client);
      }
      return client;
    },
    close() {
      for (const c of clients.values()) c.destroy();
      clients.clear();
    },
  };
}
