// What the API tests cannot reach of the PostgreSQL store: its migrations, a
// broken connection, and two stores (two servers) on one database. Each test
// has a schema of its own; without a PostgreSQL server (SM_TEST_POSTGRES_URL
// or SM_TEST_POSTGRES_URL_FILE) they skip.
#include "store/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/lifecycle.h"
#include "pqxx/pqxx"
#include "runtime/simulated_runtime.h"
#include "store/migrator.h"
#include "store/open_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/postgres_schema.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"
#include "worker/operation_worker.h"

namespace {

using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::ServiceRef;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::store::Change;
using ::servicemanager::store::EmbeddedPostgresMigrations;
using ::servicemanager::store::kPostgresLockKey;
using ::servicemanager::store::NewService;
using ::servicemanager::store::PostgresOptions;
using ::servicemanager::store::PostgresStore;
using ::servicemanager::store::RedactDatabaseUrl;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::store::Store;
using ::servicemanager::store::ValidateDatabaseUrl;
using ::servicemanager::store::Work;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::PostgresSchema;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::StatusIs;
using ::servicemanager::testing::TempDir;
using ::servicemanager::worker::OperationWorker;
using ::testing::IsEmpty;
using ::testing::SizeIs;

constexpr char kAccount[] = "123456789012";
constexpr absl::Duration kLease = absl::Seconds(30);

NewService MakeService(const std::string& name) {
  NewService service;
  service.account_id = kAccount;
  service.name = name;
  service.config.source.image_identifier = "public.ecr.aws/hello/web:latest";
  return service;
}

ServiceRef Ref(const servicemanager::domain::Service& service) {
  return {service.account_id, service.name, service.id};
}

// Records the changes a store tells it of.
class RecordingObserver final : public servicemanager::store::ChangeObserver {
 public:
  // `watches`: what Watches answers (whether anyone waits on a change).
  explicit RecordingObserver(bool watches = true) : watches_(watches) {}

  void OnCommit(const Change& change) override {
    absl::MutexLock lock(&mu_);
    changes_.push_back(change);
  }
  bool Watches(absl::string_view /*service_id*/,
               absl::string_view operation_id) const override {
    absl::MutexLock lock(&mu_);
    asked_.emplace_back(operation_id);
    return watches_;
  }
  void OnRemoteWork() override {
    absl::MutexLock lock(&mu_);
    ++remote_work_;
  }

  // Whether Watches is asked about operation `id` within `timeout`.
  bool AwaitAsked(const std::string& id, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto asked = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return absl::c_linear_search(asked_, id);
    };
    return mu_.AwaitWithTimeout(absl::Condition(&asked), timeout);
  }
  int remote_work() const {
    absl::MutexLock lock(&mu_);
    return remote_work_;
  }
  size_t changes() const {
    absl::MutexLock lock(&mu_);
    return changes_.size();
  }

