"""Pure maths of random spot checks (随机抽查): the draw, its verification, sample sizes,
the false-service estimate with its confidence interval, escalation, and the assignment of
drawn records to evaluators.

Plain data in, plain data out; the standard library only. The draw follows
``spec/interchange.md`` ("Spot-check draw") to the letter, because outside auditors
recompute it with nothing but SHA-256; ``docs/spotchecks.md`` explains every choice made
where the spec is silent.
"""

from __future__ import annotations

import csv
import hashlib
import heapq
import io
import math
import re
from bisect import insort
from collections import Counter, deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from itertools import count, islice

from reliefsvc.spotchecks import stats

RANDOM = "random"
RISK = "risk"
STRATA = (RANDOM, RISK)
CSV_HEADER = ("record_ref", "ticket", "stratum")

# A published file that is wrong everywhere should still give a readable answer.
MAX_DIFFERENCES = 200

_HEX_TICKET = re.compile(r"[0-9a-fA-F]{64}")

Number = float | int | Decimal | Fraction | str


# ---------------------------------------------------------------------------------------
# The draw
# ---------------------------------------------------------------------------------------


def ticket(seed: str, record_ref: str) -> int:
    """The record's lottery ticket: SHA-256 of ``seed|record_ref`` as a 256-bit integer.

    Nobody can choose or foresee it before the seed is published, and anybody can
    recompute it afterwards.
    """
    return int.from_bytes(hashlib.sha256(f"{seed}|{record_ref}".encode()).digest(), "big")


def ticket_hex(value: int) -> str:
    """A ticket as the 64 lowercase hex digits of the published CSV."""
    if not 0 <= value < 1 << 256:
        raise ValueError("a ticket is a 256-bit non-negative integer")
    return f"{value:064x}"


def frame_hash(record_refs: Iterable[str]) -> str:
    """SHA-256 (hex) of the sampling frame, fixed before the seed is known.

    The refs are sorted in Python string order (by code point, which for UTF-8 is also
    byte order, so ``LC_ALL=C sort`` agrees), joined with ``"\\n"`` without a trailing
    newline, and encoded as UTF-8. An empty frame hashes the empty string.
    """
    return Frame.of(record_refs).digest


@dataclass(frozen=True)
class DrawRow:
    record_ref: str
    ticket: int
    stratum: str

    @property
    def ticket_hex(self) -> str:
        return ticket_hex(self.ticket)


