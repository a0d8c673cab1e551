import * as React from 'react';

import { ConnectionStatus } from '../model';

/**
 * Explains why the panel has no data: the server extension is missing or
 * the API failed.
 */
export function StatusBanner(props: {
  status: ConnectionStatus;
  error: string;
}): JSX.Element | null {
  if (props.status === 'ok') {
    return null;
  }
  if (props.status === 'loading') {
    return <div className="jp-nbtrack-StatusBanner">Connecting to nbtrack…</div>;
  }
  if (props.status === 'missing') {
    return (
      <div className="jp-nbtrack-StatusBanner jp-nbtrack-StatusBanner-error">
        <p>
          <strong>The nbtrack server extension is not enabled.</strong>
        </p>
        <p>
          Install nbtrack in the environment that runs JupyterLab, then run{' '}
          <code>jupyter server extension enable nbtrack</code> and restart
          JupyterLab.
        </p>
      </div>
    );
  }
  return (
    <div className="jp-nbtrack-StatusBanner jp-nbtrack-StatusBanner-error">
      <p>
        <strong>nbtrack could not load data.</strong>
      </p>
      <p>{props.error}</p>
      <p>Retrying automatically.</p>
    </div>
  );
}
