// App Runner's JSON <-> the protos: names, types, enums, timestamps, what is
// ignored, what is refused, and bodies that are not JSON at all.
#include "aws/app_runner_json.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "aws/aws_error.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::aws {
namespace {

namespace v1 = ::servicemanager::v1;
using ::testing::HasSubstr;
using ::testing::Not;

// The AWS exception name of a parse error, "" for success.
template <typename Message>
std::string ErrorOf(const std::string& body, Message& message,
                    std::string* text = nullptr) {
  absl::Status status = ParseAppRunnerJson(body, message);
  if (text != nullptr) *text = std::string(status.message());
  return status.ok() ? "" : ErrorTypeOf(status);
}

google::protobuf::Struct Parse(const std::string& json) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &object).ok())
      << json;
  return object;
}

TEST(AppRunnerJsonTest, PascalCaseOfProtoNames) {
  EXPECT_EQ(PascalCase("service_arn"), "ServiceArn");
  EXPECT_EQ(PascalCase("id"), "Id");
  EXPECT_EQ(PascalCase("operation_summary_list"), "OperationSummaryList");
  EXPECT_EQ(PascalCase("runtime_environment_variables"),
            "RuntimeEnvironmentVariables");
}

TEST(AppRunnerJsonTest, ReadsACreateServiceRequest) {
  v1::CreateServiceRequest request;
  ASSERT_EQ(ErrorOf(R"({
    "ServiceName": "hello-web",
    "SourceConfiguration": {
      "ImageRepository": {
        "ImageIdentifier": "public.ecr.aws/nginx/nginx:latest",
        "ImageRepositoryType": "ECR_PUBLIC",
        "ImageConfiguration": {"Port": "80",
                               "RuntimeEnvironmentVariables": {"MODE": "prod"}}
      },
      "AutoDeploymentsEnabled": false
    },
    "InstanceConfiguration": {"Cpu": "1 vCPU", "Memory": "2 GB"},
    "HealthCheckConfiguration": {"Protocol": "HTTP", "Path": "/health",
                                 "Interval": 10, "HealthyThreshold": 2},
    "Tags": [{"Key": "team", "Value": "web"}]
  })",
                    request),
            "");
  EXPECT_EQ(request.service_name(), "hello-web");
  const v1::ImageRepository& image =
      request.source_configuration().image_repository();
  EXPECT_EQ(image.image_identifier(), "public.ecr.aws/nginx/nginx:latest");
  EXPECT_EQ(image.image_repository_type(), v1::ECR_PUBLIC);
  EXPECT_EQ(image.image_configuration().port(), "80");
  EXPECT_EQ(
      image.image_configuration().runtime_environment_variables().at("MODE"),
      "prod");
  ASSERT_TRUE(request.source_configuration().has_auto_deployments_enabled());
  EXPECT_FALSE(request.source_configuration().auto_deployments_enabled());
  EXPECT_EQ(request.instance_configuration().cpu(), "1 vCPU");
  EXPECT_EQ(request.health_check_configuration().protocol(), v1::HTTP);
  EXPECT_EQ(request.health_check_configuration().interval(), 10);
  EXPECT_FALSE(request.health_check_configuration().has_timeout());
  ASSERT_EQ(request.tags_size(), 1);
  EXPECT_EQ(request.tags(0).value(), "web");
}

TEST(AppRunnerJsonTest, IgnoresMembersItDoesNotImplementAndNulls) {
  v1::CreateServiceRequest request;
  ASSERT_EQ(ErrorOf(R"({"ServiceName": "svc1",
                  "EncryptionConfiguration": {"KmsKey": "arn:aws:kms:x"},
                  "NetworkConfiguration": {"EgressConfiguration":
                                           {"EgressType": "DEFAULT"}},
                  "AutoScalingConfigurationArn": "arn:aws:apprunner:x",
                  "InstanceConfiguration": {"Cpu": "1024",
                                            "InstanceRoleArn": "arn:x"},
                  "SomethingNewer": [1, 2],
                  "HealthCheckConfiguration": null})",
                    request),
            "");
  EXPECT_EQ(request.service_name(), "svc1");
  EXPECT_EQ(request.instance_configuration().cpu(), "1024");
  EXPECT_FALSE(request.has_health_check_configuration());
}

