"""``@api_access``: the JSON API's guard. Token in, problem+json out.

A call authenticates with ``Authorization: Bearer rsv_…`` only. The session cookie is never
read here, so a page open in a browser cannot be made to call the API (and the API's views
are exempt from CSRF, which protects cookie-authenticated forms). The token acts as its user:
the role check and the loading of URL objects inside their parents are those of the pages
(``security.access.load_url_objects``, ``visible_to``); another organisation's object is a 404.
"""

from __future__ import annotations

import functools
import threading
import time

from flask import current_app, g, request
from werkzeug.exceptions import HTTPException

from reliefsvc.api import service
from reliefsvc.api.schemas import MAX_ID
from reliefsvc.extensions import csrf
from reliefsvc.security.access import load_url_objects
from reliefsvc.security.models import Role

PROBLEM = "application/problem+json"

#: Chinese and English titles of the statuses the API answers with.
TITLES = {
    400: ("请求无法理解", "Bad request"),
    401: ("需要有效的访问令牌", "A valid access token is required"),
    403: ("无权进行此操作", "Forbidden"),
    404: ("未找到", "Not found"),
    405: ("此处不允许该方法", "Method not allowed"),
    409: ("请求冲突", "Conflict"),
    412: ("记录已被他人修改", "Precondition failed"),
    413: ("文件过大", "Payload too large"),
    415: ("不支持的内容类型", "Unsupported media type"),
    422: ("数据未通过校验", "Unprocessable content"),
    428: ("缺少前提条件", "Precondition required"),
    429: ("请求过于频繁", "Too many requests"),
    500: ("服务器内部错误", "Internal server error"),
}


class Problem(Exception):
    """An answer of the API that is not a success: raised anywhere below a view."""

    def __init__(self, status: int, zh: str | None = None, en: str | None = None, *, code: str | None = None,
                 errors: list[dict] | None = None, headers: dict | None = None):
        super().__init__(en or TITLES.get(status, ("", ""))[1])
        title_zh, title_en = TITLES.get(status, TITLES[500])
        self.status, self.code = status, code or title_en.lower().replace(" ", "_")
        self.zh, self.en = zh or title_zh, en or title_en
        self.errors, self.headers = errors or [], headers or {}

    def body(self) -> dict:
        title_zh, title_en = TITLES.get(self.status, TITLES[500])
        out = {"type": f"urn:reliefsvc:problem:{self.code}", "status": self.status, "title": title_en,
               "title_zh": title_zh, "detail": self.en, "detail_zh": self.zh}
        if self.errors:
            out["errors"] = self.errors
        return out


def problem_response(problem: Problem):
    response = current_app.json.response(problem.body())
    response.status_code = problem.status
    response.mimetype = PROBLEM
    response.headers.update(problem.headers)
    return response


def is_api_request() -> bool:
    return request.path.startswith("/api/v1/")


def http_problem(error: HTTPException) -> Problem:
    headers = {}
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return Problem(error.code or 500, headers=headers)


# --- rate limits ---------------------------------------------------------------------------

class FixedWindowLimiter:
    """Requests per token and minute, counted in this process's memory.

    Why memory and not the database: counting in the database would turn every read into
    a write (on SQLite a write lock for every GET of a polling client), and a limit is a
    brake on a runaway client, not a quota to bill. The price: with W web workers a token
    can make up to W times the limit, and a restart forgets the counts; both are fine for
    a brake, and both are in docs/api.md.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}

    def hit(self, key: str, limit: int, now: float | None = None) -> tuple[bool, int, int]:
        """Count one request; returns (allowed, remaining, seconds until the window resets)."""
        now = time.time() if now is None else now
        window = int(now // 60)
        with self._lock:
            start, count = self._counts.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            count += 1
            self._counts[key] = (start, count)
            if len(self._counts) > 10_000:  # forget windows that have passed
                self._counts = {k: v for k, v in self._counts.items() if v[0] == window}
        reset = 60 - int(now % 60)
        return count <= limit, max(limit - count, 0), reset

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()


def limiter() -> FixedWindowLimiter:
    return current_app.extensions.setdefault("api_rate_limiter", FixedWindowLimiter())


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


def authenticate():
    """The token's user, or a 401 problem. Sets ``g.api_token`` and Flask-Login's user."""
    token = service.authenticate(_bearer())
    if token is None:
        raise Problem(401, "缺少访问令牌，或令牌无效、已过期、已撤销",
                      "missing, invalid, expired or revoked access token",
                      headers={"WWW-Authenticate": 'Bearer realm="reliefsvc"'})
    limit = current_app.config.get("API_RATE_LIMIT_PER_MINUTE", 120)
    if limit:
        allowed, remaining, reset = limiter().hit(token.token_hash, limit)
        g.api_rate = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
                      "X-RateLimit-Reset": str(reset)}
        if not allowed:
            raise Problem(429, f"每个令牌每分钟最多 {limit} 次请求，请 {reset} 秒后再试",
                          f"at most {limit} requests a minute per token; retry in {reset} s",
                          headers={**g.api_rate, "Retry-After": str(reset)})
    g.api_token = token
    # Flask-Login's current_user for this request only (audit actor, services); no session is written.
    g._login_user = token.user
    return token.user


def api_access(*roles: Role):
    """Allow the given roles (every role when none are given) to call a JSON endpoint with a token."""
    allowed = frozenset(roles)

    def decorator(view):
        @functools.wraps(view)
        def wrapper(**view_args):
            try:
                user = authenticate()
                if allowed and user.role not in allowed:
                    raise Problem(403, "您的角色不能进行此操作", "your role may not do this")
                if any(isinstance(v, int) and v > MAX_ID for v in view_args.values()):
                    raise Problem(404)  # beyond any id the database can hold
                return view(**load_url_objects(view_args, user))
            except Problem as problem:
                return problem_response(problem)
            except HTTPException as error:
                return problem_response(http_problem(error))

        wrapper.access_rule = ("api", allowed)
        # CSRF protects forms sent with the session cookie; a token call carries no cookie
        # authority (see the module note), so these views, and only these, are exempt.
        csrf.exempt(wrapper)
        return wrapper

    return decorator


def api_public(view):
    """A JSON API endpoint anyone may read (the description of the API itself)."""
    view.access_rule = ("public", frozenset())
    return view
