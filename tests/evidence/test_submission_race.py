"""The phone form sent twice at once: the second request loses the race at the database's
unique (contract, record_ref) and answers with the first one's record, not a server error."""

import io
from datetime import datetime, timedelta

import sqlalchemy as sa

from reliefsvc.evidence import service as records
from reliefsvc.evidence.models import ServiceRecord
from reliefsvc.providers import service as providers
from tests.conftest import make_id


def test_a_retry_racing_its_first_upload_gets_the_first_record(client, login, create_contract, create_case,
                                                              villages, create_user, photo_bytes, db,
                                                              monkeypatch):
    contract = create_contract(obligations=(("home_visit", "month", 10, "records"),))
    worker = create_user("provider_worker", org=contract.provider.organisation)
    staff = providers.add_staff(contract.provider, id_number=make_id(31), name="马小军", role="coordinator")
    staff.user = worker
    case = create_case(villages[0], ref="HH-310", head_name="韩大山")
    login(worker)
    real_submit = records.submit
    winner = {}

    def first_one_commits_meanwhile(data, uploads, user, source, facts=None):
        # The other request (the first upload) saves the same reference and commits while
        # this one is between its look-up and its insert; this insert then hits the constraint.
        winner["record"] = real_submit(data, uploads, user, source, facts)
        db.session.commit()
        winner["id"] = winner["record"].id
        return real_submit(data, uploads, user, source, facts)

    monkeypatch.setattr(records, "submit", first_one_commits_meanwhile)
    now = datetime.now().replace(second=0, microsecond=0)
    answer = client.post("/records/new", content_type="multipart/form-data", data={
        "contract_id": contract.id, "case_id": case.id, "service_type": "home_visit", "worker_id": staff.id,
        "started_at": (now - timedelta(minutes=40)).strftime("%Y-%m-%dT%H:%M"),
        "ended_at": now.strftime("%Y-%m-%dT%H:%M"), "notes": "", "submission_key": "race-1",
        "photos": [(io.BytesIO(photo_bytes(31)), "a.jpg")]})

    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/records/{winner['id']}")
    refs = db.session.scalars(sa.select(ServiceRecord.record_ref)).all()
    assert len(refs) == 1
