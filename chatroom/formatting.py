"""A message's text as light Markdown: parsed by markdown-it-py, code highlighted by Pygments, on the server.

What a message may do is chosen for a chat, where any text is someone else's: bold, italic, strikethrough,
inline code, fenced code blocks, quotes, lists, line breaks, `http(s)` and `mailto` links (made clickable
with `rel="nofollow noopener noreferrer ugc"`) and `:shortcode:` emoji. Raw HTML is text, always. Headings,
rules, images, tables, indented code blocks and link reference definitions are not parsed: they would let
a message draw the page's own structure (a heading like the room's name, a rule like a day break, an image
loaded from anywhere), or turn a pasted indented line into code. `@name` mentions are marked in the text,
never in code.

Cost: the text is at most `MAX_MESSAGE_LENGTH` characters and is rendered once per process (the render
cache), whoever reads it. Nesting past `MAX_NESTING` (a thousand `>`) is shown as the plain text it is,
rather than partly dropped as the parser would; code blocks past `MAX_HIGHLIGHTED` characters stay plain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import emoji
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from chatroom.rooms.conversation import MENTIONS_MARKED, with_mentions

SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "nofollow noopener noreferrer ugc"
MAX_NESTING = 20  # quotes in lists in quotes…: the parser's recursion depth
MAX_HIGHLIGHTED = 20_000  # characters of one code block given colours; longer ones stay plain
MAX_LANGUAGE = 40  # characters of a fence's language name looked up
EXCERPT_CHARACTERS = 100  # of a quoted message shown in a reply: a line, not the message again
CODE_CLASS = "code"  # the <pre> of a code block; the stylesheet's rules hang under it
TOKEN_PREFIX = "tok-"  # noqa: S105 - Pygments' short classes (`k`, `s`) prefixed, so they cannot meet the page's own
LIGHT_STYLE = "default"
DARK_STYLE = "monokai"
_FORMATTER = HtmlFormatter(nowrap=True, classprefix=TOKEN_PREFIX)
_SPACES = {"softbreak": " ", "hardbreak": " "}  # what stands for a break in an excerpt; other marks stand for nothing
# One line the parser would find nothing in: no mark of Markdown, entity, escape, link, autolink or `:shortcode:`
# anywhere, nothing at its start that opens a block (a list's `-`, `+` or `1.`), no space around it to trim.
_MARKED = r"\\`*_~\[\]<>&#|:\x00-\x1f\x7f"
_PLAIN_LINE = re.compile(rf"(?![\s\-+=0-9])(?:[^{_MARKED}]|~(?!~))+(?<!\s)\Z")  # `~~` strikes through, `~` not
_NOT_PARSED = ["heading", "lheading", "hr", "table", "code", "reference", "html_block", "image", "html_inline"]


@lru_cache(maxsize=256)
def render(text: str) -> Markup:
    """The message's text as HTML, safe to put in a page as it is. The latest are kept: a page of search
    results asked for again, or a text rendered for a message and its search result, is rendered once.

    Most chat lines have nothing for the parser to find (`_PLAIN_LINE`): they are the paragraph it would make,
    at a tenth of the cost."""
    if _PLAIN_LINE.match(text):
        return Markup("<p>{}</p>").format(with_mentions(text))
    return _parsed(text)


def _parsed(text: str) -> Markup:
    tokens = _MARKDOWN.parse(text, {})
    if any(t.level >= MAX_NESTING - 1 for t in tokens):  # the parser dropped (or would drop) what is deeper
        return Markup("<p>{}</p>").format(_plain(text))
    html = _MARKDOWN.renderer.render(tokens, _MARKDOWN.options, {"mentions": MENTIONS_MARKED})
    return Markup(html.rstrip("\n"))  # noqa: S704 - markdown-it with HTML off; every text escaped by the rules below


@lru_cache(maxsize=256)
def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The start of a message as one line of plain text, for a quote of it: what its Markdown marks is kept and
    the marks are dropped (no link, no code block, no emphasis), breaks and blocks become spaces, and a text
    longer than `limit` characters is cut with an ellipsis. Escaped where it is put, like any text."""
    parts: list[str] = []
    for token in _MARKDOWN.parse(text, {}):
        if token.type == "inline":
            children = token.children or ()
            parts.extend(
                child.content if child.type in ("text", "code_inline") else _SPACES.get(child.type, "")
                for child in children
            )
        elif token.type == "fence":
            parts.append(token.content)
        parts.append(" ")
    plain = " ".join(emoji.emojize("".join(parts), language="alias").split())
    return plain if len(plain) <= limit else plain[: limit - 1].rstrip() + "…"


