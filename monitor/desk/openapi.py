"""The OpenAPI 3.1 description, written from the endpoint table."""

from __future__ import annotations

from typing import Any

from monitor.desk.api import ENDPOINTS
from monitor.desk.auth import PERMISSIONS

ERROR = {"$ref": "#/components/schemas/Error"}


def _responses(method: str, has_body: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "200": {"description": "OK"},
        "401": {"description": "missing or bad token", "content": {"application/json":
                                                                  {"schema": ERROR}}},
        "403": {"description": "the role may not do this", "content": {"application/json":
                                                                       {"schema": ERROR}}},
    }
    if method == "POST":
        out["404"] = {"description": "no such case", "content": {"application/json":
                                                                {"schema": ERROR}}}
        out["409"] = {"description": "conflict (already claimed, not the owner, closed)",
                      "content": {"application/json": {"schema": ERROR}}}
    if has_body:
        out["400"] = {"description": "body is not a JSON object",
                      "content": {"application/json": {"schema": ERROR}}}
        out["422"] = {"description": "a field is missing or wrong",
                      "content": {"application/json": {"schema": ERROR}}}
    return out


def openapi() -> dict[str, Any]:
    """The OpenAPI document of the API."""
    paths: dict[str, dict[str, Any]] = {}
    for ep in ENDPOINTS:
        op: dict[str, Any] = {
            "summary": ep.summary,
            "operationId": ep.handler.__name__,
            "description": "Roles: " + ", ".join(sorted(PERMISSIONS[ep.permission])) + ".",
            "security": [{"bearer": []}],
            "responses": _responses(ep.method, bool(ep.body)),
        }
        params = [{"name": "case_id", "in": "path", "required": True,
                   "schema": {"type": "string"}}] if "{case_id}" in ep.path else []
        params += [{"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
                   for q in ep.query]
        if params:
            op["parameters"] = params
        if ep.body:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "properties": ep.body, "required": list(ep.required)}}}}
        paths.setdefault(ep.path, {})[ep.method.lower()] = op
    paths["/healthz"] = {"get": {"summary": "Liveness", "operationId": "health",
                                 "security": [], "responses": {"200": {"description": "OK"}}}}
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics (aggregates only)",
                                 "operationId": "metrics", "security": [],
                                 "responses": {"200": {"description": "text exposition"}}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "FirstCall support desk API", "version": "1",
                 "description": "Call queue, cases, ops dashboard and reports. Authenticate "
                                "with `Authorization: Bearer <token>` (`firstcall user add`). "
                                "Live updates: websocket `/ws`, first frame "
                                "`{\"type\": \"auth\", \"token\": ...}`."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "required": ["error"], "properties": {
                "error": {"type": "string"}, "detail": {"type": "string"}}}},
        },
    }
