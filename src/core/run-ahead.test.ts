import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runAhead } from './run-ahead.ts';

/** A producer whose calls are logged and whose results resolve only when released, in any order. */
function controlled() {
  const log: string[] = [];
  const releases = new Map<number, () => void>();
  const produce = (index: number): Promise<number> => {
    log.push(`start ${index}`);
    return new Promise((resolve) => releases.set(index, () => resolve(index * 10)));
  };
  return { log, releases, produce };
}

test('runAhead: results in order, with `ahead` more started while the caller holds one', async () => {
  const { log, releases, produce } = controlled();
  const results: number[] = [];
  const consumer = (async () => {
    for await (const value of runAhead(5, 2, produce)) {
      log.push(`got ${value}`);
      results.push(value);
    }
  })();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ['start 0', 'start 1', 'start 2']);
  releases.get(0)!();
  await new Promise((r) => setImmediate(r));
  // Taking 0 starts 3: two ahead of 1, the one the caller waits for next.
  assert.deepEqual(log, ['start 0', 'start 1', 'start 2', 'got 0', 'start 3']);
  // Released out of order (2 before 1): the caller still sees 1 before 2.
  for (const index of [2, 1, 3, 4]) {
    await new Promise((r) => setImmediate(r));
    releases.get(index)!();
  }
  await consumer;
  assert.deepEqual(results, [0, 10, 20, 30, 40]);
  assert.equal(log.filter((l) => l.startsWith('start')).length, 5, 'each started once');
  assert.ok(log.indexOf('start 3') < log.indexOf('got 10') && log.indexOf('start 4') < log.indexOf('got 20'),
    `two ahead of the one being handled: ${log.join(', ')}`);
});

test('runAhead: a failure reaches the caller at its turn; started work the caller leaves behind fails quietly', async () => {
  const produce = (index: number): Promise<number> => (index === 1 ? Promise.reject(new Error('one failed')) : Promise.resolve(index));
  const seen: number[] = [];
  await assert.rejects((async () => { for await (const v of runAhead(4, 3, produce)) seen.push(v); })(), /one failed/);
  assert.deepEqual(seen, [0]);
  // Stopping early: the rejected promise 1 was started ahead and is never awaited; no unhandled rejection follows.
  const early: number[] = [];
  for await (const v of runAhead(4, 3, produce)) { early.push(v); break; }
  await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(early, [0]);
  assert.deepEqual(await (async () => { const all: number[] = []; for await (const v of runAhead(0, 1, produce)) all.push(v); return all; })(), []);
  await assert.rejects(runAhead(2, -1, produce).next(), RangeError);
});
