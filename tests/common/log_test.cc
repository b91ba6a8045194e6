#include "common/log.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace {

using ::servicemanager::common::FormatLogLine;
using ::servicemanager::common::JsonString;
using ::servicemanager::common::Log;
using ::servicemanager::common::LogBuffered;
using ::servicemanager::common::LogFlusher;
using ::servicemanager::common::LogFormat;
using ::servicemanager::common::LogLevel;
using ::testing::ElementsAre;
using ::testing::EndsWith;
using ::testing::HasSubstr;

const absl::Time kTime = absl::FromUnixMillis(1795651200123);  // 2026-11-26

// Parses one JSON object with protobuf's JSON parser, a strict one.
google::protobuf::Struct ParseJson(const std::string& text) {
  google::protobuf::Struct parsed;
  const auto status =
      google::protobuf::util::JsonStringToMessage(text, &parsed);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in " << text;
  return parsed;
}

TEST(JsonStringTest, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(JsonString("plain"), R"("plain")");
  EXPECT_EQ(JsonString(R"(say "hi" \ bye)"), R"("say \"hi\" \\ bye")");
  EXPECT_EQ(JsonString("a\nb\r\tc"), R"("a\nb\r\tc")");
  EXPECT_EQ(JsonString(std::string("nul\0bell\x07", 9)),
            R"("nul\u0000bell\u0007")");
  EXPECT_EQ(JsonString(""), R"("")");
}

TEST(JsonStringTest, KeepsUtf8AndReplacesWhatIsNotUtf8) {
  EXPECT_EQ(JsonString("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
  // A lone continuation byte, a truncated sequence, an overlong '/', a UTF-16
  // surrogate and a byte that never occurs in UTF-8.
  EXPECT_EQ(JsonString("a\x80"
                       "b\xC3"),
            "\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonString("\xC0\xAF"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonString("\xED\xA0\x80"),
            "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(JsonString("\xFF"), "\"\xEF\xBF\xBD\"");
}

TEST(FormatLogLineTest, TextIsOneLineWithFields) {
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kInfo, kTime,
                          "servicemanager ready: listening on 127.0.0.1:1", {}),
            "2026-11-26T00:00:00.123Z INFO servicemanager ready: listening on "
            "127.0.0.1:1\n");
  EXPECT_EQ(
      FormatLogLine(
          LogFormat::kText, LogLevel::kWarning, kTime, "rpc",
          {{"method", "/servicemanager.v1.ServiceManager/PauseService"},
           {"code", "INTERNAL"},
           {"latency_ms", 1.5},
           {"empty", ""},
           {"spaced", "two words"}}),
      "2026-11-26T00:00:00.123Z WARNING rpc "
      "method=/servicemanager.v1.ServiceManager/PauseService code=INTERNAL "
      "latency_ms=1.5 empty=\"\" spaced=\"two words\"\n");
  EXPECT_EQ(FormatLogLine(LogFormat::kText, LogLevel::kError, kTime,
                          "handler threw: line one\nline two", {}),
            "2026-11-26T00:00:00.123Z ERROR handler threw: line one\\nline "
            "two\n");
}

