// The App Runner endpoint in front of the real gRPC API (tests/api's fixture:
// SQLite store, worker driven by hand): the translator's calls and errors,
// then the HTTP endpoint itself: headers, error bodies, limits, SigV4 and the
// bound on connections.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "auth/principals.h"
#include "aws/app_runner_translator.h"
#include "aws/aws_endpoint.h"
#include "aws/aws_error.h"
#include "aws/sigv4.h"
#include "common/clock.h"
#include "tests/api/api_test_fixture.h"

namespace servicemanager::aws {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kImage[] = R"("SourceConfiguration": {"ImageRepository": {
    "ImageIdentifier": "public.ecr.aws/nginx/nginx:latest",
    "ImageRepositoryType": "ECR_PUBLIC"}})";

google::protobuf::Struct ParseObject(const std::string& json) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok())
      << json;
  return object;
}

// The string at a dotted path ("Service.Status") of a JSON object.
std::string At(const google::protobuf::Struct& object,
               const std::string& path) {
  const google::protobuf::Struct* current = &object;
  std::vector<std::string> names = absl::StrSplit(path, '.');
  for (size_t i = 0; i + 1 < names.size(); ++i) {
    auto it = current->fields().find(names[i]);
    if (it == current->fields().end()) return "<absent>";
    current = &it->second.struct_value();
  }
  auto it = current->fields().find(names.back());
  if (it == current->fields().end()) return "<absent>";
  return it->second.kind_case() == google::protobuf::Value::kStringValue
             ? it->second.string_value()
             : absl::StrCat(it->second.number_value());
}

class AppRunnerEndpointTest : public api::ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    translator_ = std::make_unique<AppRunnerTranslator>(
        server_->InProcessChannel(grpc::ChannelArguments()));
  }

  void TearDown() override {
    endpoint_.reset();
    translator_.reset();
    ApiTest::TearDown();
  }

  // The translator's answer: the body, or the exception name and message.
  std::string Call(const std::string& operation, const std::string& body) {
    absl::StatusOr<std::string> reply =
        translator_->Call(absl::StrCat("AppRunner.", operation), body);
    if (!reply.ok()) {
      return absl::StrCat(ErrorTypeOf(reply.status()), ": ",
                          reply.status().message());
    }
    return *reply;
  }

  std::string CreateOverJson(const std::string& name) {
    google::protobuf::Struct created = ParseObject(Call(
        "CreateService",
        absl::StrCat(R"({"ServiceName": ")", name, R"(", )", kImage, "}")));
    return At(created, "Service.ServiceArn");
  }

  void StartEndpoint(const SigV4Verifier* verifier,
                     AwsEndpointOptions options = {.listen = "127.0.0.1:0"}) {
    absl::StatusOr<std::unique_ptr<AwsEndpoint>> started =
        AwsEndpoint::Start(*translator_, verifier, clock_, options);
    ASSERT_TRUE(started.ok()) << started.status();
    endpoint_ = *std::move(started);
  }

  httplib::Result Post(
      const std::string& target, const std::string& body,
      httplib::Headers headers = {},
      const std::string& content_type = "application/x-amz-json-1.0") {
    httplib::Client client("127.0.0.1", endpoint_->port());
    client.set_read_timeout(10);
    headers.emplace("X-Amz-Target", target);
    return client.Post("/", headers, body, content_type);
  }

  std::unique_ptr<AppRunnerTranslator> translator_;
  std::unique_ptr<AwsEndpoint> endpoint_;
};

