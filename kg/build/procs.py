"""The processes a build starts: each dies with the build, and none prints a traceback on Ctrl-C;
and the signals a build holds back while a step must not be cut short (forking, switching OUTDIR).

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
import threading
from collections.abc import Iterable, Iterator
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


def stop_pool(pool: Any, graceful: bool = False) -> None:
    """Stop a ProcessPoolExecutor now: queued work is dropped and busy workers are terminated (an
    interrupted build does not wait for the article a worker is parsing).

    ``graceful`` (a build that failed, not one interrupted): queued work is dropped and the tasks
    running are let finish, so that no worker is killed while it writes its result: half a message
    in the result pipe leaves the pool's thread waiting for the rest, and the interpreter's exit
    waiting for that thread, without end.
    """
    if graceful:
        pool.shutdown(wait=True, cancel_futures=True)
        return
    workers = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    stop(workers)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends, then act on them as usual (KeyboardInterrupt).

    Python runs signal handlers in the main thread only, so recording the signal there is safe even
    when a native thread (the model's) receives it from the kernel.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {s: signal.getsignal(s) for s in sigs}
    for s in sigs:
        if old[s] is not signal.SIG_IGN:  # a signal this process was told to ignore stays ignored
            signal.signal(s, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if received:
            raise KeyboardInterrupt
