#!/usr/bin/env python3
"""The shape of the workspace's code (`make lint` runs it): import cycles, module headers, size.

Every Rust file opens with a `//!` line saying its job, and one of more than MAX_LINES lines
says why in a `//! Over 600 lines…` line of that header (or is split).

Import cycles between modules of the workspace's crates:

A module may use its ancestors (a child reading `super::Screen` is the usual Rust shape) and
anything below it, but no two modules may depend on each other, directly or round a loop. The
rule holds at every level: files, and the children of every module with everything below each
child folded into it (so `cli -> server -> console -> cli` counts even when different files of
`console` make the two edges). Edges come from `use` trees and from inline `crate::…` /
`super::…` / `self::…` paths; `mod x;` declarations are not edges. Exit 1 with the cycles found.

Usage: scripts/check_structure.py [REPO_DIR]
"""

import os
import re
import sys

CRATE_ROOTS = ["src", "protocol/src", "callcentre/src", "journey/src", "common/src"]
SOURCE_DIRS = CRATE_ROOTS + ["tests", "benches", "callcentre/tests", "callcentre/benches",
                             "protocol/tests", "journey/tests", "build.rs"]
MAX_LINES = 600

# Comments, strings and char literals, left to right, so that a `"` in a char literal or a
# `//` in a string does not swallow code.
NOISE = re.compile(
    r"/\*.*?\*/"  # block comment
    r"|//[^\n]*"  # line comment
    r'|\br(#*)".*?"\1'  # raw string
    r'|b?"(?:\\.|[^"\\])*"'  # string
    r"|b?'(?:\\.|\\u\{[0-9a-fA-F]+\}|[^'\\\n])'",  # char literal (not a lifetime)
    re.S,
)
USE_STMT = re.compile(r"\buse\s+((?:crate|super|self)\b[^;]*);", re.S)
INLINE_PATH = re.compile(r"\b((?:crate|super|self)(?:::[A-Za-z_][A-Za-z0-9_]*)+)")


def module_files(root):
    """Maps module paths (tuples) to files for one crate root."""
    mods = {}
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)[:-3].split(os.sep)
            if rel in (["lib"],):
                mods[()] = path
                continue
            if rel == ["main"] or rel[0] == "bin":
                continue  # separate binary crates: thin, not part of the library's graph
            if rel[-1] == "mod":
                rel = rel[:-1]
            mods[tuple(rel)] = path
    return mods


def strip(text):
    return NOISE.sub(" ", text)


def expand_use_tree(tree):
    """`crate::{a, b::{self, C}}` -> [[crate, a], [crate, b], [crate, b, C]]."""
    tree = re.sub(r"\s+as\s+[A-Za-z_][A-Za-z0-9_]*", "", tree)
    tree = re.sub(r"\s+", "", tree)
    out = []

    def walk(prefix, s):
        # split s at top-level commas
        depth, start, parts = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                parts.append(s[start:i])
                start = i + 1
        parts.append(s[start:])
        for part in parts:
            if not part:
                continue
            if "{" in part:
                head, _, rest = part.partition("{")
                inner = rest[: rest.rfind("}")]
                segs = [x for x in head.split("::") if x]
                walk(prefix + segs, inner)
            else:
                segs = [x for x in part.split("::") if x and x != "self"]
                out.append(prefix + segs)

    walk([], tree)
    return out


def resolve(current, segs, mods):
    """The module a path names (longest known prefix), or None."""
    if not segs:
        return None
    if segs[0] == "crate":
        base, rest = (), segs[1:]
    elif segs[0] in ("super", "self"):
        base = current
        rest = segs
        while rest and rest[0] in ("super", "self"):
            if rest[0] == "super":
                base = base[:-1]
            rest = rest[1:]
    else:
        return None
    best = base if base in mods else None
    path = base
    for seg in rest:
        path = path + (seg,)
        if path in mods:
            best = path
        else:
            break
    return best


