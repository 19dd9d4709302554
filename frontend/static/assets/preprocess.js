// Turning a drawing into what an MNIST model expects: pure functions, no DOM,
// so they run the same in the browser and under node's test runner.
//
// MNIST digits were size-normalised to fit a 20x20 box (keeping their aspect
// ratio, with antialiasing) and centred by their centre of mass in a 28x28
// field, white ink on black. preprocess() does the same to a canvas.

export const SIZE = 28;
export const BOX = 20;

// Ink per pixel (0..255) of RGBA data: dark or opaque strokes are ink,
// white or transparent background is not.
export function inkFromRGBA(data, width, height) {
  const ink = new Float64Array(width * height);
  for (let i = 0; i < width * height; i += 1) {
    const r = data[4 * i];
    const g = data[4 * i + 1];
    const b = data[4 * i + 2];
    const a = data[4 * i + 3];
    const luminance = 0.299 * r + 0.587 * g + 0.114 * b;
    ink[i] = ((255 - luminance) * a) / 255;
  }
  return ink;
}

export function boundingBox(ink, width, height, threshold = 0) {
  let top = height;
  let left = width;
  let bottom = -1;
  let right = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if (ink[y * width + x] > threshold) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
    }
  }
  if (bottom < 0) return null;
  return { top, left, width: right - left + 1, height: bottom - top + 1 };
}

// Overlap of [a0, a1) and [b0, b1).
function overlap(a0, a1, b0, b1) {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
}

// Area-averaging resample (exact box filter) of a crop of `ink` to outW x outH.
export function resampleArea(ink, width, box, outW, outH) {
  const out = new Float64Array(outW * outH);
  const sx = box.width / outW;
  const sy = box.height / outH;
  for (let oy = 0; oy < outH; oy += 1) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < outW; ox += 1) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let sum = 0;
      for (let y = Math.floor(y0); y < Math.min(Math.ceil(y1), box.height); y += 1) {
        const wy = overlap(y, y + 1, y0, y1);
        if (wy === 0) continue;
        const row = (box.top + y) * width + box.left;
        for (let x = Math.floor(x0); x < Math.min(Math.ceil(x1), box.width); x += 1) {
          const wx = overlap(x, x + 1, x0, x1);
          if (wx > 0) sum += ink[row + x] * wx * wy;
        }
      }
      out[oy * outW + ox] = sum / (sx * sy);
    }
  }
  return out;
}

export function centreOfMass(values, width, height) {
  let total = 0;
  let cx = 0;
  let cy = 0;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      const v = values[y * width + x];
      total += v;
      cx += v * x;
      cy += v * y;
    }
  }
  if (total === 0) return null;
  return { x: cx / total, y: cy / total };
}

function clamp(value, low, high) {
  return Math.min(Math.max(value, low), high);
}

// 784 grey levels 0..255 (row by row, white on black), or null for an empty drawing.
export function preprocess(ink, width, height) {
  const box = boundingBox(ink, width, height);
  if (box === null) return null;
  const scale = BOX / Math.max(box.width, box.height);
  const w = clamp(Math.round(box.width * scale), 1, BOX);
  const h = clamp(Math.round(box.height * scale), 1, BOX);
  const small = resampleArea(ink, width, box, w, h);
  const com = centreOfMass(small, w, h);
  if (com === null) return null;
  // Put the centre of mass at the centre of the field, keeping the whole box inside it.
  const centre = (SIZE - 1) / 2;
  const left = clamp(Math.floor(centre - com.x + 0.5), 0, SIZE - w);
  const top = clamp(Math.floor(centre - com.y + 0.5), 0, SIZE - h);
  const out = new Array(SIZE * SIZE).fill(0);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      out[(top + y) * SIZE + left + x] = clamp(Math.round(small[y * w + x]), 0, 255);
    }
  }
  return out;
}

// The original page's way, kept for comparison only: the whole canvas squeezed to 28x28.
export function squeezeWholeCanvas(ink, width, height) {
  const box = { top: 0, left: 0, width, height };
  return Array.from(resampleArea(ink, width, box, SIZE, SIZE), (v) => clamp(Math.round(v), 0, 255));
}
