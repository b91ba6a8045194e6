#include "store/migrator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/derived_tables_check.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::ConfigUpdate;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::ProviderType;
using ::servicemanager::domain::ServiceConfig;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::domain::Tag;
using ::servicemanager::store::EmbeddedMigrations;
using ::servicemanager::store::Migrate;
using ::servicemanager::store::Migration;
using ::servicemanager::store::NewService;
using ::servicemanager::store::SqliteOptions;
using ::servicemanager::store::SqliteStore;
using ::servicemanager::testing::FakeClock;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::SequentialIds;
using ::servicemanager::testing::StatusIs;
using ::servicemanager::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class MigratorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>();
    options_.path = dir_->File("servicemanager.db");
    options_.url_suffix = "us-east-1.test";
  }
  void TearDown() override { dir_.reset(); }

  absl::StatusOr<std::unique_ptr<SqliteStore>> OpenStore() {
    return SqliteStore::Open(options_, clock_, ids_);
  }

  struct Row {
    int version;
    std::string name;
    std::string checksum;
    int64_t applied_at;
  };
  std::vector<Row> MigrationRows() {
    SQLite::Database db(options_.path, SQLite::OPEN_READONLY);
    SQLite::Statement q(db,
                        "SELECT version, name, checksum, applied_at"
                        " FROM schema_migrations ORDER BY version");
    std::vector<Row> rows;
    while (q.executeStep()) {
      rows.push_back({q.getColumn(0).getInt(), q.getColumn(1).getString(),
                      q.getColumn(2).getString(), q.getColumn(3).getInt64()});
    }
    return rows;
  }

  bool HasTable(const std::string& table) {
    SQLite::Database db(options_.path, SQLite::OPEN_READONLY);
    return db.tableExists(table);
  }

  std::unique_ptr<TempDir> dir_;
  SqliteOptions options_;
  FakeClock clock_;
  SequentialIds ids_;
};

TEST_F(MigratorTest, FreshDatabaseRecordsEveryMigration) {
  ASSERT_THAT(OpenStore(), IsOk());
  std::vector<Row> rows = MigrationRows();
  const std::vector<Migration>& embedded = EmbeddedMigrations();
  ASSERT_EQ(rows.size(), embedded.size());
  EXPECT_EQ(rows[0].name, "0001_initial_schema.up.sql");
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].version, embedded[i].version);
    EXPECT_EQ(rows[i].name, embedded[i].name);
    EXPECT_FALSE(rows[i].checksum.empty());
    EXPECT_EQ(rows[i].applied_at, absl::ToUnixMicros(clock_.Now()));
  }
  for (const char* table : {"services", "service_configs", "service_images",
                            "operations", "tags", "client_tokens"}) {
    EXPECT_TRUE(HasTable(table)) << table;
  }
}