TEST(FormatLogLineTest, JsonIsOneObjectPerLine) {
  const std::string line = FormatLogLine(
      LogFormat::kJson, LogLevel::kInfo, kTime, "said \"hi\"\nand left",
      {{"method", "/grpc.health.v1.Health/Check"},
       {"code", "OK"},
       {"latency_ms", 0.25},
       {"port", 50051},
       {"draining", true},
       {"odd", "\x01\xFF"}});
  EXPECT_THAT(line, EndsWith("}\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1);
  google::protobuf::Struct object = ParseJson(line);
  const auto& fields = object.fields();
  EXPECT_EQ(fields.at("time").string_value(), "2026-11-26T00:00:00.123Z");
  EXPECT_EQ(fields.at("level").string_value(), "INFO");
  EXPECT_EQ(fields.at("msg").string_value(), "said \"hi\"\nand left");
  EXPECT_EQ(fields.at("method").string_value(), "/grpc.health.v1.Health/Check");
  EXPECT_EQ(fields.at("code").string_value(), "OK");
  EXPECT_EQ(fields.at("latency_ms").number_value(), 0.25);
  EXPECT_EQ(fields.at("port").number_value(), 50051);
  EXPECT_TRUE(fields.at("draining").bool_value());
  EXPECT_EQ(fields.at("odd").string_value(), "\x01\xEF\xBF\xBD");
}

TEST(FormatLogLineTest, JsonWritesNonFiniteNumbersAsStrings) {
  const std::string line =
      FormatLogLine(LogFormat::kJson, LogLevel::kInfo, kTime, "m",
                    {{"nan", std::numeric_limits<double>::quiet_NaN()},
                     {"inf", std::numeric_limits<double>::infinity()}});
  google::protobuf::Struct object = ParseJson(line);
  EXPECT_EQ(object.fields().at("nan").string_value(), "nan");
  EXPECT_EQ(object.fields().at("inf").string_value(), "inf");
}

// The lines of `text` that are about `marker`, in order.
std::vector<std::string> LinesWith(const std::string& text,
                                   absl::string_view marker) {
  std::vector<std::string> lines;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StrContains(line, marker)) {
      lines.push_back(std::string(line.substr(line.find(' ') + 1)));
    }
  }
  return lines;
}

TEST(LogBufferedTest, WithoutAFlusherWritesAtOnce) {
  ::testing::internal::CaptureStderr();
  LogBuffered(LogLevel::kInfo, "unbuffered-line");
  EXPECT_THAT(
      LinesWith(::testing::internal::GetCapturedStderr(), "unbuffered-line"),
      ElementsAre("INFO unbuffered-line"));
}

TEST(LogBufferedTest, AFlusherWritesBufferedLinesInOrderBeforeTheNextLog) {
  ::testing::internal::CaptureStderr();
  std::string written;
  {
    // Longer than the test: only the Log call and the destruction write.
    LogFlusher flusher(absl::Hours(1));
    LogBuffered(LogLevel::kInfo, "ordered-1");
    LogBuffered(LogLevel::kInfo, "ordered-2");
    Log(LogLevel::kWarning, "ordered-3");
    LogBuffered(LogLevel::kInfo, "ordered-4");
  }
  EXPECT_THAT(LinesWith(::testing::internal::GetCapturedStderr(), "ordered-"),
              ElementsAre("INFO ordered-1", "INFO ordered-2",
                          "WARNING ordered-3", "INFO ordered-4"));
}

TEST(LogBufferedTest, AFlusherWritesBufferedLinesWithinItsInterval) {
  // Stderr into a pipe, read as the flusher writes.
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const int saved_stderr = dup(STDERR_FILENO);
  std::fflush(stderr);
  dup2(pipe_fds[1], STDERR_FILENO);
  std::string seen;
  {
    LogFlusher flusher(absl::Milliseconds(10));
    LogBuffered(LogLevel::kInfo, "interval-line");
    const absl::Time give_up = absl::Now() + absl::Seconds(10);
    while (!absl::StrContains(seen, "interval-line") && absl::Now() < give_up) {
      pollfd readable{pipe_fds[0], POLLIN, 0};
      if (poll(&readable, 1, 100) == 1) {
        char chunk[4096];
        const ssize_t n = read(pipe_fds[0], chunk, sizeof(chunk));
        if (n > 0) seen.append(chunk, static_cast<size_t>(n));
      }
    }
  }
  std::fflush(stderr);
  dup2(saved_stderr, STDERR_FILENO);
  close(saved_stderr);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  EXPECT_THAT(LinesWith(seen, "interval-line"),
              ElementsAre("INFO interval-line"));
}

}  // namespace
