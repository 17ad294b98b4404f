"""MkDocs hook: publish files from outside docs/ that the README links to (the benchmark chart).

The README is included in the site as-is, so its links are relative to the repository
root; this adds those files to the build at the same relative paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

REPO_FILES = ("benchmarks/results/fanout.png",)


def on_files(files: Files, config: Any) -> Files:
    """Add the repository files the README links to."""
    root = Path(config.config_file_path).parent
    for path in REPO_FILES:
        if (root / path).is_file():
            files.append(
                File(
                    path,
                    src_dir=str(root),
                    dest_dir=config.site_dir,
                    use_directory_urls=config.use_directory_urls,
                )
            )
    return files
