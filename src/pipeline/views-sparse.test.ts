import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conflictWarning } from './views-sparse.ts';

test('conflictWarning: one line with the count, the strongest three pairs and every view involved', () => {
  const pair = (a: string, b: string, expectedPoints: number, sharedPoints: number) => ({ views: [a, b] as [string, string], expectedPoints, sharedPoints });
  const one = conflictWarning([pair('b.png', 'a.png', 300, 4)]);
  assert.equal(one, '1 pair(s) of views are placed to see the same surfaces but share almost none of their points '
    + '(b.png and a.png share 4 of 300): some of a.png, b.png may be misplaced (repeated or symmetric structure).');
  const many = conflictWarning([pair('a', 'b', 200, 0), pair('a', 'c', 900, 1), pair('d', 'b', 500, 2), pair('e', 'c', 700, 3)]);
  assert.match(many, /^4 pair\(s\) .*\(a and c share 1 of 900; e and c share 3 of 700; d and b share 2 of 500; \.\.\.\): some of a, b, c, d, e may/);
});
