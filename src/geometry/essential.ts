/**
 * Calibrated two-view geometry: the essential matrix E (x1^T E x0 = 0 for normalised camera coordinates,
 * E = [t]x R for the pose camera1FromCamera0) and the relative pose it encodes.
 *
 * - `fivePointEssential`: the minimal solver of Nistér (PAMI 2004) in the formulation of Stewénius, Engels &
 *   Nistér (2006): null space of the five epipolar constraints, the ten cubic constraints on E, Gauss-Jordan
 *   elimination and the eigenvectors of a 10x10 action matrix. Up to 10 real solutions.
 * - `estimateEssential`: LO-RANSAC (robust.ts) with MSAC on the Sampson error; local optimisation by the
 *   eight-point algorithm projected onto the essential manifold; final Levenberg-Marquardt minimisation of the
 *   Sampson error over the manifold (R, unit t) on all inliers.
 * - `recoverPoseFromEssential`: the four (R, t) decompositions, chosen by a cheirality vote as cv2.recoverPose
 *   does (points farther than `maxDepth` baselines count as at infinity), except that points at infinity vote
 *   for the rotation that makes their rays parallel, so that a near pure rotation keeps the right rotation.
 * - `estimateRelativePose`: the pixel-level convenience used by structure from motion.
 */
import type { Intrinsics } from '../core/camera.ts';
import { InputError } from '../core/errors.ts';
import { det3, rotationFromAxisAngle, mul3, type Mat3 } from './mat3.ts';
import type { RigidPose } from './rigid.ts';
import { runLoRansac, type RobustProblem, samplingOptions, type RobustSamplingOptions } from './robust.ts';
import {
  asFloat64Array, checkCorrespondences, composeSvd3, eightPointFundamental, normalizeFrobenius, sampsonErrorSquared, sampsonErrorsSquared, svd3,
} from './fundamental.ts';

// ---------------------------------------------------------------------------------------------------------
// Five-point minimal solver
// ---------------------------------------------------------------------------------------------------------

/**
 * Monomials of degree <= 3 in x, y, z, the ten cubic ones first (they are eliminated), then the quotient-ring
 * basis [xx, xy, yy, xz, yz, zz, x, y, z, 1] on which the action matrix acts. Exponents (x, y, z) per monomial.
 */
const MONOMIALS: readonly (readonly [number, number, number])[] = [
  [3, 0, 0], [2, 1, 0], [1, 2, 0], [0, 3, 0], [2, 0, 1], [1, 1, 1], [0, 2, 1], [1, 0, 2], [0, 1, 2], [0, 0, 3],
  [2, 0, 0], [1, 1, 0], [0, 2, 0], [1, 0, 1], [0, 1, 1], [0, 0, 2], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 0],
];
const NUM_MONOMIALS = 20;
const BASIS_OFFSET = 10;
const monomialKey = (e: readonly number[]): number => e[0]! * 16 + e[1]! * 4 + e[2]!;
const MONOMIAL_INDEX = new Map(MONOMIALS.map((e, i) => [monomialKey(e), i]));
/** PRODUCT_INDEX[i * 20 + j]: index of monomial_i * monomial_j, or -1 when its degree exceeds 3. */
const PRODUCT_INDEX = (() => {
  const table = new Int8Array(NUM_MONOMIALS * NUM_MONOMIALS).fill(-1);
  for (let i = 0; i < NUM_MONOMIALS; i++) {
    for (let j = 0; j < NUM_MONOMIALS; j++) {
      const e = [0, 1, 2].map((k) => MONOMIALS[i]![k]! + MONOMIALS[j]![k]!);
      table[i * NUM_MONOMIALS + j] = MONOMIAL_INDEX.get(monomialKey(e)) ?? -1;
    }
  }
  return table;
})();
const INDEX_X = MONOMIAL_INDEX.get(monomialKey([1, 0, 0]))!;
const INDEX_Y = MONOMIAL_INDEX.get(monomialKey([0, 1, 0]))!;
const INDEX_Z = MONOMIAL_INDEX.get(monomialKey([0, 0, 1]))!;
const INDEX_ONE = MONOMIAL_INDEX.get(monomialKey([0, 0, 0]))!;

/**
 * A polynomial as coefficients over MONOMIALS. The solver's scratch (polynomials, constraint rows, null
 * space) is plain arrays, not Float64Arrays: it makes ~100 of them per call, and V8 allocates small plain
 * arrays on its heap in nanoseconds whereas a typed array over 64 bytes gets an off-heap backing store, whose
 * allocation and collection dominated the solver's time.
 */
type Poly = number[];

function zeroPoly(): Poly {
  return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
}

/** Index of the first monomial of degree <= d in MONOMIALS (lower degrees come last). */
const FIRST_OF_DEGREE = [19, 16, 10, 0] as const;

/**
 * Product of two polynomials (coefficient vectors over MONOMIALS) of degrees at most da and db
 * (da + db <= 3); only their possibly nonzero terms are visited.
 */
function polyMul(a: Poly, da: 1 | 2, b: Poly, db: 1 | 2): Poly {
  const out = zeroPoly();
  for (let i = FIRST_OF_DEGREE[da]; i < NUM_MONOMIALS; i++) {
    const ai = a[i]!;
    if (ai === 0) continue;
    for (let j = FIRST_OF_DEGREE[db]; j < NUM_MONOMIALS; j++) {
      out[PRODUCT_INDEX[i * NUM_MONOMIALS + j]!]! += ai * b[j]!;
    }
  }
  return out;
}

/** a + s * b, in place into a. */
function polyAddScaled(a: Poly, b: Poly, s: number): Poly {
  for (let i = 0; i < NUM_MONOMIALS; i++) a[i]! += s * b[i]!;
  return a;
}

/**
 * Product of two linear polynomials a, b (coefficients [x, y, z, 1]) as a quadratic over the basis
 * [xx, xy, yy, xz, yz, zz, x, y, z, 1] (MONOMIALS 10..19), times `sign`, added into q. Straight-line code: the
 * solver forms 24 of these per call.
 */
function addLinearProduct(q: number[], ax: number, ay: number, az: number, a1: number, bx: number, by: number, bz: number, b1: number, sign: number): void {
  q[0]! += sign * ax * bx;
  q[1]! += sign * (ax * by + ay * bx);
  q[2]! += sign * ay * by;
  q[3]! += sign * (ax * bz + az * bx);
  q[4]! += sign * (ay * bz + az * by);
  q[5]! += sign * az * bz;
  q[6]! += sign * (ax * b1 + a1 * bx);
  q[7]! += sign * (ay * b1 + a1 * by);
  q[8]! += sign * (az * b1 + a1 * bz);
  q[9]! += sign * a1 * b1;
}

/**
 * Product of a quadratic q (basis [xx, xy, yy, xz, yz, zz, x, y, z, 1]) and a linear polynomial b ([x, y, z, 1])
 * as a cubic over MONOMIALS, added into out[at .. at + 19].
 */
