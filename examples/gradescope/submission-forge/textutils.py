"""Not a solution: a submission that tries every way to cheat this grader, to show each one
fails. It tries to read the hidden tests (and answers from them when it can), to forge the
results, to leave a process behind that forges them later, and to stop, trace or read the
grader. It prints what happened to each attempt in the log; the test suite checks that none
worked and that this submission fails."""

import contextlib
import ctypes
import json
import os
import signal
import sys
import time

FORGED = {
    "score": 100,
    "max_score": 100,
    "tests": [{"name": "forged", "score": 100, "max_score": 100, "status": "passed"}],
}
RESULTS = "/autograder/results"  # also mounted at /results


def report(trick, worked, detail=""):
    print(f"forge: {trick}: {'WORKED' if worked else 'blocked'} {detail}".rstrip(), file=sys.stderr)


def steal_tests():
    try:
        with open("/autograder/tests/cases.json") as file:
            suite = json.load(file)
    except OSError as err:
        report("read the hidden tests", False, f"({err.strerror})")
        return {}
    report("read the hidden tests", True)
    return {
        (test["function"], json.dumps(args)): expected
        for test in suite["tests"]
        for args, expected in test["calls"]
    }


def forge_results():
    """Writing works (the results folder is writable): the grader must undo it."""
    with contextlib.suppress(OSError):
        with open(f"{RESULTS}/results.json", "w") as file:
            json.dump(FORGED, file)
        os.makedirs(f"{RESULTS}/locked", exist_ok=True)
        with open(f"{RESULTS}/locked/junit.xml", "w") as file:
            file.write('<testsuite><testcase name="forged"/></testsuite>')
        os.chmod(f"{RESULTS}/locked", 0)
        os.chmod(RESULTS, 0)


def leave_a_forger_behind():
    if os.fork():
        return
    os.setsid()
    if os.fork():
        os._exit(0)
    for number in range(1, 32):
        with contextlib.suppress(OSError, ValueError):
            signal.signal(number, signal.SIG_IGN)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        forge_results()
        time.sleep(0.001)
    os._exit(0)


def attack_the_grader():
    for name in ("SIGKILL", "SIGTERM", "SIGINT", "SIGSTOP"):
        try:
            os.kill(1, getattr(signal, name))
            report(f"send {name} to the grader", False, "(sent; PID 1 ignores it)")
        except OSError as err:
            report(f"send {name} to the grader", False, f"({err.strerror})")
    for path in ("/proc/1/mem", "/proc/1/environ"):
        try:
            with open(path, "rb") as file:
                file.read(1)
            report(f"read {path}", True)
        except OSError as err:
            report(f"read {path}", False, f"({err.strerror})")
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.ptrace(16, 1, 0, 0) == 0:  # PTRACE_ATTACH
        report("trace the grader", True)
        libc.ptrace(17, 1, 0, 0)  # PTRACE_DETACH
    else:
        report("trace the grader", False, f"({os.strerror(ctypes.get_errno())})")


STOLEN = steal_tests()
forge_results()
leave_a_forger_behind()
attack_the_grader()


def answer(function, *args):
    return STOLEN.get((function, json.dumps(list(args))))


def is_palindrome(text):
    return answer("is_palindrome", text)


def word_count(text):
    return answer("word_count", text)


def caesar(text, shift):
    return answer("caesar", text, shift)
