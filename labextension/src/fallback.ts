import { CodeCell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { IOutputModel, MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Panel, Widget } from '@lumino/widgets';

/**
 * The MIME type of a widget view in an output.
 */
export const WIDGET_MIME = 'application/vnd.jupyter.widget-view+json';

/**
 * What the widget manager's renderer shows while it waits for a model, and
 * once it knows the model is gone (ipywidgets 8).
 */
const WAITING = ['Loading widget...', 'Error displaying widget: model not found'];

/**
 * The class of a saved view shown in place of a widget.
 */
export const SAVED_CLASS = 'jp-nbtrack-SavedView';

/**
 * Whether a widget renderer's node shows no live widget: it is still waiting
 * for the model (no kernel, or a kernel that never had it), or it says that
 * the model was not found.
 */
export function showsNoWidget(node: HTMLElement): boolean {
  const text = (node.textContent ?? '').trim();
  return node.children.length === 0 && WAITING.some(w => text.startsWith(w));
}

/**
 * Whether an output is one of nbtrack's widgets with a saved HTML form
 * (nbtrack puts that form beside the widget view in the same bundle).
 */
export function savedHtml(model: IOutputModel): string | null {
  const data = model.data as Record<string, unknown>;
  const html = data['text/html'];
  if (!(WIDGET_MIME in data) || typeof html !== 'string') {
    return null;
  }
  return html.includes('jp-nbtrack') ? html : null;
}

/**
 * Shows the saved HTML of nbtrack's widgets where the widget itself cannot
 * be shown: a notebook reopened without its kernel, or saved without widget
 * state (JupyterLab's default), would otherwise say "Error displaying
 * widget: model not found" under every dashboard and run card. The live
 * widget takes over again as soon as it renders.
 */
export class WidgetFallback {
  constructor(panel: NotebookPanel) {
    this._panel = panel;
    this._observer = new MutationObserver(() => this._schedule());
    this._observer.observe(panel.content.node, {
      childList: true,
      subtree: true,
      characterData: true
    });
    panel.disposed.connect(() => this._observer.disconnect());
    this._schedule();
  }

  /**
   * Check every output now (the observer calls it after DOM changes).
   */
  update(): void {
    this._pending = false;
    for (const cell of this._panel.content.widgets) {
      if (!(cell instanceof CodeCell)) {
        continue;
      }
      const area = cell.outputArea;
      area.widgets.forEach((child, index) => {
        if (index >= area.model.length) {
          return;
        }
        const html = savedHtml(area.model.get(index));
        if (html === null || !(child instanceof Panel)) {
          return;
        }
        const renderer = child.widgets.find(
          w => !w.hasClass(SAVED_CLASS) && !w.hasClass('jp-OutputPrompt')
        );
        if (!renderer) {
          return;
        }
        const saved = child.widgets.find(w => w.hasClass(SAVED_CLASS));
        if (renderer.isVisible && showsNoWidget(renderer.node)) {
          if (!saved) {
            void this._showSaved(child, renderer, html, area.model.get(index).trusted);
          }
        } else if (saved && !showsNoWidget(renderer.node)) {
          saved.dispose();
          renderer.show();
        }
      });
    }
  }

  private async _showSaved(
    child: Panel,
    renderer: Widget,
    html: string,
    trusted: boolean
  ): Promise<void> {
    const rendermime = this._panel.content.rendermime;
    const view: IRenderMime.IRenderer = rendermime.createRenderer('text/html');
    view.addClass(SAVED_CLASS);
    child.addWidget(view);
    renderer.hide();
    await view.renderModel(new MimeModel({ data: { 'text/html': html }, trusted }));
  }

  private _schedule(): void {
    if (!this._pending) {
      this._pending = true;
      requestAnimationFrame(() => this.update());
    }
  }

  private _panel: NotebookPanel;
  private _observer: MutationObserver;
  private _pending = false;
}

/**
 * Watch every notebook opened from now on.
 */
export function watchNotebooks(notebooks: INotebookTracker): void {
  notebooks.widgetAdded.connect((_, panel) => {
    new WidgetFallback(panel);
  });
  notebooks.forEach(panel => new WidgetFallback(panel));
}
