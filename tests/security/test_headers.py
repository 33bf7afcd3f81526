"""Security headers on every page, and no inline script for the policy to forbid."""

from __future__ import annotations

import re
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def test_pages_carry_the_security_headers(client):
    response = client.get("/login")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_no_template_holds_an_inline_script_or_event_handler():
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
    handler = re.compile(r"\son[a-z]+\s*=", re.I)
    found = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if inline.search(text) or handler.search(text) or "javascript:" in text:
            found.append(str(path.relative_to(TEMPLATES)))
    assert found == []


# --- issue 15: frame denial, HSTS behind TLS, cookies, proxy -------------------------------------

def test_every_answer_denies_framing_and_browser_features(client):
    for path in ("/login", "/no-such-page", "/static/favicon.svg"):
        with client.get(path) as response:
            headers = response.headers
        assert headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"], path
        policy = headers["Permissions-Policy"]
        assert "microphone=()" in policy and "payment=()" in policy and "usb=()" in policy, path


def test_hsts_only_over_tls(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_a_forwarded_proto_is_believed_only_from_a_configured_proxy(app, client, tmp_path, database_url):
    from reliefsvc import create_app

    # No PROXY_FIX (the default): a client cannot claim TLS with a header.
    forged = client.get("/login", headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"})
    assert "Strict-Transport-Security" not in forged.headers
    behind_nginx = create_app({"INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True,
                               "SECRET_KEY": "test-secret-key-not-for-production", "PROXY_FIX": 1})
    seen = {}

    @behind_nginx.after_request
    def _remember(response):
        from flask import request

        seen.update(scheme=request.scheme, addr=request.remote_addr)
        return response

    response = behind_nginx.test_client().get("/login", headers={
        "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.7", "X-Forwarded-Host": "jz.example.gov.cn"})
    assert response.status_code == 200
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert seen == {"scheme": "https", "addr": "198.51.100.7"}


def test_cookies_are_httponly_samesite_and_secure_over_tls(client, create_user):
    from tests.conftest import TEST_PASSWORD

    user = create_user("officer")
    response = client.post("/login", data={"username": user.username, "password": TEST_PASSWORD,
                                           "remember": "y"}, base_url="https://localhost")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie and "Secure" in session_cookie
    for cookie in cookies:
        assert "Secure" in cookie, cookie
    remember = [c for c in cookies if c.startswith("remember_token=")]
    for cookie in remember:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    # plain HTTP in development: no Secure flag (the browser would drop the cookie)
    plain = client.get("/login").headers.getlist("Set-Cookie")
    assert all("Secure" not in c for c in plain)


def test_production_settings_make_cookies_secure_and_links_https(tmp_path, database_url):
    from reliefsvc import create_app

    prod = create_app({"INSTANCE_PATH": tmp_path, "SQLALCHEMY_DATABASE_URI": database_url,
                       "SECRET_KEY": "a-real-production-secret-0123456789", "ENV_NAME": "production"})
    assert prod.config["SESSION_COOKIE_SECURE"] and prod.config["REMEMBER_COOKIE_SECURE"]
    assert prod.config["SESSION_COOKIE_HTTPONLY"] and prod.config["REMEMBER_COOKIE_HTTPONLY"]
    assert prod.config["SESSION_COOKIE_SAMESITE"] == "Lax" and prod.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    assert prod.config["PREFERRED_URL_SCHEME"] == "https"
