#!/usr/bin/env python3
"""Debian's apt sources as this machine has them configured, for images built here.

Nothing in the repository names a mirror: the build reads the host's /etc/apt/sources.list and
/etc/apt/sources.list.d/* (one-line and deb822 formats) at run time and keeps only Debian's own
entries for one release (``bookworm``, ``bookworm-updates``, ``bookworm-security``): entries signed by
another keyring (third-party repositories) are dropped.

  apt_sources.py mirror bookworm     -> the URI serving ``bookworm main`` (for debootstrap)
  apt_sources.py sources bookworm    -> a one-line sources.list for the image
"""

from __future__ import annotations

import glob
import sys
from pathlib import Path

Entry = tuple[str, str, tuple[str, ...], str]  # uri, suite, components, signed-by


def _deb822(text: str) -> list[Entry]:
    out: list[Entry] = []
    for stanza in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line or line[:1].isspace():
                continue
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        for uri in fields.get("uris", "").split():
            for suite in fields.get("suites", "").split():
                out.append((uri, suite, tuple(fields.get("components", "").split()), fields.get("signed-by", "")))
    return out


def _one_line(text: str) -> list[Entry]:
    out: list[Entry] = []
    for raw in text.splitlines():
        words = raw.split("#", 1)[0].split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        signed = ""
        if words and words[0].startswith("["):
            opts = []
            while words:
                opts.append(words.pop(0))
                if opts[-1].endswith("]"):
                    break
            signed = " ".join(o for o in " ".join(opts).strip("[]").split() if o.startswith("signed-by="))
        if len(words) >= 2:
            out.append((words[0], words[1], tuple(words[2:]), signed))
    return out


def entries(release: str) -> list[Entry]:
    found: list[Entry] = []
    for name in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*"))]:
        path = Path(name)
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        found += _deb822(text) if name.endswith(".sources") else _one_line(text)
    return [
        e
        for e in found
        if e[1] in (release, f"{release}-updates", f"{release}-security", f"{release}/updates")
        and "main" in e[2]
        and (not e[3] or "debian-archive" in e[3])
    ]


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[1] not in ("mirror", "sources"):
        print(__doc__, file=sys.stderr)
        return 2
    release = argv[2]
    found = entries(release)
    if argv[1] == "mirror":
        main_uris = [e[0] for e in found if e[1] == release]
        if not main_uris:
            print(f"no Debian '{release} main' entry in /etc/apt/sources.list*", file=sys.stderr)
            return 1
        print(main_uris[0])
    else:
        seen = set()
        for uri, suite, _, _ in found:
            if (uri, suite) not in seen:
                seen.add((uri, suite))
                print(f"deb {uri} {suite} main")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
