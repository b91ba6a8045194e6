#include "common/log.h"

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <initializer_list>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace servicemanager::common {
namespace {

std::atomic<LogFormat> log_format{LogFormat::kText};

absl::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARNING";
    case LogLevel::kError:
      return "ERROR";
  }
  return "ERROR";
}

// The length of the well-formed UTF-8 sequence at the start of `text`, or 0
// if it does not start with one (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF).
size_t Utf8SequenceLength(absl::string_view text) {
  const auto byte = [&](size_t i) {
    return static_cast<unsigned char>(text[i]);
  };
  const unsigned char lead = byte(0);
  size_t length = 0;
  unsigned char low = 0x80;
  unsigned char high = 0xBF;
  if (lead < 0x80) {
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    low = lead == 0xE0 ? 0xA0 : 0x80;
    high = lead == 0xED ? 0x9F : 0xBF;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    low = lead == 0xF0 ? 0x90 : 0x80;
    high = lead == 0xF4 ? 0x8F : 0xBF;
  } else {
    return 0;
  }
  if (text.size() < length || byte(1) < low || byte(1) > high) {
    return 0;
  }
  for (size_t i = 2; i < length; ++i) {
    if (byte(i) < 0x80 || byte(i) > 0xBF) {
      return 0;
    }
  }
  return length;
}

// Text lines stay one line: control characters are written as escapes.
std::string OneLine(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      out += absl::StrFormat("\\x%02x", u);
    } else {
      out += c;
    }
  }
  return out;
}

// In text, a value that would be ambiguous bare is written as a JSON string.
bool NeedsQuotes(absl::string_view value) {
  if (value.empty()) {
    return true;
  }
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F || c == '"' || c == '=' || c == '\\') {
      return true;
    }
  }
  return false;
}

}  // namespace

std::string JsonString(absl::string_view text) {
  std::string out = "\"";
  out.reserve(text.size() + 2);
  while (!text.empty()) {
    const size_t length = Utf8SequenceLength(text);
    if (length == 0) {
      out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
      text.remove_prefix(1);
      continue;
    }
    const char c = text[0];
    if (length > 1) {
      out.append(text.data(), length);
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", static_cast<unsigned char>(c));
    } else {
      out += c;
    }
    text.remove_prefix(length);
  }
  out += '"';
  return out;
}

std::string FormatLogLine(LogFormat format, LogLevel level, absl::Time time,
                          absl::string_view message,
                          std::initializer_list<LogField> fields) {
  const std::string timestamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", time, absl::UTCTimeZone());
  std::string line;
  switch (format) {
    case LogFormat::kJson:
      line = absl::StrCat("{\"time\":\"", timestamp, "\",\"level\":\"",
                          LevelName(level), "\",\"msg\":", JsonString(message));
      for (const LogField& field : fields) {
        absl::StrAppend(&line, ",", JsonString(field.key()), ":",
                        field.quoted() ? JsonString(field.value())
                                       : std::string(field.value()));
      }
      line += "}\n";
      break;
    case LogFormat::kText:
    default:
      line =
          absl::StrCat(timestamp, " ", LevelName(level), " ", OneLine(message));
      for (const LogField& field : fields) {
        absl::StrAppend(&line, " ", OneLine(field.key()), "=",
                        NeedsQuotes(field.value())
                            ? JsonString(field.value())
                            : std::string(field.value()));
      }
      line += "\n";
      break;
  }
  return line;
}

void SetLogFormat(LogFormat format) { log_format.store(format); }

namespace {

constexpr size_t kMaxBuffered = 64 * 1024;

// The lines LogBuffered keeps while a LogFlusher runs.
struct LogBuffer {
  absl::Mutex mu;
  std::string lines ABSL_GUARDED_BY(mu);
  bool buffering ABSL_GUARDED_BY(mu) = false;
  bool stopping ABSL_GUARDED_BY(mu) = false;
};

LogBuffer& Buffer() {
  static auto* buffer = new LogBuffer;
  return *buffer;
}

void Write(absl::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

// Writes the buffered lines and then `line`, in one write.
void WriteAfterBuffered(LogBuffer& buffer, absl::string_view line)
    ABSL_EXCLUSIVE_LOCKS_REQUIRED(buffer.mu) {
  if (buffer.lines.empty()) {
    Write(line);
    return;
  }
  buffer.lines.append(line.data(), line.size());
  Write(buffer.lines);
  buffer.lines.clear();
}

}  // namespace

void Log(LogLevel level, absl::string_view message,
         std::initializer_list<LogField> fields) {
  const std::string line =
      FormatLogLine(log_format.load(), level, absl::Now(), message, fields);
  LogBuffer& buffer = Buffer();
  absl::MutexLock lock(&buffer.mu);
  WriteAfterBuffered(buffer, line);
}

void LogBuffered(LogLevel level, absl::string_view message,
                 std::initializer_list<LogField> fields) {
  const std::string line =
      FormatLogLine(log_format.load(), level, absl::Now(), message, fields);
  LogBuffer& buffer = Buffer();
  absl::MutexLock lock(&buffer.mu);
  if (!buffer.buffering || buffer.lines.size() + line.size() > kMaxBuffered) {
    WriteAfterBuffered(buffer, line);
    return;
  }
  buffer.lines.append(line);
}

LogFlusher::LogFlusher(absl::Duration interval) {
  LogBuffer& buffer = Buffer();
  {
    absl::MutexLock lock(&buffer.mu);
    buffer.buffering = true;
    buffer.stopping = false;
  }
  thread_ = std::thread([&buffer, interval] {
    absl::MutexLock lock(&buffer.mu);
    bool stopping = false;
    while (!stopping) {
      stopping = buffer.mu.AwaitWithTimeout(absl::Condition(&buffer.stopping),
                                            interval);
      if (!buffer.lines.empty()) {
        Write(buffer.lines);
        buffer.lines.clear();
      }
    }
  });
}

LogFlusher::~LogFlusher() {
  LogBuffer& buffer = Buffer();
  {
    absl::MutexLock lock(&buffer.mu);
    buffer.buffering = false;
    buffer.stopping = true;
  }
  thread_.join();
}

}  // namespace servicemanager::common
