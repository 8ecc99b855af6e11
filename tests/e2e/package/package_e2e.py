#!/usr/bin/env python3
"""The Debian package end to end: CPack builds ecsh_<version>_<arch>.deb from the build folder;
it holds what it should (binaries, man pages, completions, the opt-in plugin link, and nothing
named session-manager-plugin on PATH); its Depends, computed by dpkg-shlibdeps, are real (it does
not install without them); it installs with `dpkg --root` into a scratch root whose dpkg
database holds only those dependencies (copied from this system's); `ecsh --version` and
`ecsh demo` run from the installed files (the demo starts the ecsh-sandbox installed next to
ecsh); the man pages document every subcommand and option that --help lists; and `dpkg -r`
removes every file it installed. The real system's root and dpkg database are never touched."""
import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks  # noqa: E402

check = Checks()
ADMIN = "var/lib/dpkg"
TARGET_OPTIONS = {"-c", "--cluster", "-s", "--service", "-t", "--task", "-n", "--container"}


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


def tree(root):
    """Every path under root (files, links and folders), the dpkg database and log left out."""
    out = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for name in dirs + files:
            p = os.path.normpath(os.path.join(rel, name))
            if p == "var" or p.startswith("var/") or p == "dpkg.log":
                continue
            out.add(p)
    return out


def status_stanzas(packages):
    """This system's dpkg status entries of `packages` (name or name:arch)."""
    with open("/var/lib/dpkg/status", encoding="utf-8") as f:
        stanzas = f.read().split("\n\n")
    wanted, found = set(packages), []
    for s in stanzas:
        m = re.search(r"^Package: (\S+)$", s, re.M)
        if m and m.group(1) in wanted and "Status: install ok installed" in s:
            found.append((m.group(1), s.strip() + "\n"))
    return found


def make_root(root, stanzas):
    admin = os.path.join(root, ADMIN)
    for sub in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, sub), exist_ok=True)
    with open(os.path.join(admin, "status"), "w", encoding="utf-8") as f:
        f.write("\n".join(s for _, s in stanzas))
    open(os.path.join(admin, "available"), "w").close()
    for name, s in stanzas:
        arch = re.search(r"^Architecture: (\S+)$", s, re.M).group(1)
        list_name = name if arch == "all" else f"{name}:{arch}"
        # Empty file lists: dpkg then knows the packages own nothing here (and says nothing).
        open(os.path.join(admin, "info", list_name + ".list"), "w").close()
        open(os.path.join(admin, "info", name + ".list"), "w").close()


def dpkg(root, *args):
    return run(["dpkg", "--root=" + root, "--log=" + os.path.join(root, "dpkg.log")] + list(args))