TEST_F(MigratorTest, VersionOneDatabaseIsUpgradedKeepingItsData) {
  {
    SQLite::Database db(options_.path,
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(Migrate(db, {EmbeddedMigrations()[0]}, clock_.Now()), IsOk());
    db.exec(
        "INSERT INTO services (service_id, name, url, status, created_at,"
        " updated_at) VALUES ('0123456789abcdef0123456789abcdef', 'old-web',"
        " 'old.us-east-1.test', 'PAUSED', 1, 1)");
  }
  // The server's --account-id is the account of services from before
  // accounts.
  options_.legacy_account_id = "210987654321";
  auto store = OpenStore();
  ASSERT_THAT(store, IsOk());
  EXPECT_EQ(MigrationRows().size(), EmbeddedMigrations().size());
  auto service = (*store)->GetService(
      {"210987654321", "old-web", "0123456789abcdef0123456789abcdef"});
  ASSERT_THAT(service, IsOk());
  EXPECT_EQ(service->status, ServiceStatus::kPaused);
  EXPECT_EQ(service->account_id, "210987654321");
  EXPECT_EQ(service->revision, 1);
  // A name is unique per account since: another account may take it.
  NewService same_name;
  same_name.account_id = "123456789012";
  same_name.name = "old-web";
  same_name.config.source.image_identifier = "public.ecr.aws/a/b:1";
  EXPECT_THAT((*store)->CreateService(same_name, {}), IsOk());
  same_name.account_id = "210987654321";
  EXPECT_THAT((*store)->CreateService(same_name, {}), ::testing::Not(IsOk()));
}

TEST_F(MigratorTest, OpeningTwiceAppliesNothingNewAndKeepsData) {
  std::string service_id;
  {
    auto store = OpenStore();
    ASSERT_THAT(store, IsOk());
    NewService service;
    service.account_id = "123456789012";
    service.name = "kept-across-opens";
    service.config.source.image_identifier = "public.ecr.aws/a/b:1";
    auto created = (*store)->CreateService(service, {});
    ASSERT_THAT(created, IsOk());
    service_id = created->service.id;
  }
  const std::vector<Row> before = MigrationRows();
  clock_.Advance(absl::Hours(1));

  auto reopened = OpenStore();
  ASSERT_THAT(reopened, IsOk());
  const std::vector<Row> after = MigrationRows();
  ASSERT_EQ(after.size(), before.size());
  EXPECT_EQ(after[0].applied_at, before[0].applied_at)
      << "version 1 must not be applied again";
  EXPECT_EQ(after[0].checksum, before[0].checksum);
  EXPECT_THAT((*reopened)->GetService(
                  {"123456789012", "kept-across-opens", service_id}),
              IsOk());
}

TEST_F(MigratorTest, NewerSchemaIsRefusedAndNothingIsChanged) {
  {
    SQLite::Database db(options_.path,
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    db.exec(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL, checksum TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)");
    db.exec(
        "INSERT INTO schema_migrations VALUES"
        " (9999, '9999_future.up.sql', 'abc', 0)");
  }
  EXPECT_THAT(OpenStore(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("newer")));
  EXPECT_FALSE(HasTable("services"))
      << "an older binary must not apply its migrations to a newer schema";
  EXPECT_EQ(MigrationRows().size(), 1u);
}

TEST_F(MigratorTest, NewerVersionOnTopOfKnownOnesIsRefused) {
  ASSERT_THAT(OpenStore(), IsOk());
  {
    SQLite::Database db(options_.path, SQLite::OPEN_READWRITE);
    db.exec(
        "INSERT INTO schema_migrations VALUES"
        " (9999, '9999_future.up.sql', 'abc', 0)");
  }
  EXPECT_THAT(OpenStore(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("newer")));
}

TEST_F(MigratorTest, ChangedChecksumIsRefused) {
  ASSERT_THAT(OpenStore(), IsOk());
  {
    SQLite::Database db(options_.path, SQLite::OPEN_READWRITE);
    db.exec(
        "UPDATE schema_migrations SET checksum = '0000000000000000'"
        " WHERE version = 1");
  }
  EXPECT_THAT(OpenStore(), StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr("0001_initial_schema.up.sql")));
}

TEST_F(MigratorTest, AppliesOnlyTheMissingMigrations) {
  SQLite::Database db(options_.path,
                      SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  std::vector<Migration> migrations = EmbeddedMigrations();
  ASSERT_THAT(Migrate(db, migrations, clock_.Now()), IsOk());

  // Versions need not be contiguous (parallel branches number theirs).
  const int next = migrations.back().version + 1;
  migrations.push_back(
      {next, "9000_add_notes.up.sql", "CREATE TABLE notes (text TEXT);"});
  clock_.Advance(absl::Minutes(5));
  ASSERT_THAT(Migrate(db, migrations, clock_.Now()), IsOk());

  std::vector<Row> rows = MigrationRows();
  ASSERT_EQ(rows.size(), migrations.size());
  EXPECT_EQ(rows.back().version, next);
  EXPECT_EQ(rows.back().name, "9000_add_notes.up.sql");
  EXPECT_EQ(rows.back().applied_at, absl::ToUnixMicros(clock_.Now()));
  EXPECT_LT(rows[0].applied_at, rows.back().applied_at);
  EXPECT_TRUE(db.tableExists("notes"));
}

TEST_F(MigratorTest, FailingMigrationLeavesNoTrace) {
  SQLite::Database db(options_.path,
                      SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  std::vector<Migration> migrations = EmbeddedMigrations();
  const size_t known = migrations.size();
  migrations.push_back({migrations.back().version + 1, "9000_broken.up.sql",
                        "CREATE TABLE half_done (a TEXT);"
                        " INSERT INTO no_such_table VALUES (1);"});
  EXPECT_THAT(Migrate(db, migrations, clock_.Now()), ::testing::Not(IsOk()));

  // The known ones went in whole; the broken one not at all.
  std::vector<Row> rows = MigrationRows();
  ASSERT_EQ(rows.size(), known);
  EXPECT_TRUE(db.tableExists("services"));
  EXPECT_FALSE(db.tableExists("half_done"));
}

// A database of schema version 2 (before connections and custom domains, and
// before accounts) with services, their configuration, images, tags and
// operations, opened by this binary: migration 3 adds its tables, migration 4
// gives the services the server's account, and every row is as it was.
TEST_F(MigratorTest, VersionTwoDatabaseIsUpgradedKeepingServicesAndOperations) {
  options_.legacy_account_id = "123456789012";
  constexpr char kRunning[] = "0123456789abcdef0123456789abcd01";
  constexpr char kPaused[] = "0123456789abcdef0123456789abcd02";
  std::vector<Migration> version_two;
  for (const Migration& m : EmbeddedMigrations()) {
    if (m.version <= 2) version_two.push_back(m);
  }
  ASSERT_EQ(version_two.size(), 2u);
  {
    SQLite::Database db(options_.path,
                        SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    ASSERT_THAT(Migrate(db, version_two, clock_.Now()), IsOk());
    ASSERT_FALSE(db.tableExists("connections"));
    db.exec(absl::StrCat(
        "INSERT INTO services (pk, service_id, name, url, status,"
        " config_version, deployed_image_version, created_at, updated_at)"
        " VALUES (1, '",
        kRunning,
        "', 'old-running', 'r.us-east-1.test', 'RUNNING', 1, 1, 10, 20),"
        " (2, '",
        kPaused,
        "', 'old-paused', 'p.us-east-1.test', 'PAUSED', 1, 1, 11, 21)"));
    for (int pk : {1, 2}) {
      db.exec(absl::StrCat(
          "INSERT INTO service_configs VALUES (", pk,
          ", 1, 'public.ecr.aws/old/web:", pk,
          "', 'ECR_PUBLIC', '8080', '', 1, '1024', '2048', 'TCP', '/', 5, 2,"
          " 1, 5)"));
      db.exec(absl::StrCat("INSERT INTO service_images VALUES (", pk,
                           ", 1, 'public.ecr.aws/old/web:", pk, "', 10)"));
      db.exec(absl::StrCat("INSERT INTO service_config_env VALUES (", pk,
                           ", 1, 'variable', 'MODE', 'prod')"));
      db.exec(
          absl::StrCat("INSERT INTO tags VALUES (", pk, ", 'team', 'web')"));
      db.exec(absl::StrCat(
          "INSERT INTO operations (operation_id, service_pk, type, status,"
          " success_status, failure_status, failure_op_status, started_at,"
          " updated_at, ended_at) VALUES"
          " ('aaaaaaaa-0000-4000-8000-00000000000",
          pk, "', ", pk,
          ", 'CREATE_SERVICE', 'SUCCEEDED', 'RUNNING', 'CREATE_FAILED',"
          " 'FAILED', 10, 12, 12)"));
    }
    db.exec(
        "INSERT INTO operations (operation_id, service_pk, type, status,"
        " success_status, failure_status, failure_op_status, started_at,"
        " updated_at, ended_at, prior_status) VALUES"
        " ('aaaaaaaa-0000-4000-8000-000000000003', 2, 'PAUSE_SERVICE',"
        " 'SUCCEEDED', 'PAUSED', 'RUNNING', 'ROLLBACK_SUCCEEDED', 20, 21, 21,"
        " 'RUNNING')");
  }
  const std::vector<Row> before = MigrationRows();

  auto store = OpenStore();
  ASSERT_THAT(store, IsOk());
  const std::vector<Row> after = MigrationRows();
  ASSERT_EQ(after.size(), EmbeddedMigrations().size());
  EXPECT_EQ(after[2].name, "0003_connections_and_custom_domains.up.sql");
  for (size_t i = 0; i < before.size(); ++i) {
    EXPECT_EQ(after[i].applied_at, before[i].applied_at);
    EXPECT_EQ(after[i].checksum, before[i].checksum);
  }

  // Services, configuration, images, tags and operations as they were.
  auto running =
      (*store)->GetService({"123456789012", "old-running", kRunning});
  ASSERT_THAT(running, IsOk());
  EXPECT_EQ(running->status, ServiceStatus::kRunning);
  ASSERT_TRUE(running->config.has_value());
  EXPECT_EQ(running->config->source.image_identifier,
            "public.ecr.aws/old/web:1");
  EXPECT_EQ(running->config->source.image_configuration
                .runtime_environment_variables.at("MODE"),
            "prod");
  EXPECT_FALSE(running->config->source.connection.has_value());
  ASSERT_TRUE(running->deployed_image.has_value());
  EXPECT_EQ(running->deployed_image->version, 1);
  EXPECT_EQ(running->created_at, absl::FromUnixMicros(10));
  auto paused = (*store)->GetService({"123456789012", "old-paused", kPaused});
  ASSERT_THAT(paused, IsOk());
  EXPECT_EQ(paused->status, ServiceStatus::kPaused);
  auto tags = (*store)->ListTags({"123456789012", "old-paused", kPaused});
  ASSERT_THAT(tags, IsOk());
  EXPECT_THAT(*tags, ElementsAre(Tag{"team", "web"}));
  auto ops =
      (*store)->ListOperations({"123456789012", "old-paused", kPaused}, 10, "");
  ASSERT_THAT(ops, IsOk());
  ASSERT_EQ(ops->items.size(), 2u);
  EXPECT_EQ(ops->items[0].type, OperationType::kPauseService);
  EXPECT_EQ(ops->items[1].type, OperationType::kCreateService);
  EXPECT_EQ(ops->items[1].status, OperationStatus::kSucceeded);

  // The new tables work with the old rows.
  auto connection = (*store)->CreateConnection(
      {"123456789012", "after-upgrade", ProviderType::kGithub, {}});
  ASSERT_THAT(connection, IsOk());
  ServiceConfig config = *running->config;
  config.source.connection = connection->ref;
  ConfigUpdate use_connection;
  use_connection.source = config.source;
  auto update = (*store)->StartOperation(
      {"123456789012", "old-running", kRunning}, OperationType::kUpdateService,
      use_connection, {});
  ASSERT_THAT(update, IsOk());
  EXPECT_EQ(update->service.config->source.connection, connection->ref);
  EXPECT_THAT((*store)->DeleteConnection(connection->ref),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       HasSubstr("old-running")));
  auto linked =
      (*store)->AssociateCustomDomain({"123456789012", "old-paused", kPaused},
                                      "123456789012", "old.example.com", false);
  EXPECT_THAT(linked, StatusIs(absl::StatusCode::kFailedPrecondition,
                               HasSubstr("PAUSED")));
  auto domains = (*store)->ListCustomDomains(
      {"123456789012", "old-paused", kPaused}, 10, "");
  ASSERT_THAT(domains, IsOk());
  EXPECT_TRUE(domains->domains.items.empty());

  // The tables the migrations filled agree with the rows they were made
  // from, and with what the store wrote into them after.
  store->reset();
  servicemanager::testing::ExpectDerivedTablesMatchSources(options_.path);
}

}  // namespace