// The models layer's public surface.

// Contracts
export * from './backend.ts';
export * from './model-spec.ts';

// Registry and family data
export * from './registry.ts';
export * from './depth-anything.ts';
export * from './depth-anything-3.ts';

// Feature networks (XFeat) and descriptor matching on onnxruntime
export * from './feature-models.ts';
export * from './xfeat.ts';
export * from './matcher-graph.ts';

// Getting the files
export * from './resolve.ts';
export * from './download.ts';
export * from './checksum.ts';

// Running them
export * from './onnxruntime-node.ts';
export * from './contract.ts';
