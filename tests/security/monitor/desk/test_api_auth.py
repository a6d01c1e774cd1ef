"""Every desk API route: no token, a wrong one, or a weaker role's token gets nothing."""

from __future__ import annotations

import pytest

from monitor.desk.api import ENDPOINTS, Endpoint
from monitor.desk.auth import PERMISSIONS
from tests.support.desk_api import DeskClient

ROLE_OF = {"ann": "agent", "olga": "ops", "vic": "viewer"}


def concrete(ep: Endpoint) -> str:
    return ep.path.replace("{case_id}", "case-x")


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
async def test_no_token_or_a_wrong_one_is_401(api: DeskClient, ep: Endpoint) -> None:
    forged = api.tokens["ann"][:-4] + "AAAA"  # right id, wrong secret
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {forged}"},
                    {"Authorization": "Bearer fc.x.y"}, {"Cookie": f"token={api.tokens['ann']}"},
                    {"Authorization": f"Basic {api.tokens['ann']}"}):
        r = await api.http.request(ep.method, concrete(ep), headers=headers, json={"to": "bob"})
        assert r.status_code == 401, (headers, r.text)


@pytest.mark.parametrize("ep", ENDPOINTS, ids=lambda e: f"{e.method} {e.path}")
async def test_a_weaker_roles_token_is_403(api: DeskClient, ep: Endpoint) -> None:
    for who, role in ROLE_OF.items():
        if role in PERMISSIONS[ep.permission]:
            continue
        r = await api.http.request(ep.method, concrete(ep), headers=api.auth(who),
                                   json={"to": "bob", "outcome": "resolved_by_call"})
        assert (r.status_code, r.json()["error"]) == (403, "forbidden"), (who, ep.path)


async def test_a_removed_users_token_stops_working(api: DeskClient) -> None:
    assert (await api.http.get("/api/me", headers=api.auth("olga"))).status_code == 200
    await api.desk.users.remove("olga")
    assert (await api.http.get("/api/me", headers=api.auth("olga"))).status_code == 401
