#!/usr/bin/env python3
"""Interactive `ecsh exec` in a real terminal (tmux): typing, a window resize, Ctrl-C, `exit`,
and the `~.` escape; after each ending the terminal is back in cooked mode."""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from harness import Checks, Tmux  # noqa: E402
from sandbox_proc import Sandbox, aws, aws_env  # noqa: E402
from exec_e2e import scenario, wait_for_exec_ready  # noqa: E402

check = Checks()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "realistic"]).start()
    env = aws_env()
    env["NO_PROXY"] = "127.0.0.1"
    env["TERM"] = "xterm-256color"
    script = os.path.join(sb.dir, "pane.sh")
    with open(script, "w") as f:
        f.write(f"{os.path.abspath(opts.ecsh)} --endpoint-url {sb.url} exec -c e2e -s app\n"
                "echo ECSH_EXIT=$?\n"
                "stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e echo -e isig | tr '\\n' ' '\n"
                "echo\n"
                "sleep 60\n")
    tmux = Tmux(env)
    try:
        wait_for_exec_ready(sb, "e2e")
        tmux.start(f"sh {script}")
        check(tmux.wait_for("#"), "an interactive shell opens", tmux.screen())
        tmux.keys("echo hello-$((6*7))", "Enter")
        check(tmux.wait_for("hello-42"), "typed commands run remotely", tmux.screen())

        tmux.run("resize-window", "-t", "0", "-x", "120", "-y", "40")
        time.sleep(0.5)
        tmux.keys("stty size", "Enter")
        check(tmux.wait_for("40 120"), "a window resize reaches the remote pty", tmux.screen())

        tmux.keys("sleep 100", "Enter")
        time.sleep(0.5)
        tmux.keys("C-c")
        tmux.keys("echo after-ctrl-c", "Enter")
        check(tmux.wait_for("after-ctrl-c\n") or tmux.wait_for("after-ctrl-c"),
              "Ctrl-C interrupts the remote command, not ecsh", tmux.screen())

        tmux.keys("exit", "Enter")
        check(tmux.wait_for("ECSH_EXIT=0"), "exit ends the session with status 0", tmux.screen())
        check(tmux.wait_for("isig icanon echo"), "the terminal is cooked again after exit",
              tmux.screen()[-600:])
        tmux.kill()

        tmux = Tmux(env)
        tmux.start(f"sh {script}")
        check(tmux.wait_for("#"), "a second session opens", tmux.screen())
        tmux.keys("Enter")
        tmux.keys("~.")
        check(tmux.wait_for("disconnected"), "~. disconnects", tmux.screen())
        check(tmux.wait_for("ECSH_EXIT=0") and tmux.wait_for("isig icanon echo"),
              "the terminal is cooked again after ~.", tmux.screen()[-600:])
    finally:
        tmux.kill()
        sb.cleanup()
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
