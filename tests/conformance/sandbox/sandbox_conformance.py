#!/usr/bin/env python3
"""The sandbox's answers against botocore's service models: ECS, SSM, CloudWatch Logs and KMS
(JSON 1.1), IAM and STS (Query, XML) and EC2 (EC2's Query dialect, XML).

Drives every operation the sandbox serves for those seven services through botocore (Debian's
python3-botocore, the models under botocore/data/), a success and at least one error for each,
and validates the raw response body, not botocore's lenient parse:

- every member (JSON) or element (XML, by its locationName) is one the operation's output shape
  declares (the sandbox never invents fields);
- types: structures, lists, maps, strings (and enum values), integers, booleans, numbers, and
  timestamps: epoch seconds in JSON, ISO 8601 in XML, where booleans are `true`/`false`;
- XML envelopes: Query's <OpResponse><OpResult>…</OpResult><ResponseMetadata><RequestId>, with
  no <OpResult> for an operation without output, lists as <member> items and maps as
  <entry><key/><value/>; EC2's <OpResponse xmlns=…><requestId> then the members, lists as
  <item>s;
- the members AWS always returns are present, [] when empty (ALWAYS and XML_ALWAYS below; taken
  from AWS's documented responses: a jq pipeline such as `.containerDefinitions[].environment[]`
  must not die on the sandbox when it works on AWS);
- errors: the code is one the operation declares or one every service of the protocol can
  answer (JSON `__type` with a string message; Query <ErrorResponse><Error><Type/><Code/>
  <Message/></Error><RequestId/>; EC2 <Response><Errors><Error><Code/><Message/></Error>
  </Errors><RequestID/>), with an HTTP error status, and botocore reads the same code.

Every operation the sandbox registers for those seven services must appear here: the test reads
the list from the sandbox's sources and fails when one is not exercised.
"""
import argparse
import base64
import binascii
import json
import os
import re
import sys
import time
import xml.etree.ElementTree as ET

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
VPC, SUBNET = "vpc-0ec5a0d0000000001", "subnet-0ec5a0d0000000001"  # the sandbox's default
PRIVATE_VPC = "vpc-0ec5a0d0000000002"
NAT_SUBNET, ISOLATED_SUBNET = "subnet-0ec5a0d0000000002", "subnet-0ec5a0d0000000003"

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

