"""The article steps of a build on a Dask cluster: ``kg build … --scheduler ADDRESS``.

Each article is a Dask task, twice, as on one machine: first parsed and extracted
(:func:`kg.build.pipeline.extract_one`, which calls :func:`kg.build.chunks.extract_article`), then,
once the client has clustered the events of all the articles, mapped, validated and serialised
(:func:`kg.build.pipeline.map_article`). The results come back to the client as they finish
(``as_completed``); the client keeps the cache, runs the corpus step and writes OUTDIR, so the
outputs, the cache and the exit codes are those of a local build and the graph is byte-identical
to ``-j 1``. Workers receive the articles' text and send back records: they need the same kg
installed, not the inputs or OUTDIR.

Failures are Dask's to handle: a task whose worker dies is run again elsewhere (the scheduler's
``distributed.scheduler.allowed-failures``), a task that raises is tried again ``RETRIES`` times;
an article whose task fails on every try is listed as skipped, with the reason, like an unreadable
input. Each worker loads the ja_ginza model once, when it joins (:class:`ModelPlugin`).

``local:N`` starts a LocalCluster of N worker processes (one thread each) for the build.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from kg.errors import ClusterError

#: The environment variable that gives the scheduler when --scheduler is not given (Dask's own name).
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"
#: How many more times an article's task is tried after it raised (Dask's ``retries``).
RETRIES = 2
#: Tasks in flight per worker thread: enough to keep every worker busy, few enough that memory stays bounded.
IN_FLIGHT_PER_THREAD = 4
#: Seconds to wait for the scheduler when connecting.
CONNECT_TIMEOUT = 30
#: Seconds to wait for a first worker (a batch system may take a while to start them).
WORKERS_TIMEOUT = 600
#: The one address a cluster kg starts listens on: its scheduler, its workers, their nannies and the
#: scheduler's HTTP endpoint bind the loopback interface, on ports the system picks, and no dashboard
#: runs. (A Dask scheduler or worker runs what it is sent: reachable from the network, it would run
#: anybody's code. A real cluster is secured by Dask's TLS or reached through an SSH tunnel: README.)
LOCAL_HOST = "127.0.0.1"


def local_cluster_options(n_workers: int, scratch: str | None = None) -> dict[str, Any]:
    """The options of the LocalCluster of ``local:N``: everything on :data:`LOCAL_HOST`, no dashboard,
    the workers' scratch space in ``scratch`` (a folder the build removes) rather than in $TMPDIR."""
    options: dict[str, Any] = {
        "n_workers": n_workers, "threads_per_worker": 1, "processes": True, "host": LOCAL_HOST,
        "dashboard_address": f"{LOCAL_HOST}:0", "scheduler_kwargs": {"dashboard": False},
        "worker_dashboard_address": None, "silence_logs": logging.CRITICAL,  # a failed task is reported once
    }
    if scratch is not None:
        options["local_directory"] = scratch
    return options

T = TypeVar("T")
R = TypeVar("R")


def _model_plugin() -> Any:
    from distributed import WorkerPlugin

    class ModelPlugin(WorkerPlugin):
        """Loads the ja_ginza model once per worker, when it joins the cluster (and again in a worker
        that replaces one that died)."""

        name = "kg-ja-ginza"

        def setup(self, worker: Any) -> None:
            from kg.build.nlp import load_model

            load_model()

    return ModelPlugin()


def _quiet_plugin() -> Any:
    from distributed import WorkerPlugin

    class QuietInterrupt(WorkerPlugin):
        """Makes a worker of the build's own LocalCluster ignore SIGINT, which a terminal sends to the
        whole process group: the build answers Ctrl-C with one line and stops its cluster itself."""

        name = "kg-quiet-interrupt"

        def setup(self, worker: Any) -> None:
            import signal
            import threading

            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGINT, signal.SIG_IGN)

    return QuietInterrupt()


def _fingerprint() -> str:
    from kg.build.pipeline import extractor_fingerprint

    return extractor_fingerprint()


