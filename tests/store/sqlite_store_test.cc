#include "store/sqlite_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "store/store.h"
#include "tests/domain/printers.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/derived_tables_check.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::AccountScope;
using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::Operation;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::Service;
using ::servicemanager::domain::ServiceConfig;
using ::servicemanager::domain::ServiceRef;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::domain::Tag;
using ::servicemanager::store::Accepted;
using ::servicemanager::store::NewService;
using ::servicemanager::store::Page;
using ::servicemanager::store::SnapshotKey;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::store::Work;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::StatusIs;
using ::servicemanager::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

constexpr absl::Duration kCompute = absl::Milliseconds(200);
constexpr absl::Duration kLease = absl::Seconds(30);
constexpr char kImage[] = "public.ecr.aws/nginx/nginx:1.27";
constexpr char kAccount[] = "123456789012";
constexpr char kOtherAccount[] = "210987654321";
const AccountScope kEveryAccount{};

ServiceRef Ref(const Service& service) {
  return {service.account_id, service.name, service.id};
}

NewService MakeService(const std::string& name,
                       const std::string& account = kAccount) {
  NewService service;
  service.account_id = account;
  service.name = name;
  service.config.source.image_identifier = kImage;
  service.config.source.image_configuration.port = "80";
  service.config.source.image_configuration.runtime_environment_variables = {
      {"MODE", "production"}};
  service.config.source.image_configuration.runtime_environment_secrets = {
      {"TOKEN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:t"}};
  service.config.instance.cpu = "1024";
  service.config.instance.memory = "2048";
  return service;
}

// Sequential ids; once `end_alike` is set, service ids that all end in the
// same 15 hex digits, so that their services share one service_snapshots key.
class TestIds final : public ::servicemanager::common::IdGenerator {
 public:
  std::string NewServiceId() override {
    const std::string id = sequential_.NewServiceId();
    return end_alike ? absl::StrCat(id.substr(15), "00000000000abcd") : id;
  }
  std::string NewOperationId() override { return sequential_.NewOperationId(); }
  std::string NewUrlLabel() override { return sequential_.NewUrlLabel(); }

  std::atomic<bool> end_alike = false;

 private:
  SequentialIds sequential_;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    options_.path = dir_->File("servicemanager.db");
    options_.url_suffix = "us-east-1.test";
    Reopen();
  }

  void TearDown() override {
    store_.reset();
    servicemanager::testing::ExpectDerivedTablesMatchSources(options_.path);
    dir_.reset();
  }

  void Reopen() {
    store_.reset();
    auto store = SqliteStore::Open(options_, clock_, ids_);
    ASSERT_THAT(store, IsOk());
    store_ = *std::move(store);
  }

  Service Create(const std::string& name) {
    auto accepted = store_->CreateService(MakeService(name), {});
    EXPECT_THAT(accepted, IsOk());
    return accepted.ok() ? accepted->service : Service{};
  }

  // Ends every open operation, as the worker would once its compute ran.
  // Returns how many ended.
  int FinishAll(bool succeeded) {
    auto due = store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                         kLease, 100000);
    EXPECT_THAT(due, IsOk());
    if (!due.ok()) return 0;
    for (const Work& work : *due) {
      EXPECT_THAT(store_->FinishOperation(work, succeeded,
                                          succeeded ? "" : "injected failure",
                                          clock_.Now()),
                  IsOk());
    }
    return static_cast<int>(due->size());
  }

  Service CreateRunning(const std::string& name) {
    Service service = Create(name);
    EXPECT_EQ(FinishAll(true), 1);
    return Get(service);
  }

  Service Get(const Service& service) {
    auto got = store_->GetService(Ref(service));
    EXPECT_THAT(got, IsOk());
    return got.ok() ? *got : Service{};
  }

  Accepted StartOk(const Service& service, OperationType type,
                   const ConfigUpdate& update = {}) {
    auto accepted = store_->StartOperation(Ref(service), type, update, {});
    EXPECT_THAT(accepted, IsOk());
    return accepted.ok() ? *accepted : Accepted{};
  }

  std::vector<Operation> AllOperations(const Service& service) {
    auto page = store_->ListOperations(Ref(service), 100, "");
    EXPECT_THAT(page, IsOk());
    return page.ok() ? page->items : std::vector<Operation>{};
  }

  // Rows of `table` that belong to `service`, counted in the file itself.
  int64_t CountRows(const std::string& table, const Service& service) {
    SQLite::Database db(options_.path, SQLite::OPEN_READONLY);
    SQLite::Statement q(
        db, absl::StrCat("SELECT COUNT(*) FROM ", table,
                         " WHERE service_pk = (SELECT pk FROM services"
                         " WHERE service_id = ?)"));
    q.bind(1, service.id);
    q.executeStep();
    return q.getColumn(0).getInt64();
  }

  std::unique_ptr<TempDir> dir_;
  SqliteOptions options_;
  FakeClock clock_;
  TestIds ids_;
  std::unique_ptr<SqliteStore> store_;
};

// --- CreateService / GetService ------------------------------------------

