from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import Event


@dataclass(frozen=True, kw_only=True)
class UserCreated(Event):
    event_type = "user.created"
    label = _l("Account created")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    username: str
    role: str
    organisation: str | None


@dataclass(frozen=True, kw_only=True)
class UserEnabledChanged(Event):
    event_type = "user.enabled_changed"
    label = _l("Account enabled or disabled")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    username: str
    enabled: bool


@dataclass(frozen=True, kw_only=True)
class LoggedIn(Event):
    event_type = "user.logged_in"
    label = _l("Logged in")
    object_type = "user"
    object_field = "user_id"
    user_id: int


@dataclass(frozen=True, kw_only=True)
class LoginFailed(Event):
    event_type = "user.login_failed"
    label = _l("Failed login")
    username: str


@dataclass(frozen=True, kw_only=True)
class LoggedOut(Event):
    event_type = "user.logged_out"
    label = _l("Logged out")
    object_type = "user"
    object_field = "user_id"
    user_id: int


@dataclass(frozen=True, kw_only=True)
class OrganisationCreated(Event):
    event_type = "organisation.created"
    label = _l("Organisation created")
    object_type = "organisation"
    object_field = "organisation_id"
    organisation_id: int
    name: str
    kind: str
