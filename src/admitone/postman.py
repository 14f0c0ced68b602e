"""A Postman collection (v2.1) and environment made from the OpenAPI document.

The output is deterministic (no timestamps; ids derived from operation ids; folders sorted by
tag), so a test can regenerate it and compare it with the committed files.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

Document = dict[str, Any]
Json = dict[str, Any]

COLLECTION_FILE = "admitone.postman_collection.json"
ENVIRONMENT_FILE = "admitone.postman_environment.json"
COLLECTION_SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"
BASE_URL = "http://127.0.0.1:4000"
LOGIN_PATH = "/api/auth/login"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://admitone.invalid/postman")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Values for a request body's fields, by name: the README's demo values, and variables the
# sign-in request fills in.
_SAMPLES: dict[str, Any] = {
    "name": "Jane Doe",
    "email": "{{email}}",
    "password": "{{password}}",
    "refresh_token": "{{refresh_token}}",
    "customer_email": "john@example.com",
    "customer_name": "John Doe",
    "quantity": 2,
    "idempotency_key": "unique-key-123",
    "payment_method": "pm_card_visa",
    "venue": "The Demo Hall",
    "ticket_price": "50.00",
    "total_tickets": 100,
    "price": "50.00",
    "capacity": 100,
    "tier_id": "{{tier_id}}",
}
_FORMAT_SAMPLES = {
    "date-time": "2030-06-01T19:00:00Z",
    "email": "john@example.com",
    "uuid": "00000000-0000-0000-0000-000000000000",
}
# Saves the tokens of a successful sign-in into the environment, for every other request.
_LOGIN_SCRIPT = [
    "if (pm.response.code === 200) {",
    "    const body = pm.response.json();",
    '    pm.environment.set("access_token", body.access_token);',
    '    pm.environment.set("refresh_token", body.refresh_token);',
    "}",
]


def _id(name: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, name))


def _resolve(document: Document, schema: Json) -> Json:
    while "$ref" in schema:
        target: Json = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        schema = target
    return schema


def _sample(document: Document, schema: Json, name: str | None = None) -> Any:
    schema = _resolve(document, schema)
    if name in _SAMPLES:
        return _SAMPLES[name]
    for key in ("anyOf", "oneOf"):
        if key in schema and "properties" not in schema:
            branches = [b for b in schema[key] if _resolve(document, b).get("type") != "null"]
            return _sample(document, branches[0], name)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        return _sample_object(document, schema)
    if kind == "array":
        return [_sample(document, schema.get("items", {}))]
    if kind == "integer":
        return schema.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "string":
        return _FORMAT_SAMPLES.get(schema.get("format", ""), schema.get("default", "string"))
    return {}


def _sample_object(document: Document, schema: Json) -> Json:
    """The required fields, those the demo has a value for, and of "one of" the first."""
    properties: Json = schema.get("properties", {})
    wanted = set(schema.get("required", []))
    alternatives = schema.get("oneOf", [])
    if alternatives:
        wanted |= set(alternatives[0].get("required", []))
        for other in alternatives[1:]:
            properties = {k: v for k, v in properties.items() if k not in other["required"]}
    return {
        key: _sample(document, value, key)
        for key, value in properties.items()
        if key in wanted or key in _SAMPLES
    }


def _is_public(operation: Json) -> bool:
    return {} in operation.get("security", [])


def _url(path: str, parameters: list[Json]) -> Json:
    segments = [
        "{{" + s[1:-1] + "}}" if s.startswith("{") and s.endswith("}") else s
        for s in path.strip("/").split("/")
    ]
    query = [
        {
            "key": p["name"],
            "value": "",
            "disabled": True,
            **({"description": p["description"]} if "description" in p else {}),
        }
        for p in parameters
        if p["in"] == "query"
    ]
    url: Json = {
        "raw": "{{base_url}}/" + "/".join(segments),
        "host": ["{{base_url}}"],
        "path": segments,
    }
    if query:
        url["query"] = query
    return url


def _request_item(document: Document, path: str, method: str, operation: Json) -> Json:
    parameters = [_resolve(document, p) for p in operation.get("parameters", [])]
    request: Json = {
        "method": method.upper(),
        "header": [
            {"key": p["name"], "value": "", "disabled": True}
            for p in parameters
            if p["in"] == "header"
        ],
        "url": _url(path, parameters),
    }
    if "description" in operation:
        request["description"] = operation["description"]
    if _is_public(operation):
        request["auth"] = {"type": "noauth"}
    content = operation.get("requestBody", {}).get("content", {})
    if "application/json" in content:
        body = _sample(document, content["application/json"].get("schema", {}))
        request["header"].append({"key": "Content-Type", "value": "application/json"})
        request["body"] = {
            "mode": "raw",
            "raw": json.dumps(body, indent=2),
            "options": {"raw": {"language": "json"}},
        }
    item: Json = {
        "id": _id(operation["operationId"]),
        "name": operation.get("summary", f"{method.upper()} {path}"),
        "request": request,
    }
    if path == LOGIN_PATH and method == "post":
        item["event"] = [
            {"listen": "test", "script": {"type": "text/javascript", "exec": _LOGIN_SCRIPT}}
        ]
    return item


def build_collection(document: Document) -> Json:
    folders: dict[str, list[Json]] = {}
    for path, operations in document["paths"].items():
        for method in _METHODS:
            if method in operations:
                operation = operations[method]
                tag = (operation.get("tags") or ["other"])[0]
                folders.setdefault(tag, []).append(_request_item(document, path, method, operation))
    info = document["info"]
    return {
        "info": {
            "_postman_id": _id("collection"),
            "name": info["title"],
            "description": (
                f"{info.get('summary', '')} Made by `admitone postman` from the OpenAPI "
                f"document (version {info['version']}). Sign in with accounts / Login: it stores "
                "the access token in the environment."
            ).strip(),
            "schema": COLLECTION_SCHEMA,
        },
        "auth": {
            "type": "bearer",
            "bearer": [{"key": "token", "value": "{{access_token}}", "type": "string"}],
        },
        "item": [
            {"id": _id(f"folder:{tag}"), "name": tag, "item": folders[tag]}
            for tag in sorted(folders)
        ],
    }


def build_environment(document: Document) -> Json:
    ids = sorted(
        {
            segment[1:-1]
            for path in document["paths"]
            for segment in path.split("/")
            if segment.startswith("{") and segment.endswith("}")
        }
    )
    values = [
        ("base_url", BASE_URL, "default"),
        ("email", "owner@admitone.test", "default"),
        ("password", "demo-owner-password", "secret"),
        ("access_token", "", "secret"),
        ("refresh_token", "", "secret"),
        *((name, "", "default") for name in ids),
    ]
    return {
        "id": _id("environment"),
        "name": f"{document['info']['title']} (local)",
        "values": [
            {"key": key, "value": value, "type": kind, "enabled": True}
            for key, value, kind in values
        ],
        "_postman_variable_scope": "environment",
    }


def render(value: Json) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


def files(document: Document) -> dict[str, str]:
    """The file names and contents that ``admitone postman`` writes."""
    return {
        COLLECTION_FILE: render(build_collection(document)),
        ENVIRONMENT_FILE: render(build_environment(document)),
    }


def write(document: Document, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files(document).items():
        target = directory / name
        target.write_text(text, encoding="utf-8")
        written.append(target)
    return written
