from __future__ import annotations

from pathlib import Path

import pytest

from bridge.jobs.sis_reader import MAX_LINE, BadRow, ExportError, Row, read_export

HEADER = "student_number;last_name;first_name;enrollment_year"


def rows(tmp_path: Path, data: bytes) -> list[Row | BadRow]:
    path = tmp_path / "sis.csv"
    path.write_bytes(data)
    return list(read_export(path))


def test_utf8_with_bom_and_crlf(tmp_path: Path) -> None:
    [row] = rows(tmp_path, ("\ufeff" + HEADER + "\r\n1;Bérénice;Zoé;2026\r\n").encode())
    assert isinstance(row, Row)
    assert row.fields == {
        "student_number": "1",
        "last_name": "Bérénice",
        "first_name": "Zoé",
        "enrollment_year": "2026",
    }
    assert row.line == 2


def test_latin1_lines_are_decoded(tmp_path: Path) -> None:
    [row] = rows(tmp_path, (HEADER + "\n1;Bérénice;Zoé;2026\n").encode("latin-1"))
    assert isinstance(row, Row) and row.fields["last_name"] == "Bérénice"


def test_comma_quotes_blank_lines_and_whitespace(tmp_path: Path) -> None:
    data = b'student_number , last_name,first_name,enrollment_year\n\n 2 ,"Dupont, Jr", Al ,2026\n'
    [row] = rows(tmp_path, data)
    assert isinstance(row, Row) and row.fields["last_name"] == "Dupont, Jr"
    assert row.line == 3


def test_short_row_and_huge_line_are_bad_rows(tmp_path: Path) -> None:
    data = (HEADER + "\n1;Court\n2;" + "x" * (MAX_LINE + 10) + ";A;2026\n3;Ok;Ok;2026\n").encode()
    result = rows(tmp_path, data)
    assert [type(r).__name__ for r in result] == ["BadRow", "BadRow", "Row"]
    assert "missing column" in result[0].reason  # type: ignore[union-attr]
    assert "longer than" in result[1].reason  # type: ignore[union-attr]
    assert result[2].line == 4


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n\n", "empty"),
        (b"nom;prenom\n1;2\n", "lacks required column"),
    ],
)
def test_unusable_files(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(ExportError, match=message):
        rows(tmp_path, data)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot read"):
        list(read_export(tmp_path / "absent.csv"))
