/**
 * What kind of media a file holds, from its first bytes (extension only as a fallback): format detection by
 * magic bytes first, as spark's getSplatFileType does.
 */
import { open } from 'node:fs/promises';
import path from 'node:path';

export type MediaKind = 'image' | 'video' | 'unknown';

export interface SniffResult {
  readonly kind: MediaKind;
  /** Short format name, e.g. 'jpeg', 'png', 'mp4'. */
  readonly format: string;
}

const IMAGE_EXTENSIONS: Readonly<Record<string, string>> = {
  '.jpg': 'jpeg', '.jpeg': 'jpeg', '.png': 'png', '.webp': 'webp', '.tif': 'tiff', '.tiff': 'tiff',
  '.gif': 'gif', '.avif': 'avif', '.heic': 'heif', '.heif': 'heif', '.ppm': 'ppm', '.pgm': 'pgm', '.bmp': 'bmp',
};
const VIDEO_EXTENSIONS: Readonly<Record<string, string>> = {
  '.mp4': 'mp4', '.m4v': 'mp4', '.mov': 'mov', '.webm': 'webm', '.mkv': 'mkv', '.avi': 'avi',
};

export const SUPPORTED_IMAGE_EXTENSIONS: readonly string[] = Object.keys(IMAGE_EXTENSIONS);
export const SUPPORTED_VIDEO_EXTENSIONS: readonly string[] = Object.keys(VIDEO_EXTENSIONS);

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** Classifies the leading bytes of a file (16 are enough). */
export function sniffBytes(head: Uint8Array): SniffResult | undefined {
  const b = head;
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', format: 'jpeg' };
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 4) === 'PNG') return { kind: 'image', format: 'png' };
  if (b.length >= 6 && ascii(b, 0, 4) === 'GIF8') return { kind: 'image', format: 'gif' };
  if (b.length >= 4 && ((b[0] === 0x49 && b[1] === 0x49 && b[2] === 0x2a && b[3] === 0) || (b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 0x2a))) {
    return { kind: 'image', format: 'tiff' };
  }
  if (b.length >= 2 && b[0] === 0x50 && b[1] !== undefined && b[1] >= 0x31 && b[1] <= 0x36) return { kind: 'image', format: 'pnm' };
  if (b.length >= 2 && ascii(b, 0, 2) === 'BM') return { kind: 'image', format: 'bmp' };
  if (b.length >= 12 && ascii(b, 0, 4) === 'RIFF') {
    const type = ascii(b, 8, 12);
    if (type === 'WEBP') return { kind: 'image', format: 'webp' };
    if (type === 'AVI ') return { kind: 'video', format: 'avi' };
  }
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { kind: 'video', format: 'mkv' };
  if (b.length >= 12 && ascii(b, 4, 8) === 'ftyp') {
    const brand = ascii(b, 8, 12);
    if (brand === 'avif' || brand === 'avis') return { kind: 'image', format: 'avif' };
    if (brand.startsWith('hei') || brand === 'mif1' || brand === 'msf1') return { kind: 'image', format: 'heif' };
    if (brand === 'qt  ') return { kind: 'video', format: 'mov' };
    return { kind: 'video', format: 'mp4' };
  }
  return undefined;
}

export function sniffExtension(filePath: string): SniffResult {
  const ext = path.extname(filePath).toLowerCase();
  const image = IMAGE_EXTENSIONS[ext];
  if (image !== undefined) return { kind: 'image', format: image };
  const video = VIDEO_EXTENSIONS[ext];
  if (video !== undefined) return { kind: 'video', format: video };
  return { kind: 'unknown', format: ext.replace(/^\./, '') || 'none' };
}

/** Sniffs a file on disk: magic bytes first, extension second. */
export async function sniffFile(filePath: string): Promise<SniffResult> {
  const handle = await open(filePath, 'r');
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await handle.read(head, 0, 16, 0);
    return sniffBytes(head.subarray(0, bytesRead)) ?? sniffExtension(filePath);
  } finally {
    await handle.close();
  }
}
