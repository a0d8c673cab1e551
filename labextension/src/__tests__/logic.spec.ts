import { compactTime, compareMetrics, eventText, lowerIsBetter } from '../components/format';
import { formatSize, imageType } from '../components/ArtifactsView';
import { nestRuns, staleReason } from '../runs';
import { Nbtrack } from '../tokens';

function run(id: string, extra: Partial<Nbtrack.IRunSummary> = {}): Nbtrack.IRunSummary {
  return {
    run_id: id,
    run_name: id,
    experiment_id: '1',
    status: 'FINISHED',
    start_time: 1000,
    end_time: 2000,
    lifecycle_stage: 'active',
    metrics: {},
    params: {},
    tags: {},
    ...extra
  } as Nbtrack.IRunSummary;
}

function event(extra: Partial<Nbtrack.IRegistryEvent>): Nbtrack.IRegistryEvent {
  return {
    timestamp: 0,
    user: 'ana',
    action: 'register',
    name: 'm',
    version: '2',
    from_value: null,
    to_value: null,
    alias: null,
    run_id: null,
    data_digest: null,
    ...extra
  };
}

describe('nestRuns', () => {
  const parent = run('p', { start_time: 5 });
  const kids = [
    run('c2', { start_time: 7, tags: { 'mlflow.parentRunId': 'p' } }),
    run('c1', { start_time: 6, tags: { 'mlflow.parentRunId': 'p' } })
  ];
  const other = run('o', { start_time: 9 });

  it('puts children under their parent, oldest first', () => {
    const out = nestRuns([other, ...kids, parent]);
    expect(out.map(r => [r.run.run_id, r.depth, r.children])).toEqual([
      ['o', 0, 0],
      ['p', 0, 2],
      ['c1', 1, 0],
      ['c2', 1, 0]
    ]);
  });

  it('folds the children of a collapsed parent', () => {
    const out = nestRuns([other, ...kids, parent], new Set(['p']));
    expect(out.map(r => r.run.run_id)).toEqual(['o', 'p']);
    expect(out[1].children).toBe(2);
  });

  it('keeps an orphan child at the top level', () => {
    const out = nestRuns([run('x', { tags: { 'mlflow.parentRunId': 'gone' } })]);
    expect(out.map(r => [r.run.run_id, r.depth])).toEqual([['x', 0]]);
  });
});

describe('staleReason', () => {
  it('names the reason of a stale run and nothing for a fresh one', () => {
    expect(staleReason({ 'nbtrack.stale': 'true', 'nbtrack.stale_reason': 'cell [4] changed' })).toBe(
      'cell [4] changed'
    );
    expect(staleReason({ 'nbtrack.stale': 'false' })).toBeNull();
    expect(staleReason({})).toBeNull();
  });
});

describe('compactTime', () => {
  const now = new Date(2026, 11, 3, 15, 0);
  it('fits one line', () => {
    expect(compactTime(new Date(2026, 11, 3, 9, 5).getTime(), now)).toBe('09:05');
    expect(compactTime(new Date(2026, 2, 4, 14, 5).getTime(), now)).toBe('Mar 4 14:05');
    expect(compactTime(new Date(2024, 2, 4, 14, 5).getTime(), now)).toBe('2024-03-04');
    expect(compactTime(null, now)).toBe('');
  });
});

describe('eventText', () => {
  it('names the alias of an alias change', () => {
    expect(eventText(event({ action: 'set_alias', alias: 'champion', from_value: null, to_value: '2' }))).toBe(
      'alias @champion → v2'
    );
    expect(eventText(event({ action: 'set_alias', alias: 'champion', from_value: '1', to_value: '2' }))).toBe(
      'alias @champion → v2 (was v1)'
    );
    expect(eventText(event({ action: 'delete_alias', alias: 'champion', from_value: '2' }))).toBe(
      'removed alias @champion (was v2)'
    );
  });

  it('says stage moves plainly', () => {
    expect(eventText(event({ action: 'transition', from_value: 'Staging', to_value: 'Production' }))).toBe(
      'v2 Staging → Production'
    );
    expect(eventText(event({ action: 'archive', from_value: 'Production', to_value: 'Archived' }))).toBe(
      'v2 Production → Archived (archived by a promotion)'
    );
    expect(eventText(event({ action: 'register' }))).toBe('register v2');
  });
});

describe('compareMetrics', () => {
  it('marks the metrics where the candidate is worse, by direction', () => {
    const rows = compareMetrics(
      { accuracy: 0.8, log_loss: 0.3, only_here: 1, nan: 'NaN' },
      { accuracy: 0.9, log_loss: 0.4, nan: 1 }
    );
    expect(rows).toEqual([
      { key: 'accuracy', candidate: 0.8, current: 0.9, worse: true },
      { key: 'log_loss', candidate: 0.3, current: 0.4, worse: false }
    ]);
    expect(lowerIsBetter('val_error')).toBe(true);
    expect(lowerIsBetter('f1')).toBe(false);
  });
});

describe('artifact helpers', () => {
  it('formats sizes and picks the image type', () => {
    expect(formatSize(812)).toBe('812 B');
    expect(formatSize(12_700)).toBe('12.4 KB');
    expect(formatSize(3 * 1024 * 1024)).toBe('3.0 MB');
    expect(imageType('plots/roc.SVG')).toBe('image/svg+xml');
    expect(imageType('a.jpg')).toBe('image/jpeg');
  });
});