TEST(AppRunnerJsonTest, DoesNotReadServiceManagerExtensions) {
  v1::PauseServiceRequest request;
  ASSERT_EQ(ErrorOf(R"({"ServiceArn": "a", "ClientToken": "t",
                        "ValidateOnly": true, "Etag": "e"})",
                    request),
            "");
  EXPECT_EQ(request.service_arn(), "a");
  EXPECT_EQ(request.client_token(), "");
  EXPECT_FALSE(request.validate_only());
  EXPECT_EQ(request.etag(), "");
}

TEST(AppRunnerJsonTest, AnEmptyBodyIsAnEmptyRequest) {
  v1::ListServicesRequest request;
  EXPECT_EQ(ErrorOf("", request), "");
  EXPECT_EQ(ErrorOf("  {} ", request), "");
  EXPECT_FALSE(request.has_max_results());
}

TEST(AppRunnerJsonTest, WrongJsonTypesAreSerializationErrors) {
  v1::ListServicesRequest list;
  std::string text;
  EXPECT_EQ(ErrorOf(R"({"MaxResults": "5"})", list, &text),
            kSerializationException);
  EXPECT_THAT(text, HasSubstr("MaxResults"));
  EXPECT_EQ(ErrorOf(R"({"MaxResults": 1.5})", list), kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"MaxResults": 1e12})", list), kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"MaxResults": 5})", list), "");
  EXPECT_EQ(list.max_results(), 5);

  v1::CreateServiceRequest create;
  EXPECT_EQ(ErrorOf(R"({"ServiceName": 5})", create), kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"Tags": {"Key": "a"}})", create),
            kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"Tags": [null]})", create), kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": "x"})", create),
            kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": {"AutoDeploymentsEnabled": 1}})",
                    create),
            kSerializationException);
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": {"ImageRepository": {
                "ImageConfiguration": {"RuntimeEnvironmentVariables":
                                       {"A": 1}}}}})",
                    create, &text),
            kSerializationException);
  EXPECT_THAT(text, HasSubstr("RuntimeEnvironmentVariables.A"));
}

TEST(AppRunnerJsonTest, BodiesThatAreNotAnObjectAreSerializationErrors) {
  v1::DescribeServiceRequest request;
  for (const std::string& body :
       {std::string("not json"), std::string("[]"), std::string("\"x\""),
        std::string("{\"ServiceArn\": "), std::string("{} {}"),
        std::string(100000, '['), std::string("{\"\xff\": 1}")}) {
    EXPECT_EQ(ErrorOf(body, request), kSerializationException)
        << body.substr(0, 40);
  }
}

TEST(AppRunnerJsonTest, UnknownEnumStringsAndSourceCodeAreInvalidRequests) {
  v1::CreateServiceRequest request;
  std::string text;
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": {"ImageRepository":
                        {"ImageRepositoryType": "GHCR"}}})",
                    request, &text),
            kInvalidRequestException);
  EXPECT_THAT(text, HasSubstr("ECR, ECR_PUBLIC"));
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": {"ImageRepository":
           {"ImageRepositoryType": "IMAGE_REPOSITORY_TYPE_UNSPECIFIED"}}})",
                    request),
            kInvalidRequestException);
  EXPECT_EQ(ErrorOf(R"({"SourceConfiguration": {"CodeRepository":
                        {"RepositoryUrl": "https://github.com/x/y"}}})",
                    request, &text),
            kInvalidRequestException);
  EXPECT_THAT(text, HasSubstr("CodeRepository"));
}

