"""The one error shape of the platform: what went wrong, in Chinese and in English."""

from __future__ import annotations


class BilingualError(ValueError):
    """Refused input or an operation that cannot be done.

    ``zh`` is shown to Chinese users (and in import reports), ``en`` to English ones and
    in logs; ``field``, when known, names the form field or file column at fault.
    """

    def __init__(self, zh: str, en: str, field: str | None = None):
        super().__init__(en)
        self.zh, self.en, self.field = zh, en, field
