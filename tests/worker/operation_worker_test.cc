#include "worker/operation_worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "runtime/simulated_runtime.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/domain/printers.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/derived_tables_check.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/faulty_runtime.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::Operation;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::Service;
using ::servicemanager::domain::ServiceRef;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::runtime::SimulatedRuntime;
using ::servicemanager::store::Accepted;
using ::servicemanager::store::NewService;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::FaultyRuntime;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::StatusIs;
using ::servicemanager::testing::TempDir;
using ::servicemanager::worker::OperationWorker;
using ::servicemanager::worker::WorkerOptions;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr absl::Duration kCompute = absl::Milliseconds(200);
constexpr char kImage1[] = "public.ecr.aws/nginx/nginx:1";
constexpr char kImage2[] = "public.ecr.aws/nginx/nginx:2";

ServiceRef Ref(const Service& service) {
  return {service.account_id, service.name, service.id};
}

class OperationWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    SqliteOptions options;
    options.path = dir_->File("servicemanager.db");
    options.url_suffix = "us-east-1.test";
    // Durability is the store's tests' business; this keeps 2000 creates
    // quick.
    options.synchronous_full = false;
    auto store = SqliteStore::Open(options, clock_, ids_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
    WorkerOptions worker_options;
    worker_options.compute_time = kCompute;
    worker_ = std::make_unique<OperationWorker>(*store_, runtime_, clock_,
                                                worker_options);
  }

  void TearDown() override {
    worker_.reset();
    store_.reset();
    servicemanager::testing::ExpectDerivedTablesMatchSources(
        dir_->File("servicemanager.db"));
    dir_.reset();
  }

  int RunOnce() {
    absl::StatusOr<int> finished = worker_->RunOnce();
    EXPECT_THAT(finished, IsOk());
    return finished.ok() ? *finished : -1;
  }

  // What the background loop would do: pick up what is due now, let the
  // compute time pass, then finish everything that became due. Returns how
  // many operations ended.
  int Settle() {
    int finished = RunOnce();
    clock_.Advance(kCompute);
    for (int n = RunOnce(); n > 0; n = RunOnce()) finished += n;
    return finished;
  }

  Service Create(const std::string& name, bool auto_deployments = true) {
    NewService input;
    input.name = name;
    input.config.source.image_identifier = kImage1;
    input.config.source.auto_deployments_enabled = auto_deployments;
    input.config.instance.cpu = "1024";
    auto accepted = store_->CreateService(input, {});
    EXPECT_THAT(accepted, IsOk());
    return accepted.ok() ? accepted->service : Service{};
  }

  Service CreateRunning(const std::string& name, bool auto_deployments = true) {
    Service service = Create(name, auto_deployments);
    EXPECT_EQ(Settle(), 1);
    Service running = Get(service);
    EXPECT_EQ(running.status, ServiceStatus::kRunning);
    return running;
  }

  Service Get(const Service& service) {
    auto got = store_->GetService(Ref(service));
    EXPECT_THAT(got, IsOk());
    return got.ok() ? *got : Service{};
  }

  Accepted Start(const Service& service, OperationType type,
                 const ConfigUpdate& update = {}) {
    auto accepted = store_->StartOperation(Ref(service), type, update, {});
    EXPECT_THAT(accepted, IsOk());
    return accepted.ok() ? *accepted : Accepted{};
  }

  // The service's newest operation, whole (a listing has no errors).
  Operation Latest(const Service& service) {
    auto page = store_->ListOperations(Ref(service), 1, "");
    EXPECT_THAT(page, IsOk());
    EXPECT_THAT(page->items, SizeIs(1));
    if (!page.ok() || page->items.empty()) return Operation{};
    auto op = store_->GetOperation(servicemanager::domain::AccountScope{},
                                   page->items[0].id);
    EXPECT_THAT(op, IsOk());
    return op.ok() ? *op : Operation{};
  }

  std::optional<SimulatedRuntime::Instance> Instance(const Service& service) {
    return runtime_.inner().Find(service.id);
  }

  std::unique_ptr<TempDir> dir_;
  FakeClock clock_;
  SequentialIds ids_;
  FaultyRuntime runtime_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<OperationWorker> worker_;
};

