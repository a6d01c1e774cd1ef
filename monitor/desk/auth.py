"""Who may do what: permissions by role, bearer-token checks, JSON errors."""

from __future__ import annotations

from typing import Final

from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from outreach.store.users import User, UserStore

PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    "queue:read": frozenset({"agent", "ops"}),
    "case:read": frozenset({"agent", "ops"}),
    "case:act": frozenset({"agent"}),
    "goodwill:read": frozenset({"agent", "ops", "viewer"}),
    "goodwill:act": frozenset({"agent", "ops"}),  # which offers: monitor.desk.api_goodwill
    "dashboard:read": frozenset({"ops", "viewer"}),
    "report:read": frozenset({"ops", "viewer"}),
    "me": frozenset({"agent", "ops", "viewer"}),
}


def error(status: int, code: str, detail: str = "") -> JSONResponse:
    """A JSON error: `{"error": code, "detail": ...}` with the HTTP status."""
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def bearer(conn: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def authorize(
    conn: HTTPConnection, users: UserStore, permission: str
) -> User | JSONResponse:
    """The user behind the request if their role has `permission`, else a 401/403 error."""
    token = bearer(conn)
    if token is None:
        return error(401, "missing_token", "send Authorization: Bearer <token>")
    user = await users.authenticate(token)
    if user is None:
        return error(401, "bad_token", "unknown or revoked token")
    if user.role not in PERMISSIONS[permission]:
        return error(403, "forbidden", f"role {user.role} may not {permission}")
    return user
