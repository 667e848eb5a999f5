"""Every tool is declared to Gemini exactly as its argument model validates, within Gemini's rules.

The expected property of each field is read from the pydantic field itself (its annotation and
constraint metadata), not from pydantic's JSON schema, so the test does not share the code it
checks.
"""

from __future__ import annotations

import datetime as dt
import inspect
import types
from enum import Enum, StrEnum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

from core.conversation.tools import TOOLS
from core.conversation.tools.base import Tool, ToolContext
from core.conversation.tools.schema import parameters_schema
from core.fields import Input
from tests.fakes.gemini_schema import FUNCTION_NAME, PARAMETER_NAME, declaration_problems

_TYPES: dict[Any, dict[str, str]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
    dt.date: {"type": "string", "format": "date"},
}


def _constraints(metadata: list[Any]) -> list[Any]:
    """Flatten Field(...) and StringConstraints into annotated-types and pydantic markers."""
    flat: list[Any] = []
    for m in metadata:
        if isinstance(m, FieldInfo):
            flat += _constraints(m.metadata)
        elif isinstance(m, annotated_types.GroupedMetadata):
            flat += _constraints(list(m))
        else:
            flat.append(m)
    return flat


def expected_shape(annotation: Any, metadata: list[Any]) -> dict[str, Any]:
    """The JSON schema a field of this annotation should be declared with."""
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        kept = [a for a in get_args(annotation) if a is not type(None)]
        assert len(kept) == 1, f"unions other than Optional are not declared: {annotation}"
        return expected_shape(kept[0], metadata)
    if origin is Annotated:
        base, *extra = get_args(annotation)
        return expected_shape(base, [*metadata, *extra])
    if origin is Literal:
        shape: dict[str, Any] = {"type": "string", "enum": list(get_args(annotation))}
    elif isinstance(annotation, type) and issubclass(annotation, Enum):
        shape = {"type": "string", "enum": [m.value for m in annotation]}
    elif origin is list:
        (item,) = get_args(annotation)
        shape = {"type": "array", "items": expected_shape(item, [])}
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        shape = expected_object(annotation)
        if annotation.__doc__:  # a nested model's docstring tells the model what one item is
            shape["description"] = inspect.cleandoc(annotation.__doc__)
    else:
        shape = dict(_TYPES[annotation])
    sized = "Items" if shape["type"] == "array" else "Length"
    for m in _constraints(metadata):
        if isinstance(m, annotated_types.Ge):
            shape["minimum"] = m.ge
        elif isinstance(m, annotated_types.Le):
            shape["maximum"] = m.le
        elif isinstance(m, annotated_types.MinLen):
            shape[f"min{sized}"] = m.min_length
        elif isinstance(m, annotated_types.MaxLen):
            shape[f"max{sized}"] = m.max_length
        elif getattr(m, "pattern", None) is not None:
            shape["pattern"] = m.pattern
    return shape


def expected_property(field: FieldInfo) -> dict[str, Any]:
    return {**expected_shape(field.annotation, field.metadata), "description": field.description}


def expected_object(model: type[BaseModel]) -> dict[str, Any]:
    """Properties from the model's fields; required are the fields without a default."""
    shape: dict[str, Any] = {
        "type": "object",
        "properties": {name: expected_property(f) for name, f in model.model_fields.items()},
    }
    required = [name for name, f in model.model_fields.items() if f.is_required()]
    if required:
        shape["required"] = required
    return shape


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_declared_properties_are_the_argument_model(tool: Tool[Any]) -> None:
    declared = tool.declaration()
    assert set(declared) == {"name", "description", "parameters_json_schema"}
    assert declared["name"] == tool.name
    assert declared["description"] == tool.description and declared["description"].strip()
    schema = declared["parameters_json_schema"]
    assert schema == expected_object(tool.args)
    assert list(schema["properties"]) == list(tool.args.model_fields)
    for name, prop in schema["properties"].items():
        assert prop["description"], f"{tool.name}.{name} has no description"


@pytest.mark.parametrize("tool", TOOLS, ids=lambda t: t.name)
def test_declaration_follows_geminis_rules(tool: Tool[Any]) -> None:
    declared = tool.declaration()
    assert FUNCTION_NAME.fullmatch(declared["name"])
    assert all(PARAMETER_NAME.fullmatch(p) for p in declared["parameters_json_schema"]["properties"])
    assert declaration_problems(declared) == []


def test_workout_title_is_declared_where_it_is_required() -> None:
    by_name = {t.name: t.declaration()["parameters_json_schema"] for t in TOOLS}
    create, update = by_name["create_planned_workout"], by_name["update_planned_workout"]
    assert create["required"] == ["date", "title"]
    assert create["properties"]["title"] == {
        "type": "string",
        "minLength": 1,
        "maxLength": 200,
        "description": "Short workout title",
    }
    assert update["properties"]["title"]["description"] == "New title"
    assert "title" not in update.get("required", [])


def test_tool_names_are_unique() -> None:
    names = [t.name for t in TOOLS]
    assert len(names) == len(set(names))


# -- the schema walk on shapes no tool uses yet -------------------------------------------


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Leg(Input):
    title: str = Field(description="Leg name")
    minutes: int = Field(ge=1, le=600, description="Leg length")


class Trip(Input):
    """Arguments whose names are JSON Schema keywords, with nested models and an enum."""

    title: str = Field(description="Trip title")
    default: bool = Field(False, description="Whether this is the default trip")
    properties: str | None = Field(None, max_length=50, description="Free-form properties")
    colour: Colour = Field(description="Colour of the trip")
    legs: list[Leg] = Field(min_length=1, max_length=5, description="The legs, in order")
    first: Leg | None = Field(None, description="The leg to start with")


class Node(Input):
    children: list[Node] = Field(default_factory=list, description="Child nodes")


async def _noop(ctx: ToolContext, args: Any) -> dict[str, Any]:
    return {}


def test_keyword_names_nested_models_and_enums_are_declared_inline() -> None:
    schema = parameters_schema(Trip)
    assert schema == expected_object(Trip)
    assert "$defs" not in str(schema) and "$ref" not in str(schema)
    assert schema["properties"]["legs"]["items"]["required"] == ["title", "minutes"]
    assert schema["properties"]["first"]["description"] == "The leg to start with"
    trip = Tool(name="plan_trip", description="Plan a trip.", args=Trip, handler=_noop)
    assert declaration_problems(trip.declaration()) == []


def test_recursive_arguments_are_refused_at_declaration() -> None:
    with pytest.raises(TypeError, match="recursive"):
        parameters_schema(Node)
