"""Turn Slack's message markup back into the text the person wrote."""

from __future__ import annotations

import re

_MARKUP = re.compile(r"<([^<>\n]*)>( ?)")
# A shortcode must contain a letter, so times such as 10:00:30 are left alone.
_SHORTCODE = re.compile(r":(?=[a-z0-9_+'-]*[a-z])([a-z0-9_+'-]{1,60}):")
_SKIN_TONE = re.compile(r"::skin-tone-[2-6]:")
_FENCE = re.compile(r"```")

# Standard emoji people use in drafts; custom and unknown shortcodes are set aside.
EMOJI = {
    "smile": "😄",
    "smiley": "😃",
    "grinning": "😀",
    "blush": "😊",
    "wink": "😉",
    "laughing": "😆",
    "joy": "😂",
    "sweat_smile": "😅",
    "heart_eyes": "😍",
    "thinking_face": "🤔",
    "cry": "😢",
    "sob": "😭",
    "bow": "🙇",
    "pray": "🙏",
    "clap": "👏",
    "raised_hands": "🙌",
    "wave": "👋",
    "+1": "👍",
    "thumbsup": "👍",
    "ok_hand": "👌",
    "muscle": "💪",
    "eyes": "👀",
    "heart": "❤️",
    "sparkles": "✨",
    "star": "⭐",
    "star2": "🌟",
    "tada": "🎉",
    "confetti_ball": "🎊",
    "fire": "🔥",
    "100": "💯",
    "cherry_blossom": "🌸",
    "sunny": "☀️",
    "coffee": "☕",
    "gift": "🎁",
    "camera": "📷",
    "mega": "📣",
    "loudspeaker": "📢",
    "point_right": "👉",
    "arrow_right": "➡️",
    "white_check_mark": "✅",
    "heavy_check_mark": "✔️",
    "warning": "⚠️",
    "bangbang": "‼️",
    "exclamation": "❗",
    "question": "❓",
    "musical_note": "🎵",
    "rocket": "🚀",
    "bulb": "💡",
    "memo": "📝",
    "calendar": "📅",
    "new": "🆕",
}


def _markup(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    space = match.group(2)
    if target.startswith(("@", "#")):
        return ""  # mentions (and their trailing space) address Slack people, not the readers
    if target.startswith("!"):
        # <!date^…|fallback> is text the person wrote; <!here>, <!channel>, <!subteam^…> are not.
        return label + space if target.startswith("!date^") else ""
    return (label or target) + space  # links: the label as shown, else the URL itself


def _emoji(match: re.Match[str]) -> str:
    return EMOJI.get(match.group(1), "")


def decode_slack_text(text: str) -> str:
    """Return a message's text as its author typed it: no escapes, link markup or mentions."""
    text = _FENCE.sub("", text)
    text = _MARKUP.sub(_markup, text)
    text = _SKIN_TONE.sub(":", text)
    text = _SHORTCODE.sub(_emoji, text)
    # &amp; last, so "&amp;lt;" (the author typed "&lt;") stays "&lt;".
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.strip()
