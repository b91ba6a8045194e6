// smctl's output formats on hand-built messages: text and table, field order,
// lists with missing fields, maps, escaping, and empty responses.
#include "client/output.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "client/service_manager_client.h"
#include "google/protobuf/descriptor.pb.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {
namespace {

using ::testing::Optional;

constexpr char kArn[] =
    "arn:aws:apprunner:us-east-1:000000000000:service/web/"
    "0123456789abcdef0123456789abcdef";

v1::DescribeServiceResponse Described() {
  v1::DescribeServiceResponse response;
  v1::Service& service = *response.mutable_service();
  service.set_service_name("web");
  service.set_service_arn(kArn);
  service.mutable_created_at()->set_seconds(1795000000);
  service.mutable_created_at()->set_nanos(123000000);
  service.set_status(v1::RUNNING);
  v1::SourceConfiguration& source = *service.mutable_source_configuration();
  source.set_auto_deployments_enabled(false);
  v1::ImageRepository& image = *source.mutable_image_repository();
  image.set_image_identifier("nginx:1");
  image.set_image_repository_type(v1::ECR_PUBLIC);
  (*image.mutable_image_configuration()
        ->mutable_runtime_environment_variables())["B"] = "two";
  (*image.mutable_image_configuration()
        ->mutable_runtime_environment_variables())["A"] = "tab\there";
  service.mutable_instance_configuration()->set_cpu("1024");
  service.set_etag("2-01234567");
  return response;
}

v1::ListOperationsResponse Listed() {
  v1::ListOperationsResponse response;
  v1::OperationSummary& pause = *response.add_operation_summary_list();
  pause.set_id("op-2");
  pause.set_type(v1::PAUSE_SERVICE);
  pause.set_status(v1::IN_PROGRESS);
  v1::OperationSummary& create = *response.add_operation_summary_list();
  create.set_id("op-1");
  create.set_type(v1::CREATE_SERVICE);
  create.set_status(v1::SUCCEEDED);
  create.mutable_ended_at()->set_seconds(1795000000);
  response.set_next_token("tok");
  return response;
}

TEST(OutputTest, ParsesTheFormatNames) {
  EXPECT_THAT(ParseOutputFormat("json"), Optional(OutputFormat::kJson));
  EXPECT_THAT(ParseOutputFormat("table"), Optional(OutputFormat::kTable));
  EXPECT_THAT(ParseOutputFormat("text"), Optional(OutputFormat::kText));
  EXPECT_EQ(ParseOutputFormat("yaml"), std::nullopt);
}

TEST(OutputTest, TextHasALinePerMessageNamedByItsField) {
  EXPECT_EQ(FormatText(Described()),
            "SERVICE\tweb\t" + std::string(kArn) +
                "\t2026-11-18T11:06:40.123Z\tRUNNING\t2-01234567\n"
                "SOURCECONFIGURATION\tFalse\n"
                "IMAGEREPOSITORY\tnginx:1\tECR_PUBLIC\n"
                "RUNTIMEENVIRONMENTVARIABLES\tA\ttab\\there\n"
                "RUNTIMEENVIRONMENTVARIABLES\tB\ttwo\n"
                "INSTANCECONFIGURATION\t1024\n");
}

TEST(OutputTest, TextListsHaveAColumnForEveryFieldOfAnyElement) {
  EXPECT_EQ(FormatText(Listed()),
            "tok\n"
            "OPERATIONSUMMARYLIST\top-2\tPAUSE_SERVICE\tIN_PROGRESS\t\n"
            "OPERATIONSUMMARYLIST\top-1\tCREATE_SERVICE\tSUCCEEDED\t"
            "2026-11-18T11:06:40Z\n");
}

TEST(OutputTest, TextListsOfScalarsHaveALinePerValue) {
  v1::UntagResourceRequest request;
  request.set_resource_arn("arn");
  request.add_tag_keys("team");
  request.add_tag_keys("env");
  EXPECT_EQ(FormatText(request), "arn\nTAGKEYS\tteam\nTAGKEYS\tenv\n");
}

TEST(OutputTest, TextLineHasAColumnForEveryScalarFieldOfTheType) {
  // service_name, service_id, service_arn, service_url, created_at,
  // updated_at, deleted_at, status, etag, endpoint.
  EXPECT_EQ(FormatTextLine(Described().service()),
            "web\t\t" + std::string(kArn) +
                "\t\t2026-11-18T11:06:40.123Z\t\t\tRUNNING\t2-01234567\t");
}

TEST(OutputTest, TableHasKeyValueSectionsForMessages) {
  v1::DescribeServiceResponse response = Described();
  response.mutable_service()->set_service_arn("arn:web");
  EXPECT_EQ(FormatTable(response, "DescribeService"),
            R"(------------------------------------------------
|               DescribeService                |
+----------------------------------------------+
||                  service                   ||
|+---------------+----------------------------+|
||  serviceName  |  web                       ||
||  serviceArn   |  arn:web                   ||
||  createdAt    |  2026-11-18T11:06:40.123Z  ||
||  status       |  RUNNING                   ||
||  etag         |  2-01234567                ||
|+---------------+----------------------------+|
|||           sourceConfiguration            |||
||+--------------------------+---------------+||
|||  autoDeploymentsEnabled  |  False        |||
||+--------------------------+---------------+||
||||            imageRepository             ||||
|||+-----------------------+----------------+|||
||||  imageIdentifier      |  nginx:1       ||||
||||  imageRepositoryType  |  ECR_PUBLIC    ||||
|||+-----------------------+----------------+|||
|||||          imageConfiguration          |||||
||||+--------------------------------------+||||
||||||    runtimeEnvironmentVariables     ||||||
|||||+-----+------------------------------+|||||
||||||  A  |  tab\there                   ||||||
||||||  B  |  two                         ||||||
|||||+-----+------------------------------+|||||
|||          instanceConfiguration           |||
||+-------+----------------------------------+||
|||  cpu  |  1024                            |||
||+-------+----------------------------------+||
)");
}

TEST(OutputTest, TableHasColumnsForLists) {
  EXPECT_EQ(
      FormatTable(Listed(), "ListOperations"),
      R"(------------------------------------------------------------------------
|                            ListOperations                            |
+-------------+--------------------------------------------------------+
|  nextToken  |  tok                                                   |
+-------------+--------------------------------------------------------+
||                        operationSummaryList                        ||
|+--------+------------------+---------------+------------------------+|
||   id   |       type       |    status     |        endedAt         ||
|+--------+------------------+---------------+------------------------+|
||  op-2  |  PAUSE_SERVICE   |  IN_PROGRESS  |                        ||
||  op-1  |  CREATE_SERVICE  |  SUCCEEDED    |  2026-11-18T11:06:40Z  ||
|+--------+------------------+---------------+------------------------+|
)");
}

TEST(OutputTest, ListElementsWithNestedMessagesReopenTheListsSection) {
  // Nothing in the API has such a list yet; descriptor.proto does.
  google::protobuf::FileDescriptorProto file;
  google::protobuf::DescriptorProto& a = *file.add_message_type();
  a.set_name("A");
  a.add_field()->set_name("x");
  file.add_message_type()->set_name("Bb");
  EXPECT_EQ(FormatText(file), "MESSAGETYPE\tA\nFIELD\tx\nMESSAGETYPE\tBb\n");
  EXPECT_EQ(FormatTable(file, "T"), R"(-------------------
|        T        |
+-----------------+
||  messageType  ||
|+---------------+|
||     name      ||
|+---------------+|
||  A            ||
|+---------------+|
|||    field    |||
||+-------------+||
|||    name     |||
||+-------------+||
|||  x          |||
||+-------------+||
||  messageType  ||
|+---------------+|
||     name      ||
|+---------------+|
||  Bb           ||
|+---------------+|
)");
}

TEST(OutputTest, EmptyResponsesPrintNothingButJsonBraces) {
  v1::TagResourceResponse empty;
  EXPECT_EQ(FormatText(empty), "");
  EXPECT_EQ(FormatTable(empty, "TagResource"), "");
  std::ostringstream json;
  ASSERT_TRUE(
      PrintResponse(empty, OutputFormat::kJson, "TagResource", json).ok());
  EXPECT_EQ(json.str(), "{}\n");
}

TEST(OutputTest, ApiErrorLineNamesTheExceptionOrTheCode) {
  EXPECT_EQ(ApiErrorLine("PauseService", absl::UnavailableError("down")),
            "An error occurred (UNAVAILABLE) when calling the PauseService "
            "operation: down");
}

}  // namespace
}  // namespace servicemanager::client
