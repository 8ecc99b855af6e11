#!/usr/bin/env python3
"""The sandbox's ECS, SSM, CloudWatch Logs and KMS answers against botocore's service models.

Drives every ECS, SSM, Logs and KMS operation the sandbox serves through botocore (Debian's python3-botocore,
the models under botocore/data/), a success and at least one error for each, and validates the
raw response body, not botocore's lenient parse:

- every member is one the operation's output shape declares (the sandbox never invents fields);
- types: structures, lists, maps, strings (and enum values), integers, booleans, numbers, and
  timestamps as epoch seconds (the JSON protocol);
- the members AWS always returns are present, [] when empty (ALWAYS below; taken from AWS's
  documented responses: a jq pipeline such as `.containerDefinitions[].environment[]` must not
  die on the sandbox when it works on AWS);
- errors: `__type` is one the operation declares or one every JSON service can answer, with a
  string message, and botocore reads the same code.

Every operation the sandbox registers for those four services must appear here: the test reads the list
from the sandbox's sources and fails when one is not exercised.
"""
import argparse
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e",
                                "lib"))
from harness import Checks, wait  # noqa: E402
from sandbox_proc import ADMIN_KEY, ADMIN_SECRET, Sandbox  # noqa: E402

# No profile, config file or metadata service of this machine may leak in.
for k in list(os.environ):
    if k.startswith("AWS_"):
        del os.environ[k]
os.environ.update({"AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
                   "AWS_EC2_METADATA_DISABLED": "true"})

import botocore.session  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "000000000000"
SSM_ACTIONS = ["ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
               "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel"]
READER = ("AKIAECSHCONFREADER01", "reader-secret")  # may only read: errors by AccessDenied

# Members AWS returns in every instance of these shapes (lists as [] when empty).
ALWAYS = {
    "TaskDefinition": ["taskDefinitionArn", "containerDefinitions", "family", "revision",
                       "volumes", "status", "requiresAttributes", "placementConstraints",
                       "compatibilities", "requiresCompatibilities", "networkMode",
                       "registeredAt", "registeredBy"],
    "ContainerDefinition": ["name", "image", "cpu", "essential", "portMappings", "environment",
                            "mountPoints", "volumesFrom"],
    "PortMapping": ["containerPort", "protocol"],
    "Task": ["taskArn", "clusterArn", "taskDefinitionArn", "lastStatus", "desiredStatus",
             "createdAt", "containers", "attachments", "overrides", "tags", "version",
             "launchType", "enableExecuteCommand", "availabilityZone", "connectivity",
             "healthStatus", "inferenceAccelerators"],
    "Container": ["containerArn", "taskArn", "name", "image", "lastStatus", "networkBindings",
                  "networkInterfaces", "healthStatus", "cpu"],
    "TaskOverride": ["containerOverrides", "inferenceAcceleratorOverrides"],
    "ManagedAgent": ["name", "lastStatus", "lastStartedAt"],
    "Attachment": ["id", "type", "status", "details"],
    "Service": ["serviceArn", "serviceName", "clusterArn", "status", "desiredCount",
                "runningCount", "pendingCount", "taskDefinition", "deploymentConfiguration",
                "deployments", "events", "createdAt", "loadBalancers", "serviceRegistries",
                "placementConstraints", "placementStrategy", "schedulingStrategy",
                "deploymentController", "enableECSManagedTags", "propagateTags",
                "enableExecuteCommand", "roleArn", "createdBy"],
    "Deployment": ["id", "status", "taskDefinition", "desiredCount", "pendingCount",
                   "runningCount", "failedTasks", "createdAt", "updatedAt", "rolloutState"],
    "Cluster": ["clusterArn", "clusterName", "status", "registeredContainerInstancesCount",
                "runningTasksCount", "pendingTasksCount", "activeServicesCount", "statistics",
                "tags", "settings", "capacityProviders", "defaultCapacityProviderStrategy"],
    "ContainerInstance": ["containerInstanceArn", "ec2InstanceId", "version", "versionInfo",
                          "remainingResources", "registeredResources", "status",
                          "agentConnected", "runningTasksCount", "pendingTasksCount",
                          "attributes", "registeredAt", "tags"],
    "Failure": ["arn", "reason"],
    # SSM
    "Session": ["SessionId", "Target", "Status", "StartDate", "DocumentName", "Owner"],
    "InstanceInformation": ["InstanceId", "PingStatus", "AgentVersion", "PlatformType",
                            "ResourceType", "IPAddress"],
    # KMS
    "KeyMetadata": ["AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled", "Description",
                    "KeyUsage", "KeyState", "Origin", "KeyManager", "KeySpec",
                    "EncryptionAlgorithms", "MultiRegion"],
}
# The ECS shape Session (ExecuteCommand) shares its name with SSM's: per service.
ALWAYS_BY_SERVICE = {"ecs": {"Session": ["sessionId", "streamUrl", "tokenValue"]}}

