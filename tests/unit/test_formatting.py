"""A message's text is light Markdown rendered on the server: what it makes, what it never makes, and what it costs."""

from __future__ import annotations

import random
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chatroom import formatting
from chatroom.formatting import MAX_HIGHLIGHTED, link_allowed, render, stylesheet
from chatroom.settings import Settings
from chatroom.web.paths import STATIC

REL = 'rel="nofollow noopener noreferrer ugc"'


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("plain", "<p>plain</p>"),
        ("**bold** and __bold__", "<p><strong>bold</strong> and <strong>bold</strong></p>"),
        ("*it* and _it_", "<p><em>it</em> and <em>it</em></p>"),
        ("~~gone~~", "<p><s>gone</s></p>"),
        ("`a < b`", "<p><code>a &lt; b</code></p>"),
        ("one\ntwo", "<p>one<br>\ntwo</p>"),
        ("> said\n\nreply", "<blockquote>\n<p>said</p>\n</blockquote>\n<p>reply</p>"),
        ("- a\n- b", "<ul>\n<li>a</li>\n<li>b</li>\n</ul>"),
        ("1. a\n2. b", "<ol>\n<li>a</li>\n<li>b</li>\n</ol>"),
        (":tada: :thumbsup:", "<p>🎉 👍</p>"),
        ("`:tada:`", "<p><code>:tada:</code></p>"),
        (":not_an_emoji_name:", "<p>:not_an_emoji_name:</p>"),
        (
            "see https://example.com/a?b=1&c=2",
            f'<p>see <a href="https://example.com/a?b=1&amp;c=2" {REL}>https://example.com/a?b=1&amp;c=2</a></p>',
        ),
        ("[docs](http://example.com)", f'<p><a href="http://example.com" {REL}>docs</a></p>'),
        ("<mailto:a@example.com>", f'<p><a href="mailto:a@example.com" {REL}>mailto:a@example.com</a></p>'),
        ("example.com stays text", "<p>example.com stays text</p>"),
        ("hi @bob", '<p>hi <mark class="mention" data-mention="bob">@bob</mark></p>'),
        ("`@bob`", "<p><code>@bob</code></p>"),
        # Not parsed: they would draw the page's own structure, or make pasted text code.
        ("# Room", "<p># Room</p>"),
        ("a\n\n---\n\nb", "<p>a</p>\n<p>---</p>\n<p>b</p>"),
        ("    indented", "<p>indented</p>"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "<p>| a | b |<br>\n|---|---|<br>\n| 1 | 2 |</p>"),
        ("[r]: https://example.com", '<p>[r]: <a href="https://example.com" ' + REL + ">https://example.com</a></p>"),
    ],
)
def test_light_markdown_renders_as_a_chat_expects(text: str, html: str) -> None:
    assert render(text) == html


def test_an_image_is_a_link_to_it_never_loaded() -> None:
    html = render("![cat](https://example.com/cat.png)")
    assert html == f'<p>!<a href="https://example.com/cat.png" {REL}>cat</a></p>'


def test_a_fenced_block_is_highlighted_on_the_server_with_classes() -> None:
    html = render("```python\nprint('<hi>')  # x\n```")
    assert html.startswith('<pre class="code" data-language="python"><code><span class="tok-nb">print</span>')
    assert "&#39;&lt;hi&gt;&#39;" in html or "'&lt;hi&gt;'" in html
    assert '<span class="tok-c1"># x</span>' in html and "style=" not in html


@pytest.mark.parametrize("info", ["", "no-such-language", "python" * 20, '"><script>'])
def test_a_block_without_a_known_language_is_plain_escaped_code(info: str) -> None:
    html = render(f"```{info}\n<b>x</b>\n```")
    assert html == '<pre class="code"><code>&lt;b&gt;x&lt;/b&gt;\n</code></pre>'


def test_a_block_too_long_to_colour_is_plain() -> None:
    code = "x = 1\n" * (MAX_HIGHLIGHTED // 6 + 1)
    assert render(f"```python\n{code}```") == f'<pre class="code"><code>{code}</code></pre>'


XSS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '"><svg onload=alert(1)>',
    "<a href='javascript:alert(1)'>x</a>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](&#x6A;avascript&colon;alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](%6Aavascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    "<javascript:alert(1)>",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<data:text/html,<script>alert(1)</script>>",
    "[x](file:///etc/passwd)",
    "[x](//evil.example/path)",
    "[x](/signout)",
    '[x](https://ok.example "title" onmouseover="alert(1)")',
    '[x](https://ok.example/"onmouseover="alert(1))',
    "```html\n<script>alert(1)</script>\n```",
    '```"><script>alert(1)</script>\nx\n```',
    "`<script>alert(1)</script>`",
    "**<script>alert(1)</script>**",
    "> <iframe src=https://evil.example></iframe>",
    "https://ok.example/<script>alert(1)</script>",
    "@<script>alert(1)</script>",
]


