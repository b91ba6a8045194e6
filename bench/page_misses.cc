// sm_bench_page_misses: how many pages a DescribeService reads that are not
// in the reader's page cache, on a database seeded by sm_bench_seed, for a
// given page cache size. It runs the server's own service snapshot query
// (store/store_common.h) for services picked at random, after as many
// unmeasured calls to warm the cache, and prints
//
//   result cache_kib=K calls=N misses_per_call=M
//
// A miss is a page SQLite reads from the file: a pread system call, and the
// cost the large database has that the small one (cached whole) has not.
#include <sqlite3.h>

#include <cstdint>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "store/store_common.h"

int main(int argc, char** argv) {
  std::string path;
  int cache_kib = 8192;
  int calls = 20000;
  CLI::App app{"Page cache misses per DescribeService."};
  app.add_option("--db", path, "a database seeded by sm_bench_seed")
      ->required();
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
    SQLite::Statement max_pk(db, "SELECT MAX(pk) FROM services");
    if (!max_pk.executeStep() || max_pk.getColumn(0).isNull()) {
      std::cerr << "no services in " << path << "\n";
      return 1;
    }
    const int64_t services = max_pk.getColumn(0).getInt64();
    SQLite::Statement id_of(db, "SELECT service_id FROM services WHERE pk = ?");
    SQLite::Statement describe(
        db, SM_SELECT_SERVICE_SNAPSHOT " WHERE s.service_id = ?");
    // One read transaction, as a server reader holds between writes.
    db.exec("BEGIN");
    absl::BitGen bitgen;
    int64_t measured_from = 0;
    for (int i = 0; i < 2 * calls; ++i) {
      int current = 0;
      int highwater = 0;
      if (i == calls) {
        sqlite3_db_status(db.getHandle(), SQLITE_DBSTATUS_CACHE_MISS, &current,
                          &highwater, 0);
        measured_from = current;
      }
      id_of.bind(1, absl::Uniform<int64_t>(bitgen, 1, services + 1));
      if (!id_of.executeStep()) {
        id_of.reset();
        continue;
      }
      describe.bind(1, id_of.getColumn(0).getString());
      id_of.reset();
      while (describe.executeStep()) {
      }
      describe.reset();
    }
    int current = 0;
    int highwater = 0;
    sqlite3_db_status(db.getHandle(), SQLITE_DBSTATUS_CACHE_MISS, &current,
                      &highwater, 0);
    // The id lookup reads the services row's page, which the describe then
    // finds cached: the misses are the describe's.
    std::cout << absl::StrFormat(
        "result cache_kib=%d calls=%d misses_per_call=%.2f\n", cache_kib, calls,
        static_cast<double>(current - measured_from) / calls);
  } catch (const std::exception& e) {
    std::cerr << "sm_bench_page_misses: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
