/**
 * Results of produce(0), produce(1), ... in order, with up to `ahead` of the next ones already started while the
 * caller handles the current one: with an inference worker (models/ort-worker.ts) the network computes the next
 * results while this thread works on the last. Started work whose result the caller never takes (it stopped early)
 * still runs to its end, and its failure is ignored rather than left unhandled.
 */
export async function* runAhead<T>(count: number, ahead: number, produce: (index: number) => Promise<T>): AsyncGenerator<T, void, undefined> {
  if (!Number.isInteger(ahead) || ahead < 0) throw new RangeError(`runAhead: ahead (${ahead}) must be a non-negative integer.`);
  const started = new Map<number, Promise<T>>();
  let next = 0;
  const startUpTo = (last: number): void => {
    for (; next <= Math.min(last, count - 1); next++) {
      const promise = produce(next);
      promise.catch(() => {});
      started.set(next, promise);
    }
  };
  for (let index = 0; index < count; index++) {
    startUpTo(index + ahead);
    const promise = started.get(index)!;
    started.delete(index);
    yield await promise;
  }
}
