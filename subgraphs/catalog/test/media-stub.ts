// A stand-in for media's internal video-status endpoint, for catalog's integration tests (the
// real media subgraph does not run there). An HTTP server on a free port answers
// POST VIDEO_STATUS_PATH from a map the test fills: only the asking organization's videos, like
// media. It does not verify the caller's credential (media's own tests do); it records each
// request, so a test can tell whether catalog asked at all.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VIDEO_STATUS_PATH, videoStatusRequest, type VideoStatusRequest, type VideoStatusResponse } from '@lectern/contracts/media';

type Video = VideoStatusResponse['videos'][number];

export interface MediaStub {
  /** What catalog's MEDIA_URL should be (media's GraphQL URL; the endpoint shares its origin). */
  url: string;
  /**
   * Puts a video in `tenantId`'s library (replacing one with the same id): READY and 60 s long
   * unless `video` says otherwise. Returns its id.
   */
  put(tenantId: string, videoId: string, video?: Partial<Omit<Video, 'videoId'>>): string;
  /** Deletes a video from the library. */
  remove(videoId: string): void;
  /** Every request answered so far, parsed. */
  requests: VideoStatusRequest[];
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

export async function startMediaStub(): Promise<MediaStub> {
  const library = new Map<string, { tenantId: string; video: Video }>();
  const requests: VideoStatusRequest[] = [];
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.url !== VIDEO_STATUS_PATH) return send(404, { error: `the media stub answers POST ${VIDEO_STATUS_PATH} only` });
    readJson(req).then(
      (body) => {
        const parsed = videoStatusRequest.safeParse(body);
        if (!parsed.success) return send(400, { error: parsed.error.issues[0]?.message ?? 'invalid request' });
        const { tenantId, videoIds } = parsed.data;
        requests.push(parsed.data);
        const videos = videoIds.flatMap((id) => {
          const entry = library.get(id.toLowerCase());
          return entry && entry.tenantId === tenantId ? [entry.video] : [];
        });
        send(200, { videos } satisfies VideoStatusResponse);
      },
      () => send(400, { error: 'body is not valid JSON' }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/graphql`,
    put(tenantId, videoId, video = {}) {
      const id = videoId.toLowerCase();
      library.set(id, {
        tenantId,
        video: { videoId: id, title: 'Test video', status: 'READY', durationSeconds: 60, failureReason: null, ...video },
      });
      return id;
    },
    remove(videoId) {
      library.delete(videoId.toLowerCase());
    },
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
