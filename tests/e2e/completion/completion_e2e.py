#!/usr/bin/env python3
"""Shell completion end to end, against ecsh-sandbox on 127.0.0.1.

bash: the script `ecsh completion bash` prints is sourced into a real bash (--norc), and its
completion function is called with COMP_WORDS/COMP_CWORD set as bash sets them; COMPREPLY is
read back. Subcommands and options complete offline (and every option --help lists is offered);
-c/-s/-t/-n complete cluster, service, task and container names from the sandbox, with the
--profile/--region/--endpoint-url and -c/-s/-t already typed; answers come within a second, are
cached (keyed by what was typed), and when the API cannot be reached nothing is printed and the
call returns quickly. Then the same in an interactive bash in tmux (<Tab> on a real line), fish
(`complete -C`), and zsh (tmux) when they are installed; zsh and fish scripts must parse."""
import argparse
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, Tmux, wait  # noqa: E402
from sandbox_proc import ADMIN_KEY, ADMIN_SECRET, Sandbox, aws, aws_env  # noqa: E402

check = Checks()

# $1 is the line up to the cursor. COMP_WORDS is split as bash splits it by default (also at
# COMP_WORDBREAKS: ':' and '='), so the script meets what an interactive bash gives it.
BASH_DRIVER = r'''
source <(ecsh completion bash) || exit 90
COMP_LINE=$1
COMP_POINT=${#1}
COMP_WORDS=()
while read -r w; do COMP_WORDS+=("$w"); done < <(grep -oE "[^ :=]+|[:=]" <<<"$1")
[[ $1 == *[\ :=] ]] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_ecsh
printf '%s\n' "${COMPREPLY[@]}"
'''


def scenario():
    def task_def(family, containers):
        return {"family": family, "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "cpu": "256", "memory": "512",
                "containerDefinitions": [{"name": c, "image": "app:latest", "essential": c == containers[0],
                                          "command": ["sleep", "100000"]} for c in containers]}

    def service(cluster, name, family, count):
        return {"cluster": cluster, "name": name, "task_definition": family,
                "desired_count": count, "launch_type": "FARGATE", "platform_version": "1.4.0",
                "enable_execute_command": True}

    return {
        "clusters": [{"name": "prod", "capacity": {"fargate": True}},
                     {"name": "staging", "capacity": {"fargate": True}}],
        "task_definitions": [task_def("api", ["app", "log-router"]), task_def("worker", ["worker"]),
                             task_def("web", ["web"])],
        "services": [service("prod", "api", "api", 2), service("prod", "worker", "worker", 1),
                     service("staging", "web", "web", 1)],
    }


class Shells:
    def __init__(self, ecsh, work):
        self.work = work
        self.bin = os.path.join(work, "bin")
        os.makedirs(self.bin)
        os.symlink(os.path.abspath(ecsh), os.path.join(self.bin, "ecsh"))
        self.home = os.path.join(work, "home")
        os.makedirs(self.home)
        self._limit = None

    def limit(self):
        """The longest a completion that asks AWS may take: ecsh's budget (0.6 s) and 0.4 s to
        spare, on top of what a completion without any call takes here (bash, and ecsh's start,
        which a sanitized build or a loaded machine makes slower: a fixed 1 s once failed at
        1.07 s under AddressSanitizer)."""
        if self._limit is None:
            runs = sorted(self.bash(["ecsh", "ex"])[1] for _ in range(3))
            self._limit = runs[1] + 1.0
        return self._limit

    def env(self, cache="cache", credentials=True, region=True):
        env = aws_env(home=self.home)
        if not credentials:
            del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
            env["AWS_CONFIG_FILE"] = os.path.join(self.home, ".aws", "config")
            env["AWS_SHARED_CREDENTIALS_FILE"] = os.path.join(self.home, ".aws", "credentials")
        if not region:
            del env["AWS_REGION"], env["AWS_DEFAULT_REGION"]
        env["PATH"] = self.bin + os.pathsep + env.get("PATH", "/usr/bin:/bin")
        env["XDG_CACHE_HOME"] = os.path.join(self.work, cache)
        return env

    def bash(self, words, env=None):
        """COMPREPLY for the line `words` (the last one being completed), the seconds it took, and
        whatever bash printed besides."""
        start = time.monotonic()
        line = " ".join(words)
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", BASH_DRIVER, "bash", line],
                           env=env or self.env(), capture_output=True, text=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        took = time.monotonic() - start
        if p.returncode != 0:
            raise AssertionError(f"bash driver exit {p.returncode}: {p.stderr}")
        return [w for w in p.stdout.split("\n") if w], took, p.stderr


