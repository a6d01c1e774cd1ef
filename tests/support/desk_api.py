"""An in-process client of the desk's web app, with a token per role."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from starlette.applications import Starlette

from tests.support.desk_scenario import Desk


@dataclass
class DeskClient:
    """An API client plus a token per user name."""

    http: httpx.AsyncClient
    desk: Desk
    tokens: dict[str, str]
    app: Starlette

    def auth(self, who: str) -> dict[str, str]:
        """The `Authorization` header of user `who`."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}
