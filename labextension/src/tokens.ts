/**
 * Types mirroring `nbtrack/entities.py` and the REST API of the server
 * extension, field for field (snake_case, as sent on the wire).
 */
export namespace Nbtrack {
  /**
   * A metric value: a number, or "NaN" / "Infinity" / "-Infinity".
   */
  export type MetricValue = number | string;

  /** `RunStatus` values. */
  export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

  /** `LifecycleStage` values. */
  export type LifecycleStage = 'active' | 'deleted';

  /** `ModelVersionStage` values. */
  export type Stage = 'None' | 'Staging' | 'Production' | 'Archived';

  /** Run tag keys the sidebar reads (`nbtrack.entities.Tags`). */
  export const Tags = {
    RUN_NAME: 'mlflow.runName',
    PARENT_RUN_ID: 'mlflow.parentRunId',
    SOURCE_NAME: 'mlflow.source.name',
    DATASET_CONTEXT: 'mlflow.data.context',
    CELL_SOURCE: 'nbtrack.cell_source',
    NOTEBOOK_PATH: 'nbtrack.notebook_path',
    CELL_ID: 'nbtrack.cell_id',
    SLICE_CELLS: 'nbtrack.slice_cells',
    STALE: 'nbtrack.stale',
    STALE_REASON: 'nbtrack.stale_reason',
    REPRODUCED_FROM: 'nbtrack.reproduced_from'
  } as const;

  /** `Experiment.to_dict()` */
  export interface IExperiment {
    experiment_id: string;
    name: string;
    artifact_location: string;
    lifecycle_stage: LifecycleStage;
    tags: Record<string, string>;
    creation_time: number | null;
    last_update_time: number | null;
  }

  /** A run summary from `GET runs`. */
  export interface IRunSummary {
    run_id: string;
    run_name: string;
    experiment_id: string;
    status: RunStatus;
    start_time: number;
    end_time: number | null;
    lifecycle_stage: LifecycleStage;
    metrics: Record<string, MetricValue>;
    params: Record<string, string>;
    tags: Record<string, string>;
  }

  /** `GET runs` */
  export interface IRunsPage {
    runs: IRunSummary[];
    next_page_token: string | null;
    cursor: number;
    total: number;
    /** With `since`: ids of runs that left the listing after the cursor. */
    removed?: string[];
  }

  /** `RunInfo.to_dict()` */
  export interface IRunInfo {
    run_id: string;
    experiment_id: string;
    run_name: string;
    user_id: string;
    status: RunStatus;
    start_time: number;
    end_time: number | null;
    artifact_uri: string;
    lifecycle_stage: LifecycleStage;
  }

  /** `Dataset.to_dict()` */
  export interface IDataset {
    name: string;
    digest: string;
    source_type: string;
    source: string;
    schema: string;
    profile: string;
  }

  /** `DatasetInput.to_dict()` */
  export interface IDatasetInput {
    dataset: IDataset;
    tags: Record<string, string>;
  }

  /** `Run.to_dict()` */
  export interface IRun {
    info: IRunInfo;
    data: {
      metrics: Record<string, MetricValue>;
      params: Record<string, string>;
      tags: Record<string, string>;
    };
    inputs: { dataset_inputs: IDatasetInput[] };
  }

  /** `FileInfo.to_dict()` */
  export interface IFileInfo {
    path: string;
    is_dir: boolean;
    file_size: number | null;
  }

  /** `GET runs/<run_id>` */
  export interface IRunDetail {
    run: IRun;
    artifacts: IFileInfo[];
    cell_source: string | null;
    notebook_path: string | null;
    cell_id: string | null;
  }

  /** `Metric.to_dict()` */
  export interface IMetric {
    key: string;
    value: MetricValue;
    timestamp: number;
    step: number;
  }

  /** `ModelVersion.to_dict()` */
  export interface IModelVersion {
    name: string;
    version: string;
    creation_timestamp: number;
    last_updated_timestamp: number;
    current_stage: Stage;
    description: string;
    user_id: string;
    source: string;
    run_id: string | null;
    status: string;
    tags: Record<string, string>;
    aliases: string[];
  }

  /** `RegisteredModel.to_dict()` */
  export interface IRegisteredModel {
    name: string;
    creation_timestamp: number;
    last_updated_timestamp: number;
    description: string;
    latest_versions: IModelVersion[];
    tags: Record<string, string>;
    aliases: Record<string, string>;
  }

  /** `RegistryEvent.to_dict()` */
  export interface IRegistryEvent {
    timestamp: number;
    user: string;
    action: string;
    name: string;
    version: string | null;
    from_value: string | null;
    to_value: string | null;
    run_id: string | null;
    data_digest: string | null;
    /** The alias an alias event is about (set_alias, delete_alias). */
    alias: string | null;
  }

  /** `GET version` */
  export interface IVersion {
    version: string;
    store: string;
    /** Whether the store refuses writes (the panel then offers no changes). */
    read_only?: boolean;
  }

  /**
   * `GET runs/<id>/artifact?preview=1`: what to show of one artifact.
   */
  export interface IArtifactPreview {
    path: string;
    kind: 'text' | 'json' | 'csv' | 'image' | 'binary';
    size: number;
    truncated: boolean;
    content?: unknown;
    rows?: string[][];
  }

  /**
   * `GET runs/<id>/slice`: the cells a run's code came from.
   */
  export interface ISlice {
    cells: { cell_id: string | null; execution_count: number | null; source: string }[];
    source: string;
    stale: boolean;
    stale_reason: string | null;
  }

  /**
   * `POST runs/<id>/reproduce`: a re-run of a run's slice in a fresh kernel.
   */
  export interface IReproduceResult {
    source_run_id: string;
    run_id: string | null;
    matches: boolean;
    diffs: unknown[];
    error: string | null;
  }

  /** The registry's stages. */
  export const STAGES: Stage[] = ['None', 'Staging', 'Production', 'Archived'];
}
