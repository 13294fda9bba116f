"""`pushgrade setup`'s manifest says what app.yml says, and the settings file it writes is read
back as the environment would be."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from ghapp.settings import SettingsError, from_env, read_env_file
from pushgrade.setup import Plan, api_url_for, manifest

ROOT = Path(__file__).parents[2]


def test_the_manifest_asks_for_what_app_yml_documents():
    documented = yaml.safe_load((ROOT / "app.yml").read_text())
    ours = manifest(Plan("https://grades.example.edu"), "http://127.0.0.1:9/callback")
    assert ours["default_permissions"] == documented["default_permissions"]
    assert ours["default_events"] == documented["default_events"]
    assert ours["hook_attributes"]["url"] == "https://grades.example.edu/webhooks/github"
    assert ours["public"] is False


@pytest.mark.parametrize(
    ("github", "api"),
    [
        ("https://github.com", "https://api.github.com"),
        ("https://github.example.edu", "https://github.example.edu/api/v3"),
        ("https://github.example.edu/", "https://github.example.edu/api/v3"),
    ],
)
def test_the_api_of_github_or_an_enterprise_server(github, api):
    assert api_url_for(github) == api


def test_a_settings_file_fills_in_what_the_environment_leaves_out(tmp_path, monkeypatch):
    path = tmp_path / "pushgrade.env"
    path.write_text(
        "# from pushgrade setup\n\nPUSHGRADE_APP_ID=7\nexport PUSHGRADE_WEBHOOK_SECRET='s e'\n"
        "PUSHGRADE_PORT=9000\nOTHER=ignored\n"
    )
    assert read_env_file(str(path)) == {
        "PUSHGRADE_APP_ID": "7",
        "PUSHGRADE_WEBHOOK_SECRET": "s e",
        "PUSHGRADE_PORT": "9000",
    }
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("PUSHGRADE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PUSHGRADE_PORT", "9100")  # the environment wins
    settings = from_env(worker=False)
    assert (settings.app_id, settings.webhook_secret, settings.port) == (7, "s e", 9100)


def test_a_malformed_settings_file_is_one_line_naming_the_line(tmp_path):
    path = tmp_path / "bad.env"
    path.write_text("PUSHGRADE_APP_ID=7\nthis is not a setting\n")
    with pytest.raises(SettingsError, match=r"bad.env, line 2: not NAME=VALUE"):
        read_env_file(str(path))
    with pytest.raises(SettingsError, match="cannot read"):
        read_env_file(str(tmp_path / "missing.env"))
