"""Text a database stores and a socket sends: what to do with a NUL or an unpaired surrogate.

PostgreSQL text holds no NUL character, and UTF-8 encodes no unpaired surrogate (JSON's
``"\\ud800"`` escape decodes to one, and so may a frame handed over in process); either made a
message's writes fail as an InternalError, or its answer fail to encode and the socket close
(issue 16 §5). Three places meet them:

* :func:`payload_strings_checked` — in a payload: refused by validation, except in the messages
  a charger never gives up on, where each such character becomes U+FFFD (and is counted);
* :func:`log_text` — in the message log: the frame kept as received, those characters escaped;
* :func:`wire_json` — in an answer (a message id echoed back): JSON with ``\\uXXXX`` escapes.
"""

import json
import re
from typing import Any

from csms.ocpp.compat import ANSWERED_MESSAGES, CompatSwitches, Quirks
from csms.ocpp.errors import ErrorCode, OcppError

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def has_unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL or an unpaired surrogate (cheap for plain ASCII)."""
    if text.isascii():
        return "\x00" in text
    return _UNSTORABLE.search(text) is not None


def may_carry_unstorable(raw_frame: str) -> bool:
    """Whether a frame's parsed payload may hold one: JSON writes both only as ``\\u`` escapes
    (a raw NUL is no valid JSON), unless the text itself is not plain ASCII."""
    return "\\u" in raw_frame or not raw_frame.isascii()


def payload_strings_checked(
    action: str, payload: dict[str, Any], switches: CompatSwitches
) -> Quirks:
    """Refuse (PropertyConstraintViolation) a payload with a NUL or an unpaired surrogate in a
    key or a string; in a message answered whenever it can be identified, replace each such
    character with U+FFFD instead (an idTag so mended names no real tag) and count it."""
    found: list[str] = []
    _unstorable_paths(payload, "payload", found)
    if not found:
        return []
    if not (switches.lenient_transaction_messages and action in ANSWERED_MESSAGES):
        where = _UNSTORABLE.sub(REPLACEMENT, found[0])[:100]
        raise OcppError(
            ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
            f"{where} holds a NUL character or an unpaired surrogate",
        )
    _mend(payload)
    return ["unstorable_characters"] * len(found)


def _unstorable_paths(node: Any, path: str, found: list[str]) -> None:
    if isinstance(node, str):
        if has_unstorable(node):
            found.append(path)
    elif isinstance(node, dict):
        for key, value in node.items():
            if has_unstorable(key):
                found.append(f"{path}.{key}")
            _unstorable_paths(value, f"{path}.{key}", found)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _unstorable_paths(value, f"{path}[{index}]", found)


def _mend(node: Any) -> Any:
    if isinstance(node, str):
        return _UNSTORABLE.sub(REPLACEMENT, node)
    if isinstance(node, dict):
        mended = {_mend(key): _mend(value) for key, value in node.items()}
        node.clear()
        node.update(mended)
    elif isinstance(node, list):
        node[:] = [_mend(value) for value in node]
    return node


def log_text(text: str) -> str:
    """``text`` as the message log keeps it: verbatim, but a NUL or unpaired surrogate written
    as its ``\\uXXXX`` escape, so the row is stored and still shows what came."""
    if not has_unstorable(text):
        return text
    return _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


def wire_json(message: Any) -> str:
    """``message`` as compact JSON for the socket: non-ASCII kept as is (smaller frames), unless
    an unpaired surrogate in it could not be sent as UTF-8."""
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
    if text.isascii() or not _SURROGATE.search(text):
        return text
    return json.dumps(message, separators=(",", ":"))
