// The API's input limits end to end: each bad input is INVALID_ARGUMENT with
// a message that starts with the request field it names, and changes nothing.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "tests/api/api_test_fixture.h"

namespace servicemanager::api {
namespace {

using ::testing::HasSubstr;
using ::testing::SizeIs;
using ::testing::StartsWith;

v1::CreateServiceRequest ValidCreate(const std::string& name) {
  v1::CreateServiceRequest request;
  request.set_service_name(name);
  request.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/x/y:1");
  return request;
}

v1::ImageConfiguration* Image(v1::CreateServiceRequest& request) {
  return request.mutable_source_configuration()
      ->mutable_image_repository()
      ->mutable_image_configuration();
}

TEST_F(ApiTest, EnvironmentVariablesAndSecretsAreAtMostAHundredEach) {
  v1::CreateServiceRequest request = ValidCreate("many-vars");
  // Copied from strings, not assigned from literals: g++ 12's Release build
  // warns falsely (-Wrestrict) on the literal assignment.
  const std::string value = "v";
  const std::string secret = "arn:aws:secretsmanager:us-east-1:1:secret:s";
  for (int i = 0; i < 100; ++i) {
    (*Image(request)
          ->mutable_runtime_environment_variables())[absl::StrCat("VAR_", i)] =
        value;
    (*Image(request)
          ->mutable_runtime_environment_secrets())[absl::StrCat("SECRET_", i)] =
        secret;
  }
  request.set_validate_only(true);
  v1::CreateServiceResponse response;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::CreateService, request, &response).code,
      grpc::StatusCode::OK);

  (*Image(request)->mutable_runtime_environment_secrets())["SECRET_100"] = "s";
  request.set_validate_only(false);
  Outcome over =
      Call(&v1::ServiceManager::Stub::CreateService, request, &response);
  EXPECT_EQ(over.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(over.message,
              StartsWith("source_configuration.image_repository.image_"
                         "configuration.runtime_environment_secrets: "));
  EXPECT_THAT(ListedNames(), ::testing::IsEmpty());
}

TEST_F(ApiTest, StartCommandAndPortAreChecked) {
  struct Case {
    std::string port;
    std::string start_command;
    std::string field;
  };
  const std::vector<Case> cases = {
      {" 8080", "", "port"},
      {"+8080", "", "port"},
      {"8080", "serve\nsecond line", "start_command"},
      {"8080", std::string(51201, 'x'), "start_command"},
  };
  for (const Case& c : cases) {
    v1::CreateServiceRequest request = ValidCreate("bad-image-config");
    Image(request)->set_port(c.port);
    Image(request)->set_start_command(c.start_command);
    v1::CreateServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CreateService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT) << c.field;
    EXPECT_THAT(outcome.message,
                StartsWith(absl::StrCat("source_configuration.image_"
                                        "repository.image_configuration.",
                                        c.field, ": ")));
  }
  EXPECT_THAT(ListedNames(), ::testing::IsEmpty());
}

TEST_F(ApiTest, ALongEtagIsInvalidAndNotEchoed) {
  const std::string arn = CreateRunning("etag-limit");
  v1::PauseServiceRequest request;
  request.set_service_arn(arn);
  request.set_etag(std::string(65, '7'));
  v1::PauseServiceResponse response;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::PauseService, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.message, StartsWith("etag: "));
  EXPECT_THAT(outcome.message, ::testing::Not(HasSubstr("7777777")));
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
}

TEST_F(ApiTest, PageTokensAreAtMost1024Characters) {
  const std::string arn = CreateRunning("token-limit");
  const std::string long_token(1025, 'A');
  auto expect_refused = [](const Outcome& outcome, absl::string_view call) {
    EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT) << call;
    EXPECT_THAT(outcome.message, StartsWith("next_token: ")) << call;
    EXPECT_THAT(outcome.message, HasSubstr("1024")) << call;
  };

  v1::ListServicesRequest services;
  services.set_next_token(long_token);
  v1::ListServicesResponse services_response;
  expect_refused(Call(&v1::ServiceManager::Stub::ListServices, services,
                      &services_response),
                 "ListServices");

  v1::ListOperationsRequest operations;
  operations.set_service_arn(arn);
  operations.set_next_token(long_token);
  v1::ListOperationsResponse operations_response;
  expect_refused(Call(&v1::ServiceManager::Stub::ListOperations, operations,
                      &operations_response),
                 "ListOperations");

  v1::ListConnectionsRequest connections;
  connections.set_next_token(long_token);
  v1::ListConnectionsResponse connections_response;
  expect_refused(Call(&v1::ServiceManager::Stub::ListConnections, connections,
                      &connections_response),
                 "ListConnections");

  v1::DescribeCustomDomainsRequest domains;
  domains.set_service_arn(arn);
  domains.set_next_token(long_token);
  v1::DescribeCustomDomainsResponse domains_response;
  expect_refused(Call(&v1::ServiceManager::Stub::DescribeCustomDomains, domains,
                      &domains_response),
                 "DescribeCustomDomains");
}

TEST_F(ApiTest, AWaitTimeoutWithNanosOverASecondIsInvalid) {
  const std::string arn = CreateRunning("wait-limit");
  v1::WaitOperationRequest request;
  request.set_operation_id(Operations(arn).front().id());
  request.mutable_timeout()->set_nanos(1000000000);
  v1::WaitOperationResponse response;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::WaitOperation, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.message, StartsWith("timeout.nanos: "));
}

TEST_F(ApiTest, TagLimitsQuoteNoLongKeyAndCountUntagKeys) {
  const std::string arn = CreateRunning("tag-limits");
  v1::TagResourceRequest tag;
  tag.set_resource_arn(arn);
  v1::Tag* long_tag = tag.add_tags();
  long_tag->set_key(std::string(5000, 'k'));
  long_tag->set_value(std::string(300, 'v'));
  v1::TagResourceResponse tag_response;
  Outcome tagged =
      Call(&v1::ServiceManager::Stub::TagResource, tag, &tag_response);
  EXPECT_EQ(tagged.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(tagged.message, StartsWith("tags: "));
  EXPECT_LT(tagged.message.size(), 300u);

  v1::UntagResourceRequest untag;
  untag.set_resource_arn(arn);
  for (int i = 0; i < 51; ++i) {
    untag.add_tag_keys(absl::StrCat("key-", i));
  }
  v1::UntagResourceResponse untag_response;
  Outcome untagged =
      Call(&v1::ServiceManager::Stub::UntagResource, untag, &untag_response);
  EXPECT_EQ(untagged.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(untagged.message, StartsWith("tag_keys: "));
  EXPECT_THAT(Tags(arn), SizeIs(1));
}

// proto3 strings must be UTF-8. A request with one that is not does not
// parse, and gRPC 1.51's callback server answers UNIMPLEMENTED with no
// message before any handler runs (so without x-amzn-errortype).
TEST_F(ApiTest, AStringThatIsNotUtf8IsRefusedBeforeAnyHandler) {
  v1::CreateServiceRequest request = ValidCreate("not-utf8");
  v1::Tag* tag = request.add_tags();
  tag->set_key("team");
  tag->set_value("\xff\xfe");
  v1::CreateServiceResponse response;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::CreateService, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::UNIMPLEMENTED) << outcome.message;
  EXPECT_EQ(outcome.error_type, "");
  EXPECT_THAT(ListedNames(), ::testing::IsEmpty());
}

}  // namespace
}  // namespace servicemanager::api
