import { Nbtrack } from '../tokens';

/**
 * A metric value as a number (NaN for the strings the API sends for
 * non-finite values).
 */
export function metricNumber(value: Nbtrack.MetricValue | undefined): number {
  if (value === undefined) {
    return NaN;
  }
  if (typeof value === 'number') {
    return value;
  }
  if (value === 'Infinity') {
    return Infinity;
  }
  if (value === '-Infinity') {
    return -Infinity;
  }
  return NaN;
}

/**
 * A metric value for display, at most 4 significant digits.
 */
export function formatMetric(value: Nbtrack.MetricValue | undefined): string {
  if (value === undefined) {
    return '';
  }
  if (typeof value === 'string') {
    return value;
  }
  if (Number.isInteger(value)) {
    return String(value);
  }
  return Number(value.toPrecision(4)).toString();
}

/**
 * A millisecond timestamp as a short local date and time.
 */
export function formatTime(ms: number | null | undefined): string {
  if (!ms) {
    return '';
  }
  const date = new Date(ms);
  const now = new Date();
  const sameDay = date.toDateString() === now.toDateString();
  return sameDay
    ? date.toLocaleTimeString()
    : `${date.toLocaleDateString()} ${date.toLocaleTimeString()}`;
}

/**
 * A run's duration, such as "1.2 s" or "3 min".
 */
export function formatDuration(
  start: number,
  end: number | null | undefined
): string {
  if (!end) {
    return '';
  }
  const seconds = (end - start) / 1000;
  if (seconds < 60) {
    return `${seconds.toFixed(1)} s`;
  }
  if (seconds < 3600) {
    return `${(seconds / 60).toFixed(1)} min`;
  }
  return `${(seconds / 3600).toFixed(1)} h`;
}

/**
 * The one-character marker of a run status.
 */
export function statusMark(status: string): string {
  switch (status) {
    case 'FINISHED':
      return '✓';
    case 'FAILED':
      return '✗';
    case 'RUNNING':
      return '●';
    case 'KILLED':
      return '■';
    default:
      return '○';
  }
}

/**
 * A timestamp short enough for one line of a narrow sidebar: "14:05" today,
 * "Mar 4 14:05" this year, "2025-03-04" before.
 */
export function compactTime(
  ms: number | null | undefined,
  now: Date = new Date()
): string {
  if (!ms) {
    return '';
  }
  const date = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  const hm = `${pad(date.getHours())}:${pad(date.getMinutes())}`;
  if (date.toDateString() === now.toDateString()) {
    return hm;
  }
  if (date.getFullYear() === now.getFullYear()) {
    const month = date.toLocaleString('en', { month: 'short' });
    return `${month} ${date.getDate()} ${hm}`;
  }
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/**
 * A registry event in words, naming the alias for alias changes:
 * "alias @champion → v2 (was v1)", "v3 Staging → Production".
 */
export function eventText(event: Nbtrack.IRegistryEvent): string {
  const version = event.version ? `v${event.version}` : '';
  const alias = event.alias ?? null;
  if (event.action === 'set_alias' && alias) {
    const was = event.from_value ? ` (was v${event.from_value})` : '';
    return `alias @${alias} → v${event.to_value ?? '?'}${was}`;
  }
  if (event.action === 'delete_alias' && alias) {
    return event.from_value
      ? `removed alias @${alias} (was v${event.from_value})`
      : `removed alias @${alias}`;
  }
  if (event.action === 'transition' || event.action === 'archive') {
    const how = event.action === 'archive' ? ' (archived by a promotion)' : '';
    return `${version} ${event.from_value ?? '—'} → ${event.to_value ?? '—'}${how}`;
  }
  if (event.from_value !== null || event.to_value !== null) {
    return `${event.action} ${version}: ${event.from_value ?? '—'} → ${event.to_value ?? '—'}`.replace(
      '  ',
      ' '
    );
  }
  return `${event.action} ${version}`.trim();
}

/**
 * Metric names whose lower values are better (losses and errors).
 */
const LOWER_IS_BETTER = /loss|error|mse|mae|rmse|mape|err/i;

/**
 * Whether lower values of a metric are better, guessed from its name.
 */
export function lowerIsBetter(metric: string): boolean {
  return LOWER_IS_BETTER.test(metric);
}

/**
 * One row of a promotion's comparison.
 */
export interface IMetricComparison {
  key: string;
  candidate: number;
  current: number;
  worse: boolean;
}

/**
 * The metrics two runs share, with whether the candidate is worse than the
 * current version (per the metric's direction). Non-finite values are left
 * out.
 */
export function compareMetrics(
  candidate: Record<string, Nbtrack.MetricValue>,
  current: Record<string, Nbtrack.MetricValue>
): IMetricComparison[] {
  const out: IMetricComparison[] = [];
  for (const key of Object.keys(candidate).sort()) {
    if (!(key in current)) {
      continue;
    }
    const a = metricNumber(candidate[key]);
    const b = metricNumber(current[key]);
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      continue;
    }
    out.push({
      key,
      candidate: a,
      current: b,
      worse: lowerIsBetter(key) ? a > b : a < b
    });
  }
  return out;
}
