import { ApiError, IListRunsOptions, NbtrackAPI } from '../api';
import { TrackModel } from '../model';
import { Nbtrack } from '../tokens';

function run(
  id: string,
  extra: Partial<Nbtrack.IRunSummary> = {}
): Nbtrack.IRunSummary {
  return {
    run_id: id,
    run_name: `run-${id}`,
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

function page(
  runs: Nbtrack.IRunSummary[],
  cursor: number,
  total: number,
  removed: string[] = []
): Nbtrack.IRunsPage {
  return { runs, next_page_token: null, cursor, total, removed };
}

/**
 * An API whose run listings come from a queue of pages; every call's
 * options are recorded.
 */
function fakeApi(pages: Nbtrack.IRunsPage[], newest: Nbtrack.IRunSummary[] = []) {
  let last: Nbtrack.IRunSummary[] = [];
  const listRuns = jest.fn(async (options: IListRunsOptions = {}) => {
    if (options.experimentId === undefined) {
      // the newest run of the whole store (the panel follows its experiment)
      const found = newest.shift();
      return page(found ? [found] : last.slice(0, 1), 0, 1);
    }
    const next = pages.shift();
    if (!next) {
      throw new Error(`no page left for ${JSON.stringify(options)}`);
    }
    last = next.runs.length ? next.runs : last;
    return next;
  });
  const api = {
    version: jest.fn(async () => ({ version: '0.1.0', store: '/s' })),
    listExperiments: jest.fn(async () => [
      {
        experiment_id: '1',
        name: 'exp',
        lifecycle_stage: 'active',
        creation_time: 1
      }
    ]),
    listModels: jest.fn(async () => []),
    listRuns
  };
  const scoped = () =>
    listRuns.mock.calls
      .map(c => c[0] as IListRunsOptions)
      .filter(o => o.experimentId !== undefined);
  return { api: api as unknown as NbtrackAPI, listRuns, scoped };
}

function byId(model: TrackModel): Record<string, Nbtrack.IRunSummary> {
  return Object.fromEntries(model.runs.map(r => [r.run_id, r]));
}

describe('TrackModel', () => {
  let model: TrackModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('loads the first page, then merges the runs changed since its cursor', async () => {
    const { api, scoped } = fakeApi([
      page([run('a'), run('b', { status: 'RUNNING' }), run('c')], 10, 3),
      page(
        [
          run('b', { status: 'FINISHED', metrics: { acc: 0.9 } }),
          run('d', { run_name: 'new one' })
        ],
        14,
        3,
        ['c']
      )
    ]);
    model = new TrackModel(api);

    await model.refresh();
    expect(model.status).toBe('ok');
    expect(model.experimentId).toBe('1');
    expect(Object.keys(byId(model)).sort()).toEqual(['a', 'b', 'c']);
    expect(scoped()[0]).toEqual({
      experimentId: '1',
      maxResults: 200
    });

    await model.refresh();
    expect(scoped()[1]).toEqual({ experimentId: '1', since: 10 });
    const runs = byId(model);
    // new run added
    expect(runs.d.run_name).toBe('new one');
    // changed run updated
    expect(runs.b.status).toBe('FINISHED');
    expect(runs.b.metrics).toEqual({ acc: 0.9 });
    // removed id dropped, untouched run kept
    expect(runs.c).toBeUndefined();
    expect(runs.a).toEqual(run('a'));
    expect(Object.keys(runs).sort()).toEqual(['a', 'b', 'd']);
    expect(model.total).toBe(3);
  });

  it('drops a run that comes back deleted and keeps the newest cursor', async () => {
    const { api, scoped } = fakeApi([
      page([run('a'), run('b')], 5, 2),
      page([run('a', { lifecycle_stage: 'deleted' })], 6, 1),
      page([], 6, 1)
    ]);
    model = new TrackModel(api);
    await model.refresh();
    await model.refresh();
    expect(model.runs.map(r => r.run_id)).toEqual(['b']);
    expect(model.total).toBe(1);

    await model.refresh();
    expect(scoped()[2]).toEqual({ experimentId: '1', since: 6 });
    expect(model.runs.map(r => r.run_id)).toEqual(['b']);
  });

  it('emits changed after each refresh', async () => {
    const { api } = fakeApi([page([run('a')], 1, 1)]);
    model = new TrackModel(api);
    const seen: number[] = [];
    model.changed.connect(m => seen.push(m.runs.length));
    await model.refresh();
    expect(seen[seen.length - 1]).toBe(1);
  });

  it('reports a missing server extension when version answers 404', async () => {
    const { api, listRuns } = fakeApi([]);
    (api.version as jest.Mock).mockRejectedValue(new ApiError('Not Found', 404));
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    model = new TrackModel(api);
    await expect(model.refresh()).rejects.toThrow('Not Found');
    expect(model.status).toBe('missing');
    expect(listRuns).not.toHaveBeenCalled();
    logged.mockRestore();
  });

  it('follows the experiment that the newest run went to', async () => {
    const { api, scoped } = fakeApi(
      [
        page([run('a')], 1, 1),
        page([], 2, 1),
        page([run('q', { experiment_id: '2' })], 3, 1)
      ],
      [run('a'), run('q', { experiment_id: '2' })]
    );
    model = new TrackModel(api);
    await model.refresh();
    expect(model.experimentId).toBe('1');
    // then the notebook creates "quickstart" and logs a run there
    (api.listExperiments as jest.Mock).mockResolvedValue([
      { experiment_id: '1', name: 'exp', lifecycle_stage: 'active', creation_time: 1 },
      { experiment_id: '2', name: 'quickstart', lifecycle_stage: 'active', creation_time: 2 }
    ]);
    // a run lands in "quickstart": the panel switches there by itself
    await model.refresh();
    expect(model.experimentId).toBe('2');
    expect(scoped()[2]).toEqual({ experimentId: '2', maxResults: 200 });
    expect(model.runs.map(r => r.run_id)).toEqual(['q']);
  });

  it('opens the registered model that changed last', async () => {
    const { api } = fakeApi([page([run('a')], 1, 1)]);
    const model_ = (name: string, time: number) => ({
      name,
      creation_timestamp: time,
      last_updated_timestamp: time,
      description: '',
      latest_versions: [],
      tags: {},
      aliases: {}
    });
    (api.listModels as jest.Mock).mockResolvedValue([model_('aaa', 1), model_('wine', 5)]);
    (api as unknown as Record<string, unknown>).listVersions = jest.fn(async () => []);
    (api as unknown as Record<string, unknown>).listEvents = jest.fn(async () => []);
    model = new TrackModel(api);
    await model.refresh();
    expect(model.selectedModel).toBe('wine');
  });

  it('reads whether the store is read-only', async () => {
    const { api } = fakeApi([page([run('a')], 1, 1)]);
    (api.version as jest.Mock).mockResolvedValue({ version: '0.1.0', store: '/s', read_only: true });
    model = new TrackModel(api);
    await model.refresh();
    expect(model.readOnly).toBe(true);
  });
});