# The XML services (IAM and STS speak Query, EC2 its own dialect): members AWS always returns,
# by the botocore member name (the element is the member's locationName).
XML_ALWAYS = {
    "iam": {
        "Role": ["Path", "RoleName", "RoleId", "Arn", "CreateDate", "AssumeRolePolicyDocument"],
        "User": ["Path", "UserName", "UserId", "Arn", "CreateDate"],
        "InstanceProfile": ["Path", "InstanceProfileName", "InstanceProfileId", "Arn",
                            "CreateDate", "Roles"],
        "Policy": ["PolicyName", "PolicyId", "Arn", "Path", "DefaultVersionId", "AttachmentCount",
                   "PermissionsBoundaryUsageCount", "IsAttachable", "CreateDate", "UpdateDate"],
        "PolicyVersion": ["Document", "VersionId", "IsDefaultVersion", "CreateDate"],
        "AttachedPolicy": ["PolicyName", "PolicyArn"],
        "AttachedPermissionsBoundary": ["PermissionsBoundaryType", "PermissionsBoundaryArn"],
        "EvaluationResult": ["EvalActionName", "EvalResourceName", "EvalDecision",
                             "MatchedStatements", "MissingContextValues"],
        "ListRolesResponse": ["Roles", "IsTruncated"],
        "ListRolePoliciesResponse": ["PolicyNames", "IsTruncated"],
        "ListAttachedRolePoliciesResponse": ["AttachedPolicies", "IsTruncated"],
        "SimulatePolicyResponse": ["EvaluationResults", "IsTruncated"],
        "GetAccessKeyLastUsedResponse": ["UserName", "AccessKeyLastUsed"],
    },
    "sts": {
        "GetCallerIdentityResponse": ["UserId", "Account", "Arn"],
        "AssumeRoleResponse": ["Credentials", "AssumedRoleUser"],
    },
    "ec2": {
        "Vpc": ["VpcId", "State", "CidrBlock", "OwnerId", "IsDefault"],
        "Subnet": ["SubnetId", "SubnetArn", "State", "VpcId", "OwnerId", "CidrBlock",
                   "AvailabilityZone", "AvailableIpAddressCount", "DefaultForAz",
                   "MapPublicIpOnLaunch"],
        "RouteTable": ["RouteTableId", "VpcId", "OwnerId", "Routes", "Associations"],
        "Route": ["DestinationCidrBlock", "State", "Origin"],
        "RouteTableAssociation": ["Main", "RouteTableAssociationId", "RouteTableId",
                                  "AssociationState"],
        "VpcEndpoint": ["VpcEndpointId", "VpcEndpointType", "VpcId", "ServiceName", "State"],
        "Reservation": ["ReservationId", "OwnerId", "Instances"],
        "Instance": ["InstanceId", "ImageId", "State", "InstanceType", "LaunchTime", "Placement",
                     "PrivateIpAddress", "SubnetId", "VpcId"],
        "InstanceState": ["Code", "Name"],
        "DescribeVpcsResult": ["Vpcs"],
        "DescribeSubnetsResult": ["Subnets"],
        "DescribeRouteTablesResult": ["RouteTables"],
        "DescribeVpcEndpointsResult": ["VpcEndpoints"],
        "DescribeInstancesResult": ["Reservations"],
        "Region": ["RegionName", "Endpoint", "OptInStatus"],
        "DescribeRegionsResult": ["Regions"],
    },
}
# Per operation, beyond the shape's list: GetRole alone returns MaxSessionDuration and
# RoleLastUsed (empty for a role never used); ListRoles and CreateRole leave RoleLastUsed out.
XML_ALWAYS_BY_OPERATION = {
    ("iam", "GetRole"): {"Role": XML_ALWAYS["iam"]["Role"] + ["MaxSessionDuration",
                                                              "RoleLastUsed"]},
}
# Members botocore's model marks required that AWS leaves out: a key never used has no
# LastUsedDate (ServiceName and Region say N/A; newer models dropped the requirement).
REQUIRED_BUT_ABSENT_ON_AWS = {("AccessKeyLastUsed", "LastUsedDate")}
# Values AWS sends that the model's enum lacks. EC2 sends a VPC endpoint's state in lower camel
# case ("available"); IAM's simulator names a principal's policies' source "IAM Policy".
ENUM_AS_AWS_SENDS = {
    ("ec2", "State"): {"pendingAcceptance", "pending", "available", "deleting", "deleted",
                       "rejected", "failed", "expired", "partial"},
    ("iam", "PolicySourceType"): {"IAM Policy"},
}
# Errors any Query service (IAM, STS) answers whatever the operation declares.
COMMON_QUERY_ERRORS = {"AccessDenied", "InvalidClientTokenId", "SignatureDoesNotMatch",
                       "IncompleteSignature", "ExpiredToken", "Throttling", "ValidationError",
                       "InvalidAction", "MissingParameter", "InvalidParameterValue",
                       "MissingAuthenticationToken", "RequestExpired", "ServiceUnavailable",
                       "InternalFailure"}
# EC2's model declares no errors: the codes of AWS's EC2 error list each operation can answer,
# and those every EC2 operation can.
EC2_ERRORS = {
    "DescribeVpcs": {"InvalidVpcID.NotFound", "InvalidVpcID.Malformed"},
    "DescribeSubnets": {"InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"},
    "DescribeVpcEndpoints": {"InvalidVpcEndpointId.NotFound", "InvalidVpcEndpointId.Malformed"},
    "DescribeRouteTables": {"InvalidRouteTableID.NotFound", "InvalidRouteTableId.Malformed"},
    "DescribeInstances": {"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"},
    "DescribeRegions": {"InvalidParameterValue"},
}
COMMON_EC2_ERRORS = {"UnauthorizedOperation", "AuthFailure", "RequestLimitExceeded",
                     "InvalidParameterValue", "InvalidParameter",
                     "InvalidParameterCombination", "MissingParameter", "InvalidAction",
                     "OptInRequired", "Unavailable", "InternalError"}