function addQuadraticTimesLinear(out: number[], at: number, q: readonly number[], bx: number, by: number, bz: number, b1: number): void {
  const [xx, xy, yy, xz, yz, zz, x, y, z, one] = q as [number, number, number, number, number, number, number, number, number, number];
  out[at]! += xx * bx; // xxx
  out[at + 1]! += xx * by + xy * bx; // xxy
  out[at + 2]! += xy * by + yy * bx; // xyy
  out[at + 3]! += yy * by; // yyy
  out[at + 4]! += xx * bz + xz * bx; // xxz
  out[at + 5]! += xy * bz + xz * by + yz * bx; // xyz
  out[at + 6]! += yy * bz + yz * by; // yyz
  out[at + 7]! += xz * bz + zz * bx; // xzz
  out[at + 8]! += yz * bz + zz * by; // yzz
  out[at + 9]! += zz * bz; // zzz
  out[at + 10]! += xx * b1 + x * bx; // xx
  out[at + 11]! += xy * b1 + x * by + y * bx; // xy
  out[at + 12]! += yy * b1 + y * by; // yy
  out[at + 13]! += xz * b1 + x * bz + z * bx; // xz
  out[at + 14]! += yz * b1 + y * bz + z * by; // yz
  out[at + 15]! += zz * b1 + z * bz; // zz
  out[at + 16]! += x * b1 + one * bx; // x
  out[at + 17]! += y * b1 + one * by; // y
  out[at + 18]! += z * b1 + one * bz; // z
  out[at + 19]! += one * b1; // 1
}

/**
 * The 10x20 coefficient matrix of the cubic constraints det(E) = 0 and E E^T E - trace(E E^T) E / 2 = 0 for
 * E = x X + y Y + z Z + W (the four null vectors, row-major 3x3 each): entry k of E is the linear polynomial
 * [X[k], Y[k], Z[k], W[k]].
 */
function cubicConstraints(basis: readonly number[][]): number[] {
  const [X, Y, Z, W] = basis as [number[], number[], number[], number[]];
  const out = new Array<number>(10 * NUM_MONOMIALS).fill(0);
  // det(E) by cofactors along the third row: sum_c E[2][c] * (E[0][c+1] E[1][c+2] - E[0][c+2] E[1][c+1]).
  for (let c = 0; c < 3; c++) {
    const c1 = (c + 1) % 3, c2 = (c + 2) % 3;
    const minor = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    addLinearProduct(minor, X[c1]!, Y[c1]!, Z[c1]!, W[c1]!, X[3 + c2]!, Y[3 + c2]!, Z[3 + c2]!, W[3 + c2]!, 1);
    addLinearProduct(minor, X[c2]!, Y[c2]!, Z[c2]!, W[c2]!, X[3 + c1]!, Y[3 + c1]!, Z[3 + c1]!, W[3 + c1]!, -1);
    addQuadraticTimesLinear(out, 0, minor, X[6 + c]!, Y[6 + c]!, Z[6 + c]!, W[6 + c]!);
  }
  // L = E E^T - trace(E E^T) / 2 I (symmetric), then the nine entries of L E.
  const eet: number[][] = [];
  for (let r = 0; r < 3; r++) {
    for (let c = r; c < 3; c++) {
      const q = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
      for (let k = 0; k < 3; k++) {
        const i = 3 * r + k, j = 3 * c + k;
        addLinearProduct(q, X[i]!, Y[i]!, Z[i]!, W[i]!, X[j]!, Y[j]!, Z[j]!, W[j]!, 1);
      }
      eet[3 * r + c] = q;
      eet[3 * c + r] = q;
    }
  }
  const halfTrace = eet[0]!.map((v, k) => 0.5 * (v + eet[4]![k]! + eet[8]![k]!));
  const L = eet.map((q, k) => (k % 4 === 0 ? q.map((v, m) => v - halfTrace[m]!) : q));
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) {
      const at = (1 + 3 * r + c) * NUM_MONOMIALS;
      for (let k = 0; k < 3; k++) {
        const j = 3 * k + c;
        addQuadraticTimesLinear(out, at, L[3 * r + k]!, X[j]!, Y[j]!, Z[j]!, W[j]!);
      }
    }
  }
  return out;
}

/**
 * Gauss-Jordan elimination with partial pivoting of the first 10 columns of a 10x20 matrix (in place), so
 * that it becomes [I | B]. False when the left block is singular (degenerate sample).
 */
function gaussJordan10x20(m: number[]): boolean {
  const stride = NUM_MONOMIALS;
  for (let col = 0; col < 10; col++) {
    let pivot = col;
    for (let r = col + 1; r < 10; r++) if (Math.abs(m[r * stride + col]!) > Math.abs(m[pivot * stride + col]!)) pivot = r;
    const pivotValue = m[pivot * stride + col]!;
    if (!(Math.abs(pivotValue) > 1e-14)) return false;
    if (pivot !== col) {
      for (let c = 0; c < stride; c++) {
        const tmp = m[col * stride + c]!;
        m[col * stride + c] = m[pivot * stride + c]!;
        m[pivot * stride + c] = tmp;
      }
    }
    const inv = 1 / pivotValue;
    for (let c = col; c < stride; c++) m[col * stride + c]! *= inv;
    for (let r = 0; r < 10; r++) {
      if (r === col) continue;
      const factor = m[r * stride + col]!;
      if (factor === 0) continue;
      for (let c = col; c < stride; c++) m[r * stride + c]! -= factor * m[col * stride + c]!;
    }
  }
  return true;
}

/**
 * Basis of the 4-D null space of the five epipolar rows (5x9, row-major; overwritten) by Gauss-Jordan
 * elimination with full pivoting, as Nistér does: [I | B] after column permutation, so the null vectors are
 * (-B column, unit) in the permuted coordinates. Microseconds, where an SVD of the padded 9x9 takes ~100x
 * longer, and the five-point solver runs hundreds of times per image pair. Not orthonormal, which the
 * solver does not need (E = x X + y Y + z Z + W for any basis). Null for a rank-deficient sample.
 */
