"""The follow policy in rules.yaml: validation with file:line, every decision, drafts that follow."""

from __future__ import annotations

import pytest

from bot.policy.follow import (
    FOLLOW_MANAGER_RULE,
    FOLLOW_NOT_ALLOWED_RULE,
    FOLLOW_UNCHECKED_RULE,
    FOLLOW_WAIT_RULE,
    KIND_IDS,
    FollowPolicy,
    Recorded,
    announces_follow,
    decide,
    follow_notes,
    handles_in,
    normalize_handle,
)
from bot.rules import RulesError, load_rules_text

HEAD = """\
version: 1
locale: ja
rules:
  - id: a.b
    category: overboard
    message: x
    terms: [バカ]
    examples: {match: [バカ], no_match: [はい]}
"""

# The default `follow:` section proposed for the shipped rules.yaml (G8).
DEFAULT_FOLLOW = """\
follow:
  kinds:
    - kind: competitor
      action: follow
      reason:
        ja: 競合他社のフォローや、良い投稿への前向きな反応は歓迎です。けなすのはやめましょう（G8）
        en: Following competitors and praising their good posts is welcome; never disparage them (G8)
    - kind: partner
      action: follow
      reason:
        ja: 取引先とのつながりは公開して大丈夫です。良い関係が伝わります
        en: Showing we follow our partners is fine and reflects a good relationship
    - kind: industry_peer
      action: follow
      reason:
        ja: 業界の動きがわかり、前向きな交流のきっかけになります
        en: It keeps us informed and opens friendly exchanges in our industry
    - kind: customer
      action: follow_back
      reason:
        ja: フォローバックは多くの方に喜ばれますが、驚く方もいます。先にフォローはせず、フォローしてくれた方にだけ返しましょう
        en: Most people are glad of a follow-back, but some are surprised; follow back only those who follow us
    - kind: influencer
      action: follow_back
      reason:
        ja: 会社のフォローは推薦と受け取られることがあります。フォローされたら返す程度にしましょう
        en: A follow from the company can read as an endorsement; just follow back when they follow us
    - kind: media
      action: follow
      reason:
        ja: 報道機関のフォローは情報収集に役立ち、ふつう問題になりません
        en: Following news outlets keeps us informed and is rarely an issue
    - kind: political_religious
      action: ask_manager
      reason:
        ja: 政治や宗教の団体をフォローすると、会社がその立場を支持していると受け取られかねません。上長が判断します（G2）
        en: Following a political or religious group can read as the company taking sides; a manager decides (G2)
    - kind: anonymous_hostile
      action: do_not_follow
      reason:
        ja: 攻撃的な匿名アカウントには関わらないのが基本です。フォローもフォローバックもしません
        en: We don't engage with hostile anonymous accounts; no follow and no follow-back
    - kind: bot
      action: do_not_follow
      reason:
        ja: 正体のわからない bot をフォローすると、スパムの拡散に手を貸すことになりかねません
        en: Following unknown bots can help spread spam
    - kind: unknown
      action: ask_manager
      reason:
        ja: 迷ったときは一人で決めず、上長に任せましょう
        en: When unsure, don't decide alone; a manager will decide
"""


def policy(text: str = DEFAULT_FOLLOW) -> FollowPolicy:
    follow = load_rules_text(HEAD + text).model.follow
    assert follow is not None
    return follow


def problems(text: str) -> str:
    with pytest.raises(RulesError) as caught:
        load_rules_text(HEAD + text, "rules.yaml")
    return str(caught.value)


def test_the_default_follow_section_loads_and_covers_every_kind():
    assert sorted(k.kind for k in policy().kinds) == sorted(KIND_IDS)


def test_a_rules_file_without_a_follow_section_still_loads():
    assert load_rules_text(HEAD).model.follow is None


def test_an_unknown_kind_is_refused_with_its_line():
    text = DEFAULT_FOLLOW.replace("kind: media", "kind: celebrity")
    line = (HEAD + text).splitlines().index("    - kind: celebrity") + 1
    message = problems(text)
    assert f"rules.yaml:{line}:" in message and "kind" in message


def test_a_kind_without_an_action_is_refused_with_its_line():
    text = "follow:\n  kinds:\n    - kind: competitor\n      reason: 歓迎です\n"
    text += "    - kind: unknown\n      action: ask_manager\n      reason: 迷ったら相談\n"
    message = problems(text)
    assert message.splitlines() == ["rules.yaml:11: `action` が必要です"]


def test_an_unknown_action_is_refused():
    message = problems(DEFAULT_FOLLOW.replace("action: follow_back", "action: maybe", 1))
    assert "maybe" in message or "action" in message


def test_a_kind_without_a_reason_is_refused():
    text = "follow:\n  kinds:\n    - kind: unknown\n      action: ask_manager\n"
    assert "reason" in problems(text)


def test_a_kind_listed_twice_is_refused():
    text = DEFAULT_FOLLOW.replace("kind: partner", "kind: competitor")
    assert "competitor" in problems(text)


def test_a_policy_must_say_what_to_do_when_staff_are_not_sure():
    text = "follow:\n  kinds:\n    - kind: competitor\n      action: follow\n      reason: 歓迎\n"
    message = problems(text)
    assert "rules.yaml:9:" in message and "kind: unknown" in message


