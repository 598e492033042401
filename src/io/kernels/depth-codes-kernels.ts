/**
 * The depth-code kernels (depth-codes.wat) for the 16-bit and colour PNG encoders: results equal to the TypeScript
 * loops, at a fraction of the time (1280x720: range + codes and colour codes each in a few ms). One scratch instance
 * is kept per process: its memory only stages a call's input and output, and nothing survives from one call to the
 * next. Where WebAssembly SIMD is missing, `depthCodeKernels()` is undefined and callers use their loops.
 */
import { WASM_BASE64 } from './depth-codes-wasm.ts';

interface DepthCodeExports {
  readonly memory: WebAssembly.Memory;
  finiteRange(src: number, n: number, out: number): void;
  linearCodes(src: number, n: number, min: number, scale: number, dst: number): void;
  colorCodes(src: number, n: number, low: number, span: number, inverted: number, dst: number): number;
}

export interface DepthCodeKernels {
  /** Linear 16-bit codes (1 + round((v - min) * 65534 / (max - min)), 0 for non-finite) and the finite range used. */
  quantize(data: Float32Array, steps: number): { codes: Uint16Array; min: number; max: number };
  /** Colormap codes of finite values (0 where invalid) and the number of invalid values. */
  colorCodes(data: Float32Array, low: number, span: number, inverted: boolean): { codes: Uint8Array; invalidCount: number };
}

let scratch: DepthCodeKernels | null | undefined;

export function depthCodeKernels(): DepthCodeKernels | undefined {
  if (scratch === undefined) scratch = instantiate();
  return scratch ?? undefined;
}

function instantiate(): DepthCodeKernels | null {
  let k: DepthCodeExports;
  try {
    const module = new WebAssembly.Module(Uint8Array.from(atob(WASM_BASE64), (c) => c.charCodeAt(0)));
    k = new WebAssembly.Instance(module).exports as unknown as DepthCodeExports;
  } catch {
    return null;
  }
  /** Room for n float32 inputs followed by n output bytes of `outBytes` each (16-byte aligned), plus 16 bytes. */
  const stage = (data: Float32Array, outBytes: number): { src: number; dst: number; end: number } => {
    const src = 16;
    const dst = src + Math.ceil((data.length * 4) / 16) * 16;
    const end = dst + data.length * outBytes;
    const have = k.memory.buffer.byteLength;
    if (end > have) k.memory.grow(Math.ceil((end - have) / 65536));
    new Float32Array(k.memory.buffer, src, data.length).set(data);
    return { src, dst, end };
  };
  return {
    quantize(data, steps) {
      const { src, dst } = stage(data, 2);
      k.finiteRange(src, data.length, 0);
      const range = new Float64Array(k.memory.buffer, 0, 2);
      const min = range[0]!;
      const max = range[1]!;
      const codes = new Uint16Array(data.length);
      if (min <= max) {
        k.linearCodes(src, data.length, min, max > min ? steps / (max - min) : 0, dst);
        codes.set(new Uint16Array(k.memory.buffer, dst, data.length));
      }
      return { codes, min, max };
    },
    colorCodes(data, low, span, inverted) {
      const { src, dst } = stage(data, 1);
      new Uint8Array(k.memory.buffer, dst, data.length).fill(0);
      const invalidCount = k.colorCodes(src, data.length, low, span, inverted ? 1 : 0, dst);
      return { codes: new Uint8Array(k.memory.buffer, dst, data.length).slice(), invalidCount };
    },
  };
}
