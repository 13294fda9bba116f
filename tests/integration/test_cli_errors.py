"""What a newcomer met in the first hour (issue 17), run as they ran it: each start-up or usage
error is one line on standard error naming the setting or the fix, exit code 2, no traceback and
no password; and a reader that leaves early (`| head -1`) is no error."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import BUSYBOX
from tests.integration.processes import CLI, free_port

PASSWORD = "pw-never-shown"


@pytest.fixture(scope="module")
def key_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "app.pem"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def newcomer_env(key_file: Path, **settings: str) -> dict[str, str]:
    """A shell with the App's three settings and nothing else of pushgrade's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUSHGRADE_", "DOCKER_"))}
    env.update(
        PUSHGRADE_APP_ID="12345",
        PUSHGRADE_PRIVATE_KEY_FILE=str(key_file),
        PUSHGRADE_WEBHOOK_SECRET="a-webhook-secret",
        PUSHGRADE_PORT="0",
        PUSHGRADE_WORKER_PORT="0",
    )
    env.update(settings)
    return env


def pushgrade(*argv: str, env: dict[str, str], cwd: Path, stdout=subprocess.PIPE):
    return subprocess.run(
        [CLI, *argv],
        env=env,
        cwd=cwd,
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        timeout=120,
    )


def unreachable_postgresql() -> str:
    return f"postgresql://pushgrade:{PASSWORD}@127.0.0.1:{free_port()}/pushgrade"


CASES = [
    # (command, settings, what the one line says)
    (
        "serve",
        {"PUSHGRADE_DATABASE_URL": f"mysql://root:{PASSWORD}@db/pushgrade"},
        "PUSHGRADE_DATABASE_URL: mysql is not supported; pushgrade runs on PostgreSQL",
    ),
    (
        "serve",
        {"PUSHGRADE_DATABASE_URL": "garbage"},
        "PUSHGRADE_DATABASE_URL is not a database URL",
    ),
    (
        "worker",
        {"PUSHGRADE_DATABASE_URL": f"postgresql+psycopg2://u:{PASSWORD}@db/pushgrade"},
        "pushgrade talks to postgresql with asyncpg, not psycopg2",
    ),
    (
        "migrate",
        {"PUSHGRADE_DATABASE_URL": f"oracle://u:{PASSWORD}@db/x"},
        "oracle is not supported",
    ),
    (
        "serve",
        {
            "PUSHGRADE_DATABASE_URL": unreachable_postgresql(),
            "PUSHGRADE_DATABASE_WAIT_SECONDS": "0",
        },
        "database unreachable at 127.0.0.1:",
    ),
    ("serve", {"PUSHGRADE_WORKERS": "0"}, "PUSHGRADE_WORKERS must be at least 1"),
    ("worker", {"PUSHGRADE_WORKERS": "0"}, "run `pushgrade web`"),
    ("serve", {"PUSHGRADE_WORKERS": "many"}, "PUSHGRADE_WORKERS must be a whole number"),
    (
        "demo",
        {"DOCKER_HOST": "unix:///nonexistent.sock"},
        "the Docker engine at unix:///nonexistent.sock did not answer (no socket there)",
    ),
    (
        "regrade hw1 --org cs101",
        {},
        "no pushgrade database at ",
    ),
]


@pytest.mark.parametrize(("command", "settings", "said"), CASES)
def test_each_start_up_error_is_one_line_and_exit_2(key_file, tmp_path, command, settings, said):
    done = pushgrade(*command.split(), env=newcomer_env(key_file, **settings), cwd=tmp_path)
    assert done.returncode == 2, done
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pushgrade: "), done.stderr
    assert said in lines[0]
    assert "Traceback" not in done.stdout + done.stderr
    assert PASSWORD not in done.stdout + done.stderr


def test_regrade_in_an_empty_folder_makes_no_database(key_file, tmp_path):
    done = pushgrade("regrade", "hw1", "--org", "cs101", env=newcomer_env(key_file), cwd=tmp_path)
    assert done.returncode == 2
    assert f"no pushgrade database at {tmp_path / 'pushgrade.sqlite3'}" in done.stderr
    assert "PUSHGRADE_DATABASE_URL" in done.stderr
    assert list(tmp_path.iterdir()) == []  # not even an empty one


