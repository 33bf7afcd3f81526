"""Every JSON API endpoint with the roles that may call it, written out by hand.

Shared by ``test_api_matrix.py`` (token calls) and the page matrix's
``test_every_endpoint_is_in_the_matrix`` (which accepts these endpoints)."""

from reliefsvc.security.models import Role

#: issue 15 (三员分立): the security administrator and the auditor call no business endpoint
ALL = frozenset(Role) - {Role.SECURITY_ADMIN, Role.AUDITOR}
BUREAU = frozenset({Role.ADMIN, Role.OFFICER, Role.EVALUATOR, Role.INSPECTOR})
PROVIDERS = frozenset({Role.PROVIDER_MANAGER, Role.PROVIDER_WORKER})
CASE_WRITERS = frozenset({Role.OFFICER, Role.ADMIN})
#: who reads evaluations, payments and fund use: as on their pages, the bureau and the provider's manager
READERS = BUREAU | {Role.PROVIDER_MANAGER}
V = "/api/v1"

#: endpoint -> (method, URL template, roles allowed, names an organisation's object)
API_MATRIX: dict[str, tuple[str, str, frozenset, bool]] = {
    "api.regions": ("GET", V + "/regions", ALL, False),
    "api.region": ("GET", V + "/regions/{region_id}", ALL, False),
    "api.providers": ("GET", V + "/providers", ALL, False),
    "api.provider": ("GET", V + "/providers/{provider_id}", ALL, True),
    "api.contracts": ("GET", V + "/contracts", ALL, False),
    "api.contract": ("GET", V + "/contracts/{contract_id}", ALL, True),
    "api.obligations": ("GET", V + "/contracts/{contract_id}/obligations", ALL, True),
    "api.spotcheck_results": ("GET", V + "/contracts/{contract_id}/spotcheck-results", ALL, True),
    "api.cases_list": ("GET", V + "/cases", ALL, False),
    "api.case": ("GET", V + "/cases/{case_ref}", ALL, True),
    "api.case_put": ("PUT", V + "/cases/{case_ref}", CASE_WRITERS, False),
    "api.records_list": ("GET", V + "/records", ALL, False),
    "api.record_changes": ("GET", V + "/records/changes", ALL, False),
    "api.record": ("GET", V + "/records/{record_id}", ALL, True),
    "api.record_photo": ("GET", V + "/records/{record_id}/photos/{photo_id}", ALL, True),
    "api.record_create": ("POST", V + "/records", PROVIDERS, False),
    "api.flags": ("GET", V + "/flags", ALL, False),
    "api.flag": ("GET", V + "/flags/{flag_id}", ALL, True),
    "api.spotcheck_draws": ("GET", V + "/spotcheck-draws", BUREAU, False),
    "api.spotcheck_draw": ("GET", V + "/spotcheck-draws/{draw_id}", BUREAU, False),
    "api.assessments_list": ("GET", V + "/assessments", ALL, False),
    "api.assessment": ("GET", V + "/assessments/{assessment_id}", ALL, True),
    "api.evaluations_list": ("GET", V + "/evaluations", READERS, False),
    "api.evaluation": ("GET", V + "/evaluations/{evaluation_id}", READERS, True),
    "api.instalments": ("GET", V + "/contracts/{contract_id}/instalments", READERS, True),
    "api.payments_list": ("GET", V + "/payments", READERS, False),
    "api.payment": ("GET", V + "/payments/{payment_entry_id}", READERS, True),
    "api.fund_use_reports": ("GET", V + "/fund-use-reports", READERS, False),
    "api.fund_use_report": ("GET", V + "/fund-use-reports/{fund_report_id}", READERS, True),
}

#: The description of the API: public, it holds no data.
API_PUBLIC = {"api.openapi": ("GET", V + "/openapi.json"), "api.docs": ("GET", V + "/docs")}

API_ENDPOINTS = frozenset(API_MATRIX) | frozenset(API_PUBLIC)