TEST_F(SqliteStoreTest, CreateServiceAcceptsInProgressWithPendingCreate) {
  const absl::Time t0 = clock_.Now();
  NewService input = MakeService("my-web");
  input.tags = {{"team", "web"}, {"env", "prod"}};
  auto accepted = store_->CreateService(input, {});
  ASSERT_THAT(accepted, IsOk());

  const Service& service = accepted->service;
  EXPECT_EQ(service.id, "00000000000000000000000000000001");
  EXPECT_EQ(service.name, "my-web");
  EXPECT_EQ(service.url, "url0000001.us-east-1.test");
  EXPECT_EQ(service.status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(service.config, input.config);
  EXPECT_FALSE(service.deployed_image.has_value());
  ASSERT_TRUE(service.latest_image.has_value());
  EXPECT_EQ(service.latest_image->version, 1);
  EXPECT_EQ(service.latest_image->image_identifier, kImage);
  EXPECT_EQ(service.created_at, t0);
  EXPECT_EQ(service.updated_at, t0);
  EXPECT_FALSE(service.deleted_at.has_value());

  const Operation& op = accepted->operation;
  EXPECT_EQ(op.id, "00000000-0000-4000-8000-000000000001");
  EXPECT_EQ(op.type, OperationType::kCreateService);
  EXPECT_EQ(op.status, OperationStatus::kPending);
  EXPECT_EQ(op.service_id, service.id);
  EXPECT_EQ(op.service_name, "my-web");
  EXPECT_EQ(op.started_at, t0);
  EXPECT_FALSE(op.ended_at.has_value());

  // What was accepted is what a later read sees.
  auto got = store_->GetService(Ref(service));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(got->config, input.config);
  EXPECT_EQ(got->latest_image, service.latest_image);
  EXPECT_EQ(got->url, service.url);

  std::vector<Operation> ops = AllOperations(service);
  ASSERT_THAT(ops, SizeIs(1));
  EXPECT_EQ(ops[0].id, op.id);
  EXPECT_EQ(ops[0].status, OperationStatus::kPending);

  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"env", "prod"}, Tag{"team", "web"}));
}

TEST_F(SqliteStoreTest, DuplicateLiveNameIsAlreadyExistsAndWritesNothing) {
  Create("my-web");
  EXPECT_THAT(store_->CreateService(MakeService("my-web"), {}),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("my-web")));
  auto page = store_->ListServices(kEveryAccount, 20, "", std::nullopt);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->items, SizeIs(1));
  // Another name is fine.
  EXPECT_THAT(store_->CreateService(MakeService("my-web-2"), {}), IsOk());
}

