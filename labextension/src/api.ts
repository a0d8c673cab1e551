import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import { Nbtrack } from './tokens';

/**
 * An error from the nbtrack API, with the HTTP status (0 if the server
 * could not be reached).
 */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * Options of {@link NbtrackAPI.listRuns}.
 */
export interface IListRunsOptions {
  experimentId?: string;
  filter?: string;
  orderBy?: string;
  maxResults?: number;
  pageToken?: string;
  since?: number;
}

/**
 * Typed wrappers of the REST API. Components use this class, never
 * `requestAPI` directly.
 */
export class NbtrackAPI {
  constructor(serverSettings?: ServerConnection.ISettings) {
    this.serverSettings = serverSettings ?? ServerConnection.makeSettings();
  }

  readonly serverSettings: ServerConnection.ISettings;

  /**
   * The server extension's version and store location.
   *
   * @throws {ApiError} with status 404 if the server extension is not enabled
   */
  version(): Promise<Nbtrack.IVersion> {
    return this._call<Nbtrack.IVersion>('version');
  }

  /**
   * The active experiments.
   *
   * @throws {ApiError} if the request fails
   */
  async listExperiments(): Promise<Nbtrack.IExperiment[]> {
    const r = await this._call<{ experiments: Nbtrack.IExperiment[] }>(
      'experiments'
    );
    return r.experiments;
  }

  /**
   * One page of run summaries.
   *
   * @throws {ApiError} if the request fails
   */
  listRuns(options: IListRunsOptions = {}): Promise<Nbtrack.IRunsPage> {
    const query = new URLSearchParams();
    if (options.experimentId !== undefined) {
      query.set('experiment_id', options.experimentId);
    }
    if (options.filter) {
      query.set('filter', options.filter);
    }
    if (options.orderBy) {
      query.set('order_by', options.orderBy);
    }
    if (options.maxResults !== undefined) {
      query.set('max_results', String(options.maxResults));
    }
    if (options.pageToken) {
      query.set('page_token', options.pageToken);
    }
    if (options.since !== undefined) {
      query.set('since', String(options.since));
    }
    const qs = query.toString();
    return this._call<Nbtrack.IRunsPage>(qs ? `runs?${qs}` : 'runs');
  }

  /**
   * One run with its artifacts and the cell that produced it.
   *
   * @throws {ApiError} with status 404 if the run does not exist
   */
  getRun(runId: string): Promise<Nbtrack.IRunDetail> {
    return this._call<Nbtrack.IRunDetail>(`runs/${encodeURIComponent(runId)}`);
  }

  /**
   * The history of every metric of a run.
   *
   * @throws {ApiError} if the request fails
   */
  async getMetricHistories(
    runId: string
  ): Promise<Record<string, Nbtrack.IMetric[]>> {
    const r = await this._call<{ metrics: Record<string, Nbtrack.IMetric[]> }>(
      `runs/${encodeURIComponent(runId)}/metrics`
    );
    return r.metrics;
  }

  /**
   * The registered models.
   *
   * @throws {ApiError} if the request fails
   */
  async listModels(): Promise<Nbtrack.IRegisteredModel[]> {
    const r = await this._call<{ models: Nbtrack.IRegisteredModel[] }>(
      'models'
    );
    return r.models;
  }

  /**
   * All versions of a registered model.
   *
   * @throws {ApiError} if the request fails
   */
  async listVersions(name: string): Promise<Nbtrack.IModelVersion[]> {
    const r = await this._call<{ versions: Nbtrack.IModelVersion[] }>(
      `models/${encodeURIComponent(name)}/versions`
    );
    return r.versions;
  }

  /**
   * The audit trail of a registered model, oldest first.
   *
   * @throws {ApiError} if the request fails
   */
  async listEvents(name: string): Promise<Nbtrack.IRegistryEvent[]> {
    const r = await this._call<{ events: Nbtrack.IRegistryEvent[] }>(
      `models/${encodeURIComponent(name)}/events`
    );
    return r.events;
  }

