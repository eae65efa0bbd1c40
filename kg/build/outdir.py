"""OUTDIR of a build: checked before any work, locked against a second build, written through a
staging folder, and switched to the new outputs by one atomic rename.

::

    OUTDIR/graph.ttl      -> .kg-current/graph.ttl     one stable link per output name
    OUTDIR/.kg-current    -> .kg-generations/<id>      the one link a build replaces
    OUTDIR/.kg-generations/<id>/                       the outputs of this build and of the one before
    OUTDIR/.kg-build-XXXX/                             the staging folder of a build under way
                                                       (its temporary files in .tmp/)
    OUTDIR/.kg-build-scratch-XXXX/                     scratch space of a local Dask cluster's workers
    OUTDIR/.kg-lock                                    the pid of the build writing OUTDIR (flock)
    OUTDIR/.kg-cache/                                  extracted statements per article

Readers open OUTDIR/graph.ttl, OUTDIR/store, … by their usual names. Every name resolves through
``.kg-current``, so renaming that one link moves them all from one build to the next at once: a
build killed at any moment (``kill -9`` included) leaves OUTDIR on the previous complete build or
on the new one, never a mix. Whatever a killed build left behind (its staging folder, an orphan
generation) is removed by the next build, which holds the lock while it does so.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType

from kg.build.procs import signals_deferred
from kg.errors import WriteError

STAGING_PREFIX = ".kg-build-"
CURRENT = ".kg-current"
GENERATIONS = ".kg-generations"
LOCK = ".kg-lock"
TMP = ".tmp"
_TRASH = ".trash-"
_UMASK = os.umask(0)
os.umask(_UMASK)


def check_outdir(path: Path) -> None:
    """Refuse an OUTDIR that cannot be one (a file, or below a file) before any work is done."""
    if path.exists() and not path.is_dir():
        raise WriteError(f"{path}: exists and is not a directory")
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise WriteError(f"{path}: {parent} is not a directory")
            break


class BuildOutdir:
    """OUTDIR while one build writes it: ``with BuildOutdir(path) as out: … out.staging … out.commit()``.

    Entering checks the folder (creating it if needed) and takes its lock: a second build into the
    same OUTDIR fails at once with the first one's pid. Leaving without :meth:`commit` removes the
    staging folder (and OUTDIR itself when this build created it and left nothing in it).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.created = False
        self._lock_fd: int | None = None
        self._staging: Path | None = None
        self._scratch: list[Path] = []

    # -- opening and closing ------------------------------------------------------------------

    def __enter__(self) -> BuildOutdir:
        self.open()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def open(self) -> None:
        check_outdir(self.path)
        if not self.path.exists():
            try:
                self.path.mkdir(parents=True)
            except FileExistsError:
                pass
            except OSError as exc:
                raise WriteError(f"{self.path}: cannot create the output folder: {exc.strerror or exc}") from exc
            else:
                self.created = True
        try:
            self._lock_fd = _lock(self.path / LOCK, self.path)
        except BaseException:
            self._remove_if_created()
            raise
        # left by a build that was killed: nobody else can be using them while we hold the lock
        for stale in self.path.glob(STAGING_PREFIX + "*"):
            shutil.rmtree(stale, ignore_errors=True)
        for link in [*self.path.glob(".*.kg-link"), self.path / f"{CURRENT}.new"]:
            if link.is_symlink():
                with contextlib.suppress(OSError):
                    link.unlink()

    def close(self) -> None:
        with signals_deferred():
            if self._staging is not None:
                shutil.rmtree(self._staging, ignore_errors=True)
                self._staging = None
            for scratch in self._scratch:
                shutil.rmtree(scratch, ignore_errors=True)
            self._scratch = []
            if self._lock_fd is not None:
                with contextlib.suppress(OSError):
                    os.unlink(self.path / LOCK)  # before the unlock: a waiting build then locks a new file
                os.close(self._lock_fd)
                self._lock_fd = None
            self._remove_if_created()

    def _remove_if_created(self) -> None:
        if self.created:
            with contextlib.suppress(OSError):
                self.path.rmdir()  # only if empty: what was written stays

    # -- staging --------------------------------------------------------------------------------

    @property
    def staging(self) -> Path:
        """The staging folder (made on first use): outputs are written here, then :meth:`commit`."""
        if self._staging is None:
            with signals_deferred():  # the folder exists only once its removal in close() is armed
                self._staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=self.path))
        return self._staging

    def tmpdir(self) -> Path:
        """A folder for the build's temporary files (inside the staging folder, so they go with it)."""
        tmp = self.staging / TMP
        tmp.mkdir(exist_ok=True)
        return tmp

    def scratch(self) -> Path:
        """A folder for what helpers of the build write while it runs (a LocalCluster's workers), apart
        from the outputs: removed when the build ends, and by the next build when this one was killed."""
        with signals_deferred():
            path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX + "scratch-", dir=self.path))
            self._scratch.append(path)
        return path

    # -- the switch -----------------------------------------------------------------------------

    def commit(self, known: Iterable[str] = ()) -> None:
        """Make the staging folder's outputs OUTDIR's, in one atomic rename.

        ``known`` names outputs an earlier build may have left as plain files (an OUTDIR written
        before generations existed, or copied with its links followed): they are brought into the
        layout first, without changing what a reader sees. SIGINT and SIGTERM wait until the
        switch is done.
        """
        if self._staging is None:
            raise WriteError(f"{self.path}: nothing staged to commit")
        with signals_deferred():
            staging = self._staging
            shutil.rmtree(staging / TMP, ignore_errors=True)
            os.chmod(staging, 0o777 & ~_UMASK)  # mkdtemp made it private; the outputs are not
            names = sorted(os.listdir(staging))
            _fsync_dir(staging)
            gens = self.path / GENERATIONS
            gens.mkdir(exist_ok=True)
            gen = gens / _generation_name()
            os.rename(staging, gen)
            self._staging = None
            _fsync_dir(gens)
            old = current_generation(self.path)
            if old is not None:
                names_before = set(os.listdir(old))
            else:
                names_before = set()
            self._adopt({*names, *known, *names_before})
            old = current_generation(self.path)
            for name in names:  # new names point through .kg-current: absent until the switch
                self._link(name)
            self._point_current_to(gen)
            self._tidy(keep={gen.name, old.name if old is not None else ""})

    def _adopt(self, names: set[str]) -> None:
        """Bring plain output files (and a copied .kg-current folder) into the generation layout, showing
        readers the same content at every step: copy what each name holds now into a generation (hard
        links), point .kg-current at it, then replace each plain file by its link."""
        current = self.path / CURRENT
        plain = sorted(n for n in names if _present(self.path / n) and not _is_link_to_current(self.path, n))
        if current.is_symlink() and not plain:
            return
        if not plain and not current.exists():
            return
        gen = self.path / GENERATIONS / _generation_name()
        gen.mkdir(parents=True)
        for name in sorted(names):
            src = self.path / name
            if src.is_dir():
                shutil.copytree(src, gen / name, copy_function=_link_or_copy)
            elif src.is_file():
                _link_or_copy(str(src), str(gen / name))
        _fsync_dir(gen)
        if current.exists() and not current.is_symlink():
            _trash(self.path, current)
        self._point_current_to(gen)
        for name in plain:
            self._link(name)

    def _link(self, name: str) -> None:
        """OUTDIR/name -> .kg-current/name, replacing what is there by one rename (a folder is moved
        aside first: a link cannot replace it in one step)."""
        dest = self.path / name
        target = f"{CURRENT}/{name}"
        if dest.is_symlink() and os.readlink(dest) == target:
            return
        if dest.is_dir() and not dest.is_symlink():
            _trash(self.path, dest)
        tmp = self.path / f".{name}.kg-link"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(target, tmp)
        tmp.replace(dest)

    def _point_current_to(self, gen: Path) -> None:
        tmp = self.path / f"{CURRENT}.new"
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(f"{GENERATIONS}/{gen.name}", tmp)
        tmp.replace(self.path / CURRENT)
        _fsync_dir(self.path)

    def _tidy(self, keep: set[str]) -> None:
        """Remove links to names the new build does not have, and every generation but ``keep``."""
        for entry in os.scandir(self.path):
            if entry.is_symlink() and os.readlink(entry.path).startswith(CURRENT + "/") \
                    and not os.path.exists(entry.path):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
        gens = self.path / GENERATIONS
        for g in gens.iterdir():
            if g.name not in keep:
                shutil.rmtree(g, ignore_errors=True)


