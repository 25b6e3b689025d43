"""The pieces the OpenAPI document of /api/v1 is written with (``acd.http.v1.openapi`` and, for the
routing config's endpoints, ``acd.http.v1.openapi_config``): one copy, so that every operation states
its errors, replies, parameters and bodies the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


ERROR = ref("Error")


def errors(texts: Mapping[int, str], *statuses: int) -> dict[str, Any]:
    """The error responses of an operation, each described by ``texts`` and answered as an ``Error``."""
    return {str(s): {"description": texts[s], "content": {"application/json": {"schema": ERROR}}} for s in statuses}


def ok(schema: dict[str, Any], description: str = "ok", status: int = 200) -> dict[str, Any]:
    return {str(status): {"description": description, "content": {"application/json": {"schema": schema}}}}


def path_param(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string"}}


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def body(schema: dict[str, Any], *, required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}