  // Waits up to `timeout` for a change of operation `id` in `status`; the
  // first such change, if any.
  std::optional<Change> Await(const std::string& id, OperationStatus status,
                              absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto find = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) -> const Change* {
      for (const Change& change : changes_) {
        if (change.operation && change.operation->id == id &&
            change.operation->status == status) {
          return &change;
        }
      }
      return nullptr;
    };
    auto found = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return find() != nullptr;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&found), timeout)) {
      return std::nullopt;
    }
    return *find();
  }

  // The changes of operation `id` told so far.
  std::vector<Change> Of(const std::string& id) {
    absl::MutexLock lock(&mu_);
    std::vector<Change> of;
    for (const Change& change : changes_) {
      if (change.operation && change.operation->id == id) {
        of.push_back(change);
      }
    }
    return of;
  }

 private:
  const bool watches_;
  mutable absl::Mutex mu_;
  std::vector<Change> changes_ ABSL_GUARDED_BY(mu_);
  mutable std::vector<std::string> asked_ ABSL_GUARDED_BY(mu_);
  int remote_work_ ABSL_GUARDED_BY(mu_) = 0;
};

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::optional<std::string> url = servicemanager::testing::TestPostgresUrl();
    if (!url) {
      GTEST_SKIP() << "PostgreSQL is not available: set "
                      "SM_TEST_POSTGRES_URL or SM_TEST_POSTGRES_URL_FILE";
    }
    auto schema = PostgresSchema::Create(*url);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = *std::move(schema);
  }

  // The stores' connections carry the schema's name as their
  // application_name, so a test can find them.
  PostgresOptions Options(int pool_size = 4) {
    PostgresOptions options;
    options.url =
        absl::StrCat(schema_->url(), "&application_name=", schema_->name());
    options.url_suffix = "us-east-1.test";
    options.pool_size = pool_size;
    return options;
  }

  std::unique_ptr<PostgresStore> OpenStore(
      int pool_size = 4, const std::string& replica_id = "replica-a") {
    PostgresOptions options = Options(pool_size);
    options.replica_id = replica_id;
    auto store = PostgresStore::Open(options, clock_, ids_);
    EXPECT_THAT(store.status(), IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // A statement on the test's schema, outside any store.
  pqxx::result Sql(const std::string& sql) {
    pqxx::connection c(schema_->url());
    pqxx::nontransaction t(c);
    return t.exec(sql);
  }

  // Whether a connection named `application_name` comes to wait for a lock
  // within 10 s.
  bool AwaitLockWait(const std::string& application_name) {
    const std::string waiting = absl::StrCat(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = '",
        application_name, "' AND wait_event_type = 'Lock'");
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (Sql(waiting)[0][0].as<int>() == 0) {
      if (absl::Now() >= give_up) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return true;
  }

  // Creates a service and runs its create to the end: RUNNING.
  servicemanager::domain::Service CreateRunning(Store& store,
                                                const std::string& name) {
    auto accepted = store.CreateService(MakeService(name), {});
    EXPECT_THAT(accepted.status(), IsOk());
    auto due =
        store.TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
    EXPECT_THAT(due.status(), IsOk());
    for (const auto& work : *due) {
      EXPECT_THAT(store.FinishOperation(work, true, "", clock_.Now()), IsOk());
    }
    return accepted->service;
  }

  FakeClock clock_;
  SequentialIds ids_;
  std::unique_ptr<PostgresSchema> schema_;
};

TEST_F(PostgresStoreTest, MigratingTwiceIsANoOp) {
  ASSERT_NE(OpenStore(), nullptr);
  const std::string rows =
      "SELECT version, name, checksum, applied_at FROM schema_migrations"
      " ORDER BY version";
  pqxx::result first = Sql(rows);
  ASSERT_EQ(first.size(), EmbeddedPostgresMigrations().size());
  clock_.Advance(absl::Hours(1));
  ASSERT_NE(OpenStore(), nullptr);
  pqxx::result second = Sql(rows);
  ASSERT_EQ(second.size(), first.size());
  for (size_t i = 0; i < first.size(); ++i) {
    for (int column = 0; column < 4; ++column) {
      EXPECT_EQ(std::string(second[i][column].c_str()),
                first[i][column].c_str());
    }
  }
}

TEST_F(PostgresStoreTest, ConcurrentOpensOfAnEmptyDatabaseMigrateOnce) {
  constexpr int kServers = 4;
  std::vector<absl::Status> opened(kServers);
  absl::Barrier* start = new absl::Barrier(kServers);
  std::vector<std::thread> threads;
  for (int i = 0; i < kServers; ++i) {
    threads.emplace_back([&, i] {
      if (start->Block()) delete start;
      opened[i] = PostgresStore::Open(Options(), clock_, ids_).status();
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : opened) {
    EXPECT_THAT(status, IsOk());
  }
  EXPECT_EQ(Sql("SELECT COUNT(*) FROM schema_migrations")[0][0].as<size_t>(),
            EmbeddedPostgresMigrations().size());
}

TEST_F(PostgresStoreTest, NewerSchemaIsRefused) {
  ASSERT_NE(OpenStore(), nullptr);
  Sql("INSERT INTO schema_migrations (version, name, checksum, applied_at)"
      " VALUES (9999, '9999_from_the_future.up.sql', '0', 0)");
  EXPECT_THAT(PostgresStore::Open(Options(), clock_, ids_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("schema version 9999")));
}

TEST_F(PostgresStoreTest, EditedMigrationIsRefused) {
  ASSERT_NE(OpenStore(), nullptr);
  Sql("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1");
  EXPECT_THAT(PostgresStore::Open(Options(), clock_, ids_).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("differs")));
}

TEST_F(PostgresStoreTest, BrokenConnectionIsReplaced) {
  std::unique_ptr<PostgresStore> store = OpenStore(/*pool_size=*/3);
  ASSERT_NE(store, nullptr);
  auto service = CreateRunning(*store, "web");
  // Every connection of the pool in use once, so that each is open.
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back(
        [&] { EXPECT_THAT(store->GetService(Ref(service)).status(), IsOk()); });
  }
  for (std::thread& reader : readers) reader.join();
  // The server ends every connection of the store (as a restart or a
  // failover would).
  pqxx::result ended =
      Sql(absl::StrCat("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE application_name = '",
                       schema_->name(), "'"));
  ASSERT_GE(ended.size(), 1u);
  // pg_terminate_backend only signals: wait until the backends are gone, so
  // that no connection of the pool is still alive to break after the calls
  // below began.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  auto alive = [&] {
    return Sql(
               absl::StrCat("SELECT count(*) FROM pg_stat_activity"
                            " WHERE application_name = '",
                            schema_->name(), "'"))[0][0]
        .as<int>();
  };
  while (alive() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_EQ(alive(), 0);
  // Each call finds its connection broken, and runs again on a new one.
  EXPECT_THAT(store->GetService(Ref(service)).status(), IsOk());
  EXPECT_THAT(store->GetService(Ref(service)).status(), IsOk());
  EXPECT_THAT(store
                  ->StartOperation(Ref(service), OperationType::kPauseService,
                                   ConfigUpdate{}, {})
                  .status(),
              IsOk());
}

// Calls that hold every connection of the API's pool do not stop the worker:
// it has connections of its own.
TEST_F(PostgresStoreTest, BusyCallsDoNotStarveTheWorker) {
  std::unique_ptr<PostgresStore> store = OpenStore(/*pool_size=*/1);
  ASSERT_NE(store, nullptr);
  auto busy = CreateRunning(*store, "busy");
  auto waiting = store->CreateService(MakeService("waiting"), {});
  ASSERT_THAT(waiting, IsOk());

  // Another session locks the busy service's row, so a pause of it holds
  // the API's only connection while it waits.
  pqxx::connection locker(schema_->url());
  pqxx::work lock(locker);
  lock.exec("SELECT 1 FROM services WHERE service_id = " + lock.quote(busy.id) +
            " FOR UPDATE");
  std::thread pause([&] {
    EXPECT_THAT(store
                    ->StartOperation(Ref(busy), OperationType::kPauseService,
                                     ConfigUpdate{}, {})
                    .status(),
                IsOk());
  });
  ASSERT_TRUE(AwaitLockWait(schema_->name()))
      << "the pause never waited for the lock";

  // The worker still takes and finishes the other service's create.
  absl::Notification finished;
  std::thread worker([&] {
    auto due = store->TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                        kLease, 10);
    EXPECT_THAT(due, IsOk());
    if (due.ok()) {
      for (const Work& work : *due) {
        EXPECT_THAT(store->FinishOperation(work, true, "", clock_.Now()),
                    IsOk());
      }
    }
    finished.Notify();
  });
  const bool in_time =
      finished.WaitForNotificationWithTimeout(absl::Seconds(10));
  lock.abort();
  pause.join();
  worker.join();
  EXPECT_TRUE(in_time) << "the worker waited for the API's connection";
  auto got = store->GetService(Ref(waiting->service));
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(got->status, ServiceStatus::kRunning);
}

// Two deployments in two schemas of one database: notifications are per
// database, but each hears only its own schema's.
TEST_F(PostgresStoreTest, AnotherSchemasChangesAreNotHeard) {
  RecordingObserver observer;
  PostgresOptions options = Options();
  options.replica_id = "replica-a";
  auto a = PostgresStore::Open(options, clock_, ids_, &observer);
  ASSERT_THAT(a, IsOk());
  auto other_schema =
      PostgresSchema::Create(*servicemanager::testing::TestPostgresUrl());
  ASSERT_TRUE(other_schema.ok()) << other_schema.status();
  PostgresOptions other_options = Options();
  other_options.url = (*other_schema)->url();
  other_options.replica_id = "replica-b";
  auto other = PostgresStore::Open(other_options, clock_, ids_);
  ASSERT_THAT(other, IsOk());
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(b, nullptr);

  auto elsewhere = (*other)->CreateService(MakeService("elsewhere"), {});
  ASSERT_THAT(elsewhere, IsOk());
  // A's own schema's next change arrives after the other schema's would.
  auto here = b->CreateService(MakeService("here"), {});
  ASSERT_THAT(here, IsOk());
  ASSERT_TRUE(observer.AwaitAsked(here->operation.id, absl::Seconds(5)));

  EXPECT_EQ(observer.remote_work(), 1)
      << "another schema's new operation woke this replica's worker";
  EXPECT_THAT(observer.Of(elsewhere->operation.id), ::testing::IsEmpty());
}

// Needs no PostgreSQL server, so it runs (and does not skip) without one.
TEST(PostgresStoreOpenTest, UnreachableDatabaseIsUnavailable) {
  FakeClock clock;
  SequentialIds ids;
  PostgresOptions options;
  options.url = "postgresql:///postgres?host=/nonexistent-sm-socket-dir";
  options.url_suffix = "us-east-1.test";
  EXPECT_THAT(PostgresStore::Open(options, clock, ids).status(),
              StatusIs(absl::StatusCode::kUnavailable));
}

// Two servers on one database get the same pause of one service at once:
// exactly one wins, and the other gets SQLite's answer to a second pause.
TEST_F(PostgresStoreTest, ConcurrentStartsOnOneServiceAcrossStores) {
  std::unique_ptr<PostgresStore> a = OpenStore();
  std::unique_ptr<PostgresStore> b = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);

  TempDir dir;
  SqliteOptions sqlite_options;
  sqlite_options.path = dir.File("db.sqlite");
  sqlite_options.url_suffix = "us-east-1.test";
  SequentialIds sqlite_ids;
  auto sqlite = SqliteStore::Open(sqlite_options, clock_, sqlite_ids);
  ASSERT_THAT(sqlite.status(), IsOk());
  auto on_sqlite = CreateRunning(**sqlite, "web");
  ASSERT_THAT((*sqlite)
                  ->StartOperation(Ref(on_sqlite), OperationType::kPauseService,
                                   ConfigUpdate{}, {})
                  .status(),
              IsOk());
  const absl::Status sqlite_loser =
      (*sqlite)
          ->StartOperation(Ref(on_sqlite), OperationType::kPauseService,
                           ConfigUpdate{}, {})
          .status();
  ASSERT_EQ(sqlite_loser.code(), absl::StatusCode::kFailedPrecondition);

  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    auto service = CreateRunning(*a, absl::StrCat("web-", round));
    absl::Status results[2];
    absl::Barrier* start = new absl::Barrier(2);
    std::thread first([&] {
      if (start->Block()) delete start;
      results[0] = a->StartOperation(Ref(service), OperationType::kPauseService,
                                     ConfigUpdate{}, {})
                       .status();
    });
    std::thread second([&] {
      if (start->Block()) delete start;
      results[1] = b->StartOperation(Ref(service), OperationType::kPauseService,
                                     ConfigUpdate{}, {})
                       .status();
    });
    first.join();
    second.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << results[0] << " / " << results[1];
    const absl::Status& loser = results[0].ok() ? results[1] : results[0];
    EXPECT_EQ(loser.code(), sqlite_loser.code());
    EXPECT_EQ(loser.message(), sqlite_loser.message());
    auto open =
        Sql(absl::StrCat("SELECT COUNT(*) FROM operations o JOIN services s"
                         " ON s.pk = o.service_pk WHERE o.ended_at IS NULL"
                         " AND s.service_id = '",
                         service.id, "'"));
    EXPECT_EQ(open[0][0].as<int>(), 1);
  }
}

