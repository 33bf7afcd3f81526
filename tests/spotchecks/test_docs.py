"""The recomputation snippet of docs/spotchecks.md gives what the platform publishes."""

import re
import subprocess
import sys
from pathlib import Path

from reliefsvc.spotchecks import rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "spotchecks.md"


def snippet() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### Recompute a draw with nothing but SHA-256", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def test_the_snippet_is_short_and_needs_no_reliefsvc():
    code = snippet()
    assert "reliefsvc" not in code
    assert len([line for line in code.splitlines() if line.strip()]) <= 10


def test_the_snippet_recomputes_the_published_draw(tmp_path):
    refs = [f"SR-{i:06d}" for i in range(1, 2001)] + ["康乐-甲-1", "康乐-乙-2"]
    seed = "2026-07-01 县民政局公开抽签 #3"
    population = tmp_path / "population.txt"
    # As a clerk might save it from Excel on Windows: BOM and CRLF.
    population.write_text("\ufeff" + "\r\n".join(reversed(refs)) + "\r\n", encoding="utf-8")
    script = tmp_path / "recompute.py"
    script.write_text(snippet(), encoding="utf-8")

    result = subprocess.run(
        [sys.executable, str(script), seed, "30", str(population)],
        capture_output=True,
        check=True,
        encoding="utf-8",
        env={"PYTHONIOENCODING": "utf-8", "PYTHONSAFEPATH": "1"},
        cwd=tmp_path,
    )
    published = rules.draw(refs, seed, 30)
    first, rest = result.stdout.split("\n", 1)
    assert first == f"frame hash {published.frame_hash}"
    assert rest == published.to_csv()
