"""The ``letter`` channel: formal notices to print and post, one text file each in ``letters/``.

``[billing] letters_folder`` (relative to crm.toml) moves the folder. A repeat (at-least-once
delivery) overwrites the same file, named by the message's stable identity.
"""

from __future__ import annotations

import hashlib
import os


class LetterSender:
    def __init__(self, app):
        self.folder = app.config.folder / app.config.section("billing").get("letters_folder", "letters")
        self.folder.mkdir(parents=True, exist_ok=True)

    def send(self, message) -> None:
        name = hashlib.sha256(message.message_id.encode()).hexdigest()[:16]
        target = self.folder / f"{message.id:08d}-{name}.txt"
        tmp = target.with_suffix(".tmp")
        tmp.write_text(f"{', '.join(message.recipients)}\n\n{message.subject}\n\n{message.text}", encoding="utf-8")
        os.replace(tmp, target)

    def close(self) -> None:  # nothing held open between messages
        pass


def letter_channel():
    from core.channels import Channel

    return Channel(name="letter", open=LetterSender)
