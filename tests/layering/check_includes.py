#!/usr/bin/env python3
"""The layering rules of the source tree, checked on every #include line.

config/ is the bottom layer; weights/ builds on it; proxy/ is five folders layered among themselves
(http and net at the bottom, dataplane and kube above them, control on top); ctl/ stands apart.
Nothing includes upward. Exit status 0 when every include respects the rules; 1 with one line per
violation otherwise.

    python3 tests/layering/check_includes.py [SOURCE_DIR]
"""
import pathlib
import re
import sys

# folder -> folders of ours it may include (itself always allowed)
ALLOWED = {
    "config": set(),
    "weights": {"config"},
    "proxy/http": set(),
    "proxy/net": {"config", "weights"},
    "proxy/dataplane": {"proxy/net", "proxy/http", "config", "weights"},
    "proxy/kube": {"proxy/net", "config", "weights"},
    "proxy/control": {"proxy/net", "proxy/http", "proxy/dataplane", "proxy/kube", "config", "weights"},
    "ctl": {"config", "weights"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def folder_of(path):
    """The layer a repository-relative path belongs to, or None when it is not one of ours."""
    parts = pathlib.PurePosixPath(path).parts
    if len(parts) >= 2 and parts[0] == "proxy":
        return "proxy/" + parts[1]
    if parts and parts[0] in ALLOWED:
        return parts[0]
    return None


def violations(root):
    found = []
    for layer in ALLOWED:
        for source in sorted((root / layer).glob("*.[ch]pp")):
            for target in INCLUDE.findall(source.read_text(encoding="utf-8")):
                if target.startswith("proxy/") and target.count("/") < 2:
                    found.append(f"{source.relative_to(root)}: includes {target}, outside the proxy/ folders")
                    continue
                dest = folder_of(target)
                if dest is None or dest == layer or dest in ALLOWED[layer]:
                    continue
                found.append(f"{source.relative_to(root)}: includes {target} ({layer} may not include {dest})")
    return found


def main():
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2])
    if not (root / "proxy").is_dir():
        print(f"check_includes: {root} is not the source tree", file=sys.stderr)
        return 2
    found = violations(root)
    for line in found:
        print(line)
    print(f"check_includes: {len(found)} violation(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
