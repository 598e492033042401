/**
 * The Depth Anything V2 network (DINOv2 ViT encoder + DPT head) as an ONNX graph with random weights.
 * Dense FP32 cost does not depend on weight values, so this stands in for the real checkpoint in
 * benchmarks and plumbing tests. The structure follows Depth-Anything-V2's dpt.py, util/blocks.py and
 * dinov2.py (read for facts), in the op pattern a torch.onnx export produces (opset 17):
 * - patch embed Conv k=s=14; cls token; 37x37 position embedding resized bicubically (a = -0.75,
 *   half_pixel) by scale (H/14 + 0.1)/37, the DINOv2 `interpolate_offset`, computed from the dynamic input shape;
 * - pre-norm blocks with LayerScale, exact (erf) GELU MLP, attention softmax(q k^T / sqrt(d)) v;
 * - the final LayerNorm applied to the outputs of the intermediate blocks, cls token dropped;
 * - DPT: 1x1 projections, ConvTranspose x4 / x2, identity, 3x3 stride-2 conv; layer*_rn 3x3 convs;
 *   4 fusion blocks (ResidualConvUnits, bilinear align_corners resize, 1x1 out conv);
 *   output_conv1, bilinear align_corners to (14*ph, 14*pw), conv3x3 + ReLU + conv1x1 + ReLU.
 * Weight names mirror the PyTorch state dict, so the graph reads like the checkpoint.
 */
import { float, GraphBuilder } from './graph-builder.ts';

export interface DptVitConfig {
  readonly embedDim: number;
  readonly depth: number;
  readonly numHeads: number;
  readonly mlpRatio: number;
  readonly patchSize: number;
  /** Side of the learned position-embedding grid (518 / 14 = 37). */
  readonly posGrid: number;
  /** 0-based blocks whose outputs feed the DPT head. */
  readonly intermediateLayers: readonly [number, number, number, number];
  /** DPT fusion width. */
  readonly features: number;
  readonly outChannels: readonly [number, number, number, number];
  /** Width of output_conv2's hidden conv. */
  readonly headHidden: number;
}

/** Depth-Anything-V2-Small (vits): 24,785,089 PyTorch parameters. */
export const DEPTH_ANYTHING_V2_SMALL: DptVitConfig = {
  embedDim: 384,
  depth: 12,
  numHeads: 6,
  mlpRatio: 4,
  patchSize: 14,
  posGrid: 37,
  intermediateLayers: [2, 5, 8, 11],
  features: 64,
  outChannels: [48, 96, 192, 384],
  headHidden: 32,
};

/**
 * Parameters the PyTorch module has but its forward pass never uses, so an export drops them:
 * DINOv2's mask_token (embedDim) and refinenet4's resConfUnit1 (two 3x3 convs with bias).
 */
export function unusedModuleParameters(config: DptVitConfig): number {
  const f = config.features;
  return config.embedDim + 2 * (f * f * 9 + f);
}