@contextlib.contextmanager
def connect(address: str, scratch: str | None = None) -> Iterator[Any]:
    """A Dask client of the scheduler at ``address``, or of a LocalCluster of N processes for
    ``local:N`` (their scratch space in ``scratch``); the workers have the model loaded and run the same
    extractor as this process."""
    try:
        from distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise ClusterError(f"--scheduler needs dask's distributed package: {exc}") from exc
    with contextlib.ExitStack() as stack:
        if address.startswith("local:"):
            n = address[len("local:"):]
            if not n.isdigit() or int(n) < 1:
                raise ClusterError(f"--scheduler {address}: local:N needs a number of workers N of 1 or more")
            from kg.build.procs import signals_deferred

            if scratch is not None:  # what Dask's scheduler and nannies write too goes there, not in $TMPDIR
                import dask

                stack.enter_context(dask.config.set({"temporary-directory": scratch}))
            with signals_deferred():  # a Ctrl-C while the workers start waits until they can be stopped
                cluster = stack.enter_context(LocalCluster(**local_cluster_options(int(n), scratch)))
            client = stack.enter_context(Client(cluster))
            client.register_plugin(_quiet_plugin())
        else:
            _probe(address)
            try:
                client = stack.enter_context(Client(address, timeout=CONNECT_TIMEOUT))
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(f"--scheduler {address}: cannot reach the Dask scheduler: {exc}") from exc
        try:
            client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError as exc:
            raise ClusterError(f"--scheduler {address}: no worker joined the scheduler in {WORKERS_TIMEOUT} s") from exc
        try:
            client.register_plugin(_model_plugin())
            theirs = client.run(_fingerprint)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0][:200]
            raise ClusterError(f"--scheduler {address}: the workers cannot run kg ({type(exc).__name__}: {first}); "
                               "install the same kg on every worker") from exc
        mine = _fingerprint()
        other = sorted(w for w, f in theirs.items() if f != mine)
        if other:
            raise ClusterError(f"--scheduler {address}: worker(s) {', '.join(other)} run another version of kg's "
                               "extractor (code or data); install the same kg on every worker")
        yield client


def _reachable(address: str) -> None:
    """ClusterError at once when nothing listens at a host:port address: Dask's client retries a refused
    connection until its timeout, which would then read as a server that said nothing."""
    import socket

    from distributed.comm.addressing import get_address_host_port

    try:
        host, port = get_address_host_port(address)
    except (ValueError, NotImplementedError):
        return  # an address without host and port (inproc://): Dask's own connect tells
    try:
        socket.create_connection((host, port), timeout=CONNECT_TIMEOUT).close()
    except OSError as exc:
        raise ClusterError(f"--scheduler {address}: cannot reach the Dask scheduler: {exc}") from exc


def _probe(address: str) -> None:
    """ClusterError unless a Dask server answers at ``address`` within CONNECT_TIMEOUT: Dask's client
    waits without end for a server that accepts the connection and says nothing (an HTTP server), and
    takes the first bytes of one that says something else for the length of a message (3 EiB)."""
    import asyncio

    import dask
    from distributed.comm import connect as comm_connect
    from distributed.security import Security

    async def hello() -> None:
        comm = await comm_connect(address, timeout=CONNECT_TIMEOUT,
                                  **Security().get_connection_args("client"))
        await comm.close()

    _reachable(address)
    with dask.config.set({"distributed.comm.timeouts.connect": CONNECT_TIMEOUT}):
        try:
            asyncio.run(asyncio.wait_for(hello(), CONNECT_TIMEOUT))
        except TimeoutError as exc:
            raise ClusterError(f"--scheduler {address}: no Dask scheduler answered in {CONNECT_TIMEOUT} s "
                               "(is it a Dask scheduler's address?)") from exc
        except OSError as exc:
            raise ClusterError(f"--scheduler {address}: cannot reach the Dask scheduler: {exc}") from exc
        except (Exception, MemoryError) as exc:  # what it sent, read as a Dask message, made no sense
            raise ClusterError(f"--scheduler {address}: the server there does not speak Dask's protocol; "
                               "give the address of a Dask scheduler") from exc


