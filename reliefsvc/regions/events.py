from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import Event


@dataclass(frozen=True, kw_only=True)
class RegionsImported(Event):
    event_type = "regions.imported"
    label = _l("Regions imported")
    filename: str
    sha256: str
    imported: int
    updated: int
    rejected: int