TEST_F(AppRunnerEndpointTest, ServesTheLifecycleThroughTheGrpcApi) {
  const std::string arn = CreateOverJson("json-web");
  ASSERT_THAT(arn, StartsWith("arn:aws:apprunner:us-east-1:123456789012:"));
  // Created over JSON, seen over gRPC.
  EXPECT_EQ(Describe(arn).status(), v1::OPERATION_IN_PROGRESS);
  FinishOperations();

  const std::string describe =
      absl::StrCat(R"({"ServiceArn": ")", arn, R"("})");
  google::protobuf::Struct described =
      ParseObject(Call("DescribeService", describe));
  EXPECT_EQ(At(described, "Service.Status"), "RUNNING");
  EXPECT_EQ(At(described, "Service.InstanceConfiguration.Cpu"), "1024");
  EXPECT_EQ(At(described,
               "Service.NetworkConfiguration.EgressConfiguration."
               "EgressType"),
            "DEFAULT");

  google::protobuf::Struct paused = ParseObject(Call("PauseService", describe));
  EXPECT_EQ(At(paused, "Service.Status"), "OPERATION_IN_PROGRESS");
  EXPECT_EQ(At(paused, "OperationId").size(), 36u);
  EXPECT_THAT(Call("PauseService", describe),
              StartsWith("InvalidStateException: "));
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);

  google::protobuf::Struct operations =
      ParseObject(Call("ListOperations", describe));
  std::vector<std::string> types;
  for (const auto& summary :
       operations.fields().at("OperationSummaryList").list_value().values()) {
    types.push_back(summary.struct_value().fields().at("Type").string_value());
  }
  EXPECT_THAT(types, ElementsAre("PAUSE_SERVICE", "CREATE_SERVICE"));

  // Created over gRPC, tagged and listed over JSON.
  const std::string grpc_arn = CreateRunning("grpc-web");
  EXPECT_EQ(
      Call("TagResource",
           absl::StrCat(R"({"ResourceArn": ")", grpc_arn,
                        R"(", "Tags": [{"Key": "env", "Value": "dev"}]})")),
      "{}");
  EXPECT_THAT(Call("ListTagsForResource",
                   absl::StrCat(R"({"ResourceArn": ")", grpc_arn, R"("})")),
              HasSubstr(R"({"Key":"env","Value":"dev"})"));
  EXPECT_THAT(Call("ListServices", "{}"), HasSubstr("grpc-web"));
}

TEST_F(AppRunnerEndpointTest, ErrorsAreTheGrpcApisWithTheirExceptionNames) {
  EXPECT_THAT(
      Call("DescribeService",
           R"({"ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:)"
           R"(service/none/0123456789abcdef0123456789abcdef"})"),
      StartsWith("ResourceNotFoundException: "));
  EXPECT_THAT(Call("DescribeService", R"({"ServiceArn": "nope"})"),
              StartsWith("InvalidRequestException: "));
  EXPECT_THAT(Call("CreateService",
                   absl::StrCat(R"({"ServiceName": "x", )", kImage, "}")),
              StartsWith("InvalidRequestException: "));
  EXPECT_THAT(Call("DescribeService", R"({"ServiceArn": 1})"),
              StartsWith("SerializationException: ServiceArn"));
  EXPECT_THAT(Call("CreateVpcConnector", "{}"),
              StartsWith("UnknownOperationException: "));
  absl::StatusOr<std::string> unprefixed =
      translator_->Call("DescribeService", "{}");
  EXPECT_EQ(ErrorTypeOf(unprefixed.status()), kUnknownOperationException);
  EXPECT_THAT(
      translator_->Operations(),
      ElementsAre("AssociateCustomDomain", "CreateConnection", "CreateService",
                  "DeleteConnection", "DeleteService", "DescribeCustomDomains",
                  "DescribeService", "DisassociateCustomDomain",
                  "ListConnections", "ListOperations", "ListServices",
                  "ListTagsForResource", "PauseService", "ResumeService",
                  "StartDeployment", "TagResource", "UntagResource",
                  "UpdateService"));
}

