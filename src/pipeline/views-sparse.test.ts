import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflictWarning, unregisteredReason, unregisteredWarning } from './views-sparse.ts';

test('conflictWarning: one line with the count, the strongest three pairs and every view involved', () => {
  const pair = (a: string, b: string, expectedPoints: number, sharedPoints: number) => ({ views: [a, b] as [string, string], expectedPoints, sharedPoints });
  const one = conflictWarning([pair('b.png', 'a.png', 300, 4)]);
  assert.equal(one, '1 pair(s) of views are placed to see the same surfaces but share almost none of their points '
    + '(b.png and a.png share 4 of 300): some of a.png, b.png may be misplaced (repeated or symmetric structure).');
  const many = conflictWarning([pair('a', 'b', 200, 0), pair('a', 'c', 900, 1), pair('d', 'b', 500, 2), pair('e', 'c', 700, 3)]);
  assert.match(many, /^4 pair\(s\) .*\(a and c share 1 of 900; e and c share 3 of 700; d and b share 2 of 500; \.\.\.\): some of a, b, c, d, e may/);
});

test('unregisteredReason: no match at all, matches only among unposed views, or matches posed views too weakly', () => {
  const pair = (view0: number, view1: number) => ({ view0, view1, matches: new Uint32Array(0) });
  const pairs = [pair(0, 1), pair(1, 2), pair(3, 4), pair(2, 5)];
  const registered = (v: number): boolean => v <= 2;
  assert.match(unregisteredReason(6, pairs, registered), /matches no other view/);
  assert.match(unregisteredReason(3, pairs, registered), /only views that are not registered either/);
  assert.match(unregisteredReason(5, pairs, registered), /matches 1 registered view\(s\), but too few/);
});

test('unregisteredWarning: one line, the views grouped by reason', () => {
  assert.equal(unregisteredWarning([{ name: 'a.png', reason: 'r1' }, { name: 'b.png', reason: 'r2' }, { name: 'c.png', reason: 'r1' }]),
    '3 view(s) could not be registered. a.png, c.png: r1. b.png: r2.');
});