TEST_F(SqliteStoreTest, GetServiceNeedsTheRightIdAndName) {
  Service service = Create("my-web");
  EXPECT_THAT(store_->GetService({kAccount, "other-name", service.id}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->GetService(
                  {kAccount, "my-web", "0000000000000000000000000000dead"}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->StartOperation({kAccount, "other-name", service.id},
                                     OperationType::kPauseService, {}, {}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ListTags({kAccount, "other-name", service.id}),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      store_->ListOperations({kAccount, "other-name", service.id}, 20, ""),
      StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, ServicesWhoseIdsEndAlikeEachAnswerTheirOwnState) {
  ids_.end_alike = true;
  Service first = CreateRunning("first");
  Service second = CreateRunning("second");
  ASSERT_NE(first.id, second.id);
  ASSERT_EQ(SnapshotKey(first.id), SnapshotKey(second.id));

  // One of them holds the shared row (the one whose row was last written
  // whole: a status change updates only a row of its own); the other is
  // read, and changed, from the tables the row copies.
  // A write answers with the state of the service it changed.
  const Accepted pausing = StartOk(first, OperationType::kPauseService);
  EXPECT_EQ(pausing.service.name, "first");
  EXPECT_EQ(pausing.service.status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(Get(first).status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(Get(second).status, ServiceStatus::kRunning);
  FinishAll(true);
  const Accepted deleting = StartOk(second, OperationType::kDeleteService);
  EXPECT_EQ(deleting.service.name, "second");
  EXPECT_EQ(deleting.service.status, ServiceStatus::kOperationInProgress);
  FinishAll(true);

  EXPECT_EQ(Get(first).name, "first");
  EXPECT_EQ(Get(first).status, ServiceStatus::kPaused);
  EXPECT_EQ(Get(second).name, "second");
  EXPECT_EQ(Get(second).status, ServiceStatus::kDeleted);
  EXPECT_THAT(AllOperations(first), SizeIs(2));
  EXPECT_THAT(store_->GetService({kAccount, "second", first.id}),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, NamesAreUniquePerAccount) {
  Create("my-web");
  auto other = store_->CreateService(MakeService("my-web", kOtherAccount), {});
  ASSERT_THAT(other, IsOk());
  EXPECT_EQ(other->service.account_id, kOtherAccount);
  EXPECT_EQ(other->operation.service_account_id, kOtherAccount);
  EXPECT_THAT(store_->CreateService(MakeService("my-web", kOtherAccount), {}),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

TEST_F(SqliteStoreTest, AServiceIsFoundOnlyInItsOwnAccount) {
  Service service = Create("my-web");
  ASSERT_EQ(service.account_id, kAccount);
  const ServiceRef elsewhere{kOtherAccount, service.name, service.id};
  EXPECT_THAT(store_->GetService(elsewhere),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      store_->StartOperation(elsewhere, OperationType::kPauseService, {}, {}),
      StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->TagService(elsewhere, {{"k", "v"}}, false),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ListOperations(elsewhere, 20, ""),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, ListServicesShowsTheAccountsInScope) {
  Create("mine");
  ASSERT_THAT(store_->CreateService(MakeService("theirs", kOtherAccount), {}),
              IsOk());
  auto names = [this](const AccountScope& scope) {
    std::vector<std::string> listed;
    auto page = store_->ListServices(scope, 1, "", std::nullopt);
    EXPECT_THAT(page, IsOk());
    while (page.ok()) {
      for (const Service& service : page->items) listed.push_back(service.name);
      if (page->next_token.empty()) break;
      page = store_->ListServices(scope, 1, page->next_token, std::nullopt);
    }
    return listed;
  };
  EXPECT_THAT(names(AccountScope{kAccount}), ElementsAre("mine"));
  EXPECT_THAT(names(AccountScope{kOtherAccount}), ElementsAre("theirs"));
  EXPECT_THAT(names(kEveryAccount), ElementsAre("mine", "theirs"));
  // A page token of one account's listing is not one of another's.
  auto first = store_->ListServices(kEveryAccount, 1, "", std::nullopt);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(store_->ListServices(AccountScope{kAccount}, 1, first->next_token,
                                   std::nullopt),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_F(SqliteStoreTest, OperationsOfAnotherAccountAreNotFound) {
  auto created = store_->CreateService(MakeService("web"), {});
  ASSERT_THAT(created, IsOk());
  const std::string id = created->operation.id;
  EXPECT_THAT(store_->GetOperation(AccountScope{kAccount}, id), IsOk());
  EXPECT_THAT(store_->GetOperation(kEveryAccount, id), IsOk());
  EXPECT_THAT(store_->GetOperation(AccountScope{kOtherAccount}, id),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->CancelOperation(AccountScope{kOtherAccount}, id, false),
              StatusIs(absl::StatusCode::kNotFound));
  auto still = store_->GetOperation(kEveryAccount, id);
  ASSERT_THAT(still, IsOk());
  EXPECT_EQ(still->status, OperationStatus::kPending);
}

TEST_F(SqliteStoreTest, ServicesSurviveReopening) {
  Service service = CreateRunning("my-web");
  Reopen();
  Service again = Get(service);
  EXPECT_EQ(again.status, ServiceStatus::kRunning);
  EXPECT_EQ(again.config, service.config);
  EXPECT_EQ(again.url, service.url);
  EXPECT_EQ(again.deployed_image, service.deployed_image);
}

// --- StartOperation ------------------------------------------------------

TEST_F(SqliteStoreTest, StartOperationIsRefusedWhileAnOperationIsOpen) {
  const Service created = Create("my-web");  // CREATE_SERVICE is open.
  clock_.Advance(absl::Seconds(1));
  for (OperationType type :
       {OperationType::kPauseService, OperationType::kDeleteService,
        OperationType::kStartDeployment, OperationType::kUpdateService}) {
    SCOPED_TRACE(ToString(type));
    ConfigUpdate update;
    update.cpu = "2048";
    EXPECT_THAT(store_->StartOperation(Ref(created), type, update, {}),
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr("OPERATION_IN_PROGRESS")));
  }
  // Nothing changed.
  Service after = Get(created);
  EXPECT_EQ(after.status, ServiceStatus::kOperationInProgress);
  EXPECT_EQ(after.updated_at, created.updated_at);
  EXPECT_EQ(after.config, created.config);
  std::vector<Operation> ops = AllOperations(created);
  ASSERT_THAT(ops, SizeIs(1));
  EXPECT_EQ(ops[0].type, OperationType::kCreateService);
  EXPECT_EQ(CountRows("service_configs", created), 1);
}

TEST_F(SqliteStoreTest, RefusedStartChangesNothing) {
  Service service = CreateRunning("my-web");
  StartOk(service, OperationType::kPauseService);
  FinishAll(true);
  const Service paused = Get(service);
  ASSERT_EQ(paused.status, ServiceStatus::kPaused);
  const int64_t configs = CountRows("service_configs", paused);
  const int64_t images = CountRows("service_images", paused);

  clock_.Advance(absl::Seconds(1));
  ConfigUpdate update;
  update.cpu = "4096";
  update.source = paused.config->source;
  update.source->image_identifier = "public.ecr.aws/nginx/nginx:2";
  EXPECT_THAT(
      store_->StartOperation(Ref(paused), OperationType::kUpdateService, update,
                             {}),
      StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("PAUSED")));
  EXPECT_THAT(
      store_->StartOperation(Ref(paused), OperationType::kPauseService, {}, {}),
      StatusIs(absl::StatusCode::kFailedPrecondition));

  Service after = Get(paused);
  EXPECT_EQ(after.status, ServiceStatus::kPaused);
  EXPECT_EQ(after.updated_at, paused.updated_at);
  EXPECT_EQ(after.config, paused.config);
  EXPECT_EQ(after.latest_image, paused.latest_image);
  EXPECT_THAT(AllOperations(paused), SizeIs(2));
  EXPECT_EQ(CountRows("service_configs", paused), configs);
  EXPECT_EQ(CountRows("service_images", paused), images);
}

TEST_F(SqliteStoreTest, UpdateShowsTheNewConfigurationAndRollsBackOnFailure) {
  Service service = CreateRunning("my-web");
  ConfigUpdate update;
  update.cpu = "2048";
  Accepted accepted = StartOk(service, OperationType::kUpdateService, update);
  EXPECT_EQ(accepted.operation.type, OperationType::kUpdateService);
  EXPECT_EQ(accepted.service.status, ServiceStatus::kOperationInProgress);
  ASSERT_TRUE(accepted.service.config.has_value());
  EXPECT_EQ(accepted.service.config->instance.cpu, "2048");

  FinishAll(false);
  Service after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  EXPECT_EQ(after.config, service.config) << "the update is rolled back";
  EXPECT_EQ(AllOperations(service)[0].status,
            OperationStatus::kRollbackSucceeded);

  StartOk(service, OperationType::kUpdateService, update);
  FinishAll(true);
  after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  ASSERT_TRUE(after.config.has_value());
  EXPECT_EQ(after.config->instance.cpu, "2048");
  EXPECT_EQ(AllOperations(service)[0].status, OperationStatus::kSucceeded);
}

TEST_F(SqliteStoreTest, UpdateWithANewImageRecordsANewVersion) {
  Service service = CreateRunning("my-web");
  ConfigUpdate update;
  update.source = service.config->source;
  update.source->image_identifier = "public.ecr.aws/nginx/nginx:2";
  StartOk(service, OperationType::kUpdateService, update);
  auto due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  ASSERT_TRUE((*due)[0].image.has_value());
  EXPECT_EQ((*due)[0].image->version, 2);
  EXPECT_EQ((*due)[0].image->image_identifier, "public.ecr.aws/nginx/nginx:2");
  ASSERT_THAT(store_->FinishOperation((*due)[0], true, "", clock_.Now()),
              IsOk());
  Service after = Get(service);
  ASSERT_TRUE(after.deployed_image.has_value());
  EXPECT_EQ(after.deployed_image->version, 2);
  EXPECT_EQ(after.config->source.image_identifier,
            "public.ecr.aws/nginx/nginx:2");
}

TEST_F(SqliteStoreTest, FailedImageUpdateRollsBackTheImageToo) {
  Service service = CreateRunning("my-web");
  ConfigUpdate update;
  update.source = service.config->source;
  update.source->image_identifier = "public.ecr.aws/nginx/nginx:2";
  StartOk(service, OperationType::kUpdateService, update);
  FinishAll(false);

  Service after = Get(service);
  EXPECT_EQ(after.status, ServiceStatus::kRunning);
  EXPECT_EQ(after.config, service.config);
  EXPECT_EQ(after.latest_image, service.latest_image)
      << "the image version of a rolled-back update is still recorded";
  EXPECT_EQ(CountRows("service_images", service), 1);

  // So a deployment afterwards deploys the configured image.
  StartOk(service, OperationType::kStartDeployment);
  auto due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  ASSERT_TRUE((*due)[0].config.has_value());
  ASSERT_TRUE((*due)[0].image.has_value());
  EXPECT_EQ((*due)[0].image->image_identifier,
            (*due)[0].config->source.image_identifier);
}

// --- ListServices --------------------------------------------------------

TEST_F(SqliteStoreTest, ListServicesPagesInCreationOrder) {
  std::vector<std::string> created;
  for (int i = 0; i < 45; ++i) {
    // Names that do not sort in creation order.
    created.push_back(absl::StrCat("svc-", (i * 7) % 45, "-", i));
    Create(created.back());
    clock_.Advance(absl::Milliseconds(1));
  }

  std::vector<std::string> listed;
  std::vector<size_t> page_sizes;
  std::vector<std::string> tokens;
  std::string token;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListServices(kEveryAccount, 20, token, std::nullopt);
    ASSERT_THAT(page, IsOk());
    page_sizes.push_back(page->items.size());
    tokens.push_back(page->next_token);
    for (const Service& s : page->items) listed.push_back(s.name);
    token = page->next_token;
    if (token.empty()) break;
  }
  EXPECT_THAT(page_sizes, ElementsAre(20, 20, 5));
  ASSERT_THAT(tokens, SizeIs(3));
  EXPECT_FALSE(tokens[0].empty());
  EXPECT_FALSE(tokens[1].empty());
  EXPECT_NE(tokens[0], tokens[1]);
  EXPECT_TRUE(tokens[2].empty());
  EXPECT_EQ(listed, created);
  EXPECT_EQ(std::set<std::string>(listed.begin(), listed.end()).size(), 45u);
}

TEST_F(SqliteStoreTest, ListServicesExactlyOnePageHasNoToken) {
  for (int i = 0; i < 20; ++i) Create(absl::StrCat("svc-", i));
  auto page = store_->ListServices(kEveryAccount, 20, "", std::nullopt);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->items, SizeIs(20));
  EXPECT_EQ(page->next_token, "");
}

TEST_F(SqliteStoreTest, ListServicesRefusesGarbageTokens) {
  Service service = Create("my-web");
  for (const char* token : {"garbage", "!!!", "czow"}) {
    SCOPED_TRACE(token);
    EXPECT_THAT(
        store_->ListServices(kEveryAccount, 20, token, std::nullopt),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("next_token")));
  }
  // A token of another listing is not one of this listing.
  FinishAll(true);
  StartOk(service, OperationType::kPauseService);
  FinishAll(true);
  StartOk(service, OperationType::kResumeService);
  auto ops = store_->ListOperations(Ref(service), 1, "");
  ASSERT_THAT(ops, IsOk());
  ASSERT_FALSE(ops->next_token.empty());
  EXPECT_THAT(
      store_->ListServices(kEveryAccount, 20, ops->next_token, std::nullopt),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- ListOperations ------------------------------------------------------

TEST_F(SqliteStoreTest, ListOperationsNewestFirstWithPaging) {
  Service service = CreateRunning("my-web");
  std::vector<OperationType> started = {OperationType::kCreateService};
  for (OperationType type :
       {OperationType::kPauseService, OperationType::kResumeService,
        OperationType::kPauseService, OperationType::kResumeService}) {
    clock_.Advance(absl::Seconds(1));
    StartOk(service, type);
    FinishAll(true);
    started.push_back(type);
  }

  std::vector<OperationType> listed;
  std::vector<size_t> sizes;
  std::string token;
  std::set<std::string> ids;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = store_->ListOperations(Ref(service), 2, token);
    ASSERT_THAT(page, IsOk());
    sizes.push_back(page->items.size());
    for (const Operation& op : page->items) {
      listed.push_back(op.type);
      ids.insert(op.id);
      EXPECT_EQ(op.status, OperationStatus::kSucceeded);
    }
    token = page->next_token;
    if (token.empty()) break;
  }
  EXPECT_THAT(sizes, ElementsAre(2, 2, 1));
  EXPECT_THAT(
      listed,
      ElementsAre(OperationType::kResumeService, OperationType::kPauseService,
                  OperationType::kResumeService, OperationType::kPauseService,
                  OperationType::kCreateService));
  EXPECT_EQ(ids.size(), 5u);
}

// Operations of services started in turn: each service pages through its
// own, newest first, wherever the others' fall between them.
TEST_F(SqliteStoreTest, ListOperationsOfInterleavedServicesPageApart) {
  Service a = CreateRunning("service-a");
  Service b = CreateRunning("service-b");
  for (OperationType type :
       {OperationType::kPauseService, OperationType::kResumeService,
        OperationType::kPauseService}) {
    for (const Service* service : {&a, &b}) {
      clock_.Advance(absl::Seconds(1));
      StartOk(*service, type);
      FinishAll(true);
    }
  }
  for (const Service* service : {&a, &b}) {
    std::vector<OperationType> listed;
    std::string token;
    do {
      auto page = store_->ListOperations(Ref(*service), 3, token);
      ASSERT_THAT(page, IsOk());
      for (const Operation& op : page->items) {
        EXPECT_EQ(op.service_name, service->name);
        listed.push_back(op.type);
      }
      token = page->next_token;
    } while (!token.empty() && listed.size() < 10);
    EXPECT_THAT(listed, ElementsAre(OperationType::kPauseService,
                                    OperationType::kResumeService,
                                    OperationType::kPauseService,
                                    OperationType::kCreateService))
        << service->name;
  }
}

TEST_F(SqliteStoreTest, ListOperationsRefusesATokenOfAnotherService) {
  Service a = CreateRunning("service-a");
  Service b = CreateRunning("service-b");
  StartOk(a, OperationType::kPauseService);
  StartOk(b, OperationType::kPauseService);
  FinishAll(true);

  auto page = store_->ListOperations(Ref(a), 1, "");
  ASSERT_THAT(page, IsOk());
  ASSERT_FALSE(page->next_token.empty());
  EXPECT_THAT(store_->ListOperations(Ref(b), 1, page->next_token),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store_->ListOperations(Ref(a), 1, "garbage"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // The token works for the service it came from.
  auto next = store_->ListOperations(Ref(a), 1, page->next_token);
  ASSERT_THAT(next, IsOk());
  ASSERT_THAT(next->items, SizeIs(1));
  EXPECT_EQ(next->items[0].type, OperationType::kCreateService);
}

// A token given out under migration 0009's layout (kind "n": the number of
// an operation within its service) is refused since 0010, not read as a seq.
TEST_F(SqliteStoreTest, ListOperationsRefusesATokenOfMigration0009) {
  Service a = CreateRunning("service-a");
  StartOk(a, OperationType::kPauseService);
  FinishAll(true);

  auto page = store_->ListOperations(Ref(a), 1, "");
  ASSERT_THAT(page, IsOk());
  std::string plain;
  ASSERT_TRUE(absl::WebSafeBase64Unescape(page->next_token, &plain));
  ASSERT_EQ(plain.substr(0, 2), "o:");
  plain[0] = 'n';
  EXPECT_THAT(
      store_->ListOperations(Ref(a), 1, absl::WebSafeBase64Escape(plain)),
      StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- Tags ----------------------------------------------------------------

std::vector<Tag> NumberedTags(int from, int to) {
  std::vector<Tag> tags;
  for (int i = from; i < to; ++i) {
    tags.push_back({absl::StrCat("key-", 100 + i), absl::StrCat("v", i)});
  }
  return tags;
}

TEST_F(SqliteStoreTest, TagOverwritesValuesAndUntagRemovesKeys) {
  Service service = CreateRunning("my-web");
  ASSERT_THAT(store_->TagService(Ref(service),
                                 {{"team", "web"}, {"env", "dev"}}, false),
              IsOk());
  ASSERT_THAT(store_->TagService(Ref(service), {{"env", "prod"}}, false),
              IsOk());
  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"env", "prod"}, Tag{"team", "web"}));

  ASSERT_THAT(store_->UntagService(Ref(service), {"team", "not-there"}, false),
              IsOk());
  tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"env", "prod"}));
}

TEST_F(SqliteStoreTest, ReadsSeeEarlierWritesAndIdleReadersHoldNoOldSnapshot) {
  Service service = CreateRunning("snapshot-web");
  // A reader keeps its read transaction open after a read...
  ASSERT_THAT(store_->GetService(Ref(service)), IsOk());
  ASSERT_THAT(store_->TagService(Ref(service), {{"env", "prod"}}, false),
              IsOk());
  // ...but a read after a write sees the write.
  auto got = store_->GetService(Ref(service));
  ASSERT_THAT(got, IsOk());
  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"env", "prod"}));

  // The next write ends the idle readers' snapshots: none holds the WAL
  // back, so a checkpoint that needs every reader gone succeeds at once.
  ASSERT_THAT(store_->TagService(Ref(service), {{"team", "web"}}, false),
              IsOk());
  SQLite::Database db(options_.path, SQLite::OPEN_READWRITE);
  SQLite::Statement checkpoint(db, "PRAGMA wal_checkpoint(RESTART)");
  ASSERT_TRUE(checkpoint.executeStep());
  EXPECT_EQ(checkpoint.getColumn(0).getInt(), 0)
      << "a reader still holds a snapshot from before the write";
  tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"env", "prod"}, Tag{"team", "web"}));
}

