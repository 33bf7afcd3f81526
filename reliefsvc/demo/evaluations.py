"""Annual evaluations in the demo county.

The previous-year contract (康民购〔previous year〕2号, 惠民) ended half a year ago: the daily
job opened its evaluation the next day, the evaluator scored it, the provider let its comment
window run out, and the officer signed it — so the provider's page and its next vetting show
it. The sound provider's current contract has an evaluation an officer opened early, scored
in part: the open one.
"""

from __future__ import annotations

from datetime import timedelta

from reliefsvc.evaluations import service
from reliefsvc.extensions import db
from reliefsvc.security.models import Role, User

EARLIER = {
    "management": ("72", "服务台账不全，部分月份缺少负责人签字；整改通知按期答复，但个别整改项逾期完成；"
                         "未发现变相用工的明显迹象，但人员与次年鑫源劳务派遣的花名册有重叠，需在审查时关注。"),
    "outcomes": ("68", "照料服务完成率偏低，抽查中有未提供服务的记录；走访户反映上门次数少于合同约定。"),
    "funds": ("75", "资金按季度拨付，支付与考核结果挂钩；未发现挤占挪用，个别支出凭证不规范。"),
}
CURRENT = {
    "management": ("88", "管理制度健全，协理员按合同配齐，监测预警核查及时；整改项均按期完成。"),
}


def _user(role):
    return db.session.scalar(db.select(User).where(User.role == role).order_by(User.id).limit(1))


def step(ctx):
    officer, evaluator = _user(Role.OFFICER), _user(Role.EVALUATOR)
    earlier = ctx.made["earlier_contracts"][0]
    ended = earlier.ends_on
    # The daily job of the day after the year ended.
    made = service.open_due(on=ended + timedelta(days=1))
    signed = next(e for e in made if e.contract_id == earlier.id)
    for code, (score, narrative) in EARLIER.items():
        service.score_dimension(signed, code, score, narrative, evaluator)
    service.conclude(signed, "pass", False, "项目基本完成，但服务质量和台账管理存在明显不足，抽查发现未提供服务的记录。"
                                            "建议本年度合同到期后不再续购，重新组织采购。", evaluator)
    service.send_to_provider(signed, evaluator, on=ended + timedelta(days=10))
    # the provider did not comment; the officer signed after the window ran out
    service.sign(signed, officer, on=ended + timedelta(days=30))

    sound = ctx.made["contracts"][ctx.made["providers"]["sound"].id]
    current = service.create_evaluation(sound, 1, officer, origin="officer")
    for code, (score, narrative) in CURRENT.items():
        service.score_dimension(current, code, score, narrative, evaluator)
    ctx.made["evaluations"] = [signed, current]