def test_regrade_names_the_accounts_a_database_knows(key_file, tmp_path):
    env = newcomer_env(key_file)
    assert pushgrade("migrate", env=env, cwd=tmp_path).returncode == 0
    done = pushgrade("regrade", "hw1", "--org", "cs101", env=env, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == (
        "pushgrade: no account cs101 in this database (the accounts in it: none yet)\n"
    )


def test_serve_says_it_runs_once_and_a_postgresql_url_as_hosts_write_it_works(
    key_file, tmp_path, db_url
):
    """`postgres://` (as hosting services write it) and `sqlite:///FILE` run on pushgrade's
    drivers; the start-up line is printed once, not once more as a log line."""
    from sqlalchemy.engine import make_url

    if db_url.startswith("postgresql"):
        url = make_url(db_url).set(drivername="postgres").render_as_string(hide_password=False)
    else:
        url = f"sqlite:///{tmp_path / 'plain.sqlite3'}"
    env = newcomer_env(key_file, PUSHGRADE_DATABASE_URL=url, PUSHGRADE_RECONCILE_SECONDS="0")
    process = subprocess.Popen(
        [CLI, "serve"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        first = process.stdout.readline().decode()
    finally:
        process.terminate()
        rest = process.communicate(timeout=60)[0].decode()
    assert first.startswith("pushgrade: web + worker running on http://127.0.0.1:"), first + rest
    assert "running" not in rest and "Traceback" not in rest, rest
    assert process.returncode == 0


def closed_pipe() -> int:
    """The writing end of a pipe whose reader has gone, as `| head -1` leaves it."""
    read, write = os.pipe()
    os.close(read)
    return write


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["try", "--help"], ["check-config", "CONFIG"], ["check-policy", "POLICY"]],
)
def test_a_reader_that_leaves_early_is_no_error(key_file, tmp_path, argv):
    config = tmp_path / "pushgrade.yml"
    config.write_text(
        "assignments:\n"
        + "".join(f"  hw{i}:\n    image: ghcr.io/cs101/grader:{i}\n" for i in range(40))
    )
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "tenants:\n" + "".join(f"  org{i}:\n    images: [ghcr.io/org{i}/]\n" for i in range(40))
    )
    argv = [{"CONFIG": str(config), "POLICY": str(policy)}.get(a, a) for a in argv]
    out = closed_pipe()
    try:
        done = pushgrade(*argv, env=newcomer_env(key_file), cwd=tmp_path, stdout=out)
    finally:
        os.close(out)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.docker
def test_try_into_a_reader_that_leaves_early_keeps_its_exit_code(key_file, tmp_path, build_image):
    image = build_image(f'FROM {BUSYBOX}\nCMD ["sh", "-c", "echo 1..1; echo ok 1 - fine"]\n')
    (tmp_path / "main.sh").write_text("true\n")
    out = closed_pipe()
    try:
        done = pushgrade(
            "try",
            str(tmp_path),
            "--image",
            image,
            env=newcomer_env(key_file),
            cwd=tmp_path,
            stdout=out,
        )
    finally:
        os.close(out)
    assert done.returncode == 0, done.stderr  # graded: `try`'s own exit code
    assert done.stderr == ""


async def test_serve_with_github_unreachable_logs_one_line_a_failure(key_file, tmp_path):
    """GitHub down: the reconciler's rounds and a push's intake fail and are retried, each in
    one log line; the traceback only under -v."""
    import asyncio
    import json

    import aiohttp

    from tests.payloads import delivery_headers, payload

    port = free_port()
    env = newcomer_env(
        key_file,
        PUSHGRADE_GITHUB_API_URL=f"http://127.0.0.1:{free_port()}",  # nothing answers there
        PUSHGRADE_PORT=str(port),
        PUSHGRADE_RECONCILE_SECONDS="1",
        PUSHGRADE_WORKERS="1",
        PUSHGRADE_GRACE_SECONDS="1",
    )
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            CLI, "serve", env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        for _ in range(300):
            if b"running" in log.read_bytes():
                break
            await asyncio.sleep(0.1)
        body = json.dumps(payload("push/with-new-branch.payload.json")).encode()
        headers = delivery_headers("push", body, "a-webhook-secret")
        async with aiohttp.ClientSession() as http:
            answer = await http.post(
                f"http://127.0.0.1:{port}/webhooks/github", data=body, headers=headers
            )
            assert answer.status in (200, 202), await answer.text()
        await asyncio.sleep(5)  # reconciler rounds, and the push's intake tried and retried
    finally:
        process.terminate()
        await process.wait()
    text = log.read_text()
    assert "Traceback" not in text, text
    assert text.count("pushgrade: web + worker running") == 1
    failures = [line for line in text.splitlines() if "failed" in line]
    assert any("reconciling webhook deliveries failed" in line for line in failures), text
    assert any("token for installation 1 failed" in line for line in failures), text  # intake
