"""Inside the fresh kernel of :func:`nbtrack.reproduce`: only the slice's last cell may log runs.

The cells before it rebuild the state the run's cell needed; the runs they made
in the original session (earlier ``%%track`` cells, autologged fits) are not
what is being reproduced, so autolog is suspended while they run, and a run one
of them leaves active (``nbtrack.log_metric`` outside any run starts one) is
ended after it, so that the last cell starts its own run as it did originally.
"""

from __future__ import annotations

from typing import Any

from nbtrack.autolog.state import state
from nbtrack.tracking import fluent


class _Guard:
    def __init__(self, shell: Any, final_count: int) -> None:
        self.shell = shell
        self.final_count = final_count
        self.active = False
        self.count = 1  # the cell registering the guard is the replay's first

    def pre_run_cell(self, info: Any) -> None:
        if not getattr(info, "store_history", False):
            return
        self.count += 1  # counted here: IPython's own counter moves at a different point of the cell
        if self.count != self.final_count:
            state.suspended += 1
            self.active = True

    def post_run_cell(self, result: Any) -> None:
        if self.active:
            state.suspended -= 1
            self.active = False
            while fluent.active_run() is not None:
                fluent.end_run()


def only_last_cell_logs(shell: Any, final_count: int) -> None:
    """Suspend autolog in every cell of ``shell`` except ``In[final_count]``.

    Parameters
    ----------
    shell : InteractiveShell
        The replay kernel's shell.
    final_count : int
        The execution count the slice's last cell will run as (the calling cell is ``In[1]``).
    """
    guard = _Guard(shell, final_count)
    shell.events.register("pre_run_cell", guard.pre_run_cell)
    shell.events.register("post_run_cell", guard.post_run_cell)
