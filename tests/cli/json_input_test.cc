// smctl's JSON input: the three spellings of field names, map keys kept as
// written, file:// input, and options replacing fields of --cli-input-json.
#include "client/json_input.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {
namespace {

using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

TEST(ParseJsonTest, AcceptsProtoAndLowerCamelCaseNames) {
  v1::CreateServiceRequest request;
  ASSERT_TRUE(ParseJson(R"({"service_name":"a-web",
                            "sourceConfiguration":{"image_repository":{
                              "imageIdentifier":"nginx:1"}}})",
                        &request)
                  .ok());
  EXPECT_EQ(request.service_name(), "a-web");
  EXPECT_EQ(
      request.source_configuration().image_repository().image_identifier(),
      "nginx:1");
}

TEST(ParseJsonTest, AcceptsAppRunnersAcronymsInCapitals) {
  v1::AssociateCustomDomainRequest request;
  ASSERT_TRUE(ParseJson(R"({"ServiceArn": "arn", "DomainName": "example.com",
                            "EnableWWWSubdomain": true})",
                        &request)
                  .ok());
  EXPECT_EQ(request.domain_name(), "example.com");
  EXPECT_TRUE(request.enable_www_subdomain());
}

TEST(ParseJsonTest, AcceptsAppRunnersPascalCaseAtEveryDepth) {
  v1::CreateServiceRequest request;
  ASSERT_TRUE(ParseJson(R"({
    "ServiceName": "a-web",
    "SourceConfiguration": {
      "AutoDeploymentsEnabled": false,
      "ImageRepository": {
        "ImageIdentifier": "nginx:1",
        "ImageRepositoryType": "ECR_PUBLIC",
        "ImageConfiguration": {
          "Port": "80",
          "RuntimeEnvironmentVariables": {"LogLevel": "debug"}
        }
      }
    },
    "InstanceConfiguration": {"Cpu": "1 vCPU", "Memory": "2 GB"},
    "HealthCheckConfiguration": {"Protocol": "HTTP", "HealthyThreshold": 2},
    "Tags": [{"Key": "team", "Value": "web"}]
  })",
                        &request)
                  .ok());
  EXPECT_EQ(request.service_name(), "a-web");
  const v1::ImageRepository& image =
      request.source_configuration().image_repository();
  EXPECT_FALSE(request.source_configuration().auto_deployments_enabled());
  EXPECT_EQ(image.image_identifier(), "nginx:1");
  EXPECT_EQ(image.image_repository_type(), v1::ECR_PUBLIC);
  EXPECT_EQ(image.image_configuration().port(), "80");
  EXPECT_THAT(image.image_configuration().runtime_environment_variables(),
              UnorderedElementsAre(Pair("LogLevel", "debug")))
      << "a map's keys are data, not field names";
  EXPECT_EQ(request.instance_configuration().cpu(), "1 vCPU");
  EXPECT_EQ(request.health_check_configuration().protocol(), v1::HTTP);
  EXPECT_EQ(request.health_check_configuration().healthy_threshold(), 2);
  ASSERT_EQ(request.tags_size(), 1);
  EXPECT_EQ(request.tags(0).key(), "team");
  EXPECT_EQ(request.tags(0).value(), "web");
}

TEST(ParseJsonTest, NamesAnUnknownField) {
  v1::CreateServiceRequest request;
  absl::Status status = ParseJson(
      R"({"ServiceName":"a-web","NetworkConfiguration":{}})", &request);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("NetworkConfiguration"));
  EXPECT_FALSE(ParseJson("{not json", &request).ok());
  EXPECT_FALSE(ParseJson(R"({"serviceName": 3})", &request).ok());
}

TEST(ReadCliInputJsonTest, TakesTheValueOrAFile) {
  EXPECT_EQ(ReadCliInputJson(R"({"a":1})").value(), R"({"a":1})");
  const std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      absl::StrCat("sm-cli-input-", getpid(), ".json");
  std::ofstream(path) << R"({"serviceArn":"x"})";
  EXPECT_EQ(ReadCliInputJson(absl::StrCat("file://", path.string())).value(),
            R"({"serviceArn":"x"})");
  std::filesystem::remove(path);
  absl::StatusOr<std::string> missing =
      ReadCliInputJson(absl::StrCat("file://", path.string()));
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(missing.status().message(), HasSubstr(path.string()));
}

TEST(OverrideFieldsTest, ReplacesWholeFieldsThatAreSet) {
  v1::CreateServiceRequest base;
  base.set_service_name("from-json");
  base.mutable_instance_configuration()->set_cpu("1024");
  base.mutable_instance_configuration()->set_memory("2048");
  base.add_tags()->set_key("json");
  base.set_client_token("json-token");

  v1::CreateServiceRequest given;
  given.mutable_instance_configuration()->set_cpu("2048");
  given.add_tags()->set_key("option");
  given.set_validate_only(true);
  OverrideFields(given, &base);

  EXPECT_EQ(base.service_name(), "from-json");
  EXPECT_EQ(base.client_token(), "json-token");
  EXPECT_TRUE(base.validate_only());
  EXPECT_EQ(base.instance_configuration().cpu(), "2048");
  EXPECT_EQ(base.instance_configuration().memory(), "")
      << "a message option replaces the whole message, as in the AWS CLI";
  ASSERT_EQ(base.tags_size(), 1);
  EXPECT_EQ(base.tags(0).key(), "option");
}

}  // namespace
}  // namespace servicemanager::client
