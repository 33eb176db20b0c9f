"""Expiry reminders: one mail per account per cycle, in the student's language."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import pytest

from bridge.gateway.keycloak import ProvisioningGateway
from bridge.jobs.remind import remind
from bridge.settings import SmtpSettings
from tests.helpers.mailbox import mails_for, text_of, wait_for_mails

pytestmark = pytest.mark.anyio


def expiring_2045(make_user: Any, **attributes: list[str]) -> dict[str, Any]:
    return make_user(
        attributes={
            "supannEtuId": [secrets.token_hex(4)],
            "lastEnrollmentYear": ["2044"],
            "validUntil": ["2045-12-31"],
            **attributes,
        }
    )


async def test_one_reminder_per_cycle(
    stack: Any, jobs_gateway: ProvisioningGateway, make_user: Any
) -> None:
    french = expiring_2045(make_user)
    english = expiring_2045(make_user, locale=["en"])
    smtp = SmtpSettings(host="127.0.0.1", port=stack.smtp_port, starttls=False)

    too_early = await remind(jobs_gateway, dt.date(2045, 11, 1), 30, smtp)
    assert too_early.sent == 0

    first = await remind(jobs_gateway, dt.date(2045, 12, 1), 30, smtp)
    assert {french["username"], english["username"]} <= set(first.usernames)
    [fr_mail] = wait_for_mails(stack.mail_dir, french["email"])
    assert fr_mail["Subject"] == "Votre compte informatique expire le 31/12/2045"
    assert "Vos données sont conservées" in text_of(fr_mail)
    [en_mail] = wait_for_mails(stack.mail_dir, english["email"])
    assert en_mail["Subject"] == "Your IT account expires on December 31, 2045"

    second = await remind(jobs_gateway, dt.date(2045, 12, 2), 30, smtp)
    assert french["username"] not in second.usernames
    assert second.already_sent >= 2
    assert len(mails_for(stack.mail_dir, french["email"])) == 1  # one mail, not two
