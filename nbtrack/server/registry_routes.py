"""REST handlers of the model registry (``<base_url>nbtrack/api/models/...``).

Model names are URL-encoded path segments. Writes (stage transition, alias set and
delete) are POST/DELETE and so pass Jupyter's XSRF check.
"""

from __future__ import annotations

from typing import Any

import tornado.web

from nbtrack.errors import InvalidParameter
from nbtrack.server._handler import BaseRouteHandler, translate_errors


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value:
        raise InvalidParameter(f"The request body needs {key!r} as a non-empty string.")
    return value


class ModelsRouteHandler(BaseRouteHandler):
    """``GET models``: every registered model."""

    @tornado.web.authenticated
    @translate_errors
    def get(self) -> None:
        """Answer ``{"models": [...]}``."""
        models = self.client.search_registered_models()
        self.reply({"models": [m.to_dict() for m in models]})


class ModelVersionsRouteHandler(BaseRouteHandler):
    """``GET models/<name>/versions``: the versions of one model, oldest first."""

    @tornado.web.authenticated
    @translate_errors
    def get(self, name: str) -> None:
        """Answer ``{"versions": [...]}``; 404 for an unknown model."""
        self.client.get_registered_model(name)
        versions = [mv for mv in self.client.search_model_versions() if mv.name == name]
        versions.sort(key=lambda mv: int(mv.version) if mv.version.isdigit() else 0)
        self.reply({"versions": [mv.to_dict() for mv in versions]})


class ModelEventsRouteHandler(BaseRouteHandler):
    """``GET models/<name>/events``: the model's audit trail, newest last."""

    @tornado.web.authenticated
    @translate_errors
    def get(self, name: str) -> None:
        """Answer ``{"events": [...]}``; 404 for an unknown model."""
        self.client.get_registered_model(name)
        self.reply({"events": [e.to_dict() for e in self.client.get_model_version_events(name)]})


class StageRouteHandler(BaseRouteHandler):
    """``POST models/<name>/versions/<version>/stage``: move a version to a stage."""

    @tornado.web.authenticated
    @translate_errors
    def post(self, name: str, version: str) -> None:
        """Body ``{"stage", "archive_existing_versions"}``; answer ``{"version": ...}``."""
        data = self.body_json()
        stage = _text(data, "stage")
        archive = data.get("archive_existing_versions", False)
        if not isinstance(archive, bool):
            raise InvalidParameter("'archive_existing_versions' must be true or false.")
        mv = self.client.transition_model_version_stage(name, version, stage, archive_existing_versions=archive)
        self.reply({"version": mv.to_dict()})


class AliasesRouteHandler(BaseRouteHandler):
    """``POST models/<name>/aliases``: point an alias at a version."""

    @tornado.web.authenticated
    @translate_errors
    def post(self, name: str) -> None:
        """Body ``{"alias", "version"}``; answer ``{"model": ...}``."""
        data = self.body_json()
        self.client.set_registered_model_alias(name, _text(data, "alias"), _text(data, "version"))
        self.reply({"model": self.client.get_registered_model(name).to_dict()})


class AliasRouteHandler(BaseRouteHandler):
    """``DELETE models/<name>/aliases/<alias>``: remove an alias."""

    @tornado.web.authenticated
    @translate_errors
    def delete(self, name: str, alias: str) -> None:
        """Answer ``{"model": ...}``."""
        self.client.delete_registered_model_alias(name, alias)
        self.reply({"model": self.client.get_registered_model(name).to_dict()})


def registry_routes() -> list[tuple[str, type[BaseRouteHandler]]]:
    """Return ``(pattern, handler)`` pairs relative to ``nbtrack/api``."""
    model = r"/models/(?P<name>[^/]+)"
    return [
        ("/models", ModelsRouteHandler),
        (model + "/versions", ModelVersionsRouteHandler),
        (model + "/events", ModelEventsRouteHandler),
        (model + r"/versions/(?P<version>[^/]+)/stage", StageRouteHandler),
        (model + "/aliases", AliasesRouteHandler),
        (model + r"/aliases/(?P<alias>[^/]+)", AliasRouteHandler),
    ]
