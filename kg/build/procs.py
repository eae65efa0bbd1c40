"""The processes a build starts: each dies with the build, and none prints a traceback on Ctrl-C.

A worker (a parse worker, a SHACL share, the RDF writer) calls :func:`child_setup` first: the
kernel then kills it when the build's process dies, however it dies (``kill -9`` included), and it
ignores SIGINT, which a terminal sends to the whole process group: the build itself stops its
workers (:func:`stop`) and says once that it was interrupted.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
from collections.abc import Iterable
from typing import Any

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def die_with_parent(parent_pid: int) -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux: prctl PR_SET_PDEATHSIG).

    The parent may have died between the fork and this call; then this process ends at once.
    Elsewhere than Linux it does nothing (the workers then end when they find their pipes closed).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(1)


def child_setup(parent_pid: int) -> None:
    """What every process a build forks does first: die with the build, leave SIGINT to it, and end
    quietly on SIGTERM (the default action, not the build's handler it inherited)."""
    die_with_parent(parent_pid)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def stop(processes: Iterable[Any]) -> None:
    """Terminate and reap ``multiprocessing`` processes that are still running."""
    procs = list(processes)
    for p in procs:
        with contextlib.suppress(Exception):
            if p.is_alive():
                p.terminate()
    for p in procs:
        with contextlib.suppress(Exception):
            p.join(5)
            if p.is_alive():
                p.kill()
                p.join()


def stop_pool(pool: Any) -> None:
    """Stop a ProcessPoolExecutor now: queued work is dropped and busy workers are terminated (an
    interrupted build does not wait for the article a worker is parsing)."""
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    stop(workers)
