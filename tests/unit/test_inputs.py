"""Input files as users have them: encodings, BOMs, CRLF, comments; one line when unreadable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sluice.cli.errors import EXIT_INPUT_FILE
from sluice.cli.inputs import InputFileError, read_lines, read_text

URLS = ["http://127.0.0.2/café-déjà-vu-à-l-école", "http://127.0.0.2/élève-et-été"]
LISTING = "# urls\r\n\r\n  # indented comment\r\n" + URLS[0] + "\r\n\t\r\n" + URLS[1] + "\r\n"


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (LISTING.encode("utf-8"), None),
        (b"\xef\xbb\xbf" + LISTING.encode("utf-8"), None),
        (LISTING.encode("utf-16"), None),  # with its BOM
        (LISTING.encode("utf-32"), None),
        (LISTING.encode("latin-1"), "latin-1"),
        (LISTING.encode("cp1252"), None),  # detected
        (LISTING.replace("\r\n", "\r").encode(), None),  # old Mac line ends
    ],
)
def test_url_files_in_any_encoding_and_layout(tmp_path: Path, encoded: bytes, encoding) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "urls.txt"
    path.write_bytes(encoded)
    assert read_lines(str(path), encoding) == URLS


def test_a_text_keeps_its_lines_and_loses_its_bom(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(b"\xef\xbb\xbfFirst line.\r\nSecond \xe2\x80\x94 line.\r\n")
    assert read_text(str(path)) == "First line.\nSecond — line.\n"


@pytest.mark.parametrize(
    ("content", "encoding", "reason"),
    [
        (None, None, "unreadable_file"),
        (b"caf\xe9", "ascii", "bad_encoding"),
        (b"cafe", "no-such-codec", "bad_encoding"),
    ],
)
def test_unreadable_files_raise_one_clear_error(tmp_path: Path, content, encoding, reason) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "f.txt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputFileError) as info:
        read_lines(str(path), encoding)
    assert info.value.reason == reason and "\n" not in str(info.value)


@pytest.mark.parametrize(
    "args",
    [
        ["--file", "/nonexistent/urls.txt"],
        ["--text", "/nonexistent/t.txt"],
        ["--html", "/nonexistent/p.html"],
        ["--file", "{dir}", "--encoding", "utf-8"],
        ["--file", "{bad}", "--encoding", "ascii"],
    ],
)
def test_submit_says_one_line_and_exits_with_its_own_code(tmp_path: Path, args: list[str]) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"http://127.0.0.2/caf\xe9\n")
    argv = [a.format(dir=tmp_path, bad=bad) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "sluice.cli.main", "submit", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SLUICE_REDIS_URL": "redis://127.0.0.1:1/0"},  # never reached
    )
    assert result.returncode == EXIT_INPUT_FILE, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
