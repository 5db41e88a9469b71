"""Researcher-written markdown, made safe to show: rendered by Python-Markdown, then cleaned by
nh3 (a maintained HTML sanitiser) so that no script, handler or javascript: link survives."""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe


def markdown_safe(text: str) -> SafeString:
    html = markdown.markdown(text, extensions=["extra", "sane_lists"])
    return mark_safe(nh3.clean(html, link_rel="noopener noreferrer nofollow"))
