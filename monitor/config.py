"""Configuration: defaults < config file (TOML or JSON) < FIRSTCALL_* env vars < --set.

The file has sections `[detection]` and `[outreach]` whose keys are the field
names of :class:`DetectionConfig` and :class:`PolicyConfig`. An environment
variable `FIRSTCALL_<FIELD>` (e.g. `FIRSTCALL_SILENCE_MS=8000`) sets a field.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

from detectors.config import DetectionConfig
from outreach.decision import PolicyConfig

ENV_PREFIX = "FIRSTCALL_"
T = TypeVar("T", DetectionConfig, PolicyConfig)


def read_file(path: str | None) -> dict[str, Any]:
    """Parse a TOML or JSON config file (empty when no path)."""
    if not path:
        return {}
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        parsed = json.loads(data) if path.endswith(".json") else tomllib.loads(data.decode())
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"{path}: expected a table of sections")
    return parsed


def _coerce(cls: type[Any], name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(cls)}[name]
    text = str(kind)
    try:
        if "int" in text and "float" not in text:
            return int(value)
        if "float" in text:
            return float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected a number, got {value!r}") from exc
    return value


def build(cls: type[T], section: Mapping[str, Any], env: Mapping[str, str],
          overrides: Sequence[str]) -> T:
    """Merge the layers for one settings class."""
    names = {f.name for f in fields(cls)}
    values: dict[str, Any] = {}
    for k, v in section.items():
        if k not in names:
            raise ValueError(f"unknown setting {k!r} (known: {', '.join(sorted(names))})")
        values[k] = _coerce(cls, k, v)
    for name in names:
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(cls, name, raw)
    for item in overrides:
        key, sep, val = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        if key in names:
            values[key] = _coerce(cls, key, val.strip())
    return cls(**values)


def _check_overrides(overrides: Sequence[str]) -> None:
    known = {f.name for f in fields(DetectionConfig)} | {f.name for f in fields(PolicyConfig)}
    for item in overrides:
        key = item.partition("=")[0].strip()
        if key not in known:
            raise ValueError(f"--set {key}: unknown setting")


def load_detection_config(path: str | None = None, overrides: Sequence[str] = (),
                          env: Mapping[str, str] | None = None) -> DetectionConfig:
    """Detection thresholds from all layers."""
    _check_overrides(overrides)
    data = read_file(path)
    return build(DetectionConfig, data.get("detection", {}),
                 os.environ if env is None else env, overrides)


def load_policy_config(path: str | None = None, overrides: Sequence[str] = (),
                       env: Mapping[str, str] | None = None) -> PolicyConfig:
    """Outreach policy settings from all layers."""
    _check_overrides(overrides)
    data = read_file(path)
    return build(PolicyConfig, data.get("outreach", {}),
                 os.environ if env is None else env, overrides)