# Errors any JSON 1.1 service answers whatever the operation declares.
COMMON_ERRORS = {"AccessDeniedException", "ThrottlingException", "UnrecognizedClientException",
                 "InvalidSignatureException", "IncompleteSignature", "ExpiredTokenException",
                 "ValidationException", "ServiceUnavailable", "InternalFailure"}

check = Checks()


class Conformance:
    def __init__(self, sandbox):
        self.sb = sandbox
        self.session = botocore.session.get_session()
        self.exercised = {}  # (service, operation) -> set of "ok"/"error"
        self.clients = {}

    def client(self, service, key=(ADMIN_KEY, ADMIN_SECRET)):
        k = (service, key)
        if k not in self.clients:
            c = self.session.create_client(
                service, region_name=REGION, endpoint_url=self.sb.url,
                aws_access_key_id=key[0], aws_secret_access_key=key[1],
                config=Config(retries={"max_attempts": 1}, read_timeout=30, connect_timeout=5))
            c.meta.events.register("after-call", self._after_call)
            self.clients[k] = c
        return self.clients[k]

    def _after_call(self, http_response, parsed, model, **kwargs):
        self._last = (http_response, parsed, model)

    # -- running one call ------------------------------------------------------------------
    def call(self, service, op, /, key=(ADMIN_KEY, ADMIN_SECRET), expect_error=None, **params):
        """Calls op, validates the raw answer; returns the parsed result (or the ClientError)."""
        c = self.client(service, key)
        method = getattr(c, re.sub(r"(?<!^)(?=[A-Z])", "_", op).lower())
        self._last = None
        err = None
        try:
            out = method(**params)
        except ClientError as e:
            err, out = e, None
        http, parsed, model = self._last
        raw = http.content.decode("utf-8", "replace")
        label = f"{service} {op} " + (f"error {expect_error}" if expect_error else "ok")
        problems = []
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            body, problems = None, [f"body is not JSON: {raw[:200]!r}"]
        if not http.headers.get("x-amzn-RequestId"):
            problems.append("no x-amzn-RequestId header")
        if expect_error:
            code = err.response["Error"]["Code"] if err else None
            if code != expect_error:
                problems.append(f"expected {expect_error}, got {code or 'success'}")
            if body is not None:
                declared = {s.name for s in model.error_shapes}
                wire = str(body.get("__type", "")).split("#")[-1]
                if wire not in declared | COMMON_ERRORS:
                    problems.append(f"__type {wire!r} is not an error {op} declares "
                                    f"({sorted(declared)}) nor a common one")
                if not isinstance(body.get("message", body.get("Message")), str):
                    problems.append("error without a string message")
                if http.status_code < 400:
                    problems.append(f"error with HTTP {http.status_code}")
        else:
            if err:
                problems.append(f"failed: {err}")
            elif body is not None:
                validate(service, model.output_shape, body, op, problems)
        self.exercised.setdefault((service, op), set()).add("error" if expect_error else "ok")
        check(not problems, label, "; ".join(problems[:8]))
        return out if not expect_error else err


