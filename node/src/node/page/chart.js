// A small uPlot line chart that fills its reserved box (page.css .chart) and follows its width.
// uPlot is the node's own copy (/page/uplot.min.js, from node_modules), loaded before this module.

export function lineChart(el, series, o = {}) {
  const opts = {
    width: el.clientWidth || 300,
    height: el.clientHeight || 160,
    // The figcaption names each line by its dash pattern, which survives greyscale; a legend would overflow the reserved box.
    legend: { show: false },
    cursor: { show: false },
    // Fixed ranges draw the axes before the first points arrive, and keep them still as points come.
    scales: {
      x: { time: false, ...(o.xRange ? { range: o.xRange } : {}) },
      y: { range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(o.yAtLeast ?? 1, max ?? 0)] },
    },
    // Rounds are whole numbers: `o.wholeX` keeps the x ticks on them.
    axes: [{ size: 30, ...(o.wholeX ? { incrs: [1, 2, 5, 10, 20, 50, 100] } : {}) }, { size: 45 }],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.stroke ?? "#222", width: 1.5, dash: s.dash, points: { show: false } }))],
  };
  const data = [[], ...series.map(() => [])];
  const plot = new window.uPlot(opts, data, el);
  new ResizeObserver(() => plot.setSize({ width: el.clientWidth, height: el.clientHeight || 160 })).observe(el);
  return plot;
}
