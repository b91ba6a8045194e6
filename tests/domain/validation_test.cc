#include "domain/validation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "domain/service.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::CanonicalDomainName;
using ::servicemanager::domain::CanonicalizeInstanceConfiguration;
using ::servicemanager::domain::HealthCheckConfiguration;
using ::servicemanager::domain::InstanceConfiguration;
using ::servicemanager::domain::PageSize;
using ::servicemanager::domain::SourceConfiguration;
using ::servicemanager::domain::Tag;
using ::servicemanager::domain::ValidateConnectionName;
using ::servicemanager::domain::ValidateEtag;
using ::servicemanager::domain::ValidateHealthCheckConfiguration;
using ::servicemanager::domain::ValidateImageIdentifier;
using ::servicemanager::domain::ValidatePageToken;
using ::servicemanager::domain::ValidateServiceName;
using ::servicemanager::domain::ValidateSourceConfiguration;
using ::servicemanager::domain::ValidateTagKeys;
using ::servicemanager::domain::ValidateTags;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;

// --- Service names -----------------------------------------------------------

TEST(ValidateServiceNameTest, AcceptsFourToFortyCharacters) {
  EXPECT_THAT(ValidateServiceName("abcd"), IsOk());
  EXPECT_THAT(ValidateServiceName(std::string(40, 'a')), IsOk());
}

TEST(ValidateServiceNameTest, RefusesThreeAndFortyOneCharacters) {
  EXPECT_THAT(ValidateServiceName("abc"),
              StatusIs(kInvalid, StartsWith("service_name")));
  EXPECT_THAT(ValidateServiceName(std::string(41, 'a')),
              StatusIs(kInvalid, StartsWith("service_name")));
  EXPECT_THAT(ValidateServiceName(""),
              StatusIs(kInvalid, StartsWith("service_name")));
}

TEST(ValidateServiceNameTest, AllowsDashAndUnderscoreInside) {
  EXPECT_THAT(ValidateServiceName("my-web_app-2"), IsOk());
  EXPECT_THAT(ValidateServiceName("9to5-service"), IsOk());
  EXPECT_THAT(ValidateServiceName("Ab_-"), IsOk());
}

