"""Streaming reader of the SIS export: one line at a time, whatever its size.

Real exports come in UTF-8 (with or without BOM) or Latin-1/Windows-1252, separated by
commas or semicolons, with a header row and stray whitespace. Each line is decoded on its
own (UTF-8 first), so a file is never loaded whole and one odd line does not poison the
rest. One record per line: quoted fields may contain the separator, not a line break.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from bridge.domain.sis import REQUIRED, canonical_columns

MAX_LINE = 64 * 1024  # bytes; a longer line is rejected without being held in memory


class ExportError(Exception):
    """The file cannot be used at all (missing, empty, no usable header)."""


@dataclass(frozen=True)
class Row:
    line: int
    fields: dict[str, str]
    offset: int = 0  # bytes of the file read so far: for a progress bar


@dataclass(frozen=True)
class BadRow:
    line: int
    reason: str
    offset: int = 0


def decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _lines(stream: BinaryIO) -> Iterator[bytes | None]:
    """Each line's bytes, or None for a line longer than MAX_LINE (skipped in chunks)."""
    while True:
        raw = stream.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):
                raw = stream.readline(MAX_LINE)
            yield None
            continue
        yield raw


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    return max(counts, key=lambda d: counts[d])


def read_export(path: Path) -> Iterator[Row | BadRow]:
    try:
        stream = path.open("rb")
    except OSError as error:
        raise ExportError(f"cannot read {path}: {error.strerror}") from error
    with stream:
        lines = _lines(stream)
        header_line = 0
        header_text = ""
        for header_line, raw in enumerate(lines, start=1):
            if raw is None:
                raise ExportError(f"line {header_line}: the header is longer than {MAX_LINE} bytes")
            header_text = decode(raw).strip()
            if header_text:
                break
        if not header_text:
            raise ExportError("the file is empty: no header row")
        delimiter = _delimiter(header_text)
        try:
            header = next(csv.reader([header_text], delimiter=delimiter, strict=True))
        except csv.Error as error:
            # e.g. a file with old Mac line ends (CR only) reads as one line
            raise ExportError(
                f"line {header_line}: unreadable header ({error}); lines must end with LF or CRLF"
            ) from error
        positions, missing = canonical_columns(header)
        if missing:
            raise ExportError(
                f"line {header_line}: the header lacks required column(s) {', '.join(missing)} "
                f"(found: {', '.join(h.strip() for h in header)})"
            )
        for line, raw in enumerate(lines, start=header_line + 1):
            offset = stream.tell()
            if raw is None:
                yield BadRow(line, f"line longer than {MAX_LINE} bytes", offset)
                continue
            text = decode(raw).strip("\r\n")
            if not text.strip():
                continue
            try:
                values = next(csv.reader([text], delimiter=delimiter, strict=True))
            except csv.Error as error:
                yield BadRow(line, f"unreadable CSV: {error}", offset)
                continue
            absent = [name for name, index in positions.items() if index >= len(values)]
            required_absent = [name for name in absent if name in REQUIRED]
            if required_absent:
                yield BadRow(line, f"missing column(s) {', '.join(required_absent)}", offset)
                continue
            fields = {name: values[i].strip() for name, i in positions.items() if i < len(values)}
            yield Row(line, fields, offset)
