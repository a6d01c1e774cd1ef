"""Twilio's official OpenAPI description of the create requests, for request-shape checks.

`data/twilio_create_requests.json` is the part of Twilio's `twilio_api_v2010.json`
(MIT licence, `data/LICENSE.twilio-oai`) that describes `POST .../Calls.json` and
`.../Messages.json`, with the schemas they refer to.
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
    post = _spec()["paths"][f"/2010-04-01/Accounts/{{AccountSid}}/{kind}.json"]["post"]
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
    """What in a recorded create request the official description does not allow."""
    schema = create_schema(kind)
    props: dict[str, Any] = schema["properties"]
    problems = [f"missing {k}" for k in schema.get("required", []) if k not in params]
    for name, values in params.items():
        if name not in props:
            problems.append(f"unknown parameter {name}")
            continue
        allowed = allowed_values(props[name].get("items", props[name]))
        problems += [f"{name}={v}" for v in values if allowed is not None and v not in allowed]
    return problems
