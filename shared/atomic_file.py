"""Writing a file so that its final name holds either nothing new or the whole of it.

The bytes go to a hidden temporary file in the target's own directory (``.NAME.XXXX.part``,
so the rename below never crosses filesystems), which is flushed to disk and renamed over
the target only once the writer is done. A writer that raises leaves the target untouched
and removes its temporary file; one killed outright (SIGKILL, power loss) leaves at most
that temporary file, never a partial file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

__all__ = ["atomic_output"]


def _mode(target: Path) -> int:
    """The replaced file's permissions, or those ``open`` would give a new file."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


@contextmanager
def atomic_output(path: str | Path) -> Iterator[IO[bytes]]:
    """A binary file to write ``path``'s new content to; renamed to ``path`` on success."""
    target = Path(path)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        os.fchmod(fd, _mode(target))
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