// Two servers create a service of one name at once: the loser, whether its
// check or the unique index saw the winner, gets SQLite's ALREADY_EXISTS.
TEST_F(PostgresStoreTest, ConcurrentCreatesOfOneNameAcrossStores) {
  std::unique_ptr<PostgresStore> a = OpenStore();
  std::unique_ptr<PostgresStore> b = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kRounds = 10;
  for (int round = 0; round < kRounds; ++round) {
    const std::string name = absl::StrCat("web-", round);
    absl::Status results[2];
    absl::Barrier* start = new absl::Barrier(2);
    auto create = [&](PostgresStore& store, absl::Status& result) {
      if (start->Block()) delete start;
      result = store.CreateService(MakeService(name), {}).status();
    };
    std::thread first([&] { create(*a, results[0]); });
    std::thread second([&] { create(*b, results[1]); });
    first.join();
    second.join();
    ASSERT_NE(results[0].ok(), results[1].ok())
        << results[0] << " / " << results[1];
    EXPECT_THAT(results[0].ok() ? results[1] : results[0],
                StatusIs(absl::StatusCode::kAlreadyExists,
                         absl::StrCat("service_name: a service named ", name,
                                      " already exists")));
  }
}

// --- Claims: two replicas never run one operation twice ------------------

TEST_F(PostgresStoreTest, ClaimHoldsUntilItsLeaseRunsOutThenOnlyTheNewOneEnds) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto accepted = a->CreateService(MakeService("web"), {});
  ASSERT_THAT(accepted, IsOk());
  const ServiceRef ref = Ref(accepted->service);

  auto by_a =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_a, IsOk());
  ASSERT_THAT(*by_a, SizeIs(1));
  EXPECT_EQ((*by_a)[0].attempt, 1);
  EXPECT_THAT(
      *b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10),
      IsEmpty())
      << "A holds the claim";
  clock_.Advance(kLease - absl::Microseconds(1));
  EXPECT_THAT(
      *b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10),
      IsEmpty())
      << "A's lease has not run out";

  // A stopped renewing (paused, partitioned): B takes the operation over.
  clock_.Advance(absl::Microseconds(1));
  auto by_b =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_b, IsOk());
  ASSERT_THAT(*by_b, SizeIs(1));
  EXPECT_EQ((*by_b)[0].operation.id, (*by_a)[0].operation.id);
  EXPECT_EQ((*by_b)[0].attempt, 2);

  // A's late finish changes nothing; B's commits.
  EXPECT_THAT(a->FinishOperation((*by_a)[0], false, "late", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  auto service = a->GetService(ref);
  ASSERT_THAT(service, IsOk());
  EXPECT_EQ(service->status, ServiceStatus::kOperationInProgress);
  auto op = a->GetOperation({}, (*by_a)[0].operation.id);
  ASSERT_THAT(op, IsOk());
  EXPECT_EQ(op->status, OperationStatus::kInProgress);
  EXPECT_THAT(op->error_message, IsEmpty());

  ASSERT_THAT(b->FinishOperation((*by_b)[0], true, "", clock_.Now()), IsOk());
  EXPECT_EQ(a->GetService(ref)->status, ServiceStatus::kRunning);
  EXPECT_EQ(a->GetOperation({}, (*by_a)[0].operation.id)->status,
            OperationStatus::kSucceeded);
  // Even A's finish of attempt 1 after B's end is refused as a lost claim.
  EXPECT_THAT(a->FinishOperation((*by_a)[0], true, "", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
}

// A batch of finishes commits together, each all or nothing: a lost claim
// in it changes nothing, and the others commit.
TEST_F(PostgresStoreTest, BatchOfFinishesEndsEachOnItsOwn) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto lost = a->CreateService(MakeService("lost"), {});
  ASSERT_THAT(lost, IsOk());
  auto by_a =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_a, IsOk());
  ASSERT_THAT(*by_a, SizeIs(1));
  // A's claim runs out and B takes "lost" over; then A claims "kept".
  clock_.Advance(kLease);
  auto by_b =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_b, IsOk());
  ASSERT_THAT(*by_b, SizeIs(1));
  auto kept = a->CreateService(MakeService("kept"), {});
  ASSERT_THAT(kept, IsOk());
  auto again =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT(*again, SizeIs(1));

  const Work& stale = (*by_a)[0];
  const Work& fresh = (*again)[0];
  const std::vector<absl::Status> finished = a->FinishOperations(
      {{stale.operation.id, stale.operation.status, true, "", stale.attempt},
       {fresh.operation.id, fresh.operation.status, true, "", fresh.attempt}},
      clock_.Now());
  ASSERT_THAT(finished, SizeIs(2));
  EXPECT_THAT(finished[0], StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(finished[1], IsOk());
  EXPECT_EQ(a->GetService(Ref(lost->service))->status,
            ServiceStatus::kOperationInProgress);
  EXPECT_EQ(a->GetOperation({}, stale.operation.id)->status,
            OperationStatus::kInProgress);
  EXPECT_EQ(a->GetService(Ref(kept->service))->status, ServiceStatus::kRunning);
  EXPECT_EQ(a->GetOperation({}, fresh.operation.id)->status,
            OperationStatus::kSucceeded);
}

// --- The execution log: one row per ending of an operation -----------------

TEST_F(PostgresStoreTest, FinishLogsOneEndingByTheFinisher) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto accepted = a->CreateService(MakeService("web"), {});
  ASSERT_THAT(accepted, IsOk());
  const std::string id = accepted->operation.id;
  const std::string endings = absl::StrCat(
      "SELECT status, replica, attempt, ended_at FROM operation_endings"
      " WHERE operation_id = '",
      id, "'");
  auto by_a =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_a, IsOk());
  ASSERT_THAT(*by_a, SizeIs(1));
  EXPECT_EQ(Sql(endings).size(), 0u) << "claimed, not ended";

  // A stops renewing; B takes over and finishes.
  clock_.Advance(kLease);
  auto by_b =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_b, IsOk());
  ASSERT_THAT(*by_b, SizeIs(1));
  ASSERT_THAT(b->FinishOperation((*by_b)[0], true, "", clock_.Now()), IsOk());
  pqxx::result logged = Sql(endings);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_STREQ(logged[0][0].c_str(), "SUCCEEDED");
  EXPECT_STREQ(logged[0][1].c_str(), "replica-b");
  EXPECT_EQ(logged[0][2].as<int>(), 2);
  EXPECT_EQ(logged[0][3].as<int64_t>(), absl::ToUnixMicros(clock_.Now()));

  // A's late finish is fenced off and logs nothing, however it ran.
  clock_.Advance(absl::Seconds(1));
  EXPECT_THAT(a->FinishOperation((*by_a)[0], true, "", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(a->FinishOperation((*by_a)[0], false, "late", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_EQ(Sql(endings).size(), 1u);

  // The purge of the operation takes its ending with it.
  auto purged =
      a->Purge({.operations_ended_before = clock_.Now(),
                .services_deleted_before = absl::InfinitePast(),
                .client_tokens_created_before = absl::InfinitePast(),
                .certificates_released_before = absl::InfinitePast()});
  ASSERT_THAT(purged, IsOk());
  EXPECT_EQ(purged->operations, 1);
  EXPECT_EQ(Sql(endings).size(), 0u);
}

TEST_F(PostgresStoreTest, CancelAndExpiryLogTheirEndings) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  ASSERT_NE(a, nullptr);
  auto cancelled = a->CreateService(MakeService("cancelled"), {});
  ASSERT_THAT(cancelled, IsOk());
  ASSERT_THAT(a->CancelOperation({}, cancelled->operation.id, false), IsOk());
  auto expired = a->CreateService(MakeService("expired"), {});
  ASSERT_THAT(expired, IsOk());
  clock_.Advance(absl::Hours(1));
  ASSERT_THAT(a->ExpireOperations(clock_.Now()), IsOk());

  pqxx::result logged =
      Sql("SELECT operation_id, status, replica, attempt FROM"
          " operation_endings ORDER BY ended_at");
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_EQ(logged[0][0].c_str(), cancelled->operation.id);
  EXPECT_EQ(logged[1][0].c_str(), expired->operation.id);
  for (const pqxx::row& row : logged) {
    EXPECT_STREQ(row[1].c_str(), "FAILED");
    EXPECT_STREQ(row[2].c_str(), "replica-a");
    EXPECT_EQ(row[3].as<int>(), 0) << "never claimed";
  }
}

TEST_F(PostgresStoreTest, RenewedLeaseKeepsTheClaim) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_THAT(a->CreateService(MakeService("web"), {}), IsOk());
  auto by_a =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_a, IsOk());
  ASSERT_THAT(*by_a, SizeIs(1));
  const std::string id = (*by_a)[0].operation.id;

  // B renewing A's claim changes nothing.
  ASSERT_THAT(b->RenewLeases({id}, clock_.Now() + absl::Hours(1)), IsOk());
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(kLease / 2);
    ASSERT_THAT(a->RenewLeases({id}, clock_.Now() + kLease), IsOk());
    EXPECT_THAT(
        *b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10),
        IsEmpty())
        << "renewed at " << i;
  }
  ASSERT_THAT(a->FinishOperation((*by_a)[0], true, "", clock_.Now()), IsOk());
  EXPECT_EQ(a->GetOperation({}, id)->status, OperationStatus::kSucceeded);
}

