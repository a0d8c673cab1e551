"""Jupyter server extension: a REST API over the store, under ``<base_url>nbtrack/api/``.

Enabled by ``jupyter-config/jupyter_server_config.d/nbtrack.json`` (installed with the
package) or by hand with ``jupyter server extension enable nbtrack``.

Which store the server reads, first match wins:

1. the ``NbtrackServer.store`` setting, e.g. ``jupyter lab --NbtrackServer.store=/data/.nbtrack``
   or ``c.NbtrackServer.store = "/data/.nbtrack"`` in ``jupyter_server_config.py``;
2. the ``NBTRACK_STORE`` environment variable;
3. ``.nbtrack/`` in the server's root directory (``ServerApp.root_dir``), i.e. beside the
   notebooks, which is where a kernel started from that directory writes by default.

The extension imports neither IPython, ipywidgets, plotly nor scikit-learn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traitlets import Float, Unicode
from traitlets.config import Configurable

from nbtrack.config import DEFAULT_STORE
from nbtrack.store import resolve_uri


class NbtrackServer(Configurable):
    """Settings of the nbtrack server extension."""

    store = Unicode(
        "",
        help=(
            "Store folder the nbtrack REST API reads and writes. Empty: $NBTRACK_STORE, "
            "else '.nbtrack' in the server's root directory."
        ),
    ).tag(config=True)

    request_budget = Float(
        10.0,
        help=(
            "Seconds a REST request may spend on store work before it is answered 503; the work runs in worker "
            "threads, so the server keeps serving kernels and other requests meanwhile."
        ),
    ).tag(config=True)


def store_location(server_app: Any) -> str:
    """Return the store a Jupyter server should use (see the module docstring for the order).

    Parameters
    ----------
    server_app : jupyter_server.serverapp.ServerApp
        The running server; its ``config`` and ``root_dir`` are read.

    Returns
    -------
    str
        An absolute folder path (or a ``memory:`` URI if configured so).

    Raises
    ------
    InvalidParameter
        The configured location names a remote server or is not a valid URI.
    """
    settings = NbtrackServer(config=server_app.config)
    if settings.store:
        return resolve_uri(os.path.expanduser(settings.store))
    env = os.environ.get("NBTRACK_STORE")
    if env:
        return resolve_uri(env)
    root = Path(os.path.expanduser(server_app.root_dir or os.getcwd()))
    return resolve_uri(str(root / DEFAULT_STORE))


def load_jupyter_server_extension(server_app: Any) -> None:
    """Register the REST routes on a Jupyter server.

    The store is opened on the first request; if its folder exists already, it is
    read once right after start so that the first listing is served from cache.

    Parameters
    ----------
    server_app : jupyter_server.serverapp.ServerApp
        The server being started.
    """
    from nbtrack.server.lineage_routes import setup_lineage_routes
    from nbtrack.server.routes import setup_route_handlers, warm_up

    location = store_location(server_app)
    setup_route_handlers(server_app.web_app, location)
    setup_lineage_routes(server_app.web_app)
    server_app.web_app.settings["nbtrack_request_budget"] = NbtrackServer(config=server_app.config).request_budget
    server_app.log.info("nbtrack: REST API at %snbtrack/api/ over the store %s", server_app.base_url, location)
    if os.path.isdir(location):
        from nbtrack.server._handler import worker_pool

        def warm() -> None:
            try:
                warm_up(server_app.web_app.settings)
            except Exception as err:  # a broken store is reported by every request, with its message
                server_app.log.warning("nbtrack: could not read the store %s: %s", location, err)

        worker_pool().submit(warm)  # a big store is read in a worker thread, never on the server's event loop


__all__ = ["NbtrackServer", "load_jupyter_server_extension", "store_location"]
