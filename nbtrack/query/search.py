"""Filters and orderings of ``search_runs``, ``search_experiments`` and the registry searches.

The grammar is MLflow's (``metrics.acc > 0.9 and params.model = 'rf'``) plus ``OR`` and parentheses; see
:mod:`nbtrack.query.parser`. This module says what each key means for each kind of document.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from nbtrack._json import decode_float as metric_float
from nbtrack.entities import Tags
from nbtrack.errors import InvalidParameter
from nbtrack.query.parser import (
    EQUALITY,
    MEMBERSHIP,
    NULLNESS,
    NUMBER,
    ORDERING,
    PATTERN,
    STRING,
    Field,
    Parser,
    Predicate,
    Schema,
    Source,
    Token,
    parse_order_clause,
)

__all__ = [
    "compile_experiment_filter",
    "compile_model_version_filter",
    "compile_registered_model_filter",
    "compile_run_filter",
    "sort_experiments",
    "sort_model_versions",
    "sort_registered_models",
    "sort_runs",
]

STRING_COMPARATORS = EQUALITY | PATTERN | MEMBERSHIP
KEY_VALUE_COMPARATORS = EQUALITY | PATTERN | MEMBERSHIP | NULLNESS
METRIC_COMPARATORS = ORDERING | NULLNESS

_ENTITIES = {
    "metric": "metrics",
    "metrics": "metrics",
    "param": "params",
    "params": "params",
    "parameter": "params",
    "parameters": "params",
    "tag": "tags",
    "tags": "tags",
    "attribute": "attributes",
    "attributes": "attributes",
    "attr": "attributes",
    "run": "attributes",
    "dataset": "datasets",
    "datasets": "datasets",
}

FieldMaker = Callable[[str, Token, Source], Field]


def _schema(attributes: dict[str, str], aliases: dict[str, str], entities: dict[str, FieldMaker]) -> Schema:
    """A schema: bare keys and ``attributes.<name>`` come from ``attributes``, the rest from ``entities``."""

    def attribute(key: str, token: Token, src: Source) -> Field:
        name = aliases.get(key.lower(), key)
        kind = attributes.get(name)
        if kind is None:
            known = ", ".join(attributes)
            raise src.error(token.pos, f"unknown attribute {key!r}; use one of: {known}")
        if kind == NUMBER:
            return Field(f"attributes.{name}", kind, lambda doc: _number(doc.get(name)), ORDERING)
        return Field(f"attributes.{name}", kind, lambda doc: doc.get(name), STRING_COMPARATORS)

    makers = {"attributes": attribute, **entities}

    def resolve(entity: str | None, key: str, token: Token, src: Source) -> Field:
        canonical = "attributes" if entity is None else _ENTITIES.get(entity.lower())
        maker = makers.get(canonical) if canonical else None
        if maker is None:
            prefixes = ", ".join(f"{name}." for name in makers)
            raise src.error(
                token.pos, f"unknown entity {entity!r} in {token.text!r}; use {prefixes} or a bare attribute"
            )
        return maker(key, token, src)

    return resolve


def _number(value: Any) -> Any:
    """Numbers stored as text (model versions) compare as numbers."""
    if value.__class__ is str:
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _key_value(entity: str) -> FieldMaker:
    """Keys of a string dict such as ``params`` or ``tags``."""

    def make(key: str, token: Token, src: Source) -> Field:
        return Field(f"{entity}.{key}", STRING, lambda doc: doc[entity].get(key), KEY_VALUE_COMPARATORS)

    return make


def _metric(key: str, token: Token, src: Source) -> Field:
    def get(doc: dict[str, Any]) -> Any:
        value = doc["metrics"].get(key)
        return metric_float(value) if value.__class__ is str else value

    return Field(f"metrics.{key}", NUMBER, get, METRIC_COMPARATORS)


def _run_tag(key: str, token: Token, src: Source) -> Field:
    if key != Tags.RUN_NAME:
        return _key_value("tags")(key, token, src)
    # the run name lives in the run_name attribute too; either spelling finds it
    return Field(
        "tags.mlflow.runName",
        STRING,
        lambda doc: doc["tags"].get(key) or doc.get("run_name") or None,
        KEY_VALUE_COMPARATORS,
    )


_DATASET_KEYS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "name": lambda i: i["dataset"].get("name"),
    "digest": lambda i: i["dataset"].get("digest"),
    "context": lambda i: (i.get("tags") or {}).get(Tags.DATASET_CONTEXT),
}


def _dataset(key: str, token: Token, src: Source) -> Field:
    read = _DATASET_KEYS.get(key)
    if read is None:
        raise src.error(
            token.pos, f"unknown dataset key {key!r}; use datasets.name, datasets.digest or datasets.context"
        )
    return Field(
        f"datasets.{key}", STRING, lambda doc: [read(i) for i in doc.get("inputs", ())], STRING_COMPARATORS, True
    )


_RUN_SCHEMA = _schema(
    {
        "run_id": STRING,
        "run_name": STRING,
        "status": STRING,
        "user_id": STRING,
        "artifact_uri": STRING,
        "lifecycle_stage": STRING,
        "start_time": NUMBER,
        "end_time": NUMBER,
    },
    {"run name": "run_name", "created": "start_time"},
    {"metrics": _metric, "params": _key_value("params"), "tags": _run_tag, "datasets": _dataset},
)
_EXPERIMENT_SCHEMA = _schema(
    {"name": STRING, "experiment_id": STRING, "creation_time": NUMBER, "last_update_time": NUMBER},
    {},
    {"tags": _key_value("tags")},
)
_MODEL_VERSION_SCHEMA = _schema(
    {
        "name": STRING,
        "version": NUMBER,
        "run_id": STRING,
        "source": STRING,
        "current_stage": STRING,
        "status": STRING,
        "user_id": STRING,
        "creation_timestamp": NUMBER,
        "last_updated_timestamp": NUMBER,
    },
    {"version_number": "version", "source_path": "source"},
    {"tags": _key_value("tags")},
)
_REGISTERED_MODEL_SCHEMA = _schema(
    {"name": STRING, "creation_timestamp": NUMBER, "last_updated_timestamp": NUMBER},
    {},
    {"tags": _key_value("tags")},
)


def _compile(filter_string: str | None, schema: Schema) -> Predicate | None:
    if filter_string is None:
        return None
    if not isinstance(filter_string, str):
        raise InvalidParameter(f"filter_string must be a string, got {type(filter_string).__name__}.")
    if not filter_string.strip():
        return None
    return Parser(Source(filter_string), schema).parse()


def compile_run_filter(filter_string: str | None) -> Predicate | None:
    """Compile a ``search_runs`` filter into a predicate over run documents.

    Parameters
    ----------
    filter_string : str or None
        MLflow's filter grammar (``metrics.acc > 0.9 and params.model = 'rf'``, ``tags.t LIKE 'a%'``,
        ``attributes.status IN ('FINISHED', 'FAILED')``, ``datasets.digest = '...'``) plus ``OR`` and
        parentheses; ``AND`` binds tighter than ``OR``.

    Returns
    -------
    callable or None
        ``predicate(doc) -> bool``; ``None`` when the filter is empty (everything matches).

    Raises
    ------
    InvalidParameter
        The filter does not parse; the message quotes it and points at the offending token.
    """
    return _compile(filter_string, _RUN_SCHEMA)


def compile_experiment_filter(filter_string: str | None) -> Predicate | None:
    """Compile a ``search_experiments`` filter into a predicate over ``Experiment.to_dict()``.

    Parameters
    ----------
    filter_string : str or None
        Over ``name``, ``experiment_id`` (strings), ``creation_time``, ``last_update_time`` (numbers) and
        ``tags.<key>``, e.g. ``name LIKE 'churn%' OR tags.team = 'ml'``.

    Returns
    -------
    callable or None
        ``predicate(experiment_dict) -> bool``; ``None`` when the filter is empty.

    Raises
    ------
    InvalidParameter
        The filter does not parse.
    """
    return _compile(filter_string, _EXPERIMENT_SCHEMA)


def compile_model_version_filter(filter_string: str | None) -> Predicate | None:
    """Compile a ``search_model_versions`` filter into a predicate over ``ModelVersion.to_dict()``.

    Parameters
    ----------
    filter_string : str or None
        Over ``name``, ``run_id``, ``source``, ``current_stage``, ``status`` (strings), ``version``
        (compared as a number), ``tags.<key>``; MLflow's ``version_number`` and ``source_path`` work too.
        E.g. ``name = 'churn' AND version >= 3`` or ``run_id IN ('a1', 'b2')``.

    Returns
    -------
    callable or None
        ``predicate(version_dict) -> bool``; ``None`` when the filter is empty.

    Raises
    ------
    InvalidParameter
        The filter does not parse.
    """
    return _compile(filter_string, _MODEL_VERSION_SCHEMA)


def compile_registered_model_filter(filter_string: str | None) -> Predicate | None:
    """Compile a ``search_registered_models`` filter into a predicate over ``RegisteredModel.to_dict()``.

    Parameters
    ----------
    filter_string : str or None
        Over ``name`` (``=``, ``!=``, ``LIKE``, ``ILIKE``, ``IN``) and ``tags.<key>``,
        e.g. ``name LIKE 'churn%'``.

    Returns
    -------
    callable or None
        ``predicate(model_dict) -> bool``; ``None`` when the filter is empty.

    Raises
    ------
    InvalidParameter
        The filter does not parse.
    """
    return _compile(filter_string, _REGISTERED_MODEL_SCHEMA)


OrderKey = tuple[Field, bool]


def _order_keys(order_by: Sequence[str] | str | None, schema: Schema) -> list[OrderKey]:
    if order_by is None:
        return []
    clauses: Iterable[Any] = [order_by] if isinstance(order_by, str) else order_by
    keys = []
    for clause in clauses:
        field, ascending = parse_order_clause(clause, schema)
        if field.many:
            raise InvalidParameter(f"Invalid order_by clause {clause!r}: {field.label} cannot be ordered by.")
        keys.append((field, ascending))
    return keys


def _with_ties(keys: list[OrderKey], schema: Schema, ties: Sequence[str]) -> list[OrderKey]:
    """Append the tie-break clauses whose keys the caller did not order by already."""
    labels = {field.label for field, _ in keys}
    extra = [parse_order_clause(clause, schema) for clause in ties]
    return keys + [(field, asc) for field, asc in extra if field.label not in labels]


def _sorted(items: Sequence[Any], docs: Sequence[dict[str, Any]], keys: list[OrderKey]) -> list[Any]:
    """Order ``items`` by ``keys`` read from the matching ``docs``; missing values and NaN go last either way."""
    order = list(range(len(items)))
    for field, ascending in reversed(keys):
        get, numeric = field.get, field.kind == NUMBER
        values = [get(doc) for doc in docs]
        if field.label.endswith(".experiment_id"):
            values = [int(v) if isinstance(v, str) and v.isdigit() else v for v in values]
        if numeric:
            values = [v if v == v else None for v in values]  # NaN sorts with the missing values
        present = [i for i in order if values[i] is not None]
        missing = [i for i in order if values[i] is None]
        present.sort(key=values.__getitem__, reverse=not ascending)
        order = present + missing
    return [items[i] for i in order]


def _as_dict(item: Any) -> dict[str, Any]:
    return item if isinstance(item, dict) else dict(item.to_dict())


def sort_runs(docs: list[dict[str, Any]], order_by: Sequence[str] | None) -> list[dict[str, Any]]:
    """Order run documents as MLflow does.

    Parameters
    ----------
    docs : list of dict
        Run documents.
    order_by : list of str or None
        Clauses ``<key> [ASC|DESC]`` (default ASC) over ``metrics.*``, ``params.*``, ``tags.*`` and
        attributes (``attributes.start_time`` or bare ``start_time``). Missing values and NaN come last
        whichever the direction; ties go to ``start_time DESC`` then ``run_id``.

    Returns
    -------
    list of dict
        A new, sorted list.

    Raises
    ------
    InvalidParameter
        A clause does not parse; the message names it.
    """
    keys = _with_ties(_order_keys(order_by, _RUN_SCHEMA), _RUN_SCHEMA, ("start_time DESC", "run_id"))
    return _sorted(docs, docs, keys)


def sort_experiments(experiments: list[Any], order_by: Sequence[str] | None) -> list[Any]:
    """Order experiments by ``name``, ``experiment_id``, ``creation_time`` or ``last_update_time``.

    Parameters
    ----------
    experiments : list of Experiment
        What to sort.
    order_by : list of str or None
        Clauses ``<key> [ASC|DESC]``; ties go to ``experiment_id`` ascending (compared as numbers).

    Returns
    -------
    list of Experiment
        A new, sorted list.

    Raises
    ------
    InvalidParameter
        A clause does not parse.
    """
    keys = _with_ties(_order_keys(order_by, _EXPERIMENT_SCHEMA), _EXPERIMENT_SCHEMA, ("experiment_id",))
    return _sorted(experiments, [_as_dict(e) for e in experiments], keys)


def sort_registered_models(models: list[Any], order_by: Sequence[str] | None) -> list[Any]:
    """Order registered models (objects with ``to_dict()`` or dicts); default and ties: ``name`` ascending.

    Parameters
    ----------
    models : list
        What to sort.
    order_by : list of str or None
        Clauses over ``name``, ``creation_timestamp``, ``last_updated_timestamp``, ``tags.*``.

    Returns
    -------
    list
        A new, sorted list.

    Raises
    ------
    InvalidParameter
        A clause does not parse.
    """
    schema = _REGISTERED_MODEL_SCHEMA
    keys = _with_ties(_order_keys(order_by, schema), schema, ("name",))
    return _sorted(models, [_as_dict(m) for m in models], keys)


def sort_model_versions(versions: list[Any], order_by: Sequence[str] | None) -> list[Any]:
    """Order model versions; default and ties: ``name`` ascending, then ``version`` descending.

    Parameters
    ----------
    versions : list
        ModelVersion objects (or their dicts).
    order_by : list of str or None
        Clauses over any model-version key, e.g. ``['version DESC']`` or ``['last_updated_timestamp']``.

    Returns
    -------
    list
        A new, sorted list.

    Raises
    ------
    InvalidParameter
        A clause does not parse.
    """
    schema = _MODEL_VERSION_SCHEMA
    keys = _with_ties(_order_keys(order_by, schema), schema, ("name", "version DESC"))
    return _sorted(versions, [_as_dict(v) for v in versions], keys)
