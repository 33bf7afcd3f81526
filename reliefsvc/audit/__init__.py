"""The hash-chained audit log: ``record(event)`` and ``verify_log()``."""

from reliefsvc.audit.service import record, set_actor, verify_log

__all__ = ["record", "set_actor", "verify_log"]
