"""Reading messages: .eml files, mbox files, maildir folders, plain folders and standard input.

Every input yields one `Input` per message; a message that cannot be read carries the reason
in `error` and never stops the others.
"""

from __future__ import annotations

import email
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from typing import BinaryIO

# Bounces are small; a returned message with attachments can be large, but Postfix's default
# message_size_limit is 10,240,000 bytes. Anything beyond this is not a bounce worth reading.
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
_PEEK = 4096
_TEXT_CONTROLS = b"\t\n\r\x0c\x1b"  # ESC: ISO-2022-JP text


@dataclass
class Input:
    """One message to analyse, or the reason it could not be read."""

    name: str
    message: Message | None = None
    error: str = ""
    defects: list[str] = field(default_factory=list)


def read_paths(paths: list[str], stdin: BinaryIO) -> Iterator[Input]:
    for path in paths:
        if path == "-":
            yield from _read_stream("-", stdin)
        else:
            yield from _read_path(Path(path))


def _read_stream(name: str, stream: BinaryIO) -> Iterator[Input]:
    data = stream.read(MAX_MESSAGE_BYTES + 1)
    if len(data) > MAX_MESSAGE_BYTES:
        yield Input(name, error=_too_large())
    elif data.startswith(b"From "):
        yield from _split_mbox_bytes(name, data)
    else:
        yield parse_bytes(name, data)


def _read_path(path: Path) -> Iterator[Input]:
    name = str(path)
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            yield from _read_maildir(path)
        else:
            yield from _read_folder(path)
        return
    try:
        with path.open("rb") as handle:
            head = handle.read(_PEEK)
    except OSError as exc:
        yield Input(name, error=f"cannot read: {exc.strerror or exc}")
        return
    if head.startswith(b"From "):
        yield from _read_mbox(path)
    else:
        yield _read_file(name, path)


def _read_file(name: str, path: Path) -> Input:
    try:
        if path.stat().st_size > MAX_MESSAGE_BYTES:
            return Input(name, error=_too_large())
        data = path.read_bytes()
    except OSError as exc:
        return Input(name, error=f"cannot read: {exc.strerror or exc}")
    return parse_bytes(name, data)


def _read_folder(folder: Path) -> Iterator[Input]:
    """A folder of message files (not a maildir): each regular file, in name order."""
    try:
        entries = sorted(os.scandir(folder), key=lambda entry: entry.name)
    except OSError as exc:
        yield Input(str(folder), error=f"cannot read the folder: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.is_file() and not entry.name.startswith("."):
            yield from _read_path(Path(entry.path))


def _read_maildir(folder: Path) -> Iterator[Input]:
    for sub in ("new", "cur"):
        try:
            names = sorted(n for n in os.listdir(folder / sub) if not n.startswith("."))
        except OSError as exc:
            yield Input(f"{folder}/{sub}", error=f"cannot read: {exc.strerror or exc}")
            continue
        for filename in names:
            yield _read_file(f"{folder}#{sub}/{filename}", folder / sub / filename)


def _read_mbox(path: Path) -> Iterator[Input]:
    try:
        box = mailbox.mbox(path, create=False)
        keys = box.keys()
    except (OSError, mailbox.Error) as exc:
        yield Input(str(path), error=f"cannot read the mbox: {exc}")
        return
    for index, key in enumerate(keys, start=1):
        name = f"{path}#{index}"
        try:
            data = box.get_bytes(key)
        except (OSError, KeyError) as exc:
            yield Input(name, error=f"cannot read: {exc}")
            continue
        if len(data) > MAX_MESSAGE_BYTES:
            yield Input(name, error=_too_large())
        else:
            yield parse_bytes(name, data)


def _split_mbox_bytes(name: str, data: bytes) -> Iterator[Input]:
    """An mbox given on standard input: split on the "From " lines (mboxo/mboxrd)."""
    chunks: list[bytes] = []
    current: list[bytes] = []
    for line in data.splitlines(keepends=True):
        if line.startswith(b"From ") and current:
            chunks.append(b"".join(current))
            current = []
        current.append(line)
    if current:
        chunks.append(b"".join(current))
    for index, chunk in enumerate(chunks, start=1):
        body = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        yield parse_bytes(f"{name}#{index}", body)


def parse_bytes(name: str, data: bytes) -> Input:
    """One RFC 5322 message from bytes, or why these bytes are not one."""
    problem = _not_a_message(data)
    if problem:
        return Input(name, error=problem)
    message = email.message_from_bytes(data)
    defects = sorted({type(d).__name__ for part in message.walk() for d in part.defects})
    return Input(name, message=message, defects=defects)


def _not_a_message(data: bytes) -> str:
    if not data.strip():
        return "empty: no message"
    head = data[:_PEEK]
    header_block = head.split(b"\n\n", 1)[0][:1024]
    controls = sum(1 for byte in head if byte < 32 and byte not in _TEXT_CONTROLS)
    if b"\x00" in header_block or controls > len(head) // 10:
        return "binary data, not an RFC 5322 message"
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    name, colon, _ = first.partition(b":")
    if not colon or not name or any(c <= 32 or c > 126 for c in name):
        return "no header at the start: not an RFC 5322 message"
    return ""


def _too_large() -> str:
    return f"larger than {MAX_MESSAGE_BYTES // (1024 * 1024)} MB: not read (no bounce is that big)"
