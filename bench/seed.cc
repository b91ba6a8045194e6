// sm_bench_seed: writes a benchmark database directly, without RPCs: the
// schema from the server's own migrations, then services (RUNNING, or PAUSED
// with --paused; each with its configuration and image) and their finished
// operations. The first service gets --hot-operations more, for deep pages.
// Indexes are dropped while rows go in and built again after, which is how
// SQLite loads fastest; the service snapshots are written after them in one
// statement.
#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/seeded_ids.h"
#include "store/migrator.h"

namespace {

struct Options {
  std::string db;
  int64_t services = 10000;
  int operations_per_service = 10;
  int64_t hot_operations = 0;
  bool paused = false;
};

std::string OperationId(int64_t i) {
  return absl::StrFormat("%08x-0000-4000-8000-%012x", i >> 32, i);
}

void Seed(const Options& options) {
  // Recent enough to be within the server's retention, so its janitor leaves
  // the rows alone during the benchmark.
  const int64_t start = absl::ToUnixMicros(absl::Now() - absl::Hours(24));
  SQLite::Database db(options.db, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
  db.exec("PRAGMA journal_mode = WAL");
  absl::Status migrated = servicemanager::store::Migrate(
      db, servicemanager::store::EmbeddedMigrations(), absl::Now());
  if (!migrated.ok()) {
    throw std::runtime_error(std::string(migrated.message()));
  }
  // A bulk load needs no journal: a failed seed is simply seeded again.
  db.exec("PRAGMA journal_mode = OFF");
  db.exec("PRAGMA synchronous = OFF");
  db.exec("PRAGMA cache_size = -262144");  // 256 MiB.

  // The indexes, and the triggers that keep service_snapshots, go while the
  // rows go in; the snapshots are then written in one statement.
  std::vector<std::string> indexes;
  std::vector<std::string> triggers;
  {
    SQLite::Statement q(db,
                        "SELECT type, name, sql FROM sqlite_master WHERE"
                        " (type = 'index' AND sql IS NOT NULL AND tbl_name IN"
                        " ('services', 'operations')) OR (type = 'trigger'"
                        " AND name GLOB 'service_snapshots_*')");
    std::vector<std::string> drops;
    while (q.executeStep()) {
      const std::string type = q.getColumn(0).getString();
      drops.push_back(
          absl::StrCat("DROP ", type, " ", q.getColumn(1).getString()));
      (type == "index" ? indexes : triggers)
          .push_back(q.getColumn(2).getString());
    }
    for (const std::string& drop : drops) {
      db.exec(drop);
    }
  }

  db.exec("BEGIN");
  // The services belong to the server's default --account-id, whose ARNs the
  // load generator calls.
  SQLite::Statement service(
      db,
      "INSERT INTO services (pk, service_id, name, url, status, config_version,"
      " deployed_image_version, created_at, updated_at, account_id)"
      " VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?, '000000000000')");
  SQLite::Statement config(
      db,
      "INSERT INTO service_configs (service_pk, version, image_identifier,"
      " image_repository_type, port, start_command, auto_deployments_enabled,"
      " cpu, memory, health_protocol, health_path, health_interval,"
      " health_timeout, health_healthy_threshold, health_unhealthy_threshold)"
      " VALUES (?, 1, 'public.ecr.aws/bench/web:1', 'ECR_PUBLIC', '8080', '',"
      " 1, '1024', '2048', 'TCP', '/', 5, 2, 1, 5)");
  SQLite::Statement image(db,
                          "INSERT INTO service_images (service_pk, version,"
                          " image_identifier, recorded_at)"
                          " VALUES (?, 1, 'public.ecr.aws/bench/web:1', ?)");
  SQLite::Statement operation(
      db,
      "INSERT INTO operations (operation_id, service_pk, type, status,"
      " success_status, failure_status, failure_op_status, started_at,"
      " updated_at, ended_at, prior_status)"
      " VALUES (?, ?, ?, 'SUCCEEDED', ?, ?, ?, ?, ?, ?, ?)");
  int64_t op_count = 0;
  auto add_operation = [&](int64_t pk, int index, int64_t time) {
    // A create, then pauses and resumes in turn.
    const bool create = index == 0;
    const bool pause = !create && index % 2 == 1;
    operation.bind(1, OperationId(op_count++));
    operation.bind(2, pk);
    operation.bind(3, create  ? "CREATE_SERVICE"
                      : pause ? "PAUSE_SERVICE"
                              : "RESUME_SERVICE");
    operation.bind(4, pause ? "PAUSED" : "RUNNING");
    operation.bind(5, create ? "CREATE_FAILED" : pause ? "RUNNING" : "PAUSED");
    operation.bind(6, create ? "FAILED" : "ROLLBACK_SUCCEEDED");
    operation.bind(7, time);
    operation.bind(8, time + 1000);
    operation.bind(9, time + 1000);
    if (create) {
      operation.bind(10);
    } else {
      operation.bind(10, pause ? "RUNNING" : "PAUSED");
    }
    operation.exec();
    operation.reset();
  };
  for (int64_t i = 0; i < options.services; ++i) {
    const int64_t pk = i + 1;
    const int64_t created = start + i * 10;
    service.bind(1, pk);
    service.bind(2, servicemanager::bench::SeededServiceId(i));
    service.bind(3, absl::StrFormat("svc-%08d", i));
    service.bind(4, absl::StrFormat("s%09d.us-east-1.servicemanager.local", i));
    service.bind(5, options.paused ? "PAUSED" : "RUNNING");
    service.bind(6, created);
    service.bind(7, created);
    service.exec();
    service.reset();
    config.bind(1, pk);
    config.exec();
    config.reset();
    image.bind(1, pk);
    image.bind(2, created);
    image.exec();
    image.reset();
    // The last operation is the one that left the service in its status: a
    // pause (an even count), or a resume or the create (an odd one).
    int count = options.operations_per_service;
    if (i == 0) count += static_cast<int>(options.hot_operations);
    if (options.paused) {
      count += count % 2;
    } else {
      count -= (count > 1 && count % 2 == 0) ? 1 : 0;
    }
    for (int k = 0; k < count; ++k) {
      add_operation(pk, k, created + k * 10);
    }
  }
  db.exec("COMMIT");
  for (const std::string& sql : indexes) {
    db.exec(sql);
  }
  // As migrations/0008 fills it: of services whose ids end alike, the last.
  db.exec(
      "INSERT OR REPLACE INTO service_snapshots"
      " SELECT * FROM service_snapshot_source ORDER BY pk");
  for (const std::string& sql : triggers) {
    db.exec(sql);
  }
  db.exec("PRAGMA journal_mode = WAL");  // What the server uses.
  std::cout << "seeded " << options.services << " services and " << op_count
            << " operations into " << options.db << std::endl;
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  CLI::App app{"Writes a benchmark database directly."};
  app.add_option("--db", options.db, "the database file to create")->required();
  app.add_option("--services", options.services)->capture_default_str();
  app.add_option("--operations-per-service", options.operations_per_service)
      ->capture_default_str()
      ->check(CLI::Range(1, 1000));
  app.add_option("--hot-operations", options.hot_operations,
                 "extra operations of the first service")
      ->capture_default_str();
  app.add_flag("--paused", options.paused,
               "seed PAUSED services (their last operation a pause), for the "
               "resume scenario");
  CLI11_PARSE(app, argc, argv);
  if (std::filesystem::exists(options.db)) {
    std::cerr << options.db << " exists; seed a new file\n";
    return 2;
  }
  try {
    Seed(options);
  } catch (const std::exception& e) {
    std::cerr << "seeding failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
