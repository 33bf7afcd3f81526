import pytest

from reliefsvc.common.idnumber import check_character
from reliefsvc.providers import rules, service
from reliefsvc.providers.models import OrgType


def make_id(n: int, year: int = 1985) -> str:
    body = f"622922{year}0{n % 9 + 1}1{n % 9}{n % 1000:03d}"
    return body + check_character(body)


def make_code(n: int) -> str:
    return rules.make_uscc("52", "622922", f"MJ{n:06d}")


@pytest.fixture
def create_provider(db, create_org):
    counter = iter(range(1, 10_000))

    def create(name: str | None = None, **details):
        n = next(counter)
        return service.create_provider(details.pop("uscc", None) or make_code(n + 500),
                                       name or f"测试社工服务中心{n}", details.pop("org_type", OrgType.SOCIAL_ORG),
                                       **details)

    return create


@pytest.fixture
def approved(db, create_user):
    """``approved(provider, valid_days=300)`` → a decided approval through the real workflow."""
    from datetime import timedelta

    from reliefsvc.demo.providers import minimal_pdf
    from reliefsvc.providers.models import Verdict, VettingStatus

    def approve(provider, valid_days: int = 300, status=VettingStatus.APPROVED, on=None):
        officer = create_user("officer")
        vetting = service.open_vetting(provider, officer)
        for item in vetting.items:
            service.add_document(provider, minimal_pdf(item.title.encode("unicode_escape").decode()),
                                 "x.pdf", officer, item)
            service.set_verdict(item, Verdict.PASS, "", officer)
        on = on or service.today()
        service.decide(vetting, service.Decision(status, valid_until=on + timedelta(days=valid_days),
                                                 conditions="补交材料" if status == VettingStatus.CONDITIONAL else None,
                                                 condition_deadline=on + timedelta(days=10)
                                                 if status == VettingStatus.CONDITIONAL else None),
                       officer, on=on)
        return vetting

    return approve