@dataclass(frozen=True)
class Draw:
    """A drawn sample: the random stratum, then the risk stratum, each by ascending ticket.

    The frame and the risk scores the draw was made from are kept (out of ``repr`` and
    equality) so that :func:`escalate` grows the sample over the same frozen frame.
    """

    seed: str
    #: The random-stratum size asked for; the stratum holds fewer records only when the
    #: population is smaller.
    size: int
    #: The risk-stratum size asked for.
    risk_size: int
    frame_hash: str
    population_size: int
    rows: tuple[DrawRow, ...]
    frame: tuple[str, ...] = field(repr=False, compare=False)
    risk_scores: Mapping[str, float] | None = field(repr=False, compare=False)

    @property
    def random_rows(self) -> tuple[DrawRow, ...]:
        return tuple(row for row in self.rows if row.stratum == RANDOM)

    @property
    def risk_rows(self) -> tuple[DrawRow, ...]:
        return tuple(row for row in self.rows if row.stratum == RISK)

    @property
    def refs(self) -> tuple[str, ...]:
        return tuple(row.record_ref for row in self.rows)

    def to_csv(self) -> str:
        """The published file: header ``record_ref,ticket,stratum``, ``\\n`` line ends."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for row in self.rows:
            writer.writerow((row.record_ref, row.ticket_hex, row.stratum))
        return buffer.getvalue()


def draw(
    population_refs: Iterable[str],
    seed: str,
    size: int,
    risk_scores: Mapping[str, float] | None = None,
    risk_size: int = 0,
) -> Draw:
    """Draw the ``size`` records with the smallest tickets, then the ``risk_size``
    highest-risk records not already drawn.

    Risk scores are non-negative; a record without one counts as 0.0, so the risk stratum
    is filled whenever the population allows. Ties in risk are broken by the smaller
    ticket, so that among equally risky records the seed, not the order of the ledger,
    decides. The population is taken as given (it is the frame); a size larger than the
    population takes everybody.
    """
    return _draw(Frame.of(population_refs), seed, size, risk_scores, risk_size)


def draw_frame(
    frame: Frame,
    seed: str,
    size: int,
    risk_scores: Mapping[str, float] | None = None,
    risk_size: int = 0,
) -> Draw:
    """:func:`draw` over a frame already checked and hashed (:meth:`Frame.of`): the same
    draw, without checking, sorting and hashing a million refs again (issue 16)."""
    return _draw(frame, seed, size, risk_scores, risk_size)


@dataclass(frozen=True)
class Frame:
    """A checked sampling frame: the refs as given, their set, the frame as the spec
    hashes it (``text``: sorted, joined with ``"\\n"``) and its SHA-256 (``digest``)."""

    refs: tuple[str, ...]
    members: frozenset[str]
    digest: str
    text: str = field(repr=False, compare=False)

    @classmethod
    def of(cls, record_refs: Iterable[str]) -> Frame:
        refs = tuple(record_refs)
        # The checks run at C speed on the whole frame first; only a failing frame is
        # walked ref by ref to name the culprit.
        try:
            joined = "\n".join(refs)
        except TypeError:
            joined = None
        members = frozenset(refs) if joined is not None else frozenset()
        if (
            joined is None
            # A line break inside a ref would make two different frames hash alike.
            or joined.count("\n") != max(len(refs) - 1, 0)
            or "\r" in joined
            or "" in members
            or len(members) != len(refs)
        ):
            _name_bad_ref(refs)
        # Refs that come sorted (the platform sorts them) are hashed as joined for the check.
        ordered = tuple(sorted(refs))
        text = joined if ordered == refs else "\n".join(ordered)
        return cls(refs, members, hashlib.sha256(text.encode()).hexdigest(), text)

    @classmethod
    def of_text(cls, text: str) -> Frame:
        """The frame stored as ``text`` (sorted refs, one a line), checked again."""
        return cls.of(text.split("\n") if text else ())


def _name_bad_ref(refs: Sequence[object]) -> None:
    seen = set()
    for ref in refs:
        if not isinstance(ref, str) or not ref:
            raise ValueError(f"a record_ref must be a non-empty string, got {ref!r}")
        if "\n" in ref or "\r" in ref:
            raise ValueError(f"a record_ref cannot contain a line break: {ref!r}")
        if ref in seen:
            raise ValueError(f"record_ref {ref!r} appears twice in the population")
        seen.add(ref)


def _draw(
    frame: Frame,
    seed: str,
    size: int,
    risk_scores: Mapping[str, float] | None,
    risk_size: int,
) -> Draw:
    if not isinstance(seed, str) or not seed:
        raise ValueError("the seed must be a non-empty string")
    if size < 0 or risk_size < 0:
        raise ValueError("sample sizes cannot be negative")
    if risk_size and risk_scores is None:
        raise ValueError("a risk stratum needs risk scores")
    scores = _checked_scores(risk_scores) if risk_scores is not None else None

    # One pass over the population keeps the size + K smallest tickets (_smallest:
    # O(N) time when size + K is far below N, O(size + K) memory). The first `size` are the
    # random stratum; the K after them are what the risk stratum falls back on when too few
    # records carry a positive score (see _risk_stratum). The ticket is spelled out
    # inline: the same bytes as ticket() (SHA-256 of "seed|" then the ref, from a copy of
    # the hash of the prefix). Tickets are compared as their 32-byte big-endian digests,
    # which order exactly as the integers do; only the drawn ones become integers.
    keyed = hashlib.sha256(f"{seed}|".encode()).copy

    def digest(ref: str) -> bytes:
        h = keyed()
        h.update(ref.encode())
        return h.digest()

    head = [(int.from_bytes(value, "big"), ref)
            for value, ref in _smallest(size + risk_size, zip(map(digest, frame.refs), frame.refs, strict=True))]
    rows = [DrawRow(ref, value, RANDOM) for value, ref in head[:size]]
    if risk_size and scores is not None:
        drawn = {row.record_ref for row in rows}
        rows.extend(_risk_stratum(frame, seed, scores, risk_size, drawn, head[size:]))

    return Draw(
        seed=seed,
        size=size,
        risk_size=risk_size,
        frame_hash=frame.digest,
        population_size=len(frame.refs),
        rows=tuple(rows),
        frame=frame.refs,
        risk_scores=scores,
    )


def _smallest(n: int, pairs: Iterator[tuple[bytes, str]]) -> list[tuple[bytes, str]]:
    """``heapq.nsmallest(n, pairs)``, equal result (ascending), without a new tuple per
    item: the loop unpacks each pair at once, so zip reuses it, and a million records add
    no million tuples for the garbage collector to count (issue 16). Beyond the first n, an item is kept only
    when it is below the largest kept one (about n * ln(N / n) times in N)."""
    head = sorted(islice(pairs, n))
    if head:
        top = head[-1][0]
        for value, ref in pairs:
            if value <= top:  # an equal ticket (never seen with SHA-256): the ref decides, as in nsmallest
                insort(head, (value, ref))
                head.pop()
                top = head[-1][0]
    return head


def _risk_stratum(
    frame: Frame,
    seed: str,
    scores: Mapping[str, float],
    risk_size: int,
    drawn: set[str],
    next_by_ticket: list[tuple[int, str]],
) -> list[DrawRow]:
    """The K records not drawn yet with the highest score, ties by the smaller ticket."""
    positive = [
        (-score, ref)
        for ref, score in scores.items()
        if score > 0 and ref in frame.members and ref not in drawn
    ]
    if len(positive) > risk_size:
        # Only records at or above the K-th highest score can make the stratum, so tickets
        # are computed for those alone.
        threshold = heapq.nsmallest(risk_size, positive)[-1][0]
        positive = [item for item in positive if item[0] <= threshold]
    chosen = heapq.nsmallest(risk_size, ((neg, ticket(seed, ref), ref) for neg, ref in positive))
    if len(chosen) < risk_size:
        # Every record with a positive score is in; the rest all score zero and go by
        # ticket. They are among the K smallest tickets after the random stratum: of
        # those K, at most len(chosen) can have a positive score.
        fill = [
            (0.0, value, ref)
            for value, ref in next_by_ticket
            if scores.get(ref, 0.0) <= 0
        ]
        chosen.extend(fill[: risk_size - len(chosen)])
    return [DrawRow(ref, value, RISK) for _, value, ref in sorted(chosen, key=lambda c: c[1])]


def escalate(previous: Draw, new_size: int) -> Draw:
    """Grow the random stratum to ``new_size`` over the same frozen frame and seed.

    The next-smallest tickets are added, so the earlier random stratum is always the
    start of the new one. The risk stratum keeps its size; a risk record whose ticket now
    falls into the random stratum moves there (its check counts for the estimate from
    then on), and the next-riskiest record takes its place, so with unchanged scores no
    record once drawn ever leaves the sample.
    """
    if new_size < previous.size:
        raise ValueError("escalation cannot shrink a sample")
    frame = Frame(previous.frame, frozenset(previous.frame), previous.frame_hash, "")
    return _draw(frame, previous.seed, new_size, previous.risk_scores, previous.risk_size)


def newly_drawn(previous: Draw, escalated: Draw) -> list[DrawRow]:
    """The rows of an escalated draw that still need a check."""
    already = set(previous.refs)
    return [row for row in escalated.rows if row.record_ref not in already]


def _checked_scores(risk_scores: Mapping[str, float]) -> dict[str, float]:
    scores = {}
    for ref, value in risk_scores.items():
        number = float(value)
        # NaN would make the ranking depend on the order of the ledger; a negative score
        # would rank below the records that have none.
        if not math.isfinite(number) or number < 0:
            raise ValueError(f"risk score of {ref!r} must be a finite non-negative number")
        scores[ref] = number
    return scores


# ---------------------------------------------------------------------------------------
# Verification of a published draw
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifyResult:
    #: The published rows are exactly what the seed and the population recompute to.
    matches: bool
    #: The population's frame hash equals the one stored with the draw.
    frame_unchanged: bool
    #: One sentence per discrepancy, naming the row (header = row 1) where it has one.
    differences: list[str]
    #: What could not be checked, and why (e.g. no risk scores given).
    notes: list[str] = field(default_factory=list)
    frame_hash: str = ""

    @property
    def ok(self) -> bool:
        """Both hold: the condition for ``spotcheck verify`` to exit 0."""
        return self.matches and self.frame_unchanged


@dataclass(frozen=True)
class _PublishedRow:
    row: int
    record_ref: str
    ticket_text: str
    stratum: str


def verify(
    published_csv_text: str,
    population_refs: Iterable[str] | Frame,
    seed: str,
    risk_scores: Mapping[str, float] | None = None,
    *,
    expected_frame_hash: str,
    size: int | None = None,
    risk_size: int | None = None,
) -> VerifyResult:
    """Recompute a published draw from the population as it stands.

    The random stratum is always checked in full, so a verifier needs only the seed and
    the population. Pass the announced ``size`` (and ``risk_size``) when known: without
    them the sizes are read from the file, and a stratum cut short at its end would still
    look like a smaller draw. The risk stratum is recomputed when the risk scores are
    given; without them each risk row is still checked for its ticket, its membership of
    the population, not belonging to the random stratum, and ascending order.
    """
    frame = population_refs if isinstance(population_refs, Frame) else Frame.of(population_refs)
    current_hash = frame.digest
    frame_unchanged = current_hash == expected_frame_hash.strip().lower()
    differences: list[str] = []
    notes: list[str] = []

    published = _parse_published(published_csv_text, differences)
    if published is None:
        return VerifyResult(False, frame_unchanged, differences, notes, current_hash)

    population = frame.members
    first_risk_row = None
    for row in published:
        if row.stratum not in STRATA:
            differences.append(
                f"row {row.row}: unknown stratum {row.stratum!r} (expected random or risk)"
            )
        elif row.stratum == RISK and first_risk_row is None:
            first_risk_row = row.row
        elif row.stratum == RANDOM and first_risk_row is not None:
            differences.append(f"row {row.row}: random row after the risk rows began")
        if not _HEX_TICKET.fullmatch(row.ticket_text):
            differences.append(
                f"row {row.row}: ticket {row.ticket_text!r} is not 64 hexadecimal digits"
            )
        elif int(row.ticket_text, 16) != ticket(seed, row.record_ref):
            differences.append(
                f"row {row.row}: ticket of {row.record_ref} is not SHA-256 of seed|record_ref"
            )
        if row.record_ref not in population:
            differences.append(f"row {row.row}: {row.record_ref} is not in the population")

    published_random = [row for row in published if row.stratum == RANDOM]
    published_risk = [row for row in published if row.stratum == RISK]
    random_size = len(published_random) if size is None else size
    wanted_risk = len(published_risk) if risk_size is None else risk_size
    if size is None:
        notes.append(
            f"sizes read from the file: {len(published_random)} random, "
            f"{len(published_risk)} risk"
        )
    if risk_scores is None:
        expected = _draw(frame, seed, random_size, None, 0)
    else:
        expected = _draw(frame, seed, random_size, risk_scores, wanted_risk)

    _compare_stratum(RANDOM, published_random, expected.random_rows, differences)
    if risk_scores is not None:
        _compare_stratum(RISK, published_risk, expected.risk_rows, differences)
    else:
        if published_risk:
            notes.append(
                "risk stratum membership not recomputed (no risk scores given); its "
                "tickets, population membership, separation from the random stratum and "
                "order were checked"
            )
        random_refs = {row.record_ref for row in expected.random_rows}
        for row in published_risk:
            if row.record_ref in random_refs:
                differences.append(
                    f"row {row.row}: {row.record_ref} is published as risk "
                    "but belongs to the random stratum"
                )
        _check_ascending(RISK, published_risk, seed, differences)
        expected_risk_rows = min(wanted_risk, len(frame.refs) - len(expected.random_rows))
        if len(published_risk) != expected_risk_rows:
            differences.append(
                f"risk stratum: {len(published_risk)} rows published, "
                f"{expected_risk_rows} expected"
            )

    if len(differences) > MAX_DIFFERENCES:
        left = len(differences) - MAX_DIFFERENCES
        differences = [*differences[:MAX_DIFFERENCES], f"... and {left} more differences"]
    return VerifyResult(not differences, frame_unchanged, differences, notes, current_hash)


def _parse_published(text: str, differences: list[str]) -> list[_PublishedRow] | None:
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        differences.append("the file is empty")
        return None
    names = [name.strip().lower() for name in header]
    if sorted(names) != sorted(CSV_HEADER):
        differences.append(f"row 1: header must be {','.join(CSV_HEADER)}, found {','.join(names)}")
        return None
    position = {name: names.index(name) for name in CSV_HEADER}
    rows = []
    for number, values in enumerate(reader, start=2):
        if not any(value.strip() for value in values):
            continue
        if len(values) != len(names):
            differences.append(f"row {number}: expected {len(names)} fields, found {len(values)}")
            continue
        rows.append(
            _PublishedRow(
                row=number,
                record_ref=values[position["record_ref"]].strip(),
                ticket_text=values[position["ticket"]].strip(),
                stratum=values[position["stratum"]].strip(),
            )
        )
    return rows


def _compare_stratum(
    stratum: str,
    published: list[_PublishedRow],
    expected: Sequence[DrawRow],
    differences: list[str],
) -> None:
    expected_refs = [row.record_ref for row in expected]
    expected_set = set(expected_refs)
    published_set = {row.record_ref for row in published}
    counts = Counter(row.record_ref for row in published)
    reported_twice = set()
    for row in published:
        if counts[row.record_ref] > 1 and row.record_ref not in reported_twice:
            reported_twice.add(row.record_ref)
            differences.append(f"row {row.row}: {row.record_ref} appears more than once")
        if row.record_ref not in expected_set:
            differences.append(
                f"row {row.row}: {row.record_ref} is published in the {stratum} stratum "
                "but the recomputed draw does not hold it there"
            )
    for ref in expected_refs:
        if ref not in published_set:
            differences.append(
                f"{stratum} stratum: {ref} is drawn by the recomputation but not published"
            )
    if published_set == expected_set and not reported_twice:
        for row, ref in zip(published, expected_refs, strict=True):
            if row.record_ref != ref:
                differences.append(
                    f"row {row.row}: {stratum} stratum out of order "
                    f"(found {row.record_ref}, expected {ref} by ascending ticket)"
                )
                break


def _check_ascending(
    stratum: str, published: list[_PublishedRow], seed: str, differences: list[str]
) -> None:
    # Recomputed tickets, not the published ones: a wrong ticket is reported on its own.
    previous = None
    for row in published:
        value = ticket(seed, row.record_ref)
        if previous is not None and value < previous:
            differences.append(f"row {row.row}: {stratum} stratum out of ascending ticket order")
            return
        previous = value


# ---------------------------------------------------------------------------------------
# Sample sizes
# ---------------------------------------------------------------------------------------


def sample_size_by_share(population_size: int, min_count: int, share: Number) -> int:
    """``max(min_count, ceil(share * N))``, never more than N.

    The share is taken as the decimal the user typed (``0.07`` is seven hundredths, not
    the binary float just above it), so 7 % of 100 records is 7, not 8.
    """
    if population_size < 0 or min_count < 0:
        raise ValueError("population size and minimum count cannot be negative")
    exact_share = _exact(share)
    if not 0 <= exact_share <= 1:
        raise ValueError("share must lie between 0 and 1")
    return min(population_size, max(min_count, math.ceil(exact_share * population_size)))


def attribute_sample_size(
    confidence: Number,
    tolerable_rate: Number,
    expected_errors: int = 0,
    population_size: int | None = None,
) -> int:
    """The smallest n such that, were the true false-service rate the tolerable rate,
    finding at most ``expected_errors`` false services among n checked records would have
    probability at most ``1 - confidence``.

    Equivalently: the smallest sample whose estimate, with ``expected_errors`` false
    services found, does not call for escalation (:func:`needs_escalation`). Without a
    population size the count is binomial (the AICPA tables); with one it is
    hypergeometric, the population holding ``ceil(tolerable_rate * N)`` false records —
    the fewest that reach the tolerable rate, so the hardest case to detect.
    """
    alpha, rate = _check_levels(confidence, tolerable_rate)
    if expected_errors < 0:
        raise ValueError("expected errors cannot be negative")
    if population_size is None:
        # An exact tie (0.5 ** 2 == 0.25) puts the Clopper–Pearson bound exactly on the
        # tolerable rate, which needs_escalation treats as not shown: so a tie fails here.
        return _smallest_n(
            lambda n: stats.falls_short(stats.binom_cdf(expected_errors, n, float(rate)), alpha),
            start=expected_errors + 1,
            limit=None,
        )
    if population_size <= 0:
        raise ValueError("the population is empty")
    defects = math.ceil(rate * population_size)
    if defects <= expected_errors:
        raise ValueError(
            "the tolerable number of false records in this population does not exceed the "
            "errors allowed in the sample; only checking every record can decide"
        )
    # Here a tie passes: the hypergeometric bound then stops one false record short of
    # the tolerable count, below the tolerable rate.
    return _smallest_n(
        lambda n: not stats.exceeds(
            stats.hypergeom_cdf(expected_errors, population_size, defects, n), alpha
        ),
        start=expected_errors + 1,
        limit=population_size,
    )


def _smallest_n(accepts, start: int, limit: int | None) -> int:
    """Binary search: ``accepts(n)`` is monotone (a larger sample only finds more errors)."""
    low = start - 1  # does not accept: fewer draws than allowed errors say nothing
    high = start
    while not accepts(high):
        low = high
        high *= 2
        if limit is not None and high >= limit:
            high = limit
            break
        if high > 1 << 40:
            raise ArithmeticError("no sample size found")
    while high - low > 1:
        middle = (low + high) // 2
        if accepts(middle):
            high = middle
        else:
            low = middle
    return high


# ---------------------------------------------------------------------------------------
# Estimation and escalation
# ---------------------------------------------------------------------------------------


class Outcome(StrEnum):
    CONFIRMED = "confirmed"
    PARTLY = "partly"
    NOT_DELIVERED = "not_delivered"


CLOPPER_PEARSON = "clopper-pearson"
HYPERGEOMETRIC = "hypergeometric"


@dataclass(frozen=True)
class Estimate:
    checked: int
    confirmed: int
    partly: int
    not_delivered: int
    partly_weight: float
    #: ``not_delivered + partly_weight * partly``: the false services found.
    false_count: float
    #: Point estimate of the false-service rate, ``false_count / checked``.
    rate: float
    confidence: float
    #: Two-sided interval at ``confidence``.
    lower: float
    upper: float
    #: One-sided upper bound at ``confidence``: the figure escalation compares.
    upper_one_sided: float
    method: str
    population_size: int | None


def estimate_false_rate(
    outcomes: Iterable[str],
    confidence: Number = 0.95,
    partly_weight: Number = 0.5,
    population_size: int | None = None,
) -> Estimate:
    """The false-service rate of the random stratum with its confidence bounds.

    Pass the outcomes of the random stratum only: the risk stratum was chosen for being
    suspicious and would bias the rate upwards.

    A "partly" outcome counts ``partly_weight`` of a false service in the point estimate.
    Exact bounds need whole counts, so the lower bound uses the false count rounded down
    and the upper bounds use it rounded up: a partial service never narrows the interval.
    With ``population_size`` the bounds are exact hypergeometric ones (sampling without
    replacement: the finite-population correction, and the counterpart of the
    hypergeometric sample size); without it they are Clopper–Pearson.
    """
    alpha = _alpha(confidence)
    weight = _exact(partly_weight)
    if not 0 <= weight <= 1:
        raise ValueError("partly_weight must lie between 0 and 1")
    tally = Counter()
    for outcome in outcomes:
        tally[Outcome(outcome)] += 1
    checked = sum(tally.values())
    if checked == 0:
        raise ValueError("no checked records to estimate from")
    if population_size is not None and population_size < checked:
        raise ValueError("more checked records than the population holds")
    false_exact = tally[Outcome.NOT_DELIVERED] + weight * tally[Outcome.PARTLY]
    low_count, high_count = math.floor(false_exact), math.ceil(false_exact)

    if population_size is None:
        method = CLOPPER_PEARSON
        lower = stats.clopper_pearson_lower(low_count, checked, alpha / 2)
        upper = stats.clopper_pearson_upper(high_count, checked, alpha / 2)
        upper_one_sided = stats.clopper_pearson_upper(high_count, checked, alpha)
    else:
        method = HYPERGEOMETRIC
        n, big_n = checked, population_size
        lower = stats.hypergeom_lower_defects(low_count, n, big_n, alpha / 2) / big_n
        upper = stats.hypergeom_upper_defects(high_count, n, big_n, alpha / 2) / big_n
        upper_one_sided = stats.hypergeom_upper_defects(high_count, n, big_n, alpha) / big_n

    return Estimate(
        checked=checked,
        confirmed=tally[Outcome.CONFIRMED],
        partly=tally[Outcome.PARTLY],
        not_delivered=tally[Outcome.NOT_DELIVERED],
        partly_weight=float(weight),
        false_count=float(false_exact),
        rate=float(false_exact / checked),
        confidence=float(_exact(confidence)),
        lower=lower,
        upper=upper,
        upper_one_sided=upper_one_sided,
        method=method,
        population_size=population_size,
    )


def random_stratum_outcomes(
    rows: Iterable[DrawRow], outcomes_by_ref: Mapping[str, str]
) -> list[str]:
    """The outcomes of the random stratum, in draw order; every row must have one.

    The estimate is only unbiased when the whole random stratum has been checked —
    evaluators tend to finish the easy visits first.
    """
    random_refs = [row.record_ref for row in rows if row.stratum == RANDOM]
    missing = [ref for ref in random_refs if ref not in outcomes_by_ref]
    if missing:
        raise ValueError(
            f"{len(missing)} of {len(random_refs)} records of the random stratum have no outcome yet"
        )
    return [outcomes_by_ref[ref] for ref in random_refs]


def needs_escalation(upper_bound: float, tolerable_rate: Number) -> bool:
    """The sample has not shown the false-service rate to be below the tolerable rate.

    Reaching the tolerable rate counts as not shown: with hypergeometric bounds (rates on
    the grid D/N) that is exactly the condition under which a population at the tolerable
    rate cannot be ruled out.
    """
    # Both sides rounded to the nearest double, so that a bound D/N equal to the tolerable
    # rate compares equal.
    return upper_bound >= float(_exact(tolerable_rate))


def suggest_escalation_size(
    estimate: Estimate, tolerable_rate: Number, max_size: int = 100_000
) -> int | None:
    """The total random-stratum size at which the one-sided upper bound would fall below
    the tolerable rate if the records still to be checked showed the rate found so far.

    The current size when the bound is already below the tolerable rate. ``None`` when no
    sample can be expected to do it: the rate found is already at or above the tolerable
    rate (act on the finding instead of sampling more), or, without a population size,
    the size would exceed ``max_size``. With a population size the answer is at most N:
    checking every record always decides.
    """
    confidence = _exact(estimate.confidence)
    _, rate = _check_levels(confidence, tolerable_rate)
    if not needs_escalation(estimate.upper_one_sided, rate):
        return estimate.checked
    # The exact false count: the weight is a decimal the user wrote, the counts whole.
    false_exact = estimate.not_delivered + _exact(estimate.partly_weight) * estimate.partly
    observed = false_exact / estimate.checked
    if observed >= rate:
        return None
    population = estimate.population_size
    limit = population if population is not None else max_size
    # The projected error count ceil(observed * n) is a step function of n; for each step
    # the sizes sharing it form a range, and within a range a larger n only helps, so the
    # smallest acceptable size of the first range that holds one is the answer.
    for errors in count(math.ceil(false_exact)):
        first = estimate.checked + 1
        last = None
        if observed > 0:
            first = max(first, math.floor((errors - 1) / observed) + 1)
            last = math.floor(errors / observed)
        if first > limit:
            return population
        if population is not None and errors >= math.ceil(rate * population):
            return population
        needed = max(first, attribute_sample_size(confidence, rate, errors, population))
        if needed > limit:
            return population
        if last is None or needed <= last:
            return needed
    raise AssertionError("unreachable")  # pragma: no cover


def _alpha(confidence: Number) -> float:
    exact_confidence = _exact(confidence)
    if not 0 < exact_confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    return float(1 - exact_confidence)


def _check_levels(confidence: Number, tolerable_rate: Number) -> tuple[float, Fraction]:
    rate = _exact(tolerable_rate)
    if not 0 < rate < 1:
        raise ValueError("tolerable rate must lie strictly between 0 and 1")
    return _alpha(confidence), rate


def _exact(value: Number) -> Fraction:
    """A rate as the decimal a person wrote: floats through their shortest repr."""
    if isinstance(value, float):
        return Fraction(repr(value))
    return Fraction(value)


# ---------------------------------------------------------------------------------------
# Assignment of drawn records to evaluators
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Assignment:
    #: record_ref -> evaluator_id, for every record somebody may check.
    by_ref: dict[str, str]
    #: Records every evaluator is conflicted with, in the order given.
    unassignable: tuple[str, ...]
    #: Records per evaluator, including evaluators who received none.
    loads: dict[str, int]


def assign(
    records: Iterable[tuple[str, str, object]],
    evaluators: Iterable[tuple[str, Collection[str], Collection[object]]],
    seed: str,
) -> Assignment:
    """Give each drawn record to an evaluator who has no conflict of interest with it.

    ``records`` are ``(record_ref, village_code, provider_id)``; ``evaluators`` are
    ``(evaluator_id, conflict_village_codes, conflict_provider_ids)``. Loads are as even
    as the conflicts allow (max − min ≤ 1 whenever any assignment reaches it), and which
    evaluator gets which record is decided by SHA-256 of the seed, so nobody can steer a
    visit to a friendly evaluator and anybody can reproduce the result. The answer does
    not depend on the order of either list.
    """
    record_list = list(records)
    evaluator_list = [(e_id, set(villages), set(providers)) for e_id, villages, providers in evaluators]
    if len({ref for ref, _, _ in record_list}) != len(record_list):
        raise ValueError("a record appears twice")
    if len({e_id for e_id, _, _ in evaluator_list}) != len(evaluator_list):
        raise ValueError("an evaluator appears twice")

    # Seeded orders, with a label so that they are independent of the draw's tickets.
    evaluator_rank = {e_id: _keyed(seed, "evaluator", e_id) for e_id, _, _ in evaluator_list}
    evaluator_ids = sorted(evaluator_rank, key=evaluator_rank.__getitem__)
    eligible: dict[str, list[str]] = {}
    unassignable = []
    for ref, village, provider in record_list:
        allowed = [
            e_id
            for e_id, villages, providers in evaluator_list
            if village not in villages and provider not in providers
        ]
        if allowed:
            # Per record, a seeded order of its evaluators: ties fall differently each time.
            eligible[ref] = sorted(allowed, key=lambda e_id, r=ref: _keyed(seed, "pair", r, e_id))
        else:
            unassignable.append(ref)

    holder: dict[str, str] = {}
    held: dict[str, set[str]] = {e_id: set() for e_id in evaluator_ids}
    for ref in sorted(eligible, key=lambda r: _keyed(seed, "record", r)):
        # Greedy start: the least-loaded eligible evaluator.
        chosen = min(eligible[ref], key=lambda e_id: len(held[e_id]))
        holder[ref] = chosen
        held[chosen].add(ref)

    _rebalance(holder, held, eligible, evaluator_ids, seed)
    by_ref = {ref: holder[ref] for ref, _, _ in record_list if ref in holder}
    return Assignment(by_ref, tuple(unassignable), {e_id: len(held[e_id]) for e_id in evaluator_ids})


def _rebalance(
    holder: dict[str, str],
    held: dict[str, set[str]],
    eligible: dict[str, list[str]],
    evaluator_ids: list[str],
    seed: str,
) -> None:
    """Move records along cost-reducing paths until none is left.

    A cost-reducing path runs from an evaluator with load L through records, each handed
    to another evaluator allowed to take it, to an evaluator with load at most L − 2. An
    assignment without such a path is optimal for every balance measure at once (Harvey,
    Ladner, Lovász and Tamir, "Semi-matchings for bipartite graphs and load balancing",
    2003), in particular it reaches max − min ≤ 1 whenever that is possible.
    """
    rank = {ref: _keyed(seed, "record", ref) for ref in holder}
    improved = True
    while improved:
        improved = False
        for start in sorted(evaluator_ids, key=lambda e_id: -len(held[e_id])):
            path = _cost_reducing_path(start, holder, held, eligible, evaluator_ids, rank)
            if path:
                for ref, target in path:
                    held[holder[ref]].discard(ref)
                    held[target].add(ref)
                    holder[ref] = target
                improved = True
                break


def _cost_reducing_path(start, holder, held, eligible, evaluator_ids, rank):
    load = len(held[start])
    came_from: dict[str, tuple[str, str] | None] = {start: None}
    queue = deque([start])
    order = {e_id: i for i, e_id in enumerate(evaluator_ids)}
    while queue:
        current = queue.popleft()
        # Sorted for reproducibility: sets iterate in an order that varies per process.
        for ref in sorted(held[current], key=rank.__getitem__):
            for target in sorted(eligible[ref], key=order.__getitem__):
                if target in came_from:
                    continue
                came_from[target] = (current, ref)
                if len(held[target]) <= load - 2:
                    path = []
                    node = target
                    while came_from[node] is not None:
                        previous, moved = came_from[node]
                        path.append((moved, node))
                        node = previous
                    return list(reversed(path))
                queue.append(target)
    return None


def _keyed(seed: str, label: str, *parts: str) -> int:
    text = "|".join([seed, label, *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
