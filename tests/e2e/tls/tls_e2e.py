#!/usr/bin/env python3
"""ecsh against a sandbox that serves HTTPS and wss://, as AWS does: whoami, doctor, one-shot and
interactive exec, and ecsh as the AWS CLI's session-manager-plugin, trusting the sandbox's CA
through AWS_CA_BUNDLE, the profile's ca_bundle and --ca-bundle; the server name (SNI) the
sandbox saw; a session resumed over TLS after dropped links; and failures that say what is wrong
(unknown CA, a certificate for other names, an expired one, http:// on the TLS port and the
reverse), each exit 255 with a one-line fix; --no-verify-ssl warns once."""
import argparse
import hashlib
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "exec"))
from harness import Checks, Tmux  # noqa: E402
from sandbox_proc import Sandbox, AWS_CLI, aws_env, wait_for_exec_ready  # noqa: E402
from exec_e2e import scenario  # noqa: E402
from certs import TestCa  # noqa: E402

check = Checks()
TGT = ["-c", "e2e", "-s", "app"]
NO_VERIFY_WARNING = "TLS certificates are not verified"


def base_env(**extra):
    env = aws_env()
    env.update(extra)
    return env


def ecsh(binary, url, *args, env=None, timeout=120, stdin=subprocess.DEVNULL):
    p = subprocess.run([binary, "--endpoint-url", url] + list(args), env=env or base_env(),
                       stdin=stdin, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def fails_with(result, what, words, fix_words):
    """Exit 255, the message has `words`, and the fix is the one line after it."""
    rc, _, err = result
    lines = [l for l in err.strip().splitlines() if l.strip()]
    ok = (rc == 255 and len(lines) == 2 and lines[0].startswith("ecsh: ") and
          all(w in lines[0] for w in words) and all(w in lines[1] for w in fix_words))
    check(ok, what, (rc, err))


def tls_log(sb):
    return sb.admin("/_sandbox/tls")["connections"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    ap.add_argument("--sandbox", required=True)
    opts = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ecsh-tls-e2e-")
    sandboxes = []
    tmux = None
    try:
        sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"],
                     tls=True).start()
        sandboxes.append(sb)
        check(sb.url.startswith("https://127.0.0.1:") and os.path.isfile(sb.ca),
              "--tls: the sandbox listens on https:// and prints its CA's path", (sb.url, sb.ca))
        wait_for_exec_ready(sb, "e2e")  # the real AWS CLI, with --ca-bundle
        url = sb.url_for("localhost")
        ca_env = base_env(AWS_CA_BUNDLE=sb.ca)

        # --- trusting the CA three ways ---
        rc, out, err = ecsh(opts.ecsh, url, "whoami", env=ca_env)
        check(rc == 0 and "000000000000" in out, "whoami over TLS with AWS_CA_BUNDLE", (rc, err))
        config = os.path.join(work, "config")
        with open(config, "w") as f:
            f.write(f"[profile tls]\nregion = us-east-1\nca_bundle = {sb.ca}\n")
        credentials = os.path.join(work, "credentials")
        with open(credentials, "w") as f:
            f.write("[tls]\naws_access_key_id = AKIAECSHSANDBOXADMIN\n"
                    "aws_secret_access_key = ecsh-sandbox-secret\n")
        os.chmod(credentials, 0o600)
        profile_env = base_env(AWS_CONFIG_FILE=config, AWS_SHARED_CREDENTIALS_FILE=credentials)
        rc, out, err = ecsh(opts.ecsh, url, "--profile", "tls", "whoami", env=profile_env)
        check(rc == 0 and "000000000000" in out, "whoami over TLS with ca_bundle in the profile",
              (rc, err))
        rc, out, err = ecsh(opts.ecsh, url, "--ca-bundle", sb.ca, "whoami")
        check(rc == 0 and "000000000000" in out, "whoami over TLS with --ca-bundle", (rc, err))

        rc, out, err = ecsh(opts.ecsh, url, "doctor", *TGT, env=ca_env)
        check(rc == 0 and "SSL" not in out + err, "doctor over TLS finds nothing blocking exec",
              (rc, out[-800:], err[-400:]))

        # --- one-shot exec over https:// and wss://, and the server name the sandbox saw ---
        before = len(tls_log(sb))
        rc, out, err = ecsh(opts.ecsh, url, "exec", *TGT, "--", "sh", "-c",
                            "echo over-tls; exit 3", env=ca_env)
        check(rc == 3 and out == "over-tls\n", "one-shot exec over TLS (wss://)", (rc, out, err))
        new = tls_log(sb)[before:-1]  # the last one is this query's own (127.0.0.1, no SNI)
        check(any(c["websocket"] for c in new), "the session's WebSocket ran over TLS", new)
        check(new and all(c["server_name"] == "localhost" for c in new),
              "every connection (API and WebSocket) sent SNI localhost", new)

        # --- a session resumed over TLS after three dropped links ---
        before = len(tls_log(sb))
        sb.admin("/_sandbox/faults", {"data_channel": {"drop_link_every_frames": 300,
                                                        "max_link_drops": 3}})
        p = subprocess.run([opts.ecsh, "--endpoint-url", url, "exec", *TGT, "--", "seq", "1",
                            "300000"], env=ca_env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=300)
        sb.admin("/_sandbox/faults", {"data_channel": {}})
        expected = subprocess.run(["seq", "1", "300000"], capture_output=True).stdout
        links = [c for c in tls_log(sb)[before:] if c["websocket"]]
        check(p.returncode == 0 and p.stdout == expected and len(links) >= 2,
              "a session over TLS survives three dropped links, resumed on new wss:// links",
              (p.returncode, len(p.stdout), len(expected), len(links), p.stderr[-300:]))

        # --- bulk stdin over TLS: many frames share each TLS write and read (batched frames) ---
        blob = os.urandom(16 << 20)
        p = subprocess.run([opts.ecsh, "--endpoint-url", url, "exec", *TGT, "--", "sha256sum"],
                           env=ca_env, input=blob, capture_output=True, timeout=300)
        check(p.returncode == 0 and
              p.stdout.split()[:1] == [hashlib.sha256(blob).hexdigest().encode()],
              "16 MiB of stdin over TLS arrive intact (SHA-256)",
              (p.returncode, p.stdout[:100], p.stderr[-300:]))

        # --- interactive exec in a real terminal ---
        env = dict(ca_env, TERM="xterm-256color")
        script = os.path.join(work, "pane.sh")
        with open(script, "w") as f:
            f.write(f"{os.path.abspath(opts.ecsh)} --endpoint-url {url} exec -c e2e -s app\n"
                    "echo ECSH_EXIT=$?\nsleep 60\n")
        tmux = Tmux(env)
        tmux.start(f"sh {script}")
        check(tmux.wait_for("#"), "an interactive shell opens over TLS", tmux.screen())
        tmux.keys("echo tls-$((6*7))", "Enter")
        check(tmux.wait_for("tls-42"), "typed commands run over TLS", tmux.screen())
        tmux.keys("exit", "Enter")
        check(tmux.wait_for("ECSH_EXIT=0"), "the interactive session over TLS ends with 0",
              tmux.screen())
        tmux.kill()
        tmux = None

        # --- ecsh as session-manager-plugin of the AWS CLI, trusting the CA three ways ---
        bindir = os.path.join(work, "bin")
        os.makedirs(bindir)
        os.symlink(os.path.abspath(opts.ecsh), os.path.join(bindir, "session-manager-plugin"))
        task = wait_for_exec_ready(sb, "e2e")

        def plugin(extra_args, env, word):
            env = dict(env, PATH=bindir + ":" + os.environ.get("PATH", "/usr/bin:/bin"))
            cp = subprocess.run([AWS_CLI, "--endpoint-url", url] + extra_args +
                                ["ecs", "execute-command", "--cluster", "e2e", "--task",
                                 task["taskArn"], "--container", "app", "--interactive",
                                 "--command", f"echo {word}"],
                                env=env, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=120)
            return cp.returncode, cp.stdout.decode(errors="replace"), \
                cp.stderr.decode(errors="replace")

        for how, extra, env in [("aws --ca-bundle", ["--ca-bundle", sb.ca], base_env()),
                                ("AWS_CA_BUNDLE", [], ca_env),
                                ("ca_bundle in the profile", ["--profile", "tls"], profile_env)]:
            rc, out, err = plugin(extra, env, "plugin-" + how.split()[-1])
            check(rc == 0 and "plugin-" + how.split()[-1] in out,
                  f"aws ecs execute-command over TLS with ecsh as the plugin ({how})",
                  (rc, out[-400:], err[-400:]))

        # --- --no-verify-ssl: works without the CA, and says so once ---
        rc, out, err = ecsh(opts.ecsh, url, "--no-verify-ssl", "exec", *TGT, "--", "echo", "nv")
        check(rc == 0 and out == "nv\n" and err.count(NO_VERIFY_WARNING) == 1,
              "--no-verify-ssl works without the CA (API and wss://) and warns exactly once",
              (rc, out, err))
        rc, out, err = plugin(["--no-verify-ssl"], base_env(), "plugin-noverify")
        check(rc == 0 and "plugin-noverify" in out,
              "aws --no-verify-ssl execute-command: the plugin does not verify either",
              (rc, out[-400:], err[-400:]))

        # --- failures that say what is wrong ---
        fails_with(ecsh(opts.ecsh, url, "whoami"), "an unknown CA: exit 255, says so, one fix",
                   ["localhost", "CA this machine does not trust", "ecsh-sandbox CA"],
                   ["AWS_CA_BUNDLE"])
        fails_with(ecsh(opts.ecsh, sb.url.replace("https://", "http://"), "whoami"),
                   "http:// on the TLS port: exit 255, says it speaks HTTPS",
                   ["speaks HTTPS"], ["https://"])

        plain = Sandbox(opts.sandbox).start()
        sandboxes.append(plain)
        fails_with(ecsh(opts.ecsh, plain.url.replace("http://", "https://"), "whoami",
                        env=ca_env),
                   "https:// on a plain HTTP port: exit 255, says it does not speak TLS",
                   ["does not speak TLS"], ["http://"])

        ca = TestCa(work)
        cert, key = ca.issue("other-names", ["api.other.test", "10.9.9.9"])
        other = Sandbox(opts.sandbox, tls_cert=cert, tls_key=key).start()
        sandboxes.append(other)
        test_ca_env = base_env(AWS_CA_BUNDLE=ca.path)
        fails_with(ecsh(opts.ecsh, other.url_for("localhost"), "whoami", env=test_ca_env),
                   "a certificate for other names: exit 255, names the names it covers",
                   ["does not cover localhost", "api.other.test, 10.9.9.9"], ["covers"])
        fails_with(ecsh(opts.ecsh, other.url, "whoami", env=test_ca_env),
                   "a certificate for other addresses: exit 255, names what it covers",
                   ["does not cover 127.0.0.1", "api.other.test, 10.9.9.9"], ["covers"])

        cert, key = ca.issue("expired", ["localhost", "127.0.0.1"], days_from=-30, days_to=-2)
        expired = Sandbox(opts.sandbox, tls_cert=cert, tls_key=key).start()
        sandboxes.append(expired)
        fails_with(ecsh(opts.ecsh, expired.url_for("localhost"), "whoami", env=test_ca_env),
                   "an expired certificate: exit 255, says when it expired",
                   ["certificate of localhost expired on"], ["Renew"])
    finally:
        if tmux:
            tmux.kill()
        for s in sandboxes:
            s.cleanup()
        subprocess.run(["rm", "-rf", work])
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