def help_options(ecsh, *sub):
    text = subprocess.run([ecsh] + list(sub) + ["--help"], capture_output=True, text=True,
                          timeout=30).stdout
    opts, subs, section = set(), [], None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            section = line[:-1]
            continue
        m = re.match(r"^  (\S+)", line)
        if m and section == "Options":
            opts.update(re.sub(r"[{=:].*$", "", o) for o in m.group(1).split(","))
        elif m and section == "Subcommands":
            subs.append(m.group(1))
    return opts, subs


def offline(sh, ecsh):
    got, _, err = sh.bash(["ecsh", ""])
    check(set(got) == {"whoami", "demo", "doctor", "enable", "exec", "forward", "cp", "run",
                        "ls", "logs", "why", "docker", "completion"},
          "`ecsh <Tab>` offers the subcommands (not the hidden __complete)", f"{got} {err}")
    got, _, _ = sh.bash(["ecsh", "ex"])
    check(got == ["exec"], "`ecsh ex<Tab>` completes exec", str(got))
    got, _, _ = sh.bash(["ecsh", "ls", ""])
    check(set(got) == {"clusters", "services", "tasks", "containers"},
          "`ecsh ls <Tab>` offers what ls lists", str(got))
    got, _, _ = sh.bash(["ecsh", "docker", ""])
    check(set(got) == {"ps", "exec"}, "`ecsh docker <Tab>` offers ps and exec", str(got))
    got, _, _ = sh.bash(["ecsh", "exec", "--via", ""])
    check(set(got) == {"auto", "ecs", "ec2"}, "`ecsh exec --via <Tab>` offers the methods", str(got))
    got, _, _ = sh.bash(["ecsh", "--output", "j"])
    check(got == ["json"], "`ecsh --output j<Tab>` completes json", str(got))
    got, _, _ = sh.bash(["ecsh", "completion", ""])
    check(set(got) == {"bash", "zsh", "fish"}, "`ecsh completion <Tab>` offers the shells", str(got))
    got, _, _ = sh.bash(["ecsh", "docker", "exec", "-"])
    check("--tty" in got and "--cluster" not in got,
          "`ecsh docker exec -<Tab>` offers docker exec's options, not exec's", str(got))
    got, _, _ = sh.bash(["ecsh", "--profile", ""], env=sh.env(credentials=False))
    check(set(got) == {"sbx"}, "`ecsh --profile <Tab>` offers the profiles of ~/.aws", str(got))

    # Every option that --help lists is offered after `-`.
    _, subs = help_options(ecsh)
    for path in [[]] + [[s] for s in subs] + [["docker", s] for s in help_options(ecsh, "docker")[1]]:
        opts, _ = help_options(ecsh, *path)
        got, _, _ = sh.bash(["ecsh"] + path + ["-"])
        missing = sorted(opts - set(got))
        check(opts and not missing,
              f"`ecsh {' '.join(path + ['-'])}<Tab>` offers every option of its --help",
              str(missing))


