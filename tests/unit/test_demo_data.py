from __future__ import annotations

from pathlib import Path

import pytest

from devstack.demo import STATES, read_demo_csv


def test_demo_csv_covers_each_case_of_the_seeds() -> None:
    rows = read_demo_csv()
    states = [state for _, state in rows]
    assert set(states) == set(STATES)
    pending = [record for record, state in rows if state == "pending"]
    assert any(r.rescue_email for r in pending) and any(not r.rescue_email for r in pending)
    assert all(r.ine for r, _ in rows)  # valid INEs: read_demo_csv parses them


def test_bad_demo_state_is_reported_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    header = (
        "username,first_name,last_name,student_number,ine,rescue_email,"
        "institutional_email,last_enrollment_year,demo_state\n"
    )
    path.write_text(
        header + "x001,A,B,1,0123456789M,,,2026,pending\nx002,A,B,2,0123456789M,,,2026,weird\n"
    )
    with pytest.raises(ValueError, match=r"bad\.csv:3: unknown demo_state 'weird'"):
        read_demo_csv(path)
