"""The OpenAPI 3.0 document of the site's routes outside /api/v1: metrics, health, readiness, the pages
and their static files, and the wallboard's stream.

Not served (the REST API's own document is ``/api/v1/openapi.json``); it exists so that
``tests/integration/test_api_v1_schema.py`` fuzzes every route of the site with schemathesis, and
checks that no route is left out of both documents.
"""

from __future__ import annotations

from typing import Any

_ERROR = {"application/json": {"schema": {"type": "object", "required": ["error_id", "message"]}}}


def _page(summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [],
            "responses": {"200": {"description": "the page", "content": {"text/html": {"schema": {"type": "string"}}}}},
        }
    }


def _static(summary: str) -> dict[str, Any]:
    return {
        "get": {
            "summary": summary,
            "security": [],
            "parameters": [{"name": "filename", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": {"description": "the file"}, "404": {"description": "no such file"}},
        }
    }


def _probe(summary: str, good: str) -> dict[str, Any]:
    """A probe for orchestrators: no token, 200 when ``good``, 503 when not."""
    return {
        "get": {
            "summary": summary,
            "security": [],
            "responses": {
                "200": {"description": good, "content": {"application/json": {"schema": {"type": "object"}}}},
                "503": {"description": f"not {good}", "content": _ERROR},
            },
        }
    }


DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "ACD site routes",
        "version": "1.0.0",
        "description": "Everything the ACD's HTTP port serves beside /api/v1 (docs/security.md).",
    },
    "paths": {
        "/metrics": {
            "get": {
                "summary": "Prometheus exposition: with the scrape token (ACD_METRICS_TOKEN) or, without one, "
                "to loopback clients only",
                "security": [{"scrape": []}, {}],
                "responses": {
                    "200": {"description": "the series", "content": {"text/plain": {"schema": {"type": "string"}}}},
                    "401": {"description": "no or wrong scrape token", "content": _ERROR},
                    "403": {"description": "not a loopback client", "content": _ERROR},
                },
            }
        },
        "/healthz": _probe("process health", "ok"),
        "/readyz": _probe("ready or not: the AMI link and PostgreSQL, without any detail", "ready"),
        "/wallboard": _page("the wallboard page"),
        "/wallboard/static/{filename}": _static("the wallboard's script and style"),
        "/wallboard/events": {
            "get": {
                "summary": "the board as Server-Sent Events (wallboard, supervisor or admin token)",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {
                        "description": "an endless stream of `board` events",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "401": {"description": "no valid token", "content": _ERROR},
                    "403": {"description": "an agent's token", "content": _ERROR},
                    "429": {"description": "too many bad tokens, or streams of this token", "content": _ERROR},
                },
            }
        },
        "/agent": _page("the agent desktop page"),
        "/agent/static/{filename}": _static("the agent desktop's script and style"),
    },
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"},
            "scrape": {"type": "http", "scheme": "bearer"},
        }
    },
}
