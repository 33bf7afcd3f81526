"""Fixtures for the output helpers."""

from __future__ import annotations

from decimal import Decimal

import pytest


@pytest.fixture
def sample_context():
    """``sample_context(**overrides)`` → the context of templates/reports/sample.html."""
    from reliefsvc.reports.charts import bar_chart

    def make(**overrides):
        context = {
            "title": "康乐县政府购买服务年度评估报告",
            "subtitle": "2026 年度",
            "sections": [{
                "heading": "一、总体情况",
                "paragraphs": ["康乐县民政局委托第三方评估机构，对各承接主体的服务开展年度评估。"],
            }],
            "chart": bar_chart([("景古镇", Decimal("1234.56")), ("八松乡", 800), ("莲麓镇", 300)],
                               title="各乡镇服务金额", unit="元"),
            "chart_caption": "图 1 各乡镇服务金额",
            "rows": [{"provider": "康乐县民政局", "contract_no": "KL-2026-001",
                      "service": "居家养老上门服务", "amount": Decimal("1234.56")}],
            "total": Decimal("1234.56"),
            "note": None,
        }
        context.update(overrides)
        return context

    return make

