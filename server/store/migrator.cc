#include "store/migrator.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "store/sqlite_status.h"

namespace servicemanager::store {

// FNV-1a, enough to notice that a merged migration file was edited.
std::string MigrationChecksum(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ULL;
  }
  return absl::StrFormat("%016x", hash);
}

void LogApplyingMigration(const Migration& m) {
  common::Log(common::LogLevel::kInfo, "applying migration",
              {{"version", m.version}, {"name", m.name}});
}

absl::Status CheckAppliedMigrations(const std::map<int, std::string>& applied,
                                    const std::vector<Migration>& migrations) {
  std::map<int, const Migration*> known;
  for (const Migration& m : migrations) {
    known[m.version] = &m;
  }
  for (const auto& [version, checksum] : applied) {
    auto it = known.find(version);
    if (it == known.end()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the database has schema version ", version,
                       ", newer than this binary knows (up to ",
                       migrations.empty() ? 0 : migrations.back().version,
                       "); run a newer servicemanager"));
    }
    if (MigrationChecksum(it->second->sql) != checksum) {
      return absl::FailedPreconditionError(
          absl::StrCat("migration ", it->second->name,
                       " differs from the one applied to the database"));
    }
  }
  return absl::OkStatus();
}

absl::Status Migrate(SQLite::Database& db,
                     const std::vector<Migration>& migrations, absl::Time now,
                     absl::string_view account_id) {
  return GuardSqlite("migrate", [&]() -> absl::Status {
    db.exec(
        "CREATE TEMP TABLE IF NOT EXISTS migration_settings ("
        " account_id TEXT NOT NULL)");
    db.exec("DELETE FROM temp.migration_settings");
    SQLite::Statement settings(
        db, "INSERT INTO temp.migration_settings (account_id) VALUES (?)");
    settings.bind(1, std::string(account_id));
    settings.exec();
    db.exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " checksum TEXT NOT NULL, applied_at INTEGER NOT NULL)");
    std::map<int, std::string> applied;
    SQLite::Statement query(db,
                            "SELECT version, checksum FROM schema_migrations");
    while (query.executeStep()) {
      applied[query.getColumn(0).getInt()] = query.getColumn(1).getString();
    }
    RETURN_IF_ERROR(CheckAppliedMigrations(applied, migrations));
    for (const Migration& m : migrations) {
      if (applied.contains(m.version)) {
        continue;
      }
      LogApplyingMigration(m);
      SQLite::Transaction tx(db, SQLite::TransactionBehavior::IMMEDIATE);
      db.exec(m.sql);
      SQLite::Statement record(
          db,
          "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
          " VALUES (?, ?, ?, ?)");
      record.bind(1, m.version);
      record.bind(2, m.name);
      record.bind(3, MigrationChecksum(m.sql));
      record.bind(4, static_cast<int64_t>(absl::ToUnixMicros(now)));
      record.exec();
      tx.commit();
    }
    return absl::OkStatus();
  });
}

}  // namespace servicemanager::store
