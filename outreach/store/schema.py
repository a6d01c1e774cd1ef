"""Every table of the case database, as the code declares it (what `upgrade head` must build)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import MetaData

from outreach.store.desk_models import desk_metadata
from outreach.store.models import metadata as case_metadata

SCHEMA: Final[tuple[MetaData, ...]] = (case_metadata, desk_metadata)
