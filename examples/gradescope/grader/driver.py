"""Runs in the student's process, once per test: imports their module, makes the calls it reads
on stdin and prints what they returned, as JSON, on stdout. It never sees the expected answers:
those stay in the grader's process (grader.py), which compares."""

import importlib
import json
import sys


def main() -> None:
    request = json.load(sys.stdin)
    answers_out = sys.stdout
    sys.stdout = sys.stderr  # the student's own prints go to the log, not into the answers
    sys.path.insert(0, request["source"])
    try:
        function = getattr(importlib.import_module(request["module"]), request["function"])
    except Exception as err:
        function = None
        problem = f"{type(err).__name__}: {err}"
    answers = []
    for args in request["calls"]:
        if function is None:
            answers.append({"error": problem})
            continue
        try:
            value = function(*args)
            json.dumps(value)  # only JSON-shaped values can be compared
            answers.append({"value": value})
        except Exception as err:
            answers.append({"error": f"{type(err).__name__}: {err}"})
    answers_out.write(json.dumps(answers))
    answers_out.flush()


if __name__ == "__main__":
    main()