TEST(ValidateServiceNameTest, MustStartWithLetterOrDigit) {
  for (const char* name : {"-abcd", "_abcd", ".abcd"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(ValidateServiceName(name),
                StatusIs(kInvalid, StartsWith("service_name")));
  }
}

TEST(ValidateServiceNameTest, RefusesOtherCharacters) {
  for (const char* name :
       {"my.service", "my service", "my/service", "my:service", "caf\xc3\xa9s",
        "name!", "tab\there"}) {
    SCOPED_TRACE(name);
    EXPECT_THAT(ValidateServiceName(name),
                StatusIs(kInvalid, StartsWith("service_name: ")));
  }
}

// --- Image identifier and source -------------------------------------------

TEST(ValidateImageIdentifierTest, NamesTheGivenField) {
  EXPECT_THAT(ValidateImageIdentifier("public.ecr.aws/nginx/nginx:latest", "f"),
              IsOk());
  EXPECT_THAT(ValidateImageIdentifier("", "source.image"),
              StatusIs(kInvalid, StartsWith("source.image: ")));
  EXPECT_THAT(ValidateImageIdentifier("repo/image latest", "source.image"),
              StatusIs(kInvalid, StartsWith("source.image: ")));
  EXPECT_THAT(ValidateImageIdentifier(std::string(1024, 'a'), "f"), IsOk());
  EXPECT_THAT(ValidateImageIdentifier(std::string(1025, 'a'), "f"),
              StatusIs(kInvalid, StartsWith("f: ")));
}

SourceConfiguration SourceWithPort(std::string port) {
  SourceConfiguration source;
  source.image_identifier = "public.ecr.aws/nginx/nginx:latest";
  source.image_configuration.port = std::move(port);
  return source;
}

TEST(ValidateSourceConfigurationTest, PortFromOneTo65535) {
  EXPECT_THAT(ValidateSourceConfiguration(SourceWithPort("1"), "source"),
              IsOk());
  EXPECT_THAT(ValidateSourceConfiguration(SourceWithPort("65535"), "source"),
              IsOk());
  for (const char* port : {"0", "65536", "-1", "http", ""}) {
    SCOPED_TRACE(port);
    EXPECT_THAT(
        ValidateSourceConfiguration(SourceWithPort(port), "source"),
        StatusIs(
            kInvalid,
            StartsWith("source.image_repository.image_configuration.port")));
  }
}

TEST(ValidateSourceConfigurationTest, PortIsDigitsOnly) {
  EXPECT_THAT(ValidateSourceConfiguration(SourceWithPort("08080"), "source"),
              IsOk());
  // absl::SimpleAtoi alone takes these, and the port was kept as written.
  for (const char* port : {" 8080", "8080 ", "+8080", "000008080"}) {
    SCOPED_TRACE(port);
    EXPECT_THAT(
        ValidateSourceConfiguration(SourceWithPort(port), "source"),
        StatusIs(
            kInvalid,
            StartsWith("source.image_repository.image_configuration.port")));
  }
}

TEST(ValidateSourceConfigurationTest, StartCommandIsOneLineOfAtMost51200) {
  SourceConfiguration source = SourceWithPort("8080");
  source.image_configuration.start_command = std::string(51200, 'x');
  EXPECT_THAT(ValidateSourceConfiguration(source, "source"), IsOk());
  source.image_configuration.start_command = std::string(51201, 'x');
  EXPECT_THAT(ValidateSourceConfiguration(source, "source"),
              StatusIs(kInvalid, StartsWith("source.image_repository.image_"
                                            "configuration.start_command")));
  for (const char* command : {"serve\nrm -rf /", "serve\r"}) {
    source.image_configuration.start_command = command;
    EXPECT_THAT(ValidateSourceConfiguration(source, "source"),
                StatusIs(kInvalid, StartsWith("source.image_repository.image_"
                                              "configuration.start_command")));
  }
}

TEST(ValidateSourceConfigurationTest, AtMostAHundredVariablesAndSecrets) {
  for (bool secrets : {false, true}) {
    SCOPED_TRACE(secrets);
    SourceConfiguration source = SourceWithPort("8080");
    auto& vars = secrets
                     ? source.image_configuration.runtime_environment_secrets
                     : source.image_configuration.runtime_environment_variables;
    for (int i = 0; i < 100; ++i) {
      vars[absl::StrCat("VAR_", i)] = "value";
    }
    EXPECT_THAT(ValidateSourceConfiguration(source, "source"), IsOk());
    vars["VAR_100"] = "value";
    EXPECT_THAT(
        ValidateSourceConfiguration(source, "source"),
        StatusIs(kInvalid, AllOf(StartsWith(absl::StrCat(
                                     "source.image_repository.image_"
                                     "configuration.runtime_environment_",
                                     secrets ? "secrets" : "variables")),
                                 HasSubstr("100"))));
  }
}

TEST(ValidateSourceConfigurationTest, VariableNamesAndValuesAreBounded) {
  SourceConfiguration source = SourceWithPort("8080");
  auto& vars = source.image_configuration.runtime_environment_variables;
  vars[std::string(256, 'N')] = std::string(51200, 'v');
  EXPECT_THAT(ValidateSourceConfiguration(source, "source"), IsOk());
  for (const auto& [name, value] :
       {std::pair<std::string, std::string>{std::string(257, 'N'), ""},
        {"", "v"},
        {"NAME", std::string(51201, 'v')}}) {
    vars.clear();
    vars[name] = value;
    EXPECT_THAT(ValidateSourceConfiguration(source, "source"),
                StatusIs(kInvalid, StartsWith("source.image_repository.image_"
                                              "configuration.runtime_"
                                              "environment_variables")));
  }
}

TEST(ValidateSourceConfigurationTest, MissingImageNamesItsField) {
  SourceConfiguration source = SourceWithPort("8080");
  source.image_identifier.clear();
  EXPECT_THAT(
      ValidateSourceConfiguration(source, "source_configuration"),
      StatusIs(kInvalid,
               StartsWith(
                   "source_configuration.image_repository.image_identifier")));
}

TEST(ValidateSourceConfigurationTest, RefusesReservedEnvironmentNames) {
  SourceConfiguration source = SourceWithPort("8080");
  source.image_configuration.runtime_environment_variables["AWSAPPRUNNER_X"] =
      "1";
  EXPECT_THAT(ValidateSourceConfiguration(source, "source"),
              StatusIs(kInvalid, StartsWith("source.image_repository.image_"
                                            "configuration.runtime_"
                                            "environment_variables")));
}

// --- Tags
// ----------------------------------------------------------------------

std::vector<Tag> NTags(int n) {
  std::vector<Tag> tags;
  for (int i = 0; i < n; ++i) {
    tags.push_back({absl::StrCat("key", i), absl::StrCat("value", i)});
  }
  return tags;
}

TEST(ValidateTagsTest, KeyFromOneTo128Characters) {
  EXPECT_THAT(ValidateTags({{"k", "v"}}, "tags"), IsOk());
  EXPECT_THAT(ValidateTags({{std::string(128, 'k'), "v"}}, "tags"), IsOk());
  EXPECT_THAT(ValidateTags({{"", "v"}}, "tags"),
              StatusIs(kInvalid, StartsWith("tags: ")));
  EXPECT_THAT(ValidateTags({{std::string(129, 'k'), "v"}}, "tags"),
              StatusIs(kInvalid, StartsWith("tags: ")));
}

TEST(ValidateTagsTest, ValueFromZeroTo256Characters) {
  EXPECT_THAT(ValidateTags({{"k", ""}}, "tags"), IsOk());
  EXPECT_THAT(ValidateTags({{"k", std::string(256, 'v')}}, "tags"), IsOk());
  EXPECT_THAT(ValidateTags({{"k", std::string(257, 'v')}}, "tags"),
              StatusIs(kInvalid, StartsWith("tags: ")));
}

TEST(ValidateTagsTest, RefusesTheAwsPrefix) {
  EXPECT_THAT(ValidateTags({{"aws:owner", "me"}}, "tags"),
              StatusIs(kInvalid, StartsWith("tags: ")));
  EXPECT_THAT(ValidateTagKeys({"aws:owner"}, "tag_keys"),
              StatusIs(kInvalid, StartsWith("tag_keys: ")));
  // Only the exact prefix is reserved.
  EXPECT_THAT(ValidateTags({{"aws", "x"}, {"my-aws:x", "y"}}, "tags"), IsOk());
}

TEST(ValidateTagsTest, RefusesRepeatedKeys) {
  EXPECT_THAT(
      ValidateTags({{"team", "a"}, {"team", "b"}}, "tags"),
      StatusIs(kInvalid, AllOf(StartsWith("tags: "), HasSubstr("team"))));
  EXPECT_THAT(ValidateTagKeys({"team", "env", "team"}, "tag_keys"),
              StatusIs(kInvalid, StartsWith("tag_keys: ")));
}

TEST(ValidateTagsTest, AtMostFiftyTags) {
  EXPECT_THAT(ValidateTags(NTags(50), "tags"), IsOk());
  EXPECT_THAT(ValidateTags(NTags(51), "tags"),
              StatusIs(kInvalid, StartsWith("tags: ")));
  EXPECT_THAT(ValidateTags({}, "tags"), IsOk());
}

TEST(ValidateTagsTest, AValueMessageNeverQuotesALongKey) {
  // The value used to be checked first, and its message quoted the whole key.
  const absl::Status status =
      ValidateTags({{std::string(5000, 'k'), std::string(300, 'v')}}, "tags");
  EXPECT_THAT(status, StatusIs(kInvalid, StartsWith("tags: ")));
  EXPECT_LT(status.message().size(), 300u);
}

TEST(ValidateTagsTest, TheCountIsCheckedBeforeEachKey) {
  std::vector<std::string> keys(51, std::string(200, 'k'));
  EXPECT_THAT(ValidateTagKeys(keys, "tag_keys"),
              StatusIs(kInvalid, AllOf(StartsWith("tag_keys: "),
                                       HasSubstr("at most 50"))));
}

// --- Page tokens and etags ---------------------------------------------------

TEST(ValidatePageTokenTest, AtMost1024Characters) {
  EXPECT_THAT(ValidatePageToken(""), IsOk());
  EXPECT_THAT(ValidatePageToken(std::string(1024, 'a')), IsOk());
  EXPECT_THAT(ValidatePageToken(std::string(1025, 'a')),
              StatusIs(kInvalid, AllOf(StartsWith("next_token: "),
                                       Not(HasSubstr("aaaa")))));
}

TEST(ValidateEtagTest, AtMost64Characters) {
  EXPECT_THAT(ValidateEtag(""), IsOk());
  EXPECT_THAT(ValidateEtag(std::string(64, '1')), IsOk());
  EXPECT_THAT(ValidateEtag(std::string(65, '1')),
              StatusIs(kInvalid, StartsWith("etag: ")));
}

// --- Page size -------------------------------------------------------------

TEST(PageSizeTest, AbsentMeansTwenty) {
  auto size = PageSize(std::nullopt);
  ASSERT_THAT(size, IsOk());
  EXPECT_EQ(*size, 20);
}

TEST(PageSizeTest, OneAndHundredAreKept) {
  EXPECT_EQ(PageSize(1).value_or(-1), 1);
  EXPECT_EQ(PageSize(100).value_or(-1), 100);
}

TEST(PageSizeTest, OutOfRangeNamesMaxResults) {
  for (int value : {0, 101, -1}) {
    SCOPED_TRACE(value);
    EXPECT_THAT(PageSize(value), StatusIs(kInvalid, StartsWith("max_results")));
  }
}

// --- Instance configuration ------------------------------------------------

InstanceConfiguration Instance(std::string cpu, std::string memory) {
  InstanceConfiguration instance;
  instance.cpu = std::move(cpu);
  instance.memory = std::move(memory);
  return instance;
}

TEST(CanonicalizeInstanceConfigurationTest, RewritesUnitsAsNumbers) {
  InstanceConfiguration instance = Instance("1 vCPU", "2 GB");
  ASSERT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"), IsOk());
  EXPECT_EQ(instance.cpu, "1024");
  EXPECT_EQ(instance.memory, "2048");

  instance = Instance("0.25 vCPU", "0.5 GB");
  ASSERT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"), IsOk());
  EXPECT_EQ(instance.cpu, "256");
  EXPECT_EQ(instance.memory, "512");
}

TEST(CanonicalizeInstanceConfigurationTest, KeepsNumbers) {
  InstanceConfiguration instance = Instance("4096", "12288");
  ASSERT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"), IsOk());
  EXPECT_EQ(instance.cpu, "4096");
  EXPECT_EQ(instance.memory, "12288");
}

TEST(CanonicalizeInstanceConfigurationTest, RefusesSizesAppRunnerLacks) {
  InstanceConfiguration instance = Instance("3 vCPU", "2 GB");
  EXPECT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"),
              StatusIs(kInvalid, StartsWith("instance.cpu")));
  EXPECT_EQ(instance.cpu, "3 vCPU") << "a refused value is left as given";

  instance = Instance("1024", "5 GB");
  EXPECT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"),
              StatusIs(kInvalid, StartsWith("instance.memory")));
  instance = Instance("1000", "2048");
  EXPECT_THAT(CanonicalizeInstanceConfiguration(instance, "instance"),
              StatusIs(kInvalid, StartsWith("instance.cpu")));
}