ISO8601 = re.compile(r"(\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


class CountingChecks(Checks):
    def __init__(self):
        super().__init__()
        self.count = 0

    def __call__(self, cond, what, detail=""):
        self.count += 1
        return super().__call__(cond, what, detail)


check = CountingChecks()


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
        label = f"{service} {op} " + (f"error {expect_error}" if expect_error else "ok")
        problems = []
        if expect_error:
            code = err.response["Error"]["Code"] if err else None
            if code != expect_error:
                problems.append(f"expected {expect_error}, got {code or 'success'}")
        elif err:
            problems.append(f"failed: {err}")
        if model.metadata["protocol"] in ("query", "ec2"):
            check_xml(service, model, http, err, expect_error, problems)
        else:
            check_json(service, model, http, err, expect_error, problems)
        self.exercised.setdefault((service, op), set()).add("error" if expect_error else "ok")
        check(not problems, label, "; ".join(problems[:8]))
        return out if not expect_error else err


def check_json(service, model, http, err, expect_error, problems):
    raw = http.content.decode("utf-8", "replace")
    op = model.name
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        body = None
        problems.append(f"body is not JSON: {raw[:200]!r}")
    if not http.headers.get("x-amzn-RequestId"):
        problems.append("no x-amzn-RequestId header")
    if expect_error:
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
    elif not err and body is not None:
        validate(service, model.output_shape, body, op, problems)


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


# -- the XML protocols -------------------------------------------------------------------------
def local(tag):
    """An element's name without its namespace."""
    return tag.rsplit("}", 1)[-1]


def child_names(el):
    return [local(c.tag) for c in el]


def check_xml(service, model, http, err, expect_error, problems):
    """IAM and STS (Query: <OpResponse><OpResult>…</OpResult><ResponseMetadata>) and EC2
    (<OpResponse xmlns=…><requestId>… then the members): the raw body against the model."""
    protocol = model.metadata["protocol"]
    try:
        root = ET.fromstring(http.content)
    except ET.ParseError as e:
        problems.append(f"body is not XML ({e}): {http.content[:200]!r}")
        return
    if protocol == "query" and not http.headers.get("x-amzn-RequestId"):
        problems.append("no x-amzn-RequestId header")
    if expect_error:
        check_xml_error(protocol, model, http, root, err, problems)
        return
    if err:
        return
    op = model.name
    if local(root.tag) != op + "Response" or not root.tag.startswith("{"):
        problems.append(f"root <{root.tag}>, AWS sends <{op}Response xmlns=…>")
        return
    shape = model.output_shape
    kids = list(root)
    if protocol == "ec2":
        if not kids or local(kids[0].tag) != "requestId" or not (kids[0].text or "").strip():
            problems.append(f"<{op}Response> does not start with its <requestId>")
            return
        if shape is None:
            if kids[1:]:
                problems.append(f"{op}: no output, got {child_names(root)[1:]}")
            return
        validate_members(service, op, shape, kids[1:], op, problems)
        return
    # Query: the result wrapper (absent for an operation without output) and the request ID.
    wrapper = shape.serialization.get("resultWrapper") if shape is not None else None
    expected = ([wrapper] if wrapper else []) + ["ResponseMetadata"]
    if child_names(root) != expected:
        problems.append(f"<{op}Response> holds {child_names(root)}, AWS sends {expected}")
        return
    meta = kids[-1]
    if child_names(meta) != ["RequestId"] or not (meta[0].text or "").strip():
        problems.append(f"ResponseMetadata holds {child_names(meta)}, not a RequestId")
    if wrapper:
        validate_xml(service, op, shape, kids[0], op, problems)


def check_xml_error(protocol, model, http, root, err, problems):
    """Query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>;
    EC2: <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>."""
    op = model.name
    if http.status_code < 400:
        problems.append(f"error with HTTP {http.status_code}")
    if protocol == "ec2":
        if local(root.tag) != "Response" or child_names(root) != ["Errors", "RequestID"]:
            problems.append(f"<{local(root.tag)}> holds {child_names(root)}, AWS sends "
                            "<Response> with Errors and RequestID")
            return
        errors = root[0]
        if child_names(errors) != ["Error"]:
            problems.append(f"<Errors> holds {child_names(errors)}, AWS sends one Error")
            return
        error, request_id = errors[0], root[1]
        want = ["Code", "Message"]
        declared = EC2_ERRORS.get(op, set())
        common = COMMON_EC2_ERRORS
    else:
        if local(root.tag) != "ErrorResponse" or child_names(root) != ["Error", "RequestId"]:
            problems.append(f"<{local(root.tag)}> holds {child_names(root)}, AWS sends "
                            "<ErrorResponse> with Error and RequestId")
            return
        error, request_id = root[0], root[1]
        want = ["Type", "Code", "Message"]
        declared = {s.metadata.get("error", {}).get("code", s.name) for s in model.error_shapes}
        common = COMMON_QUERY_ERRORS
        fault = error.findtext("{*}Type")
        if fault != ("Sender" if http.status_code < 500 else "Receiver"):
            problems.append(f"Type {fault!r} with HTTP {http.status_code}")
    if child_names(error) != want:
        problems.append(f"<Error> holds {child_names(error)}, AWS sends {want}")
    if not (request_id.text or "").strip():
        problems.append("error without a request ID")
    code = error.findtext("{*}Code") or ""
    if code not in declared | common:
        problems.append(f"code {code!r} is not an error {op} declares ({sorted(declared)}) "
                        "nor a common one")
    if not (error.findtext("{*}Message") or "").strip():
        problems.append("error without a message")
    read = err.response["Error"]["Code"] if err else None
    if read != code:
        problems.append(f"botocore reads the code {read!r}, the body says {code!r}")


def xml_name(name, shape):
    """The element of member `name`: its locationName; a flattened list's items are named by
    the list's member."""
    if shape.type_name == "list" and shape.serialization.get("flattened"):
        item = shape.member.serialization.get("name")
        if item:
            return item
    return shape.serialization.get("name", name)


def validate_members(service, op, shape, children, path, problems):
    elements = {xml_name(n, m): (n, m) for n, m in shape.members.items()}
    seen = set()
    for c in children:
        tag = local(c.tag)
        if tag not in elements:
            problems.append(f"{path}.{tag}: not a member of {shape.name}")
            continue
        name, member = elements[tag]
        flattened = member.type_name == "list" and member.serialization.get("flattened")
        if tag in seen and not flattened:
            problems.append(f"{path}.{tag}: more than once")
        seen.add(tag)
        if flattened:
            validate_xml(service, op, member.member, c, f"{path}.{name}[]", problems)
        else:
            validate_xml(service, op, member, c, f"{path}.{name}", problems)
    always = XML_ALWAYS_BY_OPERATION.get((service, op), {}).get(
        shape.name, XML_ALWAYS.get(service, {}).get(shape.name, []))
    required = list(getattr(shape, "required_members", []) or [])
    for name in dict.fromkeys(list(always) + required):
        if (shape.name, name) in REQUIRED_BUT_ABSENT_ON_AWS:
            continue
        if name not in shape.members:
            problems.append(f"{path}: ALWAYS names {name}, not a member of {shape.name}")
        elif xml_name(name, shape.members[name]) not in seen:
            problems.append(f"{path}: {shape.name} without {name} (AWS always returns it)")


def validate_xml(service, op, shape, el, path, problems):
    t = shape.type_name
    if t in ("structure", "list", "map"):
        if (el.text or "").strip():
            problems.append(f"{path}: text {el.text.strip()!r:.60} in a {t}")
    if t == "structure":
        validate_members(service, op, shape, list(el), path, problems)
    elif t == "list":
        item = shape.member.serialization.get("name", "member")
        for i, c in enumerate(el):
            if local(c.tag) != item:
                problems.append(f"{path}[{i}]: <{local(c.tag)}>, a list item is <{item}>")
                continue
            validate_xml(service, op, shape.member, c, f"{path}[{i}]", problems)
    elif t == "map":
        key = shape.key.serialization.get("name", "key")
        value = shape.value.serialization.get("name", "value")
        for i, entry in enumerate(el):
            if local(entry.tag) != "entry" or child_names(entry) != [key, value]:
                problems.append(f"{path}[{i}]: <{local(entry.tag)}> {child_names(entry)}, "
                                f"a map entry is <entry><{key}/><{value}/></entry>")
                continue
            validate_xml(service, op, shape.key, entry[0], f"{path}[{i}].key", problems)
            validate_xml(service, op, shape.value, entry[1], f"{path}[{i}].value", problems)
    else:
        if len(el):
            problems.append(f"{path}: elements {child_names(el)} in a {t}")
            return
        validate_xml_scalar(service, shape, el.text or "", path, problems)


def validate_xml_scalar(service, shape, text, path, problems):
    t = shape.type_name
    if t == "string":
        allowed = set(shape.enum or []) | ENUM_AS_AWS_SENDS.get((service, shape.name), set())
        if shape.enum and text not in allowed:
            problems.append(f"{path}: {text!r} is not one of {shape.name}'s values {shape.enum}")
    elif t in ("integer", "long"):
        if not re.fullmatch(r"-?\d+", text):
            problems.append(f"{path}: expected an integer, got {text!r:.60}")
    elif t in ("double", "float"):
        try:
            float(text)
        except ValueError:
            problems.append(f"{path}: expected a number, got {text!r:.60}")
    elif t == "boolean":
        if text not in ("true", "false"):
            problems.append(f"{path}: expected true or false, got {text!r:.60}")
    elif t == "timestamp":
        m = ISO8601.fullmatch(text)
        if not m:
            problems.append(f"{path}: expected an ISO 8601 time, got {text!r:.60}")
        elif not 2015 <= int(m.group(1)) < 2100:
            problems.append(f"{path}: {text} is not a plausible time")
    elif t == "blob":
        try:
            base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{path}: expected base64 text, got {text!r:.60}")


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
        # The default VPC and subnet (the ECS calls use them) and a private VPC reached
        # through a NAT gateway and an ssmmessages endpoint, with an instance in it.
        "network": {"vpcs": [{"id": VPC, "cidr": "10.0.0.0/16"},
                             {"id": PRIVATE_VPC, "cidr": "10.1.0.0/16"}],
                    "subnets": [{"id": SUBNET, "vpc_id": VPC},
                                {"id": NAT_SUBNET, "vpc_id": PRIVATE_VPC, "cidr": "10.1.1.0/24",
                                 "route_to_internet": False, "nat": True},
                                {"id": ISOLATED_SUBNET, "vpc_id": PRIVATE_VPC,
                                 "cidr": "10.1.2.0/24", "route_to_internet": False}],
                    "vpc_endpoints": [{"vpc_id": PRIVATE_VPC,
                                       "service_name": "com.amazonaws.<region>.ssmmessages"}]},
        "instances": [{"instance_id": "i-0c0f0a0b0c0d0e0f3", "subnet_id": NAT_SUBNET,
                       "instance_profile": "conf-profile", "private_ip": "10.1.1.20",
                       "public_ip": "203.0.113.7"}],
    }


