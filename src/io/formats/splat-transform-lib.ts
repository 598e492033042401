/**
 * @playcanvas/splat-transform, loaded on first use. It is a 5 MB bundle: through tsx (how the CLI runs) importing
 * it costs about 3 s and 500 MB of peak memory, which every command would pay at startup if it were a static
 * import. Only encoders and decoders that need it call this.
 */
export type SplatTransformLib = typeof import('@playcanvas/splat-transform');

let loading: Promise<SplatTransformLib> | undefined;

export function loadSplatTransform(): Promise<SplatTransformLib> {
  loading ??= import('@playcanvas/splat-transform');
  return loading;
}