TEST_F(OperationWorkerTest, CreateFinishesOnlyOnceTheComputeTimeHasPassed) {
  Service service = Create("my-web");

  EXPECT_EQ(RunOnce(), 0);
  EXPECT_EQ(Get(service).status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(Latest(service).status, OperationStatus::kInProgress);
  EXPECT_FALSE(Instance(service).has_value());

  clock_.Advance(kCompute - absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_EQ(Get(service).status, ServiceStatus::kOperationInProgress);

  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 1);
  Service running = Get(service);
  EXPECT_EQ(running.status, ServiceStatus::kRunning);
  ASSERT_TRUE(running.deployed_image.has_value());
  EXPECT_EQ(running.deployed_image->version, 1);
  Operation op = Latest(service);
  EXPECT_EQ(op.type, OperationType::kCreateService);
  EXPECT_EQ(op.status, OperationStatus::kSucceeded);
  EXPECT_EQ(op.ended_at, clock_.Now());

  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1);
  EXPECT_EQ(instance->image.image_identifier, kImage1);
  EXPECT_EQ(instance->config, service.config);
  EXPECT_THAT(runtime_.inner().ImageCopies(service.id), ElementsAre(1));

  EXPECT_EQ(RunOnce(), 0) << "nothing is left to do";
}

TEST_F(OperationWorkerTest, PauseRemovesComputeAndScratchButKeepsTheImage) {
  Service service = CreateRunning("my-web");
  ASSERT_TRUE(runtime_.inner().WriteScratch(service.id, "cache", "warm"));

  Start(service, OperationType::kPauseService);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kPaused);
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
  EXPECT_FALSE(Instance(service).has_value()) << "paused compute is gone";
  EXPECT_FALSE(runtime_.inner().WriteScratch(service.id, "cache", "x"));
  EXPECT_THAT(runtime_.inner().ImageCopies(service.id), ElementsAre(1))
      << "the stored image copy stays across a pause";

  Start(service, OperationType::kResumeService);
  EXPECT_EQ(Settle(), 1);
  Service resumed = Get(service);
  EXPECT_EQ(resumed.status, ServiceStatus::kRunning);
  ASSERT_TRUE(resumed.deployed_image.has_value());
  EXPECT_EQ(resumed.deployed_image->version, 1);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1);
  EXPECT_THAT(instance->scratch, IsEmpty())
      << "a resumed service starts on fresh compute";
  EXPECT_EQ(instance->config, service.config);
}

TEST_F(OperationWorkerTest, VersionRecordedWhilePausedWaitsForADeployment) {
  Service service = CreateRunning("my-web");
  Start(service, OperationType::kPauseService);
  Settle();

  auto recorded = store_->RecordSourceVersion(Ref(service), kImage2, false);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_FALSE(recorded->deployment.has_value());
  ASSERT_TRUE(recorded->service.latest_image.has_value());
  EXPECT_EQ(recorded->service.latest_image->version, 2);
  EXPECT_EQ(Settle(), 0) << "a paused service deploys nothing new";
  EXPECT_EQ(Get(service).status, ServiceStatus::kPaused);
  EXPECT_FALSE(Instance(service).has_value());

  Start(service, OperationType::kResumeService);
  EXPECT_EQ(Settle(), 1);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1)
      << "resume runs what ran before the pause";
  EXPECT_EQ(instance->image.image_identifier, kImage1);
  EXPECT_EQ(Get(service).deployed_image->version, 1);

  Start(service, OperationType::kStartDeployment);
  EXPECT_EQ(Settle(), 1);
  instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 2);
  EXPECT_EQ(instance->image.image_identifier, kImage2);
  Service deployed = Get(service);
  EXPECT_EQ(deployed.status, ServiceStatus::kRunning);
  EXPECT_EQ(deployed.deployed_image->version, 2);
  EXPECT_EQ(Latest(service).type, OperationType::kStartDeployment);
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
  EXPECT_THAT(runtime_.inner().ImageCopies(service.id), ElementsAre(1, 2));
}

