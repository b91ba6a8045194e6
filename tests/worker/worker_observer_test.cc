// What the store reports of the operations the worker ends (the stream the
// metrics count), and what Stop() does to a batch under way: the operation
// being finished is committed, the rest stay for the next start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "runtime/runtime.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/domain/printers.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/faulty_runtime.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"
#include "worker/operation_worker.h"

namespace {

using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::Operation;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::Service;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::store::NewService;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::FaultyRuntime;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::TempDir;
using ::servicemanager::worker::OperationWorker;
using ::servicemanager::worker::WorkerOptions;
using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::Duration kCompute = absl::Milliseconds(200);

// The operations the store reported ended, in commit order.
class Finished final : public servicemanager::store::ChangeObserver {
 public:
  void OnCommit(const servicemanager::store::Change& change) override {
    if (!change.operation ||
        !servicemanager::domain::IsFinal(change.operation->status)) {
      return;
    }
    absl::MutexLock lock(&mu_);
    seen_.emplace_back(change.operation->type, change.operation->status);
  }
  std::vector<std::pair<OperationType, OperationStatus>> seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  // Whether `n` operations were seen within `timeout`.
  bool Await(size_t n, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    want_ = n;
    return mu_.AwaitWithTimeout(absl::Condition(this, &Finished::Enough),
                                timeout);
  }

 private:
  bool Enough() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return seen_.size() >= want_;
  }

  absl::Mutex mu_;
  std::vector<std::pair<OperationType, OperationStatus>> seen_
      ABSL_GUARDED_BY(mu_);
  size_t want_ ABSL_GUARDED_BY(mu_) = 0;
};

class WorkerObserverTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    SqliteOptions options;
    options.path = dir_.File("servicemanager.db");
    options.url_suffix = "us-east-1.test";
    options.synchronous_full = false;
    auto store = SqliteStore::Open(options, clock_, ids_, &finished_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    worker_ = std::make_unique<OperationWorker>(*store_, runtime_, clock_,
                                                worker_options_);
  }

  // A process stop: the worker and the store go, the database stays.
  void Close() {
    worker_.reset();
    store_.reset();
  }

  Service Create(const std::string& name) {
    NewService input;
    input.name = name;
    input.config.source.image_identifier = "public.ecr.aws/nginx/nginx:1";
    input.config.instance.cpu = "1024";
    auto accepted = store_->CreateService(input, {});
    EXPECT_THAT(accepted, IsOk());
    return accepted.ok() ? accepted->service : Service{};
  }

  ServiceStatus StatusOf(const Service& service) {
    auto got =
        store_->GetService({service.account_id, service.name, service.id});
    EXPECT_THAT(got, IsOk());
    return got.ok() ? got->status : ServiceStatus::kOperationInProgress;
  }

  // Takes what is due, lets the compute time pass and finishes it.
  int Settle() {
    absl::StatusOr<int> started = worker_->RunOnce();
    EXPECT_THAT(started, IsOk());
    clock_.Advance(kCompute);
    absl::StatusOr<int> finished = worker_->RunOnce();
    EXPECT_THAT(finished, IsOk());
    return (started.ok() ? *started : 0) + (finished.ok() ? *finished : 0);
  }

  WorkerOptions worker_options_{.compute_time = kCompute};
  TempDir dir_;
  FakeClock clock_;
  SequentialIds ids_;
  Finished finished_;
  FaultyRuntime runtime_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<OperationWorker> worker_;
};

TEST_F(WorkerObserverTest, SeesEachCommittedOperationWithItsFinalStatus) {
  Service ok = Create("ok");
  ASSERT_EQ(Settle(), 1);
  runtime_.Fail(FaultyRuntime::Call::kStop);
  ASSERT_THAT(
      store_->StartOperation({ok.account_id, ok.name, ok.id},
                             OperationType::kPauseService, ConfigUpdate{}, {}),
      IsOk());
  ASSERT_EQ(Settle(), 1);
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  Create("broken");
  ASSERT_EQ(Settle(), 1);

  EXPECT_THAT(
      finished_.seen(),
      ElementsAre(
          Pair(OperationType::kCreateService, OperationStatus::kSucceeded),
          Pair(OperationType::kPauseService,
               OperationStatus::kRollbackSucceeded),
          Pair(OperationType::kCreateService, OperationStatus::kFailed)));
}

TEST_F(WorkerObserverTest, StopFinishesTheCurrentOperationAndLeavesTheRest) {
  std::vector<Service> services;
  for (int i = 0; i < 3; ++i) {
    services.push_back(Create(absl::StrCat("svc-", i)));
  }
  ASSERT_THAT(worker_->RunOnce(), IsOk());  // All three IN_PROGRESS.
  clock_.Advance(kCompute);
  // SIGTERM arrives while the worker is in the first runtime call.
  bool stopped = false;
  runtime_.SetHook([this, &stopped](FaultyRuntime::Call) {
    if (!stopped) {
      stopped = true;
      worker_->Stop();
    }
  });
  absl::StatusOr<int> finished = worker_->RunOnce();
  ASSERT_THAT(finished, IsOk());
  EXPECT_EQ(*finished, 1);
  EXPECT_EQ(finished_.seen().size(), 1u);
  int running = 0;
  for (const Service& service : services) {
    const ServiceStatus status = StatusOf(service);
    EXPECT_TRUE(status == ServiceStatus::kRunning ||
                status == ServiceStatus::kOperationInProgress);
    running += status == ServiceStatus::kRunning;
  }
  EXPECT_EQ(running, 1);

  // The next start finishes the two that were left.
  Close();
  Open();
  worker_->Start();
  ASSERT_TRUE(finished_.Await(3, absl::Seconds(30)));
  worker_->Stop();
  for (const Service& service : services) {
    EXPECT_EQ(StatusOf(service), ServiceStatus::kRunning);
  }
  EXPECT_THAT(
      finished_.seen(),
      UnorderedElementsAre(
          Pair(OperationType::kCreateService, OperationStatus::kSucceeded),
          Pair(OperationType::kCreateService, OperationStatus::kSucceeded),
          Pair(OperationType::kCreateService, OperationStatus::kSucceeded)));
}

// Work no one told the worker of (another replica's, its notification lost)
// is found at the next poll.
TEST_F(WorkerObserverTest, WorkerFindsUnannouncedWorkAtItsNextPoll) {
  Close();
  worker_options_.compute_time = absl::ZeroDuration();
  worker_options_.poll_interval = absl::Milliseconds(50);
  Open();
  Create("first");
  worker_->Start();
  ASSERT_TRUE(finished_.Await(1, absl::Seconds(30)));
  // The worker has nothing due now and sleeps; nothing wakes it.
  Create("second");
  EXPECT_TRUE(finished_.Await(2, absl::Seconds(30)))
      << "an operation accepted without Wake() was never run";
  worker_->Stop();
}

}  // namespace
