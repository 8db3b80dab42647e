import { describe, expect, it } from 'vitest';
import { HttpError, InferenceQueue } from '../src/index';

/** A job that finishes when the test says so. */
function gate() {
  let open!: () => void;
  const p = new Promise<void>((r) => (open = r));
  return { p, open };
}

describe('InferenceQueue', () => {
  it.each([
    [1, 5],
    [2, 7],
    [3, 3],
  ])('runs at most %i jobs at once out of %i, in FIFO order', async (concurrency, jobs) => {
    const q = new InferenceQueue(concurrency, 100);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const gates = Array.from({ length: jobs }, gate);
    const all = gates.map((g, i) =>
      q.run(async () => {
        started.push(i);
        running++;
        peak = Math.max(peak, running);
        await g.p;
        running--;
        return i * 10;
      }),
    );
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(Array.from({ length: Math.min(concurrency, jobs) }, (_, i) => i));
    expect(q.stats).toMatchObject({ running: Math.min(concurrency, jobs), waiting: Math.max(0, jobs - concurrency) });
    for (const g of gates) {
      g.open();
      await new Promise((r) => setImmediate(r));
    }
    const out = await Promise.all(all);
    expect(out.map((o) => o.value)).toEqual(Array.from({ length: jobs }, (_, i) => i * 10));
    expect(started).toEqual(Array.from({ length: jobs }, (_, i) => i));
    expect(peak).toBe(Math.min(concurrency, jobs));
    expect(q.stats).toMatchObject({ running: 0, waiting: 0, peakRunning: Math.min(concurrency, jobs), peakWaiting: Math.max(0, jobs - concurrency) });
  });

  it('refuses with 503 + Retry-After when maxQueue jobs already wait', async () => {
    const q = new InferenceQueue(1, 1);
    const g = gate();
    const a = q.run(() => g.p);
    const b = q.run(async () => 'b');
    const err = await q.run(async () => 'c').catch((e) => e);
    expect(err).toBeInstanceOf(HttpError);
    expect(err).toMatchObject({ status: 503, code: 'busy', headers: { 'Retry-After': '1' } });
    g.open();
    await a;
    expect((await b).value).toBe('b');
  });

  it('frees the slot when a job throws', async () => {
    const q = new InferenceQueue(1, 4);
    await expect(q.run(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect((await q.run(async () => 7)).value).toBe(7);
    expect(q.stats.running).toBe(0);
  });

  it.each([
    [0, 1, /concurrency must be an integer >= 1, got 0/],
    [1.5, 1, /concurrency must be an integer >= 1, got 1.5/],
    [1, -1, /maxQueue must be an integer >= 0, got -1/],
  ])('new InferenceQueue(%s, %s) throws naming the argument', (c, m, msg) => {
    expect(() => new InferenceQueue(c, m)).toThrow(msg);
  });
});
