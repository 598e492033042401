/** The real XFeat network and the ONNX matcher, opened once per test file (before) and released (after). */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { InferenceBackend } from '../../src/models/backend.ts';
import { createMutualNearestMatcher, type MutualNearestMatcher } from '../../src/models/matcher-graph.ts';
import { createOnnxRuntimeNodeBackend } from '../../src/models/onnxruntime-node.ts';
import { createXFeatExtractor, openXFeatSession, type XFeatExtractor } from '../../src/models/xfeat.ts';

export interface XFeatKit {
  readonly backend: InferenceBackend;
  readonly extractor: XFeatExtractor;
  readonly matcher: MutualNearestMatcher;
  close(): Promise<void>;
}

export async function openXFeatKit(modelPath: string): Promise<XFeatKit> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'anyview-xfeat-'));
  const backend = createOnnxRuntimeNodeBackend();
  const extractor = createXFeatExtractor(await openXFeatSession(backend, modelPath, { intraOpThreads: 2 }));
  const matcher = await createMutualNearestMatcher(backend, { scratchDir: scratch, intraOpThreads: 2 });
  return {
    backend, extractor, matcher,
    async close() {
      await backend.dispose();
      await rm(scratch, { recursive: true, force: true });
    },
  };
}
