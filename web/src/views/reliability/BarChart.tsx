// A bar chart over named categories, drawn by uPlot (canvas). uPlot's x axis is numeric:
// category i sits at x = i and the axis prints its name. Series are drawn in order at the
// same place, so a later, smaller series over an earlier total reads as a stack; the legend is
// the caller's (HTML), since uPlot's would print the drawn totals.
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Series {
  label: string;
  /** A CSS colour. */
  color: string;
  values: number[];
}

function options(title: string, categories: string[], series: Series[], unit: string, width: number): uPlot.Options {
  const xs = categories.map((_, i) => i);
  const bars = uPlot.paths.bars?.({ size: [0.6, 64], align: 0 });
  return {
    title,
    width,
    height: 220,
    legend: { show: false },
    scales: { x: { time: false, range: [-0.5, categories.length - 0.5] } },
    axes: [
      { values: (_u, ticks) => ticks.map((t) => (Number.isInteger(t) ? (categories[t] ?? '') : '')), splits: () => xs },
      { label: unit },
    ],
    series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.color, fill: s.color, paths: bars, points: { show: false } }))],
  };
}

export function BarChart({ title, categories, series, unit }: { title: string; categories: string[]; series: Series[]; unit: string }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = host.current;
    if (!el || categories.length === 0) return;
    const width = Math.max(320, el.clientWidth || 640);
    const data: uPlot.AlignedData = [categories.map((_, i) => i), ...series.map((s) => s.values)];
    const plot = new uPlot(options(title, categories, series, unit, width), data, el);
    return () => plot.destroy();
  }, [title, categories, series, unit]);
  return (
    <figure className="chart-box">
      <div ref={host} className="chart" role="img" aria-label={title} data-testid="reliability-chart" />
      <figcaption className="small">
        {series.map((s) => (
          <span key={s.label} className="chart-key">
            <span className="chart-swatch" style={{ background: s.color }} /> {s.label}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
