"""Live refresh: an asyncio task on the kernel's event loop that polls the store's change token.

The token (``store.version()``) costs a couple of ``stat`` calls. The task sleeps between polls
(``min_interval``, growing by half up to ``max_interval`` while nothing changes), so it never
blocks the kernel, and stops as soon as its widget is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop (a kernel's), or ``None`` outside one."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython ships with ipywidgets
        return None
    kernel = getattr(shell, "kernel", None)
    if kernel is None:
        return None
    loop = getattr(getattr(kernel, "io_loop", None), "asyncio_loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running():
        return loop
    with contextlib.suppress(RuntimeError):
        with contextlib.suppress(DeprecationWarning):
            loop = asyncio.get_event_loop_policy().get_event_loop()
        if isinstance(loop, asyncio.AbstractEventLoop) and loop.is_running():
            return loop
    return None


def widget_alive(widget: Any) -> bool:
    """Whether a widget is still open: not closed in Python, its comm not closed by the front end."""
    comm = getattr(widget, "comm", None)
    return comm is not None and not getattr(comm, "_closed", False)


class StorePoller:
    """Calls ``on_change`` when the store's version token changes, while ``alive()`` holds.

    Parameters
    ----------
    version : callable
        Returns the store's change token.
    on_change : callable
        Called (on the event loop) after the token changed.
    alive : callable
        Returns ``False`` once the owning widget is closed; the task then ends.
    min_interval, max_interval : float
        Seconds between polls: back to ``min_interval`` after a change, growing while idle.
    settled : callable, optional
        Returns the token that ``on_change`` brought the widget up to.
    """

    def __init__(
        self,
        version: Callable[[], Any],
        on_change: Callable[[], None],
        alive: Callable[[], bool],
        min_interval: float = 0.5,
        max_interval: float = 5.0,
        settled: Callable[[], Any] | None = None,
    ) -> None:
        self._version = version
        self._on_change = on_change
        self._alive = alive
        self._settled = settled
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.interval = min_interval
        self.task: asyncio.Task[None] | None = None
        self.last = version()
        self.polls = 0
        self.stopped = False

    def poll(self) -> bool:
        """Check the token once; call ``on_change`` and return ``True`` if it changed."""
        if self.stopped or not self._alive():
            self.stop()
            return False
        self.polls += 1
        current = self._version()
        if current == self.last:
            self.interval = min(self.max_interval, self.interval * 1.5)
            return False
        self.last = current
        self.interval = self.min_interval
        self._on_change()
        if self._settled is not None:  # the token of what was just read (its shape may have changed)
            self.last = self._settled()
        return True

    async def run(self) -> None:
        """Poll until stopped (the coroutine the task runs)."""
        while not self.stopped:
            await asyncio.sleep(self.interval)
            try:
                self.poll()
            except Exception:  # keep polling after a transient store error
                logger.exception("nbtrack: refreshing a widget failed")
                self.interval = self.max_interval

    def start(self, loop: asyncio.AbstractEventLoop | None = None) -> bool:
        """Start polling on ``loop`` (default: the kernel's); return whether a task was started."""
        loop = loop or _kernel_loop()
        if loop is None or self.stopped:
            return False
        if loop.is_running() and _running_in(loop):
            self.task = loop.create_task(self.run())
        else:
            self.task = asyncio.run_coroutine_threadsafe(self.run(), loop)  # type: ignore[assignment]
        return True

    def stop(self) -> None:
        """Stop polling (idempotent)."""
        self.stopped = True
        task, self.task = self.task, None
        if task is not None and not task.done():
            task.cancel()

    @property
    def running(self) -> bool:
        """Whether the polling task is alive."""
        return self.task is not None and not self.task.done() and not self.stopped


def _running_in(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
