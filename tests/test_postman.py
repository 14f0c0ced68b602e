"""The committed Postman collection and environment are those `admitone postman` makes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from admitone import postman
from admitone.app import openapi_document
from admitone.cli import app as cli_app

COMMITTED = Path(__file__).resolve().parents[1] / "postman"


def test_committed_postman_files_match_the_openapi_document() -> None:
    for name, expected in postman.files(openapi_document()).items():
        committed = COMMITTED / name
        assert committed.exists() and committed.read_text(encoding="utf-8") == expected, (
            f"postman/{name} is stale: the API changed. Run `.venv/bin/admitone postman` "
            "and commit the result."
        )


def test_postman_command_writes_the_collection_and_environment(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli_app, ["postman", "--out", str(tmp_path)])

    assert result.exit_code == 0, result.output
    written = {path.name: path.read_text(encoding="utf-8") for path in tmp_path.iterdir()}
    assert written == postman.files(openapi_document())


def test_collection_signs_in_with_bearer_and_leaves_public_routes_without_auth() -> None:
    collection = postman.build_collection(openapi_document())
    requests = {
        f"{item['request']['method']} {item['request']['url']['raw']}": item
        for folder in collection["item"]
        for item in folder["item"]
    }

    assert collection["info"]["schema"] == postman.COLLECTION_SCHEMA
    assert collection["auth"]["bearer"][0]["value"] == "{{access_token}}"
    login = requests["POST {{base_url}}/api/auth/login"]
    script = "\n".join(login["event"][0]["script"]["exec"])
    assert 'pm.environment.set("access_token", body.access_token)' in script
    assert requests["GET {{base_url}}/api/events"]["request"]["auth"] == {"type": "noauth"}
    assert "auth" not in requests["GET {{base_url}}/api/me"]["request"]  # the collection's bearer
    purchase = json.loads(
        requests["POST {{base_url}}/api/events/{{event_id}}/purchase"]["request"]["body"]["raw"]
    )
    assert purchase["order"]["quantity"] == 2 and "items" not in purchase["order"]


def test_environment_points_at_the_local_server_with_an_empty_token() -> None:
    environment = postman.build_environment(openapi_document())
    values = {v["key"]: v["value"] for v in environment["values"]}

    assert values["base_url"] == "http://127.0.0.1:4000"
    assert values["access_token"] == ""
    assert {"event_id", "order_id", "tier_id"} <= values.keys()
