#!/usr/bin/env python3
"""Malformed AWS replies end to end: a fake ECS on 127.0.0.1 answers well-formed JSON of the wrong
shape (a field of the wrong type, an array where an object belongs), and a fake STS answers XML
that is cut off or lacks what STS always sends. ecsh must exit with the protocol error code (255)
and one clear line naming the reply and the field, never report an internal error (an exception
escaping a command) and never print a table of wrong values.
"""
import urllib.parse
import argparse
import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

CLUSTER = "arn:aws:ecs:us-east-1:123456789012:cluster/prod"
TASK = "arn:aws:ecs:us-east-1:123456789012:task/prod/0123456789abcdef0123456789abcdef"
# operation -> body, replaced by each case
REPLIES = {}


class FakeEcs(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        request = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        op = self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1]
        query = not op  # the Query protocol (STS, IAM): Action=… in a form body
        if query:
            op = urllib.parse.parse_qs(request).get("Action", [""])[0]
        body = REPLIES.get(op)
        status = 200
        if body is None and query:
            status, body = 400, ("<ErrorResponse><Error><Code>InvalidAction</Code><Message>"
                                 f"unexpected {op}</Message></Error></ErrorResponse>")
        elif body is None:
            status, body = 400, json.dumps({"__type": "InvalidParameterException",
                                            "message": "unexpected " + op})
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/xml" if query else "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ecsh", required=True)
    args = ap.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), FakeEcs)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    tmp = tempfile.mkdtemp(prefix="ecsh-malformed-")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tmp,
           "AWS_CONFIG_FILE": os.path.join(tmp, "none"),
           "AWS_SHARED_CREDENTIALS_FILE": os.path.join(tmp, "none"),
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "AKIAECSHMALFORMED001",
           "AWS_SECRET_ACCESS_KEY": "malformed/secret", "NO_PROXY": "127.0.0.1"}
    failures = []

    def case(name, replies, argv, want_code, want_err):
        REPLIES.clear()
        REPLIES.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in replies.items()})
        p = subprocess.run([args.ecsh] + argv + ["--endpoint-url", url, "--region", "us-east-1"],
                           env=env, capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        problems = []
        if p.returncode != want_code:
            problems.append(f"exit {p.returncode}, wanted {want_code}")
        if p.stderr != want_err:
            problems.append(f"stderr {p.stderr!r}, wanted {want_err!r}")
        if "internal error" in p.stderr:
            problems.append("reported as an internal error")
        if want_code != 0 and p.stdout:
            problems.append(f"printed {p.stdout!r}")
        if problems:
            failures.append(f"{name}: {'; '.join(problems)}")
            print("FAIL", name)
        else:
            print("ok  ", name)

    clusters = {"clusterArns": [CLUSTER]}
    cluster = {"clusterArn": CLUSTER, "status": "ACTIVE", "activeServicesCount": 1,
               "runningTasksCount": 2, "pendingTasksCount": 0}
    case("well-formed replies still work", {"ListClusters": clusters,
                                            "DescribeClusters": {"clusters": [cluster]}},
         ["ls", "clusters", "--output", "json"], 0, "")
    case("a count that is a string", {"ListClusters": clusters, "DescribeClusters": {
        "clusters": [dict(cluster, runningTasksCount="2")]}}, ["ls", "clusters"], 255,
        "ecsh: the DescribeClusters response: clusters[0].runningTasksCount is a string, not an "
        "integer\n")
    case("a reply that is an array", {"ListClusters": clusters, "DescribeClusters": "[]"},
         ["ls", "clusters"], 255,
         "ecsh: the DescribeClusters response is an array, not a JSON object\n")
    case("an ARN that is a number", {"ListClusters": {"clusterArns": [CLUSTER, 7]}},
         ["ls", "clusters"], 255,
         "ecsh: the ListClusters response: clusterArns[1] is an integer, not a string\n")
    case("containers that are an object", {
        "ListTasks": {"taskArns": [TASK]},
        "DescribeTasks": {"tasks": [{"taskArn": TASK, "lastStatus": "RUNNING",
                                     "containers": {"name": "app"}}]}},
         ["ls", "tasks", "-c", CLUSTER], 255,
         "ecsh: the DescribeTasks response: tasks[0].containers is an object, not an array\n")
    case("a task without its ARN", {
        "ListTasks": {"taskArns": [TASK]},
        "DescribeTasks": {"tasks": [{"lastStatus": "RUNNING", "containers": []}]}},
         ["ls", "tasks", "-c", CLUSTER], 255,
         "ecsh: the DescribeTasks response: tasks[0].taskArn is missing\n")
    sts = "https://sts.amazonaws.com/doc/2011-06-15/"
    identity = (f'<GetCallerIdentityResponse xmlns="{sts}"><GetCallerIdentityResult>'
                "<Arn>arn:aws:iam::123456789012:user/alice</Arn><UserId>AIDAEXAMPLE</UserId>"
                "<Account>123456789012</Account></GetCallerIdentityResult>"
                "</GetCallerIdentityResponse>")
    case("a well-formed STS reply still works", {"GetCallerIdentity": identity},
         ["whoami", "--output", "json"], 0, "")
    case("an STS reply cut off", {"GetCallerIdentity": identity[:90]}, ["whoami"], 255,
         "ecsh: the GetCallerIdentity response is not valid XML (Error parsing start element tag "
         "at byte 89)\n")
    case("an STS reply without the caller's ARN",
         {"GetCallerIdentity": identity.replace("<Arn>arn:aws:iam::123456789012:user/alice</Arn>",
                                                "")}, ["whoami"], 255,
         "ecsh: the GetCallerIdentity response: GetCallerIdentityResult/Arn is missing\n")
    case("an HTML page instead of the reply", {"GetCallerIdentity": "<html>proxy</html>"},
         ["whoami"], 255,
         "ecsh: the GetCallerIdentity response is a <html>, not a <GetCallerIdentityResponse>\n")
    server.shutdown()
    if failures:
        print("\n".join(failures))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
