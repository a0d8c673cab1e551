import { savedHtml, showsNoWidget, WIDGET_MIME } from '../fallback';
import { IOutputModel } from '@jupyterlab/rendermime';

function node(text: string, child = false): HTMLElement {
  const el = document.createElement('div');
  el.textContent = text;
  if (child) {
    el.appendChild(document.createElement('div'));
  }
  return el;
}

function output(data: Record<string, unknown>): IOutputModel {
  return { data, trusted: false } as unknown as IOutputModel;
}

describe('showsNoWidget', () => {
  it('is true while waiting for a model and once it is not found', () => {
    expect(showsNoWidget(node('Loading widget...'))).toBe(true);
    expect(showsNoWidget(node('Error displaying widget: model not found'))).toBe(true);
  });

  it('is false for a live widget view', () => {
    expect(showsNoWidget(node('', true))).toBe(false);
    expect(showsNoWidget(node('runs table'))).toBe(false);
  });
});

describe('savedHtml', () => {
  it("returns the saved form of nbtrack's widgets only", () => {
    const view = { model_id: 'abc', version_major: 2, version_minor: 0 };
    expect(savedHtml(output({ [WIDGET_MIME]: view, 'text/html': '<div class="jp-nbtrack-Dashboard">x</div>' }))).toBe(
      '<div class="jp-nbtrack-Dashboard">x</div>'
    );
    expect(savedHtml(output({ [WIDGET_MIME]: view, 'text/html': '<div>other</div>' }))).toBeNull();
    expect(savedHtml(output({ 'text/html': '<div class="jp-nbtrack-RunCard"></div>' }))).toBeNull();
  });
});
