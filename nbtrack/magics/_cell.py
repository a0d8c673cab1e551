"""Running a cell's code exactly as IPython runs a cell, and observing what it did.

``%%track`` must not change what the user sees: the body is transformed,
compiled under the cell's own name and execution count, and executed with
``InteractiveShell.run_ast_nodes`` into the very ``ExecutionResult`` of the
``%%track`` cell. Tracebacks therefore start at the user's code (the frames of
the magic sit above the point where IPython catches the exception, so they are
never shown), ``Out[N]`` and ``_`` behave as usual, and the kernel reports the
cell as failed when the body raised.
"""

from __future__ import annotations

import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

# Names IPython itself keeps in the user namespace.
_IGNORED_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython"})
_MAX_VARIABLES = 200


class PreparedCell:
    """A cell body after IPython's input transformations (magics, ``!shell``, ...)."""

    __slots__ = ("code", "error", "raw")

    def __init__(self, raw: str, code: str, error: BaseException | None) -> None:
        self.raw = raw
        self.code = code
        self.error = error


def prepare(shell: Any, raw: str) -> PreparedCell:
    """Apply IPython's input transformations to ``raw``; remember a failure instead of raising."""
    try:
        return PreparedCell(raw, shell.transform_cell(raw), None)
    except Exception as exc:
        return PreparedCell(raw, raw, exc)


def needs_event_loop(shell: Any, prepared: PreparedCell) -> bool:
    """Whether the body uses top-level ``await`` (which needs the kernel's event loop)."""
    if prepared.error is not None:
        return False
    try:
        return bool(shell.should_run_async(prepared.raw, transformed_cell=prepared.code, preprocessing_exc_tuple=None))
    except Exception:
        return False


def _drive(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a coroutine that never suspends (IPython's synchronous cell path)."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("The cell needed an event loop; %%track runs cells without top-level await.")


def execute(shell: Any, prepared: PreparedCell, result: Any, execution_count: int) -> BaseException | None:
    """Run a prepared body in the user namespace, the way ``run_cell`` would.

    Parameters
    ----------
    shell : InteractiveShell
        The running shell.
    prepared : PreparedCell
        Output of :func:`prepare`.
    result : ExecutionResult
        Receives ``error_in_exec`` / ``error_before_exec`` and the displayed value.
    execution_count : int
        Names the compiled code (``Cell In[N]`` in tracebacks).

    Returns
    -------
    BaseException or None
        The exception the body raised (already shown to the user), if any.
    """
    from IPython.core.error import InputRejected

    if prepared.error is not None:
        shell.showtraceback((type(prepared.error), prepared.error, prepared.error.__traceback__))
        result.error_before_exec = prepared.error
        return prepared.error
    compiler = shell.compile
    with shell.builtin_trap:
        cell_name = compiler.cache(prepared.code, execution_count, raw_code=prepared.raw)
        with shell.display_trap:
            try:
                tree = compiler.ast_parse(prepared.code, filename=cell_name)
            except shell.custom_exceptions:
                etype, value, tb = sys.exc_info()
                shell.CustomTB(etype, value, tb)
                result.error_before_exec = value
                return value
            except IndentationError as exc:
                shell.showindentationerror()
                result.error_before_exec = exc
                return exc
            except (OverflowError, SyntaxError, ValueError, TypeError, MemoryError) as exc:
                shell.showsyntaxerror()
                result.error_before_exec = exc
                return exc
            try:
                tree = shell.transform_ast(tree)
            except InputRejected as exc:
                shell.showtraceback()
                result.error_before_exec = exc
                return exc
            _drive(
                shell.run_ast_nodes(
                    tree.body,
                    cell_name,
                    interactivity=shell.ast_node_interactivity,
                    compiler=compiler,
                    result=result,
                )
            )
    error = result.error_in_exec
    return error if isinstance(error, BaseException) else None


class StreamCounter:
    """Counts the bytes written to ``sys.stdout`` / ``sys.stderr`` while passing them through."""

    def __init__(self, shell: Any = None) -> None:
        self.shell = shell
        self.stdout: int | None = None
        self.stderr: int | None = None

    @contextmanager
    def counting(self) -> Iterator[StreamCounter]:
        """Tee both streams for the duration of the block."""
        restore = []
        shell = self.shell
        display_pub = getattr(shell, "display_pub", None)
        displayhook = getattr(shell, "displayhook", None)

        def from_ipython() -> bool:
            # Tracebacks, Out[N] and rich display are IPython's output, not the cell's.
            return bool(
                getattr(shell, "showing_traceback", False)
                or getattr(display_pub, "is_publishing", False)
                or getattr(displayhook, "is_active", False)
            )

        for channel in ("stdout", "stderr"):
            stream = getattr(sys, channel)
            original = stream.write
            counts = [0]

            def write(data: Any, *args: Any, _orig: Any = original, _counts: list[int] = counts, **kw: Any) -> Any:
                if from_ipython():
                    pass
                elif isinstance(data, str):
                    _counts[0] += len(data) if data.isascii() else len(data.encode("utf-8", "replace"))
                elif isinstance(data, (bytes, bytearray)):
                    _counts[0] += len(data)
                return _orig(data, *args, **kw)

            try:
                stream.write = write
            except (AttributeError, TypeError):  # a stream that cannot be patched is left alone
                continue
            restore.append((channel, stream, original, counts))
        try:
            yield self
        finally:
            for channel, stream, original, counts in restore:
                try:
                    stream.write = original
                except (AttributeError, TypeError):
                    pass
                setattr(self, channel, counts[0])


def snapshot(namespace: dict[str, Any]) -> dict[str, int]:
    """Identity of every value in the namespace, to find what a cell creates or rebinds."""
    return {name: id(value) for name, value in namespace.items()}


def _describe(name: str, value: Any) -> dict[str, Any]:
    kind = type(value)
    module = kind.__module__
    entry: dict[str, Any] = {
        "name": name,
        "type": kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}",
    }
    if isinstance(value, (list, tuple, dict, set, frozenset, str, bytes)):
        entry["len"] = len(value)
        return entry
    if isinstance(value, type) or kind.__name__ == "module":
        return entry
    try:
        shape = getattr(value, "shape", None)
        if isinstance(shape, tuple):
            entry["shape"] = [s if isinstance(s, int) else str(s) for s in shape]
    except Exception:
        pass
    return entry


def changed_variables(namespace: dict[str, Any], before: dict[str, int], hidden: Any) -> list[dict[str, Any]]:
    """Name, type and shape (never the value) of each variable created or rebound since ``before``."""
    out = []
    for name, value in list(namespace.items()):
        if name.startswith("_") or name in _IGNORED_NAMES or name in hidden:
            continue
        if before.get(name) == id(value):
            continue
        out.append(_describe(name, value))
        if len(out) >= _MAX_VARIABLES:
            break
    return out