def live(sh, sandbox, url):
    g = ["--endpoint-url", url]
    tasks = {}
    for svc in ("api", "worker"):
        _, out, _ = aws(sandbox, "ecs", "list-tasks", "--cluster", "prod", "--service-name", svc)
        tasks[svc] = sorted(a.rsplit("/", 1)[1] for a in out["taskArns"])
    _, out, _ = aws(sandbox, "ecs", "list-tasks", "--cluster", "staging")
    tasks["web"] = sorted(a.rsplit("/", 1)[1] for a in out["taskArns"])

    cases = [
        (["exec", "-c", ""], ["prod", "staging"], "clusters after -c"),
        (["exec", "-c", "pr"], ["prod"], "a cluster from its prefix"),
        (["exec", "--cluster=st"], ["staging"], "--cluster=st<Tab> (bash splits at =)"),
        (["doctor", "-c", "prod", "-s", ""], ["api", "worker"], "the services of the -c typed"),
        (["exec", "--cluster=staging", "--service", ""], ["web"],
         "services after --cluster=staging"),
        (["exec", "-c", "prod", "-s", "api", "-t", ""], tasks["api"], "the tasks of -s api"),
        (["ls", "-c", "prod", "-t", ""], sorted(tasks["api"] + tasks["worker"]),
         "every task of the cluster without -s"),
        (["exec", "-c", "prod", "-s", "api", "-n", ""], ["app", "log-router"],
         "the containers of the service's tasks"),
        (["enable", "-c", "prod", "-s", "wor", "-n", ""], ["worker"],
         "the containers of the service a prefix names"),
        (["exec", "-c", "staging", "-t", tasks["web"][0][:6], "-n", ""], ["web"],
         "the containers of the task -t names"),
    ]
    for words, want, what in cases:
        got, took, err = sh.bash(["ecsh"] + g + words)
        check(sorted(got) == sorted(want) and not err and took < sh.limit(),
              f"`ecsh … {' '.join(words)}<Tab>`: {what} ({took:.2f} s)",
              f"got {got}, want {want}, stderr {err!r}")
    # The global options may also follow the subcommand.
    got, _, _ = sh.bash(["ecsh", "exec", "--endpoint-url", url, "-c", ""])
    check(sorted(got) == ["prod", "staging"], "--endpoint-url after the subcommand is used", str(got))

    # --profile and --region on the line are used for the lookup: here the environment has no
    # credentials and no region; the profile has the keys.
    env = sh.env(cache="cache-profile", credentials=False, region=False)
    got, _, err = sh.bash(["ecsh", "--profile", "sbx", "--region", "us-east-1"] + g +
                          ["exec", "-c", ""], env=env)
    check(sorted(got) == ["prod", "staging"] and not err,
          "--profile and --region typed on the line reach the lookup", f"{got} {err!r}")
    got, took, err = sh.bash(["ecsh", "--region", "us-east-1"] + g + ["exec", "-c", ""], env=env)
    check(got == [] and not err, "without the profile (no credentials) nothing is offered, "
          "and nothing is printed", f"{got} {err!r}")
    return tasks


def cache(sh, sandbox, url):
    g = ["--endpoint-url", url]
    cache_dir = os.path.join(sh.work, "cache", "ecsh")
    files = os.listdir(cache_dir) if os.path.isdir(cache_dir) else []
    check(files, "lookups are cached under $XDG_CACHE_HOME/ecsh", cache_dir)
    modes = {stat.S_IMODE(os.stat(os.path.join(cache_dir, f)).st_mode) for f in files}
    check(stat.S_IMODE(os.stat(cache_dir).st_mode) == 0o700 and modes == {0o600},
          "the cache is private to the user (0700 folder, 0600 files)", f"{modes}")
    rc, _, err = aws(sandbox, "ecs", "create-cluster", "--cluster-name", "zeta")
    assert rc == 0, err
    got, took, _ = sh.bash(["ecsh"] + g + ["exec", "-c", ""])
    check(sorted(got) == ["prod", "staging"] and took < sh.limit(),
          f"a second <Tab> within the freshness is answered from the cache ({took:.2f} s)", str(got))
    got, _, _ = sh.bash(["ecsh"] + g + ["exec", "-c", ""], env=sh.env(cache="cache-2"))
    check(sorted(got) == ["prod", "staging", "zeta"], "another cache (key) asks the API again",
          str(got))
    got, _, _ = sh.bash(["ecsh"] + g + ["exec", "-c", "staging", "-s", ""])
    check(got == ["web"], "the cache is keyed by the -c typed", str(got))


