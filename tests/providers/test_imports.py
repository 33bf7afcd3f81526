"""``providers import`` and ``providers import-staff`` as in the interchange spec."""

import sqlalchemy as sa

from reliefsvc.providers.models import Provider, Staff, Vetting
from tests.conftest import count, make_code, make_id

HEADER = "uscc,name,org_type,registered_on,legal_rep,phone,address,vetted_on,vetted_by,vetting_valid_until\n"


def providers_csv():
    return (HEADER
            + f"{make_code(1)},康乐县阳光社工服务中心,social_org,2019-03-01,李明,0930-1111111,附城镇,2026-01-10,王秀兰,\n"
            + f"{make_code(2)},康乐县民生服务有限公司,企业,2020/05/06,马成,0930-2222222,苏集镇,,,\n")


def write(tmp_path, text, name="f.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


def test_import_and_reimport_changes_nothing(run_cli, tmp_path, db):
    path = write(tmp_path, providers_csv())
    result = run_cli("providers", "import", path)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 0"
    sunshine = db.session.scalar(sa.select(Provider).where(Provider.uscc == make_code(1)))
    assert sunshine.org_type.value == "social_org" and sunshine.organisation.kind.value == "provider"
    external = db.session.scalar(sa.select(Vetting).where(Vetting.provider_id == sunshine.id))
    assert external.external and str(external.valid_until) == "2027-01-09"
    snapshot = [(p.name, p.phone, p.updated_at) for p in db.session.scalars(sa.select(Provider).order_by(Provider.id))]
    again = run_cli("providers", "import", path)
    assert again.output.strip().splitlines()[-1] == "imported 0, updated 0, rejected 0"
    assert [(p.name, p.phone, p.updated_at) for p in
            db.session.scalars(sa.select(Provider).order_by(Provider.id))] == snapshot
    assert count(Vetting) == 1


def test_a_wrong_check_character_names_the_field_and_writes_nothing(run_cli, tmp_path):
    bad = providers_csv() + f"{make_code(3)[:-1]}0,坏代码中心,social_org,,,,,,,\n"
    if make_code(3).endswith("0"):
        bad = bad.replace(f"{make_code(3)[:-1]}0", f"{make_code(3)[:-1]}1")
    result = run_cli("providers", "import", write(tmp_path, bad))
    assert result.exit_code == 1
    assert "row 4, uscc: check character wrong / 统一社会信用代码：统一社会信用代码校验位错误" in result.output
    assert count(Provider) == 0


def test_staff_import_with_id_check_and_one_roster_per_person(run_cli, tmp_path, create_provider, db):
    a, b = create_provider(), create_provider()
    staff_csv = ("name,id_number,phone,role,qualification,hired_on,nominated_by_purchaser,attendance_by_purchaser\n"
                 f"马小军,{make_id(1)},13900000001,协理员,助理社会工作师,2024-03-01,0,0\n"
                 f"李红,{make_id(2)},13900000002,social_worker,社会工作师,2023-01-01,是,否\n")
    result = run_cli("providers", "import-staff", "--provider", a.uscc, write(tmp_path, staff_csv))
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 0"
    li = db.session.scalar(sa.select(Staff).where(Staff.name == "李红"))
    assert li.nominated_by_purchaser and not li.attendance_by_purchaser
    # the same people on B's roster while active at A: refused row by row
    result = run_cli("providers", "import-staff", "--provider", b.uscc, write(tmp_path, staff_csv, "b.csv"))
    assert result.exit_code == 1
    assert "row 2, id_number" in result.output and "仍在" in result.output
    # a wrong check digit, in Chinese, naming the field
    bad = staff_csv.replace(make_id(2), make_id(2)[:-1] + ("0" if make_id(2)[-1] != "0" else "1"))
    result = run_cli("providers", "import-staff", "--provider", a.uscc, write(tmp_path, bad, "bad.csv"))
    assert result.exit_code == 1
    assert "row 3, id_number: check digit wrong / 身份证号：身份证号校验位错误" in result.output
    assert count(Staff) == 2


def test_import_staff_needs_a_known_provider(run_cli, tmp_path):
    result = run_cli("providers", "import-staff", "--provider", make_code(9), write(tmp_path, "name\n"))
    assert result.exit_code == 1 and "没有统一社会信用代码" in result.output


def test_providers_import_page(client, login, create_user):
    import io

    login(create_user("officer"))
    response = client.post("/providers/import", data={
        "file": (io.BytesIO(providers_csv().encode()), "p.csv"), "encoding": "utf-8"},
        content_type="multipart/form-data")
    assert "导入完成：新增 2 条" in response.get_data(as_text=True)
    assert "康乐县阳光社工服务中心" in client.get("/providers/").get_data(as_text=True)
