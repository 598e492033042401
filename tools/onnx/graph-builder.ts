/**
 * A small typed builder for ONNX graphs over onnx-proto's generated protobuf code.
 * We cannot download real weights here, so tests and benchmarks build their own graphs with it:
 * declare inputs/outputs (fixed or symbolic dims), add initializers, chain nodes, then `toBytes()`.
 */
import onnxProto from 'onnx-proto';
import type { onnx as OnnxTypes } from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types the builder can declare; names follow onnxruntime's tensor type names. */
export type ElementType = 'float32' | 'float16' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';

/** A declared dimension: a fixed size, or a symbolic name such as 'height' (dynamic). */
export type Dim = number | string;

const ONNX_ELEMENT_TYPE: Readonly<Record<ElementType, number>> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  float16: onnx.TensorProto.DataType.FLOAT16,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
  uint8: onnx.TensorProto.DataType.UINT8,
  int8: onnx.TensorProto.DataType.INT8,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** A float attribute; plain numbers are ints, because most ONNX attributes (axis, kernel_shape...) are. */
export interface FloatAttribute {
  readonly float: number;
}
export interface FloatsAttribute {
  readonly floats: readonly number[];
}
/**
 * Attribute values: number -> INT, number[] -> INTS, string -> STRING,
 * `float(x)` -> FLOAT, `floats(xs)` -> FLOATS.
 */
export type AttributeValue = number | readonly number[] | string | FloatAttribute | FloatsAttribute;
export type Attributes = Readonly<Record<string, AttributeValue>>;

export const float = (value: number): FloatAttribute => ({ float: value });
export const floats = (values: readonly number[]): FloatsAttribute => ({ floats: values });

export interface OpOptions {
  /** Output names to use, or how many outputs to create with fresh names (default 1). */
  readonly outputs?: number | readonly string[];
  /** Node name; a fresh one by default. */
  readonly name?: string;
}

export interface GraphBuilderOptions {
  readonly graphName?: string;
  /** Default-domain opset; 17 has LayerNormalization and is what torch exports DA-V2 with. */
  readonly opset?: number;
  readonly producerName?: string;
}

type InitializerData = Float32Array | BigInt64Array | Int32Array | Uint8Array;

interface PendingInitializer {
  readonly name: string;
  readonly elementType: number;
  readonly dims: readonly number[];
  readonly data: InitializerData;
}

/** Validates dims against the element count of a typed array; shared by weights and constants. */
function checkedSize(name: string, dims: readonly number[], length: number): void {
  const size = dims.reduce((a, b) => a * b, 1);
  if (size !== length) {
    throw new Error(`Initializer '${name}': dims [${dims.join(', ')}] hold ${size} elements but data has ${length}.`);
  }
}

function valueInfo(name: string, elementType: ElementType, dims: readonly Dim[]): OnnxTypes.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ONNX_ELEMENT_TYPE[elementType],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attributeProto(name: string, value: AttributeValue): OnnxTypes.IAttributeProto {
  const types = onnx.AttributeProto.AttributeType;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`Attribute '${name}': ${value} is not an int; wrap floats in float().`);
    return { name, type: types.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: types.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    const ints = value as readonly number[];
    if (!ints.every(Number.isInteger)) throw new Error(`Attribute '${name}': ints expected; wrap floats in floats().`);
    return { name, type: types.INTS, ints: [...ints] };
  }
  if ('float' in value) return { name, type: types.FLOAT, f: value.float };
  return { name, type: types.FLOATS, floats: [...(value as FloatsAttribute).floats] };
}

