from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from reliefsvc.audit.events import Event


@dataclass(frozen=True, kw_only=True)
class HiringRiskComputed(Event):
    """The disguised-hiring risk of a contract was (re)computed and stored."""

    event_type = "hiring.computed"
    label = _l("Disguised-hiring risk computed")
    object_type = "contract"
    object_field = "contract_id"
    contract_id: int
    contract_no: str
    result_id: int
    score: int
    level: str
    previous_level: str | None
    #: codes of the indicators that triggered
    triggered: list
    trigger: str
