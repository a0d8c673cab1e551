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

export default plugin;