TEST_F(SqliteStoreTest, FiftyTagsAtMostAcrossCalls) {
  Service service = CreateRunning("my-web");
  ASSERT_THAT(store_->TagService(Ref(service), NumberedTags(0, 30), false),
              IsOk());
  // 30 + 21 new keys = 51: refused whole.
  EXPECT_THAT(store_->TagService(Ref(service), NumberedTags(25, 51), false),
              StatusIs(absl::StatusCode::kInvalidArgument));
  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_EQ(*tags, NumberedTags(0, 30)) << "a refused call writes nothing";

  // Overwriting existing keys does not count twice: 30 + 20 new = 50.
  std::vector<Tag> more = NumberedTags(20, 50);
  more[0].value = "changed";
  ASSERT_THAT(store_->TagService(Ref(service), more, false), IsOk());
  tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  ASSERT_THAT(*tags, SizeIs(50));
  EXPECT_EQ((*tags)[20], (Tag{"key-120", "changed"}));
  EXPECT_THAT(store_->TagService(Ref(service), {{"one-more", "x"}}, false),
              StatusIs(absl::StatusCode::kInvalidArgument));

  // After untagging one there is room for one.
  ASSERT_THAT(store_->UntagService(Ref(service), {"key-100"}, false), IsOk());
  EXPECT_THAT(store_->TagService(Ref(service), {{"one-more", "x"}}, false),
              IsOk());
}