def link_allowed(url: str) -> bool:
    """Only absolute `http`, `https` and `mailto` links, as markdown-it normalised them (entities decoded,
    percent-encoded): a scheme hidden with case, entities, tabs or control characters is not one of these."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in SCHEMES and (parts.scheme == "mailto" or bool(parts.netloc))


def stylesheet() -> str:
    """The code blocks' colours: Pygments' light style, and its dark one for browsers that prefer dark."""
    light, dark = (_style_rules(style) for style in (LIGHT_STYLE, DARK_STYLE))
    indented = "\n".join("  " + line for line in dark)
    return (
        f"/* Generated by `python -m chatroom.formatting > static/code.css` (Pygments {LIGHT_STYLE}, {DARK_STYLE}):"
        f" do not edit. */\n" + "\n".join(light) + f"\n@media (prefers-color-scheme: dark) {{\n{indented}\n}}\n"
    )


def _style_rules(style: str) -> list[str]:
    formatter = HtmlFormatter(style=style, classprefix=TOKEN_PREFIX)
    selector = f".{CODE_CLASS}"
    return [*formatter.get_background_style_defs(selector), *formatter.get_token_style_defs(selector)]


def _plain(text: str) -> Markup:
    lines = [with_mentions(line) for line in text.split("\n")]
    return Markup("<br>\n").join(lines)


def _text(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    """A run of text: shortcodes become emoji, the first `@name`s of the message are marked, the rest escaped."""
    marked, env["mentions"] = _mentions(emoji.emojize(tokens[idx].content, language="alias"), env["mentions"])
    return str(marked)


def _mentions(text: str, budget: int) -> tuple[Markup, int]:
    html = with_mentions(text, limit=budget)
    return html, budget - html.count('<mark class="mention"')


def _link_open(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    token.attrSet("rel", LINK_REL)
    return renderer.renderToken(tokens, idx, options, env)


def _fence(renderer: RendererHTML, tokens: Sequence[Token], idx: int, options: Any, env: dict[str, Any]) -> str:
    token = tokens[idx]
    language = token.info.strip().split(maxsplit=1)[0][:MAX_LANGUAGE].lower() if token.info.strip() else ""
    lexer = _lexer(language) if len(token.content) <= MAX_HIGHLIGHTED else None
    if lexer is None:
        return str(Markup('<pre class="{}"><code>{}</code></pre>\n').format(CODE_CLASS, token.content))
    code = highlight(token.content, lexer, _FORMATTER)
    name = Markup(' data-language="{}"').format(language)
    return f'<pre class="{CODE_CLASS}"{name}><code>{code}</code></pre>\n'


@lru_cache(maxsize=64)
def _lexer(language: str) -> Lexer | None:
    """The lexer of a fence's language name (`python`, `js`, `sh`); none for an unknown name. Never guessed:
    guessing runs every lexer over the text."""
    if not language:
        return None
    try:
        return get_lexer_by_name(language, stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _markdown() -> MarkdownIt:
    options = {"html": False, "linkify": True, "breaks": True, "xhtmlOut": False, "maxNesting": MAX_NESTING}
    md = MarkdownIt("commonmark", options)
    md.enable(["linkify", "strikethrough"]).disable(_NOT_PARSED)
    assert md.linkify is not None
    md.linkify.set({"fuzzy_link": False, "fuzzy_email": False})  # `example.com` stays text; `https://…` links
    md.validateLink = link_allowed  # type: ignore[method-assign]
    md.add_render_rule("text", _text)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("fence", _fence)
    return md


_MARKDOWN = _markdown()


if __name__ == "__main__":
    print(stylesheet(), end="")
