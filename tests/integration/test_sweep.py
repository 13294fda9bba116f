"""The orphan sweep: containers and volumes of workers that died are removed; those of live
workers sharing the engine, and our own, are not."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest

from ghapp.work.housekeeping import alive as _alive
from runner.sandbox import LABEL, OWNER_LABEL, RUN_LABEL, Sandbox
from tests.conftest import BUSYBOX

pytestmark = pytest.mark.docker


def leave_behind(client, owner: str, run: str) -> None:
    labels = {LABEL: "1", RUN_LABEL: run, **({OWNER_LABEL: owner} if owner else {})}
    client.volumes.create(f"pushgrade-{run}-results", labels=labels)
    client.containers.create(BUSYBOX, ["true"], name=f"pushgrade-{run}", labels=labels)


def test_the_sweep_removes_only_what_dead_workers_left(docker_client):
    Sandbox.settle()  # earlier tests' runs are removed, not swept here
    mine = Sandbox(docker_client, owner="host-a:100")
    leave_behind(docker_client, "host-a:100", "sweep-mine")  # a run of ours going on now
    mine._active.add("sweep-mine")
    leave_behind(docker_client, "host-a:100", "sweep-ours-over")  # its clean-up failed
    leave_behind(docker_client, "host-b:200", "sweep-live")
    leave_behind(docker_client, "host-c:300", "sweep-dead")
    leave_behind(docker_client, "", "sweep-unowned")  # from a version before owners
    try:
        removed = mine.sweep(lambda owner: owner == "host-b:200")
        assert sorted(removed) == [
            "pushgrade-sweep-dead",
            "pushgrade-sweep-dead-results",
            "pushgrade-sweep-ours-over",
            "pushgrade-sweep-ours-over-results",
            "pushgrade-sweep-unowned",
            "pushgrade-sweep-unowned-results",
        ]
        left = Sandbox(docker_client).leftovers(everyone=True)
        assert {"pushgrade-sweep-mine", "pushgrade-sweep-live"} <= set(left)
        assert mine.leftovers() == ["pushgrade-sweep-mine", "pushgrade-sweep-mine-results"]
    finally:
        for run in ("sweep-mine", "sweep-ours-over", "sweep-live", "sweep-dead", "sweep-unowned"):
            for container in docker_client.containers.list(
                all=True, filters={"label": f"{RUN_LABEL}={run}"}
            ):
                container.remove(force=True)
            for volume in docker_client.volumes.list(filters={"label": f"{RUN_LABEL}={run}"}):
                volume.remove(force=True)


def test_an_owner_is_judged_by_heartbeat_then_by_its_process_on_this_host():
    here = socket.gethostname()
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    known = {"w1:1": True, "w2:2": False}
    assert _alive("w1:1", known) is True and _alive("w2:2", known) is False
    assert _alive(f"{here}:{os.getpid()}", {}) is True
    assert _alive(f"{here}:{dead_pid.pid}", {}) is False
    # Another host's worker this deployment never knew: another deployment's, left alone.
    assert _alive("elsewhere:12345", {}) is True
