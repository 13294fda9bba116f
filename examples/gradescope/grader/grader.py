"""The textutils autograder, Gradescope-style: it writes /autograder/results/results.json.

pushgrade runs a Gradescope image as root on a writable container layer, with every capability
dropped. Without capabilities root cannot switch to another user (setpriv, runuser and su fail
with "Operation not permitted"), so the student's code runs with this grader's own identity. What
keeps it from reading the tests or forging the results is how the work is split:

- The tests are read into memory and deleted from the disk before any student code runs.
- This process never runs student code. Each test runs the student's module in a child process
  (driver.py) that gets only the test's inputs and answers on stdout; the expected answers stay
  here, and the comparison happens here.
- This process is the container's first (PID 1): the student's processes cannot kill it, and
  being non-dumpable, it cannot be traced nor its memory read through /proc.
- After each test, every other process is killed; results.json is written last, into a cleared
  results folder, when nothing else is left running. Whatever the student's code wrote there
  before is gone.
- Tests run in the order they may be revealed (visible, after_due_date, hidden), so a student's
  program that records the inputs it sees cannot show a hidden test's inputs in a visible
  test's output.
- Everything this grader uses is imported below, before any student code runs: that code could
  change files on the writable layer, but not what this process has already loaded.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path

AUTOGRADER = Path("/autograder")
TESTS = AUTOGRADER / "tests"
SUBMISSION = AUTOGRADER / "submission"
SOURCE = AUTOGRADER / "source"
RESULTS = AUTOGRADER / "results"
DRIVER = AUTOGRADER / "driver.py"
TEST_SECONDS = 10  # for each test's student process
ANSWER_BYTES = 64 * 1024  # read from it at most
OUTPUT_CHARS = 2000  # of a failing test's explanation
REVEAL_ORDER = {"visible": 0, "after_due_date": 1, "after_published": 2, "hidden": 3}
PR_SET_DUMPABLE = 4
PID_1 = os.getpid() == 1  # in the container; never kill everything on a teacher's machine


def main() -> None:
    harden()
    suite = json.loads((TESTS / "cases.json").read_text())
    shutil.rmtree(TESTS)
    shutil.copytree(SUBMISSION, SOURCE, symlinks=True, dirs_exist_ok=True)
    order = sorted(range(len(suite["tests"])), key=lambda i: reveal_rank(suite["tests"][i]))
    results: dict[int, dict] = {}
    try:
        for index in order:
            results[index] = run_test(suite["module"], suite["tests"][index])
            stop_leftovers()
    except Exception as err:
        # Never end without a results.json of ours: the student's could be in the folder.
        traceback.print_exc()
        for index in order:
            if index not in results:
                results[index] = outcome(
                    suite["tests"][index], [f"not run: grading stopped ({err})"]
                )
    tests = [results[index] for index in range(len(order))]
    write_results(
        {
            "score": sum(test["score"] for test in tests),
            "max_score": sum(test["max_score"] for test in tests),
            "visibility": "visible",
            "stdout_visibility": "hidden",  # the log holds whatever the student's code printed
            "tests": tests,
        }
    )


def harden() -> None:
    """Out of reach of the student's processes, which run as the same user."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")
    if PID_1:
        # PID 1 gets only the signals it handles; Python handles SIGINT unless told not to.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def reveal_rank(test: dict) -> int:
    return REVEAL_ORDER[test.get("visibility", "visible")]


def run_test(module: str, test: dict) -> dict:
    calls = test["calls"]
    request = {
        "source": str(SOURCE),
        "module": module,
        "function": test["function"],
        "calls": [args for args, _ in calls],
    }
    answers, problem = run_student(request)
    failures = [problem] if problem else []
    for (args, expected), answer in zip(calls, answers or [], strict=False):
        call = f"{test['function']}({', '.join(map(repr, args))})"
        if "error" in answer:
            failures.append(f"{call} raised {answer['error']}")
        elif answer.get("value") != expected:
            failures.append(f"{call} returned {answer.get('value')!r}, expected {expected!r}")
    return outcome(test, failures)


