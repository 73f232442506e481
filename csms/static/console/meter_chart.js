/* Power (kW, left axis) and energy (kWh, right axis) over time, drawn with the vendored Chart.js
   from <canvas data-series-url> (csms/console/meter_series.py: x in ms since the epoch). A linear
   time axis with our own tick labels: no date adapter to vendor. data-refresh-seconds reloads. */
'use strict';
(function () {
  function label(ms) {
    const d = new Date(ms);
    return d.toISOString().slice(11, 19);
  }
  async function load(canvas) {
    const response = await fetch(canvas.dataset.seriesUrl, { credentials: 'same-origin' });
    const series = await response.json();
    const datasets = [
      { label: 'power (kW)', data: series.power, yAxisID: 'power', borderColor: '#1d7a2b', pointRadius: 2 },
      { label: 'energy (kWh)', data: series.energy, yAxisID: 'energy', borderColor: '#417690', pointRadius: 2 }
    ];
    let chart = Chart.getChart(canvas);
    if (chart) {
      chart.data.datasets[0].data = series.power;
      chart.data.datasets[1].data = series.energy;
      chart.update('none');
    } else {
      chart = new Chart(canvas, {
        type: 'line',
        data: { datasets },
        options: {
          animation: false,
          maintainAspectRatio: false,
          parsing: false,
          scales: {
            x: { type: 'linear', ticks: { callback: label, maxTicksLimit: 8 } },
            power: { type: 'linear', position: 'left', beginAtZero: true, title: { display: true, text: 'kW' } },
            energy: { type: 'linear', position: 'right', beginAtZero: true, title: { display: true, text: 'kWh' }, grid: { drawOnChartArea: false } }
          },
          plugins: { tooltip: { callbacks: { title: (items) => items.length ? label(items[0].parsed.x) + ' UTC' : '' } } }
        }
      });
    }
    canvas.dataset.points = String(series.power.length + series.energy.length);
  }
  document.addEventListener('DOMContentLoaded', () => {
    document.querySelectorAll('canvas[data-series-url]').forEach((canvas) => {
      load(canvas);
      const every = Number(canvas.dataset.refreshSeconds || 0);
      if (every > 0) { setInterval(() => load(canvas), every * 1000); }
    });
  });
})();
