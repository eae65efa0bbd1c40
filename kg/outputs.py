"""Output files: every file kg writes outside a build's staging folder goes through here.

A file is written to a temporary file beside it and renamed over the target, so a reader never sees
half of it. The target must be a regular file or not exist yet: a device node (``/dev/null``,
``/dev/full``), a FIFO or a socket is refused before any work is done and again just before the
rename, so kg never replaces one, not even when run as root.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from kg.errors import WriteError

_UMASK = os.umask(0)
os.umask(_UMASK)

_KINDS = ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
          (stat.S_ISSOCK, "a socket"))


def special_kind(path: Path) -> str | None:
    """What ``path`` is when it is neither a regular file, a folder nor absent ("a FIFO", ...): the link
    itself and, for a symbolic link, what it points to."""
    for st_of in (os.lstat, os.stat):
        try:
            mode = st_of(path).st_mode
        except (OSError, ValueError):
            continue
        for test, name in _KINDS:
            if test(mode):
                return name
    return None


def refuse_special(path: Path) -> None:
    """WriteError when ``path`` is a device node, a FIFO or a socket (or a link to one)."""
    kind = special_kind(path)
    if kind is not None:
        raise WriteError(f"{path}: is {kind}, not a regular file; kg replaces the file it writes and will not "
                         "replace this: give a file name")


def check_output_file(path: Path) -> None:
    """Refuse an output file that cannot be written, before any work is done (WriteError, exit 2)."""
    path = Path(path)
    refuse_special(path)
    if path.is_dir():
        raise WriteError(f"{path}: is a folder; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise WriteError(f"{path}: the folder {parent} does not exist; create it first")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as exc:
        raise WriteError(f"{path}: cannot write: {exc.strerror or exc}") from exc
    os.close(fd)
    os.unlink(probe)


def atomic_write(target: Path, write: Callable[[Path], None], *, make_parent: bool = False) -> None:
    """Call ``write(tmp)`` on a temporary file next to ``target``, then rename it over ``target``.

    A reader never sees a half-written file, and an interrupt leaves no temporary file. Raises
    :class:`WriteError` naming ``target`` (a full disk included); ``make_parent`` creates its folder.
    """
    target = Path(target)
    refuse_special(target)
    try:
        if make_parent:
            target.parent.mkdir(parents=True, exist_ok=True)
        elif not target.parent.is_dir():
            raise WriteError(f"{target}: the folder {target.parent} does not exist; create it first")
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; give the usual permissions
        write(tmp)
        refuse_special(target)  # made while this was written
        os.replace(tmp, target)
    except OSError as exc:
        raise WriteError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` (synced to disk) through a temp file in the same folder and an atomic rename."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    atomic_write(Path(path), write, make_parent=True)
