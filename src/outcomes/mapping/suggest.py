"""Placeholder replaced below."""

from __future__ import annotations


def suggest_mapping(path, *, source=None):  # noqa: ANN001, ANN201
    raise NotImplementedError
