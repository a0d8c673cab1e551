"""The sidebar's ``tokens.ts`` mirrors ``entities.py`` field for field, with the same statuses, stages and tag keys."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from nbtrack import entities

TOKENS = (Path(__file__).resolve().parents[1] / "labextension" / "src" / "tokens.ts").read_text(encoding="utf-8")

MIRRORS = {
    "IExperiment": entities.Experiment,
    "IRunInfo": entities.RunInfo,
    "IDataset": entities.Dataset,
    "IMetric": entities.Metric,
    "IFileInfo": entities.FileInfo,
    "IModelVersion": entities.ModelVersion,
    "IRegisteredModel": entities.RegisteredModel,
    "IRegistryEvent": entities.RegistryEvent,
}


def _interface_fields(name: str) -> list[str]:
    match = re.search(r"export interface " + name + r" \{(.*?)\n  \}", TOKENS, re.S)
    assert match, f"{name} is not in tokens.ts"
    body = re.sub(r"/\*.*?\*/", "", match.group(1), flags=re.S)
    return re.findall(r"^\s{4}(\w+)\??:", body, re.M)


def _union(name: str) -> set[str]:
    match = re.search(r"export type " + name + r" = ([^;]+);", TOKENS)
    assert match, f"type {name} is not in tokens.ts"
    return set(re.findall(r"'([^']*)'", match.group(1)))


@pytest.mark.parametrize("interface", sorted(MIRRORS))
def test_interface_has_exactly_the_entity_fields(interface: str) -> None:
    expected = [f.name for f in dataclasses.fields(MIRRORS[interface])]
    assert _interface_fields(interface) == expected


def test_statuses_and_stages_are_literal_unions_of_the_python_values() -> None:
    assert _union("RunStatus") == set(entities.RunStatus.ALL)
    assert _union("Stage") == set(entities.ModelVersionStage.ALL)
    assert _union("LifecycleStage") == {entities.LifecycleStage.ACTIVE, entities.LifecycleStage.DELETED}
    assert re.search(r"status: RunStatus;", TOKENS) and re.search(r"current_stage: Stage;", TOKENS)


def test_tag_keys_match_entities_tags() -> None:
    block = re.search(r"export const Tags = \{(.*?)\} as const;", TOKENS, re.S)
    assert block
    pairs = re.findall(r"(\w+): '([^']+)'", block.group(1))
    assert pairs
    for name, key in pairs:
        assert getattr(entities.Tags, name) == key, name
