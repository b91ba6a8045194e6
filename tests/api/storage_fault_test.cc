// Storage faults through the real gRPC API: a full disk, I/O errors, a
// database that cannot be written and a lock held by another process. Each
// fails the call with a clear code, changes nothing, and once the fault is
// gone the same server works again. The worker never reports an operation
// done unless its commit succeeded, and retries until it does.
#include <SQLiteCpp/SQLiteCpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/api/api_test_fixture.h"
#include "tests/integration/process.h"
#include "tests/testing/fault_vfs.h"

namespace servicemanager::api {
namespace {

using ::servicemanager::testing::FaultVfs;
using ::servicemanager::testing::StorageFault;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;
using ::testing::SizeIs;

constexpr int kBusyTimeoutMs = 200;

class StorageFaultTest : public ApiTest {
 protected:
  bool SqliteOnly() const override { return true; }
  void ConfigureStore(store::SqliteOptions& options) override {
    FaultVfs::Register();
    options.vfs = FaultVfs::kName;
    options.busy_timeout_ms = kBusyTimeoutMs;
  }
  void TearDown() override {
    FaultVfs::Set(StorageFault::kNone);
    ApiTest::TearDown();
  }

  std::string PauseId(const std::string& arn) {
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    v1::PauseServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::PauseService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response.operation_id();
  }

  Outcome CreateOutcome(const std::string& name) {
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/hello/web:latest");
    v1::CreateServiceResponse response;
    return Call(&v1::ServiceManager::Stub::CreateService, request, &response);
  }

  // Under `fault`, pause, tag and create fail with `code` and leave the
  // service as it was; once the fault is gone they succeed on the same
  // server.
  void ExpectRefusedThenRecovered(StorageFault fault, grpc::StatusCode code) {
    const std::string arn = CreateRunning("fault-web");

    FaultVfs::Set(fault);
    const Outcome pause = Pause(arn);
    EXPECT_EQ(pause.code, code) << pause.message;
    EXPECT_THAT(pause.message, HasSubstr("PAUSE_SERVICE"));
    EXPECT_EQ(Tag(arn, "stage", "blue").code, code);
    EXPECT_EQ(CreateOutcome("fault-other").code, code);

    // Reads still work and show nothing of the refused calls.
    EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
    EXPECT_THAT(Operations(arn), SizeIs(1));
    EXPECT_THAT(Tags(arn), ElementsAre(Pair("team", "web")));
    EXPECT_THAT(ListedNames(), ElementsAre("fault-web"));

    FaultVfs::Set(StorageFault::kNone);
    EXPECT_EQ(Tag(arn, "stage", "blue").code, grpc::StatusCode::OK);
    EXPECT_EQ(Pause(arn).code, grpc::StatusCode::OK);
    FinishOperations();
    EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
    EXPECT_EQ(CreateOutcome("fault-other").code, grpc::StatusCode::OK);
  }
};

TEST_F(StorageFaultTest, FullDiskIsResourceExhaustedAndRecovers) {
  ExpectRefusedThenRecovered(StorageFault::kFull,
                             grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(StorageFaultTest, IoErrorIsUnavailableAndRecovers) {
  ExpectRefusedThenRecovered(StorageFault::kIoError,
                             grpc::StatusCode::UNAVAILABLE);
}

TEST_F(StorageFaultTest, ReadOnlyDatabaseIsUnavailableAndRecovers) {
  ExpectRefusedThenRecovered(StorageFault::kReadOnly,
                             grpc::StatusCode::UNAVAILABLE);
}

TEST_F(StorageFaultTest, ConcurrentWritesSharingAFailedCommitAllFail) {
  const std::string arn = CreateRunning("fault-web");
  FaultVfs::Set(StorageFault::kIoError);
  std::vector<std::thread> callers;
  std::vector<Outcome> outcomes(16);
  for (int i = 0; i < 16; ++i) {
    callers.emplace_back([this, &arn, &outcomes, i] {
      outcomes[i] = Tag(arn, absl::StrCat("key-", i), "v");
    });
  }
  for (std::thread& caller : callers) {
    caller.join();
  }
  for (const Outcome& outcome : outcomes) {
    EXPECT_EQ(outcome.code, grpc::StatusCode::UNAVAILABLE) << outcome.message;
  }
  FaultVfs::Set(StorageFault::kNone);
  EXPECT_THAT(Tags(arn), ElementsAre(Pair("team", "web")));
}

TEST_F(StorageFaultTest, LockHeldByAnotherProcessIsUnavailableAndRecovers) {
  const std::string arn = CreateRunning("fault-web");
  SQLite::Database outsider((dir_ / "db.sqlite").string(),
                            SQLite::OPEN_READWRITE);
  outsider.exec("BEGIN IMMEDIATE");  // Holds the write lock.

  const Outcome pause = Pause(arn);
  EXPECT_EQ(pause.code, grpc::StatusCode::UNAVAILABLE) << pause.message;
  EXPECT_THAT(pause.message,
              HasSubstr("PAUSE_SERVICE: begin: database is locked"));
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);  // Readers are not blocked.

  outsider.exec("ROLLBACK");
  EXPECT_EQ(Pause(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
}

TEST_F(StorageFaultTest, WorkerNeverReportsAnUncommittedFinish) {
  const std::string arn = CreateRunning("fault-web");
  const std::string id = PauseId(arn);
  ASSERT_TRUE(worker_->RunOnce().ok());  // PENDING -> IN_PROGRESS.
  clock_.Advance(kComputeTime);

  FaultVfs::Set(StorageFault::kIoError);
  const absl::StatusOr<int> finished = worker_->RunOnce();
  EXPECT_EQ(finished.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(DescribeOperation(id).status(), v1::IN_PROGRESS);
  EXPECT_EQ(Describe(arn).status(), v1::OPERATION_IN_PROGRESS);

  FaultVfs::Set(StorageFault::kNone);
  ASSERT_EQ(worker_->RunOnce().value_or(-1), 1);
  EXPECT_EQ(DescribeOperation(id).status(), v1::SUCCEEDED);
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
}

TEST_F(StorageFaultTest, WorkerThreadRetriesUntilTheFaultIsGone) {
  const std::string arn = CreateRunning("fault-web");
  const std::string id = PauseId(arn);
  FaultVfs::Set(StorageFault::kFull);
  worker::OperationWorker worker(
      *store_, runtime_, clock_,
      worker::WorkerOptions{.compute_time = absl::ZeroDuration()});
  worker.Start();
  // It keeps failing while the disk is full: the operation stays open.
  EXPECT_FALSE(testing::WaitFor(
      [&] { return DescribeOperation(id).status() != v1::PENDING; },
      std::chrono::milliseconds(300)));

  FaultVfs::Set(StorageFault::kNone);
  EXPECT_TRUE(testing::WaitFor(
      [&] { return DescribeOperation(id).status() == v1::SUCCEEDED; },
      std::chrono::seconds(20)));
  worker.Stop();
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
}

}  // namespace
}  // namespace servicemanager::api
