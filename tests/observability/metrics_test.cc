#include "observability/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "domain/operation.h"
#include "prometheus/text_serializer.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::Operation;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::observability::Metrics;
using ::servicemanager::observability::StoreStatsCollector;
using ::servicemanager::store::NewService;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::FamilyNames;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SampleValue;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::TempDir;
using ::testing::Contains;
using ::testing::Gt;
using ::testing::IsSupersetOf;
using ::testing::Optional;

constexpr char kPause[] = "/servicemanager.v1.ServiceManager/PauseService";

std::string Scrape(const prometheus::Collectable& collectable) {
  return prometheus::TextSerializer().Serialize(collectable.Collect());
}

TEST(MetricsTest, InitializedMethodsStartAtZero) {
  Metrics metrics;
  metrics.InitializeRpcs({kPause});
  const std::string text = Scrape(*metrics.registry());
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_requests_total",
                          {{"method", kPause}, {"code", "OK"}}),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_count",
                          {{"method", kPause}}),
              Optional(0.0));
}

TEST(MetricsTest, CountsRpcsByMethodAndCodeAndTimesThem) {
  Metrics metrics;
  metrics.RecordRpc(kPause, "OK", absl::Milliseconds(3));
  metrics.RecordRpc(kPause, "OK", absl::Milliseconds(30));
  metrics.RecordRpc(kPause, "FAILED_PRECONDITION", absl::Microseconds(400));
  const std::string text = Scrape(*metrics.registry());
  EXPECT_THAT(FamilyNames(text),
              IsSupersetOf({"servicemanager_rpc_requests_total",
                            "servicemanager_rpc_duration_seconds",
                            "servicemanager_operations_finished_total"}));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_requests_total",
                          {{"method", kPause}, {"code", "OK"}}),
              Optional(2.0));
  EXPECT_THAT(
      SampleValue(text, "servicemanager_rpc_requests_total",
                  {{"method", kPause}, {"code", "FAILED_PRECONDITION"}}),
      Optional(1.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_count",
                          {{"method", kPause}}),
              Optional(3.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_bucket",
                          {{"method", kPause}, {"le", "0.0005"}}),
              Optional(1.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_bucket",
                          {{"method", kPause}, {"le", "0.005"}}),
              Optional(2.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_bucket",
                          {{"method", kPause}, {"le", "+Inf"}}),
              Optional(3.0));
  const std::optional<double> sum = SampleValue(
      text, "servicemanager_rpc_duration_seconds_sum", {{"method", kPause}});
  ASSERT_TRUE(sum.has_value());
  EXPECT_NEAR(*sum, 0.0334, 1e-9);
}

TEST(MetricsTest, CountsFinishedOperationsByTypeAndFinalStatus) {
  Metrics metrics;
  std::string text = Scrape(*metrics.registry());
  // Every final status of every type exists before the first operation.
  EXPECT_THAT(SampleValue(text, "servicemanager_operations_finished_total",
                          {{"type", "DELETE_SERVICE"}, {"status", "FAILED"}}),
              Optional(0.0));
  EXPECT_THAT(
      SampleValue(text, "servicemanager_operations_finished_total",
                  {{"type", "CREATE_SERVICE"}, {"status", "ROLLBACK_FAILED"}}),
      Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operations_finished_total",
                          {{"type", "PAUSE_SERVICE"},
                           {"status", "ROLLBACK_SUCCEEDED"}}),
              Optional(0.0));

  Operation pause;
  pause.type = OperationType::kPauseService;
  pause.status = OperationStatus::kSucceeded;
  metrics.RecordOperationFinished(pause);
  metrics.RecordOperationFinished(pause);
  pause.status = OperationStatus::kRollbackSucceeded;
  metrics.RecordOperationFinished(pause);
  text = Scrape(*metrics.registry());
  EXPECT_THAT(SampleValue(text, "servicemanager_operations_finished_total",
                          {{"type", "PAUSE_SERVICE"}, {"status", "SUCCEEDED"}}),
              Optional(2.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operations_finished_total",
                          {{"type", "PAUSE_SERVICE"},
                           {"status", "ROLLBACK_SUCCEEDED"}}),
              Optional(1.0));
}

TEST(StoreStatsCollectorTest, ReadsTheStoreAtEachScrape) {
  TempDir dir;
  FakeClock clock;
  SequentialIds ids;
  SqliteOptions options;
  options.path = dir.File("servicemanager.db");
  options.url_suffix = "us-east-1.test";
  auto store = SqliteStore::Open(options, clock, ids);
  ASSERT_THAT(store, IsOk());
  StoreStatsCollector collector(**store, clock);

  std::string text = Scrape(collector);
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(0.0));
  EXPECT_THAT(
      SampleValue(text, "servicemanager_oldest_pending_operation_age_seconds"),
      Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_database_size_bytes"),
              Optional(Gt(0.0)));
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "# TYPE servicemanager_operation_queue_depth gauge"));

  NewService service;
  service.name = "queued";
  service.config.source.image_identifier = "public.ecr.aws/nginx/nginx:1";
  service.config.instance.cpu = "1024";
  ASSERT_THAT((*store)->CreateService(service, {}), IsOk());
  clock.Advance(absl::Milliseconds(2500));
  text = Scrape(collector);
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(1.0));
  EXPECT_THAT(
      SampleValue(text, "servicemanager_oldest_pending_operation_age_seconds"),
      Optional(2.5));
}

}  // namespace