class Elements(HTMLParser):
    """The tags and attributes a browser would build from some HTML."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.found: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append((tag, attrs))


TAGS = {"p", "br", "strong", "em", "s", "code", "pre", "span", "blockquote", "ul", "ol", "li", "a", "mark"}
ATTRIBUTES = {"href", "rel", "class", "data-mention", "data-language"}


@pytest.mark.parametrize("payload", XSS)
def test_no_payload_makes_markup_or_a_dangerous_link(payload: str) -> None:
    for tag, attrs in Elements(render(payload)).found:
        assert tag in TAGS
        for name, value in attrs:
            assert name in ATTRIBUTES, (tag, name)
            if name == "href":
                assert (value or "").startswith(("http://", "https://", "mailto:")), value
                assert dict(attrs)["rel"] == "nofollow noopener noreferrer ugc"


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://example.com", True),
        ("http://example.com/x", True),
        ("mailto:a@example.com", True),
        ("HTTPS://EXAMPLE.COM", True),
        ("javascript:alert(1)", False),
        ("data:text/html,x", False),
        ("vbscript:x", False),
        ("ftp://example.com", False),
        ("/relative", False),
        ("//example.com", False),
        ("https:///no-host", False),
        ("http://[::1", False),
    ],
)
def test_only_absolute_http_https_and_mailto_links_survive(url: str, allowed: bool) -> None:
    assert link_allowed(url) is allowed


# The issue's own: 10,000 nested quotes or emphasis markers, a 2,000-character line of backticks. The others
# are cut to a message's length (MAX_MESSAGE_LENGTH, 2,000): the costliest grow faster than their length.
LONGEST = Settings().max_message_length
BOMBS = {
    "10,000 nested quotes (cut to the limit)": "> " * 5000,
    "nested quotes on lines": "\n".join(">" * n + " x" for n in range(60)),
    "nested lists": "\n".join("  " * n + "- x" for n in range(400)),
    "emphasis markers": "*" * 10_000,
    "unclosed emphasis pairs": "*a _b " * 2000,
    "a line of backticks": "`" * 2000,
    "backticks with spaces": "` " * 5000,
    "unmatched code spans": "`a``" * 2500,
    "open brackets": "[" * 10_000,
    "unclosed links": "[a](" * 2500,
    "open angle brackets": "<" * 10_000,
    "entities": "&#" * 5000,
    "links to linkify": "https://a.example " * 600,
    "mentions": "@a " * 3000,
    "shortcodes": ":tada:" * 2000,
    "a huge code block": "```python\n" + "def f(x): return [x for x in range(10)]\n" * 250 + "```",
}


@pytest.mark.parametrize("name", BOMBS)
def test_a_markdown_bomb_renders_in_bounded_time_and_size(name: str) -> None:
    text = BOMBS[name] if name.startswith("10,000") or name == "emphasis markers" else BOMBS[name][:LONGEST]
    started = time.perf_counter()
    html = render.__wrapped__(text)  # not the cache: rendered now
    took = time.perf_counter() - started
    assert took < 1.0, f"{name}: {took:.2f} s"  # measured 1-60 ms each on this 2-core machine when quiet
    assert len(html) < 40 * len(text), f"{name}: {len(html)} characters from {len(text)}"


def test_nesting_past_the_limit_is_shown_as_the_text_it_is_not_partly_dropped() -> None:
    html = render("> " * 40 + "the end @bob")
    assert html.startswith("<p>&gt; &gt; ") and "<blockquote>" not in html
    assert html.endswith('the end <mark class="mention" data-mention="bob">@bob</mark></p>')
    assert render("> " * 5 + "fine").count("<blockquote>") == 5


def test_only_the_first_ten_mentions_of_a_message_are_marked_across_its_blocks() -> None:
    text = "\n\n".join(f"@p{n}" for n in range(15))
    assert render(text).count("<mark") == 10


def test_the_checked_in_code_stylesheet_is_what_pygments_generates() -> None:
    checked_in = (Path(STATIC) / "code.css").read_text()
    assert checked_in == stylesheet(), "run: python -m chatroom.formatting > static/code.css"
    assert "@media (prefers-color-scheme: dark)" in checked_in and ".code .tok-k" in checked_in


def test_a_plain_line_is_the_paragraph_the_parser_would_make() -> None:
    """The shortcut for lines with nothing to parse gives exactly what the parser gives, or is not taken: random
    lines of letters, marks, links, shortcodes, mentions, list starts and spaces, each rendered both ways."""
    pieces = [*"ab Z9é😀 .,!?'\"()@-+=*_~`[]<>&#|:\\\t\n\u00a0\u200b", "@alice", "www.example.com", "http://a.io", "1.",
              "- ", ":smile:", "&amp;", "~~", "**", "mailto:x@y.io", "  "]  # fmt: skip
    chance = random.Random(17)
    shortcut = 0
    for _ in range(4000):
        text = "".join(chance.choice(pieces) for _ in range(chance.randint(1, 12)))
        if formatting._PLAIN_LINE.match(text):
            shortcut += 1
            assert render.__wrapped__(text) == formatting._parsed(text), text
    assert shortcut > 100  # the shortcut was tried on many lines, not on none
    assert formatting._PLAIN_LINE.match("sounds good, see you at 10 @bob!")
