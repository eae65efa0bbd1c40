"""kg build on a Dask cluster: a real LocalCluster of two worker processes, one for the whole module."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.build.pipeline import build

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
# distinct texts (copies of one text would be one document): reports of the same talks and others
ROWS = [
    {"id": "r1", "published": "2018-01-29",
     "text": "河野太郎外相は28日、北京で中国の王毅外相と会談した。両外相は関係改善の流れを確認した。"},
    {"id": "r2", "published": "2018-01-28",
     "text": "中国の王毅外相は28日、北京を訪問した日本の河野太郎外相と会談し、関係改善で一致した。"},
    {"id": "r3", "published": "2018-01-30",
     "text": "河野太郎外相は29日、北京で中国の王毅外相と会談したと外務省が発表した。"},
    {"id": "o1", "published": "2018-06-01",
     "text": "ロシアのラブロフ外相は31日、北朝鮮の首都ピョンヤンに到着し、リ・ヨンホ外相と会談しました。"},
    {"id": "o2", "published": "2018-06-02",
     "text": "ロシアのラブロフ外相は31日、ピョンヤンでリ・ヨンホ外相と会談し、非核化について協議しました。"},
    {"id": "p1", "published": "2018-06-14",
     "text": "ポンペオ米国務長官は14日、ソウルで康京和外相と会談した。"},
]
FILES = ("graph.ttl", "graph.trig", "graph.jsonld", "statements.jsonl", "validation.ttl")


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """One LocalCluster (two worker processes, one thread each) and a client of it for the module."""
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                      silence_logs=40) as lc, Client(lc) as client:
        client.get_task_stream()  # starts the scheduler's record of the tasks it ran, read by the tests
        yield client


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cluster") / "c.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in ROWS), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The outputs of ``-j 1`` on one machine."""
    out = tmp_path_factory.mktemp("ref") / "out"
    build([corpus], out, jobs=1, use_cache=False)
    return files(out)


def files(out: Path) -> dict[str, bytes]:
    return {n: (out / n).read_bytes() for n in FILES}