function nullSpaceOfFiveRows(rows: number[]): number[][] | null {
  const columns = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  let scale = 0;
  for (let i = 0; i < 45; i++) scale = Math.max(scale, Math.abs(rows[i]!));
  if (!(scale > 0)) return null;
  for (let k = 0; k < 5; k++) {
    let pivotRow = k, pivotColumn = k, pivotValue = 0;
    for (let r = k; r < 5; r++) {
      for (let c = k; c < 9; c++) {
        const value = Math.abs(rows[r * 9 + columns[c]!]!);
        if (value > pivotValue) { pivotValue = value; pivotRow = r; pivotColumn = c; }
      }
    }
    if (!(pivotValue > 1e-12 * scale)) return null;
    if (pivotRow !== k) {
      for (let c = 0; c < 9; c++) {
        const tmp = rows[k * 9 + c]!;
        rows[k * 9 + c] = rows[pivotRow * 9 + c]!;
        rows[pivotRow * 9 + c] = tmp;
      }
    }
    const tmp = columns[k]!; columns[k] = columns[pivotColumn]!; columns[pivotColumn] = tmp;
    const pc = columns[k]!;
    const inv = 1 / rows[k * 9 + pc]!;
    for (let c = 0; c < 9; c++) rows[k * 9 + c]! *= inv;
    for (let r = 0; r < 5; r++) {
      if (r === k) continue;
      const factor = rows[r * 9 + pc]!;
      if (factor === 0) continue;
      for (let c = 0; c < 9; c++) rows[r * 9 + c]! -= factor * rows[k * 9 + c]!;
    }
  }
  // Row k now reads e[columns[k]] + sum_j B[k][j] e[columns[5 + j]] = 0.
  const basis: number[][] = [];
  for (let j = 0; j < 4; j++) {
    const free = columns[5 + j]!;
    const v = [0, 0, 0, 0, 0, 0, 0, 0, 0];
    v[free] = 1;
    for (let k = 0; k < 5; k++) v[columns[k]!] = -rows[k * 9 + free]!;
    let norm = 0;
    for (let i = 0; i < 9; i++) norm += v[i]! * v[i]!;
    norm = Math.sqrt(norm);
    for (let i = 0; i < 9; i++) v[i]! /= norm;
    basis.push(v);
  }
  return basis;
}

/** Five-point solutions from the five epipolar constraint rows (5x9, row-major; overwritten). */
function fivePointFromRows(rows: number[]): Mat3[] {
  const basis = nullSpaceOfFiveRows(rows);
  if (basis === null) return [];
  const constraints = cubicConstraints(basis);
  // Scale each constraint row: Gauss-Jordan's pivoting then compares like with like.
  for (let r = 0; r < 10; r++) {
    let norm = 0;
    for (let c = 0; c < NUM_MONOMIALS; c++) norm += constraints[r * NUM_MONOMIALS + c]! * constraints[r * NUM_MONOMIALS + c]!;
    norm = Math.sqrt(norm);
    if (norm > 0) for (let c = 0; c < NUM_MONOMIALS; c++) constraints[r * NUM_MONOMIALS + c]! /= norm;
  }
  if (!gaussJordan10x20(constraints)) return [];
  // Action matrix of multiplication by x on the basis b = [xx, xy, yy, xz, yz, zz, x, y, z, 1]:
  // x * b_k is either a basis monomial or an eliminated cubic, which row r of [I | B] expresses as -B_r b.
  const action = new Array<number>(100).fill(0);
  for (let k = 0; k < 10; k++) {
    const product = PRODUCT_INDEX[INDEX_X * NUM_MONOMIALS + BASIS_OFFSET + k]!;
    if (product >= BASIS_OFFSET) action[10 * k + product - BASIS_OFFSET] = 1;
    else for (let c = 0; c < 10; c++) action[10 * k + c] = -constraints[product * NUM_MONOMIALS + BASIS_OFFSET + c]!;
  }
  const [X, Y, Z, W] = basis as [number[], number[], number[], number[]];
  const solutions: Mat3[] = [];
  // The last basis monomial is 1, so eigenvectors scaled to a unit last entry read x, y, z directly.
  for (const vector of realEigenvectorsUnitLast(action, 10)) {
    const x = vector[INDEX_X - BASIS_OFFSET]!;
    const y = vector[INDEX_Y - BASIS_OFFSET]!;
    const z = vector[INDEX_Z - BASIS_OFFSET]!;
    const e = new Float64Array(9);
    for (let i = 0; i < 9; i++) e[i] = x * X[i]! + y * Y[i]! + z * Z[i]! + W[i]!;
    const unit = normalizeFrobenius(e);
    if (unit !== null) solutions.push(unit);
  }
  return solutions;
}

// ---------------------------------------------------------------------------------------------------------
// Small dense eigenproblem of the action matrix
// ---------------------------------------------------------------------------------------------------------

/**
 * Reduces a general n x n matrix (row-major, in place) to upper Hessenberg form by stabilised elementary
 * similarity transformations (Gaussian elimination with pivoting, EISPACK's elmhes), zeroing what lies below
 * the subdiagonal. Eigenvalues are preserved.
 */
function toHessenberg(a: number[], n: number): void {
  for (let m = 1; m < n - 1; m++) {
    let x = 0, pivot = m;
    for (let j = m; j < n; j++) {
      if (Math.abs(a[j * n + m - 1]!) > Math.abs(x)) { x = a[j * n + m - 1]!; pivot = j; }
    }
    if (pivot !== m) {
      for (let j = m - 1; j < n; j++) { const t = a[pivot * n + j]!; a[pivot * n + j] = a[m * n + j]!; a[m * n + j] = t; }
      for (let j = 0; j < n; j++) { const t = a[j * n + pivot]!; a[j * n + pivot] = a[j * n + m]!; a[j * n + m] = t; }
    }
    if (x === 0) continue;
    for (let i = m + 1; i < n; i++) {
      let y = a[i * n + m - 1]!;
      if (y === 0) continue;
      y /= x;
      a[i * n + m - 1] = 0;
      for (let j = m; j < n; j++) a[i * n + j]! -= y * a[m * n + j]!;
      for (let j = 0; j < n; j++) a[j * n + m]! += y * a[j * n + i]!;
    }
  }
}

/**
 * All eigenvalues (re, im) of an upper Hessenberg matrix (row-major, destroyed) by the Francis double-shift QR
 * algorithm (EISPACK hqr). False when it fails to converge (30 iterations for one eigenvalue).
 */
