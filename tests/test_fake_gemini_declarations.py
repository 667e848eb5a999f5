"""The fake Gemini refuses broken function declarations as the real API does: 400 INVALID_ARGUMENT."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from google import genai
from google.genai import errors, types

from core.conversation.tools.base import Tool, ToolContext
from core.fields import Input
from core.model.llm import GeminiModel, ModelUnavailable
from tests.fakes.gemini import FakeGemini, text

MODEL = "gemini-3.8-flash"
PATH = f"/v1beta/models/{MODEL}:generateContent"
AT = "* GenerateContentRequest.tools[0].function_declarations[0]"
OBJECT: dict[str, Any] = {"type": "object", "properties": {"day": {"type": "string"}}}


def declaration(name: str = "plan_day", **schema: Any) -> dict[str, Any]:
    return {"name": name, "description": "Plan a day.", "parametersJsonSchema": {**OBJECT, **schema}}


def nested(prop: dict[str, Any]) -> dict[str, Any]:
    return declaration(properties={"day": prop})


async def post(fake: FakeGemini, *declarations: dict[str, Any]) -> httpx.Response:
    body = {
        "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
        "tools": [{"functionDeclarations": list(declarations)}],
    }
    async with httpx.AsyncClient(base_url=fake.url, timeout=5) as raw:
        return await raw.post(PATH, json=body, headers={"x-goog-api-key": "test-key"})


NAME_RULE = (
    "name: Invalid function name. Must start with a letter or an underscore. Must be alphameric "
    "(a-z, A-Z, 0-9), underscores (_), dots (.) or dashes (-), with a maximum length of 64.\n"
)

BROKEN = {
    "name starts with a digit": (declaration("1plan"), f"{AT}.{NAME_RULE}"),
    "name holds a space": (declaration("plan day"), f"{AT}.{NAME_RULE}"),
    "name holds a colon": (declaration("coach:plan"), f"{AT}.{NAME_RULE}"),
    "name of 65 characters": (declaration("p" * 65), f"{AT}.{NAME_RULE}"),
    "no name": ({"description": "x", "parametersJsonSchema": OBJECT}, f"{AT}.{NAME_RULE}"),
    "required names no property": (
        declaration(required=["day", "title"]),
        f"{AT}.parameters_json_schema.required[1]: property is not defined\n",
    ),
    "required without properties": (
        declaration(properties={}, required=["day"]),
        f"{AT}.parameters_json_schema.required[0]: property is not defined\n",
    ),
    "nested required names no property": (
        nested({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]}),
        f"{AT}.parameters_json_schema.properties['day'].required[0]: property is not defined\n",
    ),
    "propertyOrdering names no property": (
        declaration(propertyOrdering=["night"]),
        f"{AT}.parameters_json_schema.propertyOrdering[0]: property is not defined\n",
    ),
    "undocumented keyword": (
        nested({"type": "integer", "exclusiveMinimum": 0}),
        f"{AT}.parameters_json_schema.properties['day'].exclusiveMinimum: "
        "JSON Schema keyword 'exclusiveMinimum' is not supported\n",
    ),
    "undocumented keyword deep in items": (
        nested({"type": "array", "items": {"type": "object", "properties": {"k": {"const": "x"}}}}),
        f"{AT}.parameters_json_schema.properties['day'].items.properties['k'].const: "
        "JSON Schema keyword 'const' is not supported\n",
    ),
    "undocumented keyword in anyOf": (
        nested({"anyOf": [{"type": "string"}, {"not": {"type": "null"}}]}),
        f"{AT}.parameters_json_schema.properties['day'].anyOf[1].not: "
        "JSON Schema keyword 'not' is not supported\n",
    ),
    "root is not an object": (
        declaration(type="string"),
        f'{AT}.parameters_json_schema: the schema must describe an object ("type": "object")\n',
    ),
    "properties is a list": (
        declaration(properties=[1, 2]),
        f"{AT}.parameters_json_schema.properties: must map names to schemas\n",
    ),
    "parameter name with a dash": (
        declaration(properties={"start-date": {"type": "string"}}),
        f"{AT}.parameters_json_schema.properties['start-date']: Invalid parameter name. Must start "
        "with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9) or underscores (_), "
        "with a maximum length of 64.\n",
    ),
    "unknown type": (
        nested({"type": "date"}),
        f"{AT}.parameters_json_schema.properties['day'].type: 'date' is not a JSON Schema type\n",
    ),
    "enum of booleans": (
        nested({"type": "boolean", "enum": [True, False]}),
        f"{AT}.parameters_json_schema.properties['day'].enum: "
        "enum must be a non-empty list of strings or numbers\n",
    ),
    "bound that is not a number": (
        nested({"type": "string", "maxLength": "20"}),
        f"{AT}.parameters_json_schema.properties['day'].maxLength: must be a non-negative integer\n",
    ),
    "$ref to nothing": (
        nested({"$ref": "#/$defs/Day"}),
        f"{AT}.parameters_json_schema.properties['day'].$ref: '#/$defs/Day' does not name an entry "
        "of the root $defs\n",
    ),
    "$ref beside other keywords": (
        declaration(properties={"day": {"$ref": "#/$defs/Day", "type": "string"}}, **{"$defs": {"Day": {}}}),
        f"{AT}.parameters_json_schema.properties['day']: $ref '#/$defs/Day' was set alongside "
        "unsupported fields ['type']\n",
    ),
    "both parameter forms": (
        {**declaration(), "parameters": {"type": "OBJECT"}},
        f"{AT}: parameters and parameters_json_schema are mutually exclusive\n",
    ),
    "parameters required names no property": (
        {"name": "plan_day", "parameters": {"type": "OBJECT", "properties": {}, "required": ["day"]}},
        f"{AT}.parameters.required[0]: property is not defined\n",
    ),
}

UNPARSABLE = {
    "parameters with an unknown field": (
        {
            "name": "plan_day",
            "parameters": {
                "type": "OBJECT",
                "properties": {"day": {"type": "STRING", "exclusiveMinimum": 1}},
            },
        },
        'Invalid JSON payload received. Unknown name "exclusiveMinimum" at '
        "'tools[0].function_declarations[0].parameters.properties[0].value': Cannot find field.",
    ),
    "parameters with a lowercase type": (
        {"name": "plan_day", "parameters": {"type": "object"}},
        "Invalid value at 'tools[0].function_declarations[0].parameters.type' "
        '(type.googleapis.com/google.ai.generativelanguage.v1beta.Type), "object"',
    ),
}


@pytest.mark.parametrize(
    ("decl", "message"), [*BROKEN.values(), *UNPARSABLE.values()], ids=[*BROKEN, *UNPARSABLE]
)
async def test_broken_declaration_is_refused_with_the_api_error(
    fake_gemini: FakeGemini, decl: dict[str, Any], message: str
) -> None:
    fake_gemini.script(text("kept for the next good request"))
    refused = await post(fake_gemini, decl)
    assert refused.status_code == 400
    assert refused.json() == {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}
    assert fake_gemini.requests == []  # refused before the script: nothing recorded or consumed
    accepted = await post(fake_gemini, declaration())
    assert accepted.status_code == 200
    assert accepted.json()["candidates"][0]["content"]["parts"] == [
        {"text": "kept for the next good request"}
    ]


async def test_every_violation_is_listed_with_its_declaration(fake_gemini: FakeGemini) -> None:
    refused = await post(fake_gemini, declaration(), declaration("bad name", required=["x"]))
    message = refused.json()["error"]["message"]
    assert message == (
        f"* GenerateContentRequest.tools[0].function_declarations[1].{NAME_RULE}"
        "* GenerateContentRequest.tools[0].function_declarations[1].parameters_json_schema.required[0]: "
        "property is not defined\n"
    )


async def test_every_documented_keyword_is_accepted(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("ok"))
    everything = declaration(
        "_plan.day-2",
        properties={
            "day": {"type": "string", "format": "date", "title": "Day", "description": "The day"},
            "sport": {"type": "string", "enum": ["Ride", "Run"], "minLength": 3, "maxLength": 4},
            "code": {"type": "string", "pattern": "^[a-z]+$"},
            "minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": 600, "enum": [30, 60.5]},
            "legs": {"type": "array", "items": {"$ref": "#/$defs/Leg"}, "minItems": 1, "maxItems": 5},
            "pair": {"type": "array", "prefixItems": [{"type": "string"}, {"type": "number"}]},
            "either": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "one": {"oneOf": [{"type": "boolean"}, {"type": "integer"}]},
            "tags": {"type": "object", "additionalProperties": {"type": "string"}, "maxProperties": 3},
            "bag": {"type": "object", "additionalProperties": False, "minProperties": 0},
        },
        required=["day", "legs"],
        propertyOrdering=["day", "sport"],
        additionalProperties=False,
        **{
            "$id": "plan",
            "$anchor": "root",
            "$defs": {
                "Leg": {"type": "object", "properties": {"km": {"type": "number"}}, "required": ["km"]}
            },
        },
    )
    response = await post(fake_gemini, everything)
    assert response.status_code == 200, response.text
    assert len(fake_gemini.requests) == 1


async def test_the_real_client_raises_client_error(fake_gemini: FakeGemini) -> None:
    fake_gemini.script(text("unreachable"))
    client = genai.Client(api_key="test-key", http_options=types.HttpOptions(base_url=fake_gemini.url))
    bad = types.FunctionDeclaration(
        name="plan workout",
        description="Plan a workout.",
        parameters_json_schema={"type": "object", "properties": {}, "required": ["date"]},
    )
    config = types.GenerateContentConfig(
        tools=[types.Tool(function_declarations=[bad])],
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    try:
        with pytest.raises(errors.ClientError) as caught:
            await client.aio.models.generate_content(model=MODEL, contents="hi", config=config)
    finally:
        await client.aio.aclose()
        client.close()
    assert (caught.value.code, caught.value.status) == (400, "INVALID_ARGUMENT")
    assert caught.value.message == (
        f"{AT}.{NAME_RULE}{AT}.parameters_json_schema.required[0]: property is not defined\n"
    )
    assert fake_gemini.requests == []


class Args(Input):
    day: str


async def _noop(ctx: ToolContext, args: Args) -> dict[str, Any]:
    return {}


async def test_a_broken_tool_fails_the_turn_as_model_unavailable(fake_gemini: FakeGemini) -> None:
    """What every conversation test would see if a tool were declared against the rules."""
    fake_gemini.default = text("unreachable")
    model = GeminiModel(api_key="test-key", base_url=fake_gemini.url, timeout=2.0)
    good = Tool(name="plan_day", description="Plan a day.", args=Args, handler=_noop)
    broken = Tool(name="plan day", description="Plan a day.", args=Args, handler=_noop)
    try:
        turn = await model.generate(
            "system", [{"role": "user", "parts": [{"text": "hi"}]}], [good.declaration()]
        )
        assert turn.text == "unreachable"
        with pytest.raises(ModelUnavailable, match="400"):
            await model.generate(
                "system", [{"role": "user", "parts": [{"text": "hi"}]}], [broken.declaration()]
            )
    finally:
        await model.aclose()
    assert len(fake_gemini.requests) == 1
