"""Payment pages: the ledger (overall and per contract), the plan, the computation of an
instalment, the two-person approval, disbursement; fund-use reports with their checks;
anomalies for on-site checks; Excel exports."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user

from reliefsvc.common import exportgate, panels
from reliefsvc.contracts.models import Contract, ContractStatus
from reliefsvc.extensions import db
from reliefsvc.payments import service
from reliefsvc.payments.forms import (
    DecideForm,
    DisburseForm,
    EvenPlanForm,
    InstalmentForm,
    LineForm,
    ProposeForm,
    ReceiptForm,
    ReportForm,
    ReverseForm,
    ReviewForm,
    SettingsForm,
)
from reliefsvc.payments.models import (
    LABELS,
    Category,
    EntryStatus,
    FrozenPaymentError,
    FundReceipt,
    FundUseLine,
    FundUseReport,
    Instalment,
    PaymentEntry,
    ReportStatus,
)
from reliefsvc.security.access import restrict_access, url_object
from reliefsvc.security.models import BUREAU_ROLES, Role
from reliefsvc.web import in_locale

bp = Blueprint("payments", __name__, url_prefix="/payments")

url_object("instalment_id", Instalment, as_="instalment", parent=("contract_id", "contract_id"))
url_object("payment_entry_id", PaymentEntry, as_="entry")
url_object("fund_report_id", FundUseReport, as_="report")
url_object("fund_line_id", FundUseLine, as_="line", parent=("fund_report_id", "report_id"))
url_object("fund_receipt_id", FundReceipt, as_="receipt", parent=("fund_line_id", "line_id"))

#: Who sees payments: the bureau, and the provider's manager (its own contracts only).
READERS = (*BUREAU_ROLES, Role.PROVIDER_MANAGER)
OFFICER = (Role.OFFICER,)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _fail(exc):
    db.session.rollback()
    flash(in_locale(exc), "danger")


def _form_errors(form):
    for errors in form.errors.values():
        for e in errors:
            flash(str(e), "danger")


def _to_contract(contract, anchor=""):
    return redirect(url_for("payments.contract", contract_id=contract.id) + anchor)


def _computations(contract):
    """Each instalment with its computation now and the entry that stands for it."""
    return [(i, service.compute(i), service.open_entry(i)) for i in service.plan(contract)]


# --- ledgers -------------------------------------------------------------------------------

@bp.route("/")
@restrict_access(*READERS)
def index():
    status = request.args.get("status") or None
    if status not in (None, *[s.value for s in EntryStatus]):
        status = None
    entries = db.session.scalars(service.visible_entries(current_user, status=status).limit(500)).all()
    contracts = db.session.scalars(sa.select(Contract).where(Contract.status != ContractStatus.DRAFT)
                                   .order_by(Contract.contract_no)).all()
    contracts = [c for c in contracts if c.visible_to(current_user)]
    totals = [(c, service.contract_totals(c)) for c in contracts]
    return render_template("payments/index.html", rows=service.ledger_rows(entries), entries=entries,
                           totals=totals, status=status, Status=EntryStatus)


def _ledger_xlsx(entries, title, filename):
    from reliefsvc.reports.excel import LedgerColumn, write_ledger

    columns = [LedgerColumn("id", "编号", "int"), LedgerColumn("contract_no", "合同编号"),
               LedgerColumn("provider", "承接主体"), LedgerColumn("instalment", "期次", "int"),
               LedgerColumn("kind", "类型"), LedgerColumn("status", "状态"),
               LedgerColumn("planned", "计划金额", "money"), LedgerColumn("computed", "按结果应付", "money"),
               LedgerColumn("deductions", "扣减", "money"), LedgerColumn("amount", "支付金额", "money"),
               LedgerColumn("proposed_by", "提出人"), LedgerColumn("proposed_at", "提出时间", "datetime"),
               LedgerColumn("approved_by", "审批人"), LedgerColumn("decided_at", "审批时间", "datetime"),
               LedgerColumn("disbursed_on", "拨付日期", "date"), LedgerColumn("voucher_no", "凭证号")]
    out = BytesIO()
    write_ledger(out, columns, service.ledger_rows(entries), sheet_title="支付台账", title=title)
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name=filename)


@bp.route("/ledger.xlsx", methods=["GET", "POST"])
@restrict_access(*READERS)
def export_ledger():
    # Names of who proposed and approved each payment: asked for a reason, audited (issue 15).
    form, reason = exportgate.reason_given()
    if reason is None:
        return exportgate.ask(form, _("Payment ledger (Excel)"), url_for("payments.index"))
    entries = db.session.scalars(service.visible_entries(current_user)).all()
    exportgate.record_personal_export("payments.ledger", reason, len(entries))
    return _ledger_xlsx(entries, "资金支付台账", "payments.xlsx")


@bp.route("/contracts/<int:contract_id>")
@restrict_access(*READERS)
def contract(contract):
    entries = db.session.scalars(service.visible_entries(current_user, contract=contract)).all()
    settings = service.settings_for(contract)
    officer = current_user.role is Role.OFFICER
    settings_form = SettingsForm(fee_cap=settings.fee_cap * 100, quantity_weight=settings.quantity_weight * 100)
    return render_template(
        "payments/contract.html", contract=contract, plan=_computations(contract), rows=service.ledger_rows(entries),
        entries=entries, totals=service.contract_totals(contract), settings=settings, officer=officer,
        linked=service.paid_on_results(contract), instalment_form=InstalmentForm(), even_form=EvenPlanForm(),
        settings_form=settings_form, categories=list(Category), category_labels=LABELS[Category],
        reports=db.session.scalars(service.visible_reports(current_user, contract)).all())


@bp.route("/contracts/<int:contract_id>/ledger.xlsx", methods=["GET", "POST"])
@restrict_access(*READERS)
def contract_export(contract):
    form, reason = exportgate.reason_given()
    if reason is None:
        return exportgate.ask(form, _("Payment ledger (Excel)"), url_for("payments.contract", contract_id=contract.id))
    entries = db.session.scalars(service.visible_entries(current_user, contract=contract)).all()
    exportgate.record_personal_export("payments.ledger", reason, len(entries), {"contract": contract.contract_no})
    return _ledger_xlsx(entries, f"{contract.contract_no} {contract.title} 资金支付台账",
                        f"payments-{contract.contract_no}.xlsx")


# --- plan and settings ---------------------------------------------------------------------

@bp.route("/contracts/<int:contract_id>/plan", methods=["POST"])
@restrict_access(*OFFICER)
def add_instalment(contract):
    form = InstalmentForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _to_contract(contract, "#plan")
    try:
        service.add_instalment(contract, Decimal(form.share.data) / 100, form.period_from.data, form.period_to.data,
                               current_user, due_on=form.due_on.data, milestone=form.milestone.data or "")
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Instalment added to the plan."), "success")
    return _to_contract(contract, "#plan")


@bp.route("/contracts/<int:contract_id>/plan/even", methods=["POST"])
@restrict_access(*OFFICER)
def even_plan(contract):
    form = EvenPlanForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _to_contract(contract, "#plan")
    try:
        service.even_plan(contract, form.count.data, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Payment plan made."), "success")
    return _to_contract(contract, "#plan")


@bp.route("/contracts/<int:contract_id>/instalments/<int:instalment_id>/remove", methods=["POST"])
@restrict_access(*OFFICER)
def remove_instalment(contract, instalment):
    try:
        service.remove_instalment(instalment, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Instalment removed from the plan."), "success")
    return _to_contract(contract, "#plan")


@bp.route("/contracts/<int:contract_id>/settings", methods=["POST"])
@restrict_access(*OFFICER)
def settings(contract):
    form = SettingsForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _to_contract(contract, "#settings")
    budget = {c.value: request.form.get(f"budget_{c.value}", "").strip() for c in Category}
    try:
        weight = Decimal(form.quantity_weight.data if form.quantity_weight.data is not None else 25) / 100
        service.save_settings(contract, Decimal(form.fee_cap.data) / 100, budget, current_user, weight)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Saved."), "success")
    return _to_contract(contract, "#settings")


# --- computing, proposing, approving ---------------------------------------------------------

@bp.route("/contracts/<int:contract_id>/instalments/<int:instalment_id>")
@restrict_access(*READERS)
def instalment(contract, instalment):
    return render_template("payments/instalment.html", contract=contract, instalment=instalment,
                           comp=service.compute(instalment), current=service.open_entry(instalment),
                           form=ProposeForm(), officer=current_user.role is Role.OFFICER,
                           linked=service.paid_on_results(contract))


@bp.route("/contracts/<int:contract_id>/instalments/<int:instalment_id>/propose", methods=["POST"])
@restrict_access(*OFFICER)
def propose(contract, instalment):
    form = ProposeForm()
    try:
        entry = service.propose(instalment, current_user, form.note.data or "")
    except service.PaymentError as exc:
        _fail(exc)
        return redirect(url_for("payments.instalment", contract_id=contract.id, instalment_id=instalment.id))
    flash(_("Payment proposed. A second officer must approve it."), "success")
    return redirect(url_for("payments.entry", payment_entry_id=entry.id))


@bp.route("/entries/<int:payment_entry_id>")
@restrict_access(*READERS)
def entry(entry):
    officer = current_user.role is Role.OFFICER
    return render_template("payments/entry.html", entry=entry, contract=entry.contract, officer=officer,
                           own=entry.proposed_by_id == current_user.id, decide_form=DecideForm(),
                           disburse_form=DisburseForm(), reverse_form=ReverseForm(),
                           reversal=db.session.scalar(sa.select(PaymentEntry).where(
                               PaymentEntry.reverses_id == entry.id)))


def _decide(entry, action):
    form = DecideForm()
    try:
        action(entry, current_user, form.note.data or "")
    except (service.PaymentError, FrozenPaymentError) as exc:
        if isinstance(exc, FrozenPaymentError):
            exc = service.PaymentError("这笔支付已有决定，不能更改", "the entry is already decided and cannot change")
        _fail(exc)
        return False
    return True


@bp.route("/entries/<int:payment_entry_id>/approve", methods=["POST"])
@restrict_access(*OFFICER)
def approve(entry):
    if _decide(entry, service.approve):
        flash(_("Payment approved."), "success")
    return redirect(url_for("payments.entry", payment_entry_id=entry.id))


@bp.route("/entries/<int:payment_entry_id>/refuse", methods=["POST"])
@restrict_access(*OFFICER)
def refuse(entry):
    if _decide(entry, service.refuse):
        flash(_("Payment not approved."), "success")
    return redirect(url_for("payments.entry", payment_entry_id=entry.id))


@bp.route("/entries/<int:payment_entry_id>/disburse", methods=["POST"])
@restrict_access(*OFFICER)
def disburse(entry):
    form = DisburseForm()
    if not form.validate_on_submit():
        _form_errors(form)
    else:
        try:
            service.record_disbursement(entry, form.disbursed_on.data, form.voucher_no.data, current_user)
        except service.PaymentError as exc:
            _fail(exc)
        else:
            flash(_("Disbursement recorded."), "success")
    return redirect(url_for("payments.entry", payment_entry_id=entry.id))


@bp.route("/entries/<int:payment_entry_id>/reverse", methods=["POST"])
@restrict_access(*OFFICER)
def reverse(entry):
    form = ReverseForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("payments.entry", payment_entry_id=entry.id))
    try:
        rev = service.propose_reversal(entry, current_user, form.reason.data)
    except service.PaymentError as exc:
        _fail(exc)
        return redirect(url_for("payments.entry", payment_entry_id=entry.id))
    flash(_("Reversal proposed. A second officer must approve it."), "success")
    return redirect(url_for("payments.entry", payment_entry_id=rev.id))


# --- fund use --------------------------------------------------------------------------------

def _report_rows(reports):
    return [(r, service.check_report(r)) for r in reports]


@bp.route("/fund-use")
@restrict_access(*READERS)
def fund_use():
    reports = db.session.scalars(service.visible_reports(current_user).limit(300)).all()
    return render_template("payments/fund_use.html", rows=_report_rows(reports),
                           manager=current_user.role is Role.PROVIDER_MANAGER)


@bp.route("/fund-use.xlsx")
@restrict_access(*READERS)
def fund_use_export():
    from reliefsvc.reports.excel import LedgerColumn, write_ledger

    rows = []
    for report, check in _report_rows(db.session.scalars(service.visible_reports(current_user)).all()):
        findings = "；".join(f.text_zh for f in check.findings)
        for line in report.lines:
            rows.append({"contract_no": report.contract.contract_no, "provider": report.contract.provider.name,
                         "period_from": report.period_from, "period_to": report.period_to,
                         "status": report.status.label, "category": service.CATEGORY_ZH[line.category.value],
                         "purpose": line.purpose, "amount": line.amount, "receipts": len(line.receipts),
                         "unit_cost": check.unit_cost, "findings": findings})
    columns = [LedgerColumn("contract_no", "合同编号"), LedgerColumn("provider", "承接主体"),
               LedgerColumn("period_from", "报告期起", "date"), LedgerColumn("period_to", "报告期止", "date"),
               LedgerColumn("status", "状态"), LedgerColumn("category", "支出类别"), LedgerColumn("purpose", "用途"),
               LedgerColumn("amount", "金额", "money"), LedgerColumn("receipts", "票据数", "int"),
               LedgerColumn("unit_cost", "每项通过服务成本", "money"), LedgerColumn("findings", "检查发现")]
    out = BytesIO()
    write_ledger(out, columns, rows, sheet_title="资金使用台账", title="资金使用情况台账")
    out.seek(0)
    return send_file(out, mimetype=XLSX, as_attachment=True, download_name="fund-use.xlsx")


@bp.route("/fund-use/new", methods=["GET", "POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def report_new():
    form = ReportForm()
    contracts = [c for c in db.session.scalars(sa.select(Contract).where(Contract.status != ContractStatus.DRAFT)
                                                .order_by(Contract.contract_no)) if c.visible_to(current_user)]
    form.contract_id.choices = [(c.id, f"{c.contract_no} {c.title}") for c in contracts]
    if form.validate_on_submit():
        chosen = next((c for c in contracts if c.id == form.contract_id.data), None)
        if chosen is not None:
            try:
                report = service.create_report(chosen, form.period_from.data, form.period_to.data, current_user,
                                               form.note.data or "")
            except service.PaymentError as exc:
                _fail(exc)
            else:
                flash(_("Report started: add the spending lines with their receipts."), "success")
                return redirect(url_for("payments.report", fund_report_id=report.id))
    else:
        _form_errors(form) if request.method == "POST" else None
    return render_template("payments/report_new.html", form=form)


@bp.route("/fund-use/<int:fund_report_id>")
@restrict_access(*READERS)
def report(report):
    editable = report.status is ReportStatus.DRAFT and current_user.role is Role.PROVIDER_MANAGER
    return render_template("payments/report.html", report=report, contract=report.contract,
                           check=service.check_report(report), editable=editable, line_form=LineForm(),
                           receipt_form=ReceiptForm(), review_form=ReviewForm(),
                           officer=current_user.role is Role.OFFICER, category_labels=LABELS[Category],
                           settings=service.settings_for(report.contract))


@bp.route("/fund-use/<int:fund_report_id>/lines", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def add_line(report):
    form = LineForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return redirect(url_for("payments.report", fund_report_id=report.id))
    upload = form.file.data
    try:
        line = service.add_line(report, form.category.data, form.purpose.data, form.amount.data, current_user)
        if upload and upload.filename:
            service.add_receipt(line, upload.read(), upload.filename, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Line added."), "success")
    return redirect(url_for("payments.report", fund_report_id=report.id))


@bp.route("/fund-use/<int:fund_report_id>/lines/<int:fund_line_id>/remove", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def remove_line(report, line):
    try:
        service.remove_line(line, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Line removed."), "success")
    return redirect(url_for("payments.report", fund_report_id=report.id))


@bp.route("/fund-use/<int:fund_report_id>/lines/<int:fund_line_id>/receipts", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def add_receipt(report, line):
    form = ReceiptForm()
    upload = form.file.data
    try:
        if not upload or not upload.filename:
            raise service.PaymentError("请选择文件", "choose a file", "file")
        service.add_receipt(line, upload.read(), upload.filename, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Receipt uploaded."), "success")
    return redirect(url_for("payments.report", fund_report_id=report.id))


@bp.route("/fund-use/<int:fund_report_id>/lines/<int:fund_line_id>/receipts/<int:fund_receipt_id>")
@restrict_access(*READERS)
def receipt(report, line, receipt):
    from reliefsvc.evidence import get_storage
    from reliefsvc.evidence.content import without_metadata

    return send_file(without_metadata(get_storage().open(receipt.sha256), receipt.content_type),
                     mimetype=receipt.content_type, as_attachment=False,
                     download_name=receipt.filename, max_age=0)


@bp.route("/fund-use/<int:fund_report_id>/submit", methods=["POST"])
@restrict_access(Role.PROVIDER_MANAGER)
def submit_report(report):
    try:
        check = service.submit_report(report, current_user)
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Report submitted with %(n)s flagged items.", n=len(check.findings)) if check.findings
              else _("Report submitted."), "success")
    return redirect(url_for("payments.report", fund_report_id=report.id))


@bp.route("/fund-use/<int:fund_report_id>/review", methods=["POST"])
@restrict_access(*OFFICER)
def review_report(report):
    form = ReviewForm()
    try:
        service.review_report(report, current_user, form.note.data or "")
    except service.PaymentError as exc:
        _fail(exc)
    else:
        flash(_("Report marked as reviewed."), "success")
    return redirect(url_for("payments.report", fund_report_id=report.id))


# --- anomalies -------------------------------------------------------------------------------

@bp.route("/anomalies")
@restrict_access(*BUREAU_ROLES)
def anomalies():
    kinds = {"amount": _("Amount paid"), "households": _("Households served"),
             "timing": _("Days from the end of the work to approval"),
             "peer_cost": _("Cost per household against similar contracts")}
    return render_template("payments/anomalies.html", anomalies=service.anomalies(), kinds=kinds)


# --- panels ----------------------------------------------------------------------------------

def _contract_panel(contract, user):
    if user.role not in READERS or contract.status is ContractStatus.DRAFT:
        return None
    return {"totals": service.contract_totals(contract), "instalments": len(service.plan(contract)),
            "linked": service.paid_on_results(contract),
            "waiting": db.session.scalar(sa.select(sa.func.count()).select_from(PaymentEntry).where(
                PaymentEntry.contract_id == contract.id, PaymentEntry.status == EntryStatus.PROPOSED))}


def _home_panel(user):
    if user.role is not Role.OFFICER:
        return None
    waiting = db.session.scalars(sa.select(PaymentEntry).where(
        PaymentEntry.status == EntryStatus.PROPOSED, PaymentEntry.proposed_by_id != user.id)
        .order_by(PaymentEntry.proposed_at).limit(10)).all()
    return {"waiting": waiting} if waiting else None


panels.register("contract", "payments", "payments/_contract_panel.html", _contract_panel, order=70, kept=True)
# issue 13: the officer's dashboard shows the payments waiting for approval (and instalments due),
# in a fixed number of queries; this list (a query per entry) left the home page.
# panels.register("home", "payments", "payments/_home_panel.html", _home_panel, order=70)
