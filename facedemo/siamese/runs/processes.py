"""Which process is a run's: a pid, and on Linux the time that process started.

A pid alone is not enough: after a reboot the system may have given the run's pid
to another process. With the start time (from /proc) that process is not taken
for the run's; where the system does not tell, the pid is trusted.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Field 22 of /proc/<pid>/stat, counted from 1: when the process started.
START_TIME_FIELD = 22


def _proc_stat(pid: int) -> list[str] | None:
    """Fields 3 and on of /proc/<pid>/stat (after the command name), or None off Linux."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()


def process_start_time(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (Linux); None where unknown."""
    stat = _proc_stat(pid)
    return int(stat[START_TIME_FIELD - 3]) if stat else None


def is_alive(pid: int, start_time: int | None = None) -> bool:
    """Whether process ``pid`` exists, has not ended (a zombie has ended) and, when
    ``start_time`` is given and the system tells, is the process that started then."""
    if pid < 1:  # 0 and negative pids name process groups, never one process
        return False
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        pass
    stat = _proc_stat(pid)
    if stat is None:
        return True
    if start_time is not None and int(stat[START_TIME_FIELD - 3]) != start_time:
        return False  # the pid now belongs to another process
    return stat[0] != "Z"
