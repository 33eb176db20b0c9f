"""Hostile input: a curated corpus and the hypothesis strategies built on it, shared by the
tests of the student forms, the console forms and the SIS export reader."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

import httpx
from hypothesis import strategies as st

CURATED = (
    # SQL, LDAP, template and path injection
    "' OR '1'='1",
    "jmartin001'; DROP TABLE user_entity; --",
    "*)(uid=*))(|(uid=*",
    "admin)(&)",
    "{{7*7}}",
    "${7*7}",
    "#{7*7}",
    "<%= 7*7 %>",
    "${jndi:ldap://127.0.0.1:1/a}",
    "../../../../etc/passwd",
    "%2e%2e%2f%2e%2e%2f",
    # markup and script
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "O'Brien",
    # control characters, line breaks, header injection
    "\x00",
    "jmartin001\x00admin",
    "a\r\nSet-Cookie: um_session=x",
    "\t\n\r\x0b\x0c",
    "\x1b[31m",
    # Unicode: confusables, direction overrides, invisible characters, normalisation
    "ｊｍａｒｔｉｎ００１",  # noqa: RUF001 - fullwidth on purpose
    "jmаrtin001",  # noqa: RUF001 - Cyrillic a on purpose
    "JMARTIN001",
    " jmartin001 ",
    "jmartin001\u200b",
    "\u202ejmartin001",
    "\ufeffjmartin001",
    "e\u0301",
    "Ⅻ",
    "🎓" * 40,
    # INEs: malformed, wrong check key, confusable digits, lower case
    "0123456789M",
    "0123456789m",
    "0123456789Z",
    "012345678 9M",
    "O123456789M",
    "٠١٢٣٤٥٦٧٨٩M",  # noqa: RUF001 - Arabic-Indic digits
    "1234567890AB",
    # emails: malformed, university, oversize, quoted, confusable
    "a@b",
    "a@@example.org",
    "@example.org",
    "a..b@example.org",
    "a@example..org",
    "x@umontpellier.fr",
    "x@UMONTPELLIER.FR",
    "x@etu.umontpellier.fr",
    '"a b"@example.org',
    "a@example.org\nBcc: victim@example.org",
    "a" * 300 + "@example.org",
    "a@exаmple.org",  # noqa: RUF001 - Cyrillic a
    "",
    " ",
    # sizes
    "a" * 70_000,
    "é" * 5_000,
)

_VALUES = st.one_of(
    st.sampled_from(CURATED),
    st.text(max_size=40),
    st.text(min_size=200, max_size=3000),
    st.from_regex(r"[a-z]{1,8}[0-9]{3}", fullmatch=True),
    st.from_regex(r"[0-9]{10}[A-Za-z]", fullmatch=True),
    st.emails(),
)


def values() -> st.SearchStrategy[str]:
    return _VALUES


ENCODINGS = (
    "urlencoded",
    "urlencoded",
    "urlencoded",
    "multipart",
    "json",
    "text",
    "latin-1",
    "invalid-utf8",
    "no-content-type",
    "oversize",
)
CSRF_MODES = ("valid", "valid", "valid", "missing", "wrong", "repeated")
METHODS = ("POST",) * 8 + ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class HostileRequest:
    method: str
    encoding: str
    csrf: str
    fields: list[tuple[str, str]] = field(default_factory=list)


@st.composite
def form_requests(draw: st.DrawFn, names: tuple[str, ...]) -> HostileRequest:
    """A request to a form whose fields are `names`: each one present, missing, empty or
    repeated; sometimes an unexpected field; any method, encoding and CSRF token."""
    fields: list[tuple[str, str]] = []
    for name in names:
        presence = draw(st.sampled_from(("one", "one", "one", "missing", "repeated", "empty")))
        if presence == "one":
            fields.append((name, draw(values())))
        elif presence == "repeated":
            fields += [(name, draw(values())), (name, draw(values()))]
        elif presence == "empty":
            fields.append((name, ""))
    if draw(st.integers(0, 4)) == 0:
        extra = draw(st.sampled_from(("x", "__proto__", "csrf_token[]", f"{names[:1]}[]", "é")))
        fields.append((extra, draw(values())))
    return HostileRequest(
        draw(st.sampled_from(METHODS)),
        draw(st.sampled_from(ENCODINGS)),
        draw(st.sampled_from(CSRF_MODES)),
        fields,
    )


def with_csrf(request: HostileRequest, token: str) -> list[tuple[str, str]]:
    fields = list(request.fields)
    if request.csrf == "valid":
        fields.append(("csrf_token", token))
    elif request.csrf == "wrong":
        fields.append(("csrf_token", token[::-1]))
    elif request.csrf == "repeated":
        fields += [("csrf_token", "forged"), ("csrf_token", token)]
    return fields


def send(
    client: httpx.Client, url: str, request: HostileRequest, token: str, cookies: str
) -> httpx.Response:
    """Send `request` to `url` with the given Cookie header, as a browser never would."""
    fields = with_csrf(request, token)
    headers = {"accept": "text/html", "cookie": cookies}
    content: bytes | None = None
    files = None
    data = None
    if request.encoding == "urlencoded":
        content = urlencode(fields).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif request.encoding == "multipart":
        data = {}
        for name, value in fields:
            data.setdefault(name, []).append(value)
        files = {"upload": ("x.csv", b"\x00\xff hostile", "application/octet-stream")}
    elif request.encoding == "json":
        content = json.dumps(dict(fields)).encode()
        headers["content-type"] = "application/json"
    elif request.encoding == "text":
        content = "\n".join(f"{k}={v}" for k, v in fields).encode()
        headers["content-type"] = "text/plain"
    elif request.encoding == "latin-1":
        content = urlencode(fields, encoding="latin-1", errors="replace").encode()
        headers["content-type"] = "application/x-www-form-urlencoded; charset=latin-1"
    elif request.encoding == "invalid-utf8":
        content = urlencode(fields).encode() + b"&identifier=%FF%FE%00&\xff\xfe=\xc3\x28"
        headers["content-type"] = "application/x-www-form-urlencoded"
    elif request.encoding == "no-content-type":
        content = urlencode(fields).encode()
    elif request.encoding == "oversize":
        content = urlencode([*fields, ("pad", "x" * 200_000)]).encode()
        headers["content-type"] = "application/x-www-form-urlencoded"
    client.cookies.clear()
    return client.request(
        request.method, url, content=content, data=data, files=files, headers=headers
    )


@st.composite
def query_strings(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    # Values capped at 4,000 characters: the URL must stay under httpx's 64 KiB limit.
    pairs = [(name, draw(values())[:4000]) for name in names if draw(st.booleans())]
    if draw(st.booleans()):
        pairs.append((draw(st.sampled_from(names)), draw(values())[:4000]))
    return urlencode(pairs)


@st.composite
def path_segments(draw: st.DrawFn) -> str:
    """One URL path segment, percent-encoded so that it stays one segment."""
    return quote(draw(values())[:500], safe="")