function hessenbergEigenvalues(a: number[], n: number, re: number[], im: number[]): boolean {
  let anorm = 0;
  for (let i = 0; i < n; i++) for (let j = Math.max(i - 1, 0); j < n; j++) anorm += Math.abs(a[i * n + j]!);
  let nn = n - 1;
  let t = 0;
  let p = 0, q = 0, r = 0, s = 0, w = 0, x = 0, y = 0, z = 0;
  while (nn >= 0) {
    let its = 0;
    let l: number;
    do {
      // Look for a single small subdiagonal element to split the matrix.
      for (l = nn; l >= 1; l--) {
        s = Math.abs(a[(l - 1) * n + (l - 1)]!) + Math.abs(a[l * n + l]!);
        if (s === 0) s = anorm;
        if (Math.abs(a[l * n + (l - 1)]!) + s === s) { a[l * n + l - 1] = 0; break; }
      }
      x = a[nn * n + nn]!;
      if (l === nn) {
        // One root found.
        re[nn] = x + t; im[nn] = 0; nn--;
      } else {
        y = a[(nn - 1) * n + (nn - 1)]!;
        w = a[nn * n + (nn - 1)]! * a[(nn - 1) * n + nn]!;
        if (l === nn - 1) {
          // Two roots found.
          p = 0.5 * (y - x);
          q = p * p + w;
          z = Math.sqrt(Math.abs(q));
          x += t;
          if (q >= 0) {
            z = p + (p >= 0 ? Math.abs(z) : -Math.abs(z));
            re[nn - 1] = re[nn] = x + z;
            if (z !== 0) re[nn] = x - w / z;
            im[nn - 1] = im[nn] = 0;
          } else {
            re[nn - 1] = re[nn] = x + p;
            im[nn - 1] = -z; im[nn] = z;
          }
          nn -= 2;
        } else {
          if (its === 30) return false;
          if (its === 10 || its === 20) {
            // Exceptional shift.
            t += x;
            for (let i = 0; i <= nn; i++) a[i * n + i]! -= x;
            s = Math.abs(a[nn * n + (nn - 1)]!) + Math.abs(a[(nn - 1) * n + (nn - 2)]!);
            y = x = 0.75 * s;
            w = -0.4375 * s * s;
          }
          its++;
          // Form the shift and look for two consecutive small subdiagonal elements.
          let m: number;
          for (m = nn - 2; m >= l; m--) {
            z = a[m * n + m]!;
            r = x - z;
            s = y - z;
            p = (r * s - w) / a[(m + 1) * n + m]! + a[m * n + (m + 1)]!;
            q = a[(m + 1) * n + (m + 1)]! - z - r - s;
            r = a[(m + 2) * n + (m + 1)]!;
            s = Math.abs(p) + Math.abs(q) + Math.abs(r);
            p /= s; q /= s; r /= s;
            if (m === l) break;
            const u = Math.abs(a[m * n + (m - 1)]!) * (Math.abs(q) + Math.abs(r));
            const v = Math.abs(p) * (Math.abs(a[(m - 1) * n + (m - 1)]!) + Math.abs(z) + Math.abs(a[(m + 1) * n + (m + 1)]!));
            if (u + v === v) break;
          }
          for (let i = m + 2; i <= nn; i++) {
            a[i * n + i - 2] = 0;
            if (i !== m + 2) a[i * n + i - 3] = 0;
          }
          // Double QR step on rows l..nn and columns m..nn.
          for (let k = m; k <= nn - 1; k++) {
            if (k !== m) {
              p = a[k * n + (k - 1)]!;
              q = a[(k + 1) * n + (k - 1)]!;
              r = k !== nn - 1 ? a[(k + 2) * n + (k - 1)]! : 0;
              x = Math.abs(p) + Math.abs(q) + Math.abs(r);
              if (x !== 0) { p /= x; q /= x; r /= x; }
            }
            const norm = Math.sqrt(p * p + q * q + r * r);
            s = p >= 0 ? norm : -norm;
            if (s === 0) continue;
            if (k === m) {
              if (l !== m) a[k * n + k - 1] = -a[k * n + (k - 1)]!;
            } else {
              a[k * n + k - 1] = -s * x;
            }
            p += s;
            x = p / s; y = q / s; z = r / s; q /= p; r /= p;
            for (let j = k; j <= nn; j++) {
              p = a[k * n + j]! + q * a[(k + 1) * n + j]!;
              if (k !== nn - 1) { p += r * a[(k + 2) * n + j]!; a[(k + 2) * n + j]! -= p * z; }
              a[(k + 1) * n + j]! -= p * y;
              a[k * n + j]! -= p * x;
            }
            const last = nn < k + 3 ? nn : k + 3;
            for (let i = l; i <= last; i++) {
              p = x * a[i * n + k]! + y * a[i * n + (k + 1)]!;
              if (k !== nn - 1) { p += z * a[i * n + (k + 2)]!; a[i * n + k + 2]! -= p * r; }
              a[i * n + k + 1]! -= p * q;
              a[i * n + k]! -= p;
            }
          }
        }
      }
    } while (nn >= 0 && l < nn - 1);
  }
  return true;
}

/**
 * Eigenvector of `matrix` (row-major n x n) for the real eigenvalue `lambda`, scaled so that its last
 * component is 1: the solution of (A - lambda I) v = 0 with v[n-1] = 1, i.e. the consistent n x (n-1) system
 * (A - lambda I)[:, :n-1] w = -(A - lambda I)[:, n-1], by Gaussian elimination with partial pivoting. Null when
 * that system is singular (an eigenvector with last component 0, which the five-point solver, whose last
 * basis monomial is 1, cannot use anyway).
 */
function eigenvectorWithUnitLast(matrix: ArrayLike<number>, n: number, lambda: number): Float64Array | null {
  const m = n - 1;
  // Augmented [A - lambda I | -(last column)] as n rows of m + 1 entries.
  const a = new Array<number>(n * n);
  let scale = 0;
  for (let r = 0; r < n; r++) {
    for (let c = 0; c < m; c++) {
      const value = matrix[r * n + c]! - (r === c ? lambda : 0);
      a[r * n + c] = value;
      scale = Math.max(scale, Math.abs(value));
    }
    a[r * n + m] = -(matrix[r * n + m]! - (r === m ? lambda : 0));
  }
  for (let k = 0; k < m; k++) {
    let pivot = k;
    for (let r = k + 1; r < n; r++) if (Math.abs(a[r * n + k]!) > Math.abs(a[pivot * n + k]!)) pivot = r;
    const pivotValue = a[pivot * n + k]!;
    if (!(Math.abs(pivotValue) > 1e-12 * scale)) return null;
    if (pivot !== k) {
      for (let c = k; c < n; c++) { const t = a[k * n + c]!; a[k * n + c] = a[pivot * n + c]!; a[pivot * n + c] = t; }
    }
    for (let r = k + 1; r < n; r++) {
      const factor = a[r * n + k]! / pivotValue;
      if (factor === 0) continue;
      for (let c = k; c < n; c++) a[r * n + c]! -= factor * a[k * n + c]!;
    }
  }
  const v = new Float64Array(n);
  v[m] = 1;
  for (let k = m - 1; k >= 0; k--) {
    let sum = a[k * n + m]!;
    for (let j = k + 1; j < m; j++) sum -= a[k * n + j]! * v[j]!;
    v[k] = sum / a[k * n + k]!;
  }
  for (let i = 0; i < n; i++) if (!Number.isFinite(v[i]!)) return null;
  return v;
}

/**
 * Eigenvectors of the real eigenvalues of a small dense nonsymmetric matrix (row-major), each scaled so that
 * its last component is 1 (those whose last component vanishes are dropped): Hessenberg reduction and Francis
 * QR for the eigenvalues, then one linear solve per real eigenvalue. Hand-written for the five-point solver's
 * 10x10 action matrix, which runs hundreds of times per image pair: ml-matrix's EigenvalueDecomposition gives
 * the same eigenpairs (the unit tests check it) at several times the cost, most of it allocation and garbage
 * collection. Complex pairs are skipped: they are not real solutions.
 */
export function realEigenvectorsUnitLast(matrix: ArrayLike<number>, n: number): Float64Array[] {
  if (matrix.length !== n * n) throw new RangeError(`realEigenvectorsUnitLast: ${matrix.length} values for a ${n}x${n} matrix`);
  // Plain arrays: V8 allocates these on its heap, where typed arrays this size would get off-heap storage.
  const h = Array.from(matrix);
  toHessenberg(h, n);
  const re = new Array<number>(n).fill(0), im = new Array<number>(n).fill(0);
  if (!hessenbergEigenvalues(h, n, re, im)) return [];
  const out: Float64Array[] = [];
  for (let k = 0; k < n; k++) {
    if (im[k] !== 0 || !Number.isFinite(re[k]!)) continue;
    const v = eigenvectorWithUnitLast(matrix, n, re[k]!);
    if (v !== null) out.push(v);
  }
  return out;
}

