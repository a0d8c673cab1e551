import * as React from 'react';

import { Nbtrack } from '../tokens';

/**
 * How a file size reads: "812 B", "12.4 KB", "3.1 MB".
 */
export function formatSize(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined) {
    return '';
  }
  if (bytes < 1024) {
    return `${bytes} B`;
  }
  if (bytes < 1024 * 1024) {
    return `${(bytes / 1024).toFixed(1)} KB`;
  }
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/**
 * The blob type an image preview is shown with (the server sends SVG as
 * octet-stream so that it is never rendered as a page).
 */
export function imageType(path: string): string {
  const ext = path.split('.').pop()?.toLowerCase() ?? '';
  switch (ext) {
    case 'svg':
      return 'image/svg+xml';
    case 'jpg':
    case 'jpeg':
      return 'image/jpeg';
    case 'gif':
      return 'image/gif';
    case 'webp':
      return 'image/webp';
    default:
      return 'image/png';
  }
}

/**
 * What the preview pane shows for one file.
 */
function Preview(props: {
  preview: Nbtrack.IArtifactPreview;
  imageUrl: string | null;
}): JSX.Element {
  const { preview } = props;
  const more = preview.truncated ? (
    <p className="jp-nbtrack-empty">Only the start is shown; download the file for all of it.</p>
  ) : null;
  switch (preview.kind) {
    case 'json':
      return (
        <pre className="jp-nbtrack-ArtifactText">
          {JSON.stringify(preview.content, null, 2)}
        </pre>
      );
    case 'text':
      return (
        <>
          <pre className="jp-nbtrack-ArtifactText">{String(preview.content ?? '')}</pre>
          {more}
        </>
      );
    case 'csv': {
      const [head, ...rows] = preview.rows ?? [];
      return (
        <div className="jp-nbtrack-ArtifactTable">
          <table>
            <thead>
              <tr>
                {(head ?? []).map((h, i) => (
                  <th key={i}>{h}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((row, i) => (
                <tr key={i}>
                  {row.map((cell, j) => (
                    <td key={j}>{cell}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
          {more}
        </div>
      );
    }
    case 'image':
      return props.imageUrl ? (
        <img className="jp-nbtrack-ArtifactImage" src={props.imageUrl} alt={preview.path} />
      ) : (
        <p>Loading image…</p>
      );
    default:
      return (
        <p className="jp-nbtrack-empty">
          A binary file ({formatSize(preview.size)}): download it to open it.
        </p>
      );
  }
}

/**
 * A run's artifact files: click one to preview it (text, JSON, the head of a
 * CSV, images), "Download" to save it.
 */
export function ArtifactsView(props: {
  artifacts: Nbtrack.IFileInfo[];
  onPreview: (path: string) => Promise<Nbtrack.IArtifactPreview>;
  onBlob: (path: string) => Promise<Blob>;
  onError: (title: string) => (error: unknown) => void;
}): JSX.Element {
  const [open, setOpen] = React.useState<string | null>(null);
  const [preview, setPreview] = React.useState<Nbtrack.IArtifactPreview | null>(null);
  const [imageUrl, setImageUrl] = React.useState<string | null>(null);

  React.useEffect(() => {
    return () => {
      if (imageUrl) {
        URL.revokeObjectURL(imageUrl);
      }
    };
  }, [imageUrl]);

  const show = async (path: string) => {
    if (open === path) {
      setOpen(null);
      setPreview(null);
      setImageUrl(null);
      return;
    }
    setOpen(path);
    setPreview(null);
    setImageUrl(null);
    const found = await props.onPreview(path);
    setPreview(found);
    if (found.kind === 'image') {
      const blob = await props.onBlob(path);
      setImageUrl(URL.createObjectURL(new Blob([blob], { type: imageType(path) })));
    }
  };

  const download = async (path: string) => {
    const blob = await props.onBlob(path);
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = path.split('/').pop() ?? 'artifact';
    document.body.appendChild(link);
    link.click();
    link.remove();
    window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  };

  const files = props.artifacts.filter(a => !a.is_dir);
  return (
    <ul className="jp-nbtrack-Artifacts">
      {files.map(a => (
        <li key={a.path} data-path={a.path}>
          <div className="jp-nbtrack-ArtifactRow">
            <button
              className="jp-nbtrack-ArtifactName"
              aria-expanded={open === a.path}
              title={`Preview ${a.path}`}
              onClick={() => void show(a.path).catch(props.onError('Cannot preview the artifact'))}
            >
              {open === a.path ? '▾ ' : '▸ '}
              {a.path}
            </button>
            <span className="jp-nbtrack-ArtifactSize">{formatSize(a.file_size)}</span>
            <button
              className="jp-Button jp-mod-styled jp-nbtrack-Download"
              title={`Download ${a.path}`}
              aria-label={`Download ${a.path}`}
              onClick={() => void download(a.path).catch(props.onError('Cannot download the artifact'))}
            >
              ⤓
            </button>
          </div>
          {open === a.path && (
            <div className="jp-nbtrack-ArtifactPreview">
              {preview ? <Preview preview={preview} imageUrl={imageUrl} /> : <p>Loading…</p>}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
