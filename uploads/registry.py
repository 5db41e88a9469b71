"""What can be uploaded. Each app whose importer runs on uploads registers a kind in its
AppConfig.ready() (benchmarks/apps.py, inference/apps.py, judging/apps.py), as runs do with
runs.chunks.run_kind_register: this app sits below them and imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uploads.models import Upload

# progress(done, total): rows written so far of the rows the file holds.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class FileRule:
    """One file an upload of a kind takes: its extensions (lower case, with the dot)."""

    extensions: tuple[str, ...]
    required: bool = True
    what: str = "a file"  # "a benchmark": for "name it .jsonl … to upload a benchmark"


@dataclass(frozen=True)
class UploadResult:
    summary: str  # what was imported, in a sentence or two
    url: str = ""  # the page of what was made
    data: dict[str, Any] = field(default_factory=dict)  # ids and counts, for the API


# The importer: reads the upload's files and options, writes everything in one transaction,
# calls progress as it goes, and raises UploadImportError with one sentence on bad input.
Importer = Callable[["Upload", Progress], UploadResult]


@dataclass(frozen=True)
class UploadKind:
    name: str  # stored in Upload.kind: "benchmark"
    label: str  # for pages: "benchmark"
    files: Mapping[str, FileRule]  # by field name; "file" is the main one
    importer: Importer


_kinds: dict[str, UploadKind] = {}


def upload_kind_register(kind: UploadKind) -> None:
    _kinds[kind.name] = kind


def upload_kind(name: str) -> UploadKind:
    return _kinds[name]


def upload_kinds() -> dict[str, UploadKind]:
    return dict(_kinds)