/** Epipolar constraint row of x1^T E x0 = 0 over E's row-major entries, written at `offset`. */
function writeEpipolarRow(rows: number[], offset: number, x0: number, y0: number, x1: number, y1: number): void {
  rows[offset] = x1 * x0; rows[offset + 1] = x1 * y0; rows[offset + 2] = x1;
  rows[offset + 3] = y1 * x0; rows[offset + 4] = y1 * y0; rows[offset + 5] = y1;
  rows[offset + 6] = x0; rows[offset + 7] = y0; rows[offset + 8] = 1;
}

/**
 * Essential matrices (unit Frobenius norm, up to 10) consistent with five correspondences in normalised
 * camera coordinates, x0 and x1 holding x, y interleaved (10 numbers each). Empty for a degenerate sample.
 */
export function fivePointEssential(x0: ArrayLike<number>, x1: ArrayLike<number>): Mat3[] {
  if (x0.length !== 10 || x1.length !== 10) throw new RangeError(`fivePointEssential needs 5 points (10 numbers) per view, got ${x0.length} and ${x1.length}`);
  const rows = new Array<number>(45).fill(0);
  for (let k = 0; k < 5; k++) writeEpipolarRow(rows, 9 * k, x0[2 * k]!, x0[2 * k + 1]!, x1[2 * k]!, x1[2 * k + 1]!);
  return fivePointFromRows(rows);
}

function fivePointFromSample(points0: ArrayLike<number>, points1: ArrayLike<number>, sample: ArrayLike<number>): Mat3[] {
  const rows = new Array<number>(45).fill(0);
  for (let k = 0; k < 5; k++) {
    const i = sample[k]!;
    writeEpipolarRow(rows, 9 * k, points0[2 * i]!, points0[2 * i + 1]!, points1[2 * i]!, points1[2 * i + 1]!);
  }
  return fivePointFromRows(rows);
}

// ---------------------------------------------------------------------------------------------------------
// Manifold projection, decomposition and refinement
// ---------------------------------------------------------------------------------------------------------

/** Closest essential matrix (two equal singular values, one zero) to a 3x3 matrix, unit Frobenius norm. */
export function projectToEssential(m: Mat3): Mat3 | null {
  const { u, v } = svd3(m);
  return normalizeFrobenius(composeSvd3(u, [1, 1, 0], v));
}

/** Eight-point algorithm on normalised coordinates, projected onto the essential manifold. */
export function eightPointEssential(x0n: ArrayLike<number>, x1n: ArrayLike<number>, indices?: ArrayLike<number>): Mat3 | null {
  const f = eightPointFundamental(x0n, x1n, indices);
  return f === null ? null : projectToEssential(f);
}

/** The four (R, t) pairs with [t]x R ~ E: (R1, t), (R1, -t), (R2, t), (R2, -t), |t| = 1 (as cv2.decomposeEssentialMat). */
export function decomposeEssential(essential: Mat3): RigidPose[] {
  const { u, v } = svd3(essential);
  if (det3(u) < 0) for (let i = 0; i < 9; i++) u[i] = -u[i]!;
  if (det3(v) < 0) for (let i = 0; i < 9; i++) v[i] = -v[i]!;
  const vt = Float64Array.of(v[0]!, v[3]!, v[6]!, v[1]!, v[4]!, v[7]!, v[2]!, v[5]!, v[8]!);
  const w = Float64Array.of(0, 1, 0, -1, 0, 0, 0, 0, 1);
  const wt = Float64Array.of(0, -1, 0, 1, 0, 0, 0, 0, 1);
  const r1 = mul3(mul3(u, w), vt);
  const r2 = mul3(mul3(u, wt), vt);
  const t = Float64Array.of(u[2]!, u[5]!, u[8]!);
  const minus = Float64Array.of(-t[0]!, -t[1]!, -t[2]!);
  return [
    { rotation: r1, translation: t },
    { rotation: r1, translation: minus },
    { rotation: r2, translation: Float64Array.from(t) },
    { rotation: r2, translation: Float64Array.from(minus) },
  ];
}

/** E = [t]x R. */
export function essentialFromPose(pose: RigidPose): Mat3 {
  const t = pose.translation, r = pose.rotation;
  const skew = Float64Array.of(0, -t[2]!, t[1]!, t[2]!, 0, -t[0]!, -t[1]!, t[0]!, 0);
  return mul3(skew, r);
}

/** Levenberg-Marquardt settings of the Sampson refinement. */
const LM_MAX_ITERATIONS = 20;
const LM_INITIAL_DAMPING = 1e-4;

/** Solves the symmetric positive definite 5x5 system a x = b (Cholesky); null if not positive definite. */
function solveSpd5(a: Float64Array, b: Float64Array): Float64Array | null {
  const n = 5;
  const l = new Float64Array(25);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * n + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * n + k]! * l[j * n + k]!;
      if (i === j) {
        if (!(sum > 0)) return null;
        l[i * n + i] = Math.sqrt(sum);
      } else {
        l[i * n + j] = sum / l[j * n + j]!;
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * n + k]! * y[k]!;
    y[i] = sum / l[i * n + i]!;
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < n; k++) sum -= l[k * n + i]! * x[k]!;
    x[i] = sum / l[i * n + i]!;
  }
  return x;
}

/** Two unit vectors orthogonal to the unit vector t and to each other: the tangent space of the sphere at t. */
function tangentBasis(t: ArrayLike<number>): [Float64Array, Float64Array] {
  // Cross with the axis least aligned with t.
  const ax = Math.abs(t[0]!), ay = Math.abs(t[1]!), az = Math.abs(t[2]!);
  const axis = ax <= ay && ax <= az ? [1, 0, 0] : ay <= az ? [0, 1, 0] : [0, 0, 1];
  let b1x = t[1]! * axis[2]! - t[2]! * axis[1]!, b1y = t[2]! * axis[0]! - t[0]! * axis[2]!, b1z = t[0]! * axis[1]! - t[1]! * axis[0]!;
  const n1 = Math.hypot(b1x, b1y, b1z);
  b1x /= n1; b1y /= n1; b1z /= n1;
  const b2 = Float64Array.of(t[1]! * b1z - t[2]! * b1y, t[2]! * b1x - t[0]! * b1z, t[0]! * b1y - t[1]! * b1x);
  return [Float64Array.of(b1x, b1y, b1z), b2];
}

/** Sum of squared Sampson errors of E over the selected correspondences. */
function sampsonCost(e: Mat3, x0n: ArrayLike<number>, x1n: ArrayLike<number>, indices: ArrayLike<number>): number {
  let cost = 0;
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    cost += sampsonErrorSquared(e, x0n[2 * i]!, x0n[2 * i + 1]!, x1n[2 * i]!, x1n[2 * i + 1]!);
  }
  return cost;
}