def edges_of(mods):
    edges = set()
    for mod, path in mods.items():
        with open(path, encoding="utf-8") as f:
            text = strip(f.read())
        paths = []
        for m in USE_STMT.finditer(text):
            paths.extend(expand_use_tree(m.group(1)))
        used = USE_STMT.sub(";", text)
        for m in INLINE_PATH.finditer(used):
            paths.append(m.group(1).split("::"))
        for segs in paths:
            target = resolve(mod, segs, mods)
            if target is None or target == mod or mod[: len(target)] == target:
                continue  # itself or an ancestor
            edges.add((mod, target))
    return edges


def cycles(nodes, edges):
    """Strongly connected components with more than one node (Tarjan)."""
    graph = {n: [] for n in nodes}
    for a, b in edges:
        graph.setdefault(a, []).append(b)
        graph.setdefault(b, [])
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def name(crate, mod):
    return crate + ("::" + "::".join(mod) if mod else "")


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    problems = []
    for root in CRATE_ROOTS:
        full = os.path.join(repo, root)
        if not os.path.isdir(full):
            continue
        mods = module_files(full)
        edges = edges_of(mods)
        crate = root
        # files
        for comp in cycles(mods.keys(), edges):
            problems.append((crate, comp, edges))
        # every level: children of each module, descendants folded in
        for parent in mods:
            children = {m[: len(parent) + 1] for m in mods if len(m) > len(parent) and m[: len(parent)] == parent}
            if len(children) < 2:
                continue
            folded = set()
            for a, b in edges:
                if len(a) <= len(parent) or len(b) <= len(parent):
                    continue
                if a[: len(parent)] != parent or b[: len(parent)] != parent:
                    continue
                ca, cb = a[: len(parent) + 1], b[: len(parent) + 1]
                if ca != cb:
                    folded.add((ca, cb))
            for comp in cycles(children, folded):
                problems.append((crate, comp, edges))
    seen = set()
    for crate, comp, edges in problems:
        key = (crate, tuple(comp))
        if key in seen:
            continue
        seen.add(key)
        members = set(comp)
        shown = []
        for a, b in sorted(edges):
            fa = next((m for m in members if a[: len(m)] == m), None)
            fb = next((m for m in members if b[: len(m)] == m), None)
            if fa and fb and fa != fb:
                shown.append(f"{name('', a).lstrip(':') or '(root)'} -> {name('', b).lstrip(':')}")
        print(f"{crate}: import cycle between {', '.join(name('', m).lstrip(':') for m in comp)}")
        for line in shown[:12]:
            print(f"    {line}")
    bad_headers = headers(repo)
    for line in bad_headers:
        print(line)
    if seen:
        print(f"check_structure: {len(seen)} import cycle(s); move the shared piece down into a module both can use")
    if bad_headers:
        print(f"check_structure: {len(bad_headers)} file(s) without a //! job line, or long without an `Over 600 lines` reason")
    if seen or bad_headers:
        return 1
    print("check_structure: no import cycles; every file says its job; long files say why")
    return 0


def headers(repo):
    """Files without a `//!` first line, or longer than MAX_LINES without a reason line."""
    out = []
    for top in SOURCE_DIRS:
        full = os.path.join(repo, top)
        paths = [full] if os.path.isfile(full) else [
            os.path.join(d, f) for d, _, fs in os.walk(full) for f in fs if f.endswith(".rs")
        ]
        for path in sorted(paths):
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
            rel = os.path.relpath(path, repo)
            if not lines or not lines[0].startswith("//!"):
                out.append(f"{rel}: first line is not a //! line saying the file's job")
                continue
            if len(lines) > MAX_LINES:
                header = []
                for line in lines:
                    if not line.startswith("//!"):
                        break
                    header.append(line)
                if not any(l.startswith("//! Over 600 lines") for l in header):
                    out.append(f"{rel}: {len(lines)} lines; split it, or say why in a `//! Over 600 lines: …` header line")
    return out


if __name__ == "__main__":
    sys.exit(main())
