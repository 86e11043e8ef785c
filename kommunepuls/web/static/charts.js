// Minimal SVG charts for the status page: a line chart and a bar chart, no library.
// Shares are 0..1 and drawn as percent; null values leave gaps (suppressed or no data).
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 260, PAD = { left: 40, right: 12, top: 10, bottom: 40 };

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    if (parent) parent.appendChild(node);
    return node;
  }

  function text(parent, x, y, content, attrs) {
    const node = el("text", Object.assign({ x, y }, attrs || {}), parent);
    node.textContent = content; // textContent: data never becomes markup
    return node;
  }

  function frame(container, yMax) {
    container.replaceChildren();
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" }, container);
    const plotH = H - PAD.top - PAD.bottom;
    const y = (v) => PAD.top + plotH * (1 - v / yMax);
    for (let tick = 0; tick <= yMax + 1e-9; tick += yMax / 4) {
      el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(tick), y2: y(tick), class: "grid" }, svg);
      text(svg, PAD.left - 6, y(tick) + 4, `${Math.round(tick * 100)} %`, { "text-anchor": "end" });
    }
    el("line", { x1: PAD.left, x2: PAD.left, y1: PAD.top, y2: H - PAD.bottom, class: "axis" }, svg);
    return { svg, y };
  }

  function targetLine(svg, y, target) {
    if (target === null || target === undefined) return;
    el("line", { x1: PAD.left, x2: W - PAD.right, y1: y(target), y2: y(target), class: "target" }, svg);
    text(svg, W - PAD.right, y(target) - 4, `mål ${Math.round(target * 100)} %`,
         { "text-anchor": "end", fill: "#c0392b" });
  }

  // series: [{name, cls, values: [number|null]}], labels: x labels (same length).
  function line(container, { labels, series, target, yMax }) {
    const { svg, y } = frame(container, yMax || 1);
    const n = Math.max(labels.length, 1);
    const step = (W - PAD.left - PAD.right) / Math.max(n - 1, 1);
    const x = (i) => PAD.left + (n === 1 ? (W - PAD.left - PAD.right) / 2 : i * step);
    const every = Math.ceil(n / 8);
    labels.forEach((label, i) => {
      if (i % every !== 0 && i !== n - 1) return;
      // The last label ends at its point, so it is not cut at the chart's right edge.
      const anchor = i === n - 1 && n > 1 ? "end" : i === 0 && n > 1 ? "start" : "middle";
      text(svg, x(i), H - PAD.bottom + 16, label, { "text-anchor": anchor });
    });
    targetLine(svg, y, target);
    series.forEach((s, k) => {
      let path = "", pen = false;
      s.values.forEach((v, i) => {
        if (v === null || v === undefined) { pen = false; return; }
        path += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
        pen = true;
        el("circle", { cx: x(i), cy: y(v), r: 2.5, class: s.cls }, svg);
      });
      if (path) el("path", { d: path, class: `line ${s.cls}` }, svg);
      text(svg, PAD.left + 8 + k * 150, H - 6, `— ${s.name}`, { class: s.cls, fill: "currentColor" })
        .setAttribute("style", "fill: inherit");
    });
  }

  // bars: [{label, value (0..1|null), own: bool}], sorted by the caller.
  function bars(container, { items, target, yMax }) {
    const { svg, y } = frame(container, yMax || 1);
    const n = Math.max(items.length, 1);
    const width = (W - PAD.left - PAD.right) / n;
    targetLine(svg, y, target);
    items.forEach((item, i) => {
      if (item.value === null || item.value === undefined) return;
      const bar = el("rect", {
        x: PAD.left + i * width + width * 0.1, width: Math.max(width * 0.8, 1),
        y: y(item.value), height: Math.max(y(0) - y(item.value), 0.5),
        class: item.own ? "bar own" : "bar",
      }, svg);
      el("title", {}, bar).textContent = `${item.label}: ${(item.value * 100).toFixed(1)} %`;
      if (item.own) text(svg, PAD.left + (i + 0.5) * width, y(item.value) - 4, item.label, { "text-anchor": "middle" });
    });
    text(svg, PAD.left, H - PAD.bottom + 16, "højeste andel", {});
    text(svg, W - PAD.right, H - PAD.bottom + 16, "laveste / skjult", { "text-anchor": "end" });
  }

  return { line, bars };
})();
