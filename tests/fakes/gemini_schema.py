"""What Gemini accepts in a function declaration, written down once for the fake and the tests.

Sources (the Gemini API reference, ai.google.dev/api, and google-genai 3.6.1's types.py, which
carries the same text):

- ``FunctionDeclaration.name``: "Must start with a letter or an underscore. Must be a-z, A-Z,
  0-9, or contain underscores, dots and dashes, with a maximum length of 64." The API refuses
  others with "Invalid function name. ..." (quoted in google-gemini/gemini-cli#6704). Newer API
  versions also take ``:`` (and google-genai's docstring says 128 characters); the fake keeps
  the narrower rule that every version accepts.
- ``FunctionDeclaration.parameters``: "Parameter names must start with a letter or an
  underscore and must only contain chars a-z, A-Z, 0-9, or underscores with a maximum length
  of 64." Applied to the top-level properties of either parameter form.
- ``FunctionDeclaration.parametersJsonSchema``: "The schema must describe an object where the
  properties are the parameters to the function"; "mutually exclusive with ``parameters``".
- The JSON Schema keywords Gemini documents (``GenerationConfig.responseJsonSchema``, the one
  place the reference lists them): ``$id $defs $ref $anchor type format title description
  enum`` ("for strings and numbers") ``items prefixItems minItems maxItems minimum maximum
  anyOf oneOf properties additionalProperties required`` and the non-standard
  ``propertyOrdering``; "If ``$ref`` is set on a sub-schema, no other properties, except for
  those starting as a ``$``, may be set." Added to them: ``minLength maxLength pattern
  minProperties maxProperties``, which the ``Schema`` object documents for function parameters.
  The real API may silently ignore other keywords in a JSON schema; the fake refuses them,
  because a constraint the model is never shown is one it never honours.
- ``required``: every entry must be a declared property, else "property is not defined"
  (the API's words, quoted in iBUHub/AIStudioToAPI#154); ``propertyOrdering`` likewise, since
  it can only order declared properties.
- ``parameters`` is the ``Schema`` proto: an unknown field fails JSON parsing with
  ``Invalid JSON payload received. Unknown name "x" at '...': Cannot find field.``, a type
  outside the ``Type`` enum with ``Invalid value at '...type' (...Type), "object"`` (both
  quoted in many client bug reports, e.g. decolua/9router#3018, zereight/gitlab-mcp#166).

Violations come back as HTTP 400 ``{"error": {"code": 400, "message": ..., "status":
"INVALID_ARGUMENT"}}``, the message one ``* GenerateContentRequest.<path>: <problem>`` line per
violation, or the parse errors alone when the proto could not be read. The problem texts are
the API's where a source quotes them (names, required, parse errors) and the fake's own words
elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

FUNCTION_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,63}")
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
FUNCTION_NAME_RULE = (
    "Invalid function name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9), underscores (_), dots (.) or dashes (-), with a maximum length of 64."
)
PARAMETER_NAME_RULE = (
    "Invalid parameter name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9) or underscores (_), with a maximum length of 64."
)

JSON_SCHEMA_KEYWORDS = frozenset(
    {
        "$id", "$defs", "$ref", "$anchor", "type", "format", "title", "description", "enum",
        "items", "prefixItems", "minItems", "maxItems", "minimum", "maximum", "anyOf", "oneOf",
        "properties", "additionalProperties", "required", "propertyOrdering",
        "minLength", "maxLength", "pattern", "minProperties", "maxProperties",
    }
)  # fmt: skip
JSON_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})

# The Schema proto's fields (ai.google.dev/api/caching#Schema, plus the three google-genai sends).
SCHEMA_FIELDS = frozenset(
    {
        "type", "format", "title", "description", "nullable", "enum", "max_items", "min_items",
        "properties", "required", "min_properties", "max_properties", "min_length", "max_length",
        "pattern", "example", "any_of", "property_ordering", "default", "items", "minimum",
        "maximum", "additional_properties", "defs", "ref",
    }
)  # fmt: skip
SCHEMA_TYPES = frozenset(
    {"TYPE_UNSPECIFIED", "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL"}
)

_COUNTS = frozenset({"minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"})
_TEXTS = frozenset({"$id", "$anchor", "format", "title", "description", "pattern"})
_DEFS_PREFIX = "#/$defs/"


@dataclass
class Problems:
    """Violations found in one request: validation problems and proto parse errors."""

    invalid: list[str]
    unparsable: list[str]

    def __bool__(self) -> bool:
        return bool(self.invalid or self.unparsable)

    def message(self) -> str:
        """The error message the API would send."""
        if self.unparsable:
            return "\n".join(self.unparsable)
        return "".join(f"* GenerateContentRequest.{line}\n" for line in self.invalid)


def request_problems(body: dict[str, Any]) -> Problems:
    """Everything wrong with the function declarations of a generateContent request body."""
    found = Problems([], [])
    for t, tool in enumerate(body.get("tools") or []):
        declarations = wire_field(tool, "functionDeclarations") if isinstance(tool, dict) else None
        for d, declaration in enumerate(declarations or []):
            _declaration(declaration, f"tools[{t}].function_declarations[{d}]", found)
    return found


def declaration_problems(declaration: dict[str, Any]) -> list[str]:
    """Everything wrong with one function declaration, as "<path>: <problem>" lines."""
    found = Problems([], [])
    _declaration(declaration, "function_declaration", found)
    return found.invalid + found.unparsable


def _declaration(declaration: Any, path: str, found: Problems) -> None:
    if not isinstance(declaration, dict):
        found.invalid.append(f"{path}: must be an object")
        return
    name = declaration.get("name")
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        found.invalid.append(f"{path}.name: {FUNCTION_NAME_RULE}")
    json_schema = wire_field(declaration, "parametersJsonSchema")
    schema = declaration.get("parameters")
    if json_schema is not None and schema is not None:
        found.invalid.append(f"{path}: parameters and parameters_json_schema are mutually exclusive")
    if json_schema is not None:
        _json_root(json_schema, f"{path}.parameters_json_schema", found.invalid)
    if schema is not None:
        _schema(schema, f"{path}.parameters", found, top=True)


def _json_root(schema: Any, path: str, out: list[str]) -> None:
    if not isinstance(schema, dict) or schema.get("type") != "object":
        out.append(f'{path}: the schema must describe an object ("type": "object")')
        return
    properties = schema.get("properties")
    for name in properties if isinstance(properties, dict) else ():
        if not PARAMETER_NAME.fullmatch(name):
            out.append(f"{path}.properties[{name!r}]: {PARAMETER_NAME_RULE}")
    _json(schema, path, schema.get("$defs") or {}, out)


def _json(schema: Any, path: str, defs: dict[str, Any], out: list[str]) -> None:
    if not isinstance(schema, dict):
        out.append(f"{path}: a schema must be a JSON object")
        return
    if "$ref" in schema:
        ref = schema["$ref"]
        if not (isinstance(ref, str) and ref.startswith(_DEFS_PREFIX) and ref[len(_DEFS_PREFIX) :] in defs):
            out.append(f"{path}.$ref: {ref!r} does not name an entry of the root $defs")
        beside = sorted(k for k in schema if not k.startswith("$"))
        if beside:
            out.append(f"{path}: $ref {ref!r} was set alongside unsupported fields {beside}")
    properties = schema.get("properties")
    for key, value in schema.items():
        at = f"{path}.{key}"
        if key not in JSON_SCHEMA_KEYWORDS:
            out.append(f"{at}: JSON Schema keyword {key!r} is not supported")
        elif key == "type":
            types = value if isinstance(value, list) else [value]
            if not types or any(t not in JSON_TYPES for t in types):
                out.append(f"{at}: {value!r} is not a JSON Schema type")
        elif key == "enum":
            if not isinstance(value, list) or not value or not all(_is_enum_value(v) for v in value):
                out.append(f"{at}: enum must be a non-empty list of strings or numbers")
        elif key in ("properties", "$defs"):
            if not isinstance(value, dict):
                out.append(f"{at}: must map names to schemas")
                continue
            for name, sub in value.items():
                _json(sub, f"{at}[{name!r}]", defs, out)
        elif key in ("items", "additionalProperties"):
            if not (key == "additionalProperties" and isinstance(value, bool)):
                _json(value, at, defs, out)
        elif key in ("anyOf", "oneOf", "prefixItems"):
            if not isinstance(value, list) or not value:
                out.append(f"{at}: must be a non-empty list of schemas")
                continue
            for i, sub in enumerate(value):
                _json(sub, f"{at}[{i}]", defs, out)
        elif key in ("required", "propertyOrdering"):
            _names(value, at, properties, out)
        elif key in _COUNTS:
            if not (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                out.append(f"{at}: must be a non-negative integer")
        elif key in ("minimum", "maximum"):
            if not _is_number(value):
                out.append(f"{at}: must be a number")
        elif key in _TEXTS and not isinstance(value, str):
            out.append(f"{at}: must be a string")


def _schema(schema: Any, path: str, found: Problems, top: bool = False) -> None:
    if not isinstance(schema, dict):
        found.unparsable.append(
            f"Invalid value at '{path}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Schema)"
        )
        return
    properties = wire_field(schema, "properties")
    for key, value in schema.items():
        field = snake_case(key)
        if field not in SCHEMA_FIELDS:
            found.unparsable.append(
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{path}': Cannot find field."
            )
        elif field == "type" and value not in SCHEMA_TYPES:
            found.unparsable.append(
                f"Invalid value at '{path}.type' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "
                f'"{value}"'
            )
        elif field == "properties" and isinstance(value, dict):
            for i, (name, sub) in enumerate(value.items()):
                if top and not PARAMETER_NAME.fullmatch(name):
                    found.invalid.append(f"{path}.properties[{name!r}]: {PARAMETER_NAME_RULE}")
                _schema(sub, f"{path}.properties[{i}].value", found)
        elif field == "items":
            _schema(value, f"{path}.items", found)
        elif field == "any_of" and isinstance(value, list):
            for i, sub in enumerate(value):
                _schema(sub, f"{path}.any_of[{i}]", found)
        elif field in ("required", "property_ordering"):
            _names(value, f"{path}.{field}", properties, found.invalid)


def _names(value: Any, path: str, properties: Any, out: list[str]) -> None:
    """``required`` and ``propertyOrdering`` may only name declared properties."""
    if not isinstance(value, list):
        out.append(f"{path}: must be a list of property names")
        return
    declared = properties if isinstance(properties, dict) else {}
    for i, name in enumerate(value):
        if name not in declared:
            out.append(f"{path}[{i}]: property is not defined")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_enum_value(value: Any) -> bool:
    return isinstance(value, str) or _is_number(value)


def snake_case(camel: str) -> str:
    """``functionDeclarations`` -> ``function_declarations``."""
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


def wire_field(obj: dict[str, Any], camel: str) -> Any:
    """obj[camel], or its snake_case spelling: proto JSON accepts both, and the SDK sends some keys that way."""
    if camel in obj:
        return obj[camel]
    return obj.get(snake_case(camel))
