import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the server saw it, body bytes included, for assertions on what went over the wire. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  receivedAt: number;
}

export type TestHandler = (
  request: RecordedRequest,
  response: ServerResponse,
  raw: IncomingMessage,
) => void | Promise<void>;

export interface TestServer {
  /** `http://127.0.0.1:PORT` */
  url: string;
  port: number;
  /** Every request received so far, in arrival order. */
  requests: RecordedRequest[];
  /** Replaces the handler for the next requests. */
  setHandler(handler: TestHandler): void;
  /** Stops listening and destroys open sockets, so nothing keeps the test process alive. */
  close(): Promise<void>;
}

/** Reads a whole request body. */
export function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Sends a JSON answer with optional extra headers. */
export function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const payload = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
    ...headers,
  });
  response.end(payload);
}

/** Starts an HTTP server on a free loopback port. Sockets are tracked so `close()` never waits on keep-alive. */
export async function listenOnLoopback(
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: http.Server; port: number; url: string; close(): Promise<void> }> {
  const server = http.createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A scriptable loopback HTTP server for integration tests: records every request with its body bytes and
 * answers with the current handler (by default `200 {"ok":true}`).
 */
export async function startTestServer(handler?: TestHandler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  let current: TestHandler = handler ?? ((_request, response) => sendJson(response, 200, { ok: true }));
  const listening = await listenOnLoopback((raw, response) => {
    readBody(raw)
      .then(async (body) => {
        const recorded: RecordedRequest = {
          method: raw.method ?? 'GET',
          url: raw.url ?? '/',
          headers: raw.headers,
          body,
          receivedAt: Date.now(),
        };
        requests.push(recorded);
        await current(recorded, response, raw);
      })
      .catch((error: unknown) => {
        if (!response.headersSent) sendJson(response, 500, { error: String(error) });
        else response.destroy();
      });
  });
  return {
    url: listening.url,
    port: listening.port,
    requests,
    setHandler(next) {
      current = next;
    },
    close: listening.close,
  };
}
