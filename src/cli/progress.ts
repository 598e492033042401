/**
 * Progress for people and for programs: a bar per stage on a TTY (stderr), JSON lines with --progress-json,
 * nothing otherwise. The library only emits ProgressEvents; drawing happens here.
 */
import cliProgress from 'cli-progress';
import type { ProgressEvent } from '../core/context.ts';

export interface ProgressSink {
  readonly onProgress: (event: ProgressEvent) => void;
  /** Stops bars so later output starts on a clean line; idempotent. */
  stop(): void;
}

function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
  return `${n} B`;
}

export function createProgressSink(mode: 'bar' | 'json' | 'none', stream: NodeJS.WriteStream = process.stderr): ProgressSink {
  if (mode === 'none') return { onProgress() {}, stop() {} };
  if (mode === 'json') {
    return {
      onProgress(event) {
        stream.write(`${JSON.stringify({ type: 'progress', ...event })}\n`);
      },
      stop() {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      stream,
      clearOnComplete: false,
      hideCursor: true,
      format: ' {stage} |{bar}| {value_fmt}/{total_fmt} {item}',
      formatValue: (v, _o, type) => String(v),
    },
    cliProgress.Presets.shades_classic,
  );
  const bars = new Map<string, cliProgress.SingleBar>();
  let stopped = false;
  return {
    onProgress(event) {
      if (stopped) return;
      const total = event.total ?? 0;
      const fmt = (n: number) => (event.unit === 'bytes' ? formatBytes(n) : String(n));
      const payload = {
        stage: event.stage.padEnd(9),
        item: event.item ?? '',
        value_fmt: fmt(event.done),
        total_fmt: event.total === undefined ? '?' : fmt(total),
      };
      let bar = bars.get(event.stage);
      if (bar === undefined) {
        bar = multi.create(Math.max(total, 1), event.done, payload);
        bars.set(event.stage, bar);
      }
      if (event.total !== undefined) bar.setTotal(Math.max(total, 1));
      bar.update(event.done, payload);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      multi.stop();
    },
  };
}
