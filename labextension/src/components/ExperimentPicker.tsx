import * as React from 'react';

import { Nbtrack } from '../tokens';

/**
 * A drop-down of the active experiments.
 */
export function ExperimentPicker(props: {
  experiments: Nbtrack.IExperiment[];
  value: string | null;
  onChange: (experimentId: string) => void;
}): JSX.Element {
  return (
    <label className="jp-nbtrack-ExperimentPicker">
      <span>Experiment</span>
      <select
        className="jp-mod-styled"
        aria-label="Experiment"
        value={props.value ?? ''}
        onChange={event => props.onChange(event.target.value)}
      >
        {props.experiments.map(e => (
          <option key={e.experiment_id} value={e.experiment_id}>
            {e.name}
          </option>
        ))}
      </select>
    </label>
  );
}
