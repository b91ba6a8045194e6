// sm_bench_page_misses: how many pages a DescribeService, or a first page of
// ListOperations, reads that are not in the reader's page cache, on a
// database seeded by sm_bench_seed, for a given page cache size. It runs the
// server's own statements (store/sqlite_reads.h) for services picked at
// random, after as many unmeasured calls to warm the cache, and prints
//
//   result scenario=S cache_kib=K calls=N misses_per_call=M us_per_call=U
//
// A miss is a page SQLite reads from the file: a pread system call, and the
// cost the large database has that the small one (cached whole) has not.
// us_per_call is the measured calls' wall time each, on one thread, without
// gRPC: what the statements alone cost.
#include <sqlite3.h>

#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "domain/validation.h"
#include "store/sqlite_reads.h"

namespace {

int CacheMisses(SQLite::Database& db) {
  int current = 0;
  int highwater = 0;
  sqlite3_db_status(db.getHandle(), SQLITE_DBSTATUS_CACHE_MISS, &current,
                    &highwater, 0);
  return current;
}

void RunAll(SQLite::Statement& q) {
  while (q.executeStep()) {
  }
  q.reset();
}

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::string scenario = "describe";
  int cache_kib = 8192;
  int calls = 20000;
  CLI::App app{"Page cache misses per DescribeService or ListOperations."};
  app.add_option("--db", path, "a database seeded by sm_bench_seed")
      ->required();
  app.add_option("--scenario", scenario)
      ->capture_default_str()
      ->check(CLI::IsMember({"describe", "list_operations"}));
  app.add_option("--cache-kib", cache_kib, "the reader's page cache")
      ->capture_default_str()
      ->check(CLI::Range(64, 1 << 22));
  app.add_option("--calls", calls, "measured calls (and as many to warm up)")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000000));
  CLI11_PARSE(app, argc, argv);

  try {
    SQLite::Database db(path, SQLite::OPEN_READONLY);
    db.exec(absl::StrCat("PRAGMA cache_size = -", cache_kib));
    // The ids and keys are read first, so that looking one up costs the
    // calls no page.
    struct Id {
      std::string id;
      int64_t snapshot_key;
    };
    std::vector<Id> ids;
    SQLite::Statement all(db, "SELECT service_id, snapshot_key FROM services");
    while (all.executeStep()) {
      ids.push_back(
          {all.getColumn(0).getString(), all.getColumn(1).getInt64()});
    }
    if (ids.empty()) {
      std::cerr << "no services in " << path << "\n";
      return 1;
    }
    SQLite::Statement describe(db, servicemanager::store::kSnapshotByKey);
    SQLite::Statement find(db, servicemanager::store::kSelectServiceByKey);
    // A first page of the server's default size, and the row that tells
    // whether there is a next one.
    SQLite::Statement page(db,
                           servicemanager::store::kSelectOperationSummaries);
    page.bind(3, servicemanager::domain::kDefaultPageSize + 1);
    // One read transaction, as a server reader holds between writes.
    db.exec("BEGIN");
    absl::BitGen bitgen;
    int measured_from = 0;
    absl::Time measured_start;
    for (int i = 0; i < 2 * calls; ++i) {
      if (i == calls) {
        measured_from = CacheMisses(db);
        measured_start = absl::Now();
      }
      const Id& id = ids[absl::Uniform<size_t>(bitgen, 0, ids.size())];
      if (scenario == "describe") {
        describe.bind(1, id.snapshot_key);
        describe.bind(2, id.id);
        RunAll(describe);
        continue;
      }
      find.bind(1, id.snapshot_key);
      find.bind(2, id.id);
      if (find.executeStep()) {
        page.bind(1, find.getColumn(0).getInt64());
        page.bind(2, INT64_MAX);
        RunAll(page);
      }
      find.reset();
    }
    const double us_per_call =
        absl::ToDoubleMicroseconds(absl::Now() - measured_start) / calls;
    std::cout << absl::StrFormat(
        "result scenario=%s cache_kib=%d calls=%d misses_per_call=%.2f "
        "us_per_call=%.1f\n",
        scenario, cache_kib, calls,
        static_cast<double>(CacheMisses(db) - measured_from) / calls,
        us_per_call);
  } catch (const std::exception& e) {
    std::cerr << "sm_bench_page_misses: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