// --- Health check ---------------------------------------------------------

TEST(ValidateHealthCheckConfigurationTest, DefaultsAreValid) {
  EXPECT_THAT(ValidateHealthCheckConfiguration({}, "health"), IsOk());
}

TEST(ValidateHealthCheckConfigurationTest, NumbersFromOneToTwenty) {
  struct Field {
    const char* name;
    int HealthCheckConfiguration::*member;
  };
  const Field fields[] = {
      {"interval", &HealthCheckConfiguration::interval},
      {"timeout", &HealthCheckConfiguration::timeout},
      {"healthy_threshold", &HealthCheckConfiguration::healthy_threshold},
      {"unhealthy_threshold", &HealthCheckConfiguration::unhealthy_threshold},
  };
  for (const Field& field : fields) {
    SCOPED_TRACE(field.name);
    HealthCheckConfiguration health;
    for (int ok : {1, 20}) {
      health.*field.member = ok;
      EXPECT_THAT(ValidateHealthCheckConfiguration(health, "health"), IsOk());
    }
    for (int bad : {0, 21, -5}) {
      health.*field.member = bad;
      EXPECT_THAT(
          ValidateHealthCheckConfiguration(health, "health"),
          StatusIs(kInvalid, StartsWith(absl::StrCat("health.", field.name))));
    }
  }
}

