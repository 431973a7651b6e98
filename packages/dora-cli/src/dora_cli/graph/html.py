"""The self-contained HTML page of ``dora graph``: inline SVG, inline CSS, no scripts.

Upstream's page loads mermaid.js from a CDN and stays blank offline. This one draws the
graph itself, so it renders anywhere, from a ``file://`` URL, with no network. The Mermaid
text is included too (collapsed) for pasting into Markdown.
"""

from __future__ import annotations

from html import escape

__all__ = ["GENERATOR", "render_html"]

#: Value of the page's ``<meta name="generator">``: marks files ``dora graph`` may replace.
GENERATOR = "dora graph"


def render_html(title: str, svg: str, mermaid: str, summary: str) -> str:
    """A complete HTML document showing ``svg`` under a heading."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{GENERATOR}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · dora graph</title>
<style>{_CSS}</style>
</head>
<body>
<header>
<h1>{escape(title)}</h1>
<p>{escape(summary)}</p>
</header>
<main>
{svg}
</main>
<details>
<summary>Mermaid source</summary>
<pre>{escape(mermaid)}</pre>
</details>
</body>
</html>
"""


_CSS = (
    "body{margin:0;padding:16px 24px;background:#fff;color:#202124;"
    "font-family:system-ui,-apple-system,'Segoe UI',sans-serif}"
    "h1{font-size:18px;margin:0 0 4px}"
    "header p{margin:0 0 12px;color:#5f6368;font-size:13px}"
    # Fit wide graphs to the window; the SVG keeps its aspect ratio through the viewBox.
    "main svg{max-width:100%;height:auto}"
    "details{margin-top:16px;font-size:13px}"
    "pre{background:#f8f9fa;padding:12px;overflow:auto}"
)
