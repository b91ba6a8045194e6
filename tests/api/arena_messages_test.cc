#include "api/arena_messages.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/proto_convert.h"
#include "domain/service.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::api {
namespace {

namespace v1 = ::servicemanager::v1;

using DescribeServiceMessages =
    grpc::MessageAllocator<v1::DescribeServiceRequest,
                           v1::DescribeServiceResponse>;
using ListServicesMessages =
    grpc::MessageAllocator<v1::ListServicesRequest, v1::ListServicesResponse>;
constexpr size_t kFirstBlockBytes =
    ArenaMessageAllocator<v1::ListServicesRequest,
                          v1::ListServicesResponse>::kInitialBlockBytes;

TEST(ArenaMessagesTest, OneAllocatorPerMethodForTheWholeProcess) {
  ListServicesMessages* first = ArenaMessages();
  ListServicesMessages* second = ArenaMessages();
  EXPECT_EQ(first, second);
}

TEST(ArenaMessagesTest,
     RequestAndResponseShareAnArenaThatOutgrowsItsFirstBlock) {
  ListServicesMessages* allocator = ArenaMessages();
  grpc::MessageHolder<v1::ListServicesRequest, v1::ListServicesResponse>*
      holder = allocator->AllocateMessages();
  google::protobuf::Arena* arena = holder->request()->GetArena();
  ASSERT_NE(arena, nullptr);
  EXPECT_EQ(holder->response()->GetArena(), arena);

  // A full page of summaries takes more than the holder's first block.
  const std::string arn(200, 'a');
  for (int i = 0; i < 100; ++i) {
    holder->response()->add_service_summary_list()->set_service_arn(arn);
  }
  EXPECT_GT(arena->SpaceAllocated(), kFirstBlockBytes);
  ASSERT_EQ(holder->response()->service_summary_list_size(), 100);
  EXPECT_EQ(holder->response()->service_summary_list(99).service_arn(), arn);
  holder->Release();
}

// A RUNNING service with a start command, an environment variable, a
// connection and both image versions: the messages of its DescribeService
// call take no memory beyond the holder's own block.
TEST(ArenaMessagesTest, ADescribedServiceFitsTheFirstBlock) {
  domain::Service service;
  service.id = std::string(32, 'a');
  service.account_id = "000000000000";
  service.name = "hello-web-frontend";
  service.url = absl::StrCat(service.id, ".us-east-1.awsapprunner.com");
  service.status = domain::ServiceStatus::kRunning;
  service.endpoint = "127.0.0.1:49152";
  service.created_at = absl::FromUnixSeconds(1'700'000'000);
  service.updated_at = service.created_at + absl::Minutes(5);
  domain::ServiceConfig& config = service.config.emplace();
  config.source.image_identifier =
      "000000000000.dkr.ecr.us-east-1.amazonaws.com/hello-web:latest";
  config.source.image_configuration.start_command = "/app/server --port 8080";
  config.source.image_configuration.runtime_environment_variables = {
      {"LOG_LEVEL", "info"}};
  config.source.connection = domain::ConnectionRef{
      .account_id = "000000000000", .name = "github", .id = service.id};
  config.health_check.path = "/healthz";
  service.deployed_image =
      domain::ImageVersion{.version = 1,
                           .image_identifier = config.source.image_identifier,
                           .recorded_at = service.created_at};
  service.latest_image = service.deployed_image;

  DescribeServiceMessages* allocator = ArenaMessages();
  grpc::MessageHolder<v1::DescribeServiceRequest, v1::DescribeServiceResponse>*
      holder = allocator->AllocateMessages();
  holder->request()->set_service_arn(
      "arn:aws:apprunner:us-east-1:000000000000:service/hello-web-frontend/" +
      service.id);
  ToProto(service, "us-east-1", holder->response()->mutable_service());
  EXPECT_EQ(holder->response()->service().service_name(), service.name);
  EXPECT_EQ(holder->response()->GetArena()->SpaceAllocated(), kFirstBlockBytes);
  holder->Release();
}

}  // namespace
}  // namespace servicemanager::api