def served_operations(source_root):
    """(service, operation) pairs the sandbox registers for ECS, SSM, CloudWatch Logs, KMS, IAM,
    STS and EC2, read from its sources (each file registers with add("Op", …), iam("Op", …) or
    sts("Op", …))."""
    ops = set()
    for service, path, call in (("ecs", "sandbox/ecs/ecs_routes.cpp", "add"),
                                ("ssm", "sandbox/ssm/ssm_module.cpp", "add"),
                                ("logs", "sandbox/logs/logs_module.cpp", "add"),
                                ("kms", "sandbox/kms/kms_module.cpp", "add"),
                                ("iam", "sandbox/iam/iam_routes.cpp", "iam"),
                                ("sts", "sandbox/iam/sts_routes.cpp", "sts"),
                                ("ec2", "sandbox/ec2/ec2_module.cpp", "add")):
        with open(os.path.join(source_root, path)) as f:
            text = f.read()
        for name in re.findall(r'\b' + call + r'\(\s*"([A-Z][A-Za-z]+)"', text):
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
    prefs = ssm("GetDocument", Name="SSM-SessionManagerRunShell")
    check(json.loads(prefs["Content"])["inputs"]["maxSessionDuration"] == "60",
          "ssm GetDocument: the Session Manager preferences, minutes as a string",
          prefs.get("Content"))
    ssm("GetDocument", expect_error="InvalidDocument", Name="no-such-document")
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