TEST_F(AppRunnerEndpointTest, AnswersOverHttpWithAwsHeadersAndErrorBodies) {
  StartEndpoint(nullptr);
  httplib::Result ok = Post("AppRunner.ListServices", "{}");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->get_header_value("Content-Type"), "application/x-amz-json-1.0");
  EXPECT_EQ(ok->get_header_value("x-amzn-RequestId").size(), 36u);
  EXPECT_EQ(ok->body, R"({"ServiceSummaryList":[]})");

  httplib::Result missing =
      Post("AppRunner.DescribeService",
           R"({"ServiceArn": "arn:aws:apprunner:us-east-1:123456789012:)"
           R"(service/none/0123456789abcdef0123456789abcdef"})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  EXPECT_EQ(missing->get_header_value("x-amzn-ErrorType"),
            "ResourceNotFoundException");
  google::protobuf::Struct error = ParseObject(missing->body);
  EXPECT_EQ(At(error, "__type"), "ResourceNotFoundException");
  EXPECT_NE(At(error, "Message"), "<absent>");

  httplib::Result unknown = Post("AppRunner.CreateVpcConnector", "{}");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 400);
  EXPECT_EQ(At(ParseObject(unknown->body), "__type"),
            "UnknownOperationException");

  httplib::Result malformed = Post("AppRunner.ListServices", "{\"MaxResults\"");
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->status, 400);
  EXPECT_EQ(At(ParseObject(malformed->body), "__type"),
            "SerializationException");

  httplib::Result form =
      Post("AppRunner.ListServices", "{}", {}, "application/json");
  ASSERT_TRUE(form);
  EXPECT_EQ(form->status, 400);
  EXPECT_EQ(At(ParseObject(form->body), "__type"), "SerializationException");

  httplib::Client client("127.0.0.1", endpoint_->port());
  httplib::Result get = client.Get("/");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 404);
  EXPECT_EQ(At(ParseObject(get->body), "__type"), "UnknownOperationException");
}

TEST_F(AppRunnerEndpointTest, RefusesBodiesOverTheLimitBeforeReadingThem) {
  StartEndpoint(nullptr, {.listen = "127.0.0.1:0", .max_body_bytes = 1024});
  httplib::Result big =
      Post("AppRunner.ListServices",
           absl::StrCat(R"({"NextToken": ")", std::string(2000, 'x'), "\"}"));
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_EQ(big->get_header_value("x-amzn-RequestId").size(), 36u);
  EXPECT_EQ(At(ParseObject(big->body), "__type"), "SerializationException");
  httplib::Result small = Post("AppRunner.ListServices", "{}");
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
}

TEST_F(AppRunnerEndpointTest, VerifiesSignaturesWhenGivenCredentials) {
  common::RealClock real_clock;
  SigV4Verifier verifier({{"AKIDTEST", "right-secret", "123456789012"}},
                         "us-east-1", "apprunner", "123456789012", real_clock);
  StartEndpoint(&verifier);
  const std::string host = absl::StrCat("127.0.0.1:", endpoint_->port());
  const auto signed_headers = [&](const std::string& secret) {
    const std::string date =
        absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
    const std::string scope =
        absl::StrCat(date.substr(0, 8), "/us-east-1/apprunner/aws4_request");
    HttpRequestView request{"POST",
                            "/",
                            {{"Host", host},
                             {"X-Amz-Date", date},
                             {"X-Amz-Target", "AppRunner.ListServices"}},
                            "{}"};
    const std::string signature = Signature(
        SigningKey(secret, date.substr(0, 8), "us-east-1", "apprunner"),
        StringToSign(
            date, scope,
            CanonicalRequest(request, {"host", "x-amz-date", "x-amz-target"})));
    return httplib::Headers{
        {"X-Amz-Date", date},
        {"Authorization",
         absl::StrCat("AWS4-HMAC-SHA256 Credential=AKIDTEST/", scope,
                      ", SignedHeaders=host;x-amz-date;x-amz-target, "
                      "Signature=",
                      signature)}};
  };
  httplib::Result right =
      Post("AppRunner.ListServices", "{}", signed_headers("right-secret"));
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200) << right->body;

  httplib::Result wrong =
      Post("AppRunner.ListServices", "{}", signed_headers("wrong-secret"));
  ASSERT_TRUE(wrong);
  EXPECT_EQ(wrong->status, 403);
  EXPECT_EQ(At(ParseObject(wrong->body), "__type"),
            "InvalidSignatureException");

  httplib::Result unsigned_request = Post("AppRunner.ListServices", "{}");
  ASSERT_TRUE(unsigned_request);
  EXPECT_EQ(unsigned_request->status, 403);
  EXPECT_EQ(At(ParseObject(unsigned_request->body), "__type"),
            "MissingAuthenticationTokenException");
}