def validate(service, shape, value, path, problems):
    if shape is None:
        if value not in ({}, None):
            problems.append(f"{path}: the operation has no output, got {value!r:.80}")
        return
    t = shape.type_name
    if t == "structure":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object ({shape.name}), got {type(value).__name__}")
            return
        for k, v in value.items():
            if k not in shape.members:
                problems.append(f"{path}.{k}: not a member of {shape.name}")
                continue
            validate(service, shape.members[k], v, f"{path}.{k}", problems)
        always = ALWAYS_BY_SERVICE.get(service, {}).get(shape.name, ALWAYS.get(shape.name, []))
        for k in list(always) + list(getattr(shape, "required_members", []) or []):
            if k not in value:
                problems.append(f"{path}: {shape.name} without {k} (AWS always returns it)")
    elif t == "list":
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, v in enumerate(value):
            validate(service, shape.member, v, f"{path}[{i}]", problems)
    elif t == "map":
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        for k, v in value.items():
            validate(service, shape.value, v, f"{path}[{k}]", problems)
    elif t == "string":
        if not isinstance(value, str):
            problems.append(f"{path}: expected a string, got {value!r:.60}")
        elif shape.enum and value not in shape.enum:
            problems.append(f"{path}: {value!r} is not one of {shape.name}'s values {shape.enum}")
    elif t in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(f"{path}: expected an integer, got {value!r:.60}")
    elif t in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected a number, got {value!r:.60}")
    elif t == "boolean":
        if not isinstance(value, bool):
            problems.append(f"{path}: expected a boolean, got {value!r:.60}")
    elif t == "timestamp":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}: expected epoch seconds, got {value!r:.60}")
        elif not 1.5e9 < value < 4e9:
            problems.append(f"{path}: {value} is not a plausible time")
    elif t == "blob":
        if not isinstance(value, str):
            problems.append(f"{path}: expected base64 text, got {value!r:.60}")


def policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def scenario():
    return {
        "users": [{"name": "reader", "access_key_id": READER[0], "secret_access_key": READER[1],
                   "policies": [policy({"Effect": "Allow", "Action": ["sts:GetCallerIdentity"],
                                        "Resource": "*"})]}],
        "roles": [{"name": "exec-role", "policies": [policy({"Effect": "Allow",
                                                             "Action": SSM_ACTIONS,
                                                             "Resource": "*"})]},
                  {"name": "plain-role", "policies": [policy({"Effect": "Allow",
                                                              "Action": ["s3:GetObject"],
                                                              "Resource": "*"})]}],
        "clusters": [{"name": "conf", "capacity": {"fargate": True}},
                     {"name": "hosts", "container_instances": [
                         {"instance_id": "i-0c0f0a0b0c0d0e0f1", "agent_version": "1.80.0",
                          "private_ip": "127.0.0.1"}]}],
    }


def served_operations(source_root):
    """(service, operation) pairs the sandbox registers for ECS, SSM, CloudWatch Logs and KMS,
    read from its sources."""
    ops = set()
    for service, path in (("ecs", "sandbox/ecs/ecs_routes.cpp"), ("ssm", "sandbox/ssm/ssm_module.cpp"),
                          ("logs", "sandbox/logs/logs_module.cpp"),
                          ("kms", "sandbox/kms/kms_module.cpp")):
        with open(os.path.join(source_root, path)) as f:
            text = f.read()
        for name in re.findall(r'\badd\(\s*"([A-Z][A-Za-z]+)"', text):
            ops.add((service, name))
    return ops


