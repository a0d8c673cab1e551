import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { PageConfig } from '@jupyterlab/coreutils';
import { IDocumentManager } from '@jupyterlab/docmanager';
import {
  INotebookTracker,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';

import { NbtrackAPI } from './api';
import { watchNotebooks } from './fallback';
import { Nbtrack } from './tokens';
import { TrackModel } from './model';
import { ITrackPanelActions, TrackPanel } from './widgets/TrackPanel';

/**
 * Command ids.
 */
export namespace CommandIDs {
  export const openPanel = 'nbtrack:open-panel';
}

/**
 * How long a cell opened from a run stays highlighted.
 */
const HIGHLIGHT_MS = 4000;

/**
 * A notebook path from a run tag, relative to the server root (absolute
 * paths under the root are made relative).
 */
function relativeToRoot(path: string): string {
  const root = PageConfig.getOption('serverRoot').replace(/[/\\]+$/, '');
  const normalized = path.replace(/\\/g, '/');
  if (root && normalized.startsWith(`${root}/`)) {
    return normalized.slice(root.length + 1);
  }
  return normalized;
}

/**
 * The Python line that loads a registered model.
 */
export function loadCode(modelUri: string): string {
  // JSON string literals are valid Python string literals.
  return `import nbtrack.sklearn\n\nmodel = nbtrack.sklearn.load_model(${JSON.stringify(modelUri)})`;
}

/**
 * A notebook (nbformat 4) holding a run's slice: one code cell per slice
 * cell, in execution order, with a first Markdown cell saying where it
 * came from.
 */
export function sliceNotebook(
  runId: string,
  slice: Nbtrack.ISlice
): Record<string, unknown> {
  const intro =
    `Code slice of nbtrack run \`${runId}\`: the cells its code came from, ` +
    'in the order they ran.' +
    (slice.stale && slice.stale_reason
      ? ` The run is stale: ${slice.stale_reason}.`
      : '');
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'python3', display_name: 'Python 3', language: 'python' },
      language_info: { name: 'python' }
    },
    cells: [
      { cell_type: 'markdown', id: 'nbtrack-slice', metadata: {}, source: intro },
      ...slice.cells.map((cell, i) => ({
        cell_type: 'code',
        id: `slice-${i}`,
        metadata: {},
        execution_count: null,
        outputs: [],
        source: cell.source
      }))
    ]
  };
}

/**
 * Saved nbtrack widgets: their HTML where the widget cannot be shown.
 */
const fallbackPlugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:widget-fallback',
  description:
    "Shows the saved view of nbtrack's dashboards and run cards when their widget model is gone.",
  autoStart: true,
  requires: [INotebookTracker],
  activate: (_app: JupyterFrontEnd, notebooks: INotebookTracker) => {
    watchNotebooks(notebooks);
  }
};

/**
 * The nbtrack sidebar plugin.
 */
const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nbtrack:plugin',
  description:
    'A left-sidebar panel listing the experiments, runs and models of the nbtrack store.',
  autoStart: true,
  requires: [IDocumentManager, INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    docManager: IDocumentManager,
    notebooks: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ) => {
    const actions: ITrackPanelActions = {
      openCell: async (notebookPath, cellId) => {
        const path = relativeToRoot(notebookPath);
        const widget = docManager.openOrReveal(path);
        if (!widget) {
          throw new Error(`Cannot open ${path}.`);
        }
        app.shell.activateById(widget.id);
        await widget.context.ready;
        if (!(widget instanceof NotebookPanel) || !cellId) {
          return;
        }
        await widget.revealed;
        const notebook = widget.content;
        const index = notebook.widgets.findIndex(c => c.model.id === cellId);
        if (index < 0) {
          throw new Error(
            `The cell that produced this run is no longer in ${path}.`
          );
        }
        notebook.activeCellIndex = index;
        await notebook.scrollToItem(index, 'center');
        const cell = notebook.widgets[index];
        cell.addClass('jp-nbtrack-highlight');
        window.setTimeout(
          () => cell.removeClass('jp-nbtrack-highlight'),
          HIGHLIGHT_MS
        );
      },
      insertLoadCode: async modelUri => {
        const panel = notebooks.currentWidget;
        if (!panel) {
          throw new Error('Open a notebook to insert the load code into.');
        }
        await panel.context.ready;
        const notebook = panel.content;
        NotebookActions.insertBelow(notebook);
        const cell = notebook.activeCell;
        if (cell) {
          cell.model.sharedModel.setSource(loadCode(modelUri));
        }
        app.shell.activateById(panel.id);
      },
      openSlice: async (runId, slice) => {
        const contents = app.serviceManager.contents;
        const current = notebooks.currentWidget?.context.path ?? '';
        const folder = current.includes('/')
          ? current.slice(0, current.lastIndexOf('/'))
          : '';
        const created = await contents.newUntitled({ path: folder, type: 'notebook' });
        let path = created.path;
        const wanted = `${folder ? `${folder}/` : ''}slice-${runId.slice(0, 8)}.ipynb`;
        try {
          path = (await contents.rename(created.path, wanted)).path;
        } catch {
          // a slice of this run is already there: keep the untitled name
        }
        await contents.save(path, {
          type: 'notebook',
          format: 'json',
          content: sliceNotebook(runId, slice)
        });
        const widget = docManager.openOrReveal(path);
        if (widget) {
          app.shell.activateById(widget.id);
        }
      }
    };

    const model = new TrackModel(new NbtrackAPI(app.serviceManager.serverSettings));
    const panel = new TrackPanel(model, actions);
    app.shell.add(panel, 'left', { rank: 600 });
    if (restorer) {
      restorer.add(panel, 'nbtrack-sidebar');
    }

    app.commands.addCommand(CommandIDs.openPanel, {
      label: 'Open the nbtrack panel',
      caption: 'Show experiments, runs and models in the left sidebar',
      execute: () => {
        app.shell.activateById(panel.id);
      }
    });
    if (palette) {
      palette.addItem({ command: CommandIDs.openPanel, category: 'nbtrack' });
    }
  }
};

export default [plugin, fallbackPlugin];