/**
 * Minimises the sum of squared Sampson errors over the essential manifold, E = [t]x R with R a rotation and t a
 * unit vector (5 degrees of freedom), by Levenberg-Marquardt with analytic derivatives: R <- exp([w]x) R,
 * t <- normalise(t + d1 b1 + d2 b2). Returns the refined E (unit Frobenius norm), never worse than the input.
 */
export function refineEssentialSampson(essential: Mat3, x0n: ArrayLike<number>, x1n: ArrayLike<number>, indices: ArrayLike<number>): Mat3 {
  if (indices.length < 5) return essential;
  let pose = decomposeEssential(essential)[0]!;
  let current = normalizeFrobenius(essentialFromPose(pose))!;
  let cost = sampsonCost(current, x0n, x1n, indices);
  const startCost = sampsonCost(essential, x0n, x1n, indices);
  let damping = LM_INITIAL_DAMPING;
  const jtj = new Float64Array(25), jtr = new Float64Array(5), jrow = new Float64Array(5);
  const directions: Mat3[] = new Array(5);
  for (let iteration = 0; iteration < LM_MAX_ITERATIONS; iteration++) {
    const r = pose.rotation, t = pose.translation;
    const skewT = Float64Array.of(0, -t[2]!, t[1]!, t[2]!, 0, -t[0]!, -t[1]!, t[0]!, 0);
    const e = mul3(skewT, r);
    const [b1, b2] = tangentBasis(t);
    // dE/dw_k = [t]x [e_k]x R; dE/dd_j = [b_j]x R.
    for (let k = 0; k < 3; k++) {
      const axis = [0, 0, 0]; axis[k] = 1;
      const ek = Float64Array.of(0, -axis[2]!, axis[1]!, axis[2]!, 0, -axis[0]!, -axis[1]!, axis[0]!, 0);
      directions[k] = mul3(skewT, mul3(ek, r));
    }
    directions[3] = mul3(Float64Array.of(0, -b1[2]!, b1[1]!, b1[2]!, 0, -b1[0]!, -b1[1]!, b1[0]!, 0), r);
    directions[4] = mul3(Float64Array.of(0, -b2[2]!, b2[1]!, b2[2]!, 0, -b2[0]!, -b2[1]!, b2[0]!, 0), r);
    jtj.fill(0); jtr.fill(0);
    for (let k = 0; k < indices.length; k++) {
      const i = indices[k]!;
      const x0 = x0n[2 * i]!, y0 = x0n[2 * i + 1]!, x1 = x1n[2 * i]!, y1 = x1n[2 * i + 1]!;
      const l0 = e[0]! * x0 + e[1]! * y0 + e[2]!, l1 = e[3]! * x0 + e[4]! * y0 + e[5]!, l2 = e[6]! * x0 + e[7]! * y0 + e[8]!;
      const m0 = e[0]! * x1 + e[3]! * y1 + e[6]!, m1 = e[1]! * x1 + e[4]! * y1 + e[7]!;
      const num = x1 * l0 + y1 * l1 + l2;
      const den = l0 * l0 + l1 * l1 + m0 * m0 + m1 * m1;
      if (!(den > 1e-300)) continue;
      const invSqrt = 1 / Math.sqrt(den);
      const residual = num * invSqrt;
      for (let p = 0; p < 5; p++) {
        const d = directions[p]!;
        const dl0 = d[0]! * x0 + d[1]! * y0 + d[2]!, dl1 = d[3]! * x0 + d[4]! * y0 + d[5]!, dl2 = d[6]! * x0 + d[7]! * y0 + d[8]!;
        const dm0 = d[0]! * x1 + d[3]! * y1 + d[6]!, dm1 = d[1]! * x1 + d[4]! * y1 + d[7]!;
        const dnum = x1 * dl0 + y1 * dl1 + dl2;
        const dden = 2 * (l0 * dl0 + l1 * dl1 + m0 * dm0 + m1 * dm1);
        jrow[p] = dnum * invSqrt - 0.5 * num * dden * invSqrt * invSqrt * invSqrt;
      }
      for (let p = 0; p < 5; p++) {
        jtr[p]! += jrow[p]! * residual;
        for (let q = 0; q < 5; q++) jtj[p * 5 + q]! += jrow[p]! * jrow[q]!;
      }
    }
    let improved = false;
    // Raise the damping until a step lowers the cost (or give up).
    for (let attempt = 0; attempt < 10 && !improved; attempt++) {
      const a = Float64Array.from(jtj);
      for (let p = 0; p < 5; p++) a[p * 6]! += damping * Math.max(jtj[p * 6]!, 1e-12);
      const minusJtr = jtr.map((v) => -v);
      const step = solveSpd5(a, minusJtr);
      if (step === null) { damping *= 10; continue; }
      const rotation = mul3(rotationFromAxisAngle([step[0]!, step[1]!, step[2]!]), r);
      const moved = [t[0]! + step[3]! * b1[0]! + step[4]! * b2[0]!, t[1]! + step[3]! * b1[1]! + step[4]! * b2[1]!, t[2]! + step[3]! * b1[2]! + step[4]! * b2[2]!];
      const norm = Math.hypot(moved[0]!, moved[1]!, moved[2]!);
      const candidatePose: RigidPose = { rotation, translation: Float64Array.of(moved[0]! / norm, moved[1]! / norm, moved[2]! / norm) };
      const candidate = normalizeFrobenius(essentialFromPose(candidatePose));
      const candidateCost = candidate === null ? Number.POSITIVE_INFINITY : sampsonCost(candidate, x0n, x1n, indices);
      if (candidateCost < cost) {
        const relativeDecrease = (cost - candidateCost) / Math.max(cost, 1e-300);
        pose = candidatePose; current = candidate!; cost = candidateCost;
        damping = Math.max(damping / 10, 1e-12);
        improved = true;
        if (relativeDecrease < 1e-10) return cost <= startCost ? current : essential;
      } else {
        damping *= 10;
      }
    }
    if (!improved) break;
  }
  return cost <= startCost ? current : essential;
}

// ---------------------------------------------------------------------------------------------------------
// Robust estimation
// ---------------------------------------------------------------------------------------------------------

/** Sampling settings (confidence, iterations, seed, local optimisation) as RobustSamplingOptions. */
export interface EssentialOptions extends RobustSamplingOptions {
  /** Inlier threshold on the Sampson distance in normalised coordinates (e.g. 1 px / mean focal length). */
  readonly thresholdNormalized: number;
  /** Final Levenberg-Marquardt refinement of the Sampson error on all inliers. Default true. */
  readonly refine?: boolean;
}

export interface EssentialEstimate {
  /** Unit Frobenius norm: x1^T E x0 = 0 in normalised coordinates. */
  readonly essential: Mat3;
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  readonly iterations: number;
}

/** Refinement rounds: refine on the inliers, re-select the inliers, refine again. */
const REFINE_ROUNDS = 2;

function inlierList(problem: RobustProblem<Mat3>, e: Mat3, thresholdSquared: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < problem.numData; i++) if (problem.squaredResidual(e, i) <= thresholdSquared) out.push(i);
  return out;
}