def run(cf, sb):
    ecs = lambda op, **kw: cf.call("ecs", op, **kw)  # noqa: E731
    ssm = lambda op, **kw: cf.call("ssm", op, **kw)  # noqa: E731
    role = f"arn:aws:iam::{ACCOUNT}:role/exec-role"
    plain = f"arn:aws:iam::{ACCOUNT}:role/plain-role"

    # Clusters.
    ecs("CreateCluster", clusterName="made",
        tags=[{"key": "team", "value": "a"}],
        configuration={"executeCommandConfiguration": {"logging": "DEFAULT"}})
    ecs("CreateCluster", key=READER, expect_error="AccessDeniedException", clusterName="nope")
    ecs("UpdateCluster", cluster="made",
        configuration={"executeCommandConfiguration": {"logging": "NONE"}})
    ecs("UpdateCluster", expect_error="ClusterNotFoundException", cluster="missing",
        configuration={"executeCommandConfiguration": {"logging": "NONE"}})
    ecs("DescribeClusters", clusters=["conf", "made", "missing"], include=["CONFIGURATIONS", "TAGS"])
    ecs("DescribeClusters", key=READER, expect_error="AccessDeniedException", clusters=["conf"])
    ecs("ListClusters")
    ecs("ListClusters", key=READER, expect_error="AccessDeniedException")

    # Task definitions: a minimal one (every default filled in) and a fuller one.
    minimal = ecs("RegisterTaskDefinition", family="minimal",
                  containerDefinitions=[{"name": "app", "image": "app:1"}])
    cd = minimal["taskDefinition"]["containerDefinitions"][0]
    check(cd.get("environment") == [] and cd.get("mountPoints") == [] and
          cd.get("volumesFrom") == [] and cd.get("portMappings") == [],
          "a container definition registered without lists has them as []", cd)
    env = [e["name"] for c in minimal["taskDefinition"]["containerDefinitions"]
           for e in c["environment"]]
    check(env == [], "`.containerDefinitions[].environment[]` works on a minimal definition", env)
    ecs("RegisterTaskDefinition", family="web", networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], cpu="256", memory="512", taskRoleArn=role,
        containerDefinitions=[{"name": "app", "image": "app:1", "command": ["sleep", "100000"],
                               "portMappings": [{"containerPort": 80}],
                               "environment": [{"name": "MODE", "value": "test"}],
                               "linuxParameters": {"initProcessEnabled": True}}],
        tags=[{"key": "k", "value": "v"}])
    ecs("RegisterTaskDefinition", family="plain", networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], cpu="256", memory="512", taskRoleArn=plain,
        containerDefinitions=[{"name": "app", "image": "app:1", "command": ["sleep", "100000"]}])
    ecs("RegisterTaskDefinition", expect_error="InvalidParameterException", family="bad",
        containerDefinitions=[{"name": "app"}])
    web = ecs("DescribeTaskDefinition", taskDefinition="web")
    pm = web["taskDefinition"]["containerDefinitions"][0]["portMappings"][0]
    check(pm.get("hostPort") == 80 and pm.get("protocol") == "tcp",
          "awsvpc port mappings get hostPort and protocol as on AWS", pm)
    ecs("DescribeTaskDefinition", expect_error="ClientException", taskDefinition="missing:3")
    ecs("ListTaskDefinitions", familyPrefix="web")
    ecs("ListTaskDefinitions", key=READER, expect_error="AccessDeniedException")

    # Services.
    net = {"awsvpcConfiguration": {"subnets": ["subnet-0ec5a0d0000000001"]}}
    ecs("CreateService", cluster="conf", serviceName="web", taskDefinition="web", desiredCount=1,
        launchType="FARGATE", enableExecuteCommand=True, networkConfiguration=net)
    ecs("CreateService", expect_error="InvalidParameterException", cluster="conf",
        serviceName="bad", taskDefinition="missing", desiredCount=1)
    ecs("UpdateService", cluster="conf", service="web", desiredCount=1)
    ecs("UpdateService", expect_error="ServiceNotFoundException", cluster="conf",
        service="missing", desiredCount=1)
    ecs("ListServices", cluster="conf")
    ecs("ListServices", expect_error="ClusterNotFoundException", cluster="missing")
    ecs("DeleteCluster", expect_error="ClusterContainsServicesException", cluster="conf")

    # Tasks.
    ran = ecs("RunTask", cluster="conf", taskDefinition="web", launchType="FARGATE",
              enableExecuteCommand=True, networkConfiguration=net,
              overrides={"containerOverrides": []}, tags=[{"key": "k", "value": "v"}])
    task_arn = ran["tasks"][0]["taskArn"]
    ecs("RunTask", expect_error="ClusterNotFoundException", cluster="missing", taskDefinition="web")
    e = ecs("RunTask", expect_error="InvalidParameterException", cluster="conf",
            taskDefinition="web", launchType="FARGATE")
    check("Network Configuration must be provided" in str(e),
          "RunTask of an awsvpc task definition without subnets: AWS's InvalidParameterException",
          e)
    plain_task = ecs("RunTask", cluster="conf", taskDefinition="plain", launchType="FARGATE",
                     enableExecuteCommand=True, networkConfiguration=net)["tasks"][0]["taskArn"]
    no_exec = ecs("RunTask", cluster="conf", taskDefinition="web", launchType="FARGATE",
                  networkConfiguration=net)["tasks"][0]["taskArn"]
    ecs("StartTask", cluster="hosts", taskDefinition="minimal:1",
        containerInstances=[list_instance(cf)])
    ecs("StartTask", expect_error="ClusterNotFoundException", cluster="missing",
        taskDefinition="web", containerInstances=["x"])

    def running(arns):
        c = cf.client("ecs")
        d = c.describe_tasks(cluster="conf", tasks=arns)["tasks"]
        return all(t["lastStatus"] == "RUNNING" for t in d) and d
    wait(lambda: running([task_arn, plain_task, no_exec]), "the tasks to run", timeout=30)
    wait(lambda: ecs_running_service(cf), "the service's task to run", timeout=30)
    ecs("DescribeServices", cluster="conf", services=["web", "missing"])
    ecs("DescribeServices", expect_error="ClusterNotFoundException", cluster="missing",
        services=["web"])
    ecs("ListTasks", cluster="conf")
    ecs("ListTasks", expect_error="ClusterNotFoundException", cluster="missing")
    d = ecs("DescribeTasks", cluster="conf", tasks=[task_arn, "arn:aws:ecs:us-east-1:"
                                                   f"{ACCOUNT}:task/conf/0000"], include=["TAGS"])
    t = d["tasks"][0]
    check(t["containers"][0]["networkInterfaces"] and t["attachments"],
          "a Fargate task has its ENI attachment and the container's network interface",
          t["containers"][0])
    ecs("DescribeTasks", expect_error="ClusterNotFoundException", cluster="missing",
        tasks=[task_arn])

    # Container instances.
    reg = ecs("RegisterContainerInstance", cluster="hosts",
              instanceIdentityDocument=json.dumps({"instanceId": "i-0c0f0a0b0c0d0e0f2",
                                                   "privateIp": "127.0.0.1"}),
              versionInfo={"agentVersion": "1.80.0", "agentHash": "abc",
                           "dockerVersion": "DockerVersion: 20.10.25"})
    ecs("RegisterContainerInstance", expect_error="ClientException", cluster="missing")
    ecs("ListContainerInstances", cluster="hosts")
    ecs("ListContainerInstances", expect_error="ClusterNotFoundException", cluster="missing")
    ecs("DescribeContainerInstances", cluster="hosts",
        containerInstances=[reg["containerInstance"]["containerInstanceArn"], "missing"])
    ecs("DescribeContainerInstances", expect_error="ClusterNotFoundException", cluster="missing",
        containerInstances=["x"])

    # ExecuteCommand: a session; a task started without exec; a role the agent cannot use
    # (AWS: the agent shows RUNNING and the call fails with TargetNotConnectedException).
    ex = ecs("ExecuteCommand", cluster="conf", task=task_arn, container="app", interactive=True,
             command="/bin/sh")
    session_id = ex["session"]["sessionId"]
    ecs("ExecuteCommand", expect_error="InvalidParameterException", cluster="conf", task=no_exec,
        container="app", interactive=True, command="/bin/sh")
    ecs("ExecuteCommand", expect_error="TargetNotConnectedException", cluster="conf",
        task=plain_task, container="app", interactive=True, command="/bin/sh")
    ecs("ExecuteCommand", key=READER, expect_error="AccessDeniedException", cluster="conf",
        task=task_arn, container="app", interactive=True, command="/bin/sh")
    pd = cf.client("ecs").describe_tasks(cluster="conf", tasks=[plain_task])["tasks"][0]
    agent = pd["containers"][0]["managedAgents"][0]
    check(agent["lastStatus"] == "RUNNING" and "reason" not in agent,
          "a task role without ssmmessages: the agent shows RUNNING with no reason, as on AWS",
          agent)

    # Tags.
    ecs("TagResource", resourceArn=task_arn, tags=[{"key": "a", "value": "b"}])
    ecs("TagResource", expect_error="ResourceNotFoundException",
        resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/missing", tags=[{"key": "a", "value": "b"}])
    ecs("UntagResource", resourceArn=task_arn, tagKeys=["a"])
    ecs("UntagResource", expect_error="ResourceNotFoundException",
        resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/missing", tagKeys=["a"])
    ecs("ListTagsForResource", resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/made")
    ecs("ListTagsForResource", expect_error="ClusterNotFoundException",
        resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/missing")
    ecs("ListTagsForResource", expect_error="InvalidParameterException",
        resourceArn=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/conf/00000000000000000000000000000000")

    # SSM.
    started = ssm("StartSession", Target="i-0c0f0a0b0c0d0e0f1")
    ssm("StartSession", expect_error="TargetNotConnected", Target="i-0000000000000dead")
    ssm("ResumeSession", SessionId=started["SessionId"])
    ssm("ResumeSession", expect_error="DoesNotExistException", SessionId="nobody-0123456789abcdef0")
    ssm("DescribeSessions", State="Active")
    ssm("DescribeSessions", key=READER, expect_error="AccessDeniedException", State="Active")
    ssm("DescribeInstanceInformation")
    ssm("DescribeInstanceInformation", key=READER, expect_error="AccessDeniedException")
    ssm("TerminateSession", SessionId=started["SessionId"])
    ssm("TerminateSession", SessionId=session_id)
    ssm("TerminateSession", key=READER, expect_error="AccessDeniedException", SessionId=session_id)

    logs_ops(cf)

    # Tear-down paths last.
    ecs("StopTask", cluster="conf", task=no_exec)
    ecs("StopTask", expect_error="InvalidParameterException", cluster="conf",
        task=f"arn:aws:ecs:{REGION}:{ACCOUNT}:task/conf/00000000000000000000000000000000")
    ecs("DeleteService", expect_error="InvalidParameterException", cluster="conf", service="web")
    ecs("DeleteService", cluster="conf", service="web", force=True)
    ecs("DeregisterTaskDefinition", taskDefinition="minimal:1")
    ecs("DeregisterTaskDefinition", expect_error="ClientException", taskDefinition="missing:1")
    ecs("DeleteCluster", cluster="made")
    ecs("DeleteCluster", expect_error="ClusterNotFoundException", cluster="missing")


def logs_ops(cf):
    """CloudWatch Logs: groups, streams, events; GetLogEvents' tokens and FilterLogEvents'
    patterns and pages."""
    logs = lambda op, **kw: cf.call("logs", op, **kw)  # noqa: E731
    logs("CreateLogGroup", logGroupName="/conf/app")
    logs("CreateLogGroup", expect_error="ResourceAlreadyExistsException", logGroupName="/conf/app")
    logs("CreateLogStream", logGroupName="/conf/app", logStreamName="ecs/app/1")
    logs("CreateLogStream", logGroupName="/conf/app", logStreamName="ecs/app/2")
    logs("CreateLogStream", expect_error="ResourceNotFoundException",
         logGroupName="/conf/missing", logStreamName="x")
    now = int(time.time() * 1000)
    logs("PutLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/1",
         logEvents=[{"timestamp": now + i, "message": f"line {i}"} for i in range(5)])
    logs("PutLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/2",
         logEvents=[{"timestamp": now + 2, "message": "other stream"}])
    logs("PutLogEvents", expect_error="ResourceNotFoundException", logGroupName="/conf/app",
         logStreamName="missing", logEvents=[{"timestamp": now, "message": "x"}])
    logs("DescribeLogGroups", logGroupNamePrefix="/conf")
    logs("DescribeLogGroups", key=READER, expect_error="AccessDeniedException")
    d = logs("DescribeLogStreams", logGroupName="/conf/app", limit=1)
    check(len(d["logStreams"]) == 1 and d.get("nextToken"),
          "logs DescribeLogStreams: a page and a token", d)
    logs("DescribeLogStreams", logGroupName="/conf/app", orderBy="LastEventTime", descending=True)
    logs("DescribeLogStreams", expect_error="InvalidParameterException", logGroupName="/conf/app",
         orderBy="LastEventTime", logStreamNamePrefix="ecs/")
    first = logs("GetLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/1",
                 startFromHead=True, limit=2)
    rest = logs("GetLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/1",
                nextToken=first["nextForwardToken"])
    end = logs("GetLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/1",
               nextToken=rest["nextForwardToken"])
    check([e["message"] for e in first["events"] + rest["events"]] ==
          [f"line {i}" for i in range(5)] and not end["events"] and
          end["nextForwardToken"] == rest["nextForwardToken"],
          "logs GetLogEvents: forward tokens read every event once; at the end the same token",
          (first, rest, end))
    tail = logs("GetLogEvents", logGroupName="/conf/app", logStreamName="ecs/app/1", limit=2)
    check([e["message"] for e in tail["events"]] == ["line 3", "line 4"],
          "logs GetLogEvents without a token: the last events", tail)
    logs("GetLogEvents", expect_error="ResourceNotFoundException", logGroupName="/conf/app",
         logStreamName="missing")
    f = logs("FilterLogEvents", logGroupName="/conf/app", limit=3)
    g = logs("FilterLogEvents", logGroupName="/conf/app", nextToken=f["nextToken"])
    merged = [(e["timestamp"], e["message"]) for e in f["events"] + g["events"]]
    check(len(merged) == 6 and merged == sorted(merged, key=lambda x: x[0]) and
          len({e["eventId"] for e in f["events"] + g["events"]}) == 6,
          "logs FilterLogEvents: streams interleaved by time, pages, unique event IDs", merged)
    h = logs("FilterLogEvents", logGroupName="/conf/app", filterPattern='"line 3"',
             logStreamNames=["ecs/app/1", "ecs/app/2"], startTime=now, endTime=now + 10)
    check([e["message"] for e in h["events"]] == ["line 3"],
          "logs FilterLogEvents: a quoted phrase, stream names and a time range", h)
    logs("FilterLogEvents", expect_error="InvalidParameterException", logGroupName="/conf/app",
         logStreamNames=["ecs/app/1"], logStreamNamePrefix="ecs/")


def kms_ops(cf):
    """KMS: keys, and data keys bound to their encryption context."""
    kms = lambda op, **kw: cf.call("kms", op, **kw)  # noqa: E731
    key = kms("CreateKey", Description="conformance")["KeyMetadata"]
    kms("CreateKey", key=READER, expect_error="AccessDeniedException")
    kms("DescribeKey", KeyId=key["Arn"])
    kms("DescribeKey", expect_error="NotFoundException",
        KeyId="0b5e7c1a-0000-4000-8000-00000000ffff")
    context = {"aws:ecs:clusterName": "conf"}
    data = kms("GenerateDataKey", KeyId=key["KeyId"], KeySpec="AES_256",
               EncryptionContext=context)
    kms("GenerateDataKey", expect_error="ValidationException", KeyId=key["KeyId"],
        NumberOfBytes=2048)
    back = kms("Decrypt", CiphertextBlob=data["CiphertextBlob"], EncryptionContext=context)
    check(back["Plaintext"] == data["Plaintext"] and len(data["Plaintext"]) == 32,
          "kms Decrypt gives back the data key", (len(data["Plaintext"]), back.get("KeyId")))
    kms("Decrypt", expect_error="InvalidCiphertextException", CiphertextBlob=data["CiphertextBlob"],
        EncryptionContext={"aws:ecs:clusterName": "other"})


def list_instance(cf):
    return cf.client("ecs").list_container_instances(cluster="hosts")["containerInstanceArns"][0]


def ecs_running_service(cf):
    s = cf.client("ecs").describe_services(cluster="conf", services=["web"])["services"][0]
    return s["runningCount"] >= 1


def iam_access_key_owner(cf):
    """GetAccessKeyLastUsed (Query/XML, parsed by botocore): whose key it is."""
    iam = cf.client("iam")
    got = iam.get_access_key_last_used(AccessKeyId=READER[0])
    check(got.get("UserName") == "reader" and
          got.get("AccessKeyLastUsed", {}).get("ServiceName") == "N/A",
          "iam GetAccessKeyLastUsed ok: the key's user", got)
    try:
        iam.get_access_key_last_used(AccessKeyId="AKIAECSHCONFNOSUCH01")
        code = None
    except ClientError as e:
        code = e.response["Error"]["Code"]
    check(code == "NoSuchEntity", "iam GetAccessKeyLastUsed error NoSuchEntity for an unknown key",
          code)


def explaining_mode(binary):
    """--explain-exec-failures: the agent that cannot connect is STOPPED with the reason."""
    sb = Sandbox(binary, scenario=scenario(), args=["--agent-pacing", "none",
                                                    "--explain-exec-failures"]).start()
    try:
        cf = Conformance(sb)
        c = cf.client("ecs")
        c.register_task_definition(
            family="plain", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
            memory="512", taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/plain-role",
            containerDefinitions=[{"name": "app", "image": "app:1", "command": ["sleep", "100000"]}])
        arn = c.run_task(cluster="conf", taskDefinition="plain", launchType="FARGATE",
                         enableExecuteCommand=True, networkConfiguration={"awsvpcConfiguration": {
                             "subnets": ["subnet-0ec5a0d0000000001"]}})["tasks"][0]["taskArn"]

        def agent():
            t = c.describe_tasks(cluster="conf", tasks=[arn])["tasks"][0]
            agents = t["containers"][0].get("managedAgents", [])
            return t["lastStatus"] == "RUNNING" and agents and agents[0]
        a = wait(agent, "the task to run", timeout=30)
        check(a["lastStatus"] == "STOPPED" and "ssmmessages" in a.get("reason", ""),
              "--explain-exec-failures: the agent is STOPPED with the permission it lacks", a)
    finally:
        sb.cleanup()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sandbox", required=True)
    ap.add_argument("--source-root", required=True)
    opts = ap.parse_args()
    sb = Sandbox(opts.sandbox, scenario=scenario(), args=["--agent-pacing", "none"]).start()
    try:
        cf = Conformance(sb)
        run(cf, sb)
        kms_ops(cf)
        served = served_operations(opts.source_root)
        check(len(served) >= 30, f"found the operations the sandbox serves ({len(served)})",
              sorted(served))
        for service, op in sorted(served):
            got = cf.exercised.get((service, op), set())
            check(got == {"ok", "error"}, f"{service} {op}: a success and an error exercised",
                  sorted(got))
        iam_access_key_owner(cf)
    finally:
        sb.cleanup()
    explaining_mode(opts.sandbox)
    if check.exit_code():
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