def iam_ops(cf):
    """IAM (Query): roles, inline and managed policies, boundaries, users, access keys, an
    instance profile and the simulator; then the deletions."""
    iam = lambda op, **kw: cf.call("iam", op, **kw)  # noqa: E731
    trust = json.dumps(policy({"Effect": "Allow", "Action": "sts:AssumeRole",
                               "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}))
    doc = json.dumps(policy({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}))
    missing_policy = f"arn:aws:iam::{ACCOUNT}:policy/missing"
    role = iam("CreateRole", RoleName="conf-role", AssumeRolePolicyDocument=trust,
               Description="conformance", MaxSessionDuration=7200)["Role"]
    iam("CreateRole", expect_error="EntityAlreadyExists", RoleName="conf-role",
        AssumeRolePolicyDocument=trust)
    iam("CreateRole", expect_error="MalformedPolicyDocument", RoleName="bad-role",
        AssumeRolePolicyDocument="{")
    got = iam("GetRole", RoleName="conf-role")["Role"]
    check(json.loads(got["AssumeRolePolicyDocument"]
                     if isinstance(got["AssumeRolePolicyDocument"], str)
                     else json.dumps(got["AssumeRolePolicyDocument"])) == json.loads(trust) and
          got["RoleId"] == role["RoleId"] and got["MaxSessionDuration"] == 7200,
          "iam GetRole: the trust policy (URL-encoded on the wire) and the role as created", got)
    iam("GetRole", expect_error="NoSuchEntity", RoleName="missing")
    iam("ListRoles")
    iam("ListRoles", key=READER, expect_error="AccessDenied")

    iam("PutRolePolicy", RoleName="conf-role", PolicyName="inline", PolicyDocument=doc)
    iam("PutRolePolicy", expect_error="NoSuchEntity", RoleName="missing", PolicyName="inline",
        PolicyDocument=doc)
    iam("GetRolePolicy", RoleName="conf-role", PolicyName="inline")
    iam("GetRolePolicy", expect_error="NoSuchEntity", RoleName="conf-role", PolicyName="missing")
    iam("ListRolePolicies", RoleName="conf-role")
    iam("ListRolePolicies", expect_error="NoSuchEntity", RoleName="missing")
    managed = iam("CreatePolicy", PolicyName="conf-managed", PolicyDocument=doc,
                  Description="conformance")["Policy"]["Arn"]
    iam("CreatePolicy", expect_error="EntityAlreadyExists", PolicyName="conf-managed",
        PolicyDocument=doc)
    iam("GetPolicy", PolicyArn=managed)
    iam("GetPolicy", expect_error="NoSuchEntity", PolicyArn=missing_policy)
    iam("GetPolicyVersion", PolicyArn=managed, VersionId="v1")
    iam("GetPolicyVersion", expect_error="NoSuchEntity", PolicyArn=managed, VersionId="v2")
    iam("AttachRolePolicy", RoleName="conf-role", PolicyArn=managed)
    iam("AttachRolePolicy", expect_error="NoSuchEntity", RoleName="conf-role",
        PolicyArn=missing_policy)
    iam("ListAttachedRolePolicies", RoleName="conf-role")
    iam("ListAttachedRolePolicies", expect_error="NoSuchEntity", RoleName="missing")
    iam("PutRolePermissionsBoundary", RoleName="conf-role", PermissionsBoundary=managed)
    iam("PutRolePermissionsBoundary", expect_error="NoSuchEntity", RoleName="conf-role",
        PermissionsBoundary=missing_policy)
    iam("GetRole", RoleName="conf-role")  # now with its PermissionsBoundary
    sim = iam("SimulatePrincipalPolicy", PolicySourceArn=role["Arn"],
              ActionNames=["s3:GetObject", "s3:PutObject"], ResourceArns=["*"])
    check([r["EvalDecision"] for r in sim["EvaluationResults"]] == ["allowed", "implicitDeny"],
          "iam SimulatePrincipalPolicy: the role's policies decide", sim["EvaluationResults"])
    iam("SimulatePrincipalPolicy", expect_error="NoSuchEntity",
        PolicySourceArn=f"arn:aws:iam::{ACCOUNT}:role/missing", ActionNames=["s3:GetObject"])
    iam("SimulatePrincipalPolicy", expect_error="InvalidInput",
        PolicySourceArn=f"arn:aws:sts::{ACCOUNT}:assumed-role/conf-role/s",
        ActionNames=["s3:GetObject"])

    # Users and access keys.
    iam("CreateUser", UserName="conf-user")
    iam("CreateUser", expect_error="EntityAlreadyExists", UserName="reader")
    iam("GetUser", UserName="conf-user")
    iam("GetUser", expect_error="NoSuchEntity", UserName="missing")
    iam("PutUserPolicy", UserName="conf-user", PolicyName="inline", PolicyDocument=doc)
    iam("PutUserPolicy", expect_error="NoSuchEntity", UserName="missing", PolicyName="inline",
        PolicyDocument=doc)
    iam("AttachUserPolicy", UserName="conf-user", PolicyArn=managed)
    iam("AttachUserPolicy", expect_error="NoSuchEntity", UserName="conf-user",
        PolicyArn=missing_policy)
    iam("PutUserPermissionsBoundary", UserName="conf-user", PermissionsBoundary=managed)
    iam("PutUserPermissionsBoundary", expect_error="NoSuchEntity", UserName="missing",
        PermissionsBoundary=managed)
    iam("GetUser", UserName="conf-user")  # now with its PermissionsBoundary
    iam("CreateAccessKey", UserName="conf-user")
    iam("CreateAccessKey", expect_error="NoSuchEntity", UserName="missing")
    iam("GetAccessKeyLastUsed", AccessKeyId=READER[0])
    iam("GetAccessKeyLastUsed", expect_error="NoSuchEntity", AccessKeyId="AKIAECSHCONFNOSUCH02")
    iam("GetAccessKeyLastUsed", key=READER, expect_error="AccessDenied", AccessKeyId=READER[0])

    # An instance profile (DescribeInstances' instance names it).
    iam("CreateInstanceProfile", InstanceProfileName="conf-profile")
    iam("CreateInstanceProfile", expect_error="EntityAlreadyExists",
        InstanceProfileName="conf-profile")
    iam("AddRoleToInstanceProfile", InstanceProfileName="conf-profile", RoleName="conf-role")
    iam("AddRoleToInstanceProfile", expect_error="LimitExceeded",
        InstanceProfileName="conf-profile", RoleName="exec-role")
    iam("AddRoleToInstanceProfile", expect_error="NoSuchEntity", InstanceProfileName="missing",
        RoleName="conf-role")
    ip = iam("GetInstanceProfile", InstanceProfileName="conf-profile")["InstanceProfile"]
    check([r["RoleName"] for r in ip["Roles"]] == ["conf-role"],
          "iam GetInstanceProfile: its role", ip)
    iam("GetInstanceProfile", expect_error="NoSuchEntity", InstanceProfileName="missing")

    # Deletions: a role keeps its policies until they are removed.
    iam("CreateRole", RoleName="doomed", AssumeRolePolicyDocument=trust)
    iam("PutRolePolicy", RoleName="doomed", PolicyName="inline", PolicyDocument=doc)
    iam("DeleteRole", expect_error="DeleteConflict", RoleName="doomed")
    iam("DeleteRolePolicy", RoleName="doomed", PolicyName="inline")
    iam("DeleteRolePolicy", expect_error="NoSuchEntity", RoleName="doomed", PolicyName="inline")
    iam("DeleteRole", RoleName="doomed")
    iam("DeleteRole", expect_error="NoSuchEntity", RoleName="doomed")
    iam("DetachRolePolicy", RoleName="conf-role", PolicyArn=managed)
    iam("DetachRolePolicy", expect_error="NoSuchEntity", RoleName="conf-role", PolicyArn=managed)
    iam("DeleteRolePolicy", RoleName="conf-role", PolicyName="inline")
    e = iam("DeleteRole", expect_error="DeleteConflict", RoleName="conf-role")
    check("instance profile" in str(e),
          "iam DeleteRole of a role in an instance profile: AWS's DeleteConflict", e)
    return role["Arn"]


def sts_ops(cf, role_arn):
    """STS (Query): who is calling; a role's temporary credentials."""
    sts = lambda op, **kw: cf.call("sts", op, **kw)  # noqa: E731
    me = sts("GetCallerIdentity")
    check(me["Account"] == ACCOUNT, "sts GetCallerIdentity: the sandbox's account", me)
    reader = sts("GetCallerIdentity", key=READER)
    check(reader["Arn"] == f"arn:aws:iam::{ACCOUNT}:user/reader",
          "sts GetCallerIdentity: the reader's user ARN", reader)
    sts("GetCallerIdentity", key=("AKIAECSHCONFNOSUCH03", "x"),
        expect_error="InvalidClientTokenId")
    got = sts("AssumeRole", RoleArn=role_arn, RoleSessionName="conf", DurationSeconds=900)
    check(got["AssumedRoleUser"]["Arn"] ==
          f"arn:aws:sts::{ACCOUNT}:assumed-role/conf-role/conf" and
          got["Credentials"]["AccessKeyId"].startswith("ASIA"),
          "sts AssumeRole: the assumed-role ARN and ASIA credentials", got["AssumedRoleUser"])
    sts("AssumeRole", key=READER, expect_error="AccessDenied", RoleArn=role_arn,
        RoleSessionName="conf")
    sts("AssumeRole", expect_error="ValidationError", RoleArn=role_arn, RoleSessionName="conf",
        DurationSeconds=43200)


def ec2_ops(cf):
    """EC2 (its Query dialect): the network pieces doctor reads, and the instances."""
    ec2 = lambda op, **kw: cf.call("ec2", op, **kw)  # noqa: E731
    vpcs = ec2("DescribeVpcs")["Vpcs"]
    check(sorted(v["VpcId"] for v in vpcs) == [VPC, PRIVATE_VPC] and
          [v["IsDefault"] for v in vpcs if v["VpcId"] == VPC] == [True],
          "ec2 DescribeVpcs: the scenario's VPCs, the default one marked", vpcs)
    ec2("DescribeVpcs", expect_error="InvalidVpcID.NotFound", VpcIds=["vpc-0000000000000dead"])
    ec2("DescribeVpcs", key=READER, expect_error="UnauthorizedOperation")
    subnets = ec2("DescribeSubnets", Filters=[{"Name": "vpc-id", "Values": [PRIVATE_VPC]}])
    check(sorted(s["SubnetId"] for s in subnets["Subnets"]) == [NAT_SUBNET, ISOLATED_SUBNET],
          "ec2 DescribeSubnets: a vpc-id filter", subnets)
    ec2("DescribeSubnets", expect_error="InvalidSubnetID.NotFound",
        SubnetIds=["subnet-0000000000000dead"])
    eps = ec2("DescribeVpcEndpoints", Filters=[{"Name": "vpc-id", "Values": [PRIVATE_VPC]}])
    check([e["ServiceName"] for e in eps["VpcEndpoints"]] ==
          [f"com.amazonaws.{REGION}.ssmmessages"],
          "ec2 DescribeVpcEndpoints: the ssmmessages endpoint in the region", eps)
    ec2("DescribeVpcEndpoints", expect_error="InvalidVpcEndpointId.NotFound",
        VpcEndpointIds=["vpce-0000000000000dead"])
    tables = ec2("DescribeRouteTables")["RouteTables"]
    routes = {t["Associations"][0]["SubnetId"]: {r["DestinationCidrBlock"]:
                                                 r.get("GatewayId", r.get("NatGatewayId"))
                                                 for r in t["Routes"]} for t in tables}
    check(routes.get(SUBNET, {}).get("0.0.0.0/0", "").startswith("igw-") and
          routes.get(NAT_SUBNET, {}).get("0.0.0.0/0", "").startswith("nat-") and
          "0.0.0.0/0" not in routes.get(ISOLATED_SUBNET, {"0.0.0.0/0": 1}),
          "ec2 DescribeRouteTables: internet gateway, NAT gateway, no way out", routes)
    ec2("DescribeRouteTables", key=READER, expect_error="UnauthorizedOperation")
    regions = ec2("DescribeRegions")["Regions"]
    eu_west_1 = {"RegionName": "eu-west-1", "Endpoint": "ec2.eu-west-1.amazonaws.com",
                 "OptInStatus": "opt-in-not-required"}
    check(len(regions) == 17 and eu_west_1 in regions,
          "ec2 DescribeRegions: the regions enabled for a fresh account", regions)
    every = ec2("DescribeRegions", AllRegions=True)["Regions"]
    me_south_1 = {"RegionName": "me-south-1", "Endpoint": "ec2.me-south-1.amazonaws.com",
                  "OptInStatus": "not-opted-in"}
    check(len(every) == 34 and me_south_1 in every,
          "ec2 DescribeRegions AllRegions: the opt-in regions too, not opted in", every)
    ec2("DescribeRegions", expect_error="InvalidParameterValue", RegionNames=["mars-1"])
    res = ec2("DescribeInstances", InstanceIds=["i-0c0f0a0b0c0d0e0f3"])["Reservations"]
    inst = res[0]["Instances"][0]
    check(inst["IamInstanceProfile"]["Arn"].endswith(":instance-profile/conf-profile") and
          inst["PublicIpAddress"] == "203.0.113.7" and inst["VpcId"] == PRIVATE_VPC,
          "ec2 DescribeInstances: the profile, the public address, the VPC", inst)
    ec2("DescribeInstances")
    ec2("DescribeInstances", expect_error="InvalidInstanceID.NotFound",
        InstanceIds=["i-0000000000000dead"])


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
    # A maximum session duration saved in the preferences: GetDocument has a document to read.
    sb = Sandbox(opts.sandbox, scenario=scenario(),
                 args=["--agent-pacing", "none", "--session-max-duration", "3600"]).start()
    try:
        cf = Conformance(sb)
        run(cf, sb)
        kms_ops(cf)
        sts_ops(cf, iam_ops(cf))
        ec2_ops(cf)
        served = served_operations(opts.source_root)
        counts = {svc: sum(1 for s, _ in served if s == svc)
                  for svc in ("ecs", "ssm", "logs", "kms", "iam", "sts", "ec2")}
        check(all(counts.values()) and len(served) >= 70,
              f"found the operations the sandbox serves ({len(served)}: {counts})",
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
    print(f"all {check.count} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
