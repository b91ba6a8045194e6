// Checks SQLite's service_snapshots table against the view it copies
// (migrations/0007): a change its triggers missed would make DescribeService
// answer a state the service is no longer in. Fixtures that own a SQLite
// database call it as they tear down, after the store has closed.
#ifndef SERVICEMANAGER_TESTS_TESTING_SNAPSHOT_CHECK_H_
#define SERVICEMANAGER_TESTS_TESTING_SNAPSHOT_CHECK_H_

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_join.h"

namespace servicemanager::testing {

inline void ExpectSnapshotsMatchSources(const std::string& path) {
  SQLite::Database db(path, SQLite::OPEN_READONLY);
  struct Check {
    const char* what;
    const char* sql;
  };
  for (const Check& check :
       {Check{"stale or extra",
              "SELECT * FROM service_snapshots EXCEPT"
              " SELECT * FROM service_snapshot_source"},
        Check{"missing or stale",
              "SELECT * FROM service_snapshot_source"
              " EXCEPT SELECT * FROM service_snapshots"}}) {
    SQLite::Statement q(db, check.sql);
    std::vector<std::string> services;
    while (q.executeStep()) services.push_back(q.getColumn(1).getString());
    EXPECT_TRUE(services.empty())
        << check.what << " service_snapshots rows of services "
        << absl::StrJoin(services, ", ");
  }
}

}  // namespace servicemanager::testing

#endif  // SERVICEMANAGER_TESTS_TESTING_SNAPSHOT_CHECK_H_