def failures(sh, sandbox, url):
    g = ["--endpoint-url", url]
    got, took, err = sh.bash(["ecsh"] + g + ["exec", "-c", ""], env=sh.env(cache="cache-3"))
    check(got == [] and not err and took < sh.limit(),
          f"sandbox stopped, nothing cached: no candidates, nothing printed, {took:.2f} s",
          f"{got} {err!r}")
    got, _, _ = sh.bash(["ecsh"] + g + ["exec", "-c", ""], env=sh.env(cache="cache-warm"))
    check(sorted(got) == ["prod", "staging", "zeta"],
          "sandbox stopped: a fresh cached answer still serves", str(got))
    # An endpoint that accepts connections and never answers: the deadline ends the lookup.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        hole_url = "http://127.0.0.1:%d" % hole.getsockname()[1]
        got, took, err = sh.bash(["ecsh", "--endpoint-url", hole_url, "exec", "-c", ""])
        check(got == [] and not err and took < sh.limit(),
              f"an endpoint that never answers: no candidates, nothing printed, {took:.2f} s",
              f"{got} {err!r}")
        start = time.monotonic()
        p = subprocess.run(["ecsh", "--endpoint-url", hole_url, "__complete", "services", "-c",
                            "prod"], env=sh.env(), capture_output=True, text=True, timeout=30)
        took = time.monotonic() - start
        check(p.returncode == 0 and not p.stdout and not p.stderr and took < sh.limit(),
              f"ecsh __complete itself exits 0 silently at its deadline ({took:.2f} s)",
              f"rc {p.returncode} {p.stdout!r} {p.stderr!r}")
    finally:
        hole.close()


def type_text(t, text):
    """Types text that may start with '-' (which send-keys would take for an option)."""
    t.run("send-keys", "-t", "0", "-l", "--", text)


def tmux_bash(sh, url, sandbox):
    """<Tab> on a real command line."""
    env = sh.env(cache="cache-tmux")
    env["TERM"] = "xterm-256color"
    t = Tmux(env, cols=160, rows=20)
    try:
        t.start("bash --norc --noprofile")
        t.keys("PS1='$ '; source <(ecsh completion bash); clear", "Enter")
        wait(lambda: t.screen().strip() == "$", "a clean prompt", timeout=10)
        t.keys(f"ecsh --endpoint-url {url} exec -c pr", "Tab")
        t.wait_for("exec -c prod", timeout=5)
        type_text(t, "-s ")
        ok = t.wait_for("exec -c prod -s", timeout=5)
        check(ok, "bash in tmux: `exec -c pr<Tab>` becomes `exec -c prod `", t.screen())
        t.keys("Tab", "Tab")
        ok = t.wait_for("worker", timeout=5)
        screen = t.screen()
        check(ok and "api" in screen, "bash in tmux: <Tab><Tab> after -s lists api and worker",
              screen)
        t.keys("C-c")
        t.keys("clear", "Enter")
        return t
    except Exception:
        t.kill()
        raise


def tmux_bash_after_stop(t, url):
    t.keys("export XDG_CACHE_HOME=$XDG_CACHE_HOME-after; clear", "Enter")
    wait(lambda: t.screen().strip() == "$", "a clean prompt", timeout=10)
    line = f"$ ecsh --endpoint-url {url} exec -c "
    t.keys(line[2:], "Tab", "Tab")
    time.sleep(1.5)
    screen = t.screen().rstrip()
    check(screen == line.rstrip(), "bash in tmux, API unreachable: <Tab><Tab> leaves the line "
          "as it was, with no message", repr(screen))
    t.keys("C-c")


def fish(sh, url):
    if not shutil.which("fish"):
        print("skip fish: not installed")
        return
    script = subprocess.run(["ecsh", "completion", "fish"], env=sh.env(), capture_output=True,
                            text=True, timeout=30).stdout
    p = subprocess.run(["fish", "--no-config", "-n"], input=script, text=True, capture_output=True,
                       timeout=30)
    check(p.returncode == 0, "the fish script parses (fish -n)", p.stderr)

    def complete(line):
        p = subprocess.run(["fish", "--no-config", "-c",
                            "ecsh completion fish | source; complete -C $argv[1]", line],
                           env=sh.env(cache="cache-fish"), capture_output=True, text=True,
                           timeout=30)
        return sorted(l.split("\t")[0] for l in p.stdout.splitlines()), p.stderr

    got, err = complete("ecsh ")
    check({"exec", "doctor", "ls", "completion"} <= set(got) and "__complete" not in got,
          "fish: `ecsh <Tab>` offers the subcommands", f"{got} {err}")
    got, err = complete(f"ecsh --endpoint-url {url} exec -c ")
    check(got == ["prod", "staging", "zeta"] and not err,
          "fish: `exec -c <Tab>` offers the clusters",
          f"{got} {err}")
    got, err = complete(f"ecsh --endpoint-url {url} exec -c prod -s api -n ")
    check(got == ["app", "log-router"], "fish: `-n <Tab>` offers the containers of -c/-s",
          f"{got} {err}")
    got, err = complete("ecsh docker exec --")
    check("--tty" in got and "--cluster" not in got,
          "fish: `ecsh docker exec --<Tab>` offers docker exec's options", str(got))


