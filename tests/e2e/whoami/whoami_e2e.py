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
# Temporary keys the fake services hand out, and the identity each one signs as.
KEYS = {
    ACCESS_KEY: (SECRET_KEY, None, f"arn:aws:iam::{ACCOUNT}:user/alice"),
    "ASIAECSHASSUMEDROLE1": ("assumed/secret/0001", "TOKENassumedrole0001",
                             f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/s1"),
    "ASIAECSHWEBIDENTITY1": ("webid/secret/0001", "TOKENwebidentity0001",
                             f"arn:aws:sts::{ACCOUNT}:assumed-role/webid/s2"),
    "ASIAECSHSSOROLE00001": ("sso/secret/0001", "TOKENssorole00000001",
                             f"arn:aws:sts::{ACCOUNT}:assumed-role/AWSReservedSSO_Admin/bob"),
    "ASIAECSHCONTAINER001": ("container/secret/0001", "TOKENcontainer000001",
                             f"arn:aws:sts::{ACCOUNT}:assumed-role/task-role/t1"),
    "ASIAECSHINSTANCE0001": ("instance/secret/0001", "TOKENinstance0000001",
                             f"arn:aws:sts::{ACCOUNT}:assumed-role/instance-role/i-1"),
    "AKIAECSHPROCESS00001": ("process/secret/0001", None, f"arn:aws:iam::{ACCOUNT}:user/proc"),
}
WEB_IDENTITY_TOKEN = "eyJ.web-identity-token.sig"
SSO_ACCESS_TOKEN = "sso-access-token-0001"
CONTAINER_AUTH = "container-auth-token-0001"
IMDS_TOKEN = "imds-session-token-0001"
EXPIRES = "2099-01-01T00:00:00Z"


def creds_xml(result, key):
    secret, token, _ = KEYS[key]
    return (f"<{result}Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><{result}Result>"
            f"<Credentials><AccessKeyId>{key}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken><Expiration>{EXPIRES}</Expiration></Credentials>"
            f"</{result}Result></{result}Response>")


def creds_json(key, token_key="Token"):
    secret, token, _ = KEYS[key]
    import json
    return json.dumps({"Code": "Success", "AccessKeyId": key, "SecretAccessKey": secret,
                       token_key: token, "Expiration": EXPIRES})


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

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            return self.reply(200, IMDS_TOKEN)
        self.reply(404, "")

    def do_GET(self):
        import json
        path, _, query = self.path.partition("?")
        if path == "/federation/credentials":
            q = urllib.parse.parse_qs(query)
            if (self.headers.get("x-amz-sso_bearer_token") != SSO_ACCESS_TOKEN
                    or q.get("account_id") != [ACCOUNT] or q.get("role_name") != ["Admin"]):
                return self.reply(401, '{"message":"Session token not found or invalid"}')
            secret, token, _ = KEYS["ASIAECSHSSOROLE00001"]
            return self.reply(200, json.dumps({"roleCredentials": {
                "accessKeyId": "ASIAECSHSSOROLE00001", "secretAccessKey": secret,
                "sessionToken": token, "expiration": 4070908800000}}))
        if path == "/container-creds":
            if self.headers.get("Authorization") != CONTAINER_AUTH:
                return self.reply(401, "")
            return self.reply(200, creds_json("ASIAECSHCONTAINER001"))
        if path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self.reply(401, "")
            role = path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self.reply(200, "instance-role")
            if role == "instance-role":
                return self.reply(200, creds_json("ASIAECSHINSTANCE0001"))
        self.reply(404, "")

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        FakeSts.requests.append(self.headers.get("Authorization", ""))
        form = urllib.parse.parse_qs(body.decode())
        if form.get("Action") == ["AssumeRoleWithWebIdentity"]:
            # Unsigned by design: the token is the proof.
            if form.get("WebIdentityToken") != [WEB_IDENTITY_TOKEN]:
                return self.error(400, "InvalidIdentityToken", "bad token")
            return self.reply(200, creds_xml("AssumeRoleWithWebIdentity", "ASIAECSHWEBIDENTITY1"))
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("AWS4-HMAC-SHA256 "):
            return self.error(403, "MissingAuthenticationToken", "Missing Authentication Token")
        fields = dict(p.strip().split("=", 1) for p in auth[len("AWS4-HMAC-SHA256 "):].split(","))
        akid, date, region, service, _ = fields["Credential"].split("/")
        if akid not in KEYS:
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
        secret, want_token, arn = KEYS[akid]
        k = sign(("AWS4" + secret).encode(), date)
        k = sign(sign(sign(k, region), service), "aws4_request")
        expected = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return self.error(403, "SignatureDoesNotMatch",
                              "The request signature we calculated does not match the signature "
                              "you provided.")
        token = self.headers.get("X-Amz-Security-Token")
        if akid == ACCESS_KEY and token is not None and token != SESSION_TOKEN or (
                want_token is not None and token != want_token):
            return self.error(403, "InvalidClientTokenId",
                              "The security token included in the request is invalid.")
        if form.get("Action") == ["AssumeRole"]:
            if form.get("RoleArn") != [f"arn:aws:iam::{ACCOUNT}:role/deployer"]:
                return self.error(403, "AccessDenied", "not allowed to assume that role")
            if form.get("ExternalId", ["x"]) != ["x"] and form.get("ExternalId") != ["ext-42"]:
                return self.error(403, "AccessDenied", "wrong external id")
            return self.reply(200, creds_xml("AssumeRole", "ASIAECSHASSUMEDROLE1"))
        if form.get("Action") != ["GetCallerIdentity"] or form.get("Version") != ["2011-06-15"]:
            return self.error(400, "InvalidAction", "unexpected action")
        if FakeSts.throttle_next > 0:
            FakeSts.throttle_next -= 1
            return self.error(400, "Throttling", "Rate exceeded")
        self.reply(200, "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                   "<GetCallerIdentityResult>"
                   f"<Arn>{arn}</Arn>"
                   "<UserId>AIDAEXAMPLEUSERID0001</UserId>"
                   f"<Account>{ACCOUNT}</Account>"
                   "</GetCallerIdentityResult>"
                   "<ResponseMetadata><RequestId>req-0001</RequestId></ResponseMetadata>"
                   "</GetCallerIdentityResponse>")


class FakeProxy(threading.Thread):
    """A forward proxy on 127.0.0.1: CONNECT tunnels and absolute-form requests. Records each."""

    def __init__(self):
        super().__init__(daemon=True)
        import socket
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.seen = []

    def run(self):
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.handle, args=(client,), daemon=True).start()

    @staticmethod
    def pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(2)
            except OSError:
                pass

    def handle(self, client):
        import socket
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(65536)
            if not chunk:
                return client.close()
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
        self.seen.append((method, target, headers.get("proxy-authorization", "")))
        if method == "CONNECT":
            host, port = target.rsplit(":", 1)
            upstream = socket.create_connection((host, int(port)), timeout=10)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        else:
            u = urllib.parse.urlsplit(target)
            upstream = socket.create_connection((u.hostname, u.port or 80), timeout=10)
            path = u.path + ("?" + u.query if u.query else "")
            kept = [l for l in lines[1:] if not l.lower().startswith("proxy-")]
            upstream.sendall((" ".join([method, path, version]) + "\r\n" + "\r\n".join(kept) +
                              "\r\n\r\n").encode("latin-1") + rest)
        threading.Thread(target=self.pipe, args=(upstream, client), daemon=True).start()
        self.pipe(client, upstream)

    def close(self):
        self.sock.close()


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
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none-credentials"),
               # Never let ecsh probe the real instance-metadata address: loopback only.
               "AWS_EC2_METADATA_DISABLED": "true"}
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
        want_out=['"schema":"ecsh.whoami/1"', '"arn":"arn:aws:iam::123456789012:user/alice"',
                  '"credentials_source":"environment"'])
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

    # --- every credential provider, through the same fake services ---
    import hashlib as _h
    provider_cfg = os.path.join(tmp, "providers-config")
    with open(provider_cfg, "w") as f:
        f.write(f"""[profile base]
aws_access_key_id = {ACCESS_KEY}
aws_secret_access_key = {SECRET_KEY}
region = us-east-1
[profile deployer]
role_arn = arn:aws:iam::{ACCOUNT}:role/deployer
source_profile = base
external_id = ext-42
region = us-east-1
[profile chained]
role_arn = arn:aws:iam::{ACCOUNT}:role/deployer
source_profile = deployer
region = us-east-1
[profile loop-a]
role_arn = arn:aws:iam::{ACCOUNT}:role/deployer
source_profile = loop-b
[profile loop-b]
role_arn = arn:aws:iam::{ACCOUNT}:role/deployer
source_profile = loop-a
[profile from-env]
role_arn = arn:aws:iam::{ACCOUNT}:role/deployer
credential_source = Environment
region = us-east-1
[profile sso]
sso_session = corp
sso_account_id = {ACCOUNT}
sso_role_name = Admin
region = us-east-1
[sso-session corp]
sso_region = us-east-1
sso_start_url = https://corp.awsapps.com/start
[profile proc]
credential_process = printf '{{"Version": 1, "AccessKeyId": "AKIAECSHPROCESS00001", "SecretAccessKey": "process/secret/0001"}}'
region = us-east-1
[profile proc-fails]
credential_process = sh -c 'echo no credentials for you >&2; exit 3'
region = us-east-1
[profile proc-no-shell]
credential_process = printf '{{"Version": 1, "AccessKeyId": "AKIAECSHPROCESS00001", "SecretAccessKey": "process/secret/0001"}}' > /dev/null
region = us-east-1
[profile half]
aws_access_key_id = AKIAONLYHALF00000000
region = us-east-1
""")
    pfiles = {"AWS_CONFIG_FILE": provider_cfg, "AWS_ENDPOINT_URL_STS": url,
              "AWS_ENDPOINT_URL_SSO": url, "AWS_EC2_METADATA_DISABLED": "true"}
    who = ["whoami", "--endpoint-url", url]
    run(who + ["--profile", "deployer"], pfiles, 0,
        want_out=["assumed-role/deployer", "profile deployer via assume-role"])
    run(who + ["--profile", "chained"], pfiles, 0, want_out=["assumed-role/deployer"])
    run(who + ["--profile", "loop-a"], pfiles, 253, want_err=["cycle"])
    run(who + ["--profile", "from-env"], dict(pfiles, **env_creds), 0, want_out=["assumed-role/deployer"])
    run(who + ["--profile", "half"], pfiles, 253, want_err=["aws_secret_access_key"])
    run(who + ["--profile", "proc"], pfiles, 0, want_out=["user/proc", "credential_process"])
    run(who + ["--profile", "proc-fails"], pfiles, 253,
        want_err=["exited with status 3", "no credentials for you"])
    # No shell (as botocore): "> /dev/null" are two more arguments of printf, not a redirection
    # that would leave the output empty.
    run(who + ["--profile", "proc-no-shell"], pfiles, 0, want_out=["user/proc"])

    # SSO: no token cached, then a valid cached token, then an expired one.
    run(who + ["--profile", "sso"], pfiles, 253, want_err=["aws sso login --profile sso"])
    cache_dir = os.path.join(tmp, ".aws", "sso", "cache")
    os.makedirs(cache_dir, exist_ok=True)
    cache_file = os.path.join(cache_dir, _h.sha1(b"corp").hexdigest() + ".json")
    with open(cache_file, "w") as f:
        f.write('{"accessToken": "%s", "expiresAt": "2099-01-01T00:00:00Z"}' % SSO_ACCESS_TOKEN)
    run(who + ["--profile", "sso"], pfiles, 0,
        want_out=["AWSReservedSSO_Admin/bob", "profile sso via sso"], forbid=[SSO_ACCESS_TOKEN])
    with open(cache_file, "w") as f:
        f.write('{"accessToken": "%s", "expiresAt": "2001-01-01T00:00:00Z"}' % SSO_ACCESS_TOKEN)
    run(who + ["--profile", "sso"], pfiles, 253, want_err=["expired or is otherwise invalid"])

    token_file = os.path.join(tmp, "web-identity-token")
    with open(token_file, "w") as f:
        f.write(WEB_IDENTITY_TOKEN + "\n")
    run(who + ["--region", "us-east-1"],
        {"AWS_ENDPOINT_URL_STS": url, "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
         "AWS_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/webid", "AWS_EC2_METADATA_DISABLED": "true"},
        0, want_out=["assumed-role/webid", "web identity"], forbid=[WEB_IDENTITY_TOKEN])
    run(who + ["--region", "us-east-1"],
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/container-creds",
         "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_AUTH}, 0,
        want_out=["assumed-role/task-role", "container"])
    run(who + ["--region", "us-east-1"],
        {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://198.51.100.7/creds"}, 253,
        want_err=["must use https or a loopback"])
    run(who + ["--region", "us-east-1"],
        {"AWS_EC2_METADATA_SERVICE_ENDPOINT": url, "AWS_EC2_METADATA_DISABLED": ""}, 0,
        want_out=["assumed-role/instance-role", "instance metadata"])

    # --- TLS: a self-signed endpoint is refused unless its CA is trusted or checks are off ---
    import ssl
    cert = os.path.join(tmp, "cert.pem")
    key = os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True, timeout=60)
    tls_server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeSts)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    tls_server.socket = ctx.wrap_socket(tls_server.socket, server_side=True)
    threading.Thread(target=tls_server.serve_forever, daemon=True).start()
    tls_url = f"https://127.0.0.1:{tls_server.server_address[1]}"
    tls = ["whoami", "--endpoint-url", tls_url, "--region", "us-east-1"]
    run(tls, env_creds, 255, want_err=["SSL validation failed", "AWS_CA_BUNDLE"])
    run(tls, dict(env_creds, AWS_CA_BUNDLE=cert), 0, want_out=["user/alice"])
    run(tls + ["--no-verify-ssl"], env_creds, 0, want_out=["user/alice"])

    # --- proxies: CONNECT for https, absolute-form for http, NO_PROXY bypass, basic auth ---
    proxy = FakeProxy()
    proxy.start()
    proxy_url = f"http://127.0.0.1:{proxy.port}"
    run(tls, dict(env_creds, AWS_CA_BUNDLE=cert, HTTPS_PROXY=proxy_url), 0, want_out=["user/alice"])
    connects = [s for s in proxy.seen if s[0] == "CONNECT"]
    if not connects or connects[-1][1] != f"127.0.0.1:{tls_server.server_address[1]}":
        failures.append(f"HTTPS_PROXY: no CONNECT to the endpoint went through the proxy: {proxy.seen}")
    before = len(proxy.seen)
    run(base, dict(env_creds, HTTP_PROXY=f"http://user:p%40ss@127.0.0.1:{proxy.port}"), 0,
        want_out=["user/alice"], forbid=["p@ss"])
    if len(proxy.seen) != before + 1 or not proxy.seen[-1][1].startswith(url + "/") \
            or proxy.seen[-1][2] != "Basic dXNlcjpwQHNz":
        failures.append(f"HTTP_PROXY: expected one absolute-form request with basic auth: {proxy.seen}")
    before = len(proxy.seen)
    run(base, dict(env_creds, HTTP_PROXY=proxy_url, NO_PROXY="localhost,127.0.0.1"), 0,
        want_out=["user/alice"])
    if len(proxy.seen) != before:
        failures.append("NO_PROXY=127.0.0.1: the request still went through the proxy")
    proxy.close()
    tls_server.shutdown()

    server.shutdown()
    for f in failures:
        print(f)
    print(f"{passed} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