TEST_F(PostgresStoreTest, CancelReleasesTheClaimForTheRollback) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_THAT(a->CreateService(MakeService("web"), {}), IsOk());
  auto by_a =
      a->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(by_a, IsOk());
  ASSERT_THAT(*by_a, SizeIs(1));
  ASSERT_THAT(b->CancelOperation({}, (*by_a)[0].operation.id, false), IsOk());

  auto rollback =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(rollback, IsOk());
  ASSERT_THAT(*rollback, SizeIs(1)) << "due at once, without waiting for A";
  EXPECT_EQ((*rollback)[0].operation.status,
            OperationStatus::kRollbackInProgress);
  EXPECT_THAT(a->FinishOperation((*by_a)[0], true, "", clock_.Now()),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_THAT(b->FinishOperation((*rollback)[0], true, "", clock_.Now()),
              IsOk());
  EXPECT_EQ(a->GetOperation({}, (*by_a)[0].operation.id)->status,
            OperationStatus::kRollbackSucceeded);
}

TEST_F(PostgresStoreTest, ConcurrentClaimsAcrossStoresAreDisjoint) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  constexpr int kServices = 60;
  for (int i = 0; i < kServices; ++i) {
    ASSERT_THAT(a->CreateService(MakeService(absl::StrCat("web-", i)), {}),
                IsOk());
  }
  // Small batches, so that both claim while the other does.
  std::vector<Work> claimed[2];
  auto claim = [&](PostgresStore& store, std::vector<Work>& mine) {
    while (true) {
      auto due = store.TakeDueOperations(clock_.Now(), absl::ZeroDuration(),
                                         kLease, 3);
      ASSERT_THAT(due, IsOk());
      if (due->empty()) return;
      mine.insert(mine.end(), due->begin(), due->end());
    }
  };
  std::thread first([&] { claim(*a, claimed[0]); });
  std::thread second([&] { claim(*b, claimed[1]); });
  first.join();
  second.join();
  std::set<std::string> ids;
  for (const auto& mine : claimed) {
    for (const Work& work : mine) {
      EXPECT_EQ(work.attempt, 1);
      EXPECT_TRUE(ids.insert(work.operation.id).second)
          << work.operation.id << " was claimed twice";
    }
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kServices));
}

