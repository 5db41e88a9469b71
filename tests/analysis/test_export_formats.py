"""The export formats are one registry (analysis.exports.FORMATS): the download and the command
look a format up there and write it the same way, so they give the same file."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command

from analysis.exports import FORMATS, ExportError, export_format
from annotate.models import Campaign
from tests.analysis.test_exports import campaign, researcher, streamed, url

pytestmark = pytest.mark.django_db
__all__ = ["campaign"]  # the fixture, shared with test_exports


@pytest.mark.parametrize("name", list(FORMATS))
def test_the_download_and_the_command_give_the_same_file(
    name: str, campaign: Campaign, tmp_path: Path
) -> None:
    target = tmp_path / f"gold.{name}"
    call_command("export_gold", campaign=str(campaign.pk), format=name, output=str(target))
    response = researcher().get(url(campaign, f"?format={name}"))

    assert response.status_code == 200
    assert response["Content-Type"] == FORMATS[name].content_type
    downloaded = streamed(response)
    if name == "parquet":  # same rows and types; the file's bytes may carry write metadata
        assert pq.read_table(pa.BufferReader(downloaded)).equals(pq.read_table(target))
    else:
        assert downloaded == target.read_bytes()


def test_an_unknown_format_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(ExportError, match=r"^Unknown format 'xml'; use jsonl, csv or parquet\.$"):
        export_format("xml")
