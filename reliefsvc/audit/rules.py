"""Pure maths of the audit chain: canonical content, MAC, hash, verification."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class ChainRow:
    seq: int
    occurred_at: datetime
    actor_id: int | None
    actor_name: str
    remote_addr: str | None
    event_type: str
    object_type: str | None
    object_id: str | None
    payload: str
    prev_hash: str
    mac: str = ""


def canonical_payload(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def content(row: ChainRow) -> bytes:
    # The position (seq) is deliberately not part of the content: order is kept by the
    # chain of hashes, so a moved entry still verifies on its own and shows up as
    # "reordered" rather than as "changed".
    return content_of(row.occurred_at, row.actor_id, row.actor_name, row.remote_addr, row.event_type,
                      row.object_type, row.object_id, row.payload, row.prev_hash)


def content_of(occurred_at: datetime, actor_id: int | None, actor_name: str, remote_addr: str | None,
               event_type: str, object_type: str | None, object_id: str | None, payload: str,
               prev_hash: str) -> bytes:
    """:func:`content` of a row given by its fields (``record_many`` builds no ChainRow per entry)."""
    fields = [
        _timestamp(occurred_at), actor_id, actor_name, remote_addr,
        event_type, object_type, object_id, payload, prev_hash,
    ]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def compute_mac(key: bytes, row: ChainRow) -> str:
    return hmac.new(key, content(row), hashlib.sha256).hexdigest()


def row_hash(row: ChainRow) -> str:
    """The hash the next entry carries as ``prev_hash``: content and MAC together."""
    return hashlib.sha256(content(row) + row.mac.encode("ascii")).hexdigest()


@dataclass(frozen=True)
class ChainProblem:
    seq: int
    #: changed | missing | reordered | broken
    kind: str
    detail_zh: str
    detail_en: str

    def __str__(self) -> str:
        return f"{self.detail_zh} / {self.detail_en}"


def verify(rows: Iterable[ChainRow], key: bytes) -> tuple[int, ChainProblem | None]:
    """Walk the chain in ``seq`` order; return (rows checked, first problem or None)."""
    rows = list(rows)
    hashes = {row_hash(r): r.seq for r in rows}
    previous_hash = GENESIS_HASH
    expected_seq = 1
    for count, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return count, ChainProblem(
                expected_seq, "missing",
                f"第 {expected_seq} 条审计记录缺失（被删除）",
                f"entry {expected_seq} is missing (deleted)",
            )
        if not hmac.compare_digest(compute_mac(key, row), row.mac):
            return count, ChainProblem(
                row.seq, "changed",
                f"第 {row.seq} 条审计记录的内容被改动",
                f"entry {row.seq} was changed",
            )
        if row.prev_hash != previous_hash:
            origin = hashes.get(row.prev_hash)
            if origin is not None:
                return count, ChainProblem(
                    row.seq, "reordered",
                    f"第 {row.seq} 条审计记录的顺序被调换（它本应接在第 {origin} 条之后）",
                    f"entry {row.seq} was reordered (it belongs after entry {origin})",
                )
            return count, ChainProblem(
                row.seq, "broken",
                f"第 {row.seq} 条审计记录与前一条的链接断开（前面的记录被删除或替换）",
                f"entry {row.seq} does not link to the entry before it (removed or replaced)",
            )
        previous_hash = row_hash(row)
        expected_seq += 1
    return len(rows), None


# --- anchors: the head hash written outside the database (issue 15) -------------------------

@dataclass(frozen=True)
class Anchor:
    """One line of ``instance/audit-anchors.log``: the chain's head as it was on a day."""

    period: str
    seq: int
    hash: str
    #: when it was written (UTC, ISO 8601); empty in lines written before issue 15
    written_at: str
    #: "ok" when the chain verified at that moment; only those are trusted
    status: str

    def line(self) -> str:
        return f"{self.period}\t{self.seq}\t{self.hash}\t{self.written_at}\t{self.status}\n"


def parse_anchors(text: str) -> tuple[list[Anchor], list[int]]:
    """The anchors of the file, and the numbers of the lines that are not anchors."""
    anchors, bad = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) == 4:  # period, seq, hash, status
            fields = [fields[0], fields[1], fields[2], "", fields[3]]
        try:
            period, seq, digest, written_at, status = fields
            seq = int(seq)
        except ValueError:
            bad.append(number)
            continue
        if len(digest) != 64 or seq < 0:
            bad.append(number)
            continue
        anchors.append(Anchor(period, seq, digest, written_at, status))
    return anchors, bad


def check_anchors(anchors: Iterable[Anchor], head_seq: int, hash_at: dict[int, str]) -> ChainProblem | None:
    """Compare the log with what was anchored: the first anchor it contradicts, or None.

    ``head_seq`` is the highest position in the log (0 when empty), ``hash_at`` the
    ``row_hash`` of the entry at each anchored position still present. A head below an
    anchor means entries were removed from the end (truncation, which the chain itself
    cannot see); a different hash at an anchored position means the log was rewritten
    (even with the key, the new chain no longer meets the old anchor).
    """
    for anchor in anchors:
        if anchor.status != "ok" or anchor.seq == 0:
            continue
        if head_seq < anchor.seq:
            return ChainProblem(
                anchor.seq, "truncated",
                f"审计日志被截短：{anchor.period} 已锚定到第 {anchor.seq} 条，现在只有 {head_seq} 条",
                f"the audit log was truncated: anchored at entry {anchor.seq} on {anchor.period}, "
                f"now it ends at entry {head_seq}",
            )
        if hash_at.get(anchor.seq) != anchor.hash:
            return ChainProblem(
                anchor.seq, "rewritten",
                f"审计日志被改写：第 {anchor.seq} 条的哈希值与 {anchor.period} 的锚定值不符",
                f"the audit log was rewritten: entry {anchor.seq} no longer has the hash anchored on {anchor.period}",
            )
    return None
