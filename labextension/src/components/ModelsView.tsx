import * as React from 'react';

import { Nbtrack } from '../tokens';
import { compactTime, eventText, formatTime } from './format';

/**
 * The stage buttons offered for a version, depending on its current stage.
 */
const TRANSITIONS: [string, string][] = [
  ['Staging', '→ Staging'],
  ['Production', '→ Production'],
  ['Archived', 'Archive']
];

/**
 * A small form setting an alias on one version: an input and a button.
 */
function AliasForm(props: {
  version: Nbtrack.IModelVersion;
  onSetAlias: (version: Nbtrack.IModelVersion, alias: string) => Promise<boolean>;
}): JSX.Element {
  const [alias, setAlias] = React.useState('');
  const submit = async () => {
    const value = alias.trim();
    if (!value) {
      return;
    }
    if (await props.onSetAlias(props.version, value)) {
      setAlias('');
    }
  };
  return (
    <form
      className="jp-nbtrack-AliasForm"
      data-version={props.version.version}
      onSubmit={event => {
        event.preventDefault();
        void submit();
      }}
    >
      <input
        className="jp-mod-styled jp-nbtrack-AliasInput"
        aria-label={`New alias for version ${props.version.version}`}
        placeholder="alias"
        value={alias}
        onChange={event => setAlias(event.target.value)}
      />
      <button
        type="submit"
        className="jp-Button jp-mod-styled jp-nbtrack-SetAlias"
        disabled={!alias.trim()}
      >
        Set alias
      </button>
    </form>
  );
}

/**
 * A run id as a link to the run's details (the first 8 characters shown).
 */
export function RunLink(props: {
  runId: string;
  onOpenRun: (runId: string) => void;
  label?: string;
}): JSX.Element {
  return (
    <a
      href="#"
      className="jp-nbtrack-RunLink"
      data-run-id={props.runId}
      title={`Open run ${props.runId}`}
      onClick={event => {
        event.preventDefault();
        props.onOpenRun(props.runId);
      }}
    >
      {props.label ?? props.runId.slice(0, 8)}
    </a>
  );
}

/**
 * The model registry: a list of registered models; for the selected one,
 * its versions (stage, aliases, source run) with promote buttons, alias
 * controls and "Insert load code", and its event history.
 */
