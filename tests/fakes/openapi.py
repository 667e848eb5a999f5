"""Route and validate HTTP requests against an OpenAPI 3.0 spec, a bit stricter than the spec."""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema.exceptions import best_match
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from referencing import Registry
from referencing.jsonschema import DRAFT4

SPEC_URI = "urn:fake-openapi-spec"
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
_PLACEHOLDER = re.compile(r"\{([^{}/]+)\}")
_INTEGER = re.compile(r"[+-]?\d+")


class SpecError(Exception):
    """A request the server refuses: the HTTP status, message and headers to answer with."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


@dataclass(frozen=True)
class Route:
    """One path template of the spec, compiled to a regex."""

    template: str
    regex: re.Pattern[str]
    names: tuple[str, ...]
    literal_chars: int
    operations: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class ValidRequest:
    """A request that passed validation, with its parameters parsed to Python values."""

    operation_id: str
    template: str
    path_params: dict[str, Any]
    query: dict[str, Any]
    body: Any


def _tighten(schema: Any) -> None:
    """Make every object schema closed and every `$ref` absolute, in place."""
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        schema["$ref"] = SPEC_URI + ref
    props = schema.get("properties")
    if isinstance(props, dict):
        for sub in props.values():
            _tighten(sub)
        # Undeclared fields (e.g. `tss`, `duration`) are not part of the API; rejecting
        # them catches clients that believe they set something.
        schema.setdefault("additionalProperties", False)
    extra = schema.get("additionalProperties")
    if extra == {"type": "object"}:
        # The generator renders Java's Map<String, Object> this way; real values are
        # arrays, numbers and strings too (workout_doc.steps is a list).
        schema["additionalProperties"] = {}
    elif isinstance(extra, dict):
        _tighten(extra)
    for key in ("items", "not"):
        _tighten(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            _tighten(sub)


def _compile(template: str, operations: Mapping[str, Mapping[str, Any]]) -> Route:
    """Turn `/a/{id}/events{format}` into a regex; whole-segment params need 1+ chars."""
    pattern: list[str] = []
    names: list[str] = []
    pos = literal = 0
    for match in _PLACEHOLDER.finditer(template):
        text = template[pos : match.start()]
        pattern.append(re.escape(text))
        literal += len(text)
        whole = text.endswith("/") and template[match.end() : match.end() + 1] in ("", "/")
        pattern.append("([^/]+)" if whole else "([^/]*)")
        names.append(match.group(1))
        pos = match.end()
    tail = template[pos:]
    pattern.append(re.escape(tail))
    literal += len(tail)
    return Route(template, re.compile("".join(pattern)), tuple(names), literal, operations)


class OpenAPI:
    """A loaded spec: routes requests to operations and validates them."""

    def __init__(self, spec_path: Path) -> None:
        with open(spec_path, encoding="utf-8") as fh:
            self.raw: dict[str, Any] = json.load(fh)
        spec = copy.deepcopy(self.raw)
        for schema in spec.get("components", {}).get("schemas", {}).values():
            _tighten(schema)
        routes = []
        self.operations: dict[str, tuple[str, str, dict[str, Any]]] = {}
        for template, item in spec.get("paths", {}).items():
            ops = {m.upper(): op for m, op in item.items() if m in HTTP_METHODS}
            for method, op in ops.items():
                op["parameters"] = list(item.get("parameters", [])) + list(op.get("parameters", []))
                for param in op["parameters"]:
                    _tighten(param.get("schema"))
                for media in op.get("requestBody", {}).get("content", {}).values():
                    _tighten(media.get("schema"))
                for response in op.get("responses", {}).values():
                    for media in response.get("content", {}).values():
                        _tighten(media.get("schema"))
                self.operations[op.get("operationId", f"{method} {template}")] = (method, template, op)
            routes.append(_compile(template, ops))
        # Most literal text first, so `/events/bulk` beats `/events/{eventId}`.
        self.routes = sorted(routes, key=lambda r: (-r.literal_chars, len(r.names), r.template))
        self.spec = spec
        self._registry: Registry = Registry().with_resource(SPEC_URI, DRAFT4.create_resource(spec))
        self._validators: dict[str, Any] = {}

    # -- schemas ---------------------------------------------------------------------

    @staticmethod
    def component(name: str) -> dict[str, Any]:
        """A schema that refers to `#/components/schemas/<name>`."""
        return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}

    def errors(self, schema: Mapping[str, Any], instance: Any) -> list[str]:
        """All violations of `schema` by `instance`, as readable strings (empty when valid)."""
        validator = self._validator(schema)
        return [_describe(e) for e in validator.iter_errors(instance)]

    def check(self, schema: Mapping[str, Any], instance: Any, where: str) -> None:
        """Raise SpecError(400) naming the most relevant violation, if any."""
        error = best_match(self._validator(schema).iter_errors(instance))
        if error is not None:
            raise SpecError(400, f"{where}: {_describe(error)}")

    def response_schema(self, operation_id: str, status: str = "200") -> dict[str, Any] | None:
        """The JSON schema of an operation's response, if the spec gives one."""
        _, _, op = self.operations[operation_id]
        response = op.get("responses", {}).get(status) or op.get("responses", {}).get("default")
        for media in (response or {}).get("content", {}).values():
            if "schema" in media:
                return media["schema"]  # type: ignore[no-any-return]
        return None

    def _validator(self, schema: Mapping[str, Any]) -> Any:
        key = json.dumps(schema, sort_keys=True)
        validator = self._validators.get(key)
        if validator is None:
            validator = OAS30Validator(
                dict(schema), registry=self._registry, format_checker=oas30_format_checker
            )
            self._validators[key] = validator
        return validator

    # -- requests --------------------------------------------------------------------

    def match(self, method: str, path: str) -> tuple[Route, dict[str, Any], dict[str, str]]:
        """Find the operation for a request; 404 for unknown paths, 405 for wrong methods."""
        path_known = False
        for route in self.routes:
            found = route.regex.fullmatch(path)
            if found is None:
                continue
            path_known = True
            op = route.operations.get(method.upper())
            if op is not None:
                return route, dict(op), dict(zip(route.names, found.groups(), strict=True))
        if path_known:
            raise SpecError(405, f"method {method} not allowed for {path}")
        raise SpecError(404, f"no such path in the spec: {path}")

    def validate_request(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        body: bytes,
        content_type: str | None = None,
    ) -> ValidRequest:
        """Check a request against its operation and return its parsed parts."""
        route, op, raw_path = self.match(method, path)
        params = [p for p in op.get("parameters", []) if p.get("in") in ("path", "query")]
        path_params: dict[str, Any] = {}
        for param in (p for p in params if p["in"] == "path"):
            text = raw_path.get(param["name"], "")
            path_params[param["name"]] = self._parse(f"path parameter {param['name']!r}", [text], param)
        declared = {p["name"]: p for p in params if p["in"] == "query"}
        unknown = sorted(set(query) - set(declared))
        if unknown:
            raise SpecError(400, f"unknown query parameter(s): {', '.join(unknown)}")
        parsed_query: dict[str, Any] = {}
        for name, param in declared.items():
            if name not in query:
                if param.get("required"):
                    raise SpecError(400, f"required query parameter {name!r} is missing")
                continue
            parsed_query[name] = self._parse(f"query parameter {name!r}", query[name], param)
        return ValidRequest(
            operation_id=op.get("operationId", f"{method} {route.template}"),
            template=route.template,
            path_params=path_params,
            query=parsed_query,
            body=self._body(op, body, content_type),
        )

    def _body(self, op: Mapping[str, Any], body: bytes, content_type: str | None) -> Any:
        request_body = op.get("requestBody")
        if request_body is None:
            if body.strip():
                raise SpecError(400, "this operation takes no request body")
            return None
        if not body.strip():
            if request_body.get("required"):
                raise SpecError(400, "request body is required")
            return None
        media = request_body.get("content", {}).get("application/json")
        if media is None:
            raise SpecError(415, "this operation does not take a JSON body")
        if content_type is not None and content_type != "application/json":
            raise SpecError(415, f"Content-Type {content_type!r} is not supported, send application/json")
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise SpecError(400, f"request body is not valid JSON: {exc}") from None
        if "schema" in media:
            self.check(media["schema"], value, "request body")
        return value

    def _parse(self, where: str, raw: list[str], param: Mapping[str, Any]) -> Any:
        schema = param.get("schema", {})
        if schema.get("type") == "array":
            items = schema.get("items", {})
            value: Any = [_scalar(where, p, items) for v in raw for p in v.split(",")]
        elif len(raw) != 1:
            raise SpecError(400, f"{where} given {len(raw)} times")
        else:
            value = _scalar(where, raw[0], schema)
        self.check(schema, value, where)
        return value


def _scalar(where: str, text: str, schema: Mapping[str, Any]) -> Any:
    """Parse one query or path value as its schema type ("true"/"false" only for booleans)."""
    kind = schema.get("type", "string")
    if kind == "integer":
        if not _INTEGER.fullmatch(text):
            raise SpecError(400, f"{where}: {text!r} is not an integer")
        return int(text)
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            raise SpecError(400, f"{where}: {text!r} is not a number") from None
        if not math.isfinite(number):
            raise SpecError(400, f"{where}: {text!r} is not a finite number")
        return number
    if kind == "boolean":
        if text not in ("true", "false"):
            raise SpecError(400, f"{where}: {text!r} is not true or false")
        return text == "true"
    return text


def _describe(error: Any) -> str:
    location = "/".join(str(p) for p in error.absolute_path)
    return f"{location}: {error.message}" if location else str(error.message)
