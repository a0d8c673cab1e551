import { Dialog, showDialog, showErrorMessage } from '@jupyterlab/apputils';
import { LabIcon, ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ExperimentPicker } from '../components/ExperimentPicker';
import { ModelsView } from '../components/ModelsView';
import { RunDetail } from '../components/RunDetail';
import { RunsTable } from '../components/RunsTable';
import { StatusBanner } from '../components/StatusBanner';
import { IMetricComparison, compareMetrics, formatMetric } from '../components/format';
import { TrackModel } from '../model';
import { PARENT_TAG } from '../runs';
import { Nbtrack } from '../tokens';

/**
 * The sidebar's icon: a line chart, themed by JupyterLab's icon classes.
 */
export const nbtrackIcon = new LabIcon({
  name: 'nbtrack:icon',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<path class="jp-icon3" fill="#616161" d="M3 3h2v16h16v2H3zm4 12 4-5 3 3 5-7 1.6 1.2-6.4 8.9-3-3-2.6 3.2z"/>' +
    '</svg>'
});

/**
 * What the panel asks the application to do.
 */
export interface ITrackPanelActions {
  /** Open a notebook (path relative to the server root) at a cell. */
  openCell(notebookPath: string, cellId: string | null): Promise<void>;
  /** Insert a cell loading `modelUri` into the active notebook. */
  insertLoadCode(modelUri: string): Promise<void>;
  /** Open a new notebook holding a run's code slice. */
  openSlice(runId: string, slice: Nbtrack.ISlice): Promise<void>;
}

/**
 * Dialog body of a stage change: the question, for Production a comparison
 * of the candidate's metrics with the current Production version's (worse
 * ones marked), and "archive the versions now in the stage", checked by
 * default as in the notebook's registry panel (one Production version).
 */
export class PromoteBody extends Widget implements Dialog.IBodyWidget<boolean> {
  constructor(
    message: string,
    stage: string,
    comparison: { current: string; rows: IMetricComparison[] } | null = null
  ) {
    super();
    this.addClass('jp-nbtrack-ConfirmBody');
    const text = document.createElement('p');
    text.textContent = message;
    this.node.appendChild(text);
    if (comparison) {
      this.node.appendChild(PromoteBody.comparisonNode(comparison.current, comparison.rows));
    }
    if (stage === 'Production' || stage === 'Staging') {
      const label = document.createElement('label');
      this._checkbox = document.createElement('input');
      this._checkbox.type = 'checkbox';
      this._checkbox.checked = true;
      this._checkbox.className = 'jp-nbtrack-ArchiveExisting';
      label.appendChild(this._checkbox);
      label.appendChild(
        document.createTextNode(` Archive the versions now in ${stage}`)
      );
      this.node.appendChild(label);
    }
  }

  /**
   * A table of candidate vs current metrics, with a warning when the
   * candidate is worse on any of them.
   */
  static comparisonNode(current: string, rows: IMetricComparison[]): HTMLElement {
    const box = document.createElement('div');
    box.className = 'jp-nbtrack-PromoteCompare';
    if (rows.length === 0) {
      box.textContent = `No metric in common with the current Production version ${current}.`;
      return box;
    }
    if (rows.some(r => r.worse)) {
      const warn = document.createElement('p');
      warn.className = 'jp-nbtrack-PromoteWarning';
      warn.textContent = `⚠ This version scores worse than the current Production version ${current} on the metrics marked below.`;
      box.appendChild(warn);
    }
    const table = document.createElement('table');
    const head = table.createTHead().insertRow();
    for (const label of ['metric', 'this version', `Production ${current}`]) {
      const th = document.createElement('th');
      th.textContent = label;
      head.appendChild(th);
    }
    const body = table.createTBody();
    for (const row of rows) {
      const tr = body.insertRow();
      tr.className = row.worse ? 'jp-nbtrack-worse' : '';
      tr.insertCell().textContent = row.key;
      tr.insertCell().textContent = `${formatMetric(row.candidate)}${row.worse ? ' ▼' : ''}`;
      tr.insertCell().textContent = formatMetric(row.current);
    }
    box.appendChild(table);
    return box;
  }

