#!/usr/bin/env python3
"""Fails when C++ code breaks docs/CODING.md's rules for g++ 12 coroutines, which it miscompiles:

1. `co_await` inside the condition of an if/while/for/switch
   (`if (!co_await f())` crashed a session: await into a named local first);
2. a temporary argument in a co_await'ed call: a braced initialiser (`{}`, `Options{…}`), a
   string built with `+` (`refuse("Channel " + id)`), or a string literal (a std::string
   temporary when the parameter is a std::string). Name the argument in a local first. Literals
   are fine for the coroutines in STRING_VIEW_CALLEES, whose name parameters are
   std::string_view (a trivial temporary): add a callee there only after checking that.

A line that is known to be safe can say so with a trailing `// co_await-ok: <why>`.

    tools/check_co_await.py FILE...      exit 1 and one line per violation, 0 when clean
"""
import re
import sys

IDENT = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")

# Coroutines whose every string parameter is a std::string_view or const char*.
STRING_VIEW_CALLEES = {"json_call", "query_call", "json_paginate", "query_paginate"}


def blank_comments_and_strings(text):
    """Comments become spaces; string and char literals become "S" / 'C' of the same length
    (newlines kept), so that offsets and line numbers survive."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "R" and text.startswith('R"', i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(\s]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            out.append('"' + re.sub(r"[^\n]", "S", text[i + 1:end - 1]) + '"')
            i = end
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            fill = "S" if c == '"' else "C"
            out.append(c + fill * max(0, j - i - 2) + (c if j - i >= 2 else ""))
            i = j
        else:
            out.append(c)
            i += 1
    return "".join(out)


def matching(text, i, open_c, close_c):
    """Index of the bracket closing the one at text[i], or -1."""
    depth = 0
    for j in range(i, len(text)):
        if text[j] == open_c:
            depth += 1
        elif text[j] == close_c:
            depth -= 1
            if depth == 0:
                return j
    return -1


def split_top_level(args):
    """(start, end) offsets of each top-level argument in `args`."""
    parts, depth, start = [], 0, 0
    for j, c in enumerate(args):
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif c == "," and depth == 0:
            parts.append((start, j))
            start = j + 1
    parts.append((start, len(args)))
    return parts


def awaited_call_args(code, k):
    """The argument list of the call awaited by the co_await at k: the last (…) of the postfix
    expression `name(::name|.name|->name|<…>|(…))*`, or None."""
    i = k + len("co_await")
    n = len(code)
    last_args = None
    callee = None
    while i < n:
        while i < n and code[i] in " \t\n":
            i += 1
        m = IDENT.match(code, i)
        if m:
            callee = m.group(0)
            i = m.end()
            continue
        if code.startswith("::", i) or code.startswith("->", i):
            i += 2
            continue
        if i < n and code[i] == ".":
            i += 1
            continue
        if i < n and code[i] == "(":
            j = matching(code, i, "(", ")")
            if j < 0:
                return None
            last_args = (i + 1, j, callee)
            i = j + 1
            continue
        if i < n and code[i] == "<" and last_args is None:
            # template arguments of the callee: skip balanced <…>
            j = matching(code, i, "<", ">")
            if j < 0:
                return last_args
            i = j + 1
            continue
        break
    return last_args


def condition_spans(code):
    """Conditions, and the arguments of GoogleTest's EXPECT_/ASSERT_ macros (they expand to one)."""
    spans = []
    for m in re.finditer(r"\b(if|while|for|switch|(?:EXPECT|ASSERT)_[A-Z_]+)\s*(constexpr\s*)?\(", code):
        start = m.end() - 1
        end = matching(code, start, "(", ")")
        if end > 0:
            spans.append((start, end))
    return spans


def check(path):
    raw = open(path, encoding="utf-8").read()
    code = blank_comments_and_strings(raw)
    lines = raw.split("\n")
    problems = []
    conditions = condition_spans(code)

    def report(offset, what):
        line_no = code.count("\n", 0, offset) + 1
        if "co_await-ok:" in lines[line_no - 1]:
            return
        problems.append(f"{path}:{line_no}: {what} (docs/CODING.md: g++ 12 miscompiles it)")

    for m in re.finditer(r"\bco_await\b", code):
        k = m.start()
        if any(s < k < e for s, e in conditions):
            report(k, "co_await inside a condition; await into a named local first")
            continue
        span = awaited_call_args(code, k)
        if not span:
            continue
        args = code[span[0]:span[1]]
        for a_start, a_end in split_top_level(args):
            stripped = args[a_start:a_end].strip()
            if not stripped:
                continue
            shown = " ".join(raw[span[0] + a_start:span[0] + a_end].split())[:60]
            top = strip_nested(stripped)
            if "{" in stripped:
                what = "braced temporary"
            elif re.search(r"(?<![+\-])\+(?![+=])", top):
                what = "temporary string"
            elif re.match(r"std::(string|vector|map|set|optional|function)\b", stripped):
                what = "temporary"
            elif '"' in top and span[2] not in STRING_VIEW_CALLEES:
                what = "string literal"
            elif "?" in top and "(" in stripped:
                # `a ? b : f(x)`: the conditional is a prvalue, a temporary when it is a class.
                what = "conditional (a temporary)"
            else:
                continue
            report(span[0] + a_start,
                   f"{what} argument `{shown}` in a co_await'ed call; name it in a local first")
    return problems


def strip_nested(arg):
    """The argument with the contents of nested brackets removed (so `f(a + b)` is not `+`)."""
    out, depth = [], 0
    for c in arg:
        if c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:
            out.append(c)
    return "".join(out)


def main(paths):
    problems = []
    for p in paths:
        if p.endswith((".cpp", ".hpp", ".h", ".cc")):
            problems += check(p)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
