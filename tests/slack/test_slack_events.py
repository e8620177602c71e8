"""Which message events are drafts, edits or deletions, and which the bot leaves alone."""

from __future__ import annotations

from bot.slack.events import DeletedDraft, EditedDraft, NewDraft, classify

WATCHED = frozenset({"CREVIEW01"})
BOT = "UBOT0001"


def message(**overrides):
    event = {
        "type": "message",
        "channel": "CREVIEW01",
        "user": "UALICE01",
        "text": "今度コラボしませんか？",
        "ts": "1700000000.000100",
        "event_ts": "1700000000.000100",
        "channel_type": "channel",
    }
    event.update(overrides)
    return event


def test_a_top_level_message_by_a_person_is_a_draft():
    assert classify(message(), WATCHED, BOT) == NewDraft(
        "CREVIEW01", "1700000000.000100", "UALICE01", "今度コラボしませんか？"
    )


def test_a_message_with_an_image_is_still_a_draft():
    assert isinstance(classify(message(subtype="file_share"), WATCHED, BOT), NewDraft)


def test_thread_replies_are_not_drafts():
    assert classify(message(thread_ts="1699999999.000100"), WATCHED, BOT) is None


def test_a_thread_parent_is_still_a_draft():
    assert classify(message(thread_ts="1700000000.000100"), WATCHED, BOT) is not None


def test_messages_from_bots_and_from_the_bot_itself_are_ignored():
    assert classify(message(bot_id="B123", subtype="bot_message"), WATCHED, BOT) is None
    assert classify(message(bot_id="B123"), WATCHED, BOT) is None
    assert classify(message(user=BOT), WATCHED, BOT) is None


def test_other_channels_are_ignored():
    assert classify(message(channel="COTHER01"), WATCHED, BOT) is None


def test_joins_and_other_subtypes_are_ignored():
    assert classify(message(subtype="channel_join"), WATCHED, BOT) is None


def changed(new_text, old_text="今度コラボしませんか？", **inner):
    msg = {"type": "message", "user": "UALICE01", "text": new_text, "ts": "1700000000.000100"}
    msg.update(inner)
    return {
        "type": "message",
        "subtype": "message_changed",
        "channel": "CREVIEW01",
        "hidden": True,
        "ts": "1700000050.000200",
        "event_ts": "1700000050.000200",
        "message": msg,
        "previous_message": {"type": "message", "user": "UALICE01", "text": old_text},
    }


def test_an_edit_is_read_with_its_edit_time():
    event = changed("新商品です", edited={"user": "UALICE01", "ts": "1700000049.000000"})
    assert classify(event, WATCHED, BOT) == EditedDraft(
        "CREVIEW01", "1700000000.000100", "UALICE01", "新商品です", "1700000049.000000"
    )


def test_a_link_preview_with_the_same_text_is_not_an_edit():
    assert classify(changed("今度コラボしませんか？"), WATCHED, BOT) is None


def test_edits_of_thread_replies_and_of_bot_messages_are_ignored():
    assert classify(changed("x", thread_ts="1699999999.000100"), WATCHED, BOT) is None
    assert classify(changed("x", bot_id="B1", user=BOT), WATCHED, BOT) is None


def test_a_deleted_draft_and_a_tombstoned_draft_are_both_deletions():
    deleted = {
        "type": "message",
        "subtype": "message_deleted",
        "channel": "CREVIEW01",
        "hidden": True,
        "deleted_ts": "1700000000.000100",
        "previous_message": {"type": "message", "user": "UALICE01", "ts": "1700000000.000100"},
    }
    tomb = changed("This message was deleted.", subtype="tombstone", user="USLACKBOT")
    expected = DeletedDraft("CREVIEW01", "1700000000.000100")
    assert classify(deleted, WATCHED, BOT) == expected
    assert classify(tomb, WATCHED, BOT) == expected
