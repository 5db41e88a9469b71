"""Files to upload: benchmark and response lines, and an upload's folder on disk."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile

CATEGORIES = (("Incomplete requests", "underspecified"), ("Humanizing requests", "personal"))


def benchmark_bytes(count: int, *, bad_line: int | None = None) -> bytes:
    """``count`` CoCoNot rows, ids p0, p1, …; line ``bad_line`` (from 1) is not JSON."""
    lines = []
    for number in range(count):
        category, subcategory = CATEGORIES[number % 2]
        row = {"id": f"p{number}", "category": category, "subcategory": subcategory}
        lines.append(json.dumps(row | {"prompt": f"Prompt {number}?", "response": ""}))
    if bad_line is not None:
        lines[bad_line - 1] = '{"id": "broken",'
    return ("\n".join(lines) + "\n").encode()


def responses_bytes(ids: list[str]) -> bytes:
    return "".join(
        json.dumps({"id": identifier, "response": f"Answer to {identifier}."}) + "\n"
        for identifier in ids
    ).encode()


def a_file(content: bytes, name: str = "bench.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def folders_in(root: Path) -> list[str]:
    """The upload folders kept on disk (Django's temporary ``incoming`` folder aside)."""
    if not root.exists():
        return []
    return sorted(path.name for path in root.iterdir() if path.name != "incoming")
