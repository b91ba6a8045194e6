#include "domain/arn.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::AccountScope;
using ::servicemanager::domain::ConnectionArn;
using ::servicemanager::domain::ConnectionRef;
using ::servicemanager::domain::IsConnectionArn;
using ::servicemanager::domain::ParseConnectionArn;
using ::servicemanager::domain::ParseServiceArn;
using ::servicemanager::domain::ServiceArn;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::StatusIs;
using ::testing::StartsWith;

constexpr char kRegion[] = "us-east-1";
constexpr char kAccount[] = "123456789012";
const AccountScope kHere{kAccount};
const AccountScope kEveryAccount{};
constexpr char kId[] = "0123456789abcdef0123456789abcdef";
constexpr char kField[] = "service_arn";

TEST(ServiceArnTest, FormatsAppRunnerServiceArn) {
  EXPECT_EQ(ServiceArn(kRegion, kAccount, "my-web", kId),
            "arn:aws:apprunner:us-east-1:123456789012:service/my-web/"
            "0123456789abcdef0123456789abcdef");
}

TEST(ParseServiceArnTest, RoundTripsAFormattedArn) {
  for (const char* name : {"my-web", "abcd", "Web_App-2"}) {
    SCOPED_TRACE(name);
    auto ref = ParseServiceArn(
        kRegion, kHere, ServiceArn(kRegion, kAccount, name, kId), kField);
    ASSERT_THAT(ref, IsOk());
    EXPECT_EQ(ref->account_id, kAccount);
    EXPECT_EQ(ref->name, name);
    EXPECT_EQ(ref->id, kId);
  }
}

TEST(ParseServiceArnTest, EmptyIsInvalidNamingTheField) {
  EXPECT_THAT(
      ParseServiceArn(kRegion, kHere, "", kField),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("service_arn")));
  EXPECT_THAT(
      ParseServiceArn(kRegion, kHere, "", "resource_arn"),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("resource_arn")));
}

// An ARN of this partition whose service name pads it to `length`.
std::string ArnOfLength(size_t length) {
  const std::string shortest = ServiceArn(kRegion, kAccount, "", kId);
  return ServiceArn(kRegion, kAccount,
                    std::string(length - shortest.size(), 'n'), kId);
}

TEST(ParseServiceArnTest, AtMost1011Characters) {
  const std::string longest = ArnOfLength(1011);
  ASSERT_EQ(longest.size(), 1011u);
  EXPECT_THAT(ParseServiceArn(kRegion, kHere, longest, kField), IsOk());

  const std::string too_long = ArnOfLength(1012);
  ASSERT_EQ(too_long.size(), 1012u);
  EXPECT_THAT(
      ParseServiceArn(kRegion, kHere, too_long, kField),
      StatusIs(absl::StatusCode::kInvalidArgument, StartsWith("service_arn")));
}

TEST(ParseServiceArnTest, MalformedIsInvalidArgument) {
  const std::string malformed[] = {
      "not-an-arn",
      // 11 and 13 account digits.
      absl::StrCat("arn:aws:apprunner:us-east-1:12345678901:service/web/", kId),
      absl::StrCat("arn:aws:apprunner:us-east-1:1234567890123:service/web/",
                   kId),
      // A space.
      absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/my web/",
                   kId),
      absl::StrCat("arn:aws:apprunner:us-east-1:123456789012: service/web/",
                   kId),
      // Not "aws" and its variants as the partition.
      absl::StrCat("arn:azure:apprunner:us-east-1:123456789012:service/web/",
                   kId),
      // Upper case region.
      absl::StrCat("arn:aws:apprunner:US-EAST-1:123456789012:service/web/",
                   kId),
      // Nothing after the account.
      "arn:aws:apprunner:us-east-1:123456789012:",
      // A seventh part.
      absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/web/", kId,
                   ":x"),
  };
  for (const std::string& arn : malformed) {
    SCOPED_TRACE(arn);
    EXPECT_THAT(ParseServiceArn(kRegion, kHere, arn, kField),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         StartsWith("service_arn")));
  }
}

TEST(ParseServiceArnTest, WellFormedButNotAServiceHereIsNotFound) {
  const std::string elsewhere[] = {
      // Another region.
      absl::StrCat("arn:aws:apprunner:eu-west-1:123456789012:service/web/",
                   kId),
      // Another account.
      absl::StrCat("arn:aws:apprunner:us-east-1:210987654321:service/web/",
                   kId),
      // Another resource type.
      absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:connection/web/",
                   kId),
      // Another service of AWS.
      absl::StrCat("arn:aws:lambda:us-east-1:123456789012:service/web/", kId),
      // Another partition.
      absl::StrCat("arn:aws-cn:apprunner:us-east-1:123456789012:service/web/",
                   kId),
      // An id that is not 32 lowercase hex characters.
      "arn:aws:apprunner:us-east-1:123456789012:service/web/"
      "0123456789abcdef0123456789abcdeg",
      "arn:aws:apprunner:us-east-1:123456789012:service/web/"
      "0123456789ABCDEF0123456789ABCDEF",
      "arn:aws:apprunner:us-east-1:123456789012:service/web/0123",
      // No id.
      "arn:aws:apprunner:us-east-1:123456789012:service/web",
  };
  for (const std::string& arn : elsewhere) {
    SCOPED_TRACE(arn);
    EXPECT_THAT(ParseServiceArn(kRegion, kHere, arn, kField),
                StatusIs(absl::StatusCode::kNotFound));
  }
}

TEST(ConnectionArnTest, IsMadeOfTheConnectionsOwnAccount) {
  const ConnectionRef ref{"210987654321", "my-github", kId};
  EXPECT_EQ(ConnectionArn("eu-west-1", ref),
            "arn:aws:apprunner:eu-west-1:210987654321:connection/my-github/"
            "0123456789abcdef0123456789abcdef");
}

TEST(ParseConnectionArnTest, RoundTripsAndRefusesOtherPlacesAndTypes) {
  const std::string arn = ConnectionArn(kRegion, {kAccount, "my-github", kId});
  auto ref = ParseConnectionArn(kRegion, kHere, arn, "connection_arn");
  ASSERT_THAT(ref, IsOk());
  EXPECT_EQ(*ref, (ConnectionRef{kAccount, "my-github", kId}));
  EXPECT_TRUE(IsConnectionArn(arn));

  EXPECT_THAT(ParseConnectionArn(kRegion, AccountScope{"999999999999"}, arn,
                                 "connection_arn"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(
      ParseConnectionArn("eu-west-1", kEveryAccount, arn, "connection_arn"),
      StatusIs(absl::StatusCode::kNotFound));
  const std::string service = ServiceArn(kRegion, kAccount, "my-web", kId);
  EXPECT_FALSE(IsConnectionArn(service));
  EXPECT_THAT(ParseConnectionArn(kRegion, kHere, service, "connection_arn"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ParseConnectionArn(kRegion, kHere, "connection/my-github",
                                 "connection_arn"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       StartsWith("connection_arn: ")));
}

TEST(ParseServiceArnTest, AnyAccountIsInScopeOfEveryAccount) {
  const std::string arn = absl::StrCat(
      "arn:aws:apprunner:us-east-1:210987654321:service/web/", kId);
  auto ref = ParseServiceArn(kRegion, kEveryAccount, arn, kField);
  ASSERT_THAT(ref, IsOk());
  EXPECT_EQ(ref->account_id, "210987654321");
  EXPECT_THAT(
      ParseServiceArn(kRegion, AccountScope{"210987654321"}, arn, kField),
      IsOk());
  EXPECT_THAT(ParseServiceArn(kRegion, kHere, arn, kField),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
