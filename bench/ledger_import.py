"""Time ``services import`` of N ledger rows with N photos of 1600x1200 (default N = 10 000).

Run: .venv/bin/python bench/ledger_import.py [N]
Prints the total time, the time per row, and the share spent examining photos (decode,
EXIF, the two perceptual hashes, the display copy), measured in the same run by examining
a sample of the photos alone — the baseline.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path


def main(n: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    os.environ["RELIEFSVC_INSTANCE_PATH"] = str(work / "instance")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from flask_migrate import upgrade

    from reliefsvc import create_app
    from reliefsvc.cases.models import Case
    from reliefsvc.contracts import service as contracts
    from reliefsvc.demo.records import photo
    from reliefsvc.evidence import ledger, photos
    from reliefsvc.extensions import db
    from reliefsvc.providers import rules
    from reliefsvc.providers import service as providers
    from reliefsvc.regions.models import Level, Region
    from tests.conftest import make_id

    app = create_app()
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        contracts.ensure_catalogue()
        county = Region(code="622922", name="康乐县", level=Level.COUNTY, lat=35.37, lon=103.71)
        town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county, lat=35.37, lon=103.71)
        village = Region(code="622922100201", name="一村", level=Level.VILLAGE, parent=town, lat=35.38, lon=103.72)
        db.session.add_all([county, town, village])
        provider = providers.create_provider(rules.make_uscc("52", "622922", "MJ000001"), "基准测试中心", "social_org")
        worker = providers.add_staff(provider, id_number=make_id(1), name="测试员", role="coordinator")
        from reliefsvc.providers.models import Vetting, VettingStatus

        db.session.add(Vetting(provider=provider, status=VettingStatus.APPROVED, decided_on=date(2026, 1, 1),
                               valid_until=date(2027, 12, 31), external=True, external_vetted_by="bench"))
        contract = contracts.create_contract(contracts.ContractData(
            contract_no="BENCH-1", title="基准测试", provider=provider, purchaser="康乐县民政局",
            procurement_method="public_tender", amount=1, starts_on=date(2026, 1, 1), ends_on=date(2026, 12, 31),
            pricing_model="output", villages=[village]))
        contracts.add_obligation(contract, "home_visit", "month", 10, "records")
        contracts.change_status(contract, "active", "", None, on=date(2026, 1, 2))
        cases = [Case(case_ref=f"HH{i:05d}", head_name=f"户主{i}", head_id_number=make_id(i + 10, 1950),
                      village=village, household_size=2) for i in range(200)]
        db.session.add_all(cases)
        db.session.commit()

        photo_dir = work / "photos"
        photo_dir.mkdir()
        rng = random.Random(7)
        t0 = time.perf_counter()
        lines = ["record_ref,worker_id_number,case_ref,service_type,started_at,ended_at,lat,lon,notes,photos"]
        start = datetime(2026, 3, 2, 9, 0)
        for i in range(n):
            when = start + timedelta(minutes=37 * i)
            name = f"p{i:05d}.jpg"
            (photo_dir / name).write_bytes(photo(rng, when, (35.38, 103.72), size=(1600, 1200)))
            lines.append(f"B{i:05d},{worker.id_number},HH{i % 200:05d},home_visit,{when:%Y-%m-%d %H:%M},"
                         f"{when + timedelta(minutes=30):%Y-%m-%d %H:%M},35.38,103.72,入户走访第{i}次,{name}")
        ledger_file = work / "ledger.csv"
        ledger_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
        generated = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in photo_dir.iterdir())

        sample = sorted(photo_dir.iterdir())[: min(200, n)]
        t0 = time.perf_counter()
        for p in sample:
            photos.examine(p.read_bytes())
        per_photo = (time.perf_counter() - t0) / len(sample)

        t0 = time.perf_counter()
        report = ledger.import_ledger(contract, ledger_file.read_bytes(), photos_at=str(photo_dir),
                                      filename="ledger.csv")
        db.session.commit()
        total = time.perf_counter() - t0
        assert report.imported == n and not report.errors, report.errors[:3]

    print(f"rows and photos: {n} (1600x1200 JPEG, {size / n / 1024:.0f} KB each); generated in {generated:.0f} s")
    print(f"import: {total:.1f} s in all, {1000 * total / n:.1f} ms per row")
    print(f"baseline (same run): examining one photo alone, one core: {1000 * per_photo:.1f} ms")
    print(f"photo work if done on one core: {per_photo * n:.1f} s = {100 * per_photo * n / total:.0f} % of the import time"
          f" ({os.cpu_count()} cores share it)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
