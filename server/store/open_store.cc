#include "store/open_store.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/status_macros.h"
#include "store/postgres_store.h"

namespace servicemanager::store {

absl::Status ValidateDatabaseUrl(absl::string_view url) {
  if (url.empty() || absl::StartsWith(url, "postgres://") ||
      absl::StartsWith(url, "postgresql://")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      "--database-url: must start with postgres:// or postgresql:// (or be "
      "empty, for SQLite under --data-dir)");
}

std::string RedactDatabaseUrl(absl::string_view url) {
  std::string redacted(url);
  // scheme://user:password@host...: the password is between the first ':'
  // of the user information and its last '@'.
  if (const size_t scheme = redacted.find("://"); scheme != std::string::npos) {
    const size_t start = scheme + 3;
    const size_t end =
        std::min(redacted.find_first_of("/?", start), redacted.size());
    const size_t at = redacted.rfind('@', end);
    const size_t colon = redacted.find(':', start);
    if (at != std::string::npos && at >= start && colon < at) {
      redacted.replace(colon + 1, at - colon - 1, "***");
    }
  }
  // ...?password=secret&...
  for (size_t key = redacted.find("password=");
       key != std::string::npos && key > 0;
       key = redacted.find("password=", key + 1)) {
    if (redacted[key - 1] != '?' && redacted[key - 1] != '&') continue;
    const size_t value = key + 9;
    const size_t end = std::min(redacted.find('&', value), redacted.size());
    redacted.replace(value, end - value, "***");
  }
  return redacted;
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(absl::string_view database_url,
                                                 int postgres_pool_size,
                                                 const SqliteOptions& sqlite,
                                                 common::Clock& clock,
                                                 common::IdGenerator& ids,
                                                 ChangeObserver* observer) {
  RETURN_IF_ERROR(ValidateDatabaseUrl(database_url));
  if (database_url.empty()) {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                     SqliteStore::Open(sqlite, clock, ids, observer));
    return std::unique_ptr<Store>(std::move(store));
  }
  PostgresOptions postgres;
  static_cast<StoreOptions&>(postgres) = sqlite;
  postgres.url = std::string(database_url);
  postgres.pool_size = postgres_pool_size;
  ASSIGN_OR_RETURN(std::unique_ptr<PostgresStore> store,
                   PostgresStore::Open(postgres, clock, ids, observer));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace servicemanager::store