TEST_F(OperationWorkerTest, NewVersionDeploysItselfWithAutoDeployments) {
  Service service = CreateRunning("my-web", /*auto_deployments=*/true);
  auto recorded = store_->RecordSourceVersion(Ref(service), kImage2, false);
  ASSERT_THAT(recorded, IsOk());
  ASSERT_TRUE(recorded->deployment.has_value());
  EXPECT_EQ(recorded->deployment->type, OperationType::kStartDeployment);

  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 2);
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
}

TEST_F(OperationWorkerTest, NewVersionWaitsWithoutAutoDeployments) {
  Service service = CreateRunning("my-web", /*auto_deployments=*/false);
  auto recorded = store_->RecordSourceVersion(Ref(service), kImage2, false);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_FALSE(recorded->deployment.has_value());

  EXPECT_EQ(Settle(), 0);
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  EXPECT_EQ(Latest(service).type, OperationType::kCreateService);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1);

  Start(service, OperationType::kStartDeployment);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Instance(service)->image.version, 2);
}

// --- Failures ---------------------------------------------------------------

TEST_F(OperationWorkerTest, FailedPauseLeavesTheServiceRunning) {
  Service service = CreateRunning("my-web");
  runtime_.Fail(FaultyRuntime::Call::kStop);
  Start(service, OperationType::kPauseService);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  EXPECT_EQ(Latest(service).status, OperationStatus::kRollbackSucceeded);
  ASSERT_TRUE(Instance(service).has_value());
  EXPECT_EQ(Instance(service)->image.version, 1);

  runtime_.Heal();
  Start(service, OperationType::kPauseService);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kPaused);
}

TEST_F(OperationWorkerTest, FailedCreateIsFixedByAnUpdate) {
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  Service service = Create("my-web");
  EXPECT_EQ(Settle(), 1);
  Service failed = Get(service);
  EXPECT_EQ(failed.status, ServiceStatus::kCreateFailed);
  EXPECT_FALSE(failed.deployed_image.has_value());
  EXPECT_EQ(Latest(service).status, OperationStatus::kFailed);
  EXPECT_FALSE(Instance(service).has_value());

  runtime_.Heal();
  ConfigUpdate update;
  update.cpu = "2048";
  Start(service, OperationType::kUpdateService, update);
  EXPECT_EQ(Settle(), 1);
  Service fixed = Get(service);
  EXPECT_EQ(fixed.status, ServiceStatus::kRunning);
  EXPECT_EQ(fixed.config->instance.cpu, "2048");
  ASSERT_TRUE(fixed.deployed_image.has_value());
  EXPECT_EQ(fixed.deployed_image->version, 1);
  EXPECT_EQ(Latest(service).type, OperationType::kUpdateService);
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->image.version, 1);
  EXPECT_EQ(instance->config.instance.cpu, "2048");
}

TEST_F(OperationWorkerTest,
       FailedUpdateOfACreateFailedServiceStaysCreateFailed) {
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  Service service = Create("my-web");
  Settle();
  ConfigUpdate update;
  update.cpu = "2048";
  Start(service, OperationType::kUpdateService, update);
  EXPECT_EQ(Settle(), 1);
  Service still = Get(service);
  EXPECT_EQ(still.status, ServiceStatus::kCreateFailed);
  EXPECT_EQ(still.config->instance.cpu, "1024");
  EXPECT_EQ(Latest(service).status, OperationStatus::kRollbackSucceeded);
}

