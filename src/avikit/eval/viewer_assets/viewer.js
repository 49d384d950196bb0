// The per-sample viewer (avikit.eval.viewer_page): menus, sample list, player, time axis, overlays.
"use strict";
const DATA = JSON.parse(document.getElementById("viewer-data").textContent);
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = {truth: "#40c85a", pred: "#e63c3c", window: "#9aa"};
let current = null;
// an embedded file is "inline:HASH", stored once in DATA.inline; anything else is a path beside the page
const source = (s) => (s.startsWith("inline:") ? DATA.inline[s.slice(7)] : s);

function unique(values) { return [...new Set(values)]; }
function fill(select, values) {
  select.replaceChildren(...values.map((v) => { const o = document.createElement("option"); o.value = v; o.textContent = v; return o; }));
}
function cellsFor(task, model) {
  return DATA.cells.filter((c) => c.task === task && (model === undefined || c.model === model));
}
function onTask() { fill($("model"), unique(cellsFor($("task").value).map((c) => c.model))); onModel(); }
function onModel() { fill($("condition"), unique(cellsFor($("task").value, $("model").value).map((c) => c.condition))); onCondition(); }
function onCondition() {
  const cell = DATA.cells.find((c) => c.task === $("task").value && c.model === $("model").value && c.condition === $("condition").value);
  current = cell;
  const list = $("samples");
  list.replaceChildren();
  if (!cell) { $("detail").replaceChildren(); return; }
  $("summary").textContent = `${cell.samples.length} samples of ${cell.run}, worst first by per-clip ${cell.metric} (${cell.unit}, ${cell.lower_is_better ? "lower" : "higher"} is better)`;
  cell.samples.forEach((s, k) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.dataset.index = k;
    button.textContent = `${s.id}  ${s.score === null || s.score === undefined ? "no per-clip score" : s.score.toFixed(3)}`;
    button.addEventListener("click", () => show(k));
    item.appendChild(button);
    list.appendChild(item);
  });
  show(0);
}
function el(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}
function ticks(duration) {
  const raw = duration / 8, power = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const out = [];
  for (let t = 0; t <= duration + 1e-9; t += step) out.push(Math.round(t * 1000) / 1000);
  return out;
}
function timeline(sample, media, player) {
  const width = 820, left = 130, right = width - 12, laneH = 20;
  const lanes = sample.lanes || [];
  const waveH = media.envelope ? 56 : 0, specH = media.spectrogram ? 72 : 0;
  const height = 8 + waveH + specH + lanes.length * (laneH + 4) + 28;
  const svg = el("svg", {id: "timeline", width, height});
  const x = (t) => left + (t / media.duration) * (right - left);
  let y = 4;
  if (media.envelope) {
    const n = media.envelope.length, mid = y + waveH / 2;
    const top = media.envelope.map((p, i) => `${left + (i / n) * (right - left)},${mid - p[1] * waveH / 2}`);
    const bottom = media.envelope.map((p, i) => `${left + (i / n) * (right - left)},${mid - p[0] * waveH / 2}`).reverse();
    svg.appendChild(el("text", {x: 4, y: mid + 4, "font-size": 11}, "waveform"));
    svg.appendChild(el("polygon", {points: top.concat(bottom).join(" "), fill: "#4e79a7", class: "waveform"}));
    y += waveH;
  }
  if (media.spectrogram) {
    svg.appendChild(el("text", {x: 4, y: y + specH / 2 + 4, "font-size": 11}, "spectrogram"));
    const image = el("image", {x: left, y, width: right - left, height: specH - 4, preserveAspectRatio: "none", class: "spectrogram"});
    image.setAttribute("href", source(media.spectrogram));
    svg.appendChild(image);
    y += specH;
  }
  for (const lane of lanes) {
    const g = el("g", {class: "lane", "data-kind": lane.kind});
    g.appendChild(el("text", {x: 4, y: y + 14, "font-size": 11}, lane.name));
    g.appendChild(el("rect", {x: left, y, width: right - left, height: laneH, fill: "#f4f4f4"}));
    for (const [start, end, label] of lane.segments) {
      const seg = el("g", {class: "segment"});
      seg.appendChild(el("title", {}, `${label}: ${start}-${end} s`));
      seg.appendChild(el("rect", {x: x(start), y: y + 2, width: Math.max(1, x(end) - x(start)), height: laneH - 4, fill: COLOURS[lane.kind], "fill-opacity": 0.55, stroke: "white"}));
      if (x(end) - x(start) > 40) seg.appendChild(el("text", {x: x(start) + 3, y: y + 14, "font-size": 10}, label));
      g.appendChild(seg);
    }
    svg.appendChild(g);
    y += laneH + 4;
  }
  svg.appendChild(el("line", {x1: left, x2: right, y1: y + 2, y2: y + 2, stroke: "#444"}));
  for (const t of ticks(media.duration)) {
    svg.appendChild(el("line", {x1: x(t), x2: x(t), y1: y + 2, y2: y + 6, stroke: "#444"}));
    svg.appendChild(el("text", {x: x(t), y: y + 18, "font-size": 10, "text-anchor": "middle"}, `${t}`));
  }
  svg.appendChild(el("text", {x: 4, y: y + 18, "font-size": 11}, "time (s)"));
  const head = el("line", {id: "playhead", x1: left, x2: left, y1: 0, y2: y + 2, stroke: "black", "stroke-width": 1.5});
  svg.appendChild(head);
  const move = () => { const t = Math.min(player.currentTime, media.duration); head.setAttribute("x1", x(t)); head.setAttribute("x2", x(t)); };
  player.addEventListener("timeupdate", move);
  player.addEventListener("seeked", move);
  svg.addEventListener("click", (event) => {
    const box = svg.getBoundingClientRect();
    const t = ((event.clientX - box.left) - left) / (right - left) * media.duration;
    player.currentTime = Math.max(0, Math.min(media.duration, t));
    move();
  });
  return svg;
}
function overlays(sample) {
  const box = document.createElement("div");
  const controls = document.createElement("p");
  controls.className = "note";
  for (const [name, label] of [["truth", "true mask (green)"], ["pred", "prediction (red)"]]) {
    const input = document.createElement("input");
    input.type = "checkbox"; input.checked = true; input.id = `show-${name}`;
    input.addEventListener("change", () => box.querySelectorAll(`img.${name}`).forEach((i) => { i.style.display = input.checked ? "" : "none"; }));
    const tag = document.createElement("label");
    tag.append(input, ` ${label} `);
    controls.appendChild(tag);
  }
  box.appendChild(controls);
  for (const o of sample.overlays) {
    const frame = document.createElement("div");
    frame.className = "overlay";
    for (const part of ["frame", "truth", "pred"]) {
      const img = document.createElement("img");
      img.className = part; img.src = source(o[part]); img.alt = `${part} at ${o.time} s`;
      frame.appendChild(img);
    }
    const caption = document.createElement("span");
    caption.textContent = `${o.time} s`;
    frame.appendChild(caption);
    box.appendChild(frame);
  }
  return box;
}
function questions(sample) {
  const table = document.createElement("table");
  table.id = "qa";
  table.innerHTML = "<tr><th>#</th><th>question</th><th>true answer</th><th>predicted</th><th>true evidence (s)</th><th>cited evidence (s)</th></tr>";
  sample.qa.forEach((q, k) => {
    const row = table.insertRow();
    const span = (s) => (s ? `${s[0]}-${s[1]}` : "-");
    for (const text of [`Q${k + 1}`, q.question, q.truth, q.predicted, span(q.evidence_truth), span(q.evidence_pred)]) row.insertCell().textContent = text;
    row.cells[3].className = q.correct ? "ok" : "bad";
  });
  return table;
}
function show(index) {
  const sample = current.samples[index];
  document.querySelectorAll("#samples button").forEach((b) => b.classList.toggle("active", Number(b.dataset.index) === index));
  const media = DATA.media[sample.media];
  const detail = $("detail");
  detail.replaceChildren();
  const title = document.createElement("h3");
  title.textContent = `${sample.id} (${current.model}, ${current.condition})`;
  const scores = document.createElement("p");
  scores.className = "note";
  scores.textContent = Object.entries(sample.scores).map(([k, v]) => `${k}: ${v === null ? "-" : v.toFixed(3)}`).join(", ") || "no per-clip scores";
  const player = document.createElement(media.kind === "video" ? "video" : "audio");
  player.id = "player"; player.controls = true; player.preload = "auto"; player.src = source(media.src);
  detail.append(title, scores, player, timeline(sample, media, player));
  if (sample.overlays) detail.appendChild(overlays(sample));
  if (sample.qa) detail.appendChild(questions(sample));
  for (const line of sample.notes || []) {
    const p = document.createElement("p"); p.className = "note"; p.textContent = line; detail.appendChild(p);
  }
}
fill($("task"), unique(DATA.cells.map((c) => c.task)));
$("task").addEventListener("change", onTask);
$("model").addEventListener("change", onModel);
$("condition").addEventListener("change", onCondition);
if (DATA.cells.length) onTask(); else $("summary").textContent = "No perception cells with per-sample records in these runs.";
