from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from reliefsvc.common.idnumber import check_character

LOCAL = ZoneInfo("Asia/Shanghai")
#: The moment most tests stand at: 20 November 2026, 10:00 in Kangle.
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=LOCAL)


def make_id(n: int, year: int = 1960) -> str:
    body = f"622922{year}{n % 12 + 1:02d}{n % 28 + 1:02d}{n % 1000:03d}"
    return body + check_character(body)


def wrong_check(number: str) -> str:
    return number[:-1] + ("0" if number[-1] != "0" else "1")


@dataclass
class Place:
    county: object
    township: object
    other_township: object
    village: object
    neighbour: object
    far_village: object


@pytest.fixture
def place(db):
    """A county with two townships and three villages (codes 622922100201, …202, 622922101201)."""
    from reliefsvc.regions.models import Level, Region

    county = Region(code="622922", name="康乐县", level=Level.COUNTY, lat=35.372, lon=103.709)
    town = Region(code="622922100", name="附城镇", level=Level.TOWNSHIP, parent=county, lat=35.37, lon=103.708)
    other = Region(code="622922101", name="苏集镇", level=Level.TOWNSHIP, parent=county, lat=35.416, lon=103.752)
    village = Region(code="622922100201", name="马家集村", level=Level.VILLAGE, parent=town, lat=35.38, lon=103.72)
    neighbour = Region(code="622922100202", name="白家湾村", level=Level.VILLAGE, parent=town, lat=35.36, lon=103.70)
    far = Region(code="622922101201", name="韩家山村", level=Level.VILLAGE, parent=other, lat=35.42, lon=103.76)
    db.session.add_all([county, town, other, village, neighbour, far])
    db.session.flush()
    return Place(county, town, other, village, neighbour, far)


@pytest.fixture
def create_case(db, place):
    """``create_case(ref=None, village=None, categories=("dibao",), **columns)`` → an imported Case."""
    from reliefsvc.cases import service
    from reliefsvc.cases.models import Case

    counter = iter(range(1, 10_000))

    def create(ref=None, village=None, categories=("dibao",), **columns):
        n = next(counter)
        columns.setdefault("head_name", f"户主{n}")
        columns.setdefault("head_id_number", make_id(n + 100))
        columns.setdefault("household_size", 3)
        case = Case(case_ref=ref or f"H{n:05d}", village=village or place.village, **columns)
        service.set_categories(case, categories)
        db.session.add(case)
        db.session.flush()
        return case

    return create


@pytest.fixture
def create_provider_user(db, create_org, create_user):
    """``create_provider_user(name, role="provider_worker", on_roster=True)`` → (provider, user).

    The provider (and its organisation) is made once per name; each call adds a user.
    """
    from reliefsvc.providers import rules
    from reliefsvc.providers import service as providers
    from reliefsvc.providers.models import OrgType
    from reliefsvc.security.models import OrgKind

    made: dict[str, object] = {}
    counter = iter(range(1, 10_000))

    def create(name="康乐县测试社工服务中心", role="provider_worker", on_roster=True):
        org = create_org(name, OrgKind.PROVIDER)
        if name not in made:
            made[name] = providers.create_provider(rules.make_uscc("52", "622922", f"MJ{700 + len(made):06d}"),
                                                   name, OrgType.SOCIAL_ORG)
        provider = made[name]
        user = create_user(role, org=org)
        if on_roster:
            staff = providers.add_staff(provider, id_number=make_id(next(counter) + 500, 1990),
                                        name=user.username, role="coordinator")
            staff.user = user
        return provider, user

    return create


@pytest.fixture
def no_contract_scope(app, monkeypatch):
    """The platform as it stands before the contracts domain registers its service areas."""
    from reliefsvc.cases.models import CASE_SCOPE_HOOK

    monkeypatch.delitem(app.extensions, CASE_SCOPE_HOOK, raising=False)


@pytest.fixture
def discovery(place):
    """A Discovery for ``place.village``; keyword arguments override its fields."""
    from reliefsvc.cases import service

    def make(**fields):
        values = dict(head_name="马玉兰", village_id=place.village.id, household_size=2,
                      need="独居老人，房屋漏雨，冬季取暖困难", id_number=make_id(901, 1948), categories=("tekun",),
                      lat=35.381, lon=103.721)
        values.update(fields)
        return service.Discovery(**values)

    return make


def write(tmp_path, text, name="cases.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def last_line(result) -> str:
    return result.output.strip().splitlines()[-1]
