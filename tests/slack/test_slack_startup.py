"""Starting the app: every configuration problem at once, and a bad rules file by file:line."""

from __future__ import annotations

import subprocess

import pytest
from conftest import app_env, free_port, serve_command

from bot.config import ConfigError, load_slack_config


def test_every_configuration_problem_is_listed_at_once():
    with pytest.raises(ConfigError) as caught:
        load_slack_config(http=True, environ={"SOCIAL_REVIEW_CHANNELS": "#general"})
    text = str(caught.value)
    assert "SLACK_BOT_TOKEN" in text
    assert "SLACK_SIGNING_SECRET" in text
    assert "#general" in text


def test_socket_mode_needs_an_app_token():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SOCIAL_REVIEW_CHANNELS": "C0123ABCD"}
    with pytest.raises(ConfigError) as caught:
        load_slack_config(http=False, environ=env)
    assert ["SLACK_APP_TOKEN" in p for p in caught.value.problems] == [True]


def test_defaults_are_slacks_api_and_a_sqlite_file_under_data():
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SOCIAL_REVIEW_CHANNELS": "C0123ABCD, G0123ABCD"}
    config = load_slack_config(http=False, environ={**env, "SLACK_APP_TOKEN": "xapp-1"})
    assert config.api_url == "https://slack.com/api/"
    assert config.database_url == "sqlite:///data/social-review.db"
    assert config.channels == {"C0123ABCD", "G0123ABCD"}


def test_a_postgres_url_uses_psycopg_3():
    env = {
        "SLACK_BOT_TOKEN": "xoxb-1",
        "SLACK_SIGNING_SECRET": "s",
        "SOCIAL_REVIEW_CHANNELS": "C0123ABCD",
        "DATABASE_URL": "postgres://u@db/x",
        "SLACK_API_URL": "http://127.0.0.1:9/api",
    }
    config = load_slack_config(http=True, environ=env)
    assert config.database_url == "postgresql+psycopg://u@db/x"
    assert config.api_url == "http://127.0.0.1:9/api/"


def test_the_server_refuses_to_start_with_a_broken_environment(stub, tmp_path):
    env = app_env(
        stub, f"sqlite:///{tmp_path / 'x.db'}", SLACK_BOT_TOKEN="", SOCIAL_REVIEW_CHANNELS=""
    )
    result = subprocess.run(
        serve_command("serve", "--http", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "SLACK_BOT_TOKEN" in result.stderr and "SOCIAL_REVIEW_CHANNELS" in result.stderr


BROKEN_RULES = """\
version: 1
locale: ja
rules:
  - id: overboard.insult
    category: overboard
    message: "侮辱"
    terms: [バカ]
    examples:
      match: ["バカ"]
      no_match: ["バカンス", "バカ"]
"""


def test_the_server_refuses_to_start_with_a_bad_rules_file(stub, tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(BROKEN_RULES, "utf-8")
    env = app_env(stub, f"sqlite:///{tmp_path / 'x.db'}", SOCIAL_REVIEW_RULES=str(rules))
    result = subprocess.run(
        serve_command("serve", "--http", "--host", "127.0.0.1", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert f"{rules}:" in result.stderr and "overboard.insult" in result.stderr
    assert stub.calls_to("chat.postMessage") == []


def test_the_server_refuses_to_start_when_slack_rejects_the_token(stub, tmp_path):
    env = app_env(stub, f"sqlite:///{tmp_path / 'x.db'}", SLACK_BOT_TOKEN="xoxb-revoked")
    result = subprocess.run(
        serve_command("serve", "--http", "--host", "127.0.0.1", "--port", str(free_port())),
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "invalid_auth" in result.stderr
