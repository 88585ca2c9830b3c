"""The study's lock: every cityqda command that opens the store holds it shared; `restore`
of a backup takes it exclusively, so a store is never replaced under a running command.

It is an advisory `flock` on the folder that holds the store (no lock file to leave behind
or commit). Where `flock` does not exist or does not work (Windows, some network shares),
the lock is a no-op: SQLite's own locking still keeps each write whole.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


class StudyLock:
    """A held lock; `release()` (or closing the store) lets it go."""

    def __init__(self, fd: int | None):
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.close(self._fd)  # closing the descriptor releases the flock
            finally:
                self._fd = None


class LockHeld(Exception):
    """Another process holds the lock in a conflicting mode."""


def _acquire(folder: Path, exclusive: bool) -> StudyLock:
    if fcntl is None:
        return StudyLock(None)
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return StudyLock(None)
    mode = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    try:
        fcntl.flock(fd, mode)
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            raise LockHeld(str(folder)) from exc
        return StudyLock(None)  # flock unsupported here: no lock rather than no command
    return StudyLock(fd)


def shared(store_path: Path) -> StudyLock:
    """Held by every command while it has the store open; raises LockHeld during a restore."""
    return _acquire(Path(store_path).parent, exclusive=False)


def exclusive(store_path: Path) -> StudyLock:
    """Held by `restore` while it replaces the store; raises LockHeld while any command runs."""
    return _acquire(Path(store_path).parent, exclusive=True)