TEST_F(OperationWorkerTest, FailedDeleteIsDeleteFailedAndCanBeRetried) {
  Service service = CreateRunning("my-web");
  runtime_.Fail(FaultyRuntime::Call::kRemove);
  Start(service, OperationType::kDeleteService);
  EXPECT_EQ(Settle(), 1);
  Service failed = Get(service);
  EXPECT_EQ(failed.status, ServiceStatus::kDeleteFailed);
  EXPECT_FALSE(failed.deleted_at.has_value());
  EXPECT_EQ(Latest(service).status, OperationStatus::kFailed);

  runtime_.Heal();
  Start(service, OperationType::kDeleteService);
  EXPECT_EQ(Settle(), 1);
  Service deleted = Get(service);
  EXPECT_EQ(deleted.status, ServiceStatus::kDeleted);
  EXPECT_TRUE(deleted.deleted_at.has_value());
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
  EXPECT_FALSE(Instance(service).has_value());
  EXPECT_THAT(runtime_.inner().ImageCopies(service.id), IsEmpty())
      << "delete removes the stored image copies";
}

TEST_F(OperationWorkerTest, FailedUpdateRollsBackTheConfiguration) {
  Service service = CreateRunning("my-web");
  ASSERT_EQ(service.config->instance.cpu, "1024");
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  ConfigUpdate update;
  update.cpu = "2048";
  update.memory = "4096";
  Accepted accepted = Start(service, OperationType::kUpdateService, update);
  EXPECT_EQ(accepted.service.config->instance.cpu, "2048");

  EXPECT_EQ(Settle(), 1);
  Service after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  EXPECT_EQ(after.config, service.config);
  EXPECT_EQ(after.config->instance.cpu, "1024");
  EXPECT_EQ(after.config->instance.memory, "2048");
  EXPECT_EQ(Latest(service).status, OperationStatus::kRollbackSucceeded);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value()) << "the old compute keeps running";
  EXPECT_EQ(instance->config.instance.cpu, "1024");
}

TEST_F(OperationWorkerTest, FailedImageUpdateDoesNotLeaveTheNewImageBehind) {
  Service service = CreateRunning("my-web");
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  ConfigUpdate update;
  update.source = service.config->source;
  update.source->image_identifier = kImage2;
  Start(service, OperationType::kUpdateService, update);
  EXPECT_EQ(Settle(), 1);
  Service after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  EXPECT_EQ(after.config->source.image_identifier, kImage1);
  ASSERT_TRUE(after.latest_image.has_value());
  EXPECT_EQ(after.latest_image->image_identifier, kImage1)
      << "the image of a rolled-back update is still the latest version";

  // A later deployment must deploy the configured image, not the one of the
  // update that was rolled back.
  runtime_.Heal();
  Start(service, OperationType::kStartDeployment);
  EXPECT_EQ(Settle(), 1);
  auto instance = Instance(service);
  ASSERT_TRUE(instance.has_value());
  EXPECT_EQ(instance->config.source.image_identifier, kImage1);
  EXPECT_EQ(instance->image.image_identifier, kImage1)
      << "runs image " << instance->image.image_identifier
      << " with a configuration naming " << kImage1;
}

TEST_F(OperationWorkerTest, FailedResumeLeavesTheServicePaused) {
  Service service = CreateRunning("my-web");
  Start(service, OperationType::kPauseService);
  Settle();
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  Start(service, OperationType::kResumeService);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kPaused);
  EXPECT_EQ(Latest(service).status, OperationStatus::kRollbackSucceeded);
  EXPECT_FALSE(Instance(service).has_value());

  runtime_.Heal();
  Start(service, OperationType::kResumeService);
  EXPECT_EQ(Settle(), 1);
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  EXPECT_TRUE(Instance(service).has_value());
}

TEST_F(OperationWorkerTest, FailedDeploymentKeepsTheRunningVersion) {
  Service service = CreateRunning("my-web", /*auto_deployments=*/false);
  ASSERT_THAT(store_->RecordSourceVersion(Ref(service), kImage2, false),
              IsOk());
  runtime_.Fail(FaultyRuntime::Call::kDeploy);
  Start(service, OperationType::kStartDeployment);
  EXPECT_EQ(Settle(), 1);
  Service after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  EXPECT_EQ(after.deployed_image->version, 1);
  EXPECT_EQ(Latest(service).status, OperationStatus::kRollbackSucceeded);
  EXPECT_EQ(Instance(service)->image.version, 1);
}

// --- Scale ----------------------------------------------------------------

