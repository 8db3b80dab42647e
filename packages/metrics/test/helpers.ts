/** Test helpers: mask builders, a seeded RNG, and an independent brute-force surface-distance reference. */

export function maskFrom(width: number, height: number, pixels: Array<[number, number]>): Uint8Array {
  const m = new Uint8Array(width * height);
  for (const [x, y] of pixels) m[y * width + x] = 1;
  return m;
}

/** Filled axis-aligned rectangle [x0, x0 + w) x [y0, y0 + h). */
export function rect(width: number, height: number, x0: number, y0: number, w: number, h: number, into?: Uint8Array): Uint8Array {
  const m = into ?? new Uint8Array(width * height);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m[y * width + x] = 1;
  return m;
}

/** Mulberry32: small deterministic PRNG for reproducible random masks. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random blob mask: a union of a few random discs and rectangles, plus sparse noise pixels. */
export function randomMask(width: number, height: number, r: () => number): Uint8Array {
  const m = new Uint8Array(width * height);
  const shapes = 1 + Math.floor(r() * 3);
  for (let s = 0; s < shapes; s++) {
    const cx = r() * width;
    const cy = r() * height;
    const rad = 1 + r() * Math.min(width, height) * 0.3;
    const disc = r() < 0.5;
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const inside = disc ? (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad : Math.abs(x - cx) <= rad && Math.abs(y - cy) <= rad * 0.6;
        if (inside) m[y * width + x] = 1;
      }
    }
  }
  for (let i = 0; i < m.length; i++) if (r() < 0.01) m[i] = 1;
  return m;
}

/** Boundary points (pixel coordinates) written independently of the library: foreground with a 4-neighbour outside the mask or the image. */
export function bruteBoundary(m: Uint8Array, width: number, height: number): Array<[number, number]> {
  const at = (x: number, y: number) => (x < 0 || y < 0 || x >= width || y >= height ? 0 : m[y * width + x]);
  const pts: Array<[number, number]> = [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (at(x, y) && (!at(x - 1, y) || !at(x + 1, y) || !at(x, y - 1) || !at(x, y + 1))) pts.push([x, y]);
    }
  }
  return pts;
}

/** O(n m) directed distances from each point of `from` to the nearest point of `to`. */
export function bruteDirected(from: Array<[number, number]>, to: Array<[number, number]>, sx = 1, sy = 1): number[] {
  return from.map(([x, y]) => {
    let best = Infinity;
    for (const [u, v] of to) {
      const d = ((x - u) * sx) ** 2 + ((y - v) * sy) ** 2;
      if (d < best) best = d;
    }
    return Math.sqrt(best);
  });
}

/** numpy-style linear-interpolation percentile, written separately from the library's. */
export function brutePercentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const h = (s.length - 1) * (q / 100);
  const i = Math.floor(h);
  return i + 1 < s.length ? s[i] * (1 - (h - i)) + s[i + 1] * (h - i) : s[i];
}

/** Brute-force reference of the whole surface-distance family. */
export function bruteSurfaceMetrics(pred: Uint8Array, gt: Uint8Array, width: number, height: number, sx = 1, sy = 1, tol = 1) {
  const bp = bruteBoundary(pred, width, height);
  const bg = bruteBoundary(gt, width, height);
  const pg = bruteDirected(bp, bg, sx, sy);
  const gp = bruteDirected(bg, bp, sx, sy);
  const all = [...pg, ...gp];
  return {
    hd: Math.max(...all),
    hd95Directed: Math.max(brutePercentile(pg, 95), brutePercentile(gp, 95)),
    hd95Pooled: brutePercentile(all, 95),
    assd: all.reduce((s, v) => s + v, 0) / all.length,
    nsd: all.filter((v) => v <= tol + 1e-9).length / all.length,
  };
}
