// Checks SQLite's service_snapshots table against the view it copies
// (migrations/0007, 0008), and operation_summaries against operations
// (migrations/0009): a change their triggers missed would make
// DescribeService or ListOperations answer a state that is no longer so.
// Also checks that the server finds a service's row where the migration put
// it. Fixtures that own a SQLite database call it as they tear down, after
// the store has closed.
#ifndef SERVICEMANAGER_TESTS_TESTING_DERIVED_TABLES_CHECK_H_
#define SERVICEMANAGER_TESTS_TESTING_DERIVED_TABLES_CHECK_H_

#include <gtest/gtest.h>

#include <cstdint>
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
  // operation_summaries against operations (migrations/0009): the same
  // summary, in its service's key range, numbered in start order.
  for (const Check& check :
       {Check{"stale or extra",
              "SELECT seq FROM (SELECT list_key >> 32, seq, operation_id,"
              " type, status, started_at, updated_at, ended_at"
              " FROM operation_summaries EXCEPT SELECT service_pk, seq,"
              " operation_id, type, status, started_at, updated_at, ended_at"
              " FROM operations)"},
        Check{"missing",
              "SELECT seq FROM operations o WHERE NOT EXISTS"
              " (SELECT 1 FROM operation_summaries t WHERE t.seq = o.seq)"},
        Check{"out of order",
              "SELECT a.seq FROM operation_summaries a"
              " JOIN operation_summaries b ON a.list_key >> 32 ="
              " b.list_key >> 32 AND a.list_key < b.list_key"
              " AND a.seq > b.seq"}}) {
    SQLite::Statement q(db, check.sql);
    std::vector<int64_t> seqs;
    while (q.executeStep()) {
      seqs.push_back(q.getColumn(0).getInt64());
    }
    EXPECT_TRUE(seqs.empty())
        << check.what << " operation_summaries rows of operations "
        << absl::StrJoin(seqs, ", ");
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
