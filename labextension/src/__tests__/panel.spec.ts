import { sliceNotebook } from '../index';
import { PromoteBody } from '../widgets/TrackPanel';

describe('PromoteBody', () => {
  it('archives the current Production version by default', () => {
    const body = new PromoteBody('Move m v2 to Production?', 'Production');
    expect(body.getValue()).toBe(true);
    const box = body.node.querySelector('input.jp-nbtrack-ArchiveExisting') as HTMLInputElement;
    box.checked = false;
    expect(body.getValue()).toBe(false);
  });

  it('compares the candidate with the current Production version and warns when it is worse', () => {
    const body = new PromoteBody('Move m v3 to Production?', 'Production', {
      current: 'v1',
      rows: [
        { key: 'accuracy', candidate: 0.5, current: 0.8, worse: true },
        { key: 'f1', candidate: 0.9, current: 0.7, worse: false }
      ]
    });
    const text = body.node.textContent ?? '';
    expect(text).toContain('scores worse than the current Production version v1');
    expect(body.node.querySelectorAll('tr.jp-nbtrack-worse')).toHaveLength(1);
    expect(text).toContain('Production v1');
  });

  it('asks nothing more for an archive', () => {
    const body = new PromoteBody('Archive m v2?', 'Archived');
    expect(body.node.querySelector('input')).toBeNull();
    expect(body.getValue()).toBe(false);
  });
});

describe('sliceNotebook', () => {
  it('holds the slice cells in order after a note on where they came from', () => {
    const nb = sliceNotebook('abcdef0123456789', {
      cells: [
        { cell_id: 'a', execution_count: 1, source: 'import pandas as pd' },
        { cell_id: 'b', execution_count: 4, source: 'X = pd.DataFrame()' }
      ],
      source: '',
      stale: true,
      stale_reason: 'cell [4] changed'
    }) as { cells: { cell_type: string; source: string }[]; nbformat: number };
    expect(nb.nbformat).toBe(4);
    expect(nb.cells.map(c => c.cell_type)).toEqual(['markdown', 'code', 'code']);
    expect(nb.cells[2].source).toBe('X = pd.DataFrame()');
    expect(nb.cells[0].source).toContain('abcdef0123456789');
    expect(nb.cells[0].source).toContain('stale: cell [4] changed');
  });
});
