#include "common/log.h"

#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "absl/time/time.h"

namespace {

using ::servicemanager::common::FormatLogLine;
using ::servicemanager::common::JsonString;
using ::servicemanager::common::LogFormat;
using ::servicemanager::common::LogLevel;
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

}  // namespace
