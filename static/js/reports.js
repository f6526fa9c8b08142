// Supervisor reports: one chart per report from the json_script "report-charts"
// (Chart.js from static/vendor, no CDN). Each chart: {type, labels, datasets: [{label, data}], unit, horizontal}.
(function () {
  const source = document.getElementById("report-charts");
  if (!source || typeof Chart === "undefined") return;
  const charts = JSON.parse(source.textContent);
  const palette = ["#0b5cad", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c", "#6e7781", "#953800", "#57606a"];
  document.querySelectorAll("canvas[data-report]").forEach(function (canvas) {
    const spec = charts[canvas.dataset.report];
    if (!spec || !spec.labels.length) return;
    const round = spec.type === "doughnut";
    const datasets = spec.datasets.map(function (set, i) {
      const colour = round ? spec.labels.map(function (_label, j) { return palette[j % palette.length]; }) : palette[i % palette.length];
      return { label: set.label, data: set.data, backgroundColor: colour, borderColor: round ? "#fff" : colour, spanGaps: true };
    });
    // Wide and low for series, taller for long horizontal lists, compact for doughnuts.
    const aspectRatio = round ? 2.5 : spec.horizontal ? Math.max(1, 4 - spec.labels.length / 8) : 3.5;
    const options = { responsive: true, aspectRatio: aspectRatio, plugins: { legend: { display: round || datasets.length > 1 } } };
    if (!round) {
      options.indexAxis = spec.horizontal ? "y" : "x";
      const value = spec.horizontal ? "x" : "y";
      options.scales = {};
      options.scales[value] = { beginAtZero: true, title: { display: Boolean(spec.unit), text: spec.unit } };
    }
    new Chart(canvas, { type: spec.type, data: { labels: spec.labels, datasets: datasets }, options: options });
  });
})();
