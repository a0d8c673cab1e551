import * as React from 'react';

import { nestRuns, staleReason } from '../runs';
import { Nbtrack } from '../tokens';
import { formatMetric, formatTime, metricNumber, statusMark } from './format';

type SortKey = 'status' | 'name' | 'time' | 'metric';

interface ISort {
  key: SortKey;
  ascending: boolean;
}

/**
 * The runs of an experiment: status, name, start time and one chosen metric,
 * sortable by clicking a column header. Child runs (a search's candidates)
 * are listed under their parent, which folds them with ▾/▸.
 */
export function RunsTable(props: {
  runs: Nbtrack.IRunSummary[];
  total: number;
  onSelect: (runId: string) => void;
}): JSX.Element {
  const metricKeys = React.useMemo(() => {
    const keys = new Set<string>();
    for (const run of props.runs) {
      Object.keys(run.metrics).forEach(k => keys.add(k));
    }
    return Array.from(keys).sort();
  }, [props.runs]);

  const [metric, setMetric] = React.useState<string>('');
  const [sort, setSort] = React.useState<ISort>({
    key: 'time',
    ascending: false
  });
  const [collapsed, setCollapsed] = React.useState<ReadonlySet<string>>(
    new Set()
  );
  const toggle = (runId: string) => {
    const next = new Set(collapsed);
    if (next.has(runId)) {
      next.delete(runId);
    } else {
      next.add(runId);
    }
    setCollapsed(next);
  };
  const chosenMetric = metricKeys.includes(metric)
    ? metric
    : (metricKeys[0] ?? '');

  const sorted = React.useMemo(() => {
    const value = (run: Nbtrack.IRunSummary): number | string => {
      switch (sort.key) {
        case 'status':
          return run.status;
        case 'name':
          return run.run_name.toLowerCase();
        case 'time':
          return run.start_time;
        case 'metric': {
          const v = metricNumber(run.metrics[chosenMetric]);
          // Runs without the metric sort last in both directions.
          return Number.isNaN(v) ? (sort.ascending ? Infinity : -Infinity) : v;
        }
      }
    };
    const sign = sort.ascending ? 1 : -1;
    return [...props.runs].sort((a, b) => {
      const va = value(a);
      const vb = value(b);
      if (va < vb) {
        return -sign;
      }
      if (va > vb) {
        return sign;
      }
      return b.start_time - a.start_time;
    });
  }, [props.runs, sort, chosenMetric]);
  const nested = React.useMemo(
    () => nestRuns(sorted, collapsed),
    [sorted, collapsed]
  );

  const header = (key: SortKey, label: React.ReactNode) => {
    const active = sort.key === key;
    return (
      <th
        className={active ? 'jp-nbtrack-sorted' : undefined}
        aria-sort={
          active ? (sort.ascending ? 'ascending' : 'descending') : 'none'
        }
        onClick={() =>
          setSort({
            key,
            ascending: active ? !sort.ascending : key === 'name'
          })
        }
      >
        {label}
        {active ? (sort.ascending ? ' ▲' : ' ▼') : ''}
      </th>
    );
  };

  if (props.runs.length === 0) {
    return (
      <div className="jp-nbtrack-RunsTable jp-nbtrack-empty">
        No runs in this experiment yet. Run a cell with <code>%%track</code> or
        call <code>nbtrack.start_run()</code>.
      </div>
    );
  }

  return (
    <div className="jp-nbtrack-RunsTable">
      <div className="jp-nbtrack-toolbar">
        <span className="jp-nbtrack-count">
          {props.runs.length < props.total
            ? `${props.runs.length} of ${props.total} runs`
            : `${props.runs.length} runs`}
        </span>
        {metricKeys.length > 0 && (
          <label>
            <span>Metric </span>
            <select
              className="jp-mod-styled"
              aria-label="Metric column"
              value={chosenMetric}
              onChange={event => setMetric(event.target.value)}
            >
              {metricKeys.map(k => (
                <option key={k} value={k}>
                  {k}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <table>
        <thead>
          <tr>
            {header('status', '')}
            {header('name', 'Run')}
            {header('time', 'Started')}
            {chosenMetric && header('metric', chosenMetric)}
          </tr>
        </thead>
        <tbody>
          {nested.map(({ run, depth, children }) => (
            <tr
              key={run.run_id}
              className={
                depth ? 'jp-nbtrack-RunRow jp-nbtrack-ChildRun' : 'jp-nbtrack-RunRow'
              }
              data-run-id={run.run_id}
              data-depth={depth}
              tabIndex={0}
              onClick={() => props.onSelect(run.run_id)}
              onKeyDown={event => {
                if (event.key === 'Enter') {
                  props.onSelect(run.run_id);
                }
              }}
            >
              <td
                className={`jp-nbtrack-status jp-nbtrack-status-${run.status.toLowerCase()}`}
                title={run.status}
              >
                {statusMark(run.status)}
              </td>
              <td className="jp-nbtrack-RunName" title={run.run_name}>
                <span style={{ paddingLeft: `${depth * 1.1}em` }} />
                {children > 0 && (
                  <button
                    className="jp-nbtrack-Toggle"
                    aria-label={
                      collapsed.has(run.run_id)
                        ? `Show the ${children} child runs`
                        : `Hide the ${children} child runs`
                    }
                    aria-expanded={!collapsed.has(run.run_id)}
                    onClick={event => {
                      event.stopPropagation();
                      toggle(run.run_id);
                    }}
                  >
                    {collapsed.has(run.run_id) ? '▸' : '▾'}
                  </button>
                )}
                {depth > 0 && <span className="jp-nbtrack-ChildMark">↳ </span>}
                {run.run_name}
                {children > 0 && (
                  <span className="jp-nbtrack-ChildCount"> ({children})</span>
                )}
                {staleReason(run.tags) !== null && (
                  <span
                    className="jp-nbtrack-StaleBadge"
                    title={staleReason(run.tags) ?? ''}
                  >
                    stale
                  </span>
                )}
              </td>
              <td>{formatTime(run.start_time)}</td>
              {chosenMetric && (
                <td className="jp-nbtrack-num">
                  {formatMetric(run.metrics[chosenMetric])}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
