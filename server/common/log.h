// One line per event on stderr. Two formats:
//   text (default): "2026-11-26T10:00:00.123Z INFO message key=value ..."
//   json (for log collectors such as Kubernetes'): one object per line,
//     {"time":"2026-11-26T10:00:00.123Z","level":"INFO","msg":"message",
//      "key":"value",...}
// abseil 20220623 has no logging library; this is all the server needs.
#ifndef SERVICEMANAGER_SERVER_COMMON_LOG_H_
#define SERVICEMANAGER_SERVER_COMMON_LOG_H_

#include <cmath>
#include <initializer_list>
#include <string>
#include <thread>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace servicemanager::common {

enum class LogLevel { kInfo, kWarning, kError };
enum class LogFormat { kText, kJson };

// A structured detail of a line: in json a member of the object (numbers and
// booleans bare, everything else a string), in text " key=value".
class LogField {
 public:
  LogField(absl::string_view key, absl::string_view value)
      : key_(key), value_(value), quoted_(true) {}
  LogField(absl::string_view key, const char* value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, const std::string& value)
      : LogField(key, absl::string_view(value)) {}
  LogField(absl::string_view key, bool value)
      : key_(key), value_(value ? "true" : "false"), quoted_(false) {}
  template <typename T,
            std::enable_if_t<
                std::is_arithmetic_v<T> && !std::is_same_v<T, bool>, int> = 0>
  LogField(absl::string_view key, T value)
      : key_(key),
        value_(absl::StrCat(value)),
        // JSON has no NaN or infinity; they stay readable as strings.
        quoted_(std::is_floating_point_v<T> && !std::isfinite(value)) {}

  absl::string_view key() const { return key_; }
  absl::string_view value() const { return value_; }
  // Whether json writes the value as a string.
  bool quoted() const { return quoted_; }

 private:
  std::string key_;
  std::string value_;
  bool quoted_;
};

// Chooses the format of every later line. Call once at start-up, before
// other threads log.
void SetLogFormat(LogFormat format);

// Thread-safe: each call writes one whole line.
void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields = {});

// As Log, for the lines that come in bulk (one per RPC): while a LogFlusher
// runs, the line waits in memory and is written with the others in one
// write. Without a LogFlusher it is written at once.
void LogBuffered(LogLevel level, absl::string_view message,
                 std::initializer_list<LogField> fields = {});

// While it lives, LogBuffered lines are buffered: a thread writes them at
// least every `interval`, and at once when 64 KiB are waiting. Every Log call
// writes the buffered lines before its own, so lines keep their order. On
// destruction it writes what is left. A process killed outright loses at
// most `interval` of buffered lines. One at a time.
class LogFlusher {
 public:
  explicit LogFlusher(absl::Duration interval);
  ~LogFlusher();
  LogFlusher(const LogFlusher&) = delete;
  LogFlusher& operator=(const LogFlusher&) = delete;

 private:
  std::thread thread_;
};

// The line Log writes, newline included. Exposed for tests.
std::string FormatLogLine(LogFormat format, LogLevel level, absl::Time time,
                          absl::string_view message,
                          std::initializer_list<LogField> fields);

// `text` as a JSON string, quotes included: '"', '\' and control characters
// escaped, and bytes that are not UTF-8 replaced by U+FFFD, so that the line
// stays valid JSON whatever a message carries.
std::string JsonString(absl::string_view text);

}  // namespace servicemanager::common

#endif  // SERVICEMANAGER_SERVER_COMMON_LOG_H_
