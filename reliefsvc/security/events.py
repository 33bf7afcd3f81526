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
    #: issue 15: "password", "second_factor", "locked", "rate_limited", "demo_password"
    reason: str = "password"


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


@dataclass(frozen=True, kw_only=True)
class PersonalDataExported(Event):
    """Someone downloaded a file with personal data (names, ID numbers, addresses, positions)."""

    event_type = "personal_data.exported"
    label = _l("Personal data exported")
    #: what was exported, e.g. "cases.export" or "ledgers.case_services"
    what: str
    reason: str
    rows: int
    filters: dict


# --- identity and separation of duties (issue 15) ------------------------------------------

@dataclass(frozen=True, kw_only=True)
class AccountLocked(Event):
    event_type = "user.locked"
    label = _l("Account locked after failed logins")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    failures: int
    until: str


@dataclass(frozen=True, kw_only=True)
class AccountUnlocked(Event):
    event_type = "user.unlocked"
    label = _l("Account unlocked")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    username: str


@dataclass(frozen=True, kw_only=True)
class PasswordChanged(Event):
    event_type = "user.password_changed"
    label = _l("Password changed")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    #: "user" (on the change page), "expired", "forced", "cli", "reset" (by the security administrator)
    how: str


@dataclass(frozen=True, kw_only=True)
class PasswordRefused(Event):
    """A new password the policy refused (which rule; never the password)."""

    event_type = "user.password_refused"
    label = _l("New password refused")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    rules: list


@dataclass(frozen=True, kw_only=True)
class SecondFactorEnrolled(Event):
    event_type = "user.totp_enrolled"
    label = _l("Second factor set up")
    object_type = "user"
    object_field = "user_id"
    user_id: int


@dataclass(frozen=True, kw_only=True)
class SecondFactorReset(Event):
    event_type = "user.totp_reset"
    label = _l("Second factor reset")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    username: str


@dataclass(frozen=True, kw_only=True)
class RecoveryCodeUsed(Event):
    event_type = "user.recovery_code_used"
    label = _l("Recovery code used")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    remaining: int


@dataclass(frozen=True, kw_only=True)
class RoleChanged(Event):
    event_type = "user.role_changed"
    label = _l("Role changed")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    username: str
    old_role: str
    new_role: str


@dataclass(frozen=True, kw_only=True)
class RoleChangeRefused(Event):
    event_type = "user.role_change_refused"
    label = _l("Role change refused")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    new_role: str
    why: str


@dataclass(frozen=True, kw_only=True)
class SessionEnded(Event):
    """A session ended by the server: idle, too old, or outdated by a password change."""

    event_type = "user.session_ended"
    label = _l("Session ended")
    object_type = "user"
    object_field = "user_id"
    user_id: int
    reason: str
