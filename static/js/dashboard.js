// Supervisor dashboard: the reassign lists' worker choices, and the charts (Chart.js served from
// static/vendor, no CDN).
(function () {
  // The page lists the desk's workers once (<template id="worker-options">); each row's <select> takes a
  // copy, instead of the page repeating every worker in each of its ~60 rows.
  document.querySelectorAll("select[data-options]").forEach(function (select) {
    const options = document.getElementById(select.dataset.options);
    if (options) select.append(options.content.cloneNode(true));
  });
})();
(function () {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const palette = ["#0b5cad", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7d8c", "#6e7781", "#953800", "#57606a"];
  new Chart(document.getElementById("chart-volume"), {
    type: "bar",
    data: {
      labels: data.days,
      datasets: Object.entries(data.volume).map(([type, values], i) => ({ label: type, data: values, backgroundColor: palette[i % palette.length] })),
    },
    options: { responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
  });
  new Chart(document.getElementById("chart-first-response"), {
    type: "line",
    data: { labels: data.days, datasets: [{ label: "h", data: data.first_response_hours, borderColor: palette[0] }] },
    options: { responsive: true, spanGaps: true },
  });
  new Chart(document.getElementById("chart-breaches"), {
    type: "bar",
    data: { labels: data.days, datasets: [{ label: "#", data: data.breaches, backgroundColor: palette[1] }] },
    options: { responsive: true, scales: { y: { beginAtZero: true } } },
  });
})();
