#include "api/arena_messages.h"

#include <gtest/gtest.h>

#include <string>

#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::api {
namespace {

namespace v1 = ::servicemanager::v1;

using ListServicesMessages =
    grpc::MessageAllocator<v1::ListServicesRequest, v1::ListServicesResponse>;

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
  EXPECT_GT(arena->SpaceAllocated(), 4096u);
  ASSERT_EQ(holder->response()->service_summary_list_size(), 100);
  EXPECT_EQ(holder->response()->service_summary_list(99).service_arn(), arn);
  holder->Release();
}

}  // namespace
}  // namespace servicemanager::api
