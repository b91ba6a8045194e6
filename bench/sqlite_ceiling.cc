// sm_bench_sqlite: the write ceiling of SQLite alone on this machine. One
// thread, one transaction per write, on a seeded database with the server's
// schema and PRAGMAs: each write is what accepting a PauseService writes
// (insert a PENDING operation, mark the service OPERATION_IN_PROGRESS).
// Prints "result scenario=sqlite_write_ceiling writes=N qps=Q".
#include <cstdint>
#include <iostream>
#include <string>

#include "CLI/CLI.hpp"
#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

int main(int argc, char** argv) {
  std::string path;
  std::string synchronous = "full";
  double duration_seconds = 5;
  CLI::App app{"SQLite's one-transaction-per-write ceiling."};
  app.add_option("--db", path, "a database seeded by sm_bench_seed")
      ->required();
  app.add_option("--sqlite-synchronous", synchronous)
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--duration-seconds", duration_seconds)->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  try {
    // The server's PRAGMAs (store/sqlite_store.cc).
    SQLite::Database db(path, SQLite::OPEN_READWRITE, 5000);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(synchronous == "full" ? "PRAGMA synchronous = FULL"
                                  : "PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA foreign_keys = ON");
    SQLite::Statement begin(db, "BEGIN IMMEDIATE");
    SQLite::Statement commit(db, "COMMIT");
    SQLite::Statement insert(
        db,
        "INSERT INTO operations (operation_id, service_pk, type, status,"
        " success_status, failure_status, failure_op_status, due_at,"
        " started_at, updated_at, prior_status, deadline_at)"
        " VALUES (?, ?, 'PAUSE_SERVICE', 'PENDING', 'PAUSED', 'RUNNING',"
        " 'ROLLBACK_SUCCEEDED', ?, ?, ?, 'RUNNING', ?)");
    SQLite::Statement update(db,
                             "UPDATE services SET status ="
                             " 'OPERATION_IN_PROGRESS', updated_at = ?"
                             " WHERE pk = ? AND status = 'RUNNING'");
    const absl::Time start = absl::Now();
    const absl::Time deadline = start + absl::Seconds(duration_seconds);
    int64_t writes = 0;
    while (absl::Now() < deadline) {
      const int64_t now = absl::ToUnixMicros(absl::Now());
      begin.exec();
      begin.reset();
      insert.bind(1, absl::StrFormat("ffffffff-0000-4000-8000-%012x", writes));
      insert.bind(2, writes + 1);
      insert.bind(3, now);
      insert.bind(4, now);
      insert.bind(5, now);
      insert.bind(6, static_cast<int64_t>(now + int64_t{1800} * 1000000));
      insert.exec();
      insert.reset();
      update.bind(1, now);
      update.bind(2, writes + 1);
      update.exec();
      update.reset();
      commit.exec();
      commit.reset();
      ++writes;
    }
    const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
    std::cout << "result scenario=sqlite_write_ceiling writes=" << writes
              << " qps=" << static_cast<int64_t>(writes / seconds) << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "sm_bench_sqlite: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
