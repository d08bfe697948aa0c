"""docs/webhooks.md as tests: the Python and JavaScript verification recipes, taken from the doc,
accept deliveries Accord really signed (two secrets during a rotation) and refuse a changed body,
another secret and an old timestamp; every event type in store/outbox.py is documented."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from integrations.signature import header
from store import outbox

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def block(language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert found, f"no {language} block in docs/webhooks.md"
    return found.group(1)


def cases() -> list[tuple[str, str, bytes, bool]]:
    body = json.dumps({"id": "evt_1", "type": "envelope.completed"}, separators=(",", ":")).encode()
    now = int(time.time())
    value = header(["whsec_old", "whsec_new"], now, body)
    return [("whsec_old", value, body, True), ("whsec_new", value, body, True),
            ("whsec_other", value, body, False), ("whsec_new", value, body + b" ", False),
            ("whsec_new", header(["whsec_new"], now - 600, body), body, False),
            ("whsec_new", "v1=" + value.split("v1=")[1], body, False)]


def test_python_recipe() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(block("python"), str(DOC), "exec"), namespace)  # noqa: S102 - our own documentation
    verify = namespace["verify_accord_signature"]
    for secret, value, body, expected in cases():
        assert verify(secret, value, body) is expected, (secret, value)


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_javascript_recipe(tmp_path: Path) -> None:
    (tmp_path / "verify.js").write_text(block("javascript"), encoding="utf-8")
    checks = [{"secret": s, "header": h, "body": b.decode(), "expected": e} for s, h, b, e in cases()]
    script = ("const {verifyAccordSignature} = require('./verify.js');\n"
              f"const checks = {json.dumps(checks)};\n"
              "const got = checks.map(c => verifyAccordSignature(c.secret, c.header, Buffer.from(c.body)));\n"
              "console.log(JSON.stringify(got));\n")
    (tmp_path / "run.js").write_text(script, encoding="utf-8")
    out = subprocess.run(["node", "run.js"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == [c["expected"] for c in checks]


def test_every_event_type_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    for kind in (*outbox.EVENT_TYPES, outbox.TEST_EVENT):
        assert f"| `{kind}` |" in text, kind