function rawBytes(data: InitializerData): Uint8Array {
  // ONNX raw_data is little-endian, as is every host onnxruntime-node ships for.
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/**
 * Builds one ONNX model. Names are unique per builder; `op` returns the names of the values a node
 * produces so graphs read as data flow: `const y = g.op('Relu', [x])`.
 */
export class GraphBuilder {
  private readonly nodes: OnnxTypes.INodeProto[] = [];
  private readonly inputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly outputs: OnnxTypes.IValueInfoProto[] = [];
  private readonly initializers: PendingInitializer[] = [];
  private readonly usedNames = new Set<string>();
  private readonly counters = new Map<string, number>();
  private parameters = 0;
  readonly opset: number;
  private readonly graphName: string;
  private readonly producerName: string;

  constructor(options: GraphBuilderOptions = {}) {
    this.opset = options.opset ?? 17;
    this.graphName = options.graphName ?? 'graph';
    this.producerName = options.producerName ?? 'anyview-graph-builder';
  }

  /** A fresh value or node name derived from `hint` (hint itself when still free). */
  freshName(hint: string): string {
    let name = hint;
    while (this.usedNames.has(name)) {
      const n = (this.counters.get(hint) ?? 0) + 1;
      this.counters.set(hint, n);
      name = `${hint}_${n}`;
    }
    this.usedNames.add(name);
    return name;
  }

  private claim(name: string): string {
    if (this.usedNames.has(name)) throw new Error(`Value name '${name}' is already used in this graph.`);
    this.usedNames.add(name);
    return name;
  }

  /** Declares a graph input and returns its name. */
  input(name: string, elementType: ElementType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elementType, dims));
    return name;
  }

  /**
   * Declares `value` as a graph output called `name`. When the names differ an Identity renames it,
   * so any intermediate value can become an output.
   */
  output(value: string, elementType: ElementType, dims: readonly Dim[], name: string = value): string {
    if (name !== value) this.op('Identity', [value], {}, { outputs: [name] });
    this.outputs.push(valueInfo(name, elementType, dims));
    return name;
  }

  private addInitializer(name: string, elementType: ElementType, dims: readonly number[], data: InitializerData): string {
    checkedSize(name, dims, data.length);
    const unique = this.freshName(name);
    this.initializers.push({ name: unique, elementType: ONNX_ELEMENT_TYPE[elementType], dims: [...dims], data });
    return unique;
  }

  /** A learned float32 parameter: counted by `parameterCount`. */
  weight(name: string, dims: readonly number[], data: Float32Array): string {
    this.parameters += data.length;
    return this.addInitializer(name, 'float32', dims, data);
  }

  /** A float32 constant that is not a model parameter (scales, epsilons). Scalar when dims = []. */
  constFloat(values: Float32Array | readonly number[], dims: readonly number[] = [values.length], name = 'const_f'): string {
    const data = values instanceof Float32Array ? values : Float32Array.from(values);
    return this.addInitializer(name, 'float32', dims, data);
  }

  /** An int64 constant (shapes, axes, indices). Scalar when dims = []. */
  constInt64(values: BigInt64Array | readonly number[], dims: readonly number[] = [values.length], name = 'const_i'): string {
    const data = values instanceof BigInt64Array ? values : BigInt64Array.from(values, (v) => BigInt(v));
    return this.addInitializer(name, 'int64', dims, data);
  }

  /** Adds a node and returns its output names. Pass '' for an omitted optional input. */
  opMulti(type: string, inputs: readonly string[], attributes: Attributes = {}, options: OpOptions = {}): string[] {
    const requested = options.outputs ?? 1;
    const outputs =
      typeof requested === 'number'
        ? Array.from({ length: requested }, (_, i) => this.freshName(`${type.toLowerCase()}${requested > 1 ? `_o${i}` : ''}`))
        : requested.map((n) => this.claim(n));
    this.nodes.push({
      opType: type,
      name: options.name ?? this.freshName(`n_${type}`),
      input: [...inputs],
      output: outputs,
      attribute: Object.entries(attributes).map(([key, value]) => attributeProto(key, value)),
    });
    return outputs;
  }

  /** Adds a single-output node and returns that output's name. */
  op(type: string, inputs: readonly string[], attributes: Attributes = {}, options: OpOptions = {}): string {
    const [first] = this.opMulti(type, inputs, attributes, options);
    if (first === undefined) throw new Error(`op('${type}') produced no outputs.`);
    return first;
  }

  /** Number of float elements added through `weight` (the model's learned parameters). */
  parameterCount(): number {
    return this.parameters;
  }

  toModelProto(): OnnxTypes.ModelProto {
    return onnx.ModelProto.create({
      irVersion: 8,
      producerName: this.producerName,
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        input: this.inputs,
        output: this.outputs,
        initializer: this.initializers.map((init) => ({
          name: init.name,
          dataType: init.elementType,
          dims: [...init.dims],
          rawData: rawBytes(init.data),
        })),
      },
    });
  }

  /** Serialises the model; the same build calls always yield the same bytes. */
  toBytes(): Uint8Array {
    return onnx.ModelProto.encode(this.toModelProto()).finish();
  }
}
