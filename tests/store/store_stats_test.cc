// SqliteStore::GetStats, the numbers behind the store's metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

constexpr absl::Duration kLease = absl::Seconds(30);

using ::servicemanager::store::NewService;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::store::StoreStats;
using ::servicemanager::store::Work;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::TempDir;
using ::testing::Gt;

class StoreStatsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteOptions options;
    options.path = dir_.File("servicemanager.db");
    options.url_suffix = "us-east-1.test";
    options.synchronous_full = false;
    auto store = SqliteStore::Open(options, clock_, ids_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  void Create(const std::string& name) {
    NewService service;
    service.name = name;
    service.config.source.image_identifier = "public.ecr.aws/nginx/nginx:1";
    service.config.instance.cpu = "1024";
    ASSERT_THAT(store_->CreateService(service, {}), IsOk());
  }

  // Ends the open operations that are due, oldest first, at most `limit`.
  void Finish(int limit) {
    auto due = store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                         kLease, limit);
    ASSERT_THAT(due, IsOk());
    for (const Work& work : *due) {
      ASSERT_THAT(store_->FinishOperation(work, true, "", clock_.Now()),
                  IsOk());
    }
  }

  StoreStats Stats() {
    absl::StatusOr<StoreStats> stats = store_->GetStats(clock_.Now());
    EXPECT_THAT(stats, IsOk());
    return stats.ok() ? *stats : StoreStats{};
  }

  TempDir dir_;
  FakeClock clock_;
  SequentialIds ids_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StoreStatsTest, EmptyDatabaseHasNoQueueAndTheSizeOfItsSchema) {
  StoreStats stats = Stats();
  EXPECT_EQ(stats.open_operations, 0);
  EXPECT_EQ(stats.oldest_open_operation_age, absl::ZeroDuration());
  EXPECT_THAT(stats.database_size_bytes, Gt(0));
  EXPECT_EQ(stats.database_size_bytes % 512, 0) << "a whole number of pages";
}

TEST_F(StoreStatsTest, CountsOpenOperationsAndAgesTheOldest) {
  Create("first");
  clock_.Advance(absl::Seconds(10));
  Create("second");
  clock_.Advance(absl::Seconds(20));
  StoreStats stats = Stats();
  EXPECT_EQ(stats.open_operations, 2);
  EXPECT_EQ(stats.oldest_open_operation_age, absl::Seconds(30));

  Finish(1);  // The first one: due first.
  stats = Stats();
  EXPECT_EQ(stats.open_operations, 1);
  EXPECT_EQ(stats.oldest_open_operation_age, absl::Seconds(20));

  Finish(10);
  stats = Stats();
  EXPECT_EQ(stats.open_operations, 0);
  EXPECT_EQ(stats.oldest_open_operation_age, absl::ZeroDuration());
}

TEST_F(StoreStatsTest, AnOperationStartedInTheFutureIsNotNegativelyOld) {
  Create("skewed");
  absl::StatusOr<StoreStats> stats =
      store_->GetStats(clock_.Now() - absl::Minutes(1));
  ASSERT_THAT(stats, IsOk());
  EXPECT_EQ(stats->oldest_open_operation_age, absl::ZeroDuration());
}

TEST_F(StoreStatsTest, SizeGrowsWithTheData) {
  const int64_t empty = Stats().database_size_bytes;
  for (int i = 0; i < 200; ++i) {
    Create(absl::StrCat("service-", i));
  }
  EXPECT_THAT(Stats().database_size_bytes, Gt(empty));
}

}  // namespace
