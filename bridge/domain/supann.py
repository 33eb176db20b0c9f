"""The SupAnn / eduPerson words campus applications match a person on (the vocabulary of
French higher education's directories, which Shibboleth-era and OIDC apps alike expect).

- eduPersonPrincipalName: `identifier@scope`, the scope being the university's own domain;
  unique as the identifier is, and written by provisioning (bridge.flows.provisioning).
- eduPersonPrimaryAffiliation: the one value of eduPersonAffiliation that says what the
  person mainly is here. The accounts are the SIS's students: `student` comes first, even
  for a student who also holds a campus job (`employee`).
"""

from __future__ import annotations

from collections.abc import Iterable

# The values the realm's user profile accepts for eduPersonAffiliation, in the order the
# primary one is chosen.
PRIMARY_PRECEDENCE = ("student", "faculty", "staff", "employee", "affiliate", "alum", "member")


def principal_name(identifier: str, scope: str) -> str:
    return f"{identifier}@{scope.lower()}"


def primary_affiliation(affiliations: Iterable[str]) -> str | None:
    held = set(affiliations)
    return next((a for a in PRIMARY_PRECEDENCE if a in held), None)
