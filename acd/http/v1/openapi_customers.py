"""The OpenAPI operations of the customer records (``acd.http.v1.customers``), merged into
``acd.http.v1.openapi.DOCUMENT``; kept beside their handler's rules."""

from __future__ import annotations

from typing import Any

from acd.http.v1.openapi_parts import body, errors, ok, path_param, query, ref
from acd.records.models import CUSTOMER_TIERS, MAX_CUSTOMER_NOTES
from acd.records.stores.customer_records import MAX_NUMBERS, MAX_SEARCH

_TEXT = {
    400: "invalid body or query (details.fields)",
    401: "no valid bearer token",
    403: "beyond the token's role",
    404: "no such customer",
    409: "number-taken: a number belongs to another customer (details: number, customer)",
    413: "body too large",
    503: "shutting down, or PostgreSQL unavailable (nothing changed)",
}
_NUMBER = {
    "type": "string",
    "maxLength": 40,
    "pattern": "^ *[+]?[0-9][0-9 -]*$",
    "description": "digits, an optional leading +, spaces and dashes between; at most 32 digits",
}
_FIELDS: dict[str, Any] = {
    "phone_number": {**_NUMBER, "description": "the first number, the caller directory's key"},
    "numbers": {"type": "array", "maxItems": MAX_NUMBERS, "items": _NUMBER, "description": "further numbers"},
    "name": {"type": "string", "maxLength": 200},
    "tier": {"type": "string", "enum": list(CUSTOMER_TIERS)},
    "notes": {"type": "string", "maxLength": MAX_CUSTOMER_NOTES},
    "consent_recording": {"type": "boolean"},
    "consent_marketing": {"type": "boolean"},
}
_CUSTOMER_PATH = path_param("customer", {"type": "string", "format": "uuid"})

PATHS: dict[str, Any] = {
    "/customers": {
        "get": {
            "summary": "find customers by number (first or further) or by the beginning of the name",
            "parameters": [
                query("number", _NUMBER, "a phone number"),
                query("q", {"type": "string", "maxLength": 200}, "the name's beginning, any case"),
                query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_SEARCH}, "at most this many"),
            ],
            "responses": {**ok(ref("CustomerList")), **errors(_TEXT, 400, 401, 403, 503)},
        },
        "post": {
            "summary": "add a customer (agents from the desk; audited, with history)",
            "requestBody": body(
                {
                    "type": "object",
                    "required": ["phone_number"],
                    "additionalProperties": False,
                    "properties": _FIELDS,
                }
            ),
            "responses": {
                **ok(ref("CustomerReply"), "added", status=201),
                **errors(_TEXT, 400, 401, 403, 409, 413, 503),
            },
        },
    },
    "/customers/{customer}": {
        "get": {
            "summary": "a customer record with its further numbers and its last changes (newest first)",
            "parameters": [
                _CUSTOMER_PATH,
                query("changes", {"type": "integer", "minimum": 0, "maximum": 100}, "how many changes"),
            ],
            "responses": {**ok(ref("CustomerReply")), **errors(_TEXT, 400, 401, 403, 404, 503)},
        },
        "patch": {
            "summary": "change the given fields of a customer (numbers: replaces the further numbers)",
            "parameters": [_CUSTOMER_PATH],
            "requestBody": body({"type": "object", "additionalProperties": False, "properties": _FIELDS}),
            "responses": {**ok(ref("CustomerReply")), **errors(_TEXT, 400, 401, 403, 404, 409, 413, 503)},
        },
    },
}

SCHEMAS: dict[str, Any] = {
    "Customer": {
        "type": "object",
        "required": ["id", "phone_number", "numbers", "name", "tier", "notes", "created_at"],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            **_FIELDS,
            "created_at": {"type": "string", "format": "date-time"},
            "changes": {
                "type": "array",
                "description": "one customer's GET only: at, token_id, token_label, role, agent_id, "
                "changes {field: {old, new}}",
                "items": {"type": "object"},
            },
        },
    },
    "CustomerReply": {"type": "object", "required": ["customer"], "properties": {"customer": ref("Customer")}},
    "CustomerList": {
        "type": "object",
        "required": ["customers", "limit"],
        "properties": {"customers": {"type": "array", "items": ref("Customer")}, "limit": {"type": "integer"}},
    },
}
