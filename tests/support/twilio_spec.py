"""Twilio's official OpenAPI description of the create requests, for request-shape checks.

`data/twilio_create_requests.json` is the part of Twilio's `twilio_api_v2010.json`
(MIT licence, `data/LICENSE.twilio-oai`) that describes `POST .../Calls.json` and
`.../Messages.json`, `POST .../Calls/{Sid}.json` (update), `GET .../Calls.json`
(list) and `GET .../{Calls|Messages}/{Sid}.json` (fetch), with the schemas they refer to.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parent / "data" / "twilio_create_requests.json"


@cache
def _spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC.read_text())
    return data


def create_schema(kind: str) -> dict[str, Any]:
    """The form schema of `POST .../Calls.json` or `.../Messages.json`."""
    return _form_schema(f"/2010-04-01/Accounts/{{AccountSid}}/{kind}.json")


def update_schema() -> dict[str, Any]:
    """The form schema of `POST .../Calls/{Sid}.json` (update a call in progress)."""
    return _form_schema("/2010-04-01/Accounts/{AccountSid}/Calls/{Sid}.json")


def list_parameters() -> set[str]:
    """The query parameters `GET .../Calls.json` takes."""
    get = _spec()["paths"]["/2010-04-01/Accounts/{AccountSid}/Calls.json"]["get"]
    return {p["name"] for p in get["parameters"] if p["in"] == "query"}


def fetch_problems(kind: str, answer: dict[str, Any]) -> list[str]:
    """What in a fetched call or message (kind `Calls` or `Messages`) the description forbids."""
    get = _spec()["paths"][f"/2010-04-01/Accounts/{{AccountSid}}/{kind}/{{Sid}}.json"]["get"]
    ref = get["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    props: dict[str, Any] = _schema(ref)["properties"]
    problems = [f"missing {k}" for k in props if k not in answer]
    problems += [f"unknown field {k}" for k in answer if k not in props]
    allowed = allowed_values(_schema(props["status"]["$ref"]))
    if allowed is not None and answer.get("status") not in allowed:
        problems.append(f"status={answer.get('status')}")
    return problems


def _schema(ref: str) -> dict[str, Any]:
    found: dict[str, Any] = _spec()["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return found


def _form_schema(path: str) -> dict[str, Any]:
    post = _spec()["paths"][path]["post"]
    schema: dict[str, Any] = post["requestBody"]["content"][
        "application/x-www-form-urlencoded"]["schema"]
    return schema


def allowed_values(prop: dict[str, Any]) -> set[str] | None:
    """A property's enum, or the values its description lists after `Can be:` (None: free)."""
    if "enum" in prop:
        return set(prop["enum"])
    found = re.search(r"Can be: ([^.]*)\.", prop.get("description", ""))
    return set(re.findall(r"`([^`]+)`", found[1])) if found else None


def shape_problems(kind: str, params: dict[str, list[str]]) -> list[str]:
    """What in a recorded create (or, for kind `Call`, update) request the description forbids."""
    schema = update_schema() if kind == "Call" else create_schema(kind)
    props: dict[str, Any] = schema["properties"]
    problems = [f"missing {k}" for k in schema.get("required", []) if k not in params]
    for name, values in params.items():
        if name not in props:
            problems.append(f"unknown parameter {name}")
            continue
        prop = props[name].get("items", props[name])
        if "$ref" in prop:
            prop = _spec()["components"]["schemas"][prop["$ref"].rsplit("/", 1)[1]]
        allowed = allowed_values(prop)
        problems += [f"{name}={v}" for v in values if allowed is not None and v not in allowed]
    return problems
