import { Batcher, BatcherClosed, type Settled } from './batcher';

/** A run function whose batches finish only when the test says so. */
class ManualRuns {
  readonly batches: number[][] = [];
  private readonly finishers: Array<(results: Array<Settled<string>>) => void> = [];
  private readonly failers: Array<(error: Error) => void> = [];

  readonly run = (batch: number[]): Promise<Array<Settled<string>>> => {
    this.batches.push(batch);
    return new Promise((resolve, reject) => {
      this.finishers.push(resolve);
      this.failers.push(reject);
    });
  };

  finish(index: number, results?: Array<Settled<string>>): void {
    this.finishers[index](results ?? this.batches[index].map((n) => ({ ok: true, outcome: `done ${n}` })));
  }

  fail(index: number, error: Error): void {
    this.failers[index](error);
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe('Batcher', () => {
  it('starts a request at once, alone, while a slot is free', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 8, inFlight: 2 });
    const first = batcher.submit(1);
    const second = batcher.submit(2);
    await flush();
    expect(runs.batches).toEqual([[1], [2]]);
    runs.finish(0);
    runs.finish(1);
    await expect(first).resolves.toBe('done 1');
    await expect(second).resolves.toBe('done 2');
  });

  it('gathers what arrives while every slot is busy into the next batch, up to its size', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 3, inFlight: 1 });
    const submitted = [1, 2, 3, 4, 5].map((n) => batcher.submit(n));
    await flush();
    expect(runs.batches).toEqual([[1]]);
    runs.finish(0);
    await flush();
    expect(runs.batches).toEqual([[1], [2, 3, 4]]);
    runs.finish(1);
    await flush();
    expect(runs.batches).toEqual([[1], [2, 3, 4], [5]]);
    runs.finish(2);
    await expect(Promise.all(submitted)).resolves.toEqual(['done 1', 'done 2', 'done 3', 'done 4', 'done 5']);
  });

  it('settles each request with its own outcome', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 4, inFlight: 1 });
    const blocker = batcher.submit(0);
    const good = batcher.submit(1);
    const bad = batcher.submit(2);
    await flush();
    runs.finish(0);
    await flush();
    runs.finish(1, [
      { ok: true, outcome: 'fine' },
      { ok: false, error: new Error('refused: not the holder') },
    ]);
    await expect(blocker).resolves.toBe('done 0');
    await expect(good).resolves.toBe('fine');
    await expect(bad).rejects.toThrow('refused: not the holder');
  });

  it('fails every request of a batch whose run throws, and only that batch', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 4, inFlight: 1 });
    const first = batcher.submit(1);
    await flush();
    const second = batcher.submit(2);
    const third = batcher.submit(3);
    runs.fail(0, new Error('connection terminated'));
    await expect(first).rejects.toThrow('connection terminated');
    await flush();
    expect(runs.batches).toEqual([[1], [2, 3]]);
    runs.finish(1);
    await expect(Promise.all([second, third])).resolves.toEqual(['done 2', 'done 3']);
  });

  it('on close, lets running batches finish and hands back what waits and what comes later', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 4, inFlight: 1 });
    const running = batcher.submit(1);
    await flush();
    const waiting = batcher.submit(2);
    batcher.close();
    await expect(waiting).rejects.toBeInstanceOf(BatcherClosed);
    await expect(batcher.submit(3)).rejects.toBeInstanceOf(BatcherClosed);
    runs.finish(0);
    await expect(running).resolves.toBe('done 1');
    await flush();
    expect(runs.batches).toEqual([[1]]);
  });

  it('fails a request its batch settled no outcome for', async () => {
    const runs = new ManualRuns();
    const batcher = new Batcher(runs.run, { size: 1, inFlight: 1 });
    const lone = batcher.submit(1);
    await flush();
    runs.finish(0, []);
    await expect(lone).rejects.toThrow('the batch settled no outcome for this request');
  });
});
