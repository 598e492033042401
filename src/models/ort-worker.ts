/**
 * onnxruntime-node sessions hosted in a worker thread. ORT node runs a model synchronously on the thread that
 * calls it, so while a network runs, JavaScript waits, and most of a multi-view job is single-threaded
 * JavaScript around the networks. With the sessions in a worker, the caller keeps working (decoding one tile's
 * outputs, verifying one pair's matches) while the next run goes on in the worker.
 *
 * Inputs are copied to the worker (the caller's arrays stay its own); outputs come back as fresh arrays.
 * The worker holds the process open only while a request is pending.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type * as OrtTypes from 'onnxruntime-node';

/** A tensor as ORT takes and gives it: its element type name, dims and data (an ORT Tensor fits). */
export interface RawTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: unknown;
}

/** What a session needs of ORT: an in-process InferenceSession, or one hosted by the worker. */
export interface RawSession {
  readonly inputMetadata: readonly OrtTypes.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly OrtTypes.InferenceSession.ValueMetadata[];
  run(feeds: Readonly<Record<string, RawTensor>>): Promise<Record<string, RawTensor>>;
  release(): Promise<void>;
}

export interface OrtWorker {
  open(modelPath: string, options: OrtTypes.InferenceSession.SessionOptions): Promise<RawSession>;
  /** Stops the worker; pending requests fail. */
  terminate(): Promise<void>;
}

// CommonJS, evaluated in the worker: onnxruntime-node is required by its resolved path, so the worker finds the
// same package whether the CLI runs from the sources or from its bundle.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortEntry);
const sessions = new Map();
parentPort.on('message', async (message) => {
  const { id, kind } = message;
  try {
    if (kind === 'open') {
      const session = await ort.InferenceSession.create(message.modelPath, message.options);
      sessions.set(id, session);
      parentPort.postMessage({ id, result: { inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata } });
    } else if (kind === 'run') {
      const session = sessions.get(message.session);
      const feeds = {};
      for (const [name, t] of Object.entries(message.feeds)) feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
      const results = await session.run(feeds);
      const outputs = {};
      for (const [name, v] of Object.entries(results)) outputs[name] = { type: v.type, dims: v.dims, data: v.data };
      parentPort.postMessage({ id, result: outputs });
    } else if (kind === 'release') {
      const session = sessions.get(message.session);
      sessions.delete(message.session);
      if (session) await session.release();
      parentPort.postMessage({ id, result: null });
    }
  } catch (error) {
    parentPort.postMessage({ id, error: error instanceof Error ? error.message : String(error) });
  }
});
`;

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

export function startOrtWorker(): OrtWorker {
  const ortEntry = createRequire(import.meta.url).resolve('onnxruntime-node');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortEntry } });
  worker.unref();
  const pending = new Map<number, Pending>();
  let nextId = 1;
  let failure: Error | undefined;

  const settle = (id: number): Pending | undefined => {
    const entry = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) worker.unref();
    return entry;
  };
  worker.on('message', (message: { id: number; result?: unknown; error?: string }) => {
    const entry = settle(message.id);
    if (message.error !== undefined) entry?.reject(new Error(message.error));
    else entry?.resolve(message.result);
  });
  const failAll = (error: Error): void => {
    failure ??= error;
    for (const id of [...pending.keys()]) settle(id)?.reject(failure);
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`the inference worker stopped (exit code ${code}).`)));

  const request = <T>(message: Record<string, unknown>, id = nextId++): Promise<T> => new Promise<T>((resolve, reject) => {
    if (failure) {
      reject(failure);
      return;
    }
    if (pending.size === 0) worker.ref();
    pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
    worker.postMessage({ ...message, id });
  });

  return {
    async open(modelPath, options) {
      // The open request's id names the session in the worker.
      const id = nextId++;
      const meta = await request<Pick<RawSession, 'inputMetadata' | 'outputMetadata'>>({ kind: 'open', modelPath, options }, id);
      return {
        inputMetadata: meta.inputMetadata,
        outputMetadata: meta.outputMetadata,
        run: (feeds) => request<Record<string, RawTensor>>({ kind: 'run', session: id, feeds }),
        release: () => request<void>({ kind: 'release', session: id }),
      };
    },
    async terminate() {
      await worker.terminate();
    },
  };
}