function msac(problem: RobustProblem<Mat3>, e: Mat3, thresholdSquared: number): number {
  let sum = 0;
  for (let i = 0; i < problem.numData; i++) sum += Math.min(problem.squaredResidual(e, i), thresholdSquared);
  return sum;
}

/**
 * Robust essential matrix from correspondences in normalised camera coordinates (x, y interleaved, 2N each).
 * Null when fewer than 5 correspondences or no model has at least 5 inliers.
 */
export function estimateEssential(x0In: ArrayLike<number>, x1In: ArrayLike<number>, options: EssentialOptions): EssentialEstimate | null {
  const n = checkCorrespondences(x0In, x1In, 'estimateEssential');
  const x0n = asFloat64Array(x0In), x1n = asFloat64Array(x1In);
  const threshold = options.thresholdNormalized;
  if (!(threshold > 0) || !Number.isFinite(threshold)) {
    throw new InputError(`estimateEssential: thresholdNormalized (${threshold}) must be a positive number.`);
  }
  if (n < 5) return null;
  const problem: RobustProblem<Mat3> = {
    sampleSize: 5,
    nonMinimalSampleSize: 8,
    numData: n,
    fitMinimal: (sample) => fivePointFromSample(x0n, x1n, sample),
    fitNonMinimal: (indices) => eightPointEssential(x0n, x1n, indices),
    squaredResidual: (e, i) => sampsonErrorSquared(e, x0n[2 * i]!, x0n[2 * i + 1]!, x1n[2 * i]!, x1n[2 * i + 1]!),
    squaredResiduals: (e, out, begin, end) => sampsonErrorsSquared(e, x0n, x1n, out, begin, end),
  };
  const result = runLoRansac(problem, {
    threshold,
    ...samplingOptions(options),
  });
  if (result === null) return null;
  const thresholdSquared = threshold * threshold;
  let essential = result.model;
  if (options.refine ?? true) {
    let score = msac(problem, essential, thresholdSquared);
    for (let round = 0; round < REFINE_ROUNDS; round++) {
      const refined = refineEssentialSampson(essential, x0n, x1n, inlierList(problem, essential, thresholdSquared));
      const refinedScore = msac(problem, refined, thresholdSquared);
      if (!(refinedScore < score)) break;
      essential = refined;
      score = refinedScore;
    }
  }
  const inliers = new Uint8Array(n);
  let numInliers = 0;
  for (let i = 0; i < n; i++) {
    if (problem.squaredResidual(essential, i) <= thresholdSquared) { inliers[i] = 1; numInliers++; }
  }
  if (numInliers < 5) return null;
  return { essential, inliers, numInliers, iterations: result.iterations };
}

// ---------------------------------------------------------------------------------------------------------
// Pose recovery
// ---------------------------------------------------------------------------------------------------------

export interface RecoverPoseOptions {
  /**
   * Points farther than this (in units of the unit baseline) are "at infinity": they do not count as finite
   * inliers. Default 50, as cv2.recoverPose.
   */
  readonly maxDepth?: number;
}

export interface RecoveredPose {
  /** camera1FromCamera0 with unit-length translation. */
  readonly pose1From0: RigidPose;
  /** Input inliers that triangulate in front of both cameras and closer than maxDepth (cv2.recoverPose's mask). */
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  /** Input inliers whose rays are parallel (within 1 / maxDepth rad) once rotated: points at infinity. */
  readonly numAtInfinity: number;
  /**
   * Median triangulation angle (degrees) over the finite inliers and the points at infinity together: near 0
   * for (near) pure rotation, where almost every point is at infinity.
   */
  readonly medianTriangulationAngleDeg: number;
}

/** How one correspondence relates to a candidate pose: the two triangulation results recoverPose votes with. */
interface PointClass {
  /** In front of both cameras and closer than maxDepth. */
  finite: boolean;
  /** Rays parallel to within 1 / maxDepth rad (the point is at infinity), pointing forward in both cameras. */
  atInfinity: boolean;
  /** Angle between the two rays (the triangulation angle), degrees. */
  angleDeg: number;
}

/**
 * Midpoint triangulation of a normalised correspondence for the pose (R, t) with camera 0 at the origin (depths
 * along both rays from the 2x2 normal equations), classified for the cheirality vote.
 */
function classifyCorrespondence(r: Mat3, t: ArrayLike<number>, centre1: ArrayLike<number>, maxDepth: number,
  x0: number, y0: number, x1: number, y1: number, out: PointClass): void {
  // Ray 1 direction in camera-0 coordinates: R^T (x1, y1, 1).
  const bx = r[0]! * x1 + r[3]! * y1 + r[6]!, by = r[1]! * x1 + r[4]! * y1 + r[7]!, bz = r[2]! * x1 + r[5]! * y1 + r[8]!;
  const aa = x0 * x0 + y0 * y0 + 1, ab = x0 * bx + y0 * by + bz, bb = bx * bx + by * by + bz * bz;
  const cx = y0 * bz - by, cy = bx - x0 * bz, cz = x0 * by - y0 * bx;
  const crossNorm = Math.sqrt(cx * cx + cy * cy + cz * cz);
  const rayAngle = Math.atan2(crossNorm, ab);
  out.finite = false;
  out.atInfinity = rayAngle < 1 / maxDepth && ab > 0 && bz > 0;
  // For rays that meet, the angle at the point between them is the angle between their directions.
  out.angleDeg = (rayAngle * 180) / Math.PI;
  const ac = x0 * centre1[0]! + y0 * centre1[1]! + centre1[2]!, bc = bx * centre1[0]! + by * centre1[1]! + bz * centre1[2]!;
  // d0 a - d1 b = c1 in least squares: [aa -ab; ab -bb] [d0 d1] = [ac bc].
  const det = ab * ab - aa * bb;
  if (!(Math.abs(det) > 1e-14 * aa * bb)) return;
  const d0 = (ab * bc - ac * bb) / det;
  const d1 = (aa * bc - ab * ac) / det;
  const px = 0.5 * (d0 * x0 + centre1[0]! + d1 * bx);
  const py = 0.5 * (d0 * y0 + centre1[1]! + d1 * by);
  const pz = 0.5 * (d0 + centre1[2]! + d1 * bz);
  const depth1 = r[6]! * px + r[7]! * py + r[8]! * pz + t[2]!;
  out.finite = pz > 0 && depth1 > 0 && pz < maxDepth && depth1 < maxDepth;
}

function centreOfCamera1(pose: RigidPose): Float64Array {
  const r = pose.rotation, t = pose.translation;
  return Float64Array.of(
    -(r[0]! * t[0]! + r[3]! * t[1]! + r[6]! * t[2]!), -(r[1]! * t[0]! + r[4]! * t[1]! + r[7]! * t[2]!), -(r[2]! * t[0]! + r[5]! * t[1]! + r[8]! * t[2]!),
  );
}

