"""Pages of search results, as MLflow's client returns them: a :class:`~nbtrack.entities.PagedList` and a token.

The token is opaque to callers; here it is the base64 of ``{"offset": n}``, the position of the next page's first
item in the full, ordered result.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import TypeVar

from nbtrack.entities import PagedList
from nbtrack.errors import InvalidParameter

T = TypeVar("T")


def offset_of(page_token: str | bytes | None) -> int:
    """The offset a page token stands for (0 without a token).

    Raises
    ------
    InvalidParameter
        The token was not made by a search of this client.
    """
    if page_token in (None, "", b""):
        return 0
    try:
        raw = page_token if isinstance(page_token, bytes) else str(page_token).encode()
        offset = json.loads(base64.b64decode(raw, validate=True))["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidParameter(f"Invalid page token {page_token!r}: pass the .token of a previous page.") from None
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameter(f"Invalid page token {page_token!r}: pass the .token of a previous page.")
    return offset


def token_for(offset: int) -> str:
    """The page token of the page that starts at ``offset``."""
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def page(items: Sequence[T], max_results: int | None, offset: int) -> PagedList[T]:
    """The page of ``items`` (the whole ordered result) that starts at ``offset``.

    ``token`` is set when more items follow the page.
    """
    if max_results is None:
        return PagedList(list(items[offset:]), None)
    end = offset + max_results
    return PagedList(list(items[offset:end]), token_for(end) if len(items) > end else None)