TEST_F(OperationWorkerTest, ThousandsOfPendingOperationsAllFinish) {
  constexpr int kServices = 2000;
  std::vector<Service> services;
  services.reserve(kServices);
  for (int i = 0; i < kServices; ++i) {
    services.push_back(Create(absl::StrCat("svc-", i)));
  }

  // First pass: everything is picked up, nothing is finished yet.
  EXPECT_EQ(RunOnce(), 0);
  clock_.Advance(kCompute - absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 0);
  EXPECT_FALSE(Instance(services.front()).has_value());
  EXPECT_FALSE(Instance(services.back()).has_value());
  auto next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ(**next, clock_.Now() + absl::Milliseconds(1))
      << "all of them are due once the compute time has passed";

  // Second pass, once the compute time has passed: batches until done.
  clock_.Advance(absl::Milliseconds(1));
  int finished = 0;
  int batches = 0;
  for (int n = RunOnce(); n > 0; n = RunOnce()) {
    EXPECT_LE(n, WorkerOptions{}.batch_size);
    finished += n;
    ++batches;
    ASSERT_LT(batches, 1000);
  }
  EXPECT_EQ(finished, kServices);

  int running = 0;
  std::string token;
  do {
    auto page = store_->ListServices({}, 100, token, std::nullopt);
    ASSERT_THAT(page, IsOk());
    for (const Service& s : page->items) {
      EXPECT_EQ(s.status, ServiceStatus::kRunning) << s.name;
      running += s.status == ServiceStatus::kRunning ? 1 : 0;
    }
    token = page->next_token;
  } while (!token.empty());
  EXPECT_EQ(running, kServices);
  for (const Service& s : services) {
    ASSERT_TRUE(Instance(s).has_value()) << s.name;
  }
  next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_FALSE(next->has_value());
}

// --- Claims -----------------------------------------------------------------

TEST_F(OperationWorkerTest, ClaimOfAStoppedRunIsTakenOverWhenItsLeaseRunsOut) {
  const absl::Duration lease = WorkerOptions{}.lease;
  Service service = Create("my-web");
  // A run that claimed the create and then hung (never finished, never
  // renewed).
  auto stale =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), lease, 64);
  ASSERT_THAT(stale, IsOk());
  ASSERT_THAT(*stale, SizeIs(1));

  EXPECT_EQ(RunOnce(), 0) << "the claim holds";
  clock_.Advance(lease - absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 0) << "the claim still holds";
  EXPECT_FALSE(Instance(service).has_value());

  clock_.Advance(absl::Milliseconds(1));
  EXPECT_EQ(RunOnce(), 1) << "taken over";
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  EXPECT_THAT(store_->FinishOperation((*stale)[0], false, "late", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
  EXPECT_EQ(Latest(service).status, OperationStatus::kSucceeded);
}

TEST_F(OperationWorkerTest, RestartReleasesTheClaimsOfTheStoppedProcess) {
  Service service = Create("my-web");
  ASSERT_THAT(store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                        absl::Hours(1), 64),
              IsOk());
  // SQLite has one process: a restart holds no claim.
  ASSERT_THAT(store_->RecoverOperations(clock_.Now() + kCompute), IsOk());
  EXPECT_EQ(RunOnce(), 1) << "due at once";
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning);
}

TEST_F(OperationWorkerTest, OperationEndsFailedAfterMaxAttempts) {
  WorkerOptions options;
  options.compute_time = kCompute;
  options.max_attempts = 2;
  worker_ =
      std::make_unique<OperationWorker>(*store_, runtime_, clock_, options);
  Service service = Create("my-web");
  // Two runs claim it and stop before they finish.
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto due = store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                         options.lease, 64);
    ASSERT_THAT(due, IsOk());
    ASSERT_THAT(*due, SizeIs(1));
    EXPECT_EQ((*due)[0].attempt, attempt);
    clock_.Advance(options.lease);
  }
  EXPECT_EQ(RunOnce(), 1);
  Operation op = Latest(service);
  EXPECT_EQ(op.status, OperationStatus::kFailed);
  EXPECT_EQ(op.error_message,
            "gave up after 2 attempts: the replica running it stopped");
  EXPECT_EQ(Get(service).status, ServiceStatus::kCreateFailed);
  EXPECT_FALSE(Instance(service).has_value()) << "nothing ran";
}

}  // namespace

