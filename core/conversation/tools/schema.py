"""The JSON Schema a tool declares to Gemini, derived from its argument model.

pydantic's schema is walked structurally: annotation keywords (``title``,
``default``) are dropped only where they are keywords, never inside a
``properties`` map, so a parameter may be named ``title`` or ``default``.
``$ref``s are inlined and ``$defs`` dropped, so nested models and enums
arrive as one self-contained schema; ``Optional[X]`` becomes plain ``X``
(optional is already said by ``required``). ``additionalProperties: false``
is left out: the argument models refuse unknown fields themselves, and the
tool result names them, so the tokens are not spent on every request.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

# Keywords that only annotate; the model is told the field's meaning by ``description``.
_ANNOTATIONS = frozenset({"title", "default", "examples", "$schema", "$comment"})
# Keywords whose value is one schema, a list of schemas, or a map of name -> schema.
_ONE = frozenset({"items", "additionalProperties", "not"})
_MANY = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_MAP = frozenset({"properties", "patternProperties"})
_DEFS_PREFIX = "#/$defs/"


def parameters_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The ``parametersJsonSchema`` of a tool taking ``model`` as its arguments."""
    raw = model.model_json_schema()
    schema = _clean(raw, raw.get("$defs", {}), ())
    schema.pop("description", None)  # the model's docstring; the tool has its own
    schema.setdefault("properties", {})
    return schema


def _clean(schema: dict[str, Any], defs: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith(_DEFS_PREFIX):
        name = ref.removeprefix(_DEFS_PREFIX)
        if name in seen:
            raise TypeError(f"tool arguments may not be recursive ({' -> '.join((*seen, name))})")
        # Keywords beside a $ref (a field's description) refine the referenced schema.
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        return _clean({**defs[name], **siblings}, defs, (*seen, name))
    options = schema.get("anyOf")
    if isinstance(options, list):
        kept = [o for o in options if o.get("type") != "null"]
        if len(kept) == 1:
            rest = {k: v for k, v in schema.items() if k != "anyOf"}
            return _clean({**kept[0], **rest}, defs, seen)
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _ANNOTATIONS or key == "$defs" or (key == "additionalProperties" and value is False):
            continue
        if key in _MAP:
            out[key] = {name: _clean(sub, defs, seen) for name, sub in value.items()}
        elif key in _ONE and isinstance(value, dict):
            out[key] = _clean(value, defs, seen)
        elif key in _MANY:
            out[key] = [_clean(sub, defs, seen) for sub in value]
        else:
            out[key] = value  # enum, required, bounds...: data, not schemas
    return out
