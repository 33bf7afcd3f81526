"""The hash-chained audit log: ``record(event)``, ``record_many(events)`` and ``verify_log()``."""

from reliefsvc.audit.service import record, record_many, set_actor, verify_log

__all__ = ["record", "record_many", "set_actor", "verify_log"]
