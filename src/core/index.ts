export * from './errors.ts';
export * from './context.ts';
export * from './image.ts';
export * from './depth.ts';
export * from './mat4.ts';
export * from './camera.ts';
export * from './points.ts';
export * from './gaussians.ts';