def current_generation(outdir: Path) -> Path | None:
    """The generation folder OUTDIR's names point to now, or None (no build yet, or an older layout)."""
    current = Path(outdir) / CURRENT
    if not current.is_symlink():
        return None
    target = Path(outdir) / os.readlink(current)
    return target if target.is_dir() else None


def _present(p: Path) -> bool:
    return p.is_symlink() or p.exists()


def _is_link_to_current(outdir: Path, name: str) -> bool:
    p = outdir / name
    return p.is_symlink() and os.readlink(p) == f"{CURRENT}/{name}"


def _link_or_copy(src: str, dst: str) -> str:
    """A hard link (same content, no copy), or a copy where links are not possible."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)
    return dst


def _trash(outdir: Path, p: Path) -> None:
    """Move ``p`` out of the way into the generations folder (removed by the next tidy)."""
    gens = outdir / GENERATIONS
    gens.mkdir(exist_ok=True)
    os.rename(p, gens / f"{_TRASH}{secrets.token_hex(6)}")


def _generation_name() -> str:
    return time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _lock(lock_path: Path, outdir: Path) -> int:
    """Take OUTDIR's lock (an flock on OUTDIR/.kg-lock, which holds the pid); the kernel drops it when the
    process dies, so the lock of a killed build is taken over. WriteError when another build holds it."""
    while True:
        try:  # never through a symbolic link planted there: its target would be overwritten
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise WriteError(f"{lock_path}: is a symbolic link, not the lock file of a build; "
                                 "remove it and build again") from exc
            raise WriteError(f"{outdir}: cannot write in the output folder: {exc.strerror or exc}") from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise WriteError(f"{lock_path}: is not a regular file, not the lock file of a build; "
                             "remove it and build again")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_pid(fd)
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise WriteError(f"another build is writing {outdir} (pid {holder or 'unknown'}); "
                                 "wait for it to finish or give another output folder") from None
            raise WriteError(f"{outdir}: cannot lock the output folder: {exc.strerror or exc}") from exc
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the build that held it removed the file as we opened it: lock the new one
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd


def _read_pid(fd: int) -> str:
    with contextlib.suppress(OSError, ValueError):
        return str(int(os.pread(fd, 32, 0).decode().strip()))
    return ""
