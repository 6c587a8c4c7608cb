import { join } from 'node:path';
import axios, { type AxiosError } from 'axios';
import { isResilienceError, type FailureSummary } from '@axios-resilience/core';
import { stubAdapter, runTsx } from '@axios-resilience/testkit';
import { attachDeadLetter, memorySink, type DeadLetterSink } from '@axios-resilience/dlq';

type Failed = AxiosError & { resilience?: FailureSummary };

const SECRET = 'Bearer sk_live_sinkcanary_0042';

function instanceWith(sink: DeadLetterSink, options: Parameters<typeof attachDeadLetter>[1] = {}) {
  const instance = axios.create({
    baseURL: 'https://api.example.test',
    adapter: stubAdapter(() => ({ status: 503, data: 'down' })),
    headers: { Authorization: SECRET },
  });
  attachDeadLetter(instance, { sink, ...options });
  return instance;
}

function brokenSink(put: DeadLetterSink['put']): DeadLetterSink {
  return { ...memorySink(), put };
}

describe('a failing sink never hides the original error', () => {
  // jest fails a test on an unhandled rejection; the child-process test below checks the same with
  // Node's own default (crash on an unhandled rejection).
  afterEach(() => {
    jest.useRealTimers();
  });

  it.each([
    [
      'rejects',
      async () => {
        throw new Error(`connection refused while sending ${SECRET}`);
      },
    ],
    [
      'throws synchronously',
      (() => {
        throw new Error('disk full');
      }) as DeadLetterSink['put'],
    ],
  ])('a sink that %s: the caller gets the original error with deadLetterError', async (_name, put) => {
    const onSinkError = jest.fn(() => {
      throw new Error('the reporter broke too');
    });
    const instance = instanceWith(brokenSink(put), { onSinkError });
    const error = (await instance.post('/charges', { amount: 1 }).catch((caught: unknown) => caught)) as Failed;

    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.response?.status).toBe(503);
    expect(error.resilience?.deadLetterId).toBeUndefined();
    const sinkError = error.resilience?.deadLetterError as Error & { code?: string };
    expect(isResilienceError(sinkError)).toBe(true);
    expect(sinkError.code).toBe('ERR_DEAD_LETTER_SINK');
    expect(sinkError.message).toMatch(/^the dead-letter sink failed: /);
    expect(sinkError.message).not.toContain('sk_live_sinkcanary_0042');
    expect(JSON.stringify(error)).not.toContain('sk_live_sinkcanary_0042');
    expect(onSinkError).toHaveBeenCalledWith(expect.objectContaining({ during: 'put', failure: error }));
    expect(onSinkError.mock.calls[0]).toEqual([
      expect.objectContaining({ record: expect.objectContaining({ method: 'POST' }) }),
    ]);
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('a sink that never answers: the error arrives at sinkTimeoutMs, not before, and a late rejection is harmless', async () => {
    jest.useFakeTimers();
    let rejectLater: (error: Error) => void = () => undefined;
    const hanging = brokenSink(() => new Promise<void>((_resolve, reject) => (rejectLater = reject)));
    const instance = instanceWith(hanging);

    let settled: Failed | undefined;
    void instance.post('/charges', { amount: 1 }).catch((caught: Failed) => {
      settled = caught;
    });
    await jest.advanceTimersByTimeAsync(4_999);
    expect(settled).toBeUndefined();
    await jest.advanceTimersByTimeAsync(1);
    expect(settled?.response?.status).toBe(503);
    expect(settled?.resilience?.deadLetterError).toMatchObject({
      code: 'ERR_DEAD_LETTER_SINK_TIMEOUT',
      message: 'the dead-letter sink did not store the record within 5000 ms',
    });

    jest.useRealTimers();
    rejectLater(new Error('gave up at last'));
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('honours a shorter sinkTimeoutMs, and a hanging sink does not block the next request', async () => {
    jest.useFakeTimers();
    const hanging = brokenSink(() => new Promise<void>(() => undefined));
    const instance = instanceWith(hanging, { sinkTimeoutMs: 250 });
    const outcomes: Failed[] = [];
    for (let index = 0; index < 3; index += 1) {
      void instance.post('/charges', { index }).catch((caught: Failed) => outcomes.push(caught));
    }
    await jest.advanceTimersByTimeAsync(250);
    expect(outcomes).toHaveLength(3);
    for (const outcome of outcomes) {
      expect((outcome.resilience?.deadLetterError as { code?: string }).code).toBe('ERR_DEAD_LETTER_SINK_TIMEOUT');
    }
  });

  it('keeps a host process running: a throwing and a late-rejecting sink crash nothing', async () => {
    const result = await runTsx(join(__dirname, 'fixtures', 'failing-sink-host.ts'));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      outcomes: [
        { status: 503, code: 'ERR_DEAD_LETTER_SINK' },
        { status: 503, code: 'ERR_DEAD_LETTER_SINK_TIMEOUT' },
      ],
      alive: true,
    });
  });
});
