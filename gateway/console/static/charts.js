// Draws every <canvas data-chart="..."> with Chart.js; the data is JSON in the attribute, so
// the page needs no inline script (the Content-Security-Policy forbids it).
"use strict";
(function () {
  var palette = ["#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#c62828", "#00838f", "#5d4037"];
  var grouping = new Intl.NumberFormat("vi-VN");
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var data = JSON.parse(canvas.getAttribute("data-chart"));
    var unit = canvas.getAttribute("data-unit") || "";
    data.datasets.forEach(function (set, i) {
      set.backgroundColor = palette[i % palette.length];
      set.maxBarThickness = 48;
    });
    var chart = new Chart(canvas, {
      type: "bar",
      data: data,
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { stacked: true },
          y: {
            stacked: true,
            beginAtZero: true,
            ticks: {
              precision: 0, callback: function (v) { return grouping.format(v) + unit; } },
          },
        },
        plugins: {
          tooltip: {
            callbacks: {
              label: function (c) {
                return c.dataset.label + ": " + grouping.format(c.parsed.y) + unit;
              },
            },
          },
        },
      },
    });
    canvas.setAttribute("data-drawn", String(chart.data.datasets.length));
  });
})();
