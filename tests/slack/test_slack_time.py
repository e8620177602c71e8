"""/social-time through the real app process: signed slash commands, answered privately."""

from __future__ import annotations

import json
import urllib.parse

from slack_payloads import APP, CHANNEL, TEAM

from bot.slack import action_ids


def social_time(server, text: str, user: str = "UTIME001"):
    form = {
        "token": "legacy-verification-token",
        "team_id": TEAM,
        "team_domain": "stub",
        "channel_id": CHANNEL,
        "channel_name": "social-review",
        "user_id": user,
        "user_name": user.lower(),
        "command": action_ids.TIME_COMMAND,
        "text": text,
        "api_app_id": APP,
        "response_url": "http://127.0.0.1:9/unused",
        "trigger_id": "1.2.3",
    }
    answer = server.slack.send(urllib.parse.urlencode(form), "application/x-www-form-urlencoded")
    assert answer.status == 200
    body = answer.json()
    assert body["response_type"] == "ephemeral"
    return body["text"], json.dumps(body["blocks"], ensure_ascii=False)


def test_logging_time_answers_privately_with_today_against_the_budget(server):
    text, blocks = social_time(server, "15分 返信対応")
    assert text.startswith(":white_check_mark: 15分を記録しました（返信対応）")
    assert "予算 30分" in blocks
    text, blocks = social_time(server, "1時間")
    assert "1時間15分 / 予算 30分" in blocks and "45分オーバー" in blocks


def test_social_time_alone_shows_today_and_this_week(server):
    _, blocks = social_time(server, "", user="UTIME002")
    assert "今日" in blocks and "今週" in blocks and "/social-time undo" in blocks


def test_undo_takes_back_the_last_entry(server):
    social_time(server, "20", user="UTIME003")
    text, _ = social_time(server, "undo", user="UTIME003")
    assert "20分" in text and "取り消しました" in text
    text, _ = social_time(server, "undo", user="UTIME003")
    assert "取り消せる記録はありません" in text


def test_bad_input_gets_a_friendly_answer_and_logs_nothing(server):
    for typed, hint in [
        ("-5", "マイナス"),
        ("abc", "読めませんでした"),
        ("1日", "単位"),
        ("999", "長すぎる"),
    ]:
        text, _ = social_time(server, typed, user="UTIME004")
        assert hint in text, typed
    _, blocks = social_time(server, "", user="UTIME004")
    assert "0分 / 予算 30分" in blocks
