#!/usr/bin/env python3
"""`ecsh whoami` end to end against a fake STS on 127.0.0.1 that verifies SigV4 itself.

The verifier below is an independent implementation of SigV4 (not ecsh's, not botocore's), so a
signing bug in ecsh fails here. Secrets reach ecsh only through its environment and files.
"""
import argparse
import hashlib
import hmac
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import urllib.parse

ACCESS_KEY = "AKIAECSHTESTWHOAMI01"
SECRET_KEY = "whoami/secret+key/for/tests/only/0123456"
SESSION_TOKEN = "FwoGZXIvYXdzEXAMPLESESSIONTOKENforwhoamitests"
ACCOUNT = "123456789012"


def sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


class FakeSts(http.server.BaseHTTPRequestHandler):
    throttle_next = 0
    requests = []

    def log_message(self, *args):
        pass

    def reply(self, status, body, extra=None):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", "req-0001")
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, code, message):
        self.reply(status, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   f"<Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
                   "</Error><RequestId>req-0001</RequestId></ErrorResponse>")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        FakeSts.requests.append(self.headers.get("Authorization", ""))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.error(403, "MissingAuthenticationToken", "Missing Authentication Token")
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, date, region, service, _ = fields["Credential"].split("/")
        if akid != ACCESS_KEY:
            return self.error(403, "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        signed = fields["SignedHeaders"].split(";")
        canon_headers = "".join(
            f"{h}:{' '.join(self.headers.get(h, '').split())}\n" for h in signed)
        path, _, query = self.path.partition("?")
        canonical = "\n".join([self.command, path, query, canon_headers, ";".join(signed),
                               hashlib.sha256(body).hexdigest()])
        amz_date = self.headers["X-Amz-Date"]
        scope = f"{date}/{region}/{service}/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                             hashlib.sha256(canonical.encode()).hexdigest()])
        k = sign(("AWS4" + SECRET_KEY).encode(), date)
        k = sign(sign(sign(k, region), service), "aws4_request")
        expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return self.error(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature "
                              "you provided.")
        token = self.headers.get("X-Amz-Security-Token")
        if token is not None and token != SESSION_TOKEN:
            return self.error(403, "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        form = urllib.parse.parse_qs(body.decode())
        if form.get("Action") != ["GetCallerIdentity"] or form.get("Version") != ["2011-06-15"]:
            return self.error(400, "InvalidAction", "unexpected action")
        if FakeSts.throttle_next > 0:
            FakeSts.throttle_next -= 1
            return self.error(400, "Throttling", "Rate exceeded")
        self.reply(200, "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult>"
                   f"<Arn>arn:aws:iam::{ACCOUNT}:user/alice</Arn>"
                   "<UserId>AIDAEXAMPLEUSERID0001</UserId>"
                   f"<Account>{ACCOUNT}</Account>"
                   "</GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>req-0001</RequestId></ResponseMetadata>"
                   "</GetCallerIdentityResponse>")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    args = ap.parse_args()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSts)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    tmp = tempfile.mkdtemp(prefix="ecsh-whoami-")
    failures = []
    passed = 0

    def run(argv, env_extra, want_code, want_out=(), want_err=(), forbid=()):
        nonlocal passed
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
               "AWS_CONFIG_FILE": os.path.join(tmp, "none-config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none-credentials")}
        env.update(env_extra)
        p = subprocess.run([args.ecsh] + argv, env=env, capture_output=True, text=True,
                           timeout=60, stdin=subprocess.DEVNULL)
        name = " ".join(argv) + " " + " ".join(f"{k}" for k in env_extra)
        problems = []
        if p.returncode != want_code:
            problems.append(f"exit {p.returncode}, wanted {want_code}")
        for s in want_out:
            if s not in p.stdout:
                problems.append(f"stdout lacks {s!r}")
        for s in want_err:
            if s not in p.stderr:
                problems.append(f"stderr lacks {s!r}")
        for s in forbid:
            if s in p.stdout or s in p.stderr:
                problems.append(f"output contains a secret")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}\n  stdout: {p.stdout!r}\n  stderr: {p.stderr!r}")
            print("FAIL", name)
        else:
            passed += 1
            print("ok  ", name)

    env_creds = {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    base = ["whoami", "--endpoint-url", url, "--region", "us-east-1"]

    run(base, env_creds, 0, want_out=[f"arn:aws:iam::{ACCOUNT}:user/alice", ACCOUNT, "environment"])
    run(base + ["--output", "json"], env_creds, 0,
        want_out=['"Arn":"arn:aws:iam::123456789012:user/alice"', '"CredentialsSource":"environment"'])
    run(base, dict(env_creds, AWS_SESSION_TOKEN=SESSION_TOKEN), 0, want_out=["user/alice"])

    creds_file = os.path.join(tmp, "credentials")
    with open(creds_file, "w") as f:
        f.write(f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET_KEY}\n")
    config_file = os.path.join(tmp, "config")
    with open(config_file, "w") as f:
        f.write(f"[profile dev]\nregion = us-east-1\nendpoint_url = {url}\n")
    files = {"AWS_SHARED_CREDENTIALS_FILE": creds_file, "AWS_CONFIG_FILE": config_file}
    run(["whoami", "--profile", "dev"], files, 0,
        want_out=["user/alice", "profile dev (shared credentials file)"])
    run(["whoami"], dict(files, AWS_PROFILE="dev"), 0, want_out=["profile dev"])
    # The profile exists in the credentials file only: no region anywhere.
    run(["whoami"], dict(files, AWS_ENDPOINT_URL_STS=url, AWS_PROFILE="dev",
                         AWS_CONFIG_FILE=os.path.join(tmp, "none")), 253,
        want_err=["You must specify a region"])
    # AWS_ENDPOINT_URL_STS outranks the profile's endpoint_url (which points nowhere).
    with open(config_file + ".2", "w") as f:
        f.write("[profile dev]\nregion = us-east-1\nendpoint_url = http://127.0.0.1:1\n")
    run(["whoami"], dict(files, AWS_ENDPOINT_URL_STS=url, AWS_PROFILE="dev",
                         AWS_CONFIG_FILE=config_file + ".2"), 0, want_out=["user/alice"])
    run(["whoami", "--profile", "nosuch"], files, 253,
        want_err=["The config profile (nosuch) could not be found"])

    run(base, {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "wrong-secret-0000"}, 254,
        want_err=["SignatureDoesNotMatch", "GetCallerIdentity"])
    run(base, {"AWS_ACCESS_KEY_ID": "AKIAUNKNOWNKEY000000", "AWS_SECRET_ACCESS_KEY": SECRET_KEY},
        254, want_err=["InvalidClientTokenId"])
    run(base, {}, 253, want_err=["Unable to locate credentials"])
    run(["whoami", "--endpoint-url", url], env_creds, 253, want_err=["You must specify a region"])
    run(["whoami", "--endpoint-url", "http://127.0.0.1:1", "--region", "us-east-1"], env_creds, 255,
        want_err=['Could not connect to the endpoint URL: "http://127.0.0.1:1/"'])
    broken = os.path.join(tmp, "broken-config")
    with open(broken, "w") as f:
        f.write("[default]\nregion = us-east-1\nthis line is broken\n")
    run(base, dict(env_creds, AWS_CONFIG_FILE=broken), 253, want_err=[broken + ", line 3"])

    FakeSts.throttle_next = 2
    run(base, env_creds, 0, want_out=["user/alice"])
    FakeSts.throttle_next = 5
    run(base + ["--debug"], dict(env_creds, AWS_MAX_ATTEMPTS="2"), 254,
        want_err=["Throttling"], forbid=[SECRET_KEY])
    FakeSts.throttle_next = 0
    run(base + ["--debug"], dict(env_creds, AWS_SESSION_TOKEN=SESSION_TOKEN), 0,
        want_err=["HTTP POST"], forbid=[SECRET_KEY, SESSION_TOKEN])
    FakeSts.throttle_next = 0

    server.shutdown()
    for f in failures:
        print(f)
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
