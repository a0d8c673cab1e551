"""Automatic logging of scikit-learn fits; the public entry points live in :mod:`nbtrack.sklearn`."""

from __future__ import annotations
