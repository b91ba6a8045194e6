#include "auth/principals.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "tests/testing/status_matchers.h"

namespace servicemanager::auth {
namespace {

using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::StatusIs;
using ::testing::HasSubstr;

TEST(HashTokenTest, IsSha256InLowercaseHex) {
  // FIPS 180-2's example, and what `printf %s abc | sha256sum` prints.
  EXPECT_EQ(HashToken("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(NewBearerTokenTest, Is64HexDigitsAndDiffersEachTime) {
  const std::string one = NewBearerToken();
  EXPECT_EQ(one.size(), 64u);
  EXPECT_NE(one, NewBearerToken());
}

TEST(PrincipalsTest, FindsEachPrincipalByItsCredentials) {
  auto principals = Principals::Parse(
      absl::StrCat("# a comment, then a blank line\n\n",
                   "alice 111111111111 operator sha256:", HashToken("t1"), "\n",
                   "alice\t111111111111\toperator\tcert:alice.example\n",
                   "ci 222222222222 read-only aws:AKIAEXAMPLE\n",
                   "root 999999999999 admin sha256:", HashToken("t2"), "\n"));
  ASSERT_THAT(principals, IsOk());
  const Principal* alice = principals->ByToken("t1");
  ASSERT_NE(alice, nullptr);
  EXPECT_EQ(alice->name, "alice");
  EXPECT_EQ(alice->account_id, "111111111111");
  EXPECT_EQ(alice->role, Role::kOperator);
  EXPECT_EQ(principals->ByCertificateName("alice.example"), alice);
  EXPECT_EQ(principals->ByAwsAccessKey("AKIAEXAMPLE")->role, Role::kReadOnly);
  EXPECT_EQ(principals->ByToken("t2")->role, Role::kAdmin);
  EXPECT_EQ(principals->ByToken("t3"), nullptr);
  // The hash is a credential only as a hash: presenting it is not the token.
  EXPECT_EQ(principals->ByToken(HashToken("t1")), nullptr);
  EXPECT_EQ(principals->ByCertificateName("bob.example"), nullptr);
}

TEST(PrincipalsTest, BadLinesAreInvalidNamingTheLine) {
  const std::string hash = HashToken("t");
  const std::string bad[] = {
      "alice 111111111111 operator",
      absl::StrCat("alice 11111111111 operator sha256:", hash),
      absl::StrCat("alice 111111111111 owner sha256:", hash),
      "alice 111111111111 operator sha256:ABC",
      absl::StrCat("alice 111111111111 operator md5:", hash),
      "alice 111111111111 operator cert:",
  };
  for (const std::string& line : bad) {
    SCOPED_TRACE(line);
    EXPECT_THAT(
        Principals::Parse(absl::StrCat("# ok\n", line)),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 2")));
  }
}

TEST(PrincipalsTest, APrincipalHasOneAccountAndRoleAndACredentialOneOwner) {
  EXPECT_THAT(Principals::Parse("a 111111111111 operator cert:x\n"
                                "a 222222222222 operator cert:y\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("another account or role")));
  EXPECT_THAT(
      Principals::Parse("a 111111111111 operator cert:x\n"
                        "b 111111111111 operator cert:x\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("earlier line")));
}

TEST(RoleTest, RoundTrips) {
  for (Role role : {Role::kAdmin, Role::kOperator, Role::kReadOnly}) {
    EXPECT_EQ(ParseRole(ToString(role)), role);
  }
  EXPECT_EQ(ParseRole("readonly"), std::nullopt);
}

}  // namespace
}  // namespace servicemanager::auth
