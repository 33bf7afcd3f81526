"""The OpenAPI 3 description, generated from the routes, their guards and the marshmallow
schemas they use: ``@doc`` on a view says what it takes and answers, the URL rule gives
the path and its parameters, the guard gives the security, and apispec turns the schemas
that the views load and dump with into JSON Schema."""

from __future__ import annotations

import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask_babel import force_locale
from marshmallow import Schema, fields

from reliefsvc.api import schemas

VERSION = "1.0.0"
PROBLEM = "application/problem+json"
_RULE_ARG = re.compile(r"<(?:(\w+):)?(\w+)>")


def doc(*, tag: str, summary, query: type[Schema] | None = None, body: type[Schema] | None = None,
        multipart: bool = False, response: type[Schema] | None = None, page: bool = False, status: int = 200,
        media: str | None = None, etag: bool = False, if_match: bool = False, idempotency_key: bool = False,
        also: tuple[int, ...] = ()):
    """Describe a JSON API view; ``summary`` is a lazy gettext string (English in the description)."""

    def decorator(view):
        view.api_doc = dict(tag=tag, summary=summary, query=query, body=body, multipart=multipart,
                            response=response, page=page, status=status, media=media, etag=etag,
                            if_match=if_match, idempotency_key=idempotency_key, also=also)
        return view

    return decorator


_PAGES: dict[type, type] = {}


def page_of(item: type[Schema]) -> type[Schema]:
    """``{"items": [item], "next_cursor": "…" | null}``: one page of a list."""
    if item not in _PAGES:
        _PAGES[item] = Schema.from_dict(
            {"items": fields.List(fields.Nested(item), required=True),
             "next_cursor": fields.String(required=True, allow_none=True)},
            name=item.__name__.removesuffix("Schema") + "PageSchema")
    return _PAGES[item]


def _problem(description: str, headers: dict | None = None) -> dict:
    out = {"description": description, "content": {PROBLEM: {"schema": "ProblemSchema"}}}
    if headers:
        out["headers"] = headers
    return out


_HEADER = {"schema": {"type": "string"}}
_RATE_HEADERS = {"X-RateLimit-Limit": _HEADER, "X-RateLimit-Remaining": _HEADER, "X-RateLimit-Reset": _HEADER}


def _operation(view, meta: dict, path_params: list[dict]) -> dict:
    kind, roles = getattr(view, "access_rule", ("public", frozenset()))
    with force_locale("en"):
        summary = str(meta["summary"])
    with force_locale("zh_Hans_CN"):
        summary_zh = str(meta["summary"])
    op: dict = {"tags": [meta["tag"]], "summary": summary, "description": summary_zh,
                "operationId": view.__name__, "parameters": list(path_params), "responses": {}}
    if meta["query"] is not None:
        op["parameters"].append({"in": "query", "schema": meta["query"]})
    if meta["if_match"]:
        op["parameters"].append({"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
                                 "description": "the ETag last read; required to change an existing object"})
    if meta["idempotency_key"]:
        op["parameters"].append({"in": "header", "name": "Idempotency-Key", "required": True,
                                 "schema": {"type": "string", "minLength": 8, "maxLength": 100,
                                            "pattern": "^[A-Za-z0-9._:-]+$"},
                                 "description": "a retry with the same key returns the first answer"})
    if meta["body"] is not None:
        media = "multipart/form-data" if meta["multipart"] else "application/json"
        op["requestBody"] = {"required": True, "content": {media: {"schema": meta["body"]}}}
    ok: dict = {"description": "OK"}
    if meta["response"] is not None:
        schema = page_of(meta["response"]) if meta["page"] else meta["response"]
        ok["content"] = {"application/json": {"schema": schema}}
    elif meta["media"]:
        ok["content"] = {meta["media"]: {"schema": {"type": "string", "format": "binary"}}}
    headers = {}
    if kind == "api":
        headers.update(_RATE_HEADERS)
    if meta["etag"]:
        headers["ETag"] = {"schema": {"type": "string"}, "required": True}
    if headers:
        ok["headers"] = headers
    op["responses"][str(meta["status"])] = ok
    for status in meta["also"]:
        op["responses"][str(status)] = {**ok, "description": "OK (updated)" if status == 200 else "OK"}
    if kind == "api":
        op["security"] = [{"token": []}]
        op["responses"]["401"] = _problem("no usable token", {"WWW-Authenticate": _HEADER})
        op["responses"]["429"] = _problem("rate limit reached", {"Retry-After": _HEADER})
        if roles:
            op["responses"]["403"] = _problem("the token's role may not do this")
    if path_params:
        op["responses"]["404"] = _problem("no such object, or not yours to see")
    if meta["query"] is not None or meta["body"] is not None or meta["idempotency_key"] or meta["if_match"]:
        op["responses"]["400"] = _problem("malformed parameters or body")
    if meta["body"] is not None:
        op["responses"]["422"] = _problem("the data breaks a rule (with the errors per field)")
        op["responses"]["415"] = _problem("wrong content type")
        op["responses"]["413"] = _problem("too large")
    if meta["if_match"]:
        op["responses"]["412"] = _problem("If-Match does not match the current ETag")
        op["responses"]["428"] = _problem("If-Match is required to change an existing object")
    if meta["idempotency_key"]:
        op["responses"]["409"] = _problem("the key was used for another request")
    return op


def _path_and_params(rule) -> tuple[str, list[dict]]:
    params = []

    def replace(match):
        converter, name = match.group(1) or "default", match.group(2)
        schema = {"type": "integer", "minimum": 0, "maximum": schemas.MAX_ID} if converter == "int" else {"type": "string", "minLength": 1,
                                                                              "pattern": "^[^/]+$"}
        params.append({"in": "path", "name": name, "required": True, "schema": schema})
        return "{" + name + "}"

    return _RULE_ARG.sub(replace, rule.rule), params


def build(app: Flask) -> dict:
    spec = APISpec(
        title="reliefsvc API", version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
        info={"description": "购买社会救助服务监管平台 JSON API. Authenticate with a personal access token: "
                             "`Authorization: Bearer rsv_…`. Errors are application/problem+json with Chinese "
                             "(`title_zh`, `detail_zh`) and English (`title`, `detail`) text."},
        servers=[{"url": "/"}])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer",
                                              "description": "a personal access token (rsv_…)"})
    spec.components.schema("ProblemSchema", schema=schemas.ProblemSchema)
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "api_doc", None)
        if meta is None:
            continue
        path, params = _path_and_params(rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(view, meta, params)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


def endpoints(app: Flask) -> set[str]:
    """Endpoints that the description covers (those with ``@doc``)."""
    return {e for e, v in app.view_functions.items() if getattr(v, "api_doc", None) is not None}
