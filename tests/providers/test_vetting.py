"""The vetting workflow: checklist, documents, verdicts, decision, the gate, reminders."""

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from reliefsvc.audit.models import AuditEntry
from reliefsvc.demo.providers import minimal_pdf
from reliefsvc.notifications.models import Notification
from reliefsvc.providers import service
from reliefsvc.providers.models import Verdict, VettingStatus


def test_open_vetting_copies_the_default_checklist(create_provider, create_user, db):
    provider = create_provider()
    vetting = service.open_vetting(provider, create_user("officer"))
    assert len(vetting.items) == 8
    assert vetting.items[0].title.startswith("依法登记")
    with pytest.raises(service.ProviderError, match="already open"):
        service.open_vetting(provider, create_user("officer"))


def test_a_pass_needs_a_document_and_a_fail_needs_a_remark(create_provider, create_user):
    provider, officer = create_provider(), create_user("officer")
    item = service.open_vetting(provider, officer).items[0]
    with pytest.raises(service.ProviderError) as info:
        service.set_verdict(item, Verdict.PASS, "", officer)
    assert "须有证明材料" in info.value.zh
    with pytest.raises(service.ProviderError):
        service.set_verdict(item, Verdict.FAIL, "", officer)
    service.add_document(provider, minimal_pdf("ok"), "登记证书.pdf", officer, item)
    service.set_verdict(item, Verdict.PASS, "", officer)
    assert item.verdict is Verdict.PASS


def test_documents_are_checked_by_content(create_provider, create_user):
    provider, officer = create_provider(), create_user("officer")
    with pytest.raises(service.ProviderError) as info:
        service.add_document(provider, b"MZ\x90\x00 not really a pdf", "证书.pdf", officer)
    assert "不是 PDF、JPEG 或 PNG" in info.value.zh
    with pytest.raises(service.ProviderError):
        service.add_document(provider, b"\xff\xd8\xff\xe0 broken jpeg", "photo.jpg", officer)


def test_approval_opens_the_gate_and_is_audited(create_provider, approved, db):
    provider = create_provider()
    with pytest.raises(service.ProviderError) as info:
        service.require_valid_approval(provider)
    assert "尚未通过资格审查" in info.value.zh
    vetting = approved(provider)
    assert service.require_valid_approval(provider) is vetting
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "vetting.decided"))
    assert entry.object_id == str(vetting.id) and '"decision":"approved"' in entry.payload


def test_expired_and_rejected_approvals_close_the_gate(create_provider, approved, create_user):
    provider = create_provider()
    approved(provider, valid_days=30, on=service.today() - timedelta(days=40))
    with pytest.raises(service.ProviderError) as info:
        service.require_valid_approval(provider)
    assert "已过期" in info.value.zh
    other = create_provider()
    officer = create_user("officer")
    vetting = service.open_vetting(other, officer)
    service.decide(vetting, service.Decision(VettingStatus.REJECTED, reasons="近三年有严重违法记录"), officer)
    assert "未通过" in pytest.raises(service.ProviderError, service.require_valid_approval, other).value.zh


def test_decision_rules(create_provider, create_user):
    provider, officer = create_provider(), create_user("officer")
    vetting = service.open_vetting(provider, officer)
    later = service.today() + timedelta(days=300)
    with pytest.raises(service.ProviderError, match="not yet checked"):
        service.decide(vetting, service.Decision(VettingStatus.APPROVED, valid_until=later), officer)
    for item in vetting.items[1:]:
        service.add_document(provider, minimal_pdf("x"), "x.pdf", officer, item)
        service.set_verdict(item, Verdict.PASS, "", officer)
    service.set_verdict(vetting.items[0], Verdict.FAIL, "登记证书过期", officer)
    with pytest.raises(service.ProviderError, match="failed items"):
        service.decide(vetting, service.Decision(VettingStatus.APPROVED, valid_until=later), officer)
    with pytest.raises(service.ProviderError, match="conditions"):
        service.decide(vetting, service.Decision(VettingStatus.CONDITIONAL, valid_until=later), officer)
    service.decide(vetting, service.Decision(VettingStatus.CONDITIONAL, valid_until=later, conditions="换发登记证书",
                                             condition_deadline=service.today() + timedelta(days=20)), officer)
    assert service.approval_state(provider).status == "conditional"
    with pytest.raises(service.ProviderError):
        service.set_verdict(vetting.items[0], Verdict.PASS, "", officer)


def test_the_provider_is_told(create_provider, create_user, approved, db):
    provider = create_provider()
    manager = create_user("provider_manager", org=provider.organisation)
    approved(provider)
    from reliefsvc.notifications import service as notifications

    notifications.commit()
    titles = db.session.scalars(sa.select(Notification.title).where(Notification.user_id == manager.id)).all()
    assert any("审查已开始" in t for t in titles) and any("审查通过" in t for t in titles)


