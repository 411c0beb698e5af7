"""Where attachment bytes live, behind an interface small enough for object storage.

Keys are random and carry no client input, so a key can never name a path
outside the storage root, and a stored file reveals nothing about its upload.
"""
from __future__ import annotations

import os
import re
import secrets
from pathlib import Path
from typing import BinaryIO, Protocol

from flask import current_app

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{32}$")


class Storage(Protocol):
    def save(self, key: str, data: BinaryIO) -> None:
        """Store everything `data` yields under `key`; on any error leave nothing behind."""

    def open(self, key: str) -> BinaryIO:
        """A binary stream of the stored bytes; FileNotFoundError if absent."""

    def delete(self, key: str) -> None:
        """Remove the bytes of `key`; a missing key is not an error."""


def new_key() -> str:
    return secrets.token_hex(16)


class LocalStorage:
    """Files under a private directory, fanned out so no directory grows too large."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError("invalid storage key")
        return self.root / key[:2] / key[2:4] / key

    def save(self, key: str, data: BinaryIO) -> None:
        target = self.path(key)
        self._make_private_dirs(target.parent)
        # O_EXCL: a key is written once; a collision must fail, not overwrite someone's file.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                while chunk := data.read(CHUNK_BYTES):
                    handle.write(chunk)
        except BaseException:
            # The reader may stop us midway (too large, wrong type): drop the partial file.
            target.unlink(missing_ok=True)
            raise

    def open(self, key: str) -> BinaryIO:
        # Not a context manager: the caller streams the file out and closes it.
        return open(self.path(key), "rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def _make_private_dirs(self, leaf: Path) -> None:
        # mkdir(parents=True) gives parents the umask's mode, so the fan-out levels are
        # made one by one; the root's own parents are the operator's business.
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (leaf.parent, leaf):
            directory.mkdir(mode=0o700, exist_ok=True)


def get_storage() -> Storage:
    """The storage configured for this app (UPLOAD_DIR, default instance/uploads)."""
    return LocalStorage(current_app.config["SETTINGS"].upload_dir)
