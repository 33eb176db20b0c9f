from __future__ import annotations

import pytest

from bridge.domain.accounts import mask_email


@pytest.mark.parametrize(
    ("address", "masked"),
    [
        ("jean.martin@example.org", "j***n@e***e.org"),
        ("jo@free.fr", "j***@f***e.fr"),
        ("a@b.io", "a***@b***.io"),
        ("not-an-address", "***"),
    ],
)
def test_mask_email(address: str, masked: str) -> None:
    assert mask_email(address) == masked
