"""The dashboard's settings: all three OAuth settings or none, a long session secret, URLs."""

from __future__ import annotations

import pytest

from ghapp.settings import SettingsError, from_env

KEY = "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n"
BASE = {"PUSHGRADE_APP_ID": "7", "PUSHGRADE_WEBHOOK_SECRET": "w", "PUSHGRADE_PRIVATE_KEY": KEY}
DASHBOARD = {
    "PUSHGRADE_OAUTH_CLIENT_ID": "Iv1.abc",
    "PUSHGRADE_OAUTH_CLIENT_SECRET": "oauth-client-secret-value",
    "PUSHGRADE_SESSION_SECRET": "s" * 40,
}


def test_without_oauth_settings_the_dashboard_is_off():
    settings = from_env(BASE)
    assert not settings.dashboard and settings.github_url == "https://github.com"


def test_with_them_it_is_on_and_no_secret_shows():
    settings = from_env(
        BASE
        | DASHBOARD
        | {"PUSHGRADE_GITHUB_URL": "https://ghe.example/", "PUSHGRADE_PUBLIC_URL": "https://g.x/"}
    )
    assert settings.dashboard and settings.oauth_client_id == "Iv1.abc"
    assert (settings.github_url, settings.public_url) == ("https://ghe.example", "https://g.x")
    assert "oauth-client-secret-value" not in repr(settings) and "s" * 40 not in repr(settings)


@pytest.mark.parametrize("left_out", sorted(DASHBOARD))
def test_one_oauth_setting_alone_is_an_error_naming_the_others(left_out):
    env = BASE | {k: v for k, v in DASHBOARD.items() if k != left_out}
    with pytest.raises(SettingsError) as caught:
        from_env(env)
    assert left_out in str(caught.value) and "dashboard" in str(caught.value)
    for secret in DASHBOARD.values():
        assert secret not in str(caught.value)


def test_a_web_process_with_the_dashboard_needs_the_apps_key():
    env = {k: v for k, v in (BASE | DASHBOARD).items() if k != "PUSHGRADE_PRIVATE_KEY"}
    with pytest.raises(SettingsError, match="PUSHGRADE_PRIVATE_KEY_FILE"):
        from_env(env, worker=False)


def test_a_short_session_secret_is_refused_without_showing_it():
    with pytest.raises(SettingsError) as caught:
        from_env(BASE | DASHBOARD | {"PUSHGRADE_SESSION_SECRET": "short-secret"})
    assert "at least 32 characters" in str(caught.value) and "short-secret" not in str(caught.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [("PUSHGRADE_GITHUB_URL", "github.com"), ("PUSHGRADE_PUBLIC_URL", "ftp://grades.example")],
)
def test_urls_must_be_web_addresses(name, value):
    with pytest.raises(SettingsError, match=name):
        from_env(BASE | DASHBOARD | {name: value})
