// Asking whether a prediction was right and sending the answer to /feedback. Pure helpers first (no DOM,
// tested under node), then the panel, which the page gives a prediction to ask about.

export const MAX_STROKES = 64;
export const MAX_POINTS = 4096;
const CLIENT_KEY = "digits-client-id";
const CLIENT_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;

// A version 4 UUID from crypto.getRandomValues, which pages served over plain http have too
// (crypto.randomUUID needs a secure context).
export function randomId(random = (bytes) => crypto.getRandomValues(bytes)) {
  const bytes = random(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The random id this browser keeps (for rate limits and de-duplication: nothing else identifies anyone).
// Without storage (private modes may refuse it) the id lasts as long as the page.
let pageClientId = null;
export function clientId(storage) {
  try {
    let id = storage.getItem(CLIENT_KEY);
    if (!id || !CLIENT_PATTERN.test(id)) {
      id = randomId();
      storage.setItem(CLIENT_KEY, id);
    }
    return id;
  } catch {
    pageClientId ??= randomId();
    return pageClientId;
  }
}

// The strokes within the API's bounds: the last MAX_STROKES strokes, every k-th point when there are more
// than MAX_POINTS (each stroke keeps its last point), coordinates to a tenth of a pixel, times in whole ms.
export function boundedStrokes(strokes) {
  const kept = strokes.filter((stroke) => stroke.length > 0).slice(-MAX_STROKES);
  const total = kept.reduce((n, stroke) => n + stroke.length, 0);
  const step = Math.ceil(total / (MAX_POINTS - kept.length));
  return kept.map((stroke) => {
    const points = step > 1 ? stroke.filter((_, i) => i % step === 0 || i === stroke.length - 1) : stroke;
    return points.map(([x, y, t]) => [Math.round(x * 10) / 10, Math.round(y * 10) / 10, Math.max(0, Math.round(t))]);
  });
}

// What /feedback takes for one answer about one prediction.
export function feedbackBody({ submissionId, client, prediction, strokes, width, height, label }) {
  return {
    submission_id: submissionId,
    client_id: client,
    image: Array.from(prediction.image, (v) => Math.round(v)),
    drawing: { width, height, strokes: boundedStrokes(strokes) },
    predicted: prediction.predicted,
    probabilities: prediction.probabilities,
    model_version: prediction.modelVersion,
    label,
  };
}

// The sentence a person reads for an answer the server did not save.
export function failureMessage(status, detail, retryAfter) {
  if (status === 429) return `Not saved: too many answers at once. Try again in ${retryAfter || "a few"} s.`;
  if (status === 503 || status === 502) return "Not saved: the service cannot store answers right now.";
  if (status === 0) return "Not saved: the server could not be reached.";
  return `Not saved: ${detail || `HTTP ${status}`}.`;
}

export class FeedbackPanel {
  constructor(document, { storage, getDrawing }) {
    this.root = document.getElementById("feedback");
    this.rightButton = document.getElementById("feedback-right");
    this.digits = document.getElementById("feedback-digits");
    this.status = document.getElementById("feedback-status");
    this.retryButton = document.getElementById("feedback-retry");
    this.document = document;
    this.storage = storage;
    this.getDrawing = getDrawing;
    this.prediction = null;
    this.pending = null; // the body of the answer being sent or to retry
    this.saved = false;
    this.rightButton.addEventListener("click", () => this.answer(this.prediction?.predicted));
    this.retryButton.addEventListener("click", () => this.send());
  }

  setLabels(labels) {
    this.digits.replaceChildren(
      ...labels.map((label) => {
        const button = this.document.createElement("button");
        button.type = "button";
        button.textContent = String(label);
        button.dataset.testid = `feedback-digit-${label}`;
        button.setAttribute("aria-label", `It was a ${label}`);
        button.addEventListener("click", () => this.answer(label));
        return button;
      }),
    );
  }

  // A new prediction to ask about: { image, predicted, probabilities, modelVersion }.
  offer(prediction) {
    this.prediction = prediction;
    this.pending = null;
    this.saved = false;
    this.show("", "asking");
    this.enable(true);
    for (const button of this.digits.children) {
      button.classList.toggle("predicted", button.textContent === String(prediction.predicted));
    }
    this.root.hidden = false;
  }

  // The drawing changed: the question was about a drawing that is gone.
  withdraw() {
    this.prediction = null;
    this.pending = null;
    this.saved = false;
    this.root.hidden = true;
  }

  get answered() {
    return this.saved;
  }

  answer(label) {
    if (!this.prediction || this.saved || label === undefined || this.pending) return;
    const { strokes, width, height } = this.getDrawing();
    this.pending = feedbackBody({
      submissionId: randomId(),
      client: clientId(this.storage),
      prediction: this.prediction,
      strokes,
      width,
      height,
      label,
    });
    this.send();
  }

  async send() {
    const body = this.pending;
    if (!body) return;
    this.enable(false);
    this.retryButton.hidden = true;
    this.show("Saving…", "saving");
    let status = 0;
    let detail = "";
    let retryAfter = "";
    try {
      const response = await fetch("feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      status = response.status;
      retryAfter = response.headers.get("Retry-After") || "";
      detail = (await response.json().catch(() => ({}))).detail || "";
    } catch {
      status = 0;
    }
    if (this.pending !== body) return; // the drawing changed meanwhile
    if (status === 200 || status === 201) {
      this.saved = true;
      const said = body.label === body.predicted ? "right" : `a ${body.label}`;
      this.show(`Saved: ${said}. Thank you! Draw the next digit.`, "saved");
      return;
    }
    this.show(failureMessage(status, detail, retryAfter), "failed");
    // A refusal of the answer itself (4xx other than 429) will not change on retry; choosing again will.
    const retriable = status === 0 || status === 429 || status >= 500;
    this.retryButton.hidden = !retriable;
    if (!retriable) this.pending = null;
    this.enable(!retriable);
  }

  show(text, state) {
    this.status.textContent = text;
    this.status.dataset.state = state;
  }

  enable(enabled) {
    this.rightButton.disabled = !enabled;
    for (const button of this.digits.children) button.disabled = !enabled;
  }
}
