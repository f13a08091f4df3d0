from __future__ import annotations

import pytest

from bot.documents.kind import Kind, extension_of, kind_of, type_name


@pytest.mark.parametrize(("name", "mime", "kind"), [
    ("report.pdf", "application/pdf", Kind.PDF), ("REPORT.PDF", None, Kind.PDF),
    ("letter.docx", "application/octet-stream", Kind.DOCX), ("notes.md", "text/markdown", Kind.TEXT),
    ("data.csv", None, Kind.TEXT), ("main.rs", "application/octet-stream", Kind.TEXT),
    ("feed", "application/atom+xml", Kind.TEXT), ("Dockerfile", None, Kind.TEXT), ("conf", "text/plain", Kind.TEXT),
    ("archive.zip", "application/zip", Kind.UNKNOWN), ("blob", None, Kind.UNKNOWN),
])
def test_a_file_is_known_by_its_type_then_its_extension(name: str, mime: str | None, kind: Kind) -> None:
    assert kind_of(name, mime) == kind


def test_the_type_a_user_is_told_is_the_mime_type_else_the_extension() -> None:
    assert type_name("a.zip", "application/zip") == "application/zip"
    assert type_name("model.bin", "application/octet-stream") == ".bin"
    assert type_name("blob", None) == "unknown"
    assert extension_of(".bashrc") == "" and extension_of("x.tar.gz") == "gz"
