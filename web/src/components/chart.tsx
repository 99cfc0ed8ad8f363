/** A time-series chart (uPlot): stored history first, then live points as the page adds them. */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const colors = ['#2f7ed8', '#2a9d5c', '#d9534f', '#8e6bbf'];

/** `data[0]` are times in seconds; each further column is one named series. */
export function Chart(props: {
  title: string;
  names: string[];
  data: number[][];
  height?: number;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const { names } = props;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: props.height ?? 180,
      series: [
        {},
        ...names.map((n, i) => ({
          label: n,
          stroke: colors[i % colors.length] ?? '#888',
          width: 1.5,
        })),
      ],
      axes: [{ stroke: 'currentColor' }, { stroke: 'currentColor' }],
      legend: { show: true },
    };
    const p = new uPlot(opts, props.data as uPlot.AlignedData, el);
    plot.current = p;
    const resize = new ResizeObserver(() => {
      p.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 180 });
    });
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = undefined;
    };
    // Rebuilt only when the series change; new data goes through setData below.
  }, [names.join('|')]);

  useEffect(() => {
    plot.current?.setData(props.data as uPlot.AlignedData);
  }, [props.data]);

  const totals = names.map((n, i) => `${n} ${sum(props.data[i + 1])}`).join(', ');
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} role="img" aria-label={`${props.title}: ${totals}`} data-totals={totals} />
    </figure>
  );
}

function sum(column: number[] | undefined): number {
  return (column ?? []).reduce((a, b) => a + b, 0);
}

/** Adds `n` to series `column` at time `t` (seconds), opening new buckets as time moves on. */
export function addPoint(
  data: number[][],
  bucket: number,
  t: number,
  column: number,
  n: number,
): number[][] {
  const start = Math.floor(t / bucket) * bucket;
  const times = data[0] ?? [];
  const next = data.map((c) => c.slice());
  if (times.length === 0 || (times.at(-1) ?? 0) < start) {
    next[0]?.push(start);
    for (let i = 1; i < next.length; i += 1) next[i]?.push(0);
    // Keep the window's length: drop the oldest bucket as a new one opens.
    if (times.length > 0) for (const c of next) c.shift();
  }
  const last = (next[0]?.length ?? 1) - 1;
  const col = next[column];
  if (col && last >= 0) col[last] = (col[last] ?? 0) + n;
  return next;
}
