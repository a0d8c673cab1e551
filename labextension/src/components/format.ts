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