def test_an_unexpected_key_in_a_kind_is_refused():
    text = DEFAULT_FOLLOW.replace("    - kind: bot\n", "    - kind: bot\n      note: x\n")
    assert "note" in problems(text)


# -- every decision path ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "followed_us", "outcome"),
    [
        ("competitor", False, "follow"),
        ("competitor", True, "follow_back"),
        ("customer", True, "follow_back"),
        ("customer", False, "wait_for_them"),
        ("anonymous_hostile", True, "do_not_follow"),
        ("bot", False, "do_not_follow"),
        ("political_religious", True, "ask_manager"),
        ("unknown", False, "ask_manager"),
    ],
)
def test_each_kind_gets_the_decision_the_policy_names(kind, followed_us, outcome):
    decision = decide(policy(), "someone", kind, followed_us, "ja")
    assert decision.outcome == outcome
    assert decision.needs_manager is (outcome == "ask_manager")
    assert decision.may_follow is (outcome in ("follow", "follow_back"))


def test_the_decision_carries_the_reason_and_name_in_the_locale():
    ja = decide(policy(), "rival", "competitor", False, "ja")
    en = decide(policy(), "rival", "competitor", False, "en")
    assert ja.kind_label == "競合他社" and "歓迎" in ja.reason
    assert en.kind_label == "Competitor" and "welcome" in en.reason


def test_a_kind_the_policy_does_not_list_falls_back_to_unknown():
    small = policy(
        "follow:\n  kinds:\n    - kind: unknown\n      action: do_not_follow\n      reason: 方針なし\n"
    )
    decision = decide(small, "x", "media", False, "ja")
    assert decision.kind == "unknown" and decision.outcome == "do_not_follow"


def test_a_custom_kind_name_is_shown_instead_of_the_built_in_one():
    text = DEFAULT_FOLLOW.replace(
        "    - kind: media\n", "    - kind: media\n      name: {ja: 新聞・テレビ, en: Press}\n"
    )
    assert decide(policy(text), "x", "media", False, "en").kind_label == "Press"


# -- handles -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "handle"),
    [
        ("@Example_JP", "example_jp"),
        ("＠example", "example"),
        ("example", "example"),
        ("https://x.com/Example/", "example"),
        ("@", None),
        ("two words", None),
        ("@bad-handle!", None),
    ],
)
def test_a_typed_handle_is_read_or_refused(typed, handle):
    assert normalize_handle(typed) == handle


def test_handles_in_a_draft_skip_mail_addresses_and_repeats():
    text = "@Rival_Co さん、@rival_co ありがとう！ info@example.com まで"
    assert handles_in(text) == ["rival_co"]


# -- drafts that announce a follow ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "@rival さんをフォローしました！",
        "フォローありがとうございます、フォローバックしました",
        "フォロバしました〜",
        "公式アカウントをフォローさせていただきました",
        "We just followed @rival",
        "Thanks for the follow, followed you back!",
        "We're now following @partner",
    ],
)
def test_a_draft_that_announces_a_follow_is_spotted(text):
    assert announces_follow(text)


@pytest.mark.parametrize(
    "text",
    [
        "フォローお願いします！",
        "フォローありがとうございます！",
        "Follow us for more news",
        "新商品のご案内です",
        "今後の対応をフォローします",
        "ご質問の件、担当からフォローしました",
    ],
)
def test_other_drafts_do_not_count_as_announcing_a_follow(text):
    assert not announces_follow(text)


def rule_ids(text: str, recorded: dict[str, Recorded]) -> list[str]:
    return [n.rule_id for n in follow_notes(text, policy(), recorded, "ja")]


def test_a_follow_nobody_checked_gets_a_gentle_pointer_to_the_command():
    (note,) = follow_notes("@someone さんをフォローしました", policy(), {}, "ja")
    assert note.rule_id == FOLLOW_UNCHECKED_RULE and note.severity == "info"
    assert "/social-follow @someone" in note.message


def test_a_follow_of_an_allowed_account_adds_nothing():
    assert rule_ids("@rival さんをフォローしました", {"rival": Recorded("competitor", False)}) == []


def test_a_follow_of_an_account_we_do_not_follow_is_a_warning():
    recorded = {"troll": Recorded("anonymous_hostile", True)}
    (note,) = follow_notes("@troll さんをフォローバックしました", policy(), recorded, "ja")
    assert note.rule_id == FOLLOW_NOT_ALLOWED_RULE and note.severity == "warning"
    assert "フォローしない方針" in note.message and "関わらない" in note.message


def test_following_a_user_first_is_a_warning_but_following_back_is_fine():
    recorded = {"fan": Recorded("customer", False)}
    assert rule_ids("@fan さんをフォローしました", recorded) == [FOLLOW_WAIT_RULE]
    assert rule_ids("@fan さん、フォローバックしました！", recorded) == []


def test_a_follow_a_manager_must_decide_needs_approval_until_approved():
    pending = {"party": Recorded("political_religious", False, "pending")}
    (note,) = follow_notes("@party をフォローしました", policy(), pending, "ja")
    assert note.rule_id == FOLLOW_MANAGER_RULE and note.requires_approval
    approved = {"party": Recorded("political_religious", False, "approved")}
    assert rule_ids("@party をフォローしました", approved) == []


def test_a_draft_that_does_not_announce_a_follow_is_left_alone():
    assert (
        rule_ids("@troll さん、ご意見ありがとうございます", {"troll": Recorded("bot", False)}) == []
    )
