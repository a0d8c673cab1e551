import * as React from 'react';

import { Nbtrack } from '../tokens';
import { Sparkline } from './Sparkline';
import { formatDuration, formatMetric, formatTime } from './format';

/**
 * Tags that are shown in their own section rather than in the tag table.
 */
const HIDDEN_TAGS = new Set(['nbtrack.cell_source']);

function KeyValueTable(props: {
  rows: [string, React.ReactNode][];
  className: string;
}): JSX.Element {
  return (
    <table className={props.className}>
      <tbody>
        {props.rows.map(([k, v]) => (
          <tr key={k}>
            <th title={k}>{k}</th>
            <td>{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * One run: params, metrics with sparklines, tags, datasets and the cell that
 * produced it, with "Open cell".
 */
export function RunDetail(props: {
  runId: string;
  detail: Nbtrack.IRunDetail | null;
  histories: Record<string, Nbtrack.IMetric[]>;
  onBack: () => void;
  onOpenCell: (notebookPath: string, cellId: string | null) => void;
}): JSX.Element {
  const { detail } = props;
  const back = (
    <button
      className="jp-Button jp-mod-styled jp-mod-reject jp-nbtrack-back"
      onClick={props.onBack}
    >
      ← Runs
    </button>
  );
  if (!detail) {
    return (
      <div className="jp-nbtrack-RunDetail">
        {back}
        <p>Loading run…</p>
      </div>
    );
  }
  const { info, data, inputs } = detail.run;
  const params = Object.keys(data.params)
    .sort()
    .map(k => [k, data.params[k]] as [string, React.ReactNode]);
  const metrics = Object.keys(data.metrics)
    .sort()
    .map(
      k =>
        [
          k,
          <span className="jp-nbtrack-metric">
            <span className="jp-nbtrack-num">
              {formatMetric(data.metrics[k])}
            </span>
            <Sparkline history={props.histories[k]} />
          </span>
        ] as [string, React.ReactNode]
    );
  const tags = Object.keys(data.tags)
    .filter(k => !HIDDEN_TAGS.has(k))
    .sort()
    .map(k => [k, data.tags[k]] as [string, React.ReactNode]);
  const notebookPath = detail.notebook_path;

  return (
    <div className="jp-nbtrack-RunDetail">
      {back}
      <h3 className="jp-nbtrack-RunTitle">{info.run_name}</h3>
      <div className="jp-nbtrack-meta">
        <span
          className={`jp-nbtrack-status-${info.status.toLowerCase()}`}
        >
          {info.status}
        </span>{' '}
        · {formatTime(info.start_time)}
        {info.end_time ? ` · ${formatDuration(info.start_time, info.end_time)}` : ''}
        <br />
        <code className="jp-nbtrack-runid">{info.run_id}</code>
      </div>

      <h4>Parameters</h4>
      {params.length ? (
        <KeyValueTable rows={params} className="jp-nbtrack-Params" />
      ) : (
        <p className="jp-nbtrack-empty">No parameters.</p>
      )}

      <h4>Metrics</h4>
      {metrics.length ? (
        <KeyValueTable rows={metrics} className="jp-nbtrack-Metrics" />
      ) : (
        <p className="jp-nbtrack-empty">No metrics.</p>
      )}

      {inputs.dataset_inputs.length > 0 && (
        <>
          <h4>Datasets</h4>
          <table className="jp-nbtrack-Datasets">
            <tbody>
              {inputs.dataset_inputs.map((d, i) => (
                <tr key={i}>
                  <th>{d.tags['mlflow.data.context'] ?? d.dataset.name}</th>
                  <td>
                    {d.dataset.name} <code>{d.dataset.digest}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}

      <h4>Tags</h4>
      {tags.length ? (
        <KeyValueTable rows={tags} className="jp-nbtrack-Tags" />
      ) : (
        <p className="jp-nbtrack-empty">No tags.</p>
      )}

      {detail.cell_source !== null && (
        <>
          <h4>
            Cell
            {notebookPath && (
              <button
                className="jp-Button jp-mod-styled jp-mod-accept jp-nbtrack-OpenCell"
                onClick={() => props.onOpenCell(notebookPath, detail.cell_id)}
                title={notebookPath}
              >
                Open cell
              </button>
            )}
          </h4>
          <pre className="jp-nbtrack-CellSource">{detail.cell_source}</pre>
        </>
      )}

      {detail.artifacts.length > 0 && (
        <>
          <h4>Artifacts</h4>
          <ul className="jp-nbtrack-Artifacts">
            {detail.artifacts.map(a => (
              <li key={a.path}>
                {a.path}
                {a.is_dir ? '/' : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}
