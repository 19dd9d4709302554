// The drawing page: pointer input, undo/clear, debounced predictions, results, and asking whether they were right.
import { FeedbackPanel } from "./feedback.js?v=1.0.0";
import { inkFromRGBA, preprocess, SIZE } from "./preprocess.js?v=1.0.0";

const BRUSH = 18;
const DEBOUNCE_MS = 120;

const pad = document.getElementById("pad");
const context = pad.getContext("2d", { willReadFrequently: true });
const preview = document.getElementById("preview").getContext("2d");
const predictionOut = document.getElementById("prediction");
const confidenceOut = document.getElementById("confidence");
const bars = document.getElementById("bars");
const errorBox = document.getElementById("error");
const errorText = document.getElementById("error-text");
const versionOut = document.getElementById("model-version");

const strokes = [];
let drawingStarted = 0;
let current = null;
let timer = null;
let latestRequest = 0;
let labels = null;

// A point in canvas units, and when it was drawn: milliseconds since the drawing's first point.
function padPoint(event) {
  const rect = pad.getBoundingClientRect();
  return [
    ((event.clientX - rect.left) * pad.width) / rect.width,
    ((event.clientY - rect.top) * pad.height) / rect.height,
    event.timeStamp - drawingStarted,
  ];
}

const feedback = new FeedbackPanel(document, {
  storage: window.localStorage,
  getDrawing: () => ({ strokes, width: pad.width, height: pad.height }),
});

function drawStroke(points) {
  context.beginPath();
  context.moveTo(points[0][0], points[0][1]);
  if (points.length === 1) context.lineTo(points[0][0] + 0.01, points[0][1]);
  for (const [x, y] of points.slice(1)) context.lineTo(x, y);
  context.stroke();
}

function redraw() {
  context.fillStyle = "#fff";
  context.fillRect(0, 0, pad.width, pad.height);
  context.strokeStyle = "#000";
  context.lineWidth = BRUSH;
  context.lineCap = "round";
  context.lineJoin = "round";
  strokes.forEach(drawStroke);
}

function showError(message) {
  errorText.textContent = message;
  errorBox.hidden = false;
}

function resetResult() {
  feedback.withdraw();
  predictionOut.textContent = "–";
  confidenceOut.textContent = "–";
  preview.clearRect(0, 0, SIZE, SIZE);
  renderBars(null);
}

function renderPreview(pixels) {
  const image = preview.createImageData(SIZE, SIZE);
  pixels.forEach((v, i) => {
    image.data.set([v, v, v, 255], 4 * i);
  });
  preview.putImageData(image, 0, 0);
}

function renderBars(probabilities) {
  bars.replaceChildren();
  if (!labels) return;
  const values = labels.map((label) => (probabilities ? probabilities[String(label)] ?? 0 : 0));
  const best = probabilities ? values.indexOf(Math.max(...values)) : -1;
  labels.forEach((label, i) => {
    const item = document.createElement("li");
    item.className = i === best ? "best" : "";
    const name = document.createElement("span");
    name.textContent = String(label);
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(values[i] * 100).toFixed(1)}%`;
    track.append(fill);
    const percent = document.createElement("span");
    percent.textContent = `${(values[i] * 100).toFixed(1)}%`;
    item.append(name, track, percent);
    bars.append(item);
  });
}

async function loadModelInfo() {
  try {
    const response = await fetch("model", { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const manifest = await response.json();
    labels = manifest.labels;
    feedback.setLabels(labels);
    versionOut.textContent = manifest.version;
    renderBars(null);
    return true;
  } catch (error) {
    showError(`The prediction service is unreachable (${error.message}).`);
    return false;
  }
}

async function predictNow() {
  const { data, width, height } = context.getImageData(0, 0, pad.width, pad.height);
  const pixels = preprocess(inkFromRGBA(data, width, height), width, height);
  const request = ++latestRequest;
  if (pixels === null) {
    resetResult();
    setState("done");
    return;
  }
  renderPreview(pixels);
  try {
    const response = await fetch("predict", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(pixels),
    });
    const body = await response.json().catch(() => ({}));
    if (request !== latestRequest) return; // a newer drawing is on its way
    if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
    errorBox.hidden = true;
    predictionOut.textContent = String(body.prediction);
    confidenceOut.textContent = `${(body.probability * 100).toFixed(1)}%`;
    if (body.model_version && body.model_version !== versionOut.textContent) await loadModelInfo();
    renderBars(body.probabilities);
    feedback.offer({
      image: pixels,
      predicted: body.prediction,
      probabilities: body.probabilities,
      modelVersion: body.model_version,
    });
    setState("done");
  } catch (error) {
    if (request !== latestRequest) return;
    showError(`Could not get a prediction: ${error.message}.`);
    setState("failed");
  }
}

// data-state on the prediction: "pending" from a change of the drawing until its answer is shown.
function setState(state) {
  predictionOut.dataset.state = state;
}

function schedulePrediction() {
  feedback.withdraw();
  setState("pending");
  clearTimeout(timer);
  timer = setTimeout(predictNow, DEBOUNCE_MS);
}

function clearAll() {
  strokes.length = 0;
  redraw();
  latestRequest += 1;
  clearTimeout(timer);
  resetResult();
  setState("done");
}

function undo() {
  strokes.pop();
  redraw();
  schedulePrediction();
}

pad.addEventListener("pointerdown", (event) => {
  event.preventDefault();
  // Once its answer is saved, a drawing is done: the next stroke starts the next digit.
  if (feedback.answered) clearAll();
  if (!strokes.length) drawingStarted = event.timeStamp;
  pad.setPointerCapture(event.pointerId);
  current = [padPoint(event)];
  strokes.push(current);
  drawStroke(current);
});
pad.addEventListener("pointermove", (event) => {
  if (!current) return;
  const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
  for (const e of events.length ? events : [event]) {
    const point = padPoint(e);
    const last = current[current.length - 1];
    current.push(point);
    context.beginPath();
    context.moveTo(last[0], last[1]);
    context.lineTo(point[0], point[1]);
    context.stroke();
  }
});
function endStroke() {
  if (!current) return;
  current = null;
  schedulePrediction();
}
pad.addEventListener("pointerup", endStroke);
pad.addEventListener("pointercancel", endStroke);

document.getElementById("clear").addEventListener("click", clearAll);
document.getElementById("undo").addEventListener("click", undo);
document.getElementById("retry").addEventListener("click", async () => {
  errorBox.hidden = true;
  if ((await loadModelInfo()) && strokes.length) predictNow();
});
document.addEventListener("keydown", (event) => {
  if (event.target instanceof HTMLButtonElement && (event.key === "Enter" || event.key === " ")) return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === "z") {
    event.preventDefault();
    undo();
  } else if (event.key === "u" || event.key === "U") {
    undo();
  } else if (event.key === "Escape" || event.key === "c" || event.key === "C") {
    clearAll();
  } else if (event.key === "y" || event.key === "Y") {
    feedback.answer(feedback.prediction?.predicted);
  } else if (/^[0-9]$/.test(event.key) && labels?.includes(Number(event.key))) {
    feedback.answer(Number(event.key));
  }
});

redraw();
loadModelInfo();
