"""One login per role, and the organisations they belong to."""

from reliefsvc.demo import DEMO_PASSWORD
from reliefsvc.security import service
from reliefsvc.security.models import OrgKind, Role

BUREAU = "康乐县民政局"
EVALUATION_BODY = "临夏州诚信社会工作评估中心"
#: The sound provider; the providers step of a later issue adds the others.
PROVIDER = "康乐县同心社会工作服务中心"

LOGINS = [
    ("admin", Role.ADMIN, "马建国", BUREAU),
    ("officer", Role.OFFICER, "王秀兰", BUREAU),
    ("evaluator", Role.EVALUATOR, "李明", EVALUATION_BODY),
    ("manager", Role.PROVIDER_MANAGER, "张红梅", PROVIDER),
    ("worker", Role.PROVIDER_WORKER, "马小军", PROVIDER),
    ("inspector", Role.INSPECTOR, "赵德胜", BUREAU),
    # A second officer approves what the first proposes (payments: two people, never one);
    # three evaluators make a pool for the spot checks' random assignment.
    ("officer2", Role.OFFICER, "陈志刚", BUREAU),
    ("evaluator2", Role.EVALUATOR, "周文静", EVALUATION_BODY),
    ("evaluator3", Role.EVALUATOR, "马志远", EVALUATION_BODY),
    # Issue 15, separation of duties (三员分立): beside the system administrator (admin), a
    # security administrator (roles, unlocks, second factors) and a security auditor (audit log).
    ("secadmin", Role.SECURITY_ADMIN, "韩立新", BUREAU),
    ("auditor", Role.AUDITOR, "苏文慧", BUREAU),
]

ORG_KINDS = {BUREAU: OrgKind.BUREAU, EVALUATION_BODY: OrgKind.EVALUATION_BODY, PROVIDER: OrgKind.PROVIDER}


class DemoRefused(RuntimeError):
    """The demo county is never loaded into a production installation (no default accounts)."""


def step(ctx):
    from flask import current_app

    if current_app.config.get("ENV_NAME") == "production":
        raise DemoRefused("生产环境不能加载演示数据（演示账号使用公开密码） / "
                          "refusing to load the demo county in production (its logins share a public password)")
    orgs = {name: service.get_or_create_organisation(name, kind) for name, kind in ORG_KINDS.items()}
    ctx.made["organisations"] = orgs
    for username, role, full_name, org in LOGINS:
        service.create_user(username, DEMO_PASSWORD, role, display_name=full_name, organisation=orgs[org])
        ctx.logins.append((username, DEMO_PASSWORD, role.label))