def outcome(test: dict, failures: list[str]) -> dict:
    """One test's entry in results.json."""
    output = "\n".join(failures)
    if len(output) > OUTPUT_CHARS:
        output = output[: OUTPUT_CHARS - 1] + "…"
    return {
        "name": test["name"],
        "score": 0 if failures else test["points"],
        "max_score": test["points"],
        "status": "failed" if failures else "passed",
        "visibility": test.get("visibility", "visible"),
        "output": output,
    }


def run_student(request: dict) -> tuple[list[dict] | None, str | None]:
    """The student's answers to one test's calls, or why there are none."""
    process = subprocess.Popen(
        [sys.executable, str(DRIVER)],
        cwd=SOURCE,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "HOME": "/tmp",  # noqa: S108 -- the container's own tmpfs
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONIOENCODING": "utf-8",
        },
        start_new_session=True,
    )
    with contextlib.suppress(BrokenPipeError):  # it may end without reading
        process.stdin.write(json.dumps(request).encode())
    with contextlib.suppress(BrokenPipeError):
        process.stdin.close()
    data, problem = read_capped(process)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # with whatever it started in its session
    process.wait()
    if problem:
        return None, problem
    try:
        answers = json.loads(data)
    except (ValueError, RecursionError):
        answers = None
    count = len(request["calls"])
    if not (isinstance(answers, list) and len(answers) == count):
        return None, "the program's answers could not be read (did it print to stdout?)"
    if not all(isinstance(answer, dict) for answer in answers):
        return None, "the program's answers could not be read"
    return answers, None


def read_capped(process: subprocess.Popen) -> tuple[bytes, str | None]:
    """Its stdout until it ends, within TEST_SECONDS and ANSWER_BYTES."""
    deadline = time.monotonic() + TEST_SECONDS
    chunks: list[bytes] = []
    size = 0
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return b"", f"did not finish within {TEST_SECONDS} s"
            if selector.select(min(left, 0.1)):
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                size += len(chunk)
                if size > ANSWER_BYTES:
                    return b"", "printed too much on stdout"
                chunks.append(chunk)
            elif process.poll() is not None:
                break  # ended; a process it left behind may hold the pipe open
    return b"".join(chunks), None


def stop_leftovers() -> None:
    """Kill every other process (kill -1 reaches all of them but PID 1, this one) and wait for
    them: a process the student's code left behind could otherwise write into the results."""
    if not PID_1:
        return
    for _ in range(500):
        try:
            os.kill(-1, signal.SIGKILL)
        except ProcessLookupError:
            return  # none left
        time.sleep(0.01)
        reap()
    raise RuntimeError("processes left by the submission could not be stopped")


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def write_results(document: dict) -> None:
    """Into an emptied results folder (the student's code could write there too; pushgrade
    reads results.json first, then any *.xml under it). Nothing else is running by now."""
    stop_leftovers()
    RESULTS.chmod(0o1777)
    for entry in list(RESULTS.iterdir()):
        # Out of the way first (a rename always works in a folder of ours), then removed.
        moved = RESULTS / f".removed-{os.urandom(8).hex()}"
        entry.rename(moved)
        remove(moved)
    with (RESULTS / "results.json").open("x") as file:
        json.dump(document, file, indent=2)


def remove(path: Path) -> None:
    """Remove a file or a whole tree, whatever modes the student's code gave it. What cannot be
    removed (a tree too deep) keeps its new name: harmless, as pushgrade reads results.json,
    ours, before any other file."""
    try:
        if path.is_symlink() or not path.is_dir():
            path.unlink()
            return
        path.chmod(0o700)  # each folder opened to its owner (us) before it is listed
        for folder, subfolders, _ in os.walk(path):
            for name in subfolders:
                if not os.path.islink(os.path.join(folder, name)):
                    os.chmod(os.path.join(folder, name), 0o700)
        shutil.rmtree(path)
    except (OSError, RecursionError):
        pass


if __name__ == "__main__":
    main()