/**
 * Relative pose from an essential matrix: of the four decompositions, the one with the most inlier
 * correspondences in front of both cameras, as cv2.recoverPose, where a point closer than maxDepth counts if
 * it triangulates in front of both cameras and a point at infinity (parallel rays once rotated) counts if it
 * lies ahead of both. cv2 ignores points at infinity, which makes a near pure rotation pick the twisted-pair
 * rotation (whose rays do cross, at finite distances); counting them makes the rotation right and the small
 * median triangulation angle tell the caller the translation is not. Null when nothing votes.
 */
export function recoverPoseFromEssential(
  essential: Mat3, x0n: ArrayLike<number>, x1n: ArrayLike<number>, inliers?: ArrayLike<number>, options: RecoverPoseOptions = {},
): RecoveredPose | null {
  const n = checkCorrespondences(x0n, x1n, 'recoverPoseFromEssential');
  if (inliers !== undefined && inliers.length !== n) {
    throw new InputError(`recoverPoseFromEssential: inlier mask length ${inliers.length} does not match ${n} correspondences.`);
  }
  const maxDepth = options.maxDepth ?? 50;
  if (!(maxDepth > 0)) throw new InputError(`recoverPoseFromEssential: maxDepth (${maxDepth}) must be positive.`);
  const point: PointClass = { finite: false, atInfinity: false, angleDeg: 0 };
  let best: { pose: RigidPose; votes: number; finite: number } | null = null;
  for (const pose of decomposeEssential(essential)) {
    const centre1 = centreOfCamera1(pose);
    let votes = 0, finite = 0;
    for (let i = 0; i < n; i++) {
      if (inliers !== undefined && !inliers[i]) continue;
      classifyCorrespondence(pose.rotation, pose.translation, centre1, maxDepth, x0n[2 * i]!, x0n[2 * i + 1]!, x1n[2 * i]!, x1n[2 * i + 1]!, point);
      if (point.finite) { votes++; finite++; } else if (point.atInfinity) votes++;
    }
    // Ties (pure rotation: t and -t get the same votes at infinity) go to more finite points.
    if (best === null || votes > best.votes || (votes === best.votes && finite > best.finite)) best = { pose, votes, finite };
  }
  if (best === null || best.votes === 0) return null;
  const centre1 = centreOfCamera1(best.pose);
  const mask = new Uint8Array(n);
  const angles: number[] = [];
  let numAtInfinity = 0;
  for (let i = 0; i < n; i++) {
    if (inliers !== undefined && !inliers[i]) continue;
    classifyCorrespondence(best.pose.rotation, best.pose.translation, centre1, maxDepth, x0n[2 * i]!, x0n[2 * i + 1]!, x1n[2 * i]!, x1n[2 * i + 1]!, point);
    if (point.finite) { mask[i] = 1; angles.push(point.angleDeg); } else if (point.atInfinity) { numAtInfinity++; angles.push(point.angleDeg); }
  }
  angles.sort((p, q) => p - q);
  const half = angles.length >> 1;
  const median = angles.length % 2 === 1 ? angles[half]! : 0.5 * (angles[half - 1]! + angles[half]!);
  return { pose1From0: best.pose, inliers: mask, numInliers: angles.length - numAtInfinity, numAtInfinity, medianTriangulationAngleDeg: median };
}

// ---------------------------------------------------------------------------------------------------------
// Pixel-level convenience
// ---------------------------------------------------------------------------------------------------------

export interface RelativePoseOptions extends RobustSamplingOptions {
  /** Inlier threshold in pixels, converted to normalised units by the mean of fx0, fy0, fx1, fy1. Default 1. */
  readonly thresholdPx?: number;
  readonly refine?: boolean;
  /** See RecoverPoseOptions. Default 50. */
  readonly maxDepth?: number;
}

export interface TwoViewPose {
  /** camera1FromCamera0, unit translation. */
  readonly pose1From0: RigidPose;
  readonly essential: Mat3;
  /** Correspondences consistent with E (Sampson distance within the threshold): the verified matches. */
  readonly essentialInliers: Uint8Array;
  readonly numEssentialInliers: number;
  /** Essential inliers that triangulate in front of both cameras, closer than maxDepth: usable for triangulation. */
  readonly inliers: Uint8Array;
  readonly numInliers: number;
  /** Essential inliers at infinity under the pose (parallel rays): many means little parallax. */
  readonly numAtInfinity: number;
  /** Small (below ~1-2 degrees) means a near pure rotation: the translation direction is unreliable. */
  readonly medianTriangulationAngleDeg: number;
  readonly iterations: number;
}

/** Pixels (x, y interleaved) to normalised camera coordinates with K^-1. */
export function normalizePixels(pixels: ArrayLike<number>, k: Intrinsics): Float64Array {
  const out = new Float64Array(pixels.length);
  const ifx = 1 / k.fxPx, ify = 1 / k.fyPx;
  for (let i = 0; i < pixels.length; i += 2) {
    out[i] = (pixels[i]! - k.cxPx) * ifx;
    out[i + 1] = (pixels[i + 1]! - k.cyPx) * ify;
  }
  return out;
}

/**
 * Relative pose of two calibrated views from pixel correspondences: normalise with the intrinsics, robust
 * essential matrix (threshold = thresholdPx / mean focal length, as SuperGlue's evaluation), pose by
 * cheirality. Null when there are too few correspondences or no consistent model.
 */
export function estimateRelativePose(
  pixels0: ArrayLike<number>, pixels1: ArrayLike<number>, k0: Intrinsics, k1: Intrinsics, options: RelativePoseOptions = {},
): TwoViewPose | null {
  checkCorrespondences(pixels0, pixels1, 'estimateRelativePose');
  const thresholdPx = options.thresholdPx ?? 1;
  if (!(thresholdPx > 0)) throw new InputError(`estimateRelativePose: thresholdPx (${thresholdPx}) must be positive.`);
  for (const k of [k0, k1]) {
    if (!(k.fxPx > 0 && k.fyPx > 0)) throw new InputError(`estimateRelativePose: focal lengths must be positive (fx ${k.fxPx}, fy ${k.fyPx}).`);
  }
  const meanFocal = (k0.fxPx + k0.fyPx + k1.fxPx + k1.fyPx) / 4;
  const x0n = normalizePixels(pixels0, k0), x1n = normalizePixels(pixels1, k1);
  const estimate = estimateEssential(x0n, x1n, {
    ...samplingOptions(options),
    thresholdNormalized: thresholdPx / meanFocal,
    refine: options.refine,
  });
  if (estimate === null) return null;
  const recovered = recoverPoseFromEssential(estimate.essential, x0n, x1n, estimate.inliers, { maxDepth: options.maxDepth });
  if (recovered === null) return null;
  return {
    pose1From0: recovered.pose1From0,
    essential: estimate.essential,
    essentialInliers: estimate.inliers,
    numEssentialInliers: estimate.numInliers,
    inliers: recovered.inliers,
    numInliers: recovered.numInliers,
    numAtInfinity: recovered.numAtInfinity,
    medianTriangulationAngleDeg: recovered.medianTriangulationAngleDeg,
    iterations: estimate.iterations,
  };
}
