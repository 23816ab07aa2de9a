"""Readable source names, shared by the overlay, the history and the exports."""

from __future__ import annotations

import pytest

from whisper_desktop.source_names import MAX_LABEL_CHARS, distinct_labels, source_label


@pytest.mark.parametrize(
    ("client_id", "label"),
    [
        ("user", "You"),
        ("system", "System"),
        ("browser-e89gd", "Browser"),
        ("phone-2", "Phone 2"),
        ("phone_1", "Phone 1"),
        ("laptop", "Laptop"),
        ("myPhone", "My phone"),
        ("client-3f2a9c1e", "Client"),
        ("a1b2c3", "Remote"),
        ("Küche-7", "Küche 7"),
        ("the-meeting-room-projector", "The meeting…"),
    ],
)
def test_source_label(client_id: str, label: str) -> None:
    assert source_label(client_id) == label
    assert len(source_label(client_id)) <= MAX_LABEL_CHARS


def test_labels_shown_together_are_distinct() -> None:
    labels = distinct_labels(["user", "browser-e89gd", "browser-x71kq", "browser-aa11"])
    assert list(labels.values()) == ["You", "Browser", "Browser 2", "Browser 3"]