def kg(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    return subprocess.Popen([sys.executable, "-m", "kg.cli", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


def task_keys(client: Any, since: float, kind: str) -> list[str]:
    return [t["key"] for t in client.get_task_stream(start=since)
            if str(t["key"]).startswith(f"kg-{kind}-")]


def test_the_graph_on_the_cluster_is_byte_identical_to_one_process(cluster: Any, corpus: Path,
                                                                   reference: dict[str, bytes],
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    since = time.time()
    proc = kg("build", str(corpus), "-o", str(out), "--scheduler", cluster.scheduler.address, "-q")
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert files(out) == reference
    # every article was a task of each step, on the cluster
    assert len(task_keys(cluster, since, "extract")) == len(ROWS)
    assert len(task_keys(cluster, since, "map")) == len(ROWS)


def test_the_scheduler_can_come_from_the_environment(cluster: Any, corpus: Path, reference: dict[str, bytes],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    since = time.time()
    env = {**os.environ, "DASK_SCHEDULER_ADDRESS": cluster.scheduler.address}
    proc = subprocess.run([sys.executable, "-m", "kg.cli", "build", str(corpus), "-o", str(out), "-q",
                           "--no-cache"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert files(out) == reference and len(task_keys(cluster, since, "extract")) == len(ROWS)


def test_the_cache_is_reused_by_a_second_build(cluster: Any, corpus: Path, reference: dict[str, bytes],
                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    address = cluster.scheduler.address
    assert build([corpus], out, scheduler=address).conforms
    cached = {p.name: p.stat().st_mtime_ns for p in (out / ".kg-cache").iterdir()}
    assert len(cached) == 2 * len(ROWS)  # statements and mapped graph of every article
    since = time.time()
    result = build([corpus], out, scheduler=address)
    assert result.documents == len(ROWS) and files(out) == reference
    assert task_keys(cluster, since, "extract") == [] and task_keys(cluster, since, "map") == []
    assert {p.name: p.stat().st_mtime_ns for p in (out / ".kg-cache").iterdir()} == cached
    # a changed article is the only one parsed again
    rows = [*ROWS[:-1], {**ROWS[-1], "text": ROWS[-1]["text"].replace("14日", "13日")}]
    changed = tmp_path / "changed.jsonl"
    changed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    since = time.time()
    build([changed], out, scheduler=address)
    assert len(task_keys(cluster, since, "extract")) == 1


class _FailOne:
    """A worker plugin that makes the extraction of one article raise in every worker, on every try
    (a fault that no retry cures); teardown puts the real extraction back."""

    name = "kg-test-fail-one"

    def __init__(self, doc_id: str, tries: Path) -> None:
        self.doc_id = doc_id
        self.tries = str(tries)  # one line per try, from whichever worker ran it

    def setup(self, worker: Any) -> None:
        import kg.build.chunks as chunks

        real = chunks.extract_article
        doc_id, tries = self.doc_id, self.tries

        def failing(article: Any, progress: Any = None) -> Any:
            if article.doc_id == doc_id:
                with open(tries, "a", encoding="utf-8") as fh:
                    fh.write(f"{os.getpid()}\n")
                raise RuntimeError(f"simulated fault in {doc_id}")
            return real(article, progress)

        failing.real = real  # type: ignore[attr-defined]
        chunks.extract_article = failing

    def teardown(self, worker: Any) -> None:
        import kg.build.chunks as chunks

        chunks.extract_article = getattr(chunks.extract_article, "real", chunks.extract_article)


def test_an_article_that_fails_on_every_try_is_listed_in_skipped_json(cluster: Any, corpus: Path,
                                                                      tmp_path: Path) -> None:
    import cloudpickle
    from distributed import WorkerPlugin

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    tries = tmp_path / "tries"
    plugin = type("FailOne", (_FailOne, WorkerPlugin), {})("o2", tries)
    cluster.register_plugin(plugin)
    try:
        out = tmp_path / "out"
        proc = kg("build", str(corpus), "-o", str(out), "--scheduler", cluster.scheduler.address, "--no-cache")
        _, err = proc.communicate(timeout=300)
    finally:
        cluster.unregister_worker_plugin(_FailOne.name)
    assert proc.returncode == 2, err  # as for an unreadable input
    skipped = json.loads((out / "skipped.json").read_text(encoding="utf-8"))
    assert [s["source"] for s in skipped] == [f"{corpus}:5"]
    assert "failed on every try" in skipped[0]["reason"] and "simulated fault in o2" in skipped[0]["reason"]
    assert f"{corpus}:5: its task failed on every try" in err
    statements = (out / "statements.jsonl").read_text(encoding="utf-8")
    assert '"doc_id": "o1"' in statements and '"doc_id": "o2"' not in statements
    # Dask tried it 1 + RETRIES times
    from kg.build.cluster import RETRIES

    assert len(tries.read_text(encoding="utf-8").splitlines()) == 1 + RETRIES


def test_a_worker_killed_mid_build_and_the_build_completes_with_the_same_graph(
        cluster: Any, corpus: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    # a corpus long enough that a worker is busy when it is killed
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({**r, "id": f"{r['id']}-{i}", "text": f"{r['text']}（第{i}報）"},
                                       ensure_ascii=False) + "\n" for i in range(4) for r in ROWS), encoding="utf-8")
    ref = tmp_path / "ref"
    build([many], ref, jobs=1, use_cache=False)
    out = tmp_path / "out"
    pids = cluster.run(os.getpid)
    proc = kg("build", str(many), "-o", str(out), "--scheduler", cluster.scheduler.address, "-q")
    killed: list[int] = []

    def kill_a_busy_worker() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            busy = [w for w, keys in cluster.processing().items()
                    if any(str(k).startswith("kg-extract-") for k in keys)]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(pids[busy[0]])
                return
            time.sleep(0.02)

    th = threading.Thread(target=kill_a_busy_worker)
    th.start()
    _, err = proc.communicate(timeout=600)
    th.join()
    assert killed, "no worker was busy while the build ran"
    assert proc.returncode == 0, err
    assert files(out) == files(ref)
    assert not (out / "skipped.json").exists()
    cluster.wait_for_workers(2, timeout=120)  # the nanny starts a new worker for the next test


def test_local_n_starts_a_cluster_for_the_build(corpus: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = kg("build", str(corpus), "-o", str(out), "--scheduler", "local:2", "-q")
    stdout, err = proc.communicate(timeout=300)
    assert proc.returncode == 0 and stdout == "" and err == "", err
    assert files(out) == reference
    proc = kg("build", str(corpus), "-o", str(out), "--scheduler", "local:0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and err.splitlines() == [
        "Error: --scheduler local:0: local:N needs a number of workers N of 1 or more"], err


def test_an_unreachable_scheduler_is_one_error_line(tmp_path: Path, corpus: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import kg.build.cluster as cluster_mod

    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 2)
    with pytest.raises(cluster_mod.ClusterError, match="cannot reach the Dask scheduler"):
        build([corpus], tmp_path / "out", scheduler="tcp://127.0.0.1:9")  # the discard port: nobody listens
    assert not (tmp_path / "out").exists()


def test_ctrl_c_with_local_n_is_one_line_and_leaves_no_worker(tmp_path: Path) -> None:
    many = tmp_path / "many.jsonl"
    many.write_text("".join(json.dumps({**r, "id": f"{r['id']}-{i}", "text": f"{r['text']}（第{i}報）"},
                                       ensure_ascii=False) + "\n" for i in range(30) for r in ROWS), encoding="utf-8")
    out = tmp_path / "out"
    # its own session with SIGINT at its default, so that the signal goes to the whole process group,
    # as a terminal's Ctrl-C does
    proc = kg("build", str(many), "-o", str(out), "--scheduler", "local:2", start_new_session=True,
              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and not any((out / ".kg-cache").glob("*.jsonl")):
        time.sleep(0.1)  # until articles come back from the workers
    workers = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert proc.poll() is None and len(workers) >= 2, "the build ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.splitlines() == [
        "Error: interrupted; no output was left half-written (run the command again to finish)"], err
    time.sleep(2)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()]
    assert not (out / "graph.ttl").exists()


def _listening(pids: set[int]) -> set[str]:
    """The addresses the processes ``pids`` listen on (TCP), as ip:port."""
    import psutil

    return {f"{c.laddr.ip}:{c.laddr.port}" for c in psutil.net_connections(kind="inet")
            if c.status == psutil.CONN_LISTEN and c.pid in pids}


def _tree(pid: int) -> set[int]:
    import psutil

    try:
        return {pid} | {p.pid for p in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def test_local_n_listens_on_loopback_only_and_keeps_its_scratch_space_out_of_tmpdir(
        corpus: Path, reference: dict[str, bytes], tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmpdir)}
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "build", str(corpus), "-o", str(out), "--scheduler",
                             "local:1", "-q"], cwd=ROOT, env=env, text=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    seen: set[str] = set()
    while proc.poll() is None:  # scheduler, nanny, worker, their HTTP endpoints: every socket they listen on
        seen |= _listening(_tree(proc.pid))
        time.sleep(0.2)
    _, err = proc.communicate()
    assert proc.returncode == 0 and err == "", err
    assert files(out) == reference
    assert len(seen) >= 3, seen
    assert {a.rsplit(":", 1)[0] for a in seen} == {"127.0.0.1"}, seen
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    assert not list(out.glob(".kg-build-*"))
    # kill -9 while the workers run: their scratch space is in OUTDIR, and the next build removes it
    proc = subprocess.Popen([sys.executable, "-m", "kg.cli", "build", str(corpus), "-o", str(out), "--scheduler",
                             "local:1", "-q", "--no-cache"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None and not any(
            any(s.iterdir()) for s in out.glob(".kg-build-scratch-*")):
        time.sleep(0.1)
    tree = _tree(proc.pid)
    assert proc.poll() is None, "the build ended before it could be killed"
    proc.kill()
    proc.communicate()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in tree - {proc.pid}):
        time.sleep(0.2)
    for p in tree - {proc.pid}:  # the nanny and worker end with the build (checked by the other test)
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    assert sorted(p.name for p in tmpdir.iterdir()) == []
    assert list(out.glob(".kg-build-scratch-*"))
    statements = tmp_path / "s.jsonl"
    statements.write_bytes((out / "statements.jsonl").read_bytes())
    proc = kg("build", "--statements", str(statements), "-o", str(out), "-q")
    assert proc.communicate(timeout=300)[1] == "" and proc.returncode == 0
    assert not list(out.glob(".kg-build-*"))


def test_a_server_that_is_not_a_dask_scheduler_is_one_error_line(tmp_path: Path, corpus: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import socketserver

    import kg.build.cluster as cluster_mod

    class Chatty(socketserver.BaseRequestHandler):
        def handle(self) -> None:  # an SSH server's greeting, then what an HTTP server answers
            with contextlib.suppress(OSError):
                self.request.sendall(b"SSH-2.0-OpenSSH_9.2\r\nHTTP/1.1 400 Bad Request\r\n\r\n" * 4)
                time.sleep(5)

    class Silent(socketserver.BaseRequestHandler):
        def handle(self) -> None:  # reads and says nothing, as an HTTP server waiting for a request line
            with contextlib.suppress(OSError):
                self.request.settimeout(10)
                self.request.recv(65536)
                time.sleep(10)

    monkeypatch.setattr(cluster_mod, "CONNECT_TIMEOUT", 3)
    for handler, message in ((Chatty, "does not speak Dask's protocol"), (Silent, "no Dask scheduler answered")):
        server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            port = server.server_address[1]
            started = time.monotonic()
            with pytest.raises(cluster_mod.ClusterError, match=message) as info:
                build([corpus], tmp_path / "out", scheduler=f"tcp://127.0.0.1:{port}")
            assert time.monotonic() - started < 20
            assert str(info.value).startswith(f"--scheduler tcp://127.0.0.1:{port}: ")
            assert "EiB" not in str(info.value)
        finally:
            server.shutdown()
            server.server_close()
        assert not (tmp_path / "out").exists()
