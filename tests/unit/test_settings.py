"""Settings from the environment: one clear line for what is missing, secrets never shown."""

from __future__ import annotations

import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ghapp.settings import SettingsError, from_env


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_every_missing_setting_is_named_in_one_message():
    with pytest.raises(SettingsError) as err:
        from_env({})
    message = str(err.value)
    assert "PUSHGRADE_APP_ID" in message and "PUSHGRADE_PRIVATE_KEY_FILE" in message
    assert "PUSHGRADE_WEBHOOK_SECRET" in message and "\n" not in message


def test_a_web_only_process_needs_no_private_key():
    settings = from_env({"PUSHGRADE_APP_ID": "7", "PUSHGRADE_WEBHOOK_SECRET": "s"}, worker=False)
    assert settings.app_id == 7 and settings.private_key == b""


def test_a_worker_only_process_needs_no_webhook_secret(pem):
    settings = from_env({"PUSHGRADE_APP_ID": "7", "PUSHGRADE_PRIVATE_KEY": pem}, web=False)
    assert settings.private_key.startswith(b"-----BEGIN PRIVATE KEY-----")


def test_defaults_and_overrides(pem, tmp_path):
    key_file = tmp_path / "app.pem"
    key_file.write_text(pem)
    settings = from_env(
        {
            "PUSHGRADE_APP_ID": "42",
            "PUSHGRADE_PRIVATE_KEY_FILE": str(key_file),
            "PUSHGRADE_WEBHOOK_SECRET": "s",
            "PUSHGRADE_GITHUB_API_URL": "https://ghe.example/api/v3/",
            "PUSHGRADE_PORT": "9000",
            "PUSHGRADE_WORKER_PORT": "9001",
            "PUSHGRADE_WORKERS": "3",
        }
    )
    assert settings.github_api_url == "https://ghe.example/api/v3"
    assert (settings.port, settings.worker_port, settings.workers) == (9000, 9001, 3)
    assert settings.database_url.startswith("sqlite+aiosqlite:///")


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("PUSHGRADE_APP_ID", "abc", "whole number"),
        ("PUSHGRADE_PORT", "70000", "between"),
        ("PUSHGRADE_WORKER_PORT", "-1", "between"),
        ("PUSHGRADE_PRIVATE_KEY", "not a key", "not a PEM private key"),
        ("PUSHGRADE_PRIVATE_KEY_FILE", "/nonexistent/app.pem", "cannot read"),
    ],
)
def test_malformed_settings_say_which_and_why(pem, name, value, expected):
    env = {"PUSHGRADE_APP_ID": "1", "PUSHGRADE_PRIVATE_KEY": pem, "PUSHGRADE_WEBHOOK_SECRET": "s"}
    env[name] = value
    if name == "PUSHGRADE_PRIVATE_KEY_FILE":
        del env["PUSHGRADE_PRIVATE_KEY"]
    with pytest.raises(SettingsError, match=expected) as err:
        from_env(env)
    assert name in str(err.value) or "key" in str(err.value)


def test_secrets_are_not_in_the_repr(pem):
    settings = from_env(
        {
            "PUSHGRADE_APP_ID": "1",
            "PUSHGRADE_PRIVATE_KEY": pem,
            "PUSHGRADE_WEBHOOK_SECRET": "hunter2-webhook",
        }
    )
    assert "hunter2" not in repr(settings) and "PRIVATE KEY" not in repr(settings)


