"""Activation (seed 000): which way a student goes after typing their identifier."""

from __future__ import annotations

import hashlib
from enum import Enum

from bridge.domain.accounts import Account
from bridge.domain.ine import Ine, IneVerdict, compare_ine


class Branch(Enum):
    SEND_MAIL = "send_mail"  # step 3: a rescue email is on file
    ASK_INE = "ask_ine"  # step 4: none on file, prove identity with the INE first
    ALREADY_ACTIVE = "already_active"  # activated accounts go to lost password
    EXPIRED = "expired"  # disabled: enrollment over, data kept


def branch_for(account: Account) -> Branch:
    if not account.enabled:
        return Branch.EXPIRED
    if account.activated:
        return Branch.ALREADY_ACTIVE
    # A refused rescue address is as good as none: a new one, after the INE (never a mail
    # to the refused one).
    usable = account.has_rescue_email and account.rescue_email_bounced is None
    return Branch.SEND_MAIL if usable else Branch.ASK_INE


def ine_matches(ine: Ine, account: Account) -> bool:
    """Constant-time comparison: the time taken says nothing of how much matched."""
    return compare_ine(ine, account.ine) is IneVerdict.MATCH


def ine_proof_digest(nonce: str) -> str:
    """What is kept of a one-time INE proof: the browser holds the random nonce (in its
    session), the shared store only this digest, so neither alone can forge the other."""
    return hashlib.sha256(nonce.encode()).hexdigest()
