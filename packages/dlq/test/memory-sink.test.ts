import { memorySink } from '@axios-resilience/dlq';
import { describeSinkContract } from './sink-contract';
import { makeRecord } from './records';

describeSinkContract('memorySink', async () => ({ sink: memorySink() }));

describe('memorySink', () => {
  it('clear() empties it', async () => {
    const sink = memorySink();
    await sink.put(makeRecord());
    sink.clear();
    expect(await sink.size()).toBe(0);
  });
});