TEST_F(PostgresStoreTest, OperationEndsFailedAfterMaxAttempts) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto accepted = a->CreateService(MakeService("web"), {});
  ASSERT_THAT(accepted, IsOk());
  // Replicas claim it and stop before they finish: twice.
  for (int attempt = 1; attempt <= 2; ++attempt) {
    auto due =
        (attempt == 1 ? *a : *b)
            .TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
    ASSERT_THAT(due, IsOk());
    ASSERT_THAT(*due, SizeIs(1));
    EXPECT_EQ((*due)[0].attempt, attempt);
    clock_.Advance(kLease);
  }
  servicemanager::runtime::SimulatedRuntime runtime;
  OperationWorker worker(*a, runtime, clock_,
                         {.compute_time = absl::ZeroDuration(),
                          .lease = kLease,
                          .max_attempts = 2});
  ASSERT_THAT(worker.RunOnce(), IsOk());

  auto op = a->GetOperation({}, accepted->operation.id);
  ASSERT_THAT(op, IsOk());
  EXPECT_EQ(op->status, OperationStatus::kFailed);
  EXPECT_EQ(op->error_message,
            "gave up after 2 attempts: the replica running it stopped");
  EXPECT_EQ(a->GetService(Ref(accepted->service))->status,
            ServiceStatus::kCreateFailed)
      << "rolled back as a failed create";
  EXPECT_FALSE(runtime.List()->held.contains(accepted->service.id))
      << "the attempt that gave up ran nothing";
}

