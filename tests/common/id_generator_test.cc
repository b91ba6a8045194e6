#include "common/id_generator.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "tests/testing/fake_clock.h"

namespace {

using ::servicemanager::common::RandomIdGenerator;
using ::servicemanager::testing::FakeClock;
using ::testing::MatchesRegex;

// App Runner's pattern for an OperationId (shape UUID), in lowercase.
constexpr char kOperationIdPattern[] =
    "[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}";

TEST(RandomIdGeneratorTest, OperationIdsAreDistinctUuidsAsAppRunnerWritesThem) {
  FakeClock clock;
  RandomIdGenerator ids(clock);
  std::set<std::string> seen;
  // All within one millisecond: the random bits alone tell them apart.
  for (int i = 0; i < 1000; ++i) {
    const std::string id = ids.NewOperationId();
    ASSERT_THAT(id, MatchesRegex(kOperationIdPattern));
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(RandomIdGeneratorTest,
     AnOperationIdBeginsWithItsTimeSoThatLaterIdsSortAfter) {
  FakeClock clock;
  RandomIdGenerator ids(clock);
  std::string last = ids.NewOperationId();
  for (int i = 0; i < 100; ++i) {
    clock.Advance(absl::Milliseconds(1));
    const std::string id = ids.NewOperationId();
    EXPECT_GT(id, last);
    last = id;
  }
  uint64_t millis = 0;
  ASSERT_TRUE(
      absl::SimpleHexAtoi(last.substr(0, 8) + last.substr(9, 4), &millis))
      << last;
  EXPECT_EQ(static_cast<int64_t>(millis), absl::ToUnixMillis(clock.Now()));
}

TEST(RandomIdGeneratorTest, ServiceIdsAre32RandomHexDigits) {
  FakeClock clock;
  RandomIdGenerator ids(clock);
  const std::string first = ids.NewServiceId();
  EXPECT_THAT(first, MatchesRegex("[0-9a-f]{32}"));
  EXPECT_NE(ids.NewServiceId(), first);
}

}  // namespace
