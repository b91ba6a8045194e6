"""Real, unmodified AWS clients against the servicemanager binary's App Runner
endpoint: boto3 and the AWS CLI from Debian's packages (python3-boto3, awscli).

Each test class starts its own server (--aws-listen 127.0.0.1:0, gRPC on
127.0.0.1:0) and finds both ports in its log. Every 200 response boto3
receives is also checked against the output shape of App Runner's API model
(botocore's data/apprunner/2020-05-15/service-2.json).

Run by ctest (tests/aws/CMakeLists.txt), one class per test:
  SM_SERVER_BINARY=... SM_SMCTL_BINARY=... SM_AWS_CLI=/usr/bin/aws \
      /usr/bin/python3 -m unittest aws_clients_test.Boto3LifecycleTest
"""

import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import uuid

import boto3
import botocore
import botocore.config
import botocore.exceptions
import botocore.session

SERVER = os.environ.get("SM_SERVER_BINARY", "servicemanager")
SMCTL = os.environ.get("SM_SMCTL_BINARY", "smctl")
AWS_CLI = os.environ.get("SM_AWS_CLI", "/usr/bin/aws")
ACCOUNT = "000000000000"
REGION = "us-east-1"
IMAGE = {
    "ImageRepository": {
        "ImageIdentifier": "public.ecr.aws/nginx/nginx:latest",
        "ImageRepositoryType": "ECR_PUBLIC",
    }
}
# Bounds every wait of these tests.
DEADLINE_SECONDS = 30

# Values newer App Runner models have and Debian's botocore (1.29) does not:
# the server is allowed to send them.
NEWER_ENUM_VALUES = {"OperationType": {"UPDATE_SERVICE"}}


