"""The web bridge's service account (client `bridge`), for the student pages: find the
student, mail the action link, keep the per-account counters, set the rescue address."""

from __future__ import annotations

from bridge.domain.accounts import Account
from bridge.domain.errors import Conflict
from bridge.gateway.keycloak.base import Gateway
from bridge.gateway.keycloak.mapping import (
    FIELDS,
    Representation,
    changed_rescue_email,
    put,
)


class StudentsGateway(Gateway):
    async def ping(self) -> None:
        """ServiceUnavailable unless Keycloak answers and grants our service token."""
        await self._ping()

    async def find_by_ine(self, ine: str) -> Account | None:
        """The account whose INE this is (exact, case-insensitive); Conflict if several
        accounts share it, which the SIS should never produce."""
        rep = await self._find_one_by("ine", ine)
        return await self.find_student(rep["username"]) if rep else None

    async def set_rescue_email(self, account: Account, address: str) -> None:
        """A new, unverified rescue address; opening the next action link verifies it."""
        await self._update(
            account.id, lambda rep: changed_rescue_email(rep, address, verified=False)
        )

    async def restore_rescue_email(
        self, account: Account, address: str | None, *, verified: bool
    ) -> None:
        """Put back the rescue address (and its verified flag) as it was before a change
        whose mail could not leave; None: the account had none. The INE proof stays spent."""

        def mutate(rep: Representation) -> None:
            if address:
                changed_rescue_email(rep, address, verified=verified)
            else:
                put(rep, "rescue_email", "")
                put(rep, "rescue_email_verified", False)

        await self._update(account.id, mutate)

    async def reload(self, account: Account) -> Account | None:
        """The same account read again (None if it is gone or its identifier changed)."""
        found = await self.find_student(account.username)
        return found if found is not None and found.id == account.id else None

    async def confirm_rescue_email(self, account: Account, address: str, previous: str) -> None:
        """The account page's change (bridge.flows.rescue_change): `address`, verified (its
        link was opened), only while the account still holds `previous` ("" for none);
        Conflict otherwise, nothing written."""

        def mutate(rep: Representation) -> None:
            on_file = str(rep.get(FIELDS["rescue_email"].key) or "")
            if on_file.lower() == address.lower():
                changed_rescue_email(rep, address, verified=True)
                return
            if on_file.lower() != previous.strip().lower():
                raise Conflict("the rescue address changed since the link was asked")
            changed_rescue_email(rep, address, verified=True)

        await self._update(account.id, mutate)
