import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, NbtrackAPI } from './api';
import { Nbtrack } from './tokens';

/**
 * How many runs the first request of an experiment fetches.
 */
const PAGE_SIZE = 200;

/**
 * Where the panel's data comes from.
 *
 * - `loading`: the first request has not answered yet;
 * - `ok`: the server extension answers;
 * - `missing`: `nbtrack/api/version` answered 404 (extension not enabled);
 * - `error`: any other failure (message in `error`).
 */
export type ConnectionStatus = 'loading' | 'ok' | 'missing' | 'error';

/**
 * The state behind the sidebar: experiments, the runs of the chosen
 * experiment, the selected run and the registry. It refreshes itself with a
 * `Poll` (backoff on failure, standby while hidden) and fetches only the runs
 * changed since the last answer (`since` cursor).
 */
export class TrackModel implements IDisposable {
  constructor(api: NbtrackAPI) {
    this.api = api;
    this._poll = new Poll({
      auto: true,
      factory: () => this.refresh(),
      frequency: { interval: 1000, backoff: true, max: 30 * 1000 },
      name: 'nbtrack:refresh',
      standby: () => (this._visible ? 'when-hidden' : true)
    });
  }

  readonly api: NbtrackAPI;

  /** Emitted whenever anything shown in the panel changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get status(): ConnectionStatus {
    return this._status;
  }
  get error(): string {
    return this._error;
  }
  get storeLocation(): string {
    return this._store;
  }
  /** Whether the store refuses writes: the panel then offers no stage or alias change. */
  get readOnly(): boolean {
    return this._readOnly;
  }
  get experiments(): Nbtrack.IExperiment[] {
    return this._experiments;
  }
  get experimentId(): string | null {
    return this._experimentId;
  }
  get runs(): Nbtrack.IRunSummary[] {
    return Array.from(this._runs.values());
  }
  get total(): number {
    return this._total;
  }
  get selectedRunId(): string | null {
    return this._selectedRunId;
  }
  get runDetail(): Nbtrack.IRunDetail | null {
    return this._runDetail;
  }
  get metricHistories(): Record<string, Nbtrack.IMetric[]> {
    return this._histories;
  }
  get models(): Nbtrack.IRegisteredModel[] {
    return this._models;
  }
  get selectedModel(): string | null {
    return this._selectedModel;
  }
  get versions(): Nbtrack.IModelVersion[] {
    return this._versions;
  }
  get events(): Nbtrack.IRegistryEvent[] {
    return this._events;
  }
  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Whether the panel is on screen; polling stands by while it is not.
   */
  get visible(): boolean {
    return this._visible;
  }
  set visible(value: boolean) {
    if (this._visible === value) {
      return;
    }
    this._visible = value;
    if (value) {
      void this._poll.refresh();
    }
  }

  /**
   * Choose the experiment whose runs are listed.
   */
  async selectExperiment(experimentId: string): Promise<void> {
    this._userPicked = true;
    if (experimentId === this._experimentId) {
      return;
    }
    this._experimentId = experimentId;
    this._cursor = null;
    this._runs.clear();
    this._total = 0;
    this._selectedRunId = null;
    this._runDetail = null;
    this._histories = {};
    this._changed.emit();
    await this.refreshNow();
  }

  /**
   * Show one run's details (`null` to go back to the list).
   */
  async selectRun(runId: string | null): Promise<void> {
    this._selectedRunId = runId;
    this._runDetail = null;
    this._histories = {};
    this._changed.emit();
    if (runId) {
      await this._loadRun(runId);
    }
  }

  /**
   * Show one registered model's versions and events (`null` for none).
   */
  async selectModel(name: string | null): Promise<void> {
    this._selectedModel = name;
    this._versions = [];
    this._events = [];
    this._changed.emit();
    if (name) {
      await this._loadModel(name);
    }
  }

  /**
   * Move a version to a stage, then reload the registry.
   *
   * @throws {ApiError} if the server rejects the transition
   */
  async transitionStage(
    name: string,
    version: string,
    stage: string,
    archiveExisting: boolean
  ): Promise<void> {
    await this.api.transitionStage(name, version, stage, archiveExisting);
    await this._loadModels();
    await this.refreshNow();
  }

  /**
   * Point an alias at a version, then reload the registry.
   *
   * @throws {ApiError} if the server rejects the alias
   */
  async setAlias(name: string, alias: string, version: string): Promise<void> {
    await this.api.setAlias(name, alias, version);
    await this._loadModels();
  }

  /**
   * Remove an alias, then reload the registry.
   *
   * @throws {ApiError} if the server rejects the removal
   */
  async deleteAlias(name: string, alias: string): Promise<void> {
    await this.api.deleteAlias(name, alias);
    await this._loadModels();
  }

  /**
   * Refresh now instead of waiting for the next tick.
   */
  async refreshNow(): Promise<void> {
    await this._poll.refresh();
    await this._poll.tick;
  }