def wait_for(condition, what, timeout=DEADLINE_SECONDS):
    """Polls condition() until it returns a true value, or fails the test."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


class Server:
    """The servicemanager binary, started with the given extra flags."""

    def __init__(self, *flags, expect_ready=True):
        self.dir = tempfile.mkdtemp(prefix="sm-aws-clients-")
        self.log_path = os.path.join(self.dir, "server.log")
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [SERVER, "--listen", "127.0.0.1:0", "--data-dir",
             os.path.join(self.dir, "data"), "--worker-delay-ms", "20",
             "--region", REGION, "--account-id", ACCOUNT, *flags],
            stdout=subprocess.DEVNULL, stderr=self.log)
        self.grpc_port = self.aws_port = None
        if expect_ready:
            text = wait_for(self._ready, "the server's ready line")
            self.grpc_port = int(
                re.search(r"ready: listening on 127\.0\.0\.1:(\d+)", text)[1])
            self.aws_port = int(
                re.search(r"App Runner's API on http://127\.0\.0\.1:(\d+)",
                          text)[1])

    def _ready(self):
        text = self.text()
        if self.process.poll() is not None:
            raise AssertionError(f"the server exited:\n{text}")
        return text if "ready: listening on" in text else None

    def text(self):
        with open(self.log_path) as log:
            return log.read()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.aws_port}"

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=DEADLINE_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class ModelChecker:
    """Checks response bodies against the output shapes of App Runner's
    model: every member known, required members present, types, enum values
    and length bounds as the model gives them."""

    def __init__(self):
        self.model = botocore.session.get_session().get_service_model(
            "apprunner")
        self.problems = []
        self.checked = 0

    def after_call(self, http_response, model, **_):
        if http_response.status_code != 200:
            return
        body = json.loads(http_response.content or b"{}")
        self._check(model.output_shape, body, model.name)
        self.checked += 1

    def _check(self, shape, value, path):
        if shape is None:
            if value:
                self.problems.append(f"{path}: a body where the model has none")
            return
        kind = shape.type_name
        if kind == "structure":
            if not isinstance(value, dict):
                self.problems.append(f"{path}: not an object")
                return
            for name in shape.required_members:
                if name not in value:
                    self.problems.append(f"{path}.{name}: required, absent")
            for name, member in value.items():
                if name not in shape.members:
                    self.problems.append(f"{path}.{name}: not in the model")
                else:
                    self._check(shape.members[name], member, f"{path}.{name}")
        elif kind == "list":
            if not isinstance(value, list):
                self.problems.append(f"{path}: not a list")
                return
            for i, element in enumerate(value):
                self._check(shape.member, element, f"{path}[{i}]")
        elif kind == "map":
            if not isinstance(value, dict):
                self.problems.append(f"{path}: not an object")
                return
            for key, element in value.items():
                self._check(shape.key, key, f"{path} key")
                self._check(shape.value, element, f"{path}.{key}")
        elif kind == "string":
            if not isinstance(value, str):
                self.problems.append(f"{path}: not a string")
                return
            enum = shape.enum
            allowed = set(enum) | NEWER_ENUM_VALUES.get(shape.name, set())
            if enum and value not in allowed:
                self.problems.append(f"{path}: {value!r} not in {enum}")
            low = shape.metadata.get("min", 0)
            high = shape.metadata.get("max", len(value))
            if not low <= len(value) <= high:
                self.problems.append(
                    f"{path}: length {len(value)} not in [{low}, {high}]")
        elif kind in ("integer", "long"):
            if isinstance(value, bool) or not isinstance(value, int):
                self.problems.append(f"{path}: not an integer")
        elif kind == "boolean":
            if not isinstance(value, bool):
                self.problems.append(f"{path}: not a boolean")
        elif kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                self.problems.append(f"{path}: not epoch seconds")
        else:
            self.problems.append(f"{path}: unexpected shape type {kind}")


def client(server, key="AKIDLOCALTEST", secret="local-secret", checker=None):
    apprunner = boto3.client(
        "apprunner", endpoint_url=server.url, region_name=REGION,
        aws_access_key_id=key, aws_secret_access_key=secret,
        config=botocore.config.Config(retries={"max_attempts": 1}))
    if checker is not None:
        apprunner.meta.events.register("after-call.apprunner",
                                       checker.after_call)
    return apprunner


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class ServerTestCase(unittest.TestCase):
    FLAGS = ["--aws-listen", "127.0.0.1:0"]

    @classmethod
    def setUpClass(cls):
        cls.server = Server(*cls.FLAGS)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def setUp(self):
        self.checker = ModelChecker()
        self.apprunner = client(self.server, checker=self.checker)

    def tearDown(self):
        self.assertEqual(self.checker.problems, [],
                         "responses that do not fit App Runner's model")

    def wait_status(self, arn, status):
        return wait_for(
            lambda: (lambda s: s if s["Status"] == status else None)(
                self.apprunner.describe_service(ServiceArn=arn)["Service"]),
            f"{arn} to be {status}")

    def create(self, name, **extra):
        return self.apprunner.create_service(
            ServiceName=name, SourceConfiguration=IMAGE, **extra)

    def error_of(self, call, **kwargs):
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            call(**kwargs)
        return raised.exception.response


class Boto3LifecycleTest(ServerTestCase):
    def test_create_describe_pause_list_operations_resume_delete(self):
        name = unique("boto")
        created = self.create(
            name, InstanceConfiguration={"Cpu": "1 vCPU", "Memory": "2 GB"},
            HealthCheckConfiguration={"Protocol": "HTTP", "Path": "/healthz"},
            Tags=[{"Key": "team", "Value": "web"}])
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 200)
        self.assertEqual(len(created["ResponseMetadata"]["RequestId"]), 36)
        service = created["Service"]
        arn = service["ServiceArn"]
        self.assertRegex(
            arn, rf"^arn:aws:apprunner:{REGION}:{ACCOUNT}:service/{name}/"
            r"[0-9a-f]{32}$")
        self.assertEqual(service["Status"], "OPERATION_IN_PROGRESS")
        self.assertEqual(len(created["OperationId"]), 36)

        running = self.wait_status(arn, "RUNNING")
        # Canonical forms, timestamps parsed by botocore as datetimes.
        self.assertEqual(running["InstanceConfiguration"],
                         {"Cpu": "1024", "Memory": "2048"})
        self.assertEqual(running["HealthCheckConfiguration"]["Path"],
                         "/healthz")
        self.assertLessEqual(running["CreatedAt"], running["UpdatedAt"])
        self.assertNotIn("DeletedAt", running)
        url = running["ServiceUrl"]

        paused = self.apprunner.pause_service(ServiceArn=arn)
        self.assertEqual(paused["Service"]["Status"], "OPERATION_IN_PROGRESS")
        self.wait_status(arn, "PAUSED")

        operations = self.apprunner.list_operations(
            ServiceArn=arn)["OperationSummaryList"]
        self.assertEqual([(o["Type"], o["Status"]) for o in operations],
                         [("PAUSE_SERVICE", "SUCCEEDED"),
                          ("CREATE_SERVICE", "SUCCEEDED")])
        self.assertEqual(operations[0]["Id"], paused["OperationId"])
        self.assertEqual(operations[0]["TargetArn"], arn)
        self.assertIn("EndedAt", operations[0])

        self.apprunner.resume_service(ServiceArn=arn)
        resumed = self.wait_status(arn, "RUNNING")
        self.assertEqual(resumed["ServiceUrl"], url)

        deployment = self.apprunner.start_deployment(ServiceArn=arn)
        self.assertEqual(len(deployment["OperationId"]), 36)
        self.wait_status(arn, "RUNNING")

        self.apprunner.tag_resource(ResourceArn=arn,
                                    Tags=[{"Key": "env", "Value": ""}])
        self.apprunner.untag_resource(ResourceArn=arn, TagKeys=["team"])
        self.assertEqual(
            self.apprunner.list_tags_for_resource(ResourceArn=arn)["Tags"],
            [{"Key": "env", "Value": ""}])
        self.assertIn(arn, [s["ServiceArn"] for s in self.apprunner
                            .list_services()["ServiceSummaryList"]])

        deleted = self.apprunner.delete_service(ServiceArn=arn)
        self.assertEqual(deleted["Service"]["Status"], "OPERATION_IN_PROGRESS")
        gone = self.wait_status(arn, "DELETED")
        self.assertIn("DeletedAt", gone)
        self.assertNotIn(arn, [s["ServiceArn"] for s in self.apprunner
                               .list_services()["ServiceSummaryList"]])
        self.assertGreater(self.checker.checked, 10)

    def test_update_service(self):
        arn = self.create(unique("boto-update"))["Service"]["ServiceArn"]
        self.wait_status(arn, "RUNNING")
        updated = self.apprunner.update_service(
            ServiceArn=arn, InstanceConfiguration={"Cpu": "2048",
                                                   "Memory": "4096"})
        self.assertEqual(updated["Service"]["Status"], "OPERATION_IN_PROGRESS")
        self.assertEqual(
            self.wait_status(arn, "RUNNING")["InstanceConfiguration"],
            {"Cpu": "2048", "Memory": "4096"})

    def test_pagination_with_next_token(self):
        arns = {self.create(unique("page"))["Service"]["ServiceArn"]
                for _ in range(3)}
        seen, token = [], None
        while True:
            page = self.apprunner.list_services(
                MaxResults=1, **({"NextToken": token} if token else {}))
            self.assertLessEqual(len(page["ServiceSummaryList"]), 1)
            seen += [s["ServiceArn"] for s in page["ServiceSummaryList"]]
            token = page.get("NextToken")
            if not token:
                break
        self.assertLessEqual(arns, set(seen))
        self.assertEqual(len(seen), len(set(seen)))


    def test_connections_and_custom_domains(self):
        name = unique("conn")
        connection = self.apprunner.create_connection(
            ConnectionName=name, ProviderType="GITHUB",
            Tags=[{"Key": "team", "Value": "web"}])["Connection"]
        self.assertEqual(connection["Status"], "AVAILABLE")
        arn = connection["ConnectionArn"]
        self.assertIn(f":{ACCOUNT}:connection/{name}/", arn)
        listed = self.apprunner.list_connections(ConnectionName=name)
        self.assertEqual(
            [c["ConnectionArn"] for c in listed["ConnectionSummaryList"]],
            [arn])
        self.assertEqual(
            self.apprunner.list_tags_for_resource(ResourceArn=arn)["Tags"],
            [{"Key": "team", "Value": "web"}])

        source = dict(IMAGE, AuthenticationConfiguration={
            "ConnectionArn": arn})
        service = self.apprunner.create_service(
            ServiceName=unique("uses-conn"),
            SourceConfiguration=source)["Service"]
        service_arn = service["ServiceArn"]
        self.assertEqual(service["SourceConfiguration"]
                         ["AuthenticationConfiguration"]["ConnectionArn"], arn)
        self.wait_status(service_arn, "RUNNING")
        with self.assertRaises(
                self.apprunner.exceptions.InvalidStateException):
            self.apprunner.delete_connection(ConnectionArn=arn)

        domain = f"{unique('shop')}.example.com"
        linked = self.apprunner.associate_custom_domain(
            ServiceArn=service_arn, DomainName=domain,
            EnableWWWSubdomain=True)
        self.assertEqual(linked["DNSTarget"], service["ServiceUrl"])
        self.assertEqual(linked["CustomDomain"]["Status"], "ACTIVE")
        self.assertTrue(linked["CustomDomain"]["EnableWWWSubdomain"])
        self.assertEqual(len(linked["CustomDomain"]
                             ["CertificateValidationRecords"]), 2)
        described = self.apprunner.describe_custom_domains(
            ServiceArn=service_arn)
        self.assertEqual([d["DomainName"] for d in described["CustomDomains"]],
                         [domain])
        with self.assertRaises(
                self.apprunner.exceptions.InvalidRequestException):
            self.apprunner.associate_custom_domain(
                ServiceArn=service_arn, DomainName="not a domain")
        unlinked = self.apprunner.disassociate_custom_domain(
            ServiceArn=service_arn, DomainName=domain)
        self.assertEqual(unlinked["CustomDomain"]["Status"], "DELETING")

        self.apprunner.delete_service(ServiceArn=service_arn)
        self.wait_status(service_arn, "DELETED")
        deleted = self.apprunner.delete_connection(ConnectionArn=arn)
        self.assertEqual(deleted["Connection"]["Status"], "DELETED")


class Boto3ErrorsTest(ServerTestCase):
    def test_invalid_state(self):
        arn = self.create(unique("state"))["Service"]["ServiceArn"]
        self.wait_status(arn, "RUNNING")
        self.apprunner.pause_service(ServiceArn=arn)
        self.wait_status(arn, "PAUSED")
        response = self.error_of(self.apprunner.pause_service, ServiceArn=arn)
        self.assertEqual(response["Error"]["Code"], "InvalidStateException")
        self.assertIn("PAUSED", response["Error"]["Message"])
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400)
        # The modeled exception class, as App Runner's SDK users catch it.
        with self.assertRaises(self.apprunner.exceptions.InvalidStateException):
            self.apprunner.update_service(
                ServiceArn=arn, InstanceConfiguration={"Cpu": "2048"})

    def test_resource_not_found(self):
        arn = (f"arn:aws:apprunner:{REGION}:{ACCOUNT}:service/none/"
               + "0" * 32)
        response = self.error_of(self.apprunner.describe_service,
                                 ServiceArn=arn)
        self.assertEqual(response["Error"]["Code"],
                         "ResourceNotFoundException")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400)
        with self.assertRaises(
                self.apprunner.exceptions.ResourceNotFoundException):
            self.apprunner.list_operations(ServiceArn=arn)

    def test_invalid_request(self):
        # botocore checks lengths but not patterns; the server checks both.
        response = self.error_of(self.create, name="-not-a-valid-name")
        self.assertEqual(response["Error"]["Code"], "InvalidRequestException")
        self.assertEqual(response["ResponseMetadata"]["HTTPStatusCode"], 400)
        response = self.error_of(self.apprunner.describe_service,
                                 ServiceArn="not-an-arn")
        self.assertEqual(response["Error"]["Code"], "InvalidRequestException")
        name = unique("dup")
        self.create(name)
        with self.assertRaises(
                self.apprunner.exceptions.InvalidRequestException):
            self.create(name)

    def test_members_not_implemented_are_ignored_and_source_code_refused(self):
        created = self.create(
            unique("ignored"),
            EncryptionConfiguration={
                "KmsKey": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/"
                          "12345678-1234-1234-1234-123456789012"},
            NetworkConfiguration={"EgressConfiguration": {
                "EgressType": "DEFAULT"}},
            ObservabilityConfiguration={"ObservabilityEnabled": False})
        self.assertEqual(created["Service"]["Status"], "OPERATION_IN_PROGRESS")
        self.assertNotIn("EncryptionConfiguration", created["Service"])
        response = self.error_of(
            self.apprunner.create_service, ServiceName=unique("code"),
            SourceConfiguration={"CodeRepository": {
                "RepositoryUrl": "https://github.com/example/app",
                "SourceCodeVersion": {"Type": "BRANCH", "Value": "main"}}})
        self.assertEqual(response["Error"]["Code"], "InvalidRequestException")
        self.assertIn("CodeRepository", response["Error"]["Message"])

    def post(self, body, target="AppRunner.ListServices",
             content_type="application/x-amz-json-1.0", method="POST"):
        request = urllib.request.Request(
            self.server.url + "/", data=body, method=method,
            headers={"X-Amz-Target": target, "Content-Type": content_type})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def test_protocol_errors(self):
        status, body = self.post(b"{}", target="AppRunner.CreateVpcConnector")
        self.assertEqual((status, body["__type"]),
                         (400, "UnknownOperationException"))
        self.assertIn("Message", body)
        status, body = self.post(b"{}", target="DynamoDB_20120810.ListTables")
        self.assertEqual((status, body["__type"]),
                         (400, "UnknownOperationException"))
        status, body = self.post(b'{"MaxResults": ')
        self.assertEqual((status, body["__type"]),
                         (400, "SerializationException"))
        status, body = self.post(b'{"MaxResults": "five"}')
        self.assertEqual((status, body["__type"]),
                         (400, "SerializationException"))
        status, body = self.post(b"\xff\xfe" * 100)
        self.assertEqual((status, body["__type"]),
                         (400, "SerializationException"))
        status, body = self.post(b"{}", content_type="text/plain")
        self.assertEqual((status, body["__type"]),
                         (400, "SerializationException"))
        status, body = self.post(b"[" * 200000)
        self.assertEqual((status, body["__type"]),
                         (400, "SerializationException"))
        status, body = self.post(b" " * (2 << 20))
        self.assertEqual((status, body["__type"]),
                         (413, "SerializationException"))
        status, body = self.post(None, method="GET")
        self.assertEqual((status, body["__type"]),
                         (404, "UnknownOperationException"))
        # Still serving.
        self.assertEqual(self.post(b"{}")[0], 200)


    def test_mutated_bodies_get_json_answers(self):
        """Random edits of a valid body: every answer is JSON, 200 or a 400
        with an AWS exception name, and the server keeps serving."""
        rng = random.Random(8)  # Fixed, so that a failure reproduces.
        base = json.dumps({
            "ServiceName": "mutated-web", "SourceConfiguration": IMAGE,
            "InstanceConfiguration": {"Cpu": "1 vCPU", "Memory": "2 GB"},
            "HealthCheckConfiguration": {"Protocol": "HTTP", "Interval": 5},
            "Tags": [{"Key": "k", "Value": "v"}]}).encode()
        alphabet = b'{}[]",:0123456789.-eEtrufalsn\\ \x00\xff\xc3'
        targets = ["CreateService", "UpdateService", "ListServices",
                   "TagResource", "DescribeService"]
        answers = set()
        for _ in range(500):
            body = bytearray(base)
            for _ in range(rng.randint(1, 6)):
                at = rng.randrange(len(body))
                choice = rng.random()
                if choice < 0.4:
                    del body[at]
                elif choice < 0.8:
                    body[at:at] = bytes([rng.choice(alphabet)])
                else:
                    body[at:at] = base[rng.randrange(len(base)):][:40]
            status, answer = self.post(
                bytes(body), target=f"AppRunner.{rng.choice(targets)}")
            answers.add((status, answer.get("__type", "")))
        self.assertLessEqual(
            answers, {(200, ""), (400, "SerializationException"),
                      (400, "InvalidRequestException")})
        self.assertIn((400, "SerializationException"), answers)
        self.assertEqual(self.post(b"{}")[0], 200)


class CrossProtocolTest(ServerTestCase):
    def smctl(self, *args):
        result = subprocess.run(
            [SMCTL, "--endpoint", f"127.0.0.1:{self.server.grpc_port}", *args],
            capture_output=True, text=True, timeout=DEADLINE_SECONDS)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_created_over_aws_json_operated_over_grpc(self):
        arn = self.create(unique("json"))["Service"]["ServiceArn"]
        self.wait_status(arn, "RUNNING")
        described = self.smctl("describe-service", "--service-arn", arn)
        self.assertEqual(described["service"]["status"], "RUNNING")
        self.smctl("pause-service", "--service-arn", arn)
        self.wait_status(arn, "PAUSED")

    def test_created_over_grpc_operated_over_aws_json(self):
        name = unique("grpc")
        created = self.smctl(
            "create-service", "--service-name", name,
            "--source-configuration",
            '{"image_repository": {"image_identifier": '
            '"public.ecr.aws/nginx/nginx:latest", '
            '"image_repository_type": "ECR_PUBLIC"}}')
        arn = created["service"]["serviceArn"]
        self.wait_status(arn, "RUNNING")
        self.apprunner.pause_service(ServiceArn=arn)
        self.assertEqual(
            wait_for(lambda: self.smctl("describe-service", "--service-arn",
                                        arn)["service"]["status"] == "PAUSED",
                     "PAUSED over gRPC"), True)


class AwsCliTest(ServerTestCase):
    def aws(self, *args, expect_ok=True):
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDLOCALTEST",
                   AWS_SECRET_ACCESS_KEY="local-secret",
                   AWS_DEFAULT_REGION=REGION, AWS_PAGER="",
                   AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull,
                   AWS_EC2_METADATA_DISABLED="true")
        result = subprocess.run(
            [AWS_CLI, "apprunner", *args, "--endpoint-url", self.server.url,
             "--output", "json"],
            capture_output=True, text=True, env=env, timeout=60)
        if expect_ok:
            self.assertEqual(result.returncode, 0, result.stderr)
            return json.loads(result.stdout) if result.stdout.strip() else {}
        return result

    def test_cli_lifecycle_and_errors(self):
        created = self.aws("create-service", "--service-name", unique("cli"),
                           "--source-configuration", json.dumps(IMAGE))
        arn = created["Service"]["ServiceArn"]
        wait_for(lambda: self.aws("describe-service", "--service-arn", arn)
                 ["Service"]["Status"] == "RUNNING", "RUNNING over the CLI")

        paused = self.aws("pause-service", "--service-arn", arn)
        self.assertEqual(paused["Service"]["Status"], "OPERATION_IN_PROGRESS")
        self.assertEqual(paused["Service"]["ServiceArn"], arn)
        self.assertEqual(len(paused["OperationId"]), 36)
        self.wait_status(arn, "PAUSED")

        refused = self.aws("pause-service", "--service-arn", arn,
                           expect_ok=False)
        self.assertEqual(refused.returncode, 254)
        self.assertIn("(InvalidStateException)", refused.stderr)
        self.assertIn("PauseService", refused.stderr)

        operations = self.aws("list-operations", "--service-arn", arn)
        self.assertEqual(
            [o["Type"] for o in operations["OperationSummaryList"]],
            ["PAUSE_SERVICE", "CREATE_SERVICE"])


@unittest.skipUnless(os.environ.get("SM_NODE") and os.environ.get("NODE_PATH"),
                     "SM_NODE and NODE_PATH (with @aws-sdk/client-apprunner) "
                     "are not set")
class JsSdkTest(ServerTestCase):
    def test_round_trip(self):
        result = subprocess.run(
            [os.environ["SM_NODE"],
             os.path.join(os.path.dirname(os.path.abspath(__file__)), "js",
                          "round_trip.js"),
             self.server.url],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        self.assertEqual(seen["createdStatus"], "OPERATION_IN_PROGRESS")
        self.assertTrue(seen["createdAtIsDate"])
        self.assertEqual(len(seen["operationId"]), 36)
        self.assertEqual(len(seen["requestId"]), 36)
        self.assertEqual(seen["describedName"], seen["arn"].split("/")[1])
        self.assertEqual(seen["refused"]["name"], "InvalidStateException")
        self.assertTrue(seen["refused"]["isInvalidState"])
        self.assertEqual(seen["refused"]["httpStatusCode"], 400)
        # Seen by boto3 too.
        self.assertEqual(self.apprunner.describe_service(
            ServiceArn=seen["arn"])["Service"]["ServiceArn"], seen["arn"])


class SigV4Test(unittest.TestCase):
    """With --aws-credentials-file the endpoint verifies signatures."""

    @classmethod
    def setUpClass(cls):
        cls.credentials = tempfile.NamedTemporaryFile(
            "w", prefix="sm-aws-credentials-", delete=False)
        cls.credentials.write(
            "# ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID\n"
            f"AKIDSMTEST right-secret/+x {ACCOUNT}\n"
            "AKIDOTHERACCOUNT other-secret 111111111111\n")
        cls.credentials.close()
        cls.server = Server("--aws-listen", "127.0.0.1:0",
                            "--aws-credentials-file", cls.credentials.name)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        os.unlink(cls.credentials.name)

    def test_right_secret_200_wrong_secret_403(self):
        right = client(self.server, "AKIDSMTEST", "right-secret/+x")
        listed = right.list_services()
        self.assertEqual(listed["ResponseMetadata"]["HTTPStatusCode"], 200)
        arn = right.create_service(ServiceName=unique("signed"),
                                   SourceConfiguration=IMAGE)[
                                       "Service"]["ServiceArn"]
        self.assertEqual(
            right.describe_service(ServiceArn=arn)["ResponseMetadata"]
            ["HTTPStatusCode"], 200)

        wrong = client(self.server, "AKIDSMTEST", "wrong-secret")
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            wrong.list_services()
        error = raised.exception.response
        self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 403)
        self.assertEqual(error["Error"]["Code"], "InvalidSignatureException")

    def test_unknown_keys_and_keys_of_another_account_403(self):
        for key in ("AKIDUNKNOWN", "AKIDOTHERACCOUNT"):
            with self.assertRaises(botocore.exceptions.ClientError) as raised:
                client(self.server, key, "other-secret").list_services()
            error = raised.exception.response
            self.assertEqual(error["ResponseMetadata"]["HTTPStatusCode"], 403)
            self.assertEqual(error["Error"]["Code"],
                             "UnrecognizedClientException")

    def test_another_region_403(self):
        other = boto3.client(
            "apprunner", endpoint_url=self.server.url, region_name="eu-west-1",
            aws_access_key_id="AKIDSMTEST",
            aws_secret_access_key="right-secret/+x")
        with self.assertRaises(botocore.exceptions.ClientError) as raised:
            other.list_services()
        self.assertEqual(raised.exception.response["Error"]["Code"],
                         "InvalidSignatureException")

    def test_unsigned_request_403(self):
        request = urllib.request.Request(
            self.server.url + "/", data=b"{}", method="POST",
            headers={"X-Amz-Target": "AppRunner.ListServices",
                     "Content-Type": "application/x-amz-json-1.0"})
        with self.assertRaises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(raised.exception.code, 403)
        self.assertEqual(json.loads(raised.exception.read())["__type"],
                         "MissingAuthenticationTokenException")


class StartupTest(unittest.TestCase):
    def exits_with(self, *flags):
        server = Server(*flags, expect_ready=False)
        try:
            self.assertEqual(server.process.wait(timeout=DEADLINE_SECONDS), 1)
            return server.text()
        finally:
            server.stop()

    def test_refuses_any_signature_beyond_loopback(self):
        self.assertIn("is not a loopback address",
                      self.exits_with("--aws-listen", "0.0.0.0:0"))

    def test_refuses_a_malformed_credentials_file(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as bad:
            bad.write("AKID only-two-fields\n")
        try:
            self.assertIn("line 1", self.exits_with(
                "--aws-listen", "127.0.0.1:0",
                "--aws-credentials-file", bad.name))
        finally:
            os.unlink(bad.name)

    def test_stops_promptly_with_an_idle_keep_alive_connection(self):
        server = Server("--aws-listen", "127.0.0.1:0")
        try:
            apprunner = client(server)
            apprunner.list_services()  # Leaves a pooled connection open.
            started = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            self.assertEqual(server.process.wait(timeout=DEADLINE_SECONDS), 0)
            self.assertLess(time.monotonic() - started, 4)
            self.assertIn("aws endpoint stopped", server.text())
        finally:
            server.stop()


if __name__ == "__main__":
    unittest.main()
