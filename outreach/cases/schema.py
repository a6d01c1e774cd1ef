"""Every table of the case database, as the code declares it (what `upgrade head` must build)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import MetaData

from outreach.cases.models import metadata as case_metadata
from outreach.desk_models import desk_metadata

SCHEMA: Final[tuple[MetaData, ...]] = (case_metadata, desk_metadata)
