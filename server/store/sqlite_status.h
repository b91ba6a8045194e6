// The one place where SQLite's exceptions become absl::Status. No exception
// leaves store/.
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_STATUS_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_STATUS_H_

#include <exception>
#include <type_traits>
#include <utility>

#include "SQLiteCpp/Exception.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace servicemanager::store {

// Busy or locked past the busy timeout: UNAVAILABLE; disk or database full:
// RESOURCE_EXHAUSTED; corrupt: DATA_LOSS; read-only or I/O error: UNAVAILABLE;
// anything else INTERNAL. The message names `what` (the use case) and the
// SQLite error, never SQL text; the full error is logged.
absl::Status FromSqliteError(int extended_code, absl::string_view what,
                             absl::string_view detail);

// Runs `body` (returning absl::Status or absl::StatusOr<T>) and turns any
// exception it throws into a Status.
template <typename Body>
auto GuardSqlite(absl::string_view what, Body&& body) -> decltype(body()) {
  try {
    return std::forward<Body>(body)();
  } catch (const SQLite::Exception& e) {
    return FromSqliteError(e.getExtendedErrorCode(), what, e.what());
  } catch (const std::exception& e) {
    return FromSqliteError(-1, what, e.what());
  }
}

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_STATUS_H_
