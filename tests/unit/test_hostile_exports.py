"""Hostile SIS exports through the reader and the row rules: whatever the bytes, a file is
either refused as a whole (ExportError) or read row by row, each row becoming a record or a
rejection with its reason; a record never carries what Keycloak would refuse (which would
fail a whole import batch). The rows that reach Keycloak are tested against the real one in
tests/integration/test_provision.py::test_hostile_export_rows."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.domain.identifiers import normalize_identifier
from bridge.domain.ine import parse_ine
from bridge.domain.rescue_email import is_email_address
from bridge.domain.sis import NAME_PROHIBITED, RowRejected, record_from_fields
from bridge.jobs.sis_reader import BadRow, ExportError, Row, read_export
from tests.helpers.hostile import values
from tests.helpers.report import report

CASES = 400
HEADERS = (
    "student_number;last_name;first_name;enrollment_year;ine;username;rescue_email",
    "numero_etudiant,nom,prenom,annee_inscription,ine,mail_secours",
    "student_number\tlast_name\tfirst_name\tenrollment_year",
    "last_name;first_name",  # a required column missing
    "",
)
SEPARATORS = (";", ",", "\t")
COUNT = {"files": 0, "rows": 0}


@st.composite
def exports(draw: st.DrawFn) -> bytes:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=2000))
    header = draw(st.sampled_from(HEADERS))
    separator = draw(st.sampled_from(SEPARATORS))
    lines = [header]
    for _ in range(draw(st.integers(0, 6))):
        cells = [draw(values())[:300] for _ in range(draw(st.integers(0, 9)))]
        if draw(st.booleans()):  # a plausible row with one hostile cell
            cells = ["12345", "Martin", "Jeanne", "2026", "", "", ""]
            cells[draw(st.integers(0, 6))] = draw(values())[:300]
        lines.append(separator.join(cells))
    encoding = draw(st.sampled_from(("utf-8", "utf-8-sig", "cp1252", "utf-16")))
    newline = draw(st.sampled_from(("\n", "\r\n", "\r")))
    return newline.join(lines).encode(encoding, errors="replace")


def check_record(fields: dict[str, str]) -> None:
    try:
        record = record_from_fields(fields, 2000, 2100)
    except RowRejected as rejected:
        assert str(rejected), "a rejection says why"
        return
    for name in (record.first_name, record.last_name):
        assert name and len(name) <= 100
        assert not set(name) & NAME_PROHIBITED
        assert all(ord(c) >= 32 and ord(c) != 127 for c in name)
    assert record.student_number.isascii() and record.student_number.isalnum()
    if record.ine:
        assert parse_ine(record.ine).value == record.ine
    if record.username:
        assert normalize_identifier(record.username) == record.username
    for address in (record.rescue_email, record.institutional_email):
        assert address is None or is_email_address(address)


@settings(max_examples=CASES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(data=exports())
def test_any_export_is_read_or_refused_as_a_whole(data: bytes) -> None:
    COUNT["files"] += 1
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sis.csv"
        path.write_bytes(data)
        try:
            items = list(read_export(path))
        except ExportError as refused:
            assert str(refused)
            return
    for item in items:
        COUNT["rows"] += 1
        if isinstance(item, BadRow):
            assert item.reason
        else:
            assert isinstance(item, Row)
            check_record(item.fields)


def test_zz_report() -> None:
    """Runs after the property above (file order): the count goes to the summary."""
    report(
        f"hostile input, SIS export reader: {COUNT['files']} files, {COUNT['rows']} rows, "
        "no unexpected exception"
    )
