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
import { TrackModel } from '../model';
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
}

/**
 * Dialog body asking whether to archive the versions already in the stage.
 */
class ArchiveChoice extends Widget implements Dialog.IBodyWidget<boolean> {
  constructor(message: string, stage: string) {
    super();
    this.addClass('jp-nbtrack-ConfirmBody');
    const text = document.createElement('p');
    text.textContent = message;
    this.node.appendChild(text);
    if (stage === 'Production' || stage === 'Staging') {
      const label = document.createElement('label');
      this._checkbox = document.createElement('input');
      this._checkbox.type = 'checkbox';
      this._checkbox.className = 'jp-nbtrack-ArchiveExisting';
      label.appendChild(this._checkbox);
      label.appendChild(
        document.createTextNode(` Archive the versions now in ${stage}`)
      );
      this.node.appendChild(label);
    }
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

  const transition = async (v: Nbtrack.IModelVersion, stage: string) => {
    const result = await showDialog<boolean>({
      title: stage === 'Archived' ? 'Archive model version' : 'Promote model version',
      body: new ArchiveChoice(
        `Move ${v.name} version ${v.version} from ${v.current_stage} to ${stage}?`,
        stage
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
              onBack={() => void model.selectRun(null)}
              onOpenCell={(path, cellId) =>
                void actions
                  .openCell(path, cellId)
                  .catch(report('Cannot open the cell'))
              }
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
