"""Telegram's HTML parse mode as the Bot API applies it: the visible text and its entities, or the error.

It follows tdlib's ``parse_html`` (td/telegram/MessageEntity.cpp), which the Bot API server runs:
the same tags, the same four named entities and numeric ones, and the same error texts. Like
tdlib, a ``&`` that starts no known entity is kept as a character, not refused.
"""

from __future__ import annotations

from typing import Any

TAGS = frozenset("a b strong i em s strike del u ins tg-spoiler tg-emoji span pre code blockquote".split())
_TYPES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
          "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
          "span": "spoiler", "code": "code", "pre": "pre", "blockquote": "blockquote"}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
MAX_ENTITIES = 100  # Telegram keeps a message's first 100 entities (rubenlagus/TelegramBots#854)
_SPACE = frozenset(" \t\r\n\v")
Entity = dict[str, Any]


class HtmlError(ValueError):
    """What tdlib says about malformed HTML, e.g. 'Unsupported start tag "foo" at byte offset 0'."""


def parse(source: str) -> tuple[str, list[Entity]]:
    """The visible text and its entities (offsets and lengths in UTF-16 code units, as the Bot API's)."""
    return _Parser(source).run()


def _units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class _Parser:
    def __init__(self, source: str) -> None:
        self.s, self.i = source, 0
        self.out: list[str] = []
        self.offset = 0  # UTF-16 offset of the visible text so far
        self.open: list[tuple[str, str, int, int]] = []  # tag, argument, offset, len(out) at opening
        self.entities: list[Entity] = []

    def at(self, i: int) -> str:
        return self.s[i] if i < len(self.s) else "\0"

    def fail(self, why: str, at: int | None = None) -> HtmlError:
        where = "" if at is None else f" at byte offset {len(self.s[:at].encode())}"
        return HtmlError(why + where)

    def run(self) -> tuple[str, list[Entity]]:
        while self.i < len(self.s):
            c = self.s[self.i]
            if c == "&" and (decoded := self.entity()) is not None:
                self.emit(decoded)
            elif c != "<":
                self.emit(c)
                self.i += 1
            elif self.at(self.i + 1) != "/":
                self.start_tag()
            else:
                self.end_tag()
        if self.open:
            raise self.fail(f"Can't find end tag corresponding to start tag {self.open[-1][0]}")
        text = "".join(self.out)
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
            raise HtmlError(
                "Text contains invalid Unicode characters after decoding HTML entities, "
                "check for unmatched surrogate code units"
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)  # a language counts only on <pre><code class=...>
        ordered = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return text, ordered[:MAX_ENTITIES]  # the rest is dropped silently, formatting lost

    def emit(self, text: str) -> None:
        self.out.append(text)
        self.offset += _units(text)

    def entity(self) -> str | None:
        """The character of the entity at ``i`` (moving past it), or None: then '&' is a plain character."""
        j, value = self.i + 1, 0
        if self.at(j) == "#":
            j += 1
            hexadecimal = self.at(j) == "x"
            j += hexadecimal
            digits = "0123456789abcdefABCDEF" if hexadecimal else "0123456789"
            start = j
            while self.at(j) in digits:
                j += 1
            value = int(self.s[start:j], 16 if hexadecimal else 10) if j > start else 0
            if value == 0 or value >= 0x10FFFF or j - self.i >= 10:
                return None
            char = chr(value)
        else:
            start = j
            while self.at(j).isascii() and self.at(j).isalpha():
                j += 1
            if self.s[start:j] not in _NAMED:
                return None
            char = _NAMED[self.s[start:j]]
        self.i = j + (self.at(j) == ";")
        return char

    def start_tag(self) -> None:
        begin, i = self.i, self.i + 1
        while self.at(i) not in _SPACE and self.at(i) not in ">\0":
            i += 1
        if i >= len(self.s):
            raise self.fail("Unclosed start tag", begin)
        tag = self.s[begin + 1 : i].lower()
        if tag not in TAGS:
            raise self.fail(f'Unsupported start tag "{tag}"', begin)
        argument = ""
        while self.at(i) != ">":
            while self.at(i) in _SPACE:
                i += 1
            if self.at(i) == ">":
                break
            name_start = i
            while self.at(i) not in _SPACE and self.at(i) not in "=>\0":
                i += 1
            name = self.s[name_start:i]
            if not name:
                raise self.fail(f'Empty attribute name in the tag "{tag}"', begin)
            while self.at(i) in _SPACE:
                i += 1
            if self.at(i) != "=":
                if tag == "blockquote" and name == "expandable":  # the one attribute without a value
                    argument = "expandable"
                    continue
                raise self.fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            i += 1
            while self.at(i) in _SPACE:
                i += 1
            if i >= len(self.s):
                raise self.fail(f'Unclosed start tag "{tag}"', begin)
            value, i = self.attribute_value(i)
            if i >= len(self.s):
                raise self.fail("Unclosed start tag", begin)
            argument = _argument(tag, name, value, argument)
        if tag == "span" and argument != "spoiler":
            raise self.fail('Tag "span" must have class "tg-spoiler"', begin)
        self.open.append((tag, argument, self.offset, len(self.out)))
        self.i = i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.at(i)
        if quote not in "'\"":
            start = i
            while self.at(i).isascii() and (self.at(i).isalnum() or self.at(i) in ".-"):
                i += 1
            if self.at(i) not in _SPACE and self.at(i) != ">":
                raise self.fail("Unexpected end of name token", start)
            return self.s[start:i].lower(), i
        i += 1
        value: list[str] = []
        while i < len(self.s) and self.s[i] != quote:
            self.i = i
            if self.s[i] == "&" and (decoded := self.entity()) is not None:
                value.append(decoded)
                i = self.i
            else:
                value.append(self.s[i])
                i += 1
        return "".join(value), i + (i < len(self.s))

    def end_tag(self) -> None:
        begin = self.i
        if not self.open:
            raise self.fail("Unexpected end tag", begin)
        i = begin + 1
        while self.at(i) not in _SPACE and self.at(i) not in ">\0":
            i += 1
        name = self.s[begin + 2 : i].lower()
        while self.at(i) in _SPACE:
            i += 1
        if self.at(i) != ">":
            raise self.fail("Unclosed end tag", begin)
        tag, argument, offset, first = self.open.pop()
        if name and name != tag:
            raise self.fail(
                f'Unmatched end tag at byte offset {len(self.s[:begin].encode())}, expected "</{tag}>", found "</{name}>"'
            )
        self.i = i + 1
        if self.offset > offset:
            self.add_entity(tag, argument, offset, self.offset - offset, "".join(self.out[first:]))

    def add_entity(self, tag: str, argument: str, offset: int, length: int, text: str) -> None:
        entity: Entity = {"offset": offset, "length": length}
        last = self.entities[-1] if self.entities else None
        if tag == "a":
            url = argument or text
            if not url.strip():
                return  # tdlib drops a link it can't check
            entity.update(type="text_link", url=url)
        elif tag == "tg-emoji":
            if not argument.isdigit() or int(argument) == 0:
                raise HtmlError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=argument)
        elif tag == "pre" and last and last["type"] == "code" and last.get("language"):
            if (last["offset"], last["length"]) == (offset, length):
                last.update(type="pre")  # <pre><code class="language-x">: one pre with a language
                return
            entity.update(type="pre")
        elif tag == "blockquote" and argument:
            entity.update(type="expandable_blockquote")
        else:
            entity.update(type=_TYPES[tag])
            if tag == "code" and argument:
                entity.update(language=argument)
        self.entities.append(entity)


def _argument(tag: str, name: str, value: str, current: str) -> str:
    """The one attribute each tag keeps (tdlib ignores the others)."""
    if tag == "a" and name == "href":
        return value
    if tag == "code" and name == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and name == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and name == "emoji-id":
        return value
    return current