/** Seeded uniform weights: mulberry32, so the same seed gives the same bytes on every machine. */
export function seededUniform(seed: number): (length: number, bound: number) => Float32Array {
  let state = seed >>> 0;
  return (length, bound) => {
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      out[i] = ((((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1) * bound;
    }
    return out;
  };
}

type Uniform = ReturnType<typeof seededUniform>;

/** Adds layers to one graph; weight scales keep activations O(1) so random outputs stay finite. */
class DptVitGraph {
  constructor(
    readonly g: GraphBuilder,
    private readonly uniform: Uniform,
  ) {}

  /** Draws from the graph's one seeded stream, so build order fixes every value. */
  uniformFor(length: number, bound: number): Float32Array {
    return this.uniform(length, bound);
  }

  private product(dims: readonly number[]): number {
    return dims.reduce((a, b) => a * b, 1);
  }

  /** Variance-preserving (LeCun) uniform weights for a layer with `fanIn` inputs. */
  private randomWeight(name: string, dims: readonly number[], fanIn: number): string {
    return this.g.weight(name, dims, this.uniform(this.product(dims), Math.sqrt(3 / fanIn)));
  }

  private filled(name: string, dims: readonly number[], value: number): string {
    return this.g.weight(name, dims, new Float32Array(this.product(dims)).fill(value));
  }

  private smallBias(name: string, length: number): string {
    return this.g.weight(name, [length], this.uniform(length, 0.02));
  }

  /** torch Linear as exported: MatMul with the transposed weight [in, out], then Add bias. */
  linear(x: string, name: string, inFeatures: number, outFeatures: number): string {
    const w = this.randomWeight(`${name}.weight`, [inFeatures, outFeatures], inFeatures);
    return this.g.op('Add', [this.g.op('MatMul', [x, w]), this.smallBias(`${name}.bias`, outFeatures)]);
  }

  conv(x: string, name: string, inCh: number, outCh: number, kernel: number, options: { stride?: number; bias?: boolean } = {}): string {
    const stride = options.stride ?? 1;
    const pad = kernel === 1 || stride === kernel ? 0 : Math.floor(kernel / 2);
    const w = this.randomWeight(`${name}.weight`, [outCh, inCh, kernel, kernel], inCh * kernel * kernel);
    const inputs = options.bias === false ? [x, w] : [x, w, this.smallBias(`${name}.bias`, outCh)];
    return this.g.op('Conv', inputs, {
      kernel_shape: [kernel, kernel],
      strides: [stride, stride],
      pads: [pad, pad, pad, pad],
      dilations: [1, 1],
      group: 1,
    });
  }

  /** ConvTranspose with kernel = stride, no padding: exact upsampling by `factor`. */
  convTranspose(x: string, name: string, channels: number, factor: number): string {
    const w = this.randomWeight(`${name}.weight`, [channels, channels, factor, factor], channels);
    return this.g.op('ConvTranspose', [x, w, this.smallBias(`${name}.bias`, channels)], {
      kernel_shape: [factor, factor],
      strides: [factor, factor],
      pads: [0, 0, 0, 0],
      dilations: [1, 1],
      group: 1,
    });
  }

  layerNorm(x: string, name: string, dim: number): string {
    const scale = this.filled(`${name}.weight`, [dim], 1);
    const bias = this.g.weight(`${name}.bias`, [dim], this.uniform(dim, 0.02));
    return this.g.op('LayerNormalization', [x, scale, bias], { axis: -1, epsilon: float(1e-6) });
  }

  /** Exact GELU as opset-17 exports write it: x * 0.5 * (1 + erf(x / sqrt 2)). */
  gelu(x: string): string {
    const g = this.g;
    const erf = g.op('Erf', [g.op('Div', [x, g.constFloat([Math.SQRT2], [], 'sqrt2')])]);
    const halfX = g.op('Mul', [x, g.constFloat([0.5], [], 'half')]);
    return g.op('Mul', [halfX, g.op('Add', [erf, g.constFloat([1], [], 'one')])]);
  }

  relu(x: string): string {
    return this.g.op('Relu', [x]);
  }

  /** Bilinear align_corners resize of NCHW `x` to the spatial size held by the int64 [2] value `sizeHw`. */
  resizeBilinearTo(x: string, channels: number, sizeHw: string): string {
    const sizes = this.g.op('Concat', [this.g.constInt64([1, channels], [2], 'nc'), sizeHw], { axis: 0 });
    return this.g.op('Resize', [x, '', '', sizes], {
      mode: 'linear',
      coordinate_transformation_mode: 'align_corners',
    });
  }

  /** Spatial dims [H, W] of an NCHW value, as int64 [2]. */
  spatialShape(x: string): string {
    const g = this.g;
    return g.op('Slice', [g.op('Shape', [x]), g.constInt64([2], [1], 'from'), g.constInt64([4], [1], 'to')]);
  }
}

interface VitShapes {
  /** int64 [2]: (H/14, W/14). */
  readonly patchHw: string;
}

function patchEmbedWithPositions(net: DptVitGraph, config: DptVitConfig, pixels: string): { tokens: string; shapes: VitShapes } {
  const { g } = net;
  const d = config.embedDim;
  const p = config.patchSize;
  const grid = config.posGrid;

  const patches = net.conv(pixels, 'pretrained.patch_embed.proj', 3, d, p, { stride: p });
  const flat = g.op('Transpose', [g.op('Reshape', [patches, g.constInt64([1, d, -1], [3], 'flat_shape')])], { perm: [0, 2, 1] });
  const clsToken = g.weight('pretrained.cls_token', [1, 1, d], new Float32Array(d).fill(1e-6));
  const tokens = g.op('Concat', [clsToken, flat], { axis: 1 });

  // Patch grid from the dynamic input shape: integer H // 14, W // 14.
  const patchHw = g.op('Div', [net.spatialShape(pixels), g.constInt64([p], [1], 'patch')]);

  const posEmbed = g.weight('pretrained.pos_embed', [1, grid * grid + 1, d], net.uniformFor((grid * grid + 1) * d, 0.02));
  const clsPos = g.op('Slice', [posEmbed, g.constInt64([0], [1]), g.constInt64([1], [1]), g.constInt64([1], [1], 'axis1')]);
  const gridPos = g.op('Slice', [posEmbed, g.constInt64([1], [1]), g.constInt64([grid * grid + 1], [1]), g.constInt64([1], [1], 'axis1')]);
  const gridNchw = g.op('Transpose', [g.op('Reshape', [gridPos, g.constInt64([1, grid, grid, d], [4])])], { perm: [0, 3, 1, 2] });
  // DINOv2 resizes by scale factor ((H/14 + 0.1) / 37), and Resize maps coordinates by that same scale.
  const offsetHw = g.op('Add', [g.op('Cast', [patchHw], { to: 1 /* FLOAT */ }), g.constFloat([0.1], [], 'interpolate_offset')]);
  const scaleHw = g.op('Div', [offsetHw, g.constFloat([grid], [], 'pos_grid')]);
  const scales = g.op('Concat', [g.constFloat([1, 1], [2], 'unit_scales'), scaleHw], { axis: 0 });
  const resized = g.op('Resize', [gridNchw, '', scales], {
    mode: 'cubic',
    cubic_coeff_a: float(-0.75),
    coordinate_transformation_mode: 'half_pixel',
  });
  const resizedTokens = g.op('Reshape', [g.op('Transpose', [resized], { perm: [0, 2, 3, 1] }), g.constInt64([1, -1, d], [3])]);
  const positions = g.op('Concat', [clsPos, resizedTokens], { axis: 1 });
  return { tokens: g.op('Add', [tokens, positions]), shapes: { patchHw } };
}

function attention(net: DptVitGraph, config: DptVitConfig, x: string, name: string): string {
  const { g } = net;
  const d = config.embedDim;
  const heads = config.numHeads;
  const headDim = d / heads;
  const qkv = net.linear(x, `${name}.qkv`, d, 3 * d);
  const split = g.op('Transpose', [g.op('Reshape', [qkv, g.constInt64([1, -1, 3, heads, headDim], [5], 'qkv_shape')])], {
    perm: [2, 0, 3, 1, 4],
  });
  const pick = (index: number) => g.op('Gather', [split, g.constInt64([index], [], `qkv_index`)], { axis: 0 });
  const q = g.op('Mul', [pick(0), g.constFloat([1 / Math.sqrt(headDim)], [], 'attn_scale')]);
  const kT = g.op('Transpose', [pick(1)], { perm: [0, 1, 3, 2] });
  const weights = g.op('Softmax', [g.op('MatMul', [q, kT])], { axis: -1 });
  const mixed = g.op('Transpose', [g.op('MatMul', [weights, pick(2)])], { perm: [0, 2, 1, 3] });
  const merged = g.op('Reshape', [mixed, g.constInt64([1, -1, d], [3], 'merge_shape')]);
  return net.linear(merged, `${name}.proj`, d, d);
}

function layerScale(net: DptVitGraph, x: string, name: string, dim: number): string {
  // DINOv2 small's trained gammas are well below 1; 0.1 keeps the random residual stream tame.
  return net.g.op('Mul', [x, net.g.weight(`${name}.gamma`, [dim], new Float32Array(dim).fill(0.1))]);
}

function block(net: DptVitGraph, config: DptVitConfig, x: string, index: number): string {
  const { g } = net;
  const d = config.embedDim;
  const hidden = d * config.mlpRatio;
  const name = `pretrained.blocks.${index}`;
  const attn = attention(net, config, net.layerNorm(x, `${name}.norm1`, d), `${name}.attn`);
  const afterAttn = g.op('Add', [x, layerScale(net, attn, `${name}.ls1`, d)]);
  const fc1 = net.gelu(net.linear(net.layerNorm(afterAttn, `${name}.norm2`, d), `${name}.mlp.fc1`, d, hidden));
  const mlp = net.linear(fc1, `${name}.mlp.fc2`, hidden, d);
  return g.op('Add', [afterAttn, layerScale(net, mlp, `${name}.ls2`, d)]);
}

function residualConvUnit(net: DptVitGraph, x: string, name: string, features: number): string {
  const c1 = net.conv(net.relu(x), `${name}.conv1`, features, features, 3);
  const c2 = net.conv(net.relu(c1), `${name}.conv2`, features, features, 3);
  return net.g.op('Add', [c2, x]);
}

/** FeatureFusionBlock: (x [+ RCU1(skip)]) -> RCU2 -> bilinear align_corners resize -> 1x1 out_conv. */
function fusionBlock(net: DptVitGraph, name: string, features: number, x: string, skip: string | undefined, sizeHw: string): string {
  const summed = skip === undefined ? x : net.g.op('Add', [x, residualConvUnit(net, skip, `${name}.resConfUnit1`, features)]);
  const refined = residualConvUnit(net, summed, `${name}.resConfUnit2`, features);
  return net.conv(net.resizeBilinearTo(refined, features, sizeHw), `${name}.out_conv`, features, features, 1);
}

function dptHead(net: DptVitGraph, config: DptVitConfig, layerTokens: readonly string[], shapes: VitShapes): string {
  const { g } = net;
  const d = config.embedDim;
  const f = config.features;
  const oc = config.outChannels;
  const gridShape = g.op('Concat', [g.constInt64([1, d], [2], 'nd'), shapes.patchHw], { axis: 0 });

  const reassembled = layerTokens.map((tokens, i) => {
    const channels = oc[i]!;
    const grid = g.op('Reshape', [g.op('Transpose', [tokens], { perm: [0, 2, 1] }), gridShape]);
    const projected = net.conv(grid, `depth_head.projects.${i}`, d, channels, 1);
    const resizeName = `depth_head.resize_layers.${i}`;
    if (i === 0) return net.convTranspose(projected, resizeName, channels, 4);
    if (i === 1) return net.convTranspose(projected, resizeName, channels, 2);
    if (i === 2) return projected;
    return net.conv(projected, resizeName, channels, channels, 3, { stride: 2 });
  });
  const rn = reassembled.map((layer, i) => net.conv(layer, `depth_head.scratch.layer${i + 1}_rn`, oc[i]!, f, 3, { bias: false }));
  const [rn1, rn2, rn3, rn4] = rn as [string, string, string, string];

  const path4 = fusionBlock(net, 'depth_head.scratch.refinenet4', f, rn4, undefined, net.spatialShape(rn3));
  const path3 = fusionBlock(net, 'depth_head.scratch.refinenet3', f, path4, rn3, net.spatialShape(rn2));
  const path2 = fusionBlock(net, 'depth_head.scratch.refinenet2', f, path3, rn2, net.spatialShape(rn1));
  const doubled = g.op('Mul', [net.spatialShape(rn1), g.constInt64([2], [1], 'two')]);
  const path1 = fusionBlock(net, 'depth_head.scratch.refinenet1', f, path2, rn1, doubled);

  const half = f / 2;
  const head1 = net.conv(path1, 'depth_head.scratch.output_conv1', f, half, 3);
  const fullHw = g.op('Mul', [shapes.patchHw, g.constInt64([config.patchSize], [1], 'patch_px')]);
  const upsampled = net.resizeBilinearTo(head1, half, fullHw);
  const hidden = net.relu(net.conv(upsampled, 'depth_head.scratch.output_conv2.0', half, config.headHidden, 3));
  return net.relu(net.conv(hidden, 'depth_head.scratch.output_conv2.2', config.headHidden, 1, 1));
}

export interface DptVitGraphOptions {
  readonly seed?: number;
  readonly inputName?: string;
  readonly outputName?: string;
}

/**
 * Builds the whole network: input [1,3,'height','width'] (H, W multiples of 14) ->
 * output [1,'height','width'] (relative disparity with real weights; meaningless with random ones).
 */
export function buildDptVit(config: DptVitConfig, options: DptVitGraphOptions = {}): GraphBuilder {
  const g = new GraphBuilder({ graphName: 'depth_anything_v2_random' });
  const net = new DptVitGraph(g, seededUniform(options.seed ?? 1234));
  const pixels = g.input(options.inputName ?? 'pixel_values', 'float32', [1, 3, 'height', 'width']);

  const embedded = patchEmbedWithPositions(net, config, pixels);
  const taps = new Set(config.intermediateLayers);
  const lastTap = Math.max(...config.intermediateLayers);
  let x = embedded.tokens;
  const tapped: string[] = [];
  for (let i = 0; i <= lastTap && i < config.depth; i++) {
    x = block(net, config, x, i);
    if (taps.has(i)) tapped.push(x);
  }
  // One shared final norm (pretrained.norm) on every tapped block; the cls token is dropped (use_clstoken False).
  const normScale = g.weight('pretrained.norm.weight', [config.embedDim], new Float32Array(config.embedDim).fill(1));
  const normBias = g.weight('pretrained.norm.bias', [config.embedDim], net.uniformFor(config.embedDim, 0.02));
  const patchTokens = tapped.map((tokens) => {
    const normed = g.op('LayerNormalization', [tokens, normScale, normBias], { axis: -1, epsilon: float(1e-6) });
    return g.op('Slice', [normed, g.constInt64([1], [1]), g.constInt64([Number.MAX_SAFE_INTEGER], [1]), g.constInt64([1], [1], 'axis1')]);
  });

  const depth = dptHead(net, config, patchTokens, embedded.shapes);
  const squeezed = g.op('Squeeze', [g.op('Relu', [depth]), g.constInt64([1], [1], 'channel_axis')]);
  g.output(squeezed, 'float32', [1, 'height', 'width'], options.outputName ?? 'predicted_depth');
  return g;
}