TEST_F(PostgresStoreTest, OneReplicaAtATimeExpiresOperations) {
  std::unique_ptr<PostgresStore> a = OpenStore(4, "replica-a");
  ASSERT_NE(a, nullptr);
  auto accepted = a->CreateService(MakeService("web"), {});
  ASSERT_THAT(accepted, IsOk());
  clock_.Advance(absl::Hours(1));
  {
    // Another replica is expiring operations: it holds the lock.
    pqxx::connection other(schema_->url());
    pqxx::nontransaction t(other);
    t.exec_params(
        absl::StrCat("SELECT pg_advisory_lock(", kPostgresLockKey, ")"),
        "expire");
    auto expired = a->ExpireOperations(clock_.Now());
    // Released before the check, not when the server ends the session
    // (which it does some time after the connection closes).
    t.exec_params(
        absl::StrCat("SELECT pg_advisory_unlock(", kPostgresLockKey, ")"),
        "expire");
    ASSERT_THAT(expired, IsOk());
    EXPECT_EQ(*expired, 0);
  }
  auto expired = a->ExpireOperations(clock_.Now());
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(*expired, 1);
  EXPECT_EQ(a->GetOperation({}, accepted->operation.id)->status,
            OperationStatus::kFailed);
}

// An operation that ends while an expiry waits for its row (as when a
// replica of an earlier version, whose lock has another key, expires it) is
// not ended again.
TEST_F(PostgresStoreTest, AnExpiryLeavesAnOperationThatEndedMeanwhile) {
  std::unique_ptr<PostgresStore> store = OpenStore(4, "replica-a");
  ASSERT_NE(store, nullptr);
  auto accepted = store->CreateService(MakeService("web"), {});
  ASSERT_THAT(accepted, IsOk());
  clock_.Advance(absl::Hours(1));

  pqxx::connection other(schema_->url());
  pqxx::work ends(other);
  const std::string row =
      " WHERE operation_id = " + ends.quote(accepted->operation.id);
  ends.exec("SELECT 1 FROM operations" + row + " FOR UPDATE");
  absl::StatusOr<int> expired;
  std::thread expiring(
      [&] { expired = store->ExpireOperations(clock_.Now()); });
  const bool waited = AwaitLockWait(schema_->name());
  const std::string now = std::to_string(absl::ToUnixMicros(clock_.Now()));
  ends.exec(
      "UPDATE operations SET status = 'SUCCEEDED', due_at = NULL,"
      " deadline_at = NULL, ended_at = " +
      now + ", updated_at = " + now + row);
  ends.exec(
      "UPDATE services SET status = 'RUNNING' WHERE pk = (SELECT"
      " service_pk FROM operations" +
      row + ")");
  ends.commit();
  expiring.join();

  ASSERT_TRUE(waited) << "the expiry never waited for the row";
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(*expired, 0);
  EXPECT_EQ(store->GetOperation({}, accepted->operation.id)->status,
            OperationStatus::kSucceeded);
  EXPECT_EQ(store->GetService(Ref(accepted->service))->status,
            ServiceStatus::kRunning);
}

