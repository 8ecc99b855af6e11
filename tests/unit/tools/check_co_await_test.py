#!/usr/bin/env python3
"""tools/check_co_await.py finds each kind of violation of docs/CODING.md's coroutine rules
(planted in a scratch file), leaves correct code alone, and passes on the repository's sources."""
import os
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CHECK = os.path.join(ROOT, "tools", "check_co_await.py")

VIOLATIONS = {
    "condition": "  if (!co_await t->send(type, bytes)) co_return;",
    "while condition": "  while (co_await reader.more()) {}",
    "gtest macro": "  EXPECT_TRUE(co_await ws.write(true, hello));",
    "braced temporary": "  auto r = co_await connect(ex, url, Options{});",
    "empty braces": "  auto r = co_await connect(ex, url, {});",
    "concatenation": '  co_await refuse("Channel " + id + ": invalid token.");',
    "literal to a std::string parameter": '  auto s = co_await describe_services(client, "demo", names);',
    "explicit std::string": '  co_await h(std::string("x"));',
    "conditional with a call": "  co_return co_await copy_tar(files, is_dir ? dst : parent_of(dst));",
}
CLEAN = [
    "  auto sent = co_await t->send(type, bytes);",
    "  auto r = co_await run(words, in >= 0 ? in : fallback, out, err);",
    "  if (!sent) co_return;",
    '  auto r = co_await client.json_call(aws::services::ecs(), "ListClusters", req);',
    '  std::string why = "Channel " + id;',
    "  co_await refuse(why);",
    "  // if (!co_await f()) in a comment is not code",
    '  log::debug("if (co_await x) in a string is not code");',
    '  co_await h(std::string("x"));  // co_await-ok: h takes it by const reference and copies it',
]


def run(lines):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write("Awaitable<void> f() {\n" + "\n".join(lines) + "\n}\n")
        path = f.name
    try:
        p = subprocess.run([sys.executable, CHECK, path], capture_output=True, text=True)
        return p.returncode, p.stdout
    finally:
        os.unlink(path)


def main():
    failures = 0
    for name, line in VIOLATIONS.items():
        rc, out = run([line])
        if rc != 1 or ":2:" not in out:
            print(f"FAIL {name}: not reported (rc {rc}): {line.strip()}\n{out}")
            failures += 1
        else:
            print(f"ok   {name}: {out.strip()}")
    rc, out = run(CLEAN)
    if rc != 0:
        print(f"FAIL correct code reported:\n{out}")
        failures += 1
    else:
        print("ok   correct code passes")
    sources = subprocess.run(["git", "-C", ROOT, "ls-files", "*.cpp", "*.hpp"],
                             capture_output=True, text=True)
    if sources.returncode == 0 and sources.stdout.strip():
        files = [os.path.join(ROOT, f) for f in sources.stdout.split()]
        p = subprocess.run([sys.executable, CHECK] + files, capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL the repository breaks the rules:\n{p.stdout}")
            failures += 1
        else:
            print(f"ok   the repository's {len(files)} sources pass")
    checks = len(VIOLATIONS) + 2
    print(f"{checks - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
