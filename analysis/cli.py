"""What the export commands share: files that appear only once they are complete (the campaign
they name: annotate.cli.campaign_argument)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from django.core.management.base import CommandError

Result = TypeVar("Result")


def write_complete(path: Path, write: Callable[[Path], Result]) -> Result:
    """``write`` a file beside ``path`` under a temporary name, then rename it to ``path``: an
    interrupted or failed export (``write`` raising, a CommandError included) leaves nothing,
    and an existing file is replaced only by a complete one."""
    if path.is_dir():
        raise CommandError(f"Cannot write {path}: it is a directory.")
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise CommandError(f"Cannot write {path}: {error.strerror}.") from None
    os.close(handle)
    temporary = Path(name)
    try:
        result = write(temporary)
        temporary.chmod(0o666 & ~_umask())
        temporary.replace(path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return result


def _umask() -> int:
    # mkstemp makes the file readable by its owner only; the export gets the usual mode.
    mask = os.umask(0)
    os.umask(mask)
    return mask
