import sqlalchemy as sa

from reliefsvc.regions.models import Level, Region
from reliefsvc.security.models import Role, User
from tests.conftest import count


def test_demo_builds_kangle_county_with_a_login_per_role(run_cli, db):
    result = run_cli("demo", "load", "--small")
    assert result.exit_code == 0, result.output
    county = db.session.scalar(sa.select(Region).where(Region.level == Level.COUNTY))
    assert county.name == "康乐县" and county.code == "622922"
    assert count(Region) > 150
    townships = db.session.scalars(sa.select(Region).where(Region.level == Level.TOWNSHIP)).all()
    assert len(townships) == 15 and "附城镇" in {t.name for t in townships}
    for village in db.session.scalars(sa.select(Region).where(Region.level == Level.VILLAGE)):
        # within ~10 km of its township seat, inside the county's box
        assert abs(village.lat - village.parent.lat) < 0.1 and abs(village.lon - village.parent.lon) < 0.1
        assert 35.0 < village.lat < 35.6 and 103.4 < village.lon < 104.0
    assert {u.role for u in db.session.scalars(sa.select(User))} == set(Role)
    for role in Role:
        assert role.value in result.output
    assert "Kangle@2026demo" in result.output


def test_demo_is_deterministic(db):
    from reliefsvc import demo

    def names():
        return sorted(db.session.scalars(sa.select(Region.name).where(Region.level == Level.VILLAGE)))

    with db.session.begin_nested() as nested:
        demo.load(seed=7, scale="small")
        first = names()
        nested.rollback()
    db.session.expunge_all()  # rolled-back rows may reuse their ids
    with db.session.begin_nested() as nested:
        demo.load(seed=7, scale="small")
        assert names() == first
        nested.rollback()


def test_demo_refuses_a_database_with_data(run_cli, create_user):
    create_user("admin")
    result = run_cli("demo", "load", "--small")
    assert result.exit_code == 1 and "--force" in result.output
    result = run_cli("demo", "load", "--if-empty")
    assert result.exit_code == 0 and "未加载" in result.output


def test_every_demo_login_reaches_its_home_page(run_cli, client):
    run_cli("demo", "load", "--small")
    titles = {"admin": "系统管理", "officer": "采购经办工作台", "evaluator": "考核评估工作台",
              "manager": "承接主体工作台", "worker": "我的服务工作", "inspector": "纪检监察"}
    for username, title in titles.items():
        response = client.post("/login", data={"username": username, "password": "Kangle@2026demo"})
        assert response.status_code == 302, username
        assert title in client.get("/").get_data(as_text=True)
        client.post("/logout")


def test_each_home_page_leads_to_the_days_work(run_cli, client):
    run_cli("demo", "load", "--small")
    for username, words in {"officer": ["待审核的服务记录", "待确认的主动发现家庭", "预警核查超期"],
                            "worker": ["被退回待修改的记录", "填报服务"], "admin": ["预警核查超期"]}.items():
        client.post("/login", data={"username": username, "password": "Kangle@2026demo"})
        page = client.get("/").get_data(as_text=True)
        assert 'data-testid="workbench"' in page
        for word in words:
            assert word in page, (username, word)
        client.post("/logout")


def test_the_demo_county_has_something_to_show_for_every_capability(run_cli, db):
    """Issue 17: each capability has its example in the (small) demo the browser tests use."""
    from reliefsvc.assessments.models import Assessment, AssessmentStatus
    from reliefsvc.contracts.models import Contract
    from reliefsvc.evaluations import service as evaluations
    from reliefsvc.evaluations.models import Evaluation, EvaluationStatus
    from reliefsvc.hiring.models import HiringRiskResult
    from reliefsvc.integrity.models import CODE_LABELS, IntegrityFlag
    from reliefsvc.payments.models import EntryStatus, FundUseReport, PaymentEntry
    from reliefsvc.providers.models import Provider
    from reliefsvc.rectifications.models import NoticeStatus, RectificationNotice
    from reliefsvc.spotchecks.models import SpotCheckDraw

    assert run_cli("demo", "load", "--small").exit_code == 0
    values = lambda column: set(db.session.scalars(sa.select(column).distinct()))  # noqa: E731
    assert count(Provider) == 3
    contracts = db.session.scalars(sa.select(Contract)).all()
    assert len({c.starts_on.year for c in contracts}) == 2, "a previous-year contract beside this year's three"
    assert values(IntegrityFlag.code) == set(CODE_LABELS)
    assert {"low", "high"} <= {str(v) for v in values(HiringRiskResult.level)}
    assessments = db.session.scalars(sa.select(Assessment)).all()
    assert {a.status for a in assessments} == set(AssessmentStatus)
    assert any(a.undecided_appeals for a in assessments), "an appealed assessment"
    draws = db.session.scalars(sa.select(SpotCheckDraw)).all()
    done = [d for d in draws if d.published_at is not None]
    assert done and done[0].escalations >= 1 and all(i.outcome is not None for i in done[0].items)
    assert any(i.outcome is None for d in draws for i in d.items), "an open draw waiting for its evaluators"
    assert values(RectificationNotice.status) == set(NoticeStatus)
    assert {EntryStatus.PROPOSED, EntryStatus.APPROVED} <= values(PaymentEntry.status)
    assert count(FundUseReport) >= 2
    signed = db.session.scalar(sa.select(Evaluation).where(Evaluation.status == EvaluationStatus.SIGNED))
    assert signed is not None and evaluations.render_report(signed).startswith(b"%PDF")


def test_the_full_demo_reads_its_photos_on_all_cores_with_the_same_result():
    import random

    from reliefsvc.demo.records import _photo_readers, photo
    from reliefsvc.evidence import photos

    rng = random.Random(3)
    datas = [photo(rng, None, None) for _ in range(3)]
    with _photo_readers("full") as read:
        found = read(datas)
        assert found is not None  # the machines this runs on have two cores or more
        assert list(found) == [photos.examine(data) for data in datas]
    with _photo_readers("small") as read:
        assert read(datas) is None
