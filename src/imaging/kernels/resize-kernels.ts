/**
 * The WebAssembly SIMD resize kernels (resize.wat) behind a workspace: one instance and its linear memory, reused
 * across calls so that consecutive images neither recompile nor re-fault fresh pages. Results are bit-identical to
 * the TypeScript loops (same float64 products and sums, same float32 roundings), which stay as the fallback where
 * WebAssembly SIMD is missing. A workspace is owned by its caller (e.g. one depth estimator); nothing is global.
 */
import { WASM_BASE64 } from './resize-wasm.ts';

interface ResizeExports {
  readonly memory: WebAssembly.Memory;
  unitRow(src: number, n: number, lut: number, row: number): void;
  horizontalRgb(row: number, off: number, w: number, dst: number, outWidth: number): void;
  verticalNormalized(
    r0: number, r1: number, r2: number, r3: number, w0: number, w1: number, w2: number, w3: number,
    out: number, n: number, mean: number, std: number,
  ): void;
  bilinearRow(src: number, i0: number, i1: number, t: number, dst: number, n: number): void;
  blendRows(top: number, bottom: number, ty: number, out: number, n: number): void;
}

/** A kernel instance with its own memory; single-threaded, one call at a time. */
export interface ResizeWorkspace {
  readonly kernels: ResizeExports;
  /**
   * Byte offsets of consecutive regions of the given byte sizes (each 16-byte aligned), growing the memory when
   * needed. Views of the memory must be (re)made after this call: growing detaches the old buffer.
   */
  layout(sizes: readonly number[]): number[];
}

let compiled: WebAssembly.Module | null | undefined;

/** The compiled module (compiled once: it is immutable), or null where WebAssembly SIMD is unavailable. */
function resizeModule(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      compiled = new WebAssembly.Module(Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0)));
    } catch {
      compiled = null;
    }
  }
  return compiled;
}

/** A fresh workspace, or undefined where WebAssembly SIMD is unavailable (callers then use the TypeScript loops). */
export function createResizeWorkspace(): ResizeWorkspace | undefined {
  const module = resizeModule();
  if (module === null) return undefined;
  const kernels = new WebAssembly.Instance(module).exports as unknown as ResizeExports;
  return {
    kernels,
    layout(sizes) {
      const offsets: number[] = [];
      let end = 0;
      for (const size of sizes) {
        offsets.push(end);
        end += Math.ceil(size / 16) * 16;
      }
      const have = kernels.memory.buffer.byteLength;
      if (end > have) kernels.memory.grow(Math.ceil((end - have) / 65536));
      return offsets;
    },
  };
}
