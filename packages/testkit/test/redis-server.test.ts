import net from 'node:net';
import { existsSync } from 'node:fs';
import { startRedisServer, type RedisServer } from '@axios-resilience/testkit';

/** Sends one inline command over a raw socket and returns the first reply line. */
function send(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let answer = '';
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      answer += chunk.toString('utf8');
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(answer.split('\r\n')[0]);
      }
    });
    socket.once('connect', () => socket.write(`${command}\r\n`));
  });
}

describe('startRedisServer', () => {
  let server: RedisServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('runs a real redis-server on a loopback port with persistence off', async () => {
    server = await startRedisServer();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.host).toBe('127.0.0.1');
    expect(await send(server.port, 'PING')).toBe('+PONG');
    expect(await send(server.port, 'SET greeting hello')).toBe('+OK');
    expect(await send(server.port, 'CONFIG GET save')).toBe('*2');
    expect(existsSync(server.dir)).toBe(true);
  });

  it('stops the server and removes its directory, and a second stop is harmless', async () => {
    server = await startRedisServer();
    const { port, dir } = server;
    await server.stop();
    await server.stop();
    await expect(send(port, 'PING')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(existsSync(dir)).toBe(false);
  });

  it('starts two servers side by side on different ports', async () => {
    server = await startRedisServer();
    const second = await startRedisServer();
    try {
      expect(second.port).not.toBe(server.port);
      await send(server.port, 'SET only-here 1');
      expect(await send(second.port, 'EXISTS only-here')).toBe(':0');
    } finally {
      await second.stop();
    }
  });

  it('names the Debian package to install when the binary is missing', async () => {
    await expect(startRedisServer({ bin: '/nonexistent/redis-server' })).rejects.toThrow(
      /apt-get install -y redis-server/,
    );
  });

  it('honours REDIS_SERVER_BIN', async () => {
    const previous = process.env.REDIS_SERVER_BIN;
    process.env.REDIS_SERVER_BIN = '/nonexistent/bin/redis-server';
    try {
      await expect(startRedisServer()).rejects.toThrow(/\/nonexistent\/bin\/redis-server.*redis-server package/);
    } finally {
      if (previous === undefined) delete process.env.REDIS_SERVER_BIN;
      else process.env.REDIS_SERVER_BIN = previous;
    }
  });
});