TEST_F(SqliteStoreTest, TagsCannotChangeWhileAnOperationRuns) {
  Service service = Create("my-web");
  EXPECT_THAT(store_->TagService(Ref(service), {{"team", "web"}}, false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->UntagService(Ref(service), {"team"}, false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, IsEmpty());
}

// --- TakeDueOperations / FinishOperation / NextDueTime ---------------------

TEST_F(SqliteStoreTest, TakeDueClaimsThenReturnsWorkAfterComputeTime) {
  const absl::Time t0 = clock_.Now();
  Service service = Create("my-web");

  auto first = store_->TakeDueOperations(t0, kCompute, kLease, 64);
  ASSERT_THAT(first, IsOk());
  EXPECT_THAT(*first, IsEmpty()) << "the compute time has not passed";
  std::vector<Operation> ops = AllOperations(service);
  ASSERT_THAT(ops, SizeIs(1));
  EXPECT_EQ(ops[0].status, OperationStatus::kInProgress);
  EXPECT_EQ(Get(service).status, ServiceStatus::kOperationInProgress);

  clock_.Advance(kCompute - absl::Milliseconds(1));
  auto early = store_->TakeDueOperations(clock_.Now(), kCompute, kLease, 64);
  ASSERT_THAT(early, IsOk());
  EXPECT_THAT(*early, IsEmpty());

  clock_.Advance(absl::Milliseconds(1));
  auto due = store_->TakeDueOperations(clock_.Now(), kCompute, kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  const Work& work = (*due)[0];
  EXPECT_EQ(work.operation.type, OperationType::kCreateService);
  EXPECT_EQ(work.operation.status, OperationStatus::kInProgress);
  EXPECT_EQ(work.operation.service_id, service.id);
  EXPECT_EQ(work.config, service.config);
  ASSERT_TRUE(work.image.has_value());
  EXPECT_EQ(work.image->version, 1);
  EXPECT_EQ(work.image->image_identifier, kImage);
}

TEST_F(SqliteStoreTest, WorkCarriesWhatEachOperationDeploys) {
  Service service = CreateRunning("my-web");

  // Pause deploys nothing.
  StartOk(service, OperationType::kPauseService);
  auto due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_FALSE((*due)[0].config.has_value());
  EXPECT_FALSE((*due)[0].image.has_value());
  ASSERT_THAT(store_->FinishOperation((*due)[0], true, "", clock_.Now()),
              IsOk());

  // A version recorded while paused is not what resume deploys.
  auto recorded = store_->RecordSourceVersion(
      Ref(service), "public.ecr.aws/nginx/nginx:2", false);
  ASSERT_THAT(recorded, IsOk());
  EXPECT_FALSE(recorded->deployment.has_value());
  EXPECT_EQ(recorded->service.status, ServiceStatus::kPaused);
  StartOk(service, OperationType::kResumeService);
  due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_EQ((*due)[0].config, service.config);
  ASSERT_TRUE((*due)[0].image.has_value());
  EXPECT_EQ((*due)[0].image->version, 1);
  ASSERT_THAT(store_->FinishOperation((*due)[0], true, "", clock_.Now()),
              IsOk());

  // A deployment deploys the newest version.
  StartOk(service, OperationType::kStartDeployment);
  due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_EQ((*due)[0].config, service.config);
  ASSERT_TRUE((*due)[0].image.has_value());
  EXPECT_EQ((*due)[0].image->version, 2);
  EXPECT_EQ((*due)[0].image->image_identifier, "public.ecr.aws/nginx/nginx:2");
}

TEST_F(SqliteStoreTest, TakeDueRespectsTheLimitOldestFirst) {
  Service a = Create("service-a");
  clock_.Advance(absl::Milliseconds(1));
  Service b = Create("service-b");
  clock_.Advance(absl::Milliseconds(1));
  Service c = Create("service-c");

  auto due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 2);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(2));
  EXPECT_EQ((*due)[0].operation.service_id, a.id);
  EXPECT_EQ((*due)[1].operation.service_id, b.id);
  for (const Work& work : *due) {
    ASSERT_THAT(store_->FinishOperation(work, true, "", clock_.Now()), IsOk());
  }
  due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 2);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  EXPECT_EQ((*due)[0].operation.service_id, c.id);
}

