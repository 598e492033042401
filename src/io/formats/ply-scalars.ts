/** PLY's binary scalar types, shared by the point-cloud and the Gaussian-splat PLY readers. */

export type PlyScalarType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

/** Every type name a PLY header may use (the classic and the sized spellings). */
export const PLY_TYPE_ALIASES: Readonly<Record<string, PlyScalarType>> = Object.freeze({
  char: 'int8', int8: 'int8', uchar: 'uint8', uint8: 'uint8',
  short: 'int16', int16: 'int16', ushort: 'uint16', uint16: 'uint16',
  int: 'int32', int32: 'int32', uint: 'uint32', uint32: 'uint32',
  float: 'float32', float32: 'float32', double: 'float64', float64: 'float64',
});

export const PLY_TYPE_SIZES: Readonly<Record<PlyScalarType, number>> = Object.freeze({
  int8: 1, uint8: 1, int16: 2, uint16: 2, int32: 4, uint32: 4, float32: 4, float64: 8,
});

export function readPlyScalar(view: DataView, offset: number, type: PlyScalarType, little: boolean): number {
  switch (type) {
    case 'int8': return view.getInt8(offset);
    case 'uint8': return view.getUint8(offset);
    case 'int16': return view.getInt16(offset, little);
    case 'uint16': return view.getUint16(offset, little);
    case 'int32': return view.getInt32(offset, little);
    case 'uint32': return view.getUint32(offset, little);
    case 'float32': return view.getFloat32(offset, little);
    case 'float64': return view.getFloat64(offset, little);
  }
}
