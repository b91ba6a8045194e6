#include "store/sqlite_status.h"

#include <sqlite3.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/log.h"

namespace servicemanager::store {

absl::Status FromSqliteError(int extended_code, absl::string_view what,
                             absl::string_view detail) {
  common::Log(common::LogLevel::kError,
              absl::StrCat("store: ", what, " failed: ", detail, " (code ",
                           extended_code, ")"));
  const std::string message = absl::StrCat(
      what, ": ",
      extended_code < 0 ? "internal error" : sqlite3_errstr(extended_code));
  switch (extended_code & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return absl::UnavailableError(message);
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace servicemanager::store
