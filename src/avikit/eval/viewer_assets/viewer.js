// The per-sample viewer (avikit.eval.viewer_page): menus, sample list, player, time axis, overlays.
"use strict";
const DATA = JSON.parse(document.getElementById("viewer-data").textContent);
const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const COLOURS = {truth: "#40c85a", pred: "#e63c3c", window: "#9aa", emit: "#3b7dc4", latency: "#3b7dc4"};
// an emission's or latency's status (viewer_streams.py): how the task's own rule judged it
const STATUS = {matched: "#3b7dc4", premature: "#f0a020", partial: "#f0a020", false: "#e63c3c", late: "#a05cc8", missed: "#b8b8b8"};
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
  const what = ({episodes: "episode", stream: "stream"}[cell.view] || "sample") + (cell.samples.length === 1 ? "" : "s");
  $("summary").textContent = `${cell.samples.length} ${what} of ${cell.run}, worst first by ${cell.view ? "" : "per-clip "}${cell.metric} (${cell.unit}, ${cell.lower_is_better ? "lower" : "higher"} is better)`;
  cell.samples.forEach((s, k) => {
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.dataset.index = k;
    const mark = s.outcome ? (s.outcome.success ? "\u2713 " : "\u2717 ") : "";
    button.textContent = `${mark}${s.id}  ${s.score === null || s.score === undefined ? "no per-clip score" : s.score.toFixed(3)}`;
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
// rows for a lane's segments so that overlapping ones (two classes sounding at once) sit one above the other;
// at most MAX_ROWS rows, a segment that fits none goes to the row that frees first
const MAX_ROWS = 4;
function pack(segments) {
  const ends = [], rows = new Array(segments.length);
  const order = segments.map((_, k) => k).sort((a, b) => segments[a][0] - segments[b][0]);
  for (const k of order) {
    const [start, end] = segments[k];
    let row = ends.findIndex((e) => e <= start);
    if (row < 0 && ends.length < MAX_ROWS) row = ends.length;
    if (row < 0) row = ends.indexOf(Math.min(...ends));
    ends[row] = Math.max(ends[row] ?? -Infinity, end);
    rows[k] = row;
  }
  return rows;
}
function timeline(sample, media, player) {
  const width = 820, left = 130, right = width - 12, laneH = 20;
  const lanes = sample.lanes || [];
  const waveH = media.envelope ? 56 : 0, specH = media.spectrogram ? 72 : 0;
  const packed = lanes.map((lane) => pack(lane.segments));
  const height = 8 + waveH + specH + packed.reduce((sum, rows) => sum + Math.max(1, ...rows.map((r) => r + 1)) * laneH + 4, 0) + 28;
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
  lanes.forEach((lane, n) => {
    const rows = packed[n], count = Math.max(1, ...rows.map((r) => r + 1));
    const g = el("g", {class: "lane", "data-kind": lane.kind});
    g.appendChild(el("text", {x: 4, y: y + 14, "font-size": 11}, lane.name));
    g.appendChild(el("rect", {x: left, y, width: right - left, height: count * laneH, fill: "#f4f4f4"}));
    const top = y;
    lane.segments.forEach(([start, end, label, status], k) => {
      const y = top + rows[k] * laneH;
      const seg = el("g", {class: "segment", "data-status": status || ""});
      seg.appendChild(el("title", {}, `${label}: ${start}-${end} s${status ? ` (${status})` : ""}`));
      const colour = STATUS[status] || COLOURS[lane.kind];
      if (end > start) seg.appendChild(el("rect", {x: x(start), y: y + 2, width: Math.max(1, x(end) - x(start)), height: laneH - 4, fill: colour, "fill-opacity": 0.55, stroke: "white"}));
      else seg.appendChild(el("rect", {x: x(start) - 1, y: y + 1, width: 3, height: laneH - 2, fill: colour}));  // an instant: a tick
      if (x(end) - x(start) > 40) seg.appendChild(el("text", {x: x(start) + 3, y: y + 14, "font-size": 10}, label));
      g.appendChild(seg);
    });
    svg.appendChild(g);
    y += count * laneH + 4;
  });
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
// the delay of every reference time (true onset, drift, question) against when it was answered, on the clip's axis
function latencyChart(sample, media) {
  const width = 820, left = 130, right = width - 12, top = 24, h = 90;
  const lane = (sample.lanes || []).find((l) => l.kind === "latency");
  const svg = el("svg", {id: "latency-chart", width, height: top + h + 30});
  if (!lane) return svg;
  const delays = lane.segments.map(([a, b]) => b - a);
  const peak = Math.max(1e-9, ...delays);
  const x = (t) => left + (t / media.duration) * (right - left), y = (d) => top + h - (d / peak) * h;
  svg.appendChild(el("text", {x: 4, y: top + h / 2, "font-size": 11}, "latency (s)"));
  svg.appendChild(el("text", {x: 4, y: 14, "font-size": 11}, "missed"));
  svg.appendChild(el("line", {x1: left, x2: left, y1: top, y2: top + h, stroke: "#444"}));
  for (const d of [0, peak / 2, peak]) {
    svg.appendChild(el("line", {x1: left - 4, x2: right, y1: y(d), y2: y(d), stroke: "#ddd"}));
    svg.appendChild(el("text", {x: left - 6, y: y(d) + 4, "font-size": 10, "text-anchor": "end"}, d.toFixed(2)));
  }
  for (const [a, b, label, status] of lane.segments) {
    const missed = status === "missed", d = b - a;
    const dot = missed
      ? el("path", {class: "missed", d: `M${x(a) - 4},6 l8,8 m0,-8 l-8,8`, stroke: STATUS.missed, "stroke-width": 2})
      : el("circle", {class: "delay", cx: x(a), cy: y(d), r: 3.5, fill: STATUS[status] || COLOURS.latency});
    dot.appendChild(el("title", {}, `${label} (reference ${a} s)`));
    svg.appendChild(dot);
  }
  svg.appendChild(el("line", {x1: left, x2: right, y1: top + h, y2: top + h, stroke: "#444"}));
  for (const t of ticks(media.duration)) {
    svg.appendChild(el("line", {x1: x(t), x2: x(t), y1: top + h, y2: top + h + 4, stroke: "#444"}));
    svg.appendChild(el("text", {x: x(t), y: top + h + 16, "font-size": 10, "text-anchor": "middle"}, `${t}`));
  }
  svg.appendChild(el("text", {x: 4, y: top + h + 16, "font-size": 11}, "reference (s)"));
  return svg;
}
function legend() {
  const p = document.createElement("p");
  p.className = "note legend";
  for (const [name, colour] of Object.entries(STATUS)) {
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = colour;
    p.append(swatch, ` ${name} `);
  }
  p.append("; latency: from the true onset (drift, question) to the emission that answered it; missed: x above the chart");
  return p;
}
// an episode's steps on one axis: the clip's time when the steps have times (embodied), else the step index
function stepAxis(sample, media, player, select) {
  const width = 820, left = 130, right = width - 12, rowH = 22;
  const steps = sample.steps, timed = steps.length > 0 && steps[0].start !== null;
  const rewards = steps.map((s) => s.reward).filter((r) => r !== null);
  const peak = Math.max(1e-9, ...rewards.map(Math.abs));
  const rewardH = rewards.length ? 40 : 0;
  const svg = el("svg", {id: "steps-axis", width, height: 6 + rowH + rewardH + 28});
  const span = timed ? media.duration : steps.length;
  const x = (t) => left + (t / Math.max(span, 1e-9)) * (right - left);
  svg.appendChild(el("text", {x: 4, y: 6 + 15, "font-size": 11}, "action"));
  steps.forEach((s, k) => {
    const [a, b] = timed ? [s.start, s.end] : [k, k + 1];
    const g = el("g", {class: "step", "data-index": k});
    g.appendChild(el("title", {}, `step ${k}: ${s.action} ${s.arguments} -> ${s.result}`));
    g.appendChild(el("rect", {x: x(a), y: 6, width: Math.max(1, x(b) - x(a) - 1), height: rowH, fill: s.ok ? "#8fb8de" : "#e63c3c"}));
    if (x(b) - x(a) > 46) g.appendChild(el("text", {x: x(a) + 3, y: 6 + 15, "font-size": 10}, s.action));
    g.addEventListener("click", () => select(k));
    svg.appendChild(g);
  });
  let y = 6 + rowH;
  if (rewardH) {
    const mid = y + rewardH / 2;
    svg.appendChild(el("text", {x: 4, y: mid + 4, "font-size": 11}, `reward (\u00b1${peak.toFixed(2)})`));
    svg.appendChild(el("line", {x1: left, x2: right, y1: mid, y2: mid, stroke: "#bbb"}));
    steps.forEach((s, k) => {
      const [a, b] = timed ? [s.start, s.end] : [k, k + 1], h = (s.reward / peak) * (rewardH / 2 - 2);
      svg.appendChild(el("rect", {class: "reward", x: x(a), y: h >= 0 ? mid - h : mid, width: Math.max(1, x(b) - x(a) - 1), height: Math.max(0.5, Math.abs(h)), fill: s.reward >= 0 ? "#40c85a" : "#e63c3c"}));
    });
    y += rewardH;
  }
  svg.appendChild(el("line", {x1: left, x2: right, y1: y + 2, y2: y + 2, stroke: "#444"}));
  const marks = timed ? ticks(media.duration) : steps.map((_, k) => k).filter((k) => steps.length <= 20 || k % Math.ceil(steps.length / 20) === 0);
  for (const t of marks) {
    const at = timed ? x(t) : x(t + 0.5);
    svg.appendChild(el("line", {x1: at, x2: at, y1: y + 2, y2: y + 6, stroke: "#444"}));
    svg.appendChild(el("text", {x: at, y: y + 18, "font-size": 10, "text-anchor": "middle"}, `${t}`));
  }
  svg.appendChild(el("text", {x: 4, y: y + 18, "font-size": 11}, timed ? "time (s)" : "step"));
  if (timed && player) {
    const head = el("line", {id: "step-playhead", x1: left, x2: left, y1: 0, y2: y + 2, stroke: "black", "stroke-width": 1.5});
    svg.appendChild(head);
    player.addEventListener("timeupdate", () => {
      const t = Math.min(player.currentTime, media.duration);
      head.setAttribute("x1", x(t)); head.setAttribute("x2", x(t));
      const k = steps.findIndex((s) => s.start <= t && t < s.end);
      if (k >= 0) select(k, false);
    });
  }
  return svg;
}
function stepTable(sample, select) {
  const table = document.createElement("table");
  table.id = "steps";
  const rewards = sample.steps.some((s) => s.reward !== null);
  // a column every step leaves empty (an agent's observation, a policy's arguments) is left out
  const columns = [["#", (s, k) => `${k}`], ["observation", (s) => s.observation], ["action", (s) => s.action],
    ["arguments", (s) => s.arguments], ["result", (s) => s.result],
    [rewards ? "reward" : "seconds", (s) => (rewards ? (s.reward === null ? "-" : s.reward.toFixed(2)) : (s.seconds === null ? "-" : s.seconds.toFixed(3)))],
    ["note", (s) => s.note]].filter(([, f]) => sample.steps.some((s, k) => f(s, k) !== ""));
  const head = table.insertRow();
  for (const [name] of columns) { const th = document.createElement("th"); th.textContent = name; head.appendChild(th); }
  sample.steps.forEach((s, k) => {
    const row = table.insertRow();
    row.dataset.index = k;
    for (const [name, f] of columns) { const cell = row.insertCell(); cell.textContent = f(s, k); cell.dataset.column = name; cell.className = name === "result" && !s.ok ? "bad" : ""; }
    row.addEventListener("click", () => select(k));
  });
  return table;
}
function episode(sample, media, player) {
  const box = document.createElement("div");
  box.id = "episode";
  const o = sample.outcome;
  const verdict = document.createElement("p");
  verdict.id = "outcome";
  verdict.className = o.success ? "ok" : "bad";
  verdict.textContent = `${o.success ? "success" : "failure"}${o.return === null ? "" : `, return ${o.return.toFixed(2)}`}, ${sample.steps.length} steps, ended by ${o.termination}: ${o.summary}`;
  let table = null, axis = null;
  const select = (k, seek = true) => {
    table.querySelectorAll("tr.active").forEach((r) => r.classList.remove("active"));
    axis.querySelectorAll("g.step.active").forEach((g) => g.classList.remove("active"));
    const row = table.querySelector(`tr[data-index="${k}"]`);
    row.classList.add("active");
    axis.querySelector(`g.step[data-index="${k}"]`).classList.add("active");
    const step = sample.steps[k];
    if (seek && player && step.start !== null) player.currentTime = step.start + 1e-3;
  };
  box.appendChild(verdict);
  if (!sample.steps.length) { const p = document.createElement("p"); p.className = "note"; p.textContent = "no steps: answered without a tool call"; box.appendChild(p); return box; }
  table = stepTable(sample, select);
  axis = stepAxis(sample, media, player, select);
  box.append(axis, table);
  return box;
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
  if (current.view === "stream") detail.append(legend(), latencyChart(sample, media));
  if (sample.steps) detail.appendChild(episode(sample, media, player));
  if (sample.answer_media) {  // an agent's answer that is a clip: play it with its own waveform
    const answered = DATA.media[sample.answer_media];
    const heading = document.createElement("h4");
    heading.textContent = "answered clip";
    const other = document.createElement(answered.kind === "video" ? "video" : "audio");
    other.id = "answer-player"; other.controls = true; other.preload = "auto"; other.src = source(answered.src);
    const axis = timeline({lanes: []}, answered, other);
    axis.id = "answer-timeline";
    axis.querySelector("#playhead").id = "answer-playhead";
    detail.append(heading, other, axis);
  }
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
if (DATA.cells.length) onTask(); else $("summary").textContent = "No perception cells, episodes or streams with per-sample records in these runs.";
