"""Secrets inside URL-shaped settings (a DSN's password, a webhook's `key=`), masked for display."""

from __future__ import annotations

import re
import urllib.parse
from typing import Final

MASK: Final = "***"
# Query keys whose values are secrets: key, api_key, token, access_token, secret, password, sig...
SECRET_KEY: Final = re.compile(r"(key|token|secret|passw(or)?d|pwd|sig(nature)?|auth|credential)",
                               re.IGNORECASE)


def _mask_query(query: str) -> str:
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    if not pairs:
        return query
    masked = [(k, MASK if v and SECRET_KEY.search(k) else v) for k, v in pairs]
    return urllib.parse.urlencode(masked, safe="*")


def mask_url(value: str) -> str:
    """`value` with a URL's password (user:***@host) and secret query values masked."""
    if "://" not in value:
        return value
    try:
        parts = urllib.parse.urlsplit(value)
    except ValueError:
        return MASK  # unparseable: show nothing of it rather than a secret
    netloc = parts.netloc
    userinfo, at, host = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.split(':', 1)[0]}:{MASK}@{host}"
    elif at and parts.scheme in ("http", "https"):
        netloc = f"{MASK}@{host}"  # a web URL's user part alone is a credential (token@host)
    query = _mask_query(parts.query)
    if (netloc, query) == (parts.netloc, parts.query):
        return value  # nothing secret: as written (urlunsplit would drop sqlite's empty host)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc, query=query))
