"""The OpenAPI 3.1 document of the JSON API (`GET /openapi.json`), written by hand next to the
code it describes (`web/api.py`). The schemas are strict (`additionalProperties: false`), and
`tests/web/test_api.py` validates every response it receives against them, so the document
cannot drift from what the server sends."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from web.i18n import LANGUAGES


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}

SCHEMAS: dict[str, Any] = {
    "CreateSession": {
        "type": "object",
        "required": ["interview"],
        "properties": {
            "interview": {"type": "string", "minLength": 1, "description": "the interview name, e.g. loan_application"},
            "lang": {"type": "string", "enum": list(LANGUAGES), "default": "en"},
        },
        "additionalProperties": False,
    },
    "Created": {
        "type": "object",
        "required": ["id", "token", "screen"],
        "properties": {
            "id": {"type": "string"},
            "token": {"type": "string", "description": "the bearer token for every other call on this session"},
            "screen": _ref("Screen"),
        },
        "additionalProperties": False,
    },
    "Answers": {
        "type": "object",
        "required": ["version"],
        "properties": {
            "version": {"type": "integer", "description": "the `version` of the screen being answered"},
            "answers": {
                "type": "object",
                "description": "field key -> value; strings as typed, or JSON numbers, booleans and lists",
                "additionalProperties": True,
            },
            "button": {"type": ["integer", "null"], "description": "index of the button pressed"},
            "edit": {"type": ["integer", "null"], "description": "index of a review item to change instead"},
        },
        "additionalProperties": False,
    },
    "Back": {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "integer"}},
        "additionalProperties": False,
    },
    "Choice": {
        "type": "object",
        "required": ["label", "value", "exclusive"],
        "properties": {"label": {"type": "string"}, "value": {}, "exclusive": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "Condition": {
        "type": "object",
        "required": ["key", "value"],
        "properties": {"key": {"type": "string"}, "value": {}},
        "additionalProperties": False,
    },
    "Field": {
        "type": "object",
        "required": ["key", "datatype", "label", "required", "by_button", "choices", "hint", "help", "value"],
        "properties": {
            "key": {"type": "string", "description": "what to send the answer as"},
            "datatype": {"type": "string", "description": "text, email, number, currency, integer, date, yesno, "
                         "radio, dropdown, checkboxes, file, note, ..."},
            "label": {"type": "string"},
            "required": {"type": "boolean"},
            "by_button": {"type": "boolean", "description": "answered by pressing one of the buttons"},
            "choices": {"type": "array", "items": _ref("Choice")},
            "hint": NULLABLE_STRING,
            "help": NULLABLE_STRING,
            "value": {"description": "the current answer, if any"},
            "note": NULLABLE_STRING,
            "note_html": {"type": "string"},
            "min": {}, "max": {}, "step": {},
            "minlength": {"type": "integer"},
            "maxlength": {"type": "integer"},
            "accept": {"type": "string"},
            "show_if": _ref("Condition"),
            "hide_if": _ref("Condition"),
        },
        "additionalProperties": False,
    },
    "Button": {
        "type": "object",
        "required": ["index", "label", "action", "value"],
        "properties": {
            "index": {"type": "integer"},
            "label": {"type": "string"},
            "action": {"type": "string", "description": "continue, exit, leave, restart or a URL"},
            "value": {},
        },
        "additionalProperties": False,
    },
    "ReviewItem": {
        "type": "object",
        "required": ["index", "label", "text", "html", "editable"],
        "properties": {
            "index": {"type": "integer"},
            "label": {"type": "string"},
            "text": {"type": "string"},
            "html": {"type": "string"},
            "editable": {"type": "boolean"},
        },
        "additionalProperties": False,
    },
    "Screen": {
        "type": "object",
        "required": ["session", "version", "lang", "block", "kind", "end", "question", "question_html",
                     "subquestion", "subquestion_html", "help", "help_label", "under", "under_html", "fields",
                     "buttons", "review", "back", "progress", "section", "sections"],
        "properties": {
            "session": {"type": "string"},
            "version": {"type": "integer", "description": "send it back with the answers (optimistic locking)"},
            "lang": {"type": "string"},
            "block": NULLABLE_STRING,
            "kind": {"type": "string", "description": "fields, yesno, noyes, yesnomaybe, noyesmaybe, choices, buttons, "
                     "continue, signature, review, end, or done (nothing left to ask)"},
            "end": {"type": "boolean"},
            "question": {"type": "string", "description": "Markdown"},
            "question_html": {"type": "string"},
            "subquestion": {"type": "string"},
            "subquestion_html": {"type": "string"},
            "help": NULLABLE_STRING,
            "help_label": NULLABLE_STRING,
            "under": {"type": "string"},
            "under_html": {"type": "string"},
            "fields": {"type": "array", "items": _ref("Field")},
            "buttons": {"type": "array", "items": _ref("Button")},
            "review": {"type": "array", "items": _ref("ReviewItem")},
            "back": {"type": "boolean", "description": "whether Back is offered"},
            "progress": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
            "section": NULLABLE_STRING,
            "sections": {"type": "array", "items": {"type": "string"}},
        },
        "additionalProperties": False,
    },
    "ValidationErrors": {
        "type": "object",
        "required": ["errors"],
        "properties": {
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "field key -> messages in the session's language"},
        },
        "additionalProperties": False,
    },
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "enum": ["bad_request", "unauthorized", "not_found", "stale", "ended",
                                                 "no_back", "action", "bad_button", "bad_edit"]},
            "message": {"type": "string"},
            "screen": _ref("Screen"),
        },
        "additionalProperties": False,
    },
}

SESSION_ID = {"name": "session_id", "in": "path", "required": True, "schema": {"type": "string"}}
BEARER: list[dict[str, list[str]]] = [{"bearer": []}]
ERROR = _ref("Error")
UNAUTHORIZED = _json(ERROR, "missing or wrong bearer token (whether or not the session exists)")
BAD_REQUEST = _json(ERROR, "the body is not what this endpoint takes, or names no such button or review item")
NOT_FOUND = _json(ERROR, "no such session")
SCREEN = _json(_ref("Screen"), "the screen the session is at now")
STALE = _json(ERROR, "`stale`: the version is not the current one; `ended`: an end screen has nothing to answer; "
                     "`no_back`: nothing to go back to. `screen` is the current screen")

PATHS: dict[str, Any] = {
    "/api/v1/sessions": {
        "post": {
            "operationId": "createSession",
            "summary": "Start a session on the latest version of an interview",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("CreateSession")}}},
            "responses": {
                "201": _json(_ref("Created"), "the session, its token and its first screen"),
                "400": _json(ERROR, "bad body or unknown language"),
                "404": _json(ERROR, "no such interview"),
            },
        },
    },
    "/api/v1/sessions/{session_id}": {
        "get": {
            "operationId": "getScreen",
            "summary": "The current screen",
            "parameters": [SESSION_ID],
            "security": BEARER,
            "responses": {"200": SCREEN, "401": UNAUTHORIZED, "404": NOT_FOUND},
        },
    },
    "/api/v1/sessions/{session_id}/answers": {
        "post": {
            "operationId": "answer",
            "summary": "Answer the current screen (or press a button, or edit a review item)",
            "parameters": [SESSION_ID],
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Answers")}}},
            "responses": {
                "200": _json(_ref("Screen"), "saved (committed); the next screen"),
                "400": BAD_REQUEST,
                "401": UNAUTHORIZED,
                "404": NOT_FOUND,
                "409": STALE,
                "422": _json(_ref("ValidationErrors"), "answers refused, nothing saved"),
            },
        },
    },
    "/api/v1/sessions/{session_id}/back": {
        "post": {
            "operationId": "back",
            "summary": "Go back to the previous screen; later answers are kept",
            "parameters": [SESSION_ID],
            "security": BEARER,
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("Back")}}},
            "responses": {"200": SCREEN, "400": BAD_REQUEST, "401": UNAUTHORIZED, "404": NOT_FOUND, "409": STALE},
        },
    },
}


@lru_cache(maxsize=1)
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Accord interview API",
            "version": "1",
            "description": "Drive an Accord interview screen by screen, as the web wizard does. "
                           "See docs/api.md.",
        },
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "the `token` returned when the session was created"}},
        },
    }


def document() -> dict[str, Any]:
    """The OpenAPI document (a fresh copy: callers may change it)."""
    return copy.deepcopy(_document())