def test_serve_without_settings_is_one_line_not_a_traceback(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pushgrade.cli", "serve"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "missing settings" in done.stderr
    assert "`pushgrade setup --public-url URL` registers the GitHub App" in done.stderr
    assert "Traceback" not in done.stderr


WEB = {"PUSHGRADE_APP_ID": "7", "PUSHGRADE_WEBHOOK_SECRET": "s"}


def test_without_a_policy_file_the_first_installation_is_served_with_every_slot():
    tenancy = from_env(WEB, worker=False).tenancy
    assert tenancy.serves("anyone") is None  # decided by which installation came first
    assert tenancy.running_caps() == (None, {})  # no other account to starve
    assert tenancy.rules_for("cs101").docker_config_everywhere


@pytest.mark.parametrize(
    ("env", "served", "cap"),
    [
        ({"PUSHGRADE_ACCOUNTS": "cs101, CS202"}, {"cs101": True, "cs202": True, "x": False}, 4),
        ({"PUSHGRADE_ACCOUNTS": "cs101"}, {"cs101": True, "cs202": False}, None),
        ({"PUSHGRADE_MAX_RUNNING_PER_INSTALLATION": "none"}, {}, None),
        ({"PUSHGRADE_MAX_RUNNING_PER_INSTALLATION": "12"}, {}, 12),
    ],
)
def test_the_single_teacher_default_takes_its_accounts_and_cap_from_settings(env, served, cap):
    tenancy = from_env({**WEB, **env}, worker=False).tenancy
    assert {login: tenancy.serves(login) for login in served} == served
    assert tenancy.running_caps()[0] == cap


def test_a_policy_file_is_read_and_checked_at_start(tmp_path):
    path = tmp_path / "policy.yml"
    path.write_text("tenants:\n  uni-a: {ceilings: {running: 2}}\n")
    tenancy = from_env({**WEB, "PUSHGRADE_POLICY_FILE": str(path)}, worker=False).tenancy
    assert (tenancy.serves("uni-a"), tenancy.serves("uni-b")) == (True, False)
    assert tenancy.running_caps() == (4, {"uni-a": 2})
    path.write_text("tenants:\n  uni-a: {ceilings: {memroy: 2g}}\n")
    with pytest.raises(SettingsError) as err:
        from_env({**WEB, "PUSHGRADE_POLICY_FILE": str(path)}, worker=False)
    assert "line 2" in str(err.value) and "did you mean 'memory'" in str(err.value)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"PUSHGRADE_POLICY_FILE": "/nonexistent/policy.yml"}, "cannot read it"),
        ({"PUSHGRADE_ACCOUNTS": "good, -bad-"}, "'-bad-' is not a GitHub account login"),
        ({"PUSHGRADE_POLICY_FILE": "p.yml", "PUSHGRADE_ACCOUNTS": "a"}, "both set"),
        ({"PUSHGRADE_POLICY_FILE": "p.yml", "PUSHGRADE_MAX_RUNNING_PER_INSTALLATION": "2"}, "both"),
    ],
)
def test_a_wrong_tenancy_setting_is_one_clear_line(env, said):
    with pytest.raises(SettingsError) as err:
        from_env({**WEB, **env}, worker=False)
    assert said in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("value", "url"),
    [
        (None, "sqlite+aiosqlite:///pushgrade.sqlite3"),
        ("", "sqlite+aiosqlite:///pushgrade.sqlite3"),
        ("sqlite:///grades.db", "sqlite+aiosqlite:///grades.db"),
        ("sqlite+aiosqlite:////var/lib/pg/x.db", "sqlite+aiosqlite:////var/lib/pg/x.db"),
        ("postgresql://u:p@db/pushgrade", "postgresql+asyncpg://u:p@db/pushgrade"),
        ("postgres://u:p%40ss@db:5433/pg", "postgresql+asyncpg://u:p%40ss@db:5433/pg"),
        ("postgresql+asyncpg://u@db/pg?ssl=require", "postgresql+asyncpg://u@db/pg?ssl=require"),
        ("postgresql:///pushgrade", "postgresql+asyncpg:///pushgrade"),  # a local socket
    ],
)
def test_database_urls_run_on_pushgrades_drivers(value, url):
    from ghapp.settings import database_url

    assert database_url(value) == url


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("mysql://root:hunter22@db/x", "mysql is not supported"),
        ("mssql+pyodbc://sa:hunter22@db/x", "mssql is not supported"),
        ("hunter22", "is not a database URL"),
        ("postgresql+psycopg2://u:hunter22@db/x", "with asyncpg, not psycopg2"),
        ("sqlite+pysqlite:///x.db", "with aiosqlite, not pysqlite"),
    ],
)
def test_a_database_url_pushgrade_cannot_use_is_one_line_without_its_password(value, said):
    from ghapp.settings import database_url

    with pytest.raises(SettingsError, match=said) as err:
        database_url(value)
    assert "hunter22" not in str(err.value) and "\n" not in str(err.value)
    assert "PUSHGRADE_DATABASE_URL" in str(err.value)


@pytest.mark.parametrize(("web", "worker"), [(True, True), (False, True)])
def test_a_process_that_grades_needs_a_slot(pem, web, worker):
    env = {"PUSHGRADE_APP_ID": "1", "PUSHGRADE_PRIVATE_KEY": pem, "PUSHGRADE_WEBHOOK_SECRET": "s"}
    env["PUSHGRADE_WORKERS"] = "0"
    with pytest.raises(SettingsError, match="at least 1"):
        from_env(env, web=web, worker=worker)
    assert from_env(env, web=True, worker=False).workers == 0  # `pushgrade web` grades nothing
