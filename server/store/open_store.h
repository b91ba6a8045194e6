// Chooses the store's backend from --database-url: PostgreSQL for a
// postgres:// or postgresql:// URL, SQLite (the default) when it is empty.
#ifndef SERVICEMANAGER_SERVER_STORE_OPEN_STORE_H_
#define SERVICEMANAGER_SERVER_STORE_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "store/sqlite_store.h"
#include "store/store.h"

namespace servicemanager::store {

// OK for an empty URL or a postgres:// or postgresql:// one; otherwise
// INVALID_ARGUMENT naming --database-url.
absl::Status ValidateDatabaseUrl(absl::string_view url);

// The URL with its password, if any, replaced by "***", for logs.
std::string RedactDatabaseUrl(absl::string_view url);

// Opens PostgreSQL at `database_url` with the StoreOptions of `sqlite` and a
// pool of `postgres_pool_size` connections for the API's calls, or, if the
// URL is empty, SQLite with `sqlite`. `observer`, if any, must outlive the
// store.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(
    absl::string_view database_url, int postgres_pool_size,
    const SqliteOptions& sqlite, common::Clock& clock, common::IdGenerator& ids,
    ChangeObserver* observer = nullptr);

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_OPEN_STORE_H_
