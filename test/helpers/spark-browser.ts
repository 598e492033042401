/**
 * Renders a splat PLY with Spark (@sparkjsdev/spark + three, WebGL2) in headless Debian chromium, driven by
 * puppeteer-core: a throwaway node http server on 127.0.0.1 serves a page whose import map points at the repo's
 * node_modules, the PLY bytes and the camera; the page renders once Spark's sort has settled and returns the
 * canvas pixels (RGBA, top row first). WebGL runs on SwiftShader (software), so no GPU or display is needed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import puppeteer from 'puppeteer-core';
import type { Camera } from '../../src/core/camera.ts';
import { glCameraMatrices } from '../../src/splat/gl-camera.ts';
import { REPO_ROOT } from './paths.ts';

/** Debian's chromium (scripts/test.sh installs it), or null when it is not installed. */
export function findChromium(): string | null {
  for (const candidate of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) {
    if (existsSync(candidate)) return candidate;
  }
  return null;
}

export interface SparkRenderOptions {
  readonly near: number;
  readonly far: number;
  /** SparkRenderer options that bring it closest to 3DGS (see the test for why each). */
  readonly spark: Readonly<Record<string, number | boolean>>;
}

export interface SparkRender {
  readonly width: number;
  readonly height: number;
  /** RGBA8, row 0 = top row. */
  readonly rgba: Uint8Array;
}

const PAGE = `<!doctype html><html><head><meta charset="utf-8">
<script type="importmap">{"imports":{"three":"/node_modules/three/build/three.module.js",
"three/addons/":"/node_modules/three/examples/jsm/","@sparkjsdev/spark":"/node_modules/@sparkjsdev/spark/dist/spark.module.js"}}</script>
</head><body><script type="module">
import * as THREE from 'three';
import { SparkRenderer, SplatMesh } from '@sparkjsdev/spark';
try {
  const cfg = await (await fetch('/config.json')).json();
  const canvas = document.createElement('canvas');
  canvas.width = cfg.width; canvas.height = cfg.height;
  document.body.appendChild(canvas);
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, alpha: false, preserveDrawingBuffer: true });
  renderer.setPixelRatio(1);
  renderer.setSize(cfg.width, cfg.height, false);
  // Spark decodes splat colours as sRGB to linear and relies on three's sRGB output encoding (the default) to undo it.
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  renderer.setClearColor(0x000000, 1);
  const scene = new THREE.Scene();
  // autoUpdate off: each view is updated and sorted explicitly (awaited) before it is drawn, so the result does not
  // depend on how fast the worker's sort lands on a loaded machine.
  const spark = new SparkRenderer({ renderer, autoUpdate: false, ...cfg.spark });
  scene.add(spark);
  const mesh = new SplatMesh({ url: '/scene.ply' });
  await mesh.initialized;
  scene.add(mesh);
  const gl = renderer.getContext();
  const views = [];
  for (const view of cfg.views) {
    const camera = new THREE.PerspectiveCamera();
    camera.matrixAutoUpdate = false;
    camera.matrix.set(...view.worldFromCamera);
    camera.matrixWorldNeedsUpdate = true;
    camera.updateMatrixWorld(true);
    camera.projectionMatrix.set(...view.projection);
    camera.projectionMatrixInverse.copy(camera.projectionMatrix).invert();
    // update() generates the view's splats and awaits the worker's depth sort; repeat until nothing is pending.
    for (let i = 0; i < 100; i++) {
      await spark.update({ scene, camera });
      if (i > 0 && !spark.sorting && !spark.sortDirty) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    renderer.render(scene, camera);
    const pixels = new Uint8Array(cfg.width * cfg.height * 4);
    gl.readPixels(0, 0, cfg.width, cfg.height, gl.RGBA, gl.UNSIGNED_BYTE, pixels);
    views.push(Array.from(pixels));
  }
  const dbg = gl.getExtension('WEBGL_debug_renderer_info');
  window.__result = { views, webglRenderer: dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER) };
} catch (error) {
  window.__result = { error: String(error && error.stack || error) };
}
</script></body></html>`;

const CONTENT_TYPES: Readonly<Record<string, string>> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
/** Only these node_modules packages are served. */
const SERVED_PACKAGES = ['three', '@sparkjsdev/spark'];

function startServer(ply: Uint8Array, config: object): Promise<Server> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const reply = (status: number, type: string, body: string | Uint8Array): void => {
      response.writeHead(status, { 'content-type': type });
      response.end(body);
    };
    if (url.pathname === '/') return reply(200, 'text/html', PAGE);
    if (url.pathname === '/config.json') return reply(200, 'application/json', JSON.stringify(config));
    if (url.pathname === '/scene.ply') return reply(200, 'application/octet-stream', ply);
    const relative = decodeURIComponent(url.pathname).replace(/^\/node_modules\//, '');
    if (url.pathname.startsWith('/node_modules/') && SERVED_PACKAGES.some((p) => relative.startsWith(`${p}/`)) && !relative.includes('..')) {
      const file = path.join(REPO_ROOT, 'node_modules', relative);
      readFile(file).then(
        (bytes) => reply(200, CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', bytes),
        () => reply(404, 'text/plain', 'not found'),
      );
      return;
    }
    reply(404, 'text/plain', 'not found');
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * Renders `ply` (INRIA 3DGS PLY bytes) from each camera with Spark in headless chromium (one browser and page for
 * all of them; the cameras must share one image size).
 */
export async function renderWithSpark(chromium: string, ply: Uint8Array, cameras: readonly Camera[], options: SparkRenderOptions): Promise<{ views: SparkRender[]; webglRenderer: string }> {
  const { width, height } = cameras[0]!.intrinsics;
  if (cameras.some((c) => c.intrinsics.width !== width || c.intrinsics.height !== height)) throw new Error('renderWithSpark: cameras must share one image size.');
  const views = cameras.map((camera) => {
    const gl = glCameraMatrices(camera, options.near, options.far);
    return { worldFromCamera: Array.from(gl.worldFromCamera), projection: Array.from(gl.projection) };
  });
  const server = await startServer(ply, { width, height, spark: options.spark, views });
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: ['--no-sandbox', '--headless=new', '--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  });
  try {
    const page = await browser.newPage();
    const port = (server.address() as AddressInfo).port;
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction('window.__result !== undefined', { timeout: 60_000, polling: 100 });
    const result = (await page.evaluate('window.__result')) as { views?: number[][]; webglRenderer?: string; error?: string };
    if (result.error !== undefined || result.views === undefined) throw new Error(`Spark page failed: ${result.error ?? 'no pixels'}`);
    const flipped = result.views.map((pixels) => {
      // readPixels returns the bottom row first.
      const rgba = new Uint8Array(width * height * 4);
      for (let y = 0; y < height; y++) rgba.set(pixels.slice((height - 1 - y) * width * 4, (height - y) * width * 4), y * width * 4);
      return { width, height, rgba };
    });
    return { views: flipped, webglRenderer: result.webglRenderer ?? 'unknown' };
  } finally {
    await browser.close();
    await new Promise((resolve) => server.close(resolve));
  }
}
