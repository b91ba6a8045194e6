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
#include "absl/time/time.h"
#include "store/sqlite_store.h"
#include "store/store.h"
#include "tests/store/temp_dir.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/sequential_ids.h"
#include "tests/testing/status_matchers.h"

namespace {

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

TEST_F(MigratorTest, FreshDatabaseRecordsVersionOne) {
  ASSERT_THAT(OpenStore(), IsOk());
  std::vector<Row> rows = MigrationRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].version, 1);
  EXPECT_EQ(rows[0].name, "0001_initial_schema.up.sql");
  EXPECT_FALSE(rows[0].checksum.empty());
  EXPECT_EQ(rows[0].applied_at, absl::ToUnixMicros(clock_.Now()));
  for (const char* table : {"services", "service_configs", "service_images",
                            "operations", "tags"}) {
    EXPECT_TRUE(HasTable(table)) << table;
  }
}

TEST_F(MigratorTest, OpeningTwiceAppliesNothingNewAndKeepsData) {
  std::string service_id;
  {
    auto store = OpenStore();
    ASSERT_THAT(store, IsOk());
    NewService service;
    service.name = "kept-across-opens";
    service.config.source.image_identifier = "public.ecr.aws/a/b:1";
    auto created = (*store)->CreateService(service);
    ASSERT_THAT(created, IsOk());
    service_id = created->service.id;
  }
  const std::vector<Row> before = MigrationRows();
  clock_.Advance(absl::Hours(1));

  auto reopened = OpenStore();
  ASSERT_THAT(reopened, IsOk());
  const std::vector<Row> after = MigrationRows();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].applied_at, before[0].applied_at)
      << "version 1 must not be applied again";
  EXPECT_EQ(after[0].checksum, before[0].checksum);
  EXPECT_THAT((*reopened)->GetService({"kept-across-opens", service_id}),
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

  migrations.push_back(
      {2, "0002_add_notes.up.sql", "CREATE TABLE notes (text TEXT);"});
  clock_.Advance(absl::Minutes(5));
  ASSERT_THAT(Migrate(db, migrations, clock_.Now()), IsOk());

  std::vector<Row> rows = MigrationRows();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].version, 2);
  EXPECT_EQ(rows[1].name, "0002_add_notes.up.sql");
  EXPECT_EQ(rows[1].applied_at, absl::ToUnixMicros(clock_.Now()));
  EXPECT_LT(rows[0].applied_at, rows[1].applied_at);
  EXPECT_TRUE(db.tableExists("notes"));
}

TEST_F(MigratorTest, FailingMigrationLeavesNoTrace) {
  SQLite::Database db(options_.path,
                      SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  std::vector<Migration> migrations = EmbeddedMigrations();
  migrations.push_back({2, "0002_broken.up.sql",
                        "CREATE TABLE half_done (a TEXT);"
                        " INSERT INTO no_such_table VALUES (1);"});
  EXPECT_THAT(Migrate(db, migrations, clock_.Now()), ::testing::Not(IsOk()));

  // Version 1 went in whole; version 2 not at all.
  std::vector<Row> rows = MigrationRows();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].version, 1);
  EXPECT_TRUE(db.tableExists("services"));
  EXPECT_FALSE(db.tableExists("half_done"));
}

}  // namespace
