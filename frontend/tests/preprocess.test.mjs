import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";

import { boundingBox, inkFromRGBA, preprocess, squeezeWholeCanvas } from "../static/assets/preprocess.js";

const { cases } = JSON.parse(readFileSync(new URL("./fixtures/preprocess-reference.json", import.meta.url)));

function maxDifference(actual, expected) {
  return Math.max(...actual.map((v, i) => Math.abs(v - expected[i])));
}

for (const c of cases) {
  test(`preprocess matches the Python reference: ${c.name}`, () => {
    const result = preprocess(Float64Array.from(c.ink), c.width, c.height);
    if (c.expected === null) {
      assert.equal(result, null);
      return;
    }
    assert.equal(result.length, 784);
    assert.ok(result.every((v) => Number.isInteger(v) && v >= 0 && v <= 255));
    // Exact area averaging in both; allow one grey level for floating-point rounding at .5.
    assert.ok(maxDifference(result, c.expected) <= 1, `max difference ${maxDifference(result, c.expected)}`);
  });

  test(`squeezing the whole canvas matches the Python reference: ${c.name}`, () => {
    const result = squeezeWholeCanvas(Float64Array.from(c.ink), c.width, c.height);
    assert.ok(maxDifference(result, c.squeezed) <= 1);
  });
}

test("ink is dark or opaque paint; white and transparent are background", () => {
  const rgba = Uint8ClampedArray.from([
    255, 255, 255, 255, // white paper
    0, 0, 0, 255, // black ink
    0, 0, 0, 0, // transparent
    0, 0, 0, 128, // half-transparent black
  ]);
  const ink = Array.from(inkFromRGBA(rgba, 4, 1), Math.round);
  assert.deepEqual(ink, [0, 255, 0, 128]);
});

test("bounding box of the ink, null when there is none", () => {
  const ink = new Float64Array(5 * 4);
  assert.equal(boundingBox(ink, 5, 4), null);
  ink[1 * 5 + 2] = 10;
  ink[3 * 5 + 4] = 10;
  assert.deepEqual(boundingBox(ink, 5, 4), { top: 1, left: 2, width: 3, height: 3 });
});

test("a drawing anywhere and at any size lands centred in the same place", () => {
  const draw = (size, top, left) => {
    const ink = new Float64Array(280 * 280);
    for (let y = 0; y < size; y += 1) for (let x = 0; x < size / 4; x += 1) ink[(top + y) * 280 + left + x] = 255;
    return preprocess(ink, 280, 280);
  };
  const small = draw(40, 5, 200);
  const large = draw(240, 30, 10);
  assert.ok(maxDifference(small, large) <= 1);
});