def help_options(ecsh, *sub):
    """The options and subcommands that `ecsh SUB --help` lists."""
    text = run([ecsh] + list(sub) + ["--help"]).stdout
    opts, subs, section = set(), [], None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        m = re.match(r"^  (\S+)", line)
        if not m:
            continue
        if section == "Options":
            for o in m.group(1).split(","):
                opts.add(re.sub(r"[{=:].*$", "", o))
        elif section == "Subcommands":
            subs.append(m.group(1))
    return opts, subs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--version", required=True, help="project(ecsh VERSION …)")
    opts = ap.parse_args()

    if os.geteuid() != 0:
        print("SKIP: dpkg --root needs root")
        return 77
    for tool in ("cpack", "dpkg", "dpkg-deb", "dpkg-shlibdeps", "file", "groff"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed (./dev.sh package installs what it needs)")
            return 77

    work = tempfile.mkdtemp(prefix="ecsh-package-test-")
    try:
        return test(opts, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test(opts, work):
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    out = os.path.join(work, "out")
    p = run(["cpack", "-G", "DEB", "-B", out, "--config",
             os.path.join(os.path.abspath(opts.build_dir), "CPackConfig.cmake")], timeout=600)
    deb = os.path.join(out, f"ecsh_{opts.version}_{arch}.deb")
    if not check(p.returncode == 0 and os.path.isfile(deb),
                 f"cpack makes ecsh_{opts.version}_{arch}.deb", p.stdout[-2000:] + p.stderr[-2000:]):
        return check.exit_code()
    size = os.path.getsize(deb)
    print(f"     {os.path.basename(deb)}: {size} bytes")
    check(size < 20 * 1024 * 1024, "the package is stripped (under 20 MiB)", str(size))

    # Contents.
    listing = run(["dpkg-deb", "-c", deb]).stdout
    paths = {}
    for line in listing.splitlines():
        m = re.match(r"^(\S+)\s+\S+\s+\d+\s+\S+\s+\S+\s+\./(\S+?)/?(?: -> (\S+))?$", line)
        if m:
            paths[m.group(2)] = (m.group(1), m.group(3))
    expected = {
        "usr/bin/ecsh": "-rwxr-xr-x", "usr/bin/ecsh-sandbox": "-rwxr-xr-x",
        "usr/share/man/man1/ecsh.1.gz": "-rw-r--r--",
        "usr/share/man/man1/ecsh-sandbox.1.gz": "-rw-r--r--",
        "usr/share/bash-completion/completions/ecsh": "-rw-r--r--",
        "usr/share/zsh/vendor-completions/_ecsh": "-rw-r--r--",
        "usr/share/fish/vendor_completions.d/ecsh.fish": "-rw-r--r--",
    }
    for path, mode in expected.items():
        check(paths.get(path, ("", None))[0] == mode, f"the package holds {path} ({mode})",
              listing)
    link = paths.get("usr/lib/ecsh/plugin/session-manager-plugin", ("", None))
    check(link[0].startswith("l") and link[1] == "../../../bin/ecsh",
          "the plugin drop-in is the link /usr/lib/ecsh/plugin/session-manager-plugin -> "
          "/usr/bin/ecsh", listing)
    on_path = [p for p in paths if os.path.basename(p) == "session-manager-plugin"
               and re.match(r"^(usr/(local/)?)?s?bin/", p)]
    check(not on_path, "nothing named session-manager-plugin lands on PATH (the official "
          "plugin is not clobbered)", str(on_path))
    check(all(p.startswith("usr/") or p == "usr" for p in paths),
          "every file is under /usr", str(sorted(paths)))

    # Control: version, and Depends from dpkg-shlibdeps.
    fields = run(["dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends"]).stdout
    check(re.search(rf"^Version: {re.escape(opts.version)}$", fields, re.M) is not None
          and re.search(rf"^Architecture: {arch}$", fields, re.M) is not None,
          "the control file has the project's version and this architecture", fields)
    depends_line = re.search(r"^Depends: (.*)$", fields, re.M)
    depends = [d.strip().split()[0] for d in depends_line.group(1).split(",")] if depends_line else []
    check({"libc6", "libssl3", "libstdc++6"} <= set(depends),
          "Depends is computed from the binaries' libraries (libc6, libssl3, libstdc++6)", fields)

    # Without its dependencies in the database, dpkg refuses it: Depends is real.
    bare = os.path.join(work, "bare")
    make_root(bare, [])
    p = dpkg(bare, "-i", deb)
    check(p.returncode != 0 and "dependency problems" in p.stderr + p.stdout,
          "dpkg refuses the package where its dependencies are not installed",
          p.stdout + p.stderr)

    # A scratch root whose database holds exactly the dependencies, as this system has them.
    root = os.path.join(work, "root")
    stanzas = status_stanzas(depends)
    check(len({n for n, _ in stanzas}) == len(depends),
          "this system has every dependency installed", f"{depends} vs {[n for n, _ in stanzas]}")
    make_root(root, stanzas)
    before = tree(root)
    p = dpkg(root, "-i", deb)
    if not check(p.returncode == 0, "dpkg -i installs the package into the scratch root",
                 p.stdout + p.stderr):
        return check.exit_code()
    check("warning" not in p.stderr, "dpkg -i prints no warning", p.stderr)
    installed = tree(root) - before
    listed = {os.path.normpath(x.lstrip("/")) for x in dpkg(root, "-L", "ecsh").stdout.split()}
    check(installed and installed <= listed,
          "dpkg's file list accounts for every path the install created",
          f"not listed: {sorted(installed - listed)}")
    status = dpkg(root, "-s", "ecsh").stdout
    check("Status: install ok installed" in status, "dpkg records ecsh as installed", status)

    ecsh = os.path.join(root, "usr/bin/ecsh")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "ECSH_SANDBOX"}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["HOME"] = os.path.join(work, "home")
    os.makedirs(env["HOME"])
    p = run([ecsh, "--version"], env=env)
    check(p.returncode == 0 and p.stdout.strip() == f"ecsh {opts.version}",
          "the installed ecsh --version prints the package's version", p.stdout + p.stderr)

    # The demo: the installed ecsh starts the installed ecsh-sandbox, on 127.0.0.1.
    p = run([ecsh, "demo", "--no-pacing"], env=env, timeout=180)
    out_text = p.stdout + p.stderr
    check(p.returncode == 0 and "(exit status 0)" in out_text and "Done." in out_text
          and "http://127.0.0.1:" in out_text,
          "the installed ecsh demo runs the runbook against the installed sandbox, exit 0",
          out_text[-3000:])

    # The plugin link runs ecsh in plugin mode.
    plugin = os.path.join(root, "usr/lib/ecsh/plugin/session-manager-plugin")
    check(os.path.realpath(plugin) == os.path.realpath(ecsh),
          "the plugin link resolves to the installed ecsh", os.path.realpath(plugin))
    p = run([plugin], env=env)
    check(p.returncode == 0 and "Session Manager plugin was installed successfully" in p.stdout,
          "run by the link's name, ecsh answers as the session-manager-plugin does",
          p.stdout + p.stderr)

    # Completions: the installed files are what `ecsh completion SHELL` prints.
    for shell, path in (("bash", "usr/share/bash-completion/completions/ecsh"),
                        ("zsh", "usr/share/zsh/vendor-completions/_ecsh"),
                        ("fish", "usr/share/fish/vendor_completions.d/ecsh.fish")):
        printed = subprocess.run([ecsh, "completion", shell], capture_output=True, timeout=30).stdout
        with open(os.path.join(root, path), "rb") as f:
            check(f.read() == printed and len(printed) > 1000,
                  f"the installed {shell} completion is what `ecsh completion {shell}` prints")
    p = run(["bash", "-n", os.path.join(root, "usr/share/bash-completion/completions/ecsh")])
    check(p.returncode == 0, "the installed bash completion parses", p.stderr)

    # Man pages: valid roff, and every subcommand and option of --help documented.
    for page in ("ecsh", "ecsh-sandbox"):
        with gzip.open(os.path.join(root, f"usr/share/man/man1/{page}.1.gz"), "rt") as f:
            roff = f.read()
        check(f'"ecsh {opts.version}"' in roff, f"{page}(1) carries the version {opts.version}")
        p = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=roff, text=True,
                           capture_output=True, timeout=60)
        check(p.returncode == 0 and not p.stderr.strip(), f"{page}(1) renders without warnings",
              p.stderr)
        p = subprocess.run(["groff", "-man", "-Tutf8", "-P", "-cbou"], input=roff, text=True,
                           capture_output=True, timeout=60)
        rendered = p.stdout
        if page == "ecsh-sandbox":
            sb_opts, _ = help_options(os.path.join(root, "usr/bin/ecsh-sandbox"))
            missing = sorted(o for o in sb_opts if o not in rendered)
            check(sb_opts and not missing, "ecsh-sandbox(1) documents every option of --help",
                  str(missing))
            continue
        top_opts, subs = help_options(ecsh)
        missing = sorted(o for o in top_opts if o not in rendered)
        check(top_opts and not missing, "ecsh(1) documents every global option", str(missing))
        # Each subcommand has its subsection ("   ecsh exec …", indented 3) naming its options
        # (-h/--help is documented once, with the global options).
        for sub in subs:
            _, sub_subs = help_options(ecsh, sub)
            for chain in [[sub]] + [[sub, s] for s in sub_subs]:
                o, _ = help_options(ecsh, *chain)
                o -= {"-h", "--help"}
                name = "ecsh " + " ".join(chain)
                # groff may justify a heading that wraps: any run of spaces between the words.
                words = r" +".join(re.escape(w) for w in name.split())
                section = re.search(rf"^ {{3}}{words}\b.*?(?=^ {{3}}ecsh |^[A-Z])",
                                    rendered, re.M | re.S)
                # A subsection whose synopsis says [target] has the options of TARGET
                # SELECTION (checked below).
                if section is not None and "[target]" in section.group(0).split("\n")[0]:
                    o -= TARGET_OPTIONS
                missing = sorted(x for x in o if section is None or x not in section.group(0))
                check(section is not None and not missing,
                      f"ecsh(1) has a section for `{name}` with all its options", str(missing))
        target = re.search(r"^TARGET SELECTION$.*?(?=^[A-Z])", rendered, re.M | re.S)
        missing = sorted(x for x in TARGET_OPTIONS if target is None or x not in target.group(0))
        check(target is not None and not missing,
              "ecsh(1) documents -c/-s/-t/-n in TARGET SELECTION", str(missing))
        for word in ("252", "253", "254", "255", "AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL",
                     "NO_COLOR", "EXAMPLES", "/usr/lib/ecsh/plugin"):
            check(word in rendered, f"ecsh(1) mentions {word}")

    # Removal: every installed path goes, nothing else changes.
    p = dpkg(root, "-r", "ecsh")
    check(p.returncode == 0, "dpkg -r removes the package", p.stdout + p.stderr)
    after = tree(root)
    check(after == before, "after dpkg -r the scratch root is as it was before the install",
          f"left: {sorted(after - before)}; gone: {sorted(before - after)}")
    status = dpkg(root, "-s", "ecsh")
    check("install ok installed" not in status.stdout, "dpkg no longer lists ecsh as installed",
          status.stdout)
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
