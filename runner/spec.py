"""What to run and under which limits: the sandbox's input, independent of where it came from."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

MiB = 1024 * 1024
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB, "t": 1024 * 1024 * MiB}


def parse_size(value: str | int) -> int:
    """Docker-style sizes: 512m, 1g, 1.5G, 64MiB, or a number of bytes."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a size")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"{value} is not a positive size")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size (examples: 512m, 1g, 65536)")
    size = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if size <= 0:
        raise ValueError(f"{value!r} is not a positive size")
    return size


def format_size(size: int) -> str:
    for unit, factor in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if size >= factor:
            amount = size / factor
            return f"{amount:.0f} {unit}" if amount == int(amount) else f"{amount:.1f} {unit}"
    return f"{size} bytes"


@dataclass(frozen=True)
class SandboxLimits:
    timeout_s: float = 120.0
    memory_bytes: int = 512 * MiB  # memory and memory+swap alike: no swap
    cpus: float = 1.0
    pids: int = 256
    network: bool = False
    # Output: the log keeps this much of its head and of its tail; past flood_bytes the run stops.
    log_head_bytes: int = 32 * 1024
    log_tail_bytes: int = 32 * 1024
    output_flood_bytes: int = 16 * MiB
    nofile: int = 1024
    fsize_bytes: int = 256 * MiB  # largest file a process may write
    tmpfs_bytes: int = 256 * MiB  # /tmp and other scratch space
    results_bytes: int = 16 * MiB  # what is read back from /results


@dataclass(frozen=True)
class SandboxSpec:
    image: str
    limits: SandboxLimits = field(default_factory=SandboxLimits)
    # "runsc" runs the container under gVisor; None is the engine's default (runc).
    runtime: str | None = None
    # Run as root inside the container. Images with /autograder/run_autograder always do.
    as_root: bool = False
    # Pull the image when it is not present locally.
    pull_missing: bool = True
    # Who pulls it and with which login (runner.registry.PullAuth); None: the worker's own
    # DOCKER_CONFIG login. Not part of the repr: it may hold a password.
    pull_auth: object | None = field(default=None, repr=False, compare=False)
    # What the grader declared it produces ("gradescope", "junit", "tap", "exit-code"); None:
    # inferred from what it left (results.json, JUnit XML, TAP, else the exit code).
    results: str | None = None
    # For images with /autograder/run_autograder: what /autograder/submission_metadata.json
    # holds (Gradescope's shape), asked for only when the image is one; None: no file.
    gradescope_metadata: Callable[[], bytes | None] | None = field(
        default=None, repr=False, compare=False
    )
