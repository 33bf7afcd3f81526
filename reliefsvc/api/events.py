from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import OBJECT_LABELS, Event

OBJECT_LABELS["api_token"] = _l("Access token")


@dataclass(frozen=True, kw_only=True)
class TokenCreated(Event):
    event_type = "api.token_created"
    label = _l("Access token created")
    object_type = "api_token"
    object_field = "token_id"
    token_id: int
    user_id: int
    name: str
    prefix: str
    role: str
    expires_at: str


@dataclass(frozen=True, kw_only=True)
class TokenRevoked(Event):
    event_type = "api.token_revoked"
    label = _l("Access token revoked")
    object_type = "api_token"
    object_field = "token_id"
    token_id: int
    user_id: int
    prefix: str
    by_admin: bool


@dataclass(frozen=True, kw_only=True)
class CasesSynced(Event):
    event_type = "api.cases_synced"
    label = _l("Cases synchronised with the provincial export")
    filename: str
    sha256: str
    added: int
    changed: int
    closed: int
    closed_refs: list[str]