TEST_F(OperationWorkerTest, ReconcileMakesTheRuntimeAgreeWithTheDatabase) {
  const Service lost = CreateRunning("lost-web");
  const Service paused = CreateRunning("paused-web");
  Start(paused, OperationType::kPauseService);
  ASSERT_EQ(Settle(), 1);
  // What a restart can find: a RUNNING service with no compute, compute of
  // a PAUSED service, and compute of a service the database does not know.
  ASSERT_THAT(runtime_.inner().Stop(lost.id), IsOk());
  ASSERT_THAT(runtime_.inner().Deploy(
                  {paused.id, *paused.deployed_image, *paused.config}),
              IsOk());
  const std::string stray(32, 'f');
  ASSERT_THAT(
      runtime_.inner().Deploy({stray, *paused.deployed_image, *paused.config}),
      IsOk());

  absl::StatusOr<int> fixes = worker_->Reconcile();
  ASSERT_THAT(fixes, IsOk());
  EXPECT_EQ(*fixes, 3);
  auto restarted = Instance(lost);
  ASSERT_TRUE(restarted.has_value()) << "the RUNNING service runs again";
  EXPECT_EQ(restarted->image.version, 1);
  EXPECT_FALSE(Instance(paused).has_value());
  EXPECT_THAT(runtime_.inner().ImageCopies(paused.id), ElementsAre(1))
      << "a paused service keeps its image copy";
  EXPECT_FALSE(runtime_.inner().Find(stray).has_value());
  EXPECT_THAT(runtime_.inner().ImageCopies(stray), IsEmpty());

  fixes = worker_->Reconcile();
  ASSERT_THAT(fixes, IsOk());
  EXPECT_EQ(*fixes, 0) << "a second pass finds nothing to fix";
}

TEST_F(OperationWorkerTest, HostPortIsKeptAcrossPauseAndFreedOnDelete) {
  // The port the store gives a service from the range 20000-20001.
  auto Port = [this](const Service& service) {
    absl::StatusOr<int> port =
        store_->AllocateEndpoint(service.id, "127.0.0.1", 20000, 20001);
    EXPECT_THAT(port, IsOk());
    return port.ok() ? *port : -1;
  };
  const Service first = CreateRunning("first-web");
  const Service second = CreateRunning("second-web");
  EXPECT_EQ(Get(first).endpoint, "") << "no port until a runtime asks";
  EXPECT_EQ(Port(first), 20000);
  EXPECT_EQ(Port(second), 20001);
  EXPECT_EQ(Port(first), 20000) << "a service keeps its port";
  EXPECT_EQ(Get(first).endpoint, "127.0.0.1:20000");

  Start(first, OperationType::kPauseService);
  ASSERT_EQ(Settle(), 1);
  EXPECT_EQ(Get(first).endpoint, "127.0.0.1:20000");
  const Service third = CreateRunning("third-web");
  EXPECT_THAT(store_->AllocateEndpoint(third.id, "127.0.0.1", 20000, 20001),
              StatusIs(absl::StatusCode::kResourceExhausted));

  Start(first, OperationType::kDeleteService);
  ASSERT_EQ(Settle(), 1);
  EXPECT_THAT(store_->AllocateEndpoint(first.id, "127.0.0.1", 20000, 20001),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Port(third), 20000) << "a deleted service's port is free again";
}

TEST_F(OperationWorkerTest, DigestIsRecordedForAnImageVersionThatExists) {
  const Service service = CreateRunning("digest-web");
  EXPECT_THAT(store_->RecordImageDigest(service.id, 1, "sha256:0123"), IsOk());
  EXPECT_THAT(store_->RecordImageDigest(service.id, 2, "sha256:0123"),
              StatusIs(absl::StatusCode::kNotFound));
}
