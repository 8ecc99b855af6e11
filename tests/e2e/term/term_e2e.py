#!/usr/bin/env python3
"""The terminal layer in a real terminal (tmux): raw mode is entered and undone on every way out
(quit, exception, kill -TERM, abort), Ctrl-Z/Ctrl-C arrive as bytes, kill -TSTP gives the
terminal back and `fg` takes it again, SSH-style escapes work on real keystrokes, and the picker
filters, moves, chooses, cancels and erases what it drew.

Every tmux command uses a socket of its own (-L) and the server is killed at the end. Waits poll
the screen a bounded number of times.
"""
import argparse
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

SOCKET = f"ecsh-term-{os.getpid()}-{uuid.uuid4().hex[:8]}"
POLLS = 200  # x 0.05 s
failures = []


def tmux(*args, check=True):
    r = subprocess.run(["tmux", "-L", SOCKET, "-f", "/dev/null", *args],
                       capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"tmux {' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def new_pane(name, command):
    tmux("new-session", "-d", "-s", name, "-x", "100", "-y", "30", command)
    tmux("set-option", "-t", name, "remain-on-exit", "on")
    return name


def screen(name):
    return tmux("capture-pane", "-p", "-J", "-S", "-200", "-t", name, check=False)


def wait_for(name, text, what=None):
    for _ in range(POLLS):
        s = screen(name)
        if text in s:
            return s
        time.sleep(0.05)
    raise AssertionError(f"{what or repr(text)} never appeared; screen:\n{screen(name)}")


def keys(name, *k):
    tmux("send-keys", "-t", name, *k)


def literal(name, text):
    tmux("send-keys", "-t", name, "-l", text)


def pane_tty(name):
    return tmux("display-message", "-p", "-t", name, "#{pane_tty}").strip()


def tty_flags(name):
    out = subprocess.run(["stty", "-F", pane_tty(name), "-a"], capture_output=True, text=True,
                         timeout=10).stdout
    return out.split()


def wait_flags(name, cooked):
    """Polls the pane's terminal settings until they are cooked (or raw)."""
    want = ["icanon", "echo", "isig", "icrnl", "opost"]
    for _ in range(POLLS):
        flags = tty_flags(name)
        if cooked and all(w in flags for w in want):
            return
        if not cooked and all("-" + w in flags for w in want):
            return
        time.sleep(0.05)
    raise AssertionError(f"terminal never became {'cooked' if cooked else 'raw'}: {flags}")


def stty_in_pane_is_cooked(s):
    """The `stty -a` printed in the pane after the probe ended."""
    part = s.split("STTY-BEGIN", 1)[-1].split()
    for flag in ["icanon", "echo", "isig", "icrnl", "opost"]:
        assert flag in part and "-" + flag not in part, f"{flag} not restored: {s}"


def probe_pid(s):
    for tok in s.split():
        if tok.startswith("pid="):
            return int(tok[4:])
    raise AssertionError(f"no pid on screen:\n{s}")


def then_stty(cmd):
    # Runs cmd, then shows its exit code and the settings it left (stty reads the pane's tty).
    return f"sh -c {shlex.quote(cmd + '; echo EXIT=$?; echo STTY-BEGIN; stty -a; echo STTY-END')}"


def case(fn):
    def run(probe):
        name = f"t{len(failures)}{fn.__name__[:20]}"
        try:
            fn(probe, name)
            print(f"ok   {fn.__name__}")
        except Exception as e:  # noqa: BLE001 - report every case
            failures.append(fn.__name__)
            print(f"FAIL {fn.__name__}: {e}")
        finally:
            tmux("kill-session", "-t", name, check=False)
    run.__name__ = fn.__name__
    return run


@case
def quit_restores_and_control_keys_are_bytes(probe, name):
    new_pane(name, then_stty(f"{probe} echo"))
    wait_for(name, " raw")
    wait_flags(name, cooked=False)
    literal(name, "a")
    wait_for(name, "byte=97")
    keys(name, "C-c")
    wait_for(name, "byte=3")
    keys(name, "C-z")
    wait_for(name, "byte=26")
    keys(name, "C-\\")
    wait_for(name, "byte=28")
    keys(name, "Enter")
    wait_for(name, "byte=13")  # ICRNL is off: CR stays CR
    literal(name, "q")
    s = wait_for(name, "STTY-END")
    assert "EXIT=0" in s, s
    stty_in_pane_is_cooked(s)


@case
def kill_term_restores(probe, name):
    new_pane(name, then_stty(f"{probe} echo"))
    s = wait_for(name, " raw")
    wait_flags(name, cooked=False)
    os.kill(probe_pid(s), signal.SIGTERM)
    s = wait_for(name, "STTY-END")
    assert f"EXIT={128 + signal.SIGTERM}" in s, s
    stty_in_pane_is_cooked(s)


@case
def kill_hup_restores(probe, name):
    new_pane(name, then_stty(f"{probe} echo"))
    s = wait_for(name, " raw")
    os.kill(probe_pid(s), signal.SIGHUP)
    s = wait_for(name, "STTY-END")
    assert f"EXIT={128 + signal.SIGHUP}" in s, s
    stty_in_pane_is_cooked(s)


@case
def exception_restores(probe, name):
    new_pane(name, then_stty(f"{probe} echo"))
    wait_for(name, " raw")
    literal(name, "x")
    s = wait_for(name, "STTY-END")
    assert "caught: thrown on request" in s and "EXIT=3" in s, s
    stty_in_pane_is_cooked(s)


@case
def abort_restores(probe, name):
    new_pane(name, then_stty(f"ulimit -c 0; {probe} echo"))
    wait_for(name, " raw")
    literal(name, "!")
    s = wait_for(name, "STTY-END")
    assert f"EXIT={128 + signal.SIGABRT}" in s, s
    stty_in_pane_is_cooked(s)


@case
def stop_and_continue(probe, name):
    # An interactive job-control shell (dash does not restore terminal modes itself): kill -TSTP
    # must give back a cooked terminal, and `fg` must bring raw mode back.
    new_pane(name, "env -i PATH=/usr/bin:/bin PS1='$ ' /bin/sh -i")
    wait_for(name, "$ ")
    literal(name, f"{probe} echo")
    keys(name, "Enter")
    s = wait_for(name, " raw")
    wait_flags(name, cooked=False)
    pid = probe_pid(s)
    os.kill(pid, signal.SIGTSTP)
    wait_for(name, "Stopped")
    wait_flags(name, cooked=True)
    literal(name, "fg")
    keys(name, "Enter")
    wait_flags(name, cooked=False)
    literal(name, "b")
    wait_for(name, "byte=98")
    # SIGSTOP cannot be caught: the terminal stays raw. A shell such as bash then puts its own
    # settings back (done here from outside); SIGCONT from `fg` must bring raw mode back.
    os.kill(pid, signal.SIGSTOP)
    wait_for(name, "Stopped (signal)", "second stop")
    subprocess.run(["stty", "-F", pane_tty(name), "sane"], check=True, timeout=10)
    wait_flags(name, cooked=True)
    literal(name, "fg")
    keys(name, "Enter")
    wait_flags(name, cooked=False)
    literal(name, "c")
    wait_for(name, "byte=99")
    literal(name, "q")
    wait_flags(name, cooked=True)


@case
def escapes_on_real_keys(probe, name):
    new_pane(name, then_stty(f"{probe} escape"))
    wait_for(name, "escape ready")
    literal(name, "~")
    literal(name, "?")
    wait_for(name, "action=help")
    literal(name, "ls ~.")  # not after a newline: sent as typed
    wait_for(name, "sent=108 115 32 126 46")
    keys(name, "Enter")
    wait_for(name, "sent=13")
    literal(name, "~")
    literal(name, "~")
    wait_for(name, "sent=126 ")
    keys(name, "Enter")
    literal(name, "~")
    literal(name, ".")
    s = wait_for(name, "STTY-END")
    assert "action=disconnect" in s and "EXIT=0" in s, s
    stty_in_pane_is_cooked(s)


def pick_pane(probe, name, out, extra_env=""):
    items = "prod/web/1 prod/api/2 staging/web/3 staging/api/4 dev/web/5"
    return new_pane(name, then_stty(f"echo BEFORE; {extra_env}{probe} pick Target {items} > {out}"))


@case
def picker_filters_moves_and_chooses(probe, name):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        pick_pane(probe, name, out)
        s = wait_for(name, "Target (5/5)>")
        assert "> prod/web/1" in s, s
        literal(name, "web")
        s = wait_for(name, "Target (3/5)> web")
        assert "prod/api/2" not in s, s
        keys(name, "Down")
        keys(name, "Down")
        wait_for(name, "> dev/web/5")
        keys(name, "Up")
        wait_for(name, "> staging/web/3")
        keys(name, "Enter")
        s = wait_for(name, "STTY-END")
        assert "EXIT=0" in s, s
        with open(out) as f:
            got = f.read()
        assert got == "chosen=staging/web/3\n", got
        # The picker erased its lines: the screen shows nothing of it.
        assert "Target (" not in s and "prod/web/1" not in s, s
        assert "BEFORE" in s, s
        stty_in_pane_is_cooked(s)


@case
def picker_pages_home_end(probe, name):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        pick_pane(probe, name, out)
        wait_for(name, "Target (5/5)>")
        keys(name, "End")
        wait_for(name, "> dev/web/5")
        keys(name, "Home")
        wait_for(name, "> prod/web/1")
        keys(name, "PageDown")
        wait_for(name, "> dev/web/5")
        keys(name, "PageUp")
        wait_for(name, "> prod/web/1")
        literal(name, "API")  # case-insensitive
        wait_for(name, "Target (2/5)> API")
        keys(name, "BSpace", "BSpace", "BSpace")
        wait_for(name, "Target (5/5)> ")
        # The selection followed prod/api/2 (the first "API" match) back to the full list.
        keys(name, "C-n")
        wait_for(name, "> staging/web/3")
        keys(name, "Enter")
        wait_for(name, "STTY-END")
        with open(out) as f:
            got = f.read()
        assert got == "chosen=staging/web/3\n", got


@case
def picker_escape_cancels(probe, name):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        pick_pane(probe, name, out, "NO_COLOR=1 ")
        wait_for(name, "Target (5/5)>")
        keys(name, "Escape")
        s = wait_for(name, "STTY-END")
        assert "EXIT=1" in s, s
        with open(out) as f:
            got = f.read()
        assert got == "cancelled\n", got
        stty_in_pane_is_cooked(s)


@case
def picker_ctrl_c_cancels(probe, name):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out")
        pick_pane(probe, name, out)
        wait_for(name, "Target (5/5)>")
        keys(name, "C-c")
        s = wait_for(name, "STTY-END")
        assert "EXIT=1" in s, s


def picker_without_terminal(probe):
    # No controlling terminal at all (a new session): an error that says what to do.
    r = subprocess.run([probe, "pick", "Target", "a", "b"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=20, start_new_session=True)
    try:
        assert r.returncode == 2, r
        assert "no terminal" in r.stderr and "name the target" in r.stderr, r.stderr
        print("ok   picker_without_terminal")
    except AssertionError as e:
        failures.append("picker_without_terminal")
        print(f"FAIL picker_without_terminal: {e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--probe", required=True)
    probe = os.path.abspath(ap.parse_args().probe)
    picker_without_terminal(probe)
    if shutil.which("tmux") is None:
        print("tmux not installed: skipping the terminal cases")
        return 77
    # A session that lives as long as the test keeps the server up between cases (tmux exits
    # when its last session ends, racing the next new-session).
    tmux("new-session", "-d", "-s", "keeper", "-x", "80", "-y", "24", "cat")
    socket_path = tmux("display-message", "-p", "-t", "keeper", "#{socket_path}").strip()
    try:
        for c in [quit_restores_and_control_keys_are_bytes, kill_term_restores, kill_hup_restores,
                  exception_restores, abort_restores, stop_and_continue, escapes_on_real_keys,
                  picker_filters_moves_and_chooses, picker_pages_home_end, picker_escape_cancels,
                  picker_ctrl_c_cancels]:
            c(probe)
    finally:
        tmux("kill-server", check=False)
        if socket_path.endswith(SOCKET) and os.path.exists(socket_path):
            os.unlink(socket_path)
    if failures:
        print(f"{len(failures)} failed: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
