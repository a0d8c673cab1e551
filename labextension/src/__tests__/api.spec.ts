import { ServerConnection } from '@jupyterlab/services';

import { ApiError, NbtrackAPI } from '../api';
import { requestAPI } from '../request';

jest.mock('../request');

const request = requestAPI as jest.MockedFunction<typeof requestAPI>;

type Responder = (init: RequestInit) => unknown;

/**
 * Answer `requestAPI` calls from a table of endpoint → response; any other
 * endpoint fails the test.
 */
function serve(routes: Record<string, Responder>): void {
  request.mockImplementation(async (endPoint: string, _settings, init = {}) => {
    const respond = routes[endPoint];
    if (!respond) {
      throw new Error(`unexpected request: ${endPoint}`);
    }
    return respond(init) as any;
  });
}

function responseError(status: number, message: string): Error {
  const response = { status, ok: false } as Response;
  return new ServerConnection.ResponseError(response, message);
}

describe('NbtrackAPI', () => {
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://localhost:8888/'
  });
  let api: NbtrackAPI;

  beforeEach(() => {
    request.mockReset();
    api = new NbtrackAPI(settings);
  });

  it('passes its server settings to every request', async () => {
    serve({ version: () => ({ version: '0.1.0', store: '/tmp/s' }) });
    const version = await api.version();
    expect(version).toEqual({ version: '0.1.0', store: '/tmp/s' });
    expect(request).toHaveBeenCalledWith('version', settings, {});
  });

  it('lists runs without a query string when no option is given', async () => {
    const page = { runs: [], next_page_token: null, cursor: 3, total: 0 };
    serve({ runs: () => page });
    expect(await api.listRuns()).toEqual(page);
  });

  it('encodes the run listing options, including the since cursor', async () => {
    serve({
      'runs?experiment_id=7&filter=metrics.acc+%3E+0.9&order_by=start_time+DESC&max_results=50&page_token=p+2&since=12':
        () => ({ runs: [], next_page_token: null, cursor: 12, total: 0 })
    });
    const page = await api.listRuns({
      experimentId: '7',
      filter: 'metrics.acc > 0.9',
      orderBy: 'start_time DESC',
      maxResults: 50,
      pageToken: 'p 2',
      since: 12
    });
    expect(page.cursor).toBe(12);
  });

  it('sends since=0 (a cursor of zero is still a cursor)', async () => {
    serve({
      'runs?since=0': () => ({
        runs: [],
        next_page_token: null,
        cursor: 0,
        total: 0
      })
    });
    await api.listRuns({ since: 0 });
    expect(request).toHaveBeenCalledTimes(1);
  });

  it('URL-encodes model names in the registry paths', async () => {
    const name = 'churn/model v2?#';
    const encoded = 'churn%2Fmodel%20v2%3F%23';
    serve({
      [`models/${encoded}/versions`]: () => ({ versions: [{ version: '1' }] }),
      [`models/${encoded}/events`]: () => ({ events: [{ action: 'created' }] })
    });
    expect(await api.listVersions(name)).toEqual([{ version: '1' }]);
    expect(await api.listEvents(name)).toEqual([{ action: 'created' }]);
  });

  it('posts a stage transition with its JSON body', async () => {
    let body: unknown = null;
    serve({
      'models/a%20b/versions/3/stage': init => {
        expect(init.method).toBe('POST');
        body = JSON.parse(String(init.body));
        return { version: { name: 'a b', version: '3' } };
      }
    });
    const v = await api.transitionStage('a b', '3', 'Production', true);
    expect(v).toEqual({ name: 'a b', version: '3' });
    expect(body).toEqual({ stage: 'Production', archive_existing_versions: true });
  });

  it('sets and deletes aliases on the encoded model and alias paths', async () => {
    const calls: [string, string | undefined, unknown][] = [];
    serve({
      'models/m%2F1/aliases': init => {
        calls.push(['set', init.method, JSON.parse(String(init.body))]);
        return { model: { name: 'm/1', aliases: { champion: '2' } } };
      },
      'models/m%2F1/aliases/champion': init => {
        calls.push(['delete', init.method, init.body]);
        return { model: { name: 'm/1', aliases: {} } };
      }
    });
    const set = await api.setAlias('m/1', 'champion', '2');
    expect(set.aliases).toEqual({ champion: '2' });
    const deleted = await api.deleteAlias('m/1', 'champion');
    expect(deleted.aliases).toEqual({});
    expect(calls).toEqual([
      ['set', 'POST', { alias: 'champion', version: '2' }],
      ['delete', 'DELETE', undefined]
    ]);
  });

  it('turns a ResponseError into an ApiError carrying the server message and status', async () => {
    serve({
      'models/m/aliases': () => {
        throw responseError(400, "Invalid alias 'v1': 'latest' and 'v<number>' are reserved");
      }
    });
    const failure = api.setAlias('m', 'v1', '1');
    await expect(failure).rejects.toBeInstanceOf(ApiError);
    await expect(failure).rejects.toMatchObject({
      status: 400,
      message: expect.stringContaining("Invalid alias 'v1'")
    });
  });

  it('reports a 404 status when the server extension is missing', async () => {
    serve({
      version: () => {
        throw responseError(404, 'Not Found');
      }
    });
    await expect(api.version()).rejects.toMatchObject({ status: 404 });
  });

  it('turns a NetworkError into an ApiError with status 0', async () => {
    serve({
      experiments: () => {
        throw new ServerConnection.NetworkError(new TypeError('Failed to fetch'));
      }
    });
    await expect(api.listExperiments()).rejects.toMatchObject({
      status: 0,
      message: expect.stringContaining('Failed to fetch')
    });
  });
});
