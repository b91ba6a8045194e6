// Versioned schema migrations, embedded in the binary from migrations/.
#ifndef SERVICEMANAGER_SERVER_STORE_MIGRATOR_H_
#define SERVICEMANAGER_SERVER_STORE_MIGRATOR_H_

#include <map>
#include <string>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::store {

struct Migration {
  int version;       // NNNN of the file name.
  std::string name;  // The file name.
  std::string sql;
};

// migrations/*.up.sql in version order.
const std::vector<Migration>& EmbeddedMigrations();
// migrations/postgres/*.up.sql in version order.
const std::vector<Migration>& EmbeddedPostgresMigrations();

// The checksum schema_migrations keeps of a migration's text.
std::string MigrationChecksum(const std::string& sql);

// Logs that `m` is being applied: a migration may rewrite a large table, and
// the line tells an operator why start-up waits.
void LogApplyingMigration(const Migration& m);

// FAILED_PRECONDITION if a database that has the migrations `applied`
// (version to checksum) has one that `migrations` does not know (a newer
// schema) or one whose checksum differs.
absl::Status CheckAppliedMigrations(const std::map<int, std::string>& applied,
                                    const std::vector<Migration>& migrations);

// Brings `db` to the newest of `migrations`: each one that is missing runs,
// with its schema_migrations row (version, name, checksum, applied_at), in
// one IMMEDIATE transaction. FAILED_PRECONDITION, changing nothing, if the
// database has a version this binary does not know (a newer schema) or a
// migration whose checksum differs from the binary's.
//
// Migrations read their settings from temp.migration_settings:
// `account_id` is the account of services made before services had one.
absl::Status Migrate(SQLite::Database& db,
                     const std::vector<Migration>& migrations, absl::Time now,
                     absl::string_view account_id = "000000000000");

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_MIGRATOR_H_