TEST_F(AppRunnerEndpointTest, ServesAtMostMaxConnectionsAtOnce) {
  StartEndpoint(nullptr, {.listen = "127.0.0.1:0",
                          .max_connections = 1,
                          .keep_alive_timeout = absl::Seconds(30)});
  // An idle connection holds the only thread.
  const int idle = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(endpoint_->port()));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(
      connect(idle, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  std::future<int> waiting = std::async(std::launch::async, [this] {
    httplib::Result result = Post("AppRunner.ListServices", "{}");
    return result ? result->status : -1;
  });
  EXPECT_EQ(waiting.wait_for(std::chrono::milliseconds(500)),
            std::future_status::timeout);
  // Once it closes, the waiting client is served.
  close(idle);
  ASSERT_EQ(waiting.wait_for(std::chrono::seconds(10)),
            std::future_status::ready);
  EXPECT_EQ(waiting.get(), 200);
}

TEST_F(AppRunnerEndpointTest, ATakenPortIsAnError) {
  StartEndpoint(nullptr);
  EXPECT_FALSE(AwsEndpoint::Start(
                   *translator_, nullptr, clock_,
                   {.listen = absl::StrCat("127.0.0.1:", endpoint_->port())})
                   .ok());
}

TEST(LoopbackTest, RecognizesLoopbackListenAddresses) {
  EXPECT_TRUE(IsLoopbackListenAddress("127.0.0.1:8080"));
  EXPECT_TRUE(IsLoopbackListenAddress("127.1.2.3:0"));
  EXPECT_TRUE(IsLoopbackListenAddress("localhost:8080"));
  EXPECT_TRUE(IsLoopbackListenAddress("[::1]:8080"));
  EXPECT_FALSE(IsLoopbackListenAddress("0.0.0.0:8080"));
  EXPECT_FALSE(IsLoopbackListenAddress("[::]:8080"));
  EXPECT_FALSE(IsLoopbackListenAddress("10.0.0.1:8080"));
  EXPECT_FALSE(IsLoopbackListenAddress("127.0.0.1"));
}

// With auth on, each access key acts as the principal of its aws: line: the
// endpoint presents the key's own in-process bearer token to the gRPC API.
class AppRunnerEndpointAuthTest : public AppRunnerEndpointTest {
 protected:
  static constexpr char kAliceAccount[] = "111111111111";

  api::AuthorizerOptions MakeAuthorizerOptions() override {
    const std::string path = (dir_ / "tokens").string();
    std::ofstream(path) << "alice " << kAliceAccount
                        << " operator aws:AKIDALICE\n"
                        << "audit " << kAliceAccount
                        << " read-only aws:AKIDAUDIT\n";
    auto tokens = auth::TokensFile::Open(path, clock_);
    EXPECT_TRUE(tokens.ok()) << tokens.status();
    tokens_ = *std::move(tokens);
    access_key_tokens_ = auth::MakeAccessKeyTokens({"AKIDALICE", "AKIDAUDIT"});
    api::AuthorizerOptions options;
    options.account_id = api::kAccount;
    options.tokens = tokens_.get();
    options.access_key_token_hashes = access_key_tokens_.key_by_token_hash;
    return options;
  }

  void SetUp() override {
    AppRunnerEndpointTest::SetUp();
    verifier_ = std::make_unique<SigV4Verifier>(
        std::vector<AwsCredential>{
            {"AKIDALICE", "alice-secret", kAliceAccount},
            {"AKIDAUDIT", "audit-secret", kAliceAccount}},
        "us-east-1", "apprunner", std::nullopt, real_clock_);
    AwsEndpointOptions options;
    options.listen = "127.0.0.1:0";
    options.access_key_bearer_tokens = access_key_tokens_.token_by_key;
    StartEndpoint(verifier_.get(), options);
  }

  // Posts `body` to `target`, signed with the key.
  httplib::Result PostSigned(const std::string& key, const std::string& secret,
                             const std::string& target,
                             const std::string& body) {
    const std::string host = absl::StrCat("127.0.0.1:", endpoint_->port());
    const std::string date =
        absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
    const std::string scope =
        absl::StrCat(date.substr(0, 8), "/us-east-1/apprunner/aws4_request");
    HttpRequestView request{
        "POST",
        "/",
        {{"Host", host}, {"X-Amz-Date", date}, {"X-Amz-Target", target}},
        body};
    const std::string signature = Signature(
        SigningKey(secret, date.substr(0, 8), "us-east-1", "apprunner"),
        StringToSign(
            date, scope,
            CanonicalRequest(request, {"host", "x-amz-date", "x-amz-target"})));
    return Post(target, body,
                {{"X-Amz-Date", date},
                 {"Authorization",
                  absl::StrCat("AWS4-HMAC-SHA256 Credential=", key, "/", scope,
                               ", SignedHeaders=host;x-amz-date;x-amz-target, "
                               "Signature=",
                               signature)}});
  }

  common::RealClock real_clock_;
  std::unique_ptr<auth::TokensFile> tokens_;
  auth::AccessKeyTokens access_key_tokens_;
  std::unique_ptr<SigV4Verifier> verifier_;
};

TEST_F(AppRunnerEndpointAuthTest, EachKeyActsAsItsPrincipal) {
  const std::string create =
      absl::StrCat(R"({"ServiceName": "keyed-web", )", kImage, "}");
  httplib::Result created = PostSigned("AKIDALICE", "alice-secret",
                                       "AppRunner.CreateService", create);
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 200) << created->body;
  EXPECT_THAT(At(ParseObject(created->body), "Service.ServiceArn"),
              StartsWith(absl::StrCat("arn:aws:apprunner:us-east-1:",
                                      kAliceAccount, ":service/keyed-web/")));

  // The read-only key reads the account's services and may change nothing.
  httplib::Result listed =
      PostSigned("AKIDAUDIT", "audit-secret", "AppRunner.ListServices", "{}");
  ASSERT_TRUE(listed);
  EXPECT_EQ(listed->status, 200) << listed->body;
  EXPECT_THAT(listed->body, HasSubstr("keyed-web"));
  httplib::Result refused =
      PostSigned("AKIDAUDIT", "audit-secret", "AppRunner.CreateService",
                 absl::StrCat(R"({"ServiceName": "audit-web", )", kImage, "}"));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 403);
  EXPECT_EQ(At(ParseObject(refused->body), "__type"), "AccessDeniedException");
}

TEST_F(AppRunnerEndpointAuthTest, NoClientOutsideCanActAsAKey) {
  // The gRPC port answers only a token of the tokens file; the endpoint's
  // own are random and never sent outside the process.
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer AKIDALICE");
  v1::ListServicesResponse response;
  EXPECT_EQ(stub_->ListServices(&context, {}, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // Without a signature the endpoint presents no token at all.
  httplib::Result unsigned_request = Post("AppRunner.ListServices", "{}");
  ASSERT_TRUE(unsigned_request);
  EXPECT_EQ(unsigned_request->status, 403);
}

}  // namespace
}  // namespace servicemanager::aws
