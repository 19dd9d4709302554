import { test } from "node:test";
import assert from "node:assert/strict";

import {
  MAX_POINTS,
  MAX_STROKES,
  boundedStrokes,
  clientId,
  failureMessage,
  feedbackBody,
  randomId,
} from "../static/assets/feedback.js";

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("random ids are version 4 UUIDs in lower case, as the API requires", () => {
  const ids = new Set(Array.from({ length: 200 }, () => randomId()));
  assert.equal(ids.size, 200);
  for (const id of ids) assert.match(id, UUID4);
  assert.equal(randomId((bytes) => bytes.fill(255)), "ffffffff-ffff-4fff-bfff-ffffffffffff");
});

test("the browser id is kept, and replaced when what is stored is not one", () => {
  const stored = new Map();
  const storage = { getItem: (k) => stored.get(k) ?? null, setItem: (k, v) => stored.set(k, v) };
  const first = clientId(storage);
  assert.match(first, /^[A-Za-z0-9_-]{16,64}$/);
  assert.equal(clientId(storage), first);
  stored.set("digits-client-id", "<script>");
  assert.notEqual(clientId(storage), "<script>");
  const refusing = { getItem: () => { throw new Error("denied"); }, setItem: () => {} };
  assert.equal(clientId(refusing), clientId(refusing), "without storage the id lasts as long as the page");
});

test("strokes are bounded in count and points, keeping each stroke's ends", () => {
  const long = Array.from({ length: 100 }, (_, s) =>
    Array.from({ length: 100 }, (_, i) => [s + i / 3, i * 1.23456, s * 100 + i + 0.4]),
  );
  const bounded = boundedStrokes(long);
  assert.equal(bounded.length, MAX_STROKES);
  const points = bounded.reduce((n, stroke) => n + stroke.length, 0);
  assert.ok(points <= MAX_POINTS, `${points} points`);
  assert.deepEqual(bounded[0][0], [36, 0, 3600]);
  assert.deepEqual(bounded.at(-1).at(-1), [99 + 33, 122.2, 9999]);
  for (const stroke of bounded) for (const [x, y, t] of stroke) assert.ok(Number.isInteger(t) && t >= 0 && x >= 0 && y >= 0);
  const small = [[[1, 2, 0], [3, 4, 5.6]]];
  assert.deepEqual(boundedStrokes(small), [[[1, 2, 0], [3, 4, 6]]]);
  assert.deepEqual(boundedStrokes([[], [[1, 1, -3]]]), [[[1, 1, 0]]]);
});

test("the body carries the image sent, the strokes, the prediction and the answer", () => {
  const body = feedbackBody({
    submissionId: "00000000-0000-4000-8000-000000000000",
    client: "browser-0123456789ab",
    prediction: { image: new Array(784).fill(12.4), predicted: 3, probabilities: { 3: 0.9, 8: 0.1 }, modelVersion: "v1.0.0" },
    strokes: [[[10, 10, 0]]],
    width: 280,
    height: 280,
    label: 8,
  });
  assert.deepEqual(Object.keys(body).sort(), [
    "client_id", "drawing", "image", "label", "model_version", "predicted", "probabilities", "submission_id",
  ]);
  assert.equal(body.image.length, 784);
  assert.ok(body.image.every((v) => v === 12));
  assert.deepEqual(body.drawing, { width: 280, height: 280, strokes: [[[10, 10, 0]]] });
  assert.equal(body.label, 8);
});

test("a failure reads as what a person can do about it", () => {
  assert.match(failureMessage(429, "", "7"), /Try again in 7 s/);
  assert.match(failureMessage(503, "x", "5"), /cannot store answers right now/);
  assert.match(failureMessage(0), /could not be reached/);
  assert.equal(failureMessage(422, "label: 5 is not one of the model's labels"), "Not saved: label: 5 is not one of the model's labels.");
});