  /**
   * Move a model version to another stage.
   *
   * @throws {ApiError} if the transition is rejected
   */
  async transitionStage(
    name: string,
    version: string,
    stage: string,
    archiveExistingVersions = false
  ): Promise<Nbtrack.IModelVersion> {
    const r = await this._call<{ version: Nbtrack.IModelVersion }>(
      `models/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}/stage`,
      {
        method: 'POST',
        body: JSON.stringify({
          stage,
          archive_existing_versions: archiveExistingVersions
        })
      }
    );
    return r.version;
  }

  /**
   * Point an alias of a registered model at a version.
   *
   * @throws {ApiError} if the alias is invalid or the version is missing
   */
  async setAlias(
    name: string,
    alias: string,
    version: string
  ): Promise<Nbtrack.IRegisteredModel> {
    const r = await this._call<{ model: Nbtrack.IRegisteredModel }>(
      `models/${encodeURIComponent(name)}/aliases`,
      { method: 'POST', body: JSON.stringify({ alias, version }) }
    );
    return r.model;
  }

  /**
   * Remove an alias of a registered model.
   *
   * @throws {ApiError} if the alias does not exist
   */
  async deleteAlias(
    name: string,
    alias: string
  ): Promise<Nbtrack.IRegisteredModel> {
    const r = await this._call<{ model: Nbtrack.IRegisteredModel }>(
      `models/${encodeURIComponent(name)}/aliases/${encodeURIComponent(alias)}`,
      { method: 'DELETE' }
    );
    return r.model;
  }

  /**
   * What to show of one artifact file (text head, JSON, CSV rows, or just
   * its kind for images and binaries).
   *
   * @throws {ApiError} with status 400 for a path outside the run folder, 404 if missing
   */
  previewArtifact(
    runId: string,
    path: string
  ): Promise<Nbtrack.IArtifactPreview> {
    const query = new URLSearchParams({ path, preview: '1' });
    return this._call<Nbtrack.IArtifactPreview>(
      `runs/${encodeURIComponent(runId)}/artifact?${query.toString()}`
    );
  }

  /**
   * The bytes of one artifact file (authenticated like every call), for an
   * image preview or a download.
   *
   * @throws {ApiError} if the request fails
   */
  async artifactBlob(runId: string, path: string): Promise<Blob> {
    const query = new URLSearchParams({ path });
    const url = URLExt.join(
      this.serverSettings.baseUrl,
      'nbtrack/api',
      `runs/${encodeURIComponent(runId)}/artifact`
    );
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(
        `${url}?${query.toString()}`,
        {},
        this.serverSettings
      );
    } catch (error) {
      throw new ApiError(`API request failed (network): ${String(error)}`, 0);
    }
    if (!response.ok) {
      let message = response.statusText;
      try {
        message = ((await response.json()) as { message?: string }).message ?? message;
      } catch {
        // not JSON: keep the status text
      }
      throw new ApiError(
        `API request failed (${response.status}): ${message}`,
        response.status
      );
    }
    return response.blob();
  }

  /**
   * The cells a run's code came from, in execution order.
   *
   * @throws {ApiError} with status 404 if the run has no recorded slice
   */
  getSlice(runId: string): Promise<Nbtrack.ISlice> {
    return this._call<Nbtrack.ISlice>(
      `runs/${encodeURIComponent(runId)}/slice`
    );
  }

  /**
   * Run a run's slice again in a fresh kernel and compare the results.
   *
   * @throws {ApiError} if the request fails
   */
  reproduce(runId: string): Promise<Nbtrack.IReproduceResult> {
    return this._call<Nbtrack.IReproduceResult>(
      `runs/${encodeURIComponent(runId)}/reproduce`,
      { method: 'POST', body: '{}' }
    );
  }

  private async _call<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    try {
      return await requestAPI<T>(endPoint, this.serverSettings, init);
    } catch (error) {
      if (error instanceof ServerConnection.ResponseError) {
        throw new ApiError(
          `API request failed (${error.response.status}): ${error.message}`,
          error.response.status
        );
      }
      if (error instanceof ServerConnection.NetworkError) {
        throw new ApiError(`API request failed (network): ${error.message}`, 0);
      }
      throw error;
    }
  }
}