TEST(AppRunnerJsonTest, WritesAServiceAsAppRunnerDoes) {
  v1::DescribeServiceResponse response;
  v1::Service& service = *response.mutable_service();
  service.set_service_name("hello-web");
  service.set_service_id("0123456789abcdef0123456789abcdef");
  service.set_service_arn(
      "arn:aws:apprunner:eu-west-1:123456789012:service/hello-web/"
      "0123456789abcdef0123456789abcdef");
  service.mutable_created_at()->set_seconds(1606156014);
  service.mutable_updated_at()->set_seconds(1606156014);
  service.mutable_updated_at()->set_nanos(250000000);
  service.set_status(v1::PAUSED);
  auto* image =
      service.mutable_source_configuration()->mutable_image_repository();
  image->set_image_identifier("public.ecr.aws/x/y:1");
  image->set_image_repository_type(v1::ECR_PUBLIC);
  (*image->mutable_image_configuration()
        ->mutable_runtime_environment_variables())["B"] = "2";
  (*image->mutable_image_configuration()
        ->mutable_runtime_environment_variables())["A"] = "1";
  service.mutable_source_configuration()->set_auto_deployments_enabled(false);
  service.mutable_health_check_configuration()->set_interval(5);
  service.set_etag("etag-1");
  service.mutable_deployed_image()->set_version(1);

  const std::string json = ToAppRunnerJson(response);
  EXPECT_THAT(json, HasSubstr(R"("CreatedAt":1606156014,)"));
  EXPECT_THAT(json, HasSubstr(R"("UpdatedAt":1606156014.250,)"));
  EXPECT_THAT(json, HasSubstr(R"("Status":"PAUSED")"));
  EXPECT_THAT(json,
              HasSubstr(R"("RuntimeEnvironmentVariables":{"A":"1","B":"2"})"));
  EXPECT_THAT(json, HasSubstr(R"("AutoDeploymentsEnabled":false)"));
  EXPECT_THAT(json, HasSubstr(R"("Interval":5)"));
  EXPECT_THAT(json, Not(HasSubstr("Etag")));
  EXPECT_THAT(json, Not(HasSubstr("DeployedImage")));
  EXPECT_THAT(json, Not(HasSubstr("DeletedAt")));
  EXPECT_THAT(
      json,
      HasSubstr(
          R"("AutoScalingConfigurationArn":"arn:aws:apprunner:eu-west-1:)"
          R"(123456789012:autoscalingconfiguration/DefaultConfiguration/1/)"
          R"(00000000000000000000000000000001")"));
  EXPECT_THAT(json, HasSubstr(R"("EgressType":"DEFAULT")"));

  // It is JSON, and reads back.
  google::protobuf::Struct object = Parse(json);
  EXPECT_EQ(object.fields()
                .at("Service")
                .struct_value()
                .fields()
                .at("ServiceName")
                .string_value(),
            "hello-web");
  v1::DescribeServiceResponse back;
  ASSERT_EQ(ErrorOf(json, back), "");
  EXPECT_EQ(back.service().updated_at().nanos(), 250000000);
  EXPECT_EQ(back.service()
                .source_configuration()
                .image_repository()
                .image_configuration()
                .runtime_environment_variables_size(),
            2);
}

TEST(AppRunnerJsonTest, WritesListsAlwaysAndEmptyResponsesAsEmptyObjects) {
  EXPECT_EQ(ToAppRunnerJson(v1::ListServicesResponse()),
            R"({"ServiceSummaryList":[]})");
  EXPECT_EQ(ToAppRunnerJson(v1::TagResourceResponse()), "{}");
  v1::ServiceSummary summary;
  summary.set_service_name("deleted");
  EXPECT_EQ(ToAppRunnerJson(summary), R"({"ServiceName":"deleted"})");
  v1::Service deleted;
  deleted.set_status(v1::DELETED);
  EXPECT_EQ(ToAppRunnerJson(deleted),
            R"({"Status":"DELETED","SourceConfiguration":{},)"
            R"("InstanceConfiguration":{}})");
  v1::ListTagsForResourceResponse tags;
  v1::Tag* tag = tags.add_tags();
  tag->set_key("k\"");
  tag->set_value("");
  EXPECT_EQ(ToAppRunnerJson(tags), R"({"Tags":[{"Key":"k\"","Value":""}]})");
  v1::PauseServiceResponse pause;
  pause.set_operation_id("op");
  pause.mutable_validation()->set_operation_type(v1::PAUSE_SERVICE);
  EXPECT_EQ(ToAppRunnerJson(pause), R"({"OperationId":"op"})");
}

}  // namespace
}  // namespace servicemanager::aws
