// One line per event on stderr: "2026-11-26T10:00:00.123Z INFO message".
// abseil 20220623 has no logging library; this is all the server needs.
#ifndef SERVICEMANAGER_SERVER_COMMON_LOG_H_
#define SERVICEMANAGER_SERVER_COMMON_LOG_H_

#include "absl/strings/string_view.h"

namespace servicemanager::common {

enum class LogLevel { kInfo, kWarning, kError };

// Thread-safe: each call writes one whole line.
void Log(LogLevel level, absl::string_view message);

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_LOG_H_