// Two deployments in two schemas of one database: while one expires its
// operations, the other still expires its own (their locks are their own).
TEST_F(PostgresStoreTest, AnotherSchemasExpiryDoesNotHoldThisOnesBack) {
  std::unique_ptr<PostgresStore> here = OpenStore(4, "replica-a");
  ASSERT_NE(here, nullptr);
  auto other_schema =
      PostgresSchema::Create(*servicemanager::testing::TestPostgresUrl());
  ASSERT_TRUE(other_schema.ok()) << other_schema.status();
  PostgresOptions other_options = Options();
  other_options.url = absl::StrCat(
      (*other_schema)->url(), "&application_name=", (*other_schema)->name());
  other_options.replica_id = "replica-b";
  auto there = PostgresStore::Open(other_options, clock_, ids_);
  ASSERT_THAT(there, IsOk());
  auto stuck_here = here->CreateService(MakeService("web"), {});
  ASSERT_THAT(stuck_here, IsOk());
  ASSERT_THAT((*there)->CreateService(MakeService("web"), {}), IsOk());
  clock_.Advance(absl::Hours(1));

  // The other deployment's expiry stops mid-way, on a row another session
  // holds, with its lock taken.
  pqxx::connection locker((*other_schema)->url());
  pqxx::work lock(locker);
  lock.exec("SELECT 1 FROM operations FOR UPDATE");
  std::thread expiring_there([&] {
    auto expired = (*there)->ExpireOperations(clock_.Now());
    ASSERT_THAT(expired, IsOk());
    EXPECT_EQ(*expired, 1);
  });
  const bool waited = AwaitLockWait((*other_schema)->name());

  auto expired = here->ExpireOperations(clock_.Now());
  lock.abort();
  expiring_there.join();
  ASSERT_TRUE(waited) << "the other schema's expiry never waited for the row";
  ASSERT_THAT(expired, IsOk());
  EXPECT_EQ(*expired, 1) << "this schema's expiry was skipped";
  EXPECT_EQ(here->GetOperation({}, stuck_here->operation.id)->status,
            OperationStatus::kFailed);
}