def test_an_officer_walks_a_vetting_through_the_pages(client, login, create_user, create_provider, db):
    provider = create_provider(name="康乐县页面测试中心")
    login(create_user("officer"))
    response = client.post(f"/providers/{provider.id}/vettings")
    vetting_url = response.headers["Location"]
    vetting = provider.vettings[0]
    for item in vetting.items:
        client.post(f"/providers/{provider.id}/documents", data={
            "file": (io.BytesIO(minimal_pdf("x")), "材料.pdf"), "vetting_item_id": str(item.id)},
            content_type="multipart/form-data")
        client.post(f"{vetting_url}/items/{item.id}", data={"verdict": "pass", "remark": "核对无误"})
    valid_until = (service.today() + timedelta(days=365)).isoformat()
    response = client.post(f"{vetting_url}/decide", data={"decision": "approved", "valid_until": valid_until})
    assert response.status_code == 302
    page = client.get(vetting_url).get_data(as_text=True)
    assert "通过" in page and "核对无误" in page
    pdf = client.get(f"{vetting_url}/report.pdf")
    assert pdf.mimetype == "application/pdf"
    from pypdf import PdfReader

    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    for words in ("承接主体资格审查表", "康乐县页面测试中心", "依法登记", "核对无误", "审查结论"):
        assert words in text.replace(" ", "")
    assert "草稿" not in text


def test_staff_id_numbers_are_masked_and_reveals_audited(client, login, create_user, create_provider, db):
    from tests.conftest import make_id

    provider = create_provider()
    number = make_id(5)
    staff = service.add_staff(provider, id_number=number, name="韩梅", role="coordinator")
    login(create_user("officer"))
    page = client.get(f"/providers/{provider.id}").get_data(as_text=True)
    assert number not in page and f"{number[:4]}**********{number[-4:]}" in page
    response = client.post(f"/providers/{provider.id}/staff/{staff.id}/reveal", data={"reason": "核对社保记录"})
    assert number in response.get_data(as_text=True)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.event_type == "providers.id_revealed"))
    assert "核对社保记录" in entry.payload and number not in entry.payload


def test_relations_declared_found_and_reviewed(create_provider, create_user, db):
    provider, officer = create_provider(), create_user("officer")
    officer.display_name = "王秀兰"
    from tests.conftest import make_id

    same_name = service.add_staff(provider, id_number=make_id(7), name="王秀兰", role="coordinator")
    service.declare_relation(provider, same_name, "village_committee", "王大山", "韩家山村", "父亲")
    assert service.find_relations(provider) == 1
    assert service.find_relations(provider) == 0  # a rerun lists nothing twice
    found = [r for r in service.relations_of(provider) if r.status.value == "found"][0]
    assert found.kind.value == "bureau_staff" and "同名" in found.relationship_text
    with pytest.raises(service.ProviderError):
        service.review_relation(found, False, "", officer)
    service.review_relation(found, False, "同名不同人", officer)
    assert found.status.value == "dismissed"


def test_expiry_reminders_60_and_30_days_then_expired(create_provider, create_user, approved, db):
    from datetime import UTC, datetime, time

    from reliefsvc.providers.jobs import expiry_reminders

    provider = create_provider()
    create_user("provider_manager", org=provider.organisation)
    create_user("officer")
    vetting = approved(provider, valid_days=90)
    end = vetting.valid_until

    def run(day):
        return expiry_reminders(day.isoformat(), datetime.combine(day, time(4), UTC))

    assert run(end - timedelta(days=61)).startswith("到期提醒 0 条")
    assert run(end - timedelta(days=60)).startswith("到期提醒 1 条")
    assert run(end - timedelta(days=59)).startswith("到期提醒 0 条")
    assert run(end - timedelta(days=30)).startswith("到期提醒 1 条")
    assert run(end - timedelta(days=2)).startswith("到期提醒 0 条")
    assert "过期通知 1 条" in run(end + timedelta(days=1))
    assert "过期通知 0 条" in run(end + timedelta(days=2))


def test_a_provider_worker_lands_on_its_own_organisation(client, login, create_user, create_provider):
    own, other = create_provider(name="本机构"), create_provider(name="别的机构")
    login(create_user("provider_worker", org=own.organisation))
    response = client.get("/providers/")
    assert response.headers["Location"] == f"/providers/{own.id}"
    assert "别的机构" not in client.get(f"/providers/{own.id}").get_data(as_text=True)
    assert client.get(f"/providers/{other.id}").status_code == 404


def test_demo_has_three_providers_in_different_states(run_cli, db):
    from reliefsvc.providers.models import Provider

    assert run_cli("demo", "load", "--small").exit_code == 0
    states = {p.name: service.approval_state(p) for p in db.session.scalars(sa.select(Provider))}
    assert len(states) == 3
    assert states["康乐县同心社会工作服务中心"].status == "approved"
    assert states["康乐县惠民社会服务中心"].status == "conditional"
    payroll = states["临夏州鑫源劳务派遣有限公司"]
    assert payroll.valid and payroll.days_left <= 30
    labour = db.session.scalar(sa.select(Provider).where(Provider.name == "临夏州鑫源劳务派遣有限公司"))
    assert sum(s.nominated_by_purchaser for s in labour.staff) >= 8
