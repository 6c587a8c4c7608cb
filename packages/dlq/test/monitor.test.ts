import axios from 'axios';
import { startTestServer, stubAdapter, type TestServer } from '@axios-resilience/testkit';
import {
  attachDeadLetter,
  createDlqMonitor,
  formatDlqAlert,
  memorySink,
  slackWebhookNotifier,
  type DlqAlert,
} from '@axios-resilience/dlq';
import { makeRecord } from './records';

const SECRET = 'sk_live_monitor_canary_7731';

describe('createDlqMonitor', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('notifies once per crossing of the threshold', async () => {
    const sink = memorySink();
    const alerts: DlqAlert[] = [];
    const monitor = createDlqMonitor({ sink, threshold: 3, notify: (alert) => void alerts.push(alert) });

    await sink.put(makeRecord());
    await sink.put(makeRecord());
    expect(await monitor.check()).toEqual({ count: 2, notified: false });
    await sink.put(makeRecord());
    expect(await monitor.check()).toEqual({ count: 3, notified: true });
    await sink.put(makeRecord());
    expect(await monitor.check()).toEqual({ count: 4, notified: false });
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ count: 3, threshold: 3 });
    expect(alerts[0].samples).toHaveLength(3);

    for (const record of (await sink.list()).slice(0, 2)) await sink.remove(record.id);
    expect(await monitor.check()).toEqual({ count: 2, notified: false });
    await sink.put(makeRecord());
    expect(await monitor.check()).toEqual({ count: 3, notified: true });
    expect(alerts).toHaveLength(2);
  });

  it('tries a failed alert again on the next check, and shares one check between overlapping callers', async () => {
    const sink = memorySink();
    await sink.put(makeRecord());
    let calls = 0;
    const monitor = createDlqMonitor({
      sink,
      notify: async () => {
        calls += 1;
        if (calls === 1) throw new Error('webhook down');
      },
    });
    await expect(monitor.check()).rejects.toThrow('webhook down');
    const [first, second] = await Promise.all([monitor.check(), monitor.check()]);
    expect(first).toEqual({ count: 1, notified: true });
    expect(second).toBe(first);
    expect(calls).toBe(2);
  });

  it('checks on its interval once started, and stops', async () => {
    jest.useFakeTimers();
    const sink = memorySink();
    const notify = jest.fn();
    const onError = jest.fn();
    const monitor = createDlqMonitor({ sink, notify, onError, intervalMs: 1_000, threshold: 1 });
    monitor.start();
    await jest.advanceTimersByTimeAsync(10);
    expect(notify).not.toHaveBeenCalled();
    await sink.put(makeRecord());
    await jest.advanceTimersByTimeAsync(1_000);
    expect(notify).toHaveBeenCalledTimes(1);
    monitor.stop();
    await sink.remove((await sink.list())[0].id);
    await sink.put(makeRecord());
    await jest.advanceTimersByTimeAsync(5_000);
    expect(notify).toHaveBeenCalledTimes(1);
    expect(onError).not.toHaveBeenCalled();
  });

  it('validates its options', () => {
    const sink = memorySink();
    expect(() => createDlqMonitor({ sink, notify: () => undefined, threshold: 0 })).toThrow(/dlqMonitor\.threshold/);
    expect(() => createDlqMonitor({ sink, notify: 'x' as never })).toThrow(/dlqMonitor\.notify/);
    expect(() => createDlqMonitor({ sink: {} as never, notify: () => undefined })).toThrow(/dlqMonitor\.sink/);
  });
});

describe('slackWebhookNotifier', () => {
  let slack: TestServer;
  beforeAll(async () => {
    slack = await startTestServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('ok');
    });
  });
  afterAll(async () => {
    await slack.close();
  });

  it('posts the count and a few redacted samples to the webhook once the threshold is crossed', async () => {
    const sink = memorySink();
    const instance = axios.create({
      adapter: stubAdapter(() => ({ status: 503, data: { echo: SECRET } })),
      headers: { Authorization: `Bearer ${SECRET}` },
    });
    attachDeadLetter(instance, { sink });
    const webhook = `${slack.url}/services/T000/B000/XXXXSECRETPATH`;
    const monitor = createDlqMonitor({ sink, threshold: 7, notify: slackWebhookNotifier(webhook) });

    for (let index = 0; index < 6; index += 1) {
      await instance
        .post(`https://api.example.test/orders/${index}?api_key=${SECRET}`, { card: SECRET })
        .catch(() => undefined);
    }
    await monitor.check();
    expect(slack.requests).toHaveLength(0);
    await instance.put(`https://api.example.test/orders/6?api_key=${SECRET}`, { card: SECRET }).catch(() => undefined);
    await monitor.check();
    await monitor.check();

    expect(slack.requests).toHaveLength(1);
    const [request] = slack.requests;
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/services/T000/B000/XXXXSECRETPATH');
    expect(request.headers['content-type']).toBe('application/json');
    const raw = request.body.toString('utf8');
    expect(raw).not.toContain(SECRET);
    const { text } = JSON.parse(raw) as { text: string };
    expect(text).toContain('7 failed requests');
    expect(text).toContain('• POST https://api.example.test/orders/0 (not-retryable, 503)');
    expect(text).toContain('…and 2 more.');
    expect(text.split('\n').filter((line) => line.startsWith('•'))).toHaveLength(5);
  });

  it('fails without revealing the webhook URL', async () => {
    slack.setHandler((_request, response) => {
      response.writeHead(404);
      response.end('no_service');
    });
    const notify = slackWebhookNotifier(`${slack.url}/services/T000/B000/XXXXSECRETPATH`);
    const alert: DlqAlert = { count: 1, threshold: 1, samples: [] };
    await expect(notify(alert)).rejects.toThrow('the Slack webhook answered 404');
    const unreachable = slackWebhookNotifier('http://127.0.0.1:9/services/T000/B000/XXXXSECRETPATH');
    const error = await unreachable(alert).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain('XXXXSECRETPATH');
  });

  it('formats a message a person can act on', () => {
    const record = makeRecord();
    const text = formatDlqAlert({ count: 1, threshold: 1, samples: [{ ...record, status: null }] });
    expect(text).toContain('1 failed request waiting');
    expect(text).toContain(`• POST ${record.url} (retries-exhausted, no response)`);
  });
});
