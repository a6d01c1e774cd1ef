"""Detection and outreach settings for the commands: a thin view of monitor.platform.settings.

Defaults < config file (TOML/JSON sections `[detection]`, `[outreach]`, ...) <
`FIRSTCALL_*` environment variables < `--set NAME=VALUE`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from detectors.config import DetectionConfig
from monitor.platform.settings import ConfigError, Settings, load_settings
from outreach.decide.decision import PolicyConfig


def load_detection_config(path: str | None = None, overrides: Sequence[str] = (),
                          env: Mapping[str, str] | None = None) -> DetectionConfig:
    """Detection thresholds from all layers (ValueError listing every problem)."""
    return _load(path, overrides, env).detection_config()


def load_policy_config(path: str | None = None, overrides: Sequence[str] = (),
                       env: Mapping[str, str] | None = None) -> PolicyConfig:
    """Outreach policy settings from all layers (ValueError listing every problem)."""
    return _load(path, overrides, env).policy_config()


def _load(path: str | None, overrides: Sequence[str], env: Mapping[str, str] | None
          ) -> Settings:
    try:
        return load_settings(path, env, overrides)
    except ConfigError as exc:
        raise ValueError("; ".join(str(p) for p in exc.problems)) from exc
