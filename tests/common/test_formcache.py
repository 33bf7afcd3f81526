"""Blank forms kept with their CSRF token cut out (issue 16, reliefsvc.common.formcache): each
request gets its own token in the same markup, and the form is rendered once per key."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import session

from reliefsvc import create_app
from reliefsvc.common import formcache
from reliefsvc.contracts.forms import DocumentForm


@pytest.fixture
def csrf_app(app, tmp_path):
    made = create_app({"INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "WTF_CSRF_ENABLED": True})
    yield made
    with made.app_context():
        from reliefsvc.extensions import db

        db.engine.dispose()


def test_each_request_gets_its_own_token_in_the_kept_markup(csrf_app):
    contract, built = SimpleNamespace(id=7), []

    def context():
        built.append(1)
        return {"contract": contract, "document_form": DocumentForm()}

    pages = []
    for _reader in range(2):
        with csrf_app.test_request_context("/contracts/7"):
            session.clear()  # another reader: another session, another token
            html = str(formcache.blank("contracts/_document_form.html", (7, "active"), context))
            token = formcache.generate_csrf()
            assert f'value="{token}"' in html and formcache.HOLE not in html
            pages.append(html.replace(token, "TOKEN"))
    assert len(built) == 1  # rendered once
    assert pages[0] == pages[1] and 'action="/contracts/7/documents"' in pages[0]


def test_the_key_and_the_language_make_another_entry(csrf_app):
    built = []

    def context():
        built.append(1)
        return {"contract": SimpleNamespace(id=8), "document_form": DocumentForm()}

    for key, lang in (((8, "active"), "zh_CN"), ((8, "suspended"), "zh_CN"), ((8, "active"), "en"),
                      ((8, "active"), "zh_CN")):
        with csrf_app.test_request_context("/contracts/8"):
            session["locale"] = lang
            formcache.blank("contracts/_document_form.html", key, context)
    assert len(built) == 3


def test_a_form_without_its_token_is_not_kept(csrf_app):
    with csrf_app.test_request_context("/"), pytest.raises(ValueError, match="CSRF"):
        formcache.blank("contracts/_figures.html", (1,), lambda: {"part": "none"})
