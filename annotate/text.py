"""Researcher-written markdown, made safe to show: rendered by Python-Markdown, then cleaned by
nh3 (a maintained HTML sanitiser) so that no script, handler or javascript: link survives."""

from __future__ import annotations

import markdown
import nh3
from django.utils.safestring import SafeString, mark_safe

# No images: an <img> in guidelines would make every annotator's browser fetch an outside URL.
GUIDELINE_TAGS = nh3.ALLOWED_TAGS - {"img"}


def markdown_safe(text: str) -> SafeString:
    html = markdown.markdown(text, extensions=["extra", "sane_lists"])
    cleaned = nh3.clean(html, tags=GUIDELINE_TAGS, link_rel="noopener noreferrer nofollow")
    return mark_safe(cleaned)
