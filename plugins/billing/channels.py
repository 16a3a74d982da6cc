"""The ``letter`` channel: formal notices to print and post, written to ``letters/``.

Each message gives ``<id>-<hash>.pdf``, the letter laid out from the message's HTML (the level's
``<template>.html``: ``billing/formal_notice.html`` for the formal notice, an A4 letter) followed
by the pages of its PDF attachments (the copies of the invoices it claims), and
``<id>-<hash>.txt``, the same letter as text with the postal address on top (for a mail-merge
tool). ``[billing] letters_folder`` (relative to crm.toml) moves the folder. The name is the
message's stable identity, so a repeat (at-least-once delivery) overwrites the same files.
"""

from __future__ import annotations

import hashlib


class LetterSender:
    def __init__(self, app):
        self.app = app
        from core.files import private_folder

        self.folder = private_folder(app.config.folder / app.config.section("billing").get("letters_folder", "letters"))

    def send(self, message) -> None:
        name = hashlib.sha256(message.message_id.encode()).hexdigest()[:16]
        stem = self.folder / f"{message.id:08d}-{name}"
        if message.html:  # the PDF first: a .txt present means the letter is complete
            from core.documents import html_to_pdf

            letter = html_to_pdf(message.html, app=self.app)
            enclosed = [a.content for a in message.attachments if a.content_type == "application/pdf"]
            _replace(stem.with_suffix(".pdf"), bind_pdfs([letter, *enclosed]) if enclosed else letter)
        text = f"{', '.join(message.recipients)}\n\n{message.subject}\n\n{message.text}"
        _replace(stem.with_suffix(".txt"), text.encode("utf-8"))

    def close(self) -> None:  # nothing held open between messages
        pass


def bind_pdfs(pdfs: list[bytes]) -> bytes:
    """One PDF of the pages of ``pdfs``, in order: the letter, then what it encloses."""
    import io

    from pypdf import PdfWriter

    writer, out = PdfWriter(), io.BytesIO()
    for content in pdfs:
        writer.append(io.BytesIO(content))
    writer.write(out)
    return out.getvalue()


def _replace(target, content: bytes) -> None:
    """Write ``content`` to ``target`` under a temporary name, then rename: a reader never sees half a file."""
    from core.files import write_private

    write_private(target, content)


def letter_channel():
    from core.channels import Channel

    return Channel(name="letter", open=LetterSender, summary="letters to print and post (PDF and text) in letters/")
