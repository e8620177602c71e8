"""Deterministic generator of realistic drafts (Japanese, English, handles, URLs, emoji, hits)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.rules import RuleSet

# What a company account on X writes: announcements, replies to customers and to other
# companies' accounts, event notes. Mostly Japanese, some English, full-width punctuation.
JA_SENTENCES: tuple[str, ...] = (
    "本日より新商品の予約受付を開始しました！",
    "いつもご利用いただきありがとうございます。",
    "お問い合わせの件、担当部署に確認いたします。",
    "週末は東京ビッグサイトの展示会に出展します。",
    "ブースでは試食もご用意しております。",
    "寒い日が続きますので、体調にお気をつけください。",
    "ご不便をおかけして申し訳ございません。",
    "素敵な写真をありがとうございます！スタッフ一同とても喜んでいます。",
    "新しいパッケージのデザインはいかがでしょうか？",
    "ご意見は今後の商品開発の参考にさせていただきます。",
    "今月のおすすめは季節限定のいちごタルトです。",
    "店頭での在庫状況は各店舗にお問い合わせください。",
    "次回の更新もお楽しみに〜！",
    "フォローありがとうございます！これからもよろしくお願いします。",
    "社員旅行の様子を少しだけご紹介します。",
    "公式サイトのメンテナンスは明日の午前中に終了予定です。",
    "ライバル社さんの新作、とても美味しかったです！",
    "キャンペーン期間は今月末までとなっております。",
    "ご来店の際はマスクの着用にご協力をお願いいたします。",
    "今日のランチは社員食堂の日替わり定食でした。",
    "皆さんの好きなフレーバーを教えてください！",
    "開発チームが半年かけて仕上げた自信作です。",
    "詳しい使い方は動画でも解説しています。",
    "雨の日限定のスタンプカードを配布中です。",
    "ご返信が遅くなり、大変失礼いたしました。",
    "工場見学のお申し込みは来週から受け付けます。",
    "ｷｬﾝﾍﾟｰﾝ情報はプロフィールのリンクからどうぞ。",
    "すご〜い！ありがとうございます。",
    "明日の配送は天候の影響で遅れる可能性があります。",
    "いいね、リポストありがとうございます！励みになります。",
)

EN_PHRASES: tuple[str, ...] = (
    "Thank you for your support",
    "New arrivals this week",
    "See you at the expo",
    "Happy Friday",
    "limited edition",
    "Our team loves this one",
    "Check it out",
    "Made in Japan",
    "Stay tuned",
    "behind the scenes",
    "Thanks for the shout-out",
    "coming soon",
)

HANDLES: tuple[str, ...] = (
    "@acme_jp",
    "@tokyo_sweets",
    "@rival_official",
    "@kaisha_pr",
    "@yamada_taro",
    "@FoodLabJP",
    "@support_help",
    "@shop_osaka",
)

URLS: tuple[str, ...] = (
    "https://example.co.jp/news/2025/spring-campaign",
    "https://www.example.com/products/item?id=12345&ref=x",
    "https://t.co/AbCdEf1234",
    "https://example.jp/blog/behind-the-scenes",
    "http://shop.example.net/sale",
)

EMOJI: tuple[str, ...] = ("🎉", "✨", "🙏", "😊", "🍰", "👍", "🔥", "💡", "👨‍👩‍👧", "🇯🇵", "❤️")

HASHTAGS: tuple[str, ...] = (
    "#新商品",
    "#キャンペーン",
    "#春の新作",
    "#PR",
    "#スイーツ好きと繋がりたい",
    "#展示会",
    "#TGIF",
)


@dataclass(frozen=True, slots=True)
class Draft:
    """One generated draft and what it contains."""

    text: str
    has_url: bool
    has_emoji: bool
    hits: int


def _segment(rng: random.Random) -> str:
    """Return one text piece of a draft: a sentence, an English phrase, a handle or a hashtag."""
    roll = rng.random()
    if roll < 0.62:
        return rng.choice(JA_SENTENCES)
    if roll < 0.77:
        return rng.choice(EN_PHRASES) + rng.choice(("!", " ", "! ", "　"))
    if roll < 0.89:
        return rng.choice(HANDLES) + rng.choice((" ", "さん "))
    return " " + rng.choice(HASHTAGS) + " "


def make_draft(
    rng: random.Random,
    length: int,
    hit_snippets: Sequence[str],
    *,
    url_rate: float = 0.4,
    emoji_rate: float = 0.4,
    hit_rate: float = 0.35,
) -> Draft:
    """Build one draft of exactly `length` characters (code points).

    About 40% of drafts end with a link and 40% carry emoji (independently), as posts from a
    company account do; about a third carry one or more rule hits.
    """
    tail = " " + rng.choice(URLS) if rng.random() < url_rate else ""
    body_len = max(0, length - len(tail))
    want_hits = 0
    if hit_snippets and rng.random() < hit_rate:
        want_hits = max(1, round(length / 280 * rng.choice((1, 1, 2))))
    slots = max(1, body_len // 30)
    hit_at = {rng.randrange(0, slots) for _ in range(want_hits)}
    parts: list[str] = []
    size = index = hits = 0
    while size < body_len:
        if index in hit_at:
            snippet = rng.choice(hit_snippets)
            hits += 1
            parts.append(snippet)
            size += len(snippet)
        piece = _segment(rng)
        parts.append(piece)
        size += len(piece)
        index += 1
    chars = list("".join(parts)[:body_len])
    if chars and rng.random() < emoji_rate:
        for _ in range(max(1, rng.randint(1, 3) * length // 280)):
            chars.insert(rng.randrange(0, len(chars) + 1), rng.choice(EMOJI))
    body = ("".join(chars)[:body_len] + tail)[:length]
    has_url = "http" in body
    has_emoji = any(ord(c) >= 0x1F000 or 0x2600 <= ord(c) <= 0x27BF for c in body)
    return Draft(body, has_url, has_emoji, hits)


def make_drafts(
    n: int,
    length: int,
    hit_snippets: Sequence[str],
    *,
    seed: int = 20250601,
    url_rate: float = 0.4,
    emoji_rate: float = 0.4,
) -> list[Draft]:
    """Return n drafts of `length` characters, reproducible for a given seed."""
    rng = random.Random(f"{seed}:{length}:{url_rate}:{emoji_rate}")
    return [
        make_draft(rng, length, hit_snippets, url_rate=url_rate, emoji_rate=emoji_rate)
        for _ in range(n)
    ]


def hit_snippets(ruleset: RuleSet, limit: int | None = None) -> list[str]:
    """Return text that should trip the rules: terms, replace keys and string match examples."""
    out: list[str] = []
    for rule in ruleset.rules[:limit]:
        if rule.metric is not None:
            continue
        out.extend(rule.terms or ())
        out.extend((rule.replace or {}).keys())
        out.extend(e for e in rule.examples.match if isinstance(e, str) and len(e) <= 60)
    return out


def rule_terms(ruleset: RuleSet) -> list[tuple[str, str | None]]:
    """Return (term, suggestion) for every literal term and replace key of the rules."""
    out: list[tuple[str, str | None]] = []
    for rule in ruleset.rules:
        out.extend((t, None) for t in rule.terms or ())
        out.extend((rule.replace or {}).items())
    return out


def write_jsonl(path: Path, drafts: Iterable[Draft]) -> int:
    """Write drafts as `{"id", "text"}` lines for `check --batch`; return how many."""
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        for n, draft in enumerate(drafts, 1):
            fh.write(json.dumps({"id": n, "text": draft.text}, ensure_ascii=False) + "\n")
    return n


def write_files(folder: Path, drafts: Sequence[Draft]) -> list[Path]:
    """Write one draft per .txt file (for tools that take files) and return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, draft in enumerate(drafts, 1):
        path = folder / f"draft-{i:05d}.txt"
        path.write_text(draft.text + "\n", encoding="utf-8")
        paths.append(path)
    return paths
