import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { createCliLogger } from './log.ts';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => { text += d.toString(); });
  return { stream, text: () => text };
}

test('text logs: warnings always, info unless quiet, debug only when asked', () => {
  const out = capture();
  const log = createCliLogger({ debug: false, quiet: true, format: 'text' }, out.stream);
  log.debug('d');
  log.info('i');
  log.warn('no sha256 known');
  assert.equal(out.text(), 'anyview: warning: no sha256 known\n');
});

test('json logs are one JSON object per line, beside --progress-json events', () => {
  const out = capture();
  const log = createCliLogger({ debug: true, quiet: false, format: 'json' }, out.stream);
  log.debug('d');
  log.warn('w');
  assert.deepEqual(out.text().trim().split('\n').map((l) => JSON.parse(l)), [
    { type: 'log', level: 'debug', message: 'd' },
    { type: 'log', level: 'warn', message: 'w' },
  ]);
});
