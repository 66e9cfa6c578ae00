// Test helper: an in-process fake S3 (s3rver) with one empty bucket, on a free port of 127.0.0.1,
// keeping its objects in a fresh temporary directory. Returns the StorageConfig that reaches it,
// so any subgraph's test can run against "S3" without Docker or network (@lectern/storage/testing).
// close() stops the server and removes the directory.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import type { StorageConfig } from './port.ts';

export const TEST_S3_BUCKET = 'lectern-test';

export async function startTestS3(): Promise<{ config: StorageConfig; close(): Promise<void> }> {
  const directory = await mkdtemp(path.join(tmpdir(), 'lectern-s3rver-'));
  const server = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory,
    configureBuckets: [{ name: TEST_S3_BUCKET }],
  });
  let port: number;
  try {
    ({ port } = await server.run());
  } catch (err) {
    await rm(directory, { recursive: true, force: true });
    throw err;
  }
  const config: StorageConfig = {
    driver: 's3',
    bucket: TEST_S3_BUCKET,
    region: 'us-east-1',
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
  };
  let closed: Promise<void> | undefined;
  return {
    config,
    close() {
      closed ??= (async () => {
        const stopped = server.close();
        server.httpServer?.closeAllConnections(); // clients' keep-alive sockets would hold close() open
        await stopped;
        await rm(directory, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
