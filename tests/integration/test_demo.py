"""`pushgrade demo`, the README's main job, as a newcomer runs it: a student accepts the
assignment (their repository made from the template), pushes twice, and each result arrives."""

from __future__ import annotations

import subprocess

import pytest

from tests.integration.test_cli import CONSOLE_SCRIPT

pytestmark = pytest.mark.docker


def test_the_demo_hands_out_then_grades_both_pushes(sandbox):
    done = subprocess.run(
        [CONSOLE_SCRIPT, "demo"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "cs101-fall/hw1: alice opens the accept link http://127.0.0.1:" in out
    assert "accepted: cs101-fall/hw1-alice, made from cs101-fall/hw1-template" in out
    assert out.index("accepted:") < out.index("the student pushes a wrong median")
    assert "completed → failure      3 / 5 — 2 tests failing" in out
    assert "completed → success      5 / 5 — all 5 tests passed" in out
    assert "Traceback" not in done.stderr
