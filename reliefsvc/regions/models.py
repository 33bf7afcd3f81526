"""Administrative regions."""

from __future__ import annotations

import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reliefsvc.db import TimestampMixin
from reliefsvc.extensions import db


class Level(enum.StrEnum):
    COUNTY = "county"
    TOWNSHIP = "township"
    VILLAGE = "village"

    @property
    def label(self) -> str:
        return str(LEVEL_LABELS[self])

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self]


LEVEL_LABELS = {Level.COUNTY: _l("County"), Level.TOWNSHIP: _l("Township"), Level.VILLAGE: _l("Village")}
LEVEL_RANK = {Level.COUNTY: 0, Level.TOWNSHIP: 1, Level.VILLAGE: 2}


class Region(TimestampMixin, db.Model):
    __tablename__ = "region"
    __table_args__ = (
        sa.CheckConstraint("lat IS NULL OR (lat BETWEEN -90 AND 90)", name="lat_range"),
        sa.CheckConstraint("lon IS NULL OR (lon BETWEEN -180 AND 180)", name="lon_range"),
        sa.CheckConstraint("(level = 'county') = (parent_id IS NULL)", name="parent_by_level"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The statistical division code (统计用区划代码), 6 to 12 digits.
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    level: Mapped[Level] = mapped_column(sa.Enum(Level, native_enum=False, length=10,
                                                 values_callable=lambda e: [m.value for m in e]))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("region.id", ondelete="RESTRICT"), index=True)
    #: WGS-84 centre of the village (or of the town for higher levels).
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    #: Seat of the township government or county bureau: services placed here look like office work.
    office_lat: Mapped[float | None]
    office_lon: Mapped[float | None]

    parent: Mapped[Region | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Region]] = relationship(back_populates="parent", order_by="Region.code")

    def visible_to(self, user) -> bool:
        return True  # regions are public reference data

    def __repr__(self) -> str:
        return f"<Region {self.code} {self.name}>"
