import * as React from 'react';

import { Nbtrack } from '../tokens';
import { metricNumber } from './format';

const WIDTH = 80;
const HEIGHT = 20;
const PAD = 2;

/**
 * A metric's history as a small SVG line (x = step, y = value). Non-finite
 * values are skipped.
 */
export function Sparkline(props: {
  history: Nbtrack.IMetric[] | undefined;
}): JSX.Element | null {
  const points = (props.history ?? [])
    .map(m => [m.step, metricNumber(m.value)] as [number, number])
    .filter(([, y]) => Number.isFinite(y))
    .sort((a, b) => a[0] - b[0]);
  if (points.length < 2) {
    return null;
  }
  const xs = points.map(p => p[0]);
  const ys = points.map(p => p[1]);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs);
  const y0 = Math.min(...ys);
  const y1 = Math.max(...ys);
  const sx = (x: number) =>
    x1 === x0 ? WIDTH / 2 : PAD + ((x - x0) / (x1 - x0)) * (WIDTH - 2 * PAD);
  const sy = (y: number) =>
    y1 === y0
      ? HEIGHT / 2
      : HEIGHT - PAD - ((y - y0) / (y1 - y0)) * (HEIGHT - 2 * PAD);
  const path = points
    .map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`)
    .join(' ');
  const last = points[points.length - 1];
  return (
    <svg
      className="jp-nbtrack-Sparkline"
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={`${points.length} values`}
    >
      <polyline points={path} fill="none" strokeWidth={1.2} />
      <circle cx={sx(last[0])} cy={sy(last[1])} r={1.8} />
    </svg>
  );
}
