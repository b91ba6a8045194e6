// What the API tests cannot reach of the PostgreSQL store: its migrations, a
// broken connection, and two stores (two servers) on one database. Each test
// has a schema of its own; without a PostgreSQL server (SM_TEST_POSTGRES_URL
// or SM_TEST_POSTGRES_URL_FILE) they skip.
#include "store/postgres_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/lifecycle.h"
#include "pqxx/pqxx"
#include "store/migrator.h"
#include "store/open_store.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/postgres_schema.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::ServiceRef;
using ::servicemanager::store::EmbeddedPostgresMigrations;
using ::servicemanager::store::NewService;
using ::servicemanager::store::PostgresOptions;
using ::servicemanager::store::PostgresStore;
using ::servicemanager::store::RedactDatabaseUrl;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::store::Store;
using ::servicemanager::store::ValidateDatabaseUrl;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::PostgresSchema;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::StatusIs;
using ::servicemanager::testing::TempDir;

constexpr char kAccount[] = "123456789012";

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

  std::unique_ptr<PostgresStore> OpenStore(int pool_size = 4) {
    auto store = PostgresStore::Open(Options(pool_size), clock_, ids_);
    EXPECT_THAT(store.status(), IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }

  // A statement on the test's schema, outside any store.
  pqxx::result Sql(const std::string& sql) {
    pqxx::connection c(schema_->url());
    pqxx::nontransaction t(c);
    return t.exec(sql);
  }

  // Creates a service and runs its create to the end: RUNNING.
  servicemanager::domain::Service CreateRunning(Store& store,
                                                const std::string& name) {
    auto accepted = store.CreateService(MakeService(name), {});
    EXPECT_THAT(accepted.status(), IsOk());
    auto due = store.TakeDueOperations(clock_.Now(), absl::ZeroDuration(), 10);
    EXPECT_THAT(due.status(), IsOk());
    for (const auto& work : *due) {
      EXPECT_THAT(
          store.FinishOperation(work.operation.id, work.operation.status, true,
                                "", clock_.Now()),
          IsOk());
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
  absl::Status next = store->GetService(Ref(service)).status();
  EXPECT_TRUE(next.ok() || next.code() == absl::StatusCode::kUnavailable)
      << next;
  EXPECT_THAT(store->GetService(Ref(service)).status(), IsOk());
  EXPECT_THAT(store
                  ->StartOperation(Ref(service), OperationType::kPauseService,
                                   ConfigUpdate{}, {})
                  .status(),
              IsOk());
}

TEST_F(PostgresStoreTest, UnreachableDatabaseIsUnavailable) {
  PostgresOptions options = Options();
  options.url = "postgresql:///postgres?host=/nonexistent-sm-socket-dir";
  EXPECT_THAT(PostgresStore::Open(options, clock_, ids_).status(),
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
