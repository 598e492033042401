// The few WebAssembly JS API declarations the kernels use: the ES lib has none, and @types/node 20 only
// declares WebAssembly in its DOM-compatible globals for newer versions.
declare namespace WebAssembly {
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(deltaPages: number): number;
  }
  class Module {
    constructor(bytes: Uint8Array);
  }
  class Instance {
    constructor(module: Module, imports?: object);
    readonly exports: Record<string, unknown>;
  }
}
