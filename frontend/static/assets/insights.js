// The insights page: live accuracy from /feedback/stats and drift from /drift, drawn with plain DOM elements.

const REFRESH_MS = 10_000;

function element(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else if (name === "style") Object.assign(node.style, value);
    else node.setAttribute(name, value);
  }
  node.append(...children);
  return node;
}

const percent = (value) => `${(value * 100).toFixed(1)} %`;
const cssPercent = (value) => `${(Math.min(1, Math.max(0, value)) * 100).toFixed(2)}%`;

export function accuracyRows(stats) {
  return stats.versions.map((v) => ({
    version: v.model_version,
    count: v.count,
    correct: v.correct,
    accuracy: v.accuracy,
    low: v.ci95[0],
    high: v.ci95[1],
  }));
}

function renderAccuracy(stats) {
  const summary = document.getElementById("accuracy-summary");
  summary.textContent = stats.total
    ? `${stats.correct} of ${stats.total} answers said the prediction was right (${percent(stats.correct / stats.total)}).`
    : "No answers yet: draw on the drawing page and say whether it was right.";
  document.getElementById("versions").replaceChildren(
    ...accuracyRows(stats).map((row) => {
      const whisker = element("span", { class: "whisker", title: `${percent(row.low)} to ${percent(row.high)}` }, [
        element("span", { class: "range", style: { left: cssPercent(row.low), width: cssPercent(row.high - row.low) } }),
        element("span", { class: "point", style: { left: `calc(${cssPercent(row.accuracy)} - 1px)` } }),
      ]);
      return element("tr", { "data-version": row.version }, [
        element("td", { text: row.version }),
        element("td", { text: String(row.count) }),
        element("td", { text: String(row.correct) }),
        element("td", {}, [
          document.createTextNode(`${percent(row.accuracy)} (${percent(row.low)}–${percent(row.high)})`),
          whisker,
        ]),
      ]);
    }),
  );
}

function renderConfusion(stats) {
  const table = document.getElementById("confusion");
  const largest = Math.max(1, ...stats.confusion.flat());
  const head = element("tr", {}, [element("th", { text: "" }), ...stats.labels.map((l) => element("th", { text: String(l) }))]);
  const rows = stats.labels.map((given, i) =>
    element("tr", {}, [
      element("th", { text: String(given) }),
      ...stats.labels.map((predicted, j) => {
        const count = stats.confusion[i][j];
        const shade = count / largest;
        return element("td", {
          text: count ? String(count) : "",
          class: i === j ? "diagonal" : "",
          "data-given": String(given),
          "data-predicted": String(predicted),
          style: { background: `rgba(47, 111, 223, ${shade.toFixed(3)})`, color: shade > 0.5 ? "#fff" : "#111" },
        });
      }),
    ]),
  );
  table.replaceChildren(element("thead", {}, [head]), element("tbody", {}, rows));
}

function histogram(feature) {
  const bins = feature.edges.slice(0, -1).map((_, i) => ({
    reference: feature.reference ? feature.reference[i] : 0,
    live: feature.live ? feature.live[i] : 0,
  }));
  const top = Math.max(1e-9, ...bins.flatMap((b) => [b.reference, b.live]));
  return element(
    "div",
    { class: "histogram", "aria-hidden": "true" },
    bins.map((bin) =>
      element("span", { class: "bin" }, [
        element("span", { class: "reference", style: { height: cssPercent(bin.reference / top) } }),
        element("span", { class: "live", style: { height: cssPercent(bin.live / top) } }),
      ]),
    ),
  );
}

function renderDrift(report) {
  const summary = document.getElementById("drift-summary");
  const reference = report.reference
    ? `the ${report.reference.n.toLocaleString("en")} ${report.reference.dataset} digits model ${report.model_version} was trained on`
    : `nothing: model ${report.model_version} records no training reference, so drift is unknown`;
  summary.textContent = `The latest ${report.window} inputs against ${reference}.`;
  document.getElementById("drift").replaceChildren(
    ...Object.entries(report.features).map(([name, feature]) =>
      element("article", { class: "feature", "data-feature": name, "data-status": feature.status }, [
        element("h3", {}, [
          element("span", { text: name.replaceAll("_", " ") }),
          element("span", {
            class: `badge ${feature.status}`,
            text: feature.psi === null ? feature.status : `${feature.status} · PSI ${feature.psi.toFixed(2)}`,
          }),
        ]),
        element("p", { text: feature.description }),
        histogram(feature),
        element("div", { class: "legend" }, [
          element("span", { class: "swatch", style: { background: "#9aa3b5" } }),
          document.createTextNode("training"),
          element("span", { class: "swatch", style: { background: "#2f6fdf" } }),
          document.createTextNode("latest inputs"),
        ]),
      ]),
    ),
  );
}

async function getJson(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || `HTTP ${response.status}`);
  return body;
}

async function refresh() {
  const problems = [];
  await Promise.all([
    getJson("feedback/stats")
      .then((stats) => {
        renderAccuracy(stats);
        renderConfusion(stats);
      })
      .catch((error) => problems.push(`live accuracy: ${error.message}`)),
    getJson("drift")
      .then(renderDrift)
      .catch((error) => problems.push(`drift: ${error.message}`)),
  ]);
  const box = document.getElementById("error");
  box.hidden = problems.length === 0;
  document.getElementById("error-text").textContent = `Could not load ${problems.join("; ")}.`;
  const updated = document.getElementById("updated");
  updated.textContent = `Last updated ${new Date().toLocaleTimeString("en-GB")}.`;
  updated.dataset.state = "done";
}

refresh();
setInterval(refresh, REFRESH_MS);
