// SigV4 against AWS's published Signature Version 4 test suite (get-vanilla
// and get-vanilla-query-order-key-case: credentials AKIDEXAMPLE, region
// us-east-1, service "service", 2015-08-30T12:36:00Z), then the verifier's
// answers to each way a request can fail.
#include "aws/sigv4.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "aws/aws_error.h"
#include "tests/testing/fake_clock.h"

namespace servicemanager::aws {
namespace {

using ::testing::HasSubstr;

constexpr char kKey[] = "AKIDEXAMPLE";
constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
constexpr char kAccount[] = "123456789012";
constexpr char kScope[] = "20150830/us-east-1/service/aws4_request";
constexpr char kVanillaSignature[] =
    "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

absl::Time SuiteTime() {
  return absl::FromCivil(absl::CivilSecond(2015, 8, 30, 12, 36, 0),
                         absl::UTCTimeZone());
}

HttpRequestView Vanilla(absl::string_view target = "/") {
  return {
      "GET",
      target,
      {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
      ""};
}

std::string Authorization(absl::string_view key, absl::string_view scope,
                          absl::string_view signature) {
  return absl::StrCat("AWS4-HMAC-SHA256 Credential=", key, "/", scope,
                      ", SignedHeaders=host;x-amz-date, Signature=", signature);
}

TEST(SigV4Test, GetVanilla) {
  const std::string canonical =
      CanonicalRequest(Vanilla(), {"host", "x-amz-date"});
  EXPECT_EQ(canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z"
            "\n\nhost;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  const std::string to_sign =
      StringToSign("20150830T123600Z", kScope, canonical);
  EXPECT_EQ(to_sign,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n"
            "20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  EXPECT_EQ(Signature(SigningKey(kSecret, "20150830", "us-east-1", "service"),
                      to_sign),
            kVanillaSignature);
}

TEST(SigV4Test, GetVanillaQueryOrderKeyCase) {
  const HttpRequestView request = Vanilla("/?Param2=value2&Param1=value1");
  const std::string canonical =
      CanonicalRequest(request, {"host", "x-amz-date"});
  EXPECT_THAT(canonical, HasSubstr("\n/\nParam1=value1&Param2=value2\n"));
  EXPECT_EQ(Signature(SigningKey(kSecret, "20150830", "us-east-1", "service"),
                      StringToSign("20150830T123600Z", kScope, canonical)),
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500");
}

TEST(SigV4Test, CanonicalFormsOfPathsAndHeaders) {
  HttpRequestView request = Vanilla("/a/./b//../c/%20d/");
  request.headers.push_back({"X-Multi", "  one   two "});
  request.headers.push_back({"x-multi", "three"});
  EXPECT_EQ(CanonicalRequest(request, {"x-multi"}),
            absl::StrCat("GET\n/a/c/%2520d/\n\nx-multi:one two,three\n\n"
                         "x-multi\n",
                         Sha256Hex("")));
}

class VerifierTest : public ::testing::Test {
 protected:
  VerifierTest()
      : clock_(SuiteTime()),
        verifier_({{kKey, kSecret, kAccount},
                   {"AKIDOTHERACCOUNT", kSecret, "210987654321"}},
                  "us-east-1", "service", kAccount, clock_) {}

  HttpRequestView Signed(absl::string_view authorization) {
    authorization_ = std::string(authorization);
    HttpRequestView request = Vanilla();
    request.headers.push_back({"Authorization", authorization_});
    return request;
  }

  // The AWS exception name of the verifier's answer, "" if it accepted.
  std::string ErrorOf(const HttpRequestView& request) {
    absl::StatusOr<std::string> key = verifier_.Verify(request);
    message_ = key.ok() ? "" : std::string(key.status().message());
    return key.ok() ? "" : ErrorTypeOf(key.status());
  }

  testing::FakeClock clock_;
  SigV4Verifier verifier_;
  std::string authorization_;
  std::string message_;
};

TEST_F(VerifierTest, AcceptsTheSuiteRequestAndNamesItsKey) {
  absl::StatusOr<std::string> key =
      verifier_.Verify(Signed(Authorization(kKey, kScope, kVanillaSignature)));
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(*key, kKey);
}

TEST_F(VerifierTest, RefusesAWrongSignatureOrAChangedRequest) {
  std::string wrong = kVanillaSignature;
  wrong[0] = '6';
  EXPECT_EQ(ErrorOf(Signed(Authorization(kKey, kScope, wrong))),
            kInvalidSignatureException);
  EXPECT_THAT(message_, HasSubstr("does not match"));
  EXPECT_EQ(ErrorOf(Signed(Authorization(kKey, kScope, "abc"))),
            kInvalidSignatureException);

  HttpRequestView body = Signed(Authorization(kKey, kScope, kVanillaSignature));
  body.body = "{}";
  EXPECT_EQ(ErrorOf(body), kInvalidSignatureException);
  HttpRequestView path = Signed(Authorization(kKey, kScope, kVanillaSignature));
  path.target = "/other";
  EXPECT_EQ(ErrorOf(path), kInvalidSignatureException);
  HttpRequestView post = Signed(Authorization(kKey, kScope, kVanillaSignature));
  post.method = "POST";
  EXPECT_EQ(ErrorOf(post), kInvalidSignatureException);
}

TEST_F(VerifierTest, RefusesUnknownKeysAndKeysOfAnotherAccount) {
  EXPECT_EQ(
      ErrorOf(Signed(Authorization("AKIDUNKNOWN", kScope, kVanillaSignature))),
      kUnrecognizedClientException);
  EXPECT_EQ(ErrorOf(Signed(
                Authorization("AKIDOTHERACCOUNT", kScope, kVanillaSignature))),
            kUnrecognizedClientException);
  EXPECT_THAT(message_, HasSubstr("210987654321"));
}

TEST_F(VerifierTest, RefusesAnotherScope) {
  EXPECT_EQ(
      ErrorOf(Signed(Authorization(
          kKey, "20150830/eu-west-1/service/aws4_request", kVanillaSignature))),
      kInvalidSignatureException);
  EXPECT_THAT(message_, HasSubstr("region"));
  EXPECT_EQ(
      ErrorOf(Signed(Authorization(kKey, "20150830/us-east-1/s3/aws4_request",
                                   kVanillaSignature))),
      kInvalidSignatureException);
  EXPECT_EQ(
      ErrorOf(Signed(Authorization(
          kKey, "20150831/us-east-1/service/aws4_request", kVanillaSignature))),
      kInvalidSignatureException);
}

TEST_F(VerifierTest, RefusesARequestSignedMoreThanFifteenMinutesAway) {
  clock_.Advance(absl::Minutes(15));
  EXPECT_EQ(ErrorOf(Signed(Authorization(kKey, kScope, kVanillaSignature))),
            "");
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(ErrorOf(Signed(Authorization(kKey, kScope, kVanillaSignature))),
            kInvalidSignatureException);
  EXPECT_THAT(message_, HasSubstr("Signature expired"));
}

TEST_F(VerifierTest, RefusesMissingOrUnreadableAuthorization) {
  EXPECT_EQ(ErrorOf(Vanilla()), kMissingAuthenticationTokenException);
  EXPECT_EQ(ErrorOf(Signed("Basic dXNlcjpwYXNz")),
            kIncompleteSignatureException);
  EXPECT_EQ(ErrorOf(Signed("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/x")),
            kIncompleteSignatureException);
  HttpRequestView bad_date =
      Signed(Authorization(kKey, kScope, kVanillaSignature));
  bad_date.headers[1].second = "20151330T123600Z";
  EXPECT_EQ(ErrorOf(bad_date), kIncompleteSignatureException);
  EXPECT_EQ(ErrorOf(Signed(absl::StrCat(
                "AWS4-HMAC-SHA256 Credential=", kKey, "/", kScope,
                ", SignedHeaders=x-amz-date, Signature=", kVanillaSignature))),
            kInvalidSignatureException);
  EXPECT_THAT(message_, HasSubstr("'host'"));
}

TEST_F(VerifierTest, AuthenticationFailuresAreForbidden) {
  EXPECT_EQ(HttpStatusOf(kInvalidSignatureException), 403);
  EXPECT_EQ(HttpStatusOf(kUnrecognizedClientException), 403);
  EXPECT_EQ(HttpStatusOf(kMissingAuthenticationTokenException), 403);
  EXPECT_EQ(HttpStatusOf(kIncompleteSignatureException), 400);
}

TEST(CredentialsTest, ReadsOneKeyPerLine) {
  absl::StatusOr<std::vector<AwsCredential>> keys = ParseCredentials(
      "# ACCESS_KEY_ID SECRET ACCOUNT\n\nAKIA1 secret/1+x 123456789012\n"
      "  AKIA2\tsecret2   000000000000  \n");
  ASSERT_TRUE(keys.ok()) << keys.status();
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].access_key_id, "AKIA1");
  EXPECT_EQ((*keys)[0].secret_access_key, "secret/1+x");
  EXPECT_EQ((*keys)[1].account_id, "000000000000");
}

TEST(CredentialsTest, RefusesMalformedLinesDuplicatesAndEmptyFiles) {
  EXPECT_THAT(ParseCredentials("AKIA1 secret\n").status().message(),
              HasSubstr("line 1"));
  EXPECT_FALSE(ParseCredentials("AKIA1 secret 12345\n").ok());
  EXPECT_THAT(ParseCredentials("A s 123456789012\nA t 123456789012\n")
                  .status()
                  .message(),
              HasSubstr("twice"));
  EXPECT_FALSE(ParseCredentials("# nothing\n").ok());
  EXPECT_FALSE(ReadCredentialsFile("/nonexistent/credentials").ok());
}

}  // namespace
}  // namespace servicemanager::aws
