"""The browser SDK's unit tests (tests/js/firstcall.test.mjs) under node:test."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from outreach.decide.chat_intents import intent_of
from outreach.scripts.remedy_wording import REMEDY_BUTTON
from tests.support.services import service_missing

ROOT = Path(__file__).resolve().parents[3]


def test_sdk_unit_tests_pass_under_node() -> None:
    node = shutil.which("node")
    if node is None:
        service_missing("Node.js", "node not found (the SDK's unit tests run under node:test)")
    done = subprocess.run([node, "--test", str(ROOT / "tests/js/firstcall.test.mjs")],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout and "# pass 18" in done.stdout


def test_the_bubbles_buttons_say_what_the_gateway_understands() -> None:
    node = shutil.which("node")
    if node is None:
        service_missing("Node.js", "node not found")
    script = ("import('data:text/javascript;base64,' + require('fs').readFileSync("
              "process.argv[1]).toString('base64')).then((m) => "
              "console.log(JSON.stringify(m.CHAT_TEXT)))")
    done = subprocess.run([node, "-e", script, str(ROOT / "monitor/collect/static/firstcall.js")],
                          capture_output=True, text=True, timeout=60, check=True)
    texts = json.loads(done.stdout)
    assert set(texts) == {"zh-CN", "en"}
    for words in texts.values():
        assert intent_of(words["help"]) == "needs_help"
        assert intent_of(words["fine"]) == "resolved"
        assert intent_of(words["remedy"]) == "unknown"  # it counts by its intent field only
    assert {lang: texts[lang]["remedy"] for lang in texts} == REMEDY_BUTTON