TEST(ValidateHealthCheckConfigurationTest, PathMustBeNonEmptyWithoutSpaces) {
  HealthCheckConfiguration health;
  health.path = "";
  EXPECT_THAT(ValidateHealthCheckConfiguration(health, "health"),
              StatusIs(kInvalid, StartsWith("health.path")));
  health.path = "/health check";
  EXPECT_THAT(ValidateHealthCheckConfiguration(health, "health"),
              StatusIs(kInvalid, StartsWith("health.path")));
  health.path = "/healthz";
  EXPECT_THAT(ValidateHealthCheckConfiguration(health, "health"), IsOk());
}

TEST(ValidateConnectionNameTest, FourToThirtyTwoNameCharacters) {
  EXPECT_THAT(ValidateConnectionName("gh-1", "connection_name"), IsOk());
  EXPECT_THAT(ValidateConnectionName(std::string(32, 'a'), "connection_name"),
              IsOk());
  const std::vector<std::string> bad = {"abc", std::string(33, 'a'), "-abc",
                                        "ab cd"};
  for (const std::string& name : bad) {
    EXPECT_THAT(ValidateConnectionName(name, "connection_name"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::StartsWith("connection_name: ")))
        << name;
  }
}

TEST(CanonicalDomainNameTest, AcceptsDnsNamesInLowerCase) {
  auto lower = CanonicalDomainName("Shop.Example.COM", "domain_name");
  ASSERT_THAT(lower, IsOk());
  EXPECT_EQ(*lower, "shop.example.com");
  auto wildcard = CanonicalDomainName("*.example.com", "domain_name");
  ASSERT_THAT(wildcard, IsOk());
  EXPECT_EQ(*wildcard, "*.example.com");
  EXPECT_THAT(
      CanonicalDomainName(absl::StrCat(std::string(63, 'a'), ".example.com"),
                          "domain_name"),
      IsOk());
}

TEST(CanonicalDomainNameTest, RefusesWhatIsNotADnsName) {
  std::string too_long;
  for (int i = 0; i < 64; ++i) too_long += "abc.";
  too_long += "com";
  const std::vector<std::string> bad = {
      "",
      "example",
      ".example.com",
      "a..com",
      "-a.com",
      "a-.com",
      "a_b.com",
      "*.com.*",
      "*.",
      absl::StrCat(std::string(64, 'a'), ".com"),
      too_long};
  for (const std::string& name : bad) {
    EXPECT_THAT(CanonicalDomainName(name, "domain_name"),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         ::testing::StartsWith("domain_name: ")))
        << name;
  }
}

}  // namespace
