"""Coming over from GitHub Classroom (discontinued 2026-08-28): `pushgrade import classroom` reads
a Classroom template repository's autograding tests (`.github/classroom/autograding.json`, or a
workflow of `classroom-resources/autograding-*` actions) and writes a grader repository that runs
each test as Classroom's runner did, hidden from the students.

The conversion is pure (`autograding`, `workflow`, `shell`, `setup`, `files`, `grader`: parsed
data in, text out); `source` reads the template (a folder, or ORG/REPO through the App) and
`command` puts it together. `run_tests.py` is the runner copied into the grader image: a
standalone script, stdlib only, that imports nothing of pushgrade.
"""
