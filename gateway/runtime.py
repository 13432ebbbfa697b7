"""How a gateway process tunes the interpreter before it works.

Standard library only: the command line applies it before it knows which command runs, and
importing it must cost nothing (`gateway --help` loads no command).
"""

from __future__ import annotations

import gc
import math
import os
import sys

# Young objects allocated between collections of the youngest generation (CPython's default is
# 700). Parsing and reconciling a batch allocates hundreds of thousands of short-lived objects;
# at the default the collector ran so often that it took a fifth of end-to-end ingest time
# (`gateway bench reconcile`, same run: 1.9 -> 1.4 ms per message), while pydifact's baseline
# moved within noise. The cost is a few megabytes more garbage between collections.
YOUNG_OBJECTS_PER_COLLECTION = 20_000


def tune_garbage_collector() -> None:
    """For a process that runs the gateway's work (called by the CLI entry point, never at
    import): the objects that exist so far (modules, SQLAlchemy's metadata when loaded) are
    moved out of the collector's view, and the youngest generation collects less often."""
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_PER_COLLECTION, 20, 20)


# How long a thread may hold the interpreter lock before another that waits for it gets it
# (CPython's default is 5 ms). See `share_interpreter_with_intake`.
SWITCH_INTERVAL_WITH_INTAKE = 0.001


def share_interpreter_with_intake() -> None:
    """For a process whose channel's event loop shares the interpreter with an in-process
    worker (`gateway smtp`, `gateway imap` and `gateway run` without a broker): while the
    worker parses, the event loop waited up to the whole switch interval each time it needed
    the interpreter back — every command, every piece of data, every 250 — so one message's
    dialogue could wait tens of milliseconds behind a parse. A shorter interval bounds each
    wait; the worker loses a little to the extra switches."""
    sys.setswitchinterval(SWITCH_INTERVAL_WITH_INTAKE)


# cgroup v2's CPU limit of the process's group (cpu.max: "<quota> <period>" in microseconds, or
# "max <period>" without a limit): a container given 2 CPUs of a 64-core host sees all 64 in
# `os.sched_getaffinity` but may use only 2.
CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def cpus_of_quota(cpu_max: str) -> int | None:
    """The whole CPUs a cgroup v2 `cpu.max` text allows (rounded up, at least 1); None without
    a limit or for a text that is not one."""
    quota, _, period = cpu_max.strip().partition(" ")
    if not (quota.isdigit() and period.isdigit() and int(period) > 0):
        return None
    return max(1, math.ceil(int(quota) / int(period)))


def usable_cpus(cpu_max: str = CGROUP_CPU_MAX) -> int:
    """The CPUs this process may run on (its affinity), fewer when its cgroup's quota allows
    fewer: `gateway web`'s default number of worker processes."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    try:
        with open(cpu_max, encoding="ascii") as limit:
            quota = cpus_of_quota(limit.read())
    except OSError:
        quota = None
    return max(1, min(cpus, quota) if quota else cpus)