  getValue(): boolean {
    return this._checkbox?.checked ?? false;
  }

  private _checkbox: HTMLInputElement | null = null;
}

type Tab = 'runs' | 'models';

function TrackView(props: {
  model: TrackModel;
  actions: ITrackPanelActions;
}): JSX.Element {
  const { model, actions } = props;
  const [tab, setTab] = React.useState<Tab>('runs');

  const report = (title: string) => (error: unknown) => {
    console.error(`nbtrack: ${title}`, error);
    void showErrorMessage(title, error as Error);
  };

  const [reproducing, setReproducing] = React.useState(false);
  const [reproduced, setReproduced] = React.useState<Nbtrack.IReproduceResult | null>(null);

  const openRun = (runId: string) => {
    setTab('runs');
    setReproduced(null);
    void model.selectRun(runId).catch(report('Cannot load the run'));
  };

  const comparisonWith = async (
    v: Nbtrack.IModelVersion
  ): Promise<{ current: string; rows: IMetricComparison[] } | null> => {
    const current = model.versions.find(
      o => o.current_stage === 'Production' && o.version !== v.version
    );
    if (!current || !current.run_id || !v.run_id) {
      return null;
    }
    const [mine, theirs] = await Promise.all([
      model.api.getRun(v.run_id),
      model.api.getRun(current.run_id)
    ]);
    return {
      current: `v${current.version}`,
      rows: compareMetrics(mine.run.data.metrics, theirs.run.data.metrics)
    };
  };

  const transition = async (v: Nbtrack.IModelVersion, stage: string) => {
    const comparison = stage === 'Production' ? await comparisonWith(v) : null;
    const result = await showDialog<boolean>({
      title: stage === 'Archived' ? 'Archive model version' : 'Promote model version',
      body: new PromoteBody(
        `Move ${v.name} version ${v.version} from ${v.current_stage} to ${stage}?`,
        stage,
        comparison
      ),
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: stage === 'Archived' ? 'Archive' : 'Promote' })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    await model.transitionStage(v.name, v.version, stage, result.value ?? false);
  };

  const setAlias = async (
    v: Nbtrack.IModelVersion,
    alias: string
  ): Promise<boolean> => {
    const result = await showDialog({
      title: 'Set model alias',
      body: `Point alias @${alias} of ${v.name} at version ${v.version}?`,
      buttons: [Dialog.cancelButton(), Dialog.okButton({ label: 'Set alias' })]
    });
    if (!result.button.accept) {
      return false;
    }
    try {
      await model.setAlias(v.name, alias, v.version);
    } catch (error) {
      report('Cannot set the alias')(error);
      return false;
    }
    return true;
  };

  const removeAlias = async (v: Nbtrack.IModelVersion, alias: string) => {
    const result = await showDialog({
      title: 'Remove model alias',
      body: `Remove alias @${alias} of ${v.name} (now on version ${v.version})?`,
      buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Remove' })]
    });
    if (!result.button.accept) {
      return;
    }
    await model.deleteAlias(v.name, alias);
  };

  const tabButton = (id: Tab, label: string) => (
    <button
      role="tab"
      aria-selected={tab === id}
      className={tab === id ? 'jp-nbtrack-Tab jp-mod-current' : 'jp-nbtrack-Tab'}
      onClick={() => setTab(id)}
    >
      {label}
    </button>
  );

  return (
    <div className="jp-nbtrack-TrackView">
      <header className="jp-nbtrack-header">
        <div role="tablist" className="jp-nbtrack-Tabs">
          {tabButton('runs', 'Runs')}
          {tabButton('models', 'Models')}
        </div>
        <button
          className="jp-Button jp-mod-styled jp-nbtrack-Refresh"
          title="Refresh"
          onClick={() => void model.refreshNow().catch(() => undefined)}
        >
          ⟳
        </button>
      </header>
      <StatusBanner status={model.status} error={model.error} />
      {model.status !== 'missing' && tab === 'runs' && (
        <div className="jp-nbtrack-RunsView">
          {model.selectedRunId ? (
            <RunDetail
              runId={model.selectedRunId}
              detail={model.runDetail}
              histories={model.metricHistories}
              childRuns={model.runs.filter(
                r => r.tags[PARENT_TAG] === model.selectedRunId
              )}
              reproducing={reproducing}
              reproduceResult={reproduced}
              onBack={() => {
                setReproduced(null);
                void model.selectRun(null);
              }}
              onOpenCell={(path, cellId) =>
                void actions
                  .openCell(path, cellId)
                  .catch(report('Cannot open the cell'))
              }
              onOpenRun={openRun}
              onPreview={path => model.api.previewArtifact(model.selectedRunId ?? '', path)}
              onBlob={path => model.api.artifactBlob(model.selectedRunId ?? '', path)}
              onError={report}
              onReproduce={() => {
                const runId = model.selectedRunId;
                if (!runId) {
                  return;
                }
                setReproducing(true);
                setReproduced(null);
                void model.api
                  .reproduce(runId)
                  .then(r => {
                    setReproduced(r);
                    return model.refreshNow();
                  })
                  .catch(report('Cannot reproduce the run'))
                  .finally(() => setReproducing(false));
              }}
              onOpenSlice={() => {
                const runId = model.selectedRunId;
                if (!runId) {
                  return;
                }
                void model.api
                  .getSlice(runId)
                  .then(slice => actions.openSlice(runId, slice))
                  .catch(report('Cannot open the slice'));
              }}
            />
          ) : (
            <>
              <ExperimentPicker
                experiments={model.experiments}
                value={model.experimentId}
                onChange={id =>
                  void model
                    .selectExperiment(id)
                    .catch(report('Cannot load the experiment'))
                }
              />
              <RunsTable
                runs={model.runs}
                total={model.total}
                onSelect={id =>
                  void model.selectRun(id).catch(report('Cannot load the run'))
                }
              />
            </>
          )}
        </div>
      )}
      {model.status !== 'missing' && tab === 'models' && (
        <ModelsView
          models={model.models}
          selected={model.selectedModel}
          versions={model.versions}
          events={model.events}
          onSelect={name =>
            void model.selectModel(name).catch(report('Cannot load the model'))
          }
          onTransition={(v, stage) =>
            void transition(v, stage).catch(report('Stage change failed'))
          }
          onSetAlias={setAlias}
          onRemoveAlias={(v, alias) =>
            void removeAlias(v, alias).catch(report('Cannot remove the alias'))
          }
          onOpenRun={openRun}
          readOnly={model.readOnly}
          onInsertLoadCode={uri =>
            void actions
              .insertLoadCode(uri)
              .catch(report('Cannot insert the load code'))
          }
        />
      )}
    </div>
  );
}

/**
 * The nbtrack sidebar: runs and models of the server's store.
 */
export class TrackPanel extends ReactWidget {
  constructor(model: TrackModel, actions: ITrackPanelActions) {
    super();
    this.model = model;
    this._actions = actions;
    this.id = 'nbtrack-sidebar';
    this.addClass('jp-nbtrack-TrackPanel');
    this.title.icon = nbtrackIcon;
    this.title.caption = 'nbtrack: experiments, runs and models';
  }

  readonly model: TrackModel;

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.model.visible = true;
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this.model.visible = false;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this.model.dispose();
    super.dispose();
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this.model.changed}>
        {() => <TrackView model={this.model} actions={this._actions} />}
      </UseSignal>
    );
  }

  private _actions: ITrackPanelActions;
}