def zsh(sh, url):
    if not shutil.which("zsh"):
        print("skip zsh: not installed")
        return
    script = subprocess.run(["ecsh", "completion", "zsh"], env=sh.env(), capture_output=True,
                            text=True, timeout=30).stdout
    p = subprocess.run(["zsh", "-n"], input=script, text=True, capture_output=True, timeout=30)
    check(p.returncode == 0, "the zsh script parses (zsh -n)", p.stderr)
    env = sh.env(cache="cache-zsh")
    env["TERM"] = "xterm-256color"
    env["ZDOTDIR"] = sh.home
    t = Tmux(env, cols=160, rows=20)
    try:
        t.start("zsh -f")
        t.keys("PS1='%% '; autoload -Uz compinit && compinit -u && "
               "source <(ecsh completion zsh); clear", "Enter")
        wait(lambda: t.screen().strip() == "%", "a clean zsh prompt", timeout=10)
        t.keys(f"ecsh --endpoint-url {url} exec -c st", "Tab")
        t.wait_for("exec -c staging", timeout=5)
        type_text(t, "-s")
        check(t.wait_for("exec -c staging -s", timeout=5),
              "zsh in tmux: `exec -c st<Tab>` becomes `exec -c staging `", t.screen())
        t.keys(" ", "Tab")
        t.wait_for("-s web", timeout=5)
        t.keys("X")
        check(t.wait_for("-s web X", timeout=5),
              "zsh in tmux: `-s <Tab>` completes the only service of staging", t.screen())
        t.keys("C-c")
        t.keys("ecsh lo", "Tab")
        t.wait_for("ecsh logs", timeout=5)
        t.keys("X")
        check(t.wait_for("ecsh logs X", timeout=5), "zsh in tmux: `ecsh lo<Tab>` completes logs",
              t.screen())
        t.keys("C-c")
    finally:
        t.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()

    work = tempfile.mkdtemp(prefix="ecsh-completion-test-")
    sandbox = Sandbox(opts.sandbox, scenario())
    t = None
    try:
        sh = Shells(opts.ecsh, work)
        os.makedirs(os.path.join(sh.home, ".aws"))
        with open(os.path.join(sh.home, ".aws", "credentials"), "w") as f:
            f.write(f"[sbx]\naws_access_key_id = {ADMIN_KEY}\n"
                    f"aws_secret_access_key = {ADMIN_SECRET}\n")
        with open(os.path.join(sh.home, ".aws", "config"), "w") as f:
            f.write("[profile sbx]\noutput = json\n[sso-session corp]\nsso_region = us-east-1\n")
        offline(sh, opts.ecsh)

        sandbox.start()
        url = sandbox.url

        def running():
            n = 0
            for cluster in ("prod", "staging"):
                rc, out, _ = aws(sandbox, "ecs", "list-tasks", "--cluster", cluster)
                n += len(out["taskArns"]) if rc == 0 else 0
            return n == 4
        wait(running, "the four service tasks", timeout=60)

        live(sh, sandbox, url)
        cache(sh, sandbox, url)
        fish(sh, url)
        zsh(sh, url)
        if shutil.which("tmux"):
            t = tmux_bash(sh, url, sandbox)
        # A cached answer from just before the sandbox stops.
        sh.bash(["ecsh", "--endpoint-url", url, "exec", "-c", ""], env=sh.env(cache="cache-warm"))
        sandbox.stop()
        failures(sh, sandbox, url)
        if t:
            tmux_bash_after_stop(t, url)
    finally:
        if t:
            t.kill()
        sandbox.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    return check.exit_code()


if __name__ == "__main__":
    sys.exit(main())
