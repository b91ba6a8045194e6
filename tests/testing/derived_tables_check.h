// Checks SQLite's tables that triggers derive from others against their
// sources: service_snapshots against the view it copies (migrations/0007,
// 0008). A change a trigger missed would make DescribeService answer a state
// that is no longer so. Also checks that the server finds a service's row
// where the migration put it. Fixtures that own a SQLite database call it as
// they tear down, after the store has closed.
#ifndef SERVICEMANAGER_TESTS_TESTING_DERIVED_TABLES_CHECK_H_
#define SERVICEMANAGER_TESTS_TESTING_DERIVED_TABLES_CHECK_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_join.h"
#include "store/sqlite_store.h"

namespace servicemanager::testing {

inline void ExpectDerivedTablesMatchSources(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  struct Check {
    const char* what;
    const char* sql;
  };
  for (const Check& check :
       {Check{"stale or extra",
              "SELECT * FROM service_snapshots EXCEPT"
              " SELECT * FROM service_snapshot_source"},
        // Services whose ids end alike share one row.
        Check{"missing",
              "SELECT * FROM service_snapshot_source v WHERE NOT EXISTS"
              " (SELECT 1 FROM service_snapshots t"
              " WHERE t.snapshot_key = v.snapshot_key)"}}) {
    SQLite::Statement q(db, check.sql);
    std::vector<std::string> services;
    while (q.executeStep()) {
      services.push_back(q.getColumn("service_id").getString());
    }
    EXPECT_TRUE(services.empty())
        << check.what << " service_snapshots rows of services "
        << absl::StrJoin(services, ", ");
  }
  SQLite::Statement keys(db, "SELECT service_id, snapshot_key FROM services");
  while (keys.executeStep()) {
    const std::string id = keys.getColumn(0).getString();
    EXPECT_EQ(store::SnapshotKey(id), keys.getColumn(1).getInt64())
        << "snapshot key of service " << id;
  }
}

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_DERIVED_TABLES_CHECK_H_
