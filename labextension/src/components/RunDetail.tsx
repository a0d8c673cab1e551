import * as React from 'react';

import { PARENT_TAG, staleReason } from '../runs';
import { Nbtrack } from '../tokens';
import { ArtifactsView } from './ArtifactsView';
import { RunLink } from './ModelsView';
import { Sparkline } from './Sparkline';
import { formatDuration, formatMetric, formatTime } from './format';

/**
 * Tags that are shown in their own section rather than in the tag table.
 */
const HIDDEN_TAGS = new Set<string>([Nbtrack.Tags.CELL_SOURCE]);

/**
 * Tags whose value is a run id (shown as a link to that run).
 */
const RUN_ID_TAGS = new Set<string>([PARENT_TAG, Nbtrack.Tags.REPRODUCED_FROM]);

/**
 * Tags as a list of full keys, each value under its key: a narrow sidebar
 * keeps long keys such as `mlflow.source.git.commit` whole.
 */
function TagList(props: { rows: [string, React.ReactNode][] }): JSX.Element {
  return (
    <dl className="jp-nbtrack-Tags">
      {props.rows.map(([k, v]) => (
        <div key={k} className="jp-nbtrack-Tag">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * What the run detail asks for beyond showing the run.
 */
export interface IRunDetailActions {
  onBack: () => void;
  onOpenCell: (notebookPath: string, cellId: string | null) => void;
  onOpenRun: (runId: string) => void;
  onPreview: (path: string) => Promise<Nbtrack.IArtifactPreview>;
  onBlob: (path: string) => Promise<Blob>;
  onReproduce: () => void;
  onOpenSlice: () => void;
  onError: (title: string) => (error: unknown) => void;
}

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
export function RunDetail(
  props: {
    runId: string;
    detail: Nbtrack.IRunDetail | null;
    histories: Record<string, Nbtrack.IMetric[]>;
    /** Runs listed with this one as their parent. */
    childRuns?: Nbtrack.IRunSummary[];
    /** A reproduce request is under way. */
    reproducing?: boolean;
    reproduceResult?: Nbtrack.IReproduceResult | null;
  } & IRunDetailActions
): JSX.Element {
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
    .map(
      k =>
        [
          k,
          RUN_ID_TAGS.has(k) ? (
            <RunLink runId={data.tags[k]} onOpenRun={props.onOpenRun} label={data.tags[k]} />
          ) : (
            data.tags[k]
          )
        ] as [string, React.ReactNode]
    );
  const stale = staleReason(data.tags);
  const hasSlice = Boolean(data.tags[Nbtrack.Tags.SLICE_CELLS]) || stale !== null;
  const result = props.reproduceResult;
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
      {stale !== null && (
        <div className="jp-nbtrack-Stale">
          <span className="jp-nbtrack-StaleBadge">stale</span> {stale}
        </div>
      )}
      {hasSlice && (
        <div className="jp-nbtrack-LineageActions">
          <button
            className="jp-Button jp-mod-styled jp-nbtrack-Reproduce"
            disabled={props.reproducing}
            title="Run this run's code slice in a fresh kernel and compare params and metrics"
            onClick={props.onReproduce}
          >
            {props.reproducing ? 'Reproducing…' : 'Reproduce'}
          </button>
          <button
            className="jp-Button jp-mod-styled jp-nbtrack-OpenSlice"
            title="A new notebook holding just the cells this run's code came from"
            onClick={props.onOpenSlice}
          >
            Open slice as notebook
          </button>
        </div>
      )}
      {result && (
        <div
          className={
            result.error || !result.matches
              ? 'jp-nbtrack-ReproduceResult jp-mod-warn'
              : 'jp-nbtrack-ReproduceResult'
          }
        >
          {result.error
            ? `Could not reproduce: ${result.error}`
            : result.matches
              ? 'Reproduced: params and metrics match.'
              : `Reproduced with differences: ${result.diffs.map(d => JSON.stringify(d)).join('; ')}`}
          {result.run_id && (
            <>
              {' '}
              <RunLink runId={result.run_id} onOpenRun={props.onOpenRun} />
            </>
          )}
        </div>
      )}

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
                  <th>{d.tags[Nbtrack.Tags.DATASET_CONTEXT] ?? d.dataset.name}</th>
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
        <TagList rows={tags} />
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

      {props.childRuns && props.childRuns.length > 0 && (
        <>
          <h4>Child runs</h4>
          <ul className="jp-nbtrack-Children">
            {props.childRuns.map(c => (
              <li key={c.run_id}>
                <RunLink runId={c.run_id} onOpenRun={props.onOpenRun} label={c.run_name} />{' '}
                <span className="jp-nbtrack-empty">{c.status.toLowerCase()}</span>
              </li>
            ))}
          </ul>
        </>
      )}

      {detail.artifacts.some(a => !a.is_dir) && (
        <>
          <h4>Artifacts</h4>
          <ArtifactsView
            artifacts={detail.artifacts}
            onPreview={props.onPreview}
            onBlob={props.onBlob}
            onError={props.onError}
          />
        </>
      )}
    </div>
  );
}