  /**
   * One refresh: check the server extension, then fetch what changed.
   * Rejects on failure so that the poll backs off.
   */
  async refresh(): Promise<void> {
    try {
      if (this._status !== 'ok') {
        const version = await this.api.version();
        this._store = version.store;
        this._readOnly = version.read_only ?? false;
        this._status = 'ok';
        this._error = '';
        this._cursor = null;
        await this._loadExperiments();
        await this._loadModels();
      }
      let changed = await this._loadRuns();
      if (changed && (await this._followNewestRun())) {
        changed = await this._loadRuns();
      }
      if (changed) {
        await this._loadExperiments();
        await this._loadModels();
        if (this._selectedRunId) {
          await this._loadRun(this._selectedRunId);
        }
      }
      this._changed.emit();
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) {
        this._status = this._status === 'ok' ? 'error' : 'missing';
      } else {
        this._status = 'error';
      }
      this._error = error instanceof Error ? error.message : String(error);
      console.error('nbtrack: refresh failed', error);
      this._changed.emit();
      throw error;
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * Follow the notebook: when the newest run of the store lands in another
   * experiment than the newest one seen so far, show that experiment (the
   * user's own pick stands until then). Returns whether it switched.
   */
  private async _followNewestRun(): Promise<boolean> {
    const page = await this.api.listRuns({ maxResults: 1 });
    const newest = page.runs[0];
    if (!newest || newest.run_id === this._newestRunId) {
      return false;
    }
    const first = this._newestRunId === null;
    this._newestRunId = newest.run_id;
    if (newest.experiment_id === this._experimentId) {
      return false;
    }
    if (first && this._userPicked) {
      return false;
    }
    this._experimentId = newest.experiment_id;
    this._cursor = null;
    this._runs.clear();
    this._total = 0;
    return true;
  }

  private async _loadExperiments(): Promise<void> {
    const experiments = await this.api.listExperiments();
    this._experiments = experiments.filter(e => e.lifecycle_stage !== 'deleted');
    const known = this._experiments.some(
      e => e.experiment_id === this._experimentId
    );
    if (!known && this._experiments.length > 0) {
      // The most recently created experiment is the likeliest one in use.
      const latest = [...this._experiments].sort(
        (a, b) => (b.creation_time ?? 0) - (a.creation_time ?? 0)
      )[0];
      this._experimentId = latest.experiment_id;
      this._cursor = null;
      this._runs.clear();
    }
  }

  /**
   * Fetch the runs of the chosen experiment; returns whether the store
   * changed since the previous call.
   */
  private async _loadRuns(): Promise<boolean> {
    if (this._experimentId === null) {
      return false;
    }
    const experimentId = this._experimentId;
    if (this._cursor === null) {
      const page = await this.api.listRuns({
        experimentId,
        maxResults: PAGE_SIZE
      });
      if (experimentId !== this._experimentId) {
        return false;
      }
      this._runs.clear();
      for (const run of page.runs) {
        this._runs.set(run.run_id, run);
      }
      this._total = page.total;
      this._cursor = page.cursor;
      return true;
    }
    const previous = this._cursor;
    const page = await this.api.listRuns({ experimentId, since: previous });
    if (experimentId !== this._experimentId) {
      return false;
    }
    for (const runId of page.removed ?? []) {
      this._runs.delete(runId);
    }
    for (const run of page.runs) {
      if (run.lifecycle_stage === 'deleted') {
        this._runs.delete(run.run_id);
      } else {
        this._runs.set(run.run_id, run);
      }
    }
    this._total = page.total;
    this._cursor = page.cursor;
    return page.cursor !== previous;
  }

  private async _loadRun(runId: string): Promise<void> {
    const [detail, histories] = await Promise.all([
      this.api.getRun(runId),
      this.api.getMetricHistories(runId)
    ]);
    if (runId !== this._selectedRunId) {
      return;
    }
    this._runDetail = detail;
    this._histories = histories;
    this._changed.emit();
  }

  private async _loadModels(): Promise<void> {
    this._models = await this.api.listModels();
    // Open the model registered last (by this notebook or another) when it is new.
    const newest = [...this._models].sort(
      (a, b) => b.last_updated_timestamp - a.last_updated_timestamp
    )[0];
    if (newest && newest.last_updated_timestamp > this._newestModelTime) {
      const firstLook = this._newestModelTime === 0;
      this._newestModelTime = newest.last_updated_timestamp;
      if (!this._selectedModel || !firstLook) {
        this._selectedModel = newest.name;
      }
    }
    if (this._selectedModel) {
      if (this._models.some(m => m.name === this._selectedModel)) {
        await this._loadModel(this._selectedModel);
      } else {
        this._selectedModel = null;
        this._versions = [];
        this._events = [];
      }
    }
    this._changed.emit();
  }

  private async _loadModel(name: string): Promise<void> {
    const [versions, events] = await Promise.all([
      this.api.listVersions(name),
      this.api.listEvents(name)
    ]);
    if (name !== this._selectedModel) {
      return;
    }
    this._versions = versions;
    this._events = events;
    this._changed.emit();
  }

  private _changed = new Signal<this, void>(this);
  private _poll: Poll;
  private _visible = false;
  private _isDisposed = false;
  private _status: ConnectionStatus = 'loading';
  private _error = '';
  private _store = '';
  private _readOnly = false;
  private _userPicked = false;
  private _newestRunId: string | null = null;
  private _newestModelTime = 0;
  private _experiments: Nbtrack.IExperiment[] = [];
  private _experimentId: string | null = null;
  private _runs = new Map<string, Nbtrack.IRunSummary>();
  private _total = 0;
  private _cursor: number | null = null;
  private _selectedRunId: string | null = null;
  private _runDetail: Nbtrack.IRunDetail | null = null;
  private _histories: Record<string, Nbtrack.IMetric[]> = {};
  private _models: Nbtrack.IRegisteredModel[] = [];
  private _selectedModel: string | null = null;
  private _versions: Nbtrack.IModelVersion[] = [];
  private _events: Nbtrack.IRegistryEvent[] = [];
}
