"""Enums whose members carry a label for people (a lazy gettext string per value)."""

from __future__ import annotations

import enum


class LabelledEnum(enum.StrEnum):
    """A ``str`` enum; the subclass sets ``LABELS = {value: _l("...")}`` after its members."""

    @property
    def label(self) -> str:
        return str(self.__class__.LABELS[self.value])  # type: ignore[attr-defined]