class DaskRunner:
    """The two article steps of a build, as tasks on a Dask client's cluster."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.build = uuid.uuid4().hex[:12]  # task keys of this build, apart from another build's
        self._asked = -1.0
        self._window = 2

    def window(self) -> int:
        """Tasks to keep in flight: a few per worker thread the cluster has now (asked again at most
        once a second, as workers join or leave)."""
        now = time.monotonic()
        if now - self._asked >= 1.0:
            self._asked = now
            self._window = max(2, IN_FLIGHT_PER_THREAD * sum(self.client.nthreads().values()))
        return self._window

    def extract(self, articles: list[Any], progress: Callable[[int], None] | None = None,
                chunk_progress: bool = False) -> Iterator[Any]:
        """Each article parsed and extracted as a task of its own; results as they finish: its
        DocumentStatements, or a SkippedInput when its task failed on every try. (A long article's
        chunks are reported by the worker's log, not here: ``chunk_progress`` is not used.)"""
        from kg.build.ingest import SkippedInput
        from kg.build.pipeline import extract_one

        def failed(art: Any, exc: BaseException) -> SkippedInput:
            return SkippedInput(art.source_path or art.doc_id, _failure(art.source_path or art.doc_id, exc))

        for _, res in self._stream(extract_one, articles, "extract", ordered=False, failed=failed):
            yield res
            if progress:
                progress(1)

    def map_in_order(self, tasks: Iterable[tuple], fn: Callable[[tuple], R]) -> Iterator[R]:
        """``fn`` over ``tasks`` on the cluster, the results in the tasks' order (the files are written
        in the build's order); an empty task (an article whose result is cached) is run here. A task that fails on every try stops the build: mapping is the
        project's own code, the same for every article, and its failure is no property of one input."""

        def failed(task: tuple, exc: BaseException) -> R:
            doc = task[0].article.doc_id if task and hasattr(task[0], "article") else "?"
            raise ClusterError(f"document {doc}: {_failure(doc, exc)}") from exc

        for _, res in self._stream(fn, tasks, "map", ordered=True, failed=failed, here=lambda t: not t):
            yield res

    def _stream(self, fn: Callable[[T], R], items: Iterable[T], kind: str, *, ordered: bool,
                failed: Callable[[T, BaseException], R],
                here: Callable[[T], bool] | None = None) -> Iterator[tuple[T, R]]:
        """``fn`` over ``items`` as Dask tasks, at most :meth:`window` in flight; results as they finish
        (``ordered``: handed on in the items' order). Items for which ``here`` is true are no task:
        ``fn`` runs on them in this process."""
        from distributed import as_completed

        it = iter(enumerate(items))
        pending: dict[Any, tuple[int, T]] = {}
        done: dict[int, tuple[T, R]] = {}
        next_out = 0
        ac = as_completed()

        def submit() -> None:
            while len(pending) + len(done) < self.window():
                nxt = next(it, None)
                if nxt is None:
                    return
                seq, item = nxt
                if here is not None and here(item):
                    done[seq] = (item, fn(item))
                    continue
                fut = self.client.submit(fn, item, key=f"kg-{kind}-{self.build}-{seq}", retries=RETRIES, pure=False)
                pending[fut] = (seq, item)
                ac.add(fut)

        try:
            submit()
            while pending or done:
                if not pending:  # only items run here are left to hand on
                    while next_out in done:
                        yield done.pop(next_out)
                        next_out += 1
                    submit()
                    continue
                fut = next(ac)
                seq, item = pending.pop(fut)
                try:
                    res = fut.result()
                except Exception as exc:  # the task's own exception, after Dask's retries
                    if _lost(exc):
                        raise ClusterError(f"lost the Dask scheduler during the build: {exc}") from exc
                    res = failed(item, exc)
                fut.release()
                if not ordered:
                    submit()
                    yield item, res
                    continue
                done[seq] = (item, res)
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                submit()
        finally:
            for fut in pending:
                fut.cancel()


def _lost(exc: BaseException) -> bool:
    """The client lost its scheduler (the task's fate is unknown), rather than the task failing."""
    import asyncio
    import concurrent.futures as cf

    return isinstance(exc, (asyncio.CancelledError, cf.CancelledError))


def _failure(source: str, exc: BaseException) -> str:
    """Why an article's task failed on every try, in one line naming it."""
    from distributed import KilledWorker

    if isinstance(exc, KilledWorker):
        why = "the worker running it died on every try"
    else:
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        why = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return f"{source}: its task failed on every try on the cluster ({why})"