TEST_F(SqliteStoreTest, FinishOperationEndsItOnce) {
  Service service = Create("my-web");
  auto due =
      store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 64);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  const Work work = (*due)[0];
  clock_.Advance(absl::Seconds(3));
  ASSERT_THAT(store_->FinishOperation(work, true, "", clock_.Now()), IsOk());

  Service running = Get(service);
  EXPECT_EQ(running.status, ServiceStatus::kRunning);
  EXPECT_EQ(running.updated_at, clock_.Now());
  ASSERT_TRUE(running.deployed_image.has_value());
  EXPECT_EQ(running.deployed_image->version, 1);
  Operation op = AllOperations(service)[0];
  EXPECT_EQ(op.status, OperationStatus::kSucceeded);
  EXPECT_EQ(op.ended_at, clock_.Now());

  EXPECT_THAT(store_->FinishOperation(work, false, "late", clock_.Now()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(Get(service).status, ServiceStatus::kRunning)
      << "a second finish changes nothing";
  EXPECT_EQ(AllOperations(service)[0].status, OperationStatus::kSucceeded);
  Work unknown = work;
  unknown.operation.id = "00000000-0000-4000-8000-0000000000ff";
  EXPECT_THAT(store_->FinishOperation(unknown, true, "", clock_.Now()),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SqliteStoreTest, FailedCreateIsCreateFailedAndFailed) {
  Service service = Create("my-web");
  FinishAll(false);
  Service failed = Get(service);
  EXPECT_EQ(failed.status, ServiceStatus::kCreateFailed);
  EXPECT_FALSE(failed.deployed_image.has_value());
  EXPECT_EQ(AllOperations(service)[0].status, OperationStatus::kFailed);
}

TEST_F(SqliteStoreTest, NextDueTimeFollowsTheEarliestOpenOperation) {
  auto next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_FALSE(next->has_value()) << "nothing is open";

  const absl::Time t0 = clock_.Now();
  Create("my-web");
  next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(*next, t0) << "a new operation is due at once";

  ASSERT_THAT(store_->TakeDueOperations(t0, kCompute, kLease, 64), IsOk());
  next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(*next, t0 + kCompute);

  clock_.Advance(absl::Milliseconds(50));
  Create("my-web-2");
  next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(*next, t0 + absl::Milliseconds(50));

  clock_.Advance(kCompute);
  EXPECT_EQ(FinishAll(true), 2);
  next = store_->NextDueTime();
  ASSERT_THAT(next, IsOk());
  EXPECT_FALSE(next->has_value());
}

// --- RecordSourceVersion --------------------------------------------------

TEST_F(SqliteStoreTest, RecordSourceVersionDeploysOnlyRunningAutoServices) {
  Service autod = CreateRunning("auto-on");
  NewService manual_input = MakeService("auto-off");
  manual_input.config.source.auto_deployments_enabled = false;
  ASSERT_THAT(store_->CreateService(manual_input, {}), IsOk());
  FinishAll(true);
  auto manual = store_->GetService(
      {kAccount, "auto-off", "00000000000000000000000000000002"});
  ASSERT_THAT(manual, IsOk());

  auto on = store_->RecordSourceVersion(Ref(autod), "repo/image:2", false);
  ASSERT_THAT(on, IsOk());
  ASSERT_TRUE(on->deployment.has_value());
  EXPECT_EQ(on->deployment->type, OperationType::kStartDeployment);
  EXPECT_EQ(on->deployment->status, OperationStatus::kPending);
  EXPECT_EQ(on->service.status, ServiceStatus::kOperationInProgress);
  ASSERT_TRUE(on->service.latest_image.has_value());
  EXPECT_EQ(on->service.latest_image->version, 2);
  EXPECT_EQ(on->service.deployed_image->version, 1);

  auto off = store_->RecordSourceVersion(Ref(*manual), "repo/image:2", false);
  ASSERT_THAT(off, IsOk());
  EXPECT_FALSE(off->deployment.has_value());
  EXPECT_EQ(off->service.status, ServiceStatus::kRunning);
  EXPECT_EQ(off->service.latest_image->version, 2);
  EXPECT_THAT(AllOperations(*manual), SizeIs(1));
}

// --- Delete ---------------------------------------------------------------

TEST_F(SqliteStoreTest, DeletePurgesButKeepsTheServiceReadable) {
  Service service = CreateRunning("my-web");
  ASSERT_THAT(store_->TagService(Ref(service), {{"team", "web"}}, false),
              IsOk());
  StartOk(service, OperationType::kDeleteService);
  clock_.Advance(absl::Seconds(2));
  ASSERT_EQ(FinishAll(true), 1);

  auto deleted = store_->GetService(Ref(service));
  ASSERT_THAT(deleted, IsOk()) << "a deleted service still answers";
  EXPECT_EQ(deleted->status, ServiceStatus::kDeleted);
  EXPECT_EQ(deleted->deleted_at, clock_.Now());
  EXPECT_FALSE(deleted->config.has_value());
  EXPECT_FALSE(deleted->deployed_image.has_value());
  EXPECT_FALSE(deleted->latest_image.has_value());
  EXPECT_EQ(deleted->url, service.url);

  auto tags = store_->ListTags(Ref(service));
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, IsEmpty());
  EXPECT_THAT(store_->TagService(Ref(service), {{"team", "web"}}, false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->RecordSourceVersion(Ref(service), "repo/image:2", false),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->StartOperation(Ref(service),
                                     OperationType::kDeleteService, {}, {}),
              StatusIs(absl::StatusCode::kFailedPrecondition));

  auto page = store_->ListServices(kEveryAccount, 20, "", std::nullopt);
  ASSERT_THAT(page, IsOk());
  EXPECT_THAT(page->items, IsEmpty());

  // The operation history stays.
  std::vector<Operation> ops = AllOperations(service);
  ASSERT_THAT(ops, SizeIs(2));
  EXPECT_EQ(ops[0].type, OperationType::kDeleteService);
  EXPECT_EQ(ops[0].status, OperationStatus::kSucceeded);

  // The name is free at once.
  auto reused = store_->CreateService(MakeService("my-web"), {});
  ASSERT_THAT(reused, IsOk());
  EXPECT_NE(reused->service.id, service.id);
  EXPECT_NE(reused->service.url, service.url);
  page = store_->ListServices(kEveryAccount, 20, "", std::nullopt);
  ASSERT_THAT(page, IsOk());
  ASSERT_THAT(page->items, SizeIs(1));
  EXPECT_EQ(page->items[0].id, reused->service.id);
  // Both answer by their own id.
  EXPECT_EQ(Get(service).status, ServiceStatus::kDeleted);
  EXPECT_EQ(Get(reused->service).status, ServiceStatus::kOperationInProgress);
}

TEST_F(SqliteStoreTest, FailedDeleteIsDeleteFailedAndCanBeRetried) {
  Service service = CreateRunning("my-web");
  StartOk(service, OperationType::kDeleteService);
  FinishAll(false);
  Service failed = Get(service);
  EXPECT_EQ(failed.status, ServiceStatus::kDeleteFailed);
  EXPECT_TRUE(failed.config.has_value()) << "nothing is purged yet";
  EXPECT_EQ(AllOperations(service)[0].status, OperationStatus::kFailed);
  EXPECT_THAT(store_->CreateService(MakeService("my-web"), {}),
              StatusIs(absl::StatusCode::kAlreadyExists));

  StartOk(service, OperationType::kDeleteService);
  FinishAll(true);
  EXPECT_EQ(Get(service).status, ServiceStatus::kDeleted);
}

// --- What stays on disk ---------------------------------------------------

TEST_F(SqliteStoreTest, PauseKeepsImagesAndConfigsDeleteRemovesThem) {
  Service service = CreateRunning("my-web");
  ASSERT_THAT(store_->TagService(Ref(service), {{"team", "web"}}, false),
              IsOk());
  EXPECT_EQ(CountRows("service_images", service), 1);
  EXPECT_EQ(CountRows("service_configs", service), 1);
  EXPECT_EQ(CountRows("service_config_env", service), 2);

  StartOk(service, OperationType::kPauseService);
  FinishAll(true);
  ASSERT_EQ(Get(service).status, ServiceStatus::kPaused);
  EXPECT_EQ(CountRows("service_images", service), 1);
  EXPECT_EQ(CountRows("service_configs", service), 1);
  EXPECT_EQ(CountRows("service_config_env", service), 2);
  EXPECT_EQ(CountRows("tags", service), 1);

  StartOk(service, OperationType::kDeleteService);
  FinishAll(true);
  ASSERT_EQ(Get(service).status, ServiceStatus::kDeleted);
  EXPECT_EQ(CountRows("service_images", service), 0);
  EXPECT_EQ(CountRows("service_configs", service), 0);
  EXPECT_EQ(CountRows("service_config_env", service), 0)
      << "environment values, secrets included, must go with the config";
  EXPECT_EQ(CountRows("tags", service), 0);
  EXPECT_EQ(CountRows("operations", service), 3);
}

// --- Group commit ----------------------------------------------------------

TEST_F(SqliteStoreTest, FinishesOfABatchShareOneCommitAndFailAlone) {
  std::vector<Service> services;
  for (int i = 0; i < 3; ++i) {
    services.push_back(Create(absl::StrCat("batched-", i)));
  }
  auto due = store_->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                       kLease, 100);
  ASSERT_THAT(due, IsOk());
  ASSERT_EQ(due->size(), 3u);

  const int64_t commits_before = store_->commits();
  std::vector<servicemanager::store::Store::Finish> finishes = {
      {(*due)[0].operation.id, OperationStatus::kInProgress, true, "", 1},
      {"00000000-0000-4000-8000-0000000fffff", OperationStatus::kInProgress,
       true, "", 1},
      {(*due)[1].operation.id, OperationStatus::kInProgress, false, "no", 1},
      // Ended by the first: refused, and nothing of it is written.
      {(*due)[0].operation.id, OperationStatus::kInProgress, false, "again", 1},
      {(*due)[2].operation.id, OperationStatus::kInProgress, true, "", 1},
  };
  std::vector<absl::Status> statuses =
      store_->FinishOperations(finishes, clock_.Now());
  EXPECT_EQ(store_->commits() - commits_before, 1);
  ASSERT_EQ(statuses.size(), finishes.size());
  EXPECT_THAT(statuses[0], IsOk());
  EXPECT_THAT(statuses[1], StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(statuses[2], IsOk());
  EXPECT_THAT(statuses[3], StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(statuses[4], IsOk());
  EXPECT_EQ(Get(services[0]).status, ServiceStatus::kRunning);
  EXPECT_EQ(Get(services[1]).status, ServiceStatus::kCreateFailed);
  EXPECT_EQ(Get(services[2]).status, ServiceStatus::kRunning);
}

TEST_F(SqliteStoreTest, ConcurrentCallsShareCommitsAndAllLand) {
  options_.synchronous_full = true;  // A commit then costs an fsync.
  Reopen();
  constexpr int kThreads = 16;
  constexpr int kPerThread = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures = 0;
  const int64_t commits_before = store_->commits();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        if (!store_
                 ->CreateService(MakeService(absl::StrCat("c-", t, "-", i)), {})
                 .ok()) {
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  EXPECT_EQ(failures, 0);
  auto page = store_->ListServices(kEveryAccount, 100, "", std::nullopt);
  ASSERT_THAT(page, IsOk());
  auto next =
      store_->ListServices(kEveryAccount, 100, page->next_token, std::nullopt);
  ASSERT_THAT(next, IsOk());
  EXPECT_EQ(page->items.size() + next->items.size(),
            static_cast<size_t>(kThreads * kPerThread));
  const int64_t commits = store_->commits() - commits_before;
  std::cout << kThreads * kPerThread << " creates in " << commits
            << " commits\n";
  EXPECT_LT(commits, kThreads * kPerThread)
      << "concurrent writes must share commits";
}

}  // namespace