export function ModelsView(props: {
  models: Nbtrack.IRegisteredModel[];
  selected: string | null;
  versions: Nbtrack.IModelVersion[];
  events: Nbtrack.IRegistryEvent[];
  onSelect: (name: string | null) => void;
  onTransition: (version: Nbtrack.IModelVersion, stage: string) => void;
  /** Resolves to whether the alias was set (the input is then cleared). */
  onSetAlias: (version: Nbtrack.IModelVersion, alias: string) => Promise<boolean>;
  onRemoveAlias: (version: Nbtrack.IModelVersion, alias: string) => void;
  onInsertLoadCode: (modelUri: string) => void;
  /** Open a run's details (a version's source run, an event's run). */
  onOpenRun: (runId: string) => void;
  /** A read-only store: no promote or alias controls. */
  readOnly?: boolean;
}): JSX.Element {
  if (props.models.length === 0) {
    return (
      <div className="jp-nbtrack-ModelsView jp-nbtrack-empty">
        No registered models yet. Register one with{' '}
        <code>nbtrack.register_model("runs:/&lt;run_id&gt;/model", "name")</code>.
      </div>
    );
  }
  const versions = [...props.versions].sort(
    (a, b) => Number(b.version) - Number(a.version)
  );
  return (
    <div className="jp-nbtrack-ModelsView">
      <ul className="jp-nbtrack-ModelList">
        {props.models.map(m => (
          <li
            key={m.name}
            className={
              m.name === props.selected
                ? 'jp-nbtrack-ModelItem jp-mod-selected'
                : 'jp-nbtrack-ModelItem'
            }
            data-model-name={m.name}
            tabIndex={0}
            onClick={() => props.onSelect(m.name)}
            onKeyDown={event => {
              if (event.key === 'Enter') {
                props.onSelect(m.name);
              }
            }}
          >
            <span className="jp-nbtrack-ModelName">{m.name}</span>
            <span className="jp-nbtrack-ModelStages">
              {m.latest_versions
                .filter(v => v.current_stage !== 'None')
                .map(v => `${v.current_stage}: v${v.version}`)
                .join(' · ')}
            </span>
          </li>
        ))}
      </ul>

      {props.selected && (
        <div className="jp-nbtrack-ModelDetail">
          <h4>Versions of {props.selected}</h4>
          <ul className="jp-nbtrack-Versions">
            {versions.map(v => (
              <li
                key={`${v.name}/${v.version}`}
                className="jp-nbtrack-VersionRow"
                data-version={v.version}
              >
                <div className="jp-nbtrack-VersionHead">
                  <span className="jp-nbtrack-VersionNumber">v{v.version}</span>
                  <span
                    className={`jp-nbtrack-Stage jp-nbtrack-Stage-${v.current_stage.toLowerCase()}`}
                  >
                    {v.current_stage}
                  </span>
                  <span className="jp-nbtrack-Aliases">
                    {v.aliases.map(a => (
                      <span key={a} className="jp-nbtrack-Alias" data-alias={a}>
                        @{a}
                        {!props.readOnly && (<button
                          className="jp-nbtrack-RemoveAlias"
                          title={`Remove alias @${a}`}
                          aria-label={`Remove alias ${a}`}
                          onClick={() => props.onRemoveAlias(v, a)}
                        >
                          ×
                        </button>)}
                      </span>
                    ))}
                  </span>
                </div>
                <div
                  className="jp-nbtrack-VersionSource"
                  title={v.run_id ? `run ${v.run_id}` : v.source}
                >
                  {v.run_id ? (
                    <>
                      run{' '}
                      <RunLink runId={v.run_id} onOpenRun={props.onOpenRun} />
                    </>
                  ) : (
                    v.source
                  )}
                </div>
                <div className="jp-nbtrack-Actions">
                  {TRANSITIONS.filter(
                    ([s]) => !props.readOnly && s !== v.current_stage
                  ).map(
                    ([stage, label]) => (
                      <button
                        key={stage}
                        className="jp-Button jp-mod-styled jp-nbtrack-Promote"
                        data-stage={stage}
                        onClick={() => props.onTransition(v, stage)}
                      >
                        {label}
                      </button>
                    )
                  )}
                  <button
                    className="jp-Button jp-mod-styled jp-nbtrack-InsertLoad"
                    title="Insert a cell loading this version into the active notebook"
                    onClick={() =>
                      props.onInsertLoadCode(
                        `models:/${v.name}/${
                          v.current_stage !== 'None' &&
                          v.current_stage !== 'Archived'
                            ? v.current_stage
                            : v.version
                        }`
                      )
                    }
                  >
                    Insert load code
                  </button>
                </div>
                {!props.readOnly && (
                  <AliasForm version={v} onSetAlias={props.onSetAlias} />
                )}
              </li>
            ))}
          </ul>

          <h4>History</h4>
          {props.events.length === 0 ? (
            <p className="jp-nbtrack-empty">No events.</p>
          ) : (
            <ol className="jp-nbtrack-Events">
              {[...props.events].reverse().map((e, i) => (
                <li key={i} className="jp-nbtrack-Event">
                  <span
                    className="jp-nbtrack-EventTime"
                    title={formatTime(e.timestamp)}
                  >
                    {compactTime(e.timestamp)}
                  </span>{' '}
                  <span className="jp-nbtrack-EventText">{eventText(e)}</span>
                  {e.user ? (
                    <span className="jp-nbtrack-EventUser"> {e.user}</span>
                  ) : null}
                  {e.run_id ? (
                    <>
                      {' '}
                      <RunLink runId={e.run_id} onOpenRun={props.onOpenRun} />
                    </>
                  ) : null}
                </li>
              ))}
            </ol>
          )}
        </div>
      )}
    </div>
  );
}