// --- Cross-replica wake-up ---------------------------------------------------

TEST_F(PostgresStoreTest, AnotherReplicasChangeReachesTheObserverAtOnce) {
  RecordingObserver observer;
  PostgresOptions options = Options();
  options.replica_id = "replica-a";
  auto a = PostgresStore::Open(options, clock_, ids_, &observer);
  ASSERT_THAT(a, IsOk());
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(b, nullptr);

  auto mine = (*a)->CreateService(MakeService("mine"), {});
  ASSERT_THAT(mine, IsOk());
  auto theirs = b->CreateService(MakeService("theirs"), {});
  ASSERT_THAT(theirs, IsOk());
  auto due =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(2));
  for (const Work& work : *due) {
    if (work.operation.id == theirs->operation.id) {
      ASSERT_THAT(b->FinishOperation(work, true, "", clock_.Now()), IsOk());
    }
  }

  // Well within the worker's and WaitOperation's timeouts: told by NOTIFY.
  std::optional<Change> ended = observer.Await(
      theirs->operation.id, OperationStatus::kSucceeded, absl::Seconds(5));
  ASSERT_TRUE(ended.has_value()) << "B's finish never reached A's observer";
  EXPECT_TRUE(ended->remote);
  ASSERT_TRUE(ended->service.has_value());
  EXPECT_EQ(ended->service->id, theirs->service.id);
  EXPECT_EQ(ended->service->status, ServiceStatus::kRunning);

  // A's own change was told once, at its commit, not again as remote
  // (B's later notifications have arrived, so A's own would have too).
  std::vector<Change> own = observer.Of(mine->operation.id);
  ASSERT_THAT(own, SizeIs(1));
  EXPECT_FALSE(own[0].remote);
}

TEST_F(PostgresStoreTest, AnotherReplicasWorkWakesButIsReadOnlyIfWatched) {
  RecordingObserver observer(/*watches=*/false);
  PostgresOptions options = Options();
  options.replica_id = "replica-a";
  auto a = PostgresStore::Open(options, clock_, ids_, &observer);
  ASSERT_THAT(a, IsOk());
  std::unique_ptr<PostgresStore> b = OpenStore(4, "replica-b");
  ASSERT_NE(b, nullptr);

  auto theirs = b->CreateService(MakeService("theirs"), {});
  ASSERT_THAT(theirs, IsOk());
  auto due =
      b->TakeDueOperations(clock_.Now(), absl::ZeroDuration(), kLease, 10);
  ASSERT_THAT(due, IsOk());
  ASSERT_THAT(*due, SizeIs(1));
  ASSERT_THAT(b->FinishOperation(due->front(), true, "", clock_.Now()), IsOk());
  // Notifications arrive in commit order: once the next one is heard, all
  // of the first service's have been.
  auto marker = b->CreateService(MakeService("marker"), {});
  ASSERT_THAT(marker, IsOk());
  ASSERT_TRUE(observer.AwaitAsked(marker->operation.id, absl::Seconds(5)));

  EXPECT_GE(observer.remote_work(), 1) << "A's worker was never woken";
  EXPECT_EQ(observer.changes(), 0u)
      << "changes no one here waits on were read back";
}

TEST(DatabaseUrlTest, OnlyPostgresUrlsOrNoneAreAccepted) {
  EXPECT_THAT(ValidateDatabaseUrl(""), IsOk());
  EXPECT_THAT(ValidateDatabaseUrl("postgres://db/sm"), IsOk());
  EXPECT_THAT(ValidateDatabaseUrl("postgresql:///sm?host=/run/pg"), IsOk());
  EXPECT_THAT(ValidateDatabaseUrl("mysql://db/sm"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("--database-url")));
}

TEST(DatabaseUrlTest, PasswordsAreNotLogged) {
  EXPECT_EQ(RedactDatabaseUrl("postgres://sm:s3cret@db:5432/sm"),
            "postgres://sm:***@db:5432/sm");
  EXPECT_EQ(RedactDatabaseUrl("postgresql://sm@db/sm?password=s3cret&x=1"),
            "postgresql://sm@db/sm?password=***&x=1");
  EXPECT_EQ(RedactDatabaseUrl("postgresql:///sm?host=/run/pg&user=sm"),
            "postgresql:///sm?host=/run/pg&user=sm");
}

}  // namespace
