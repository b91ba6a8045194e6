// smctl's command line without a server: required options that
// --cli-input-json may give instead, and the usage errors CLI11 reports.
#include "client/commands.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace servicemanager::client {
namespace {

using ::testing::HasSubstr;

// Parses smctl's arguments (without the program name) into a fresh App.
void Parse(std::vector<std::string> args) {
  CLI::App app("smctl", "smctl");
  app.fallthrough();
  app.require_subcommand(1);
  const std::vector<Command> commands = AddCommands(app);
  // CLI11 takes the arguments last first.
  std::reverse(args.begin(), args.end());
  app.parse(args);
}

// The message of the CLI::RequiredError that parsing `args` throws.
std::string RequiredErrorOf(std::vector<std::string> args) {
  try {
    Parse(std::move(args));
  } catch (const CLI::RequiredError& e) {
    return e.what();
  }
  return "no RequiredError";
}

TEST(CommandsTest, EverySubcommandIsThere) {
  CLI::App app("smctl", "smctl");
  std::vector<std::string> names;
  for (const Command& command : AddCommands(app)) {
    names.push_back(command.app->get_name());
    EXPECT_FALSE(command.app->get_description().empty()) << names.back();
    EXPECT_NE(command.app->get_option_no_throw("--cli-input-json"), nullptr)
        << names.back();
  }
  EXPECT_THAT(names,
              ::testing::ElementsAre(
                  "create-service", "describe-service", "list-services",
                  "update-service", "start-deployment", "pause-service",
                  "resume-service", "delete-service", "list-operations",
                  "describe-operation", "wait-operation", "cancel-operation",
                  "watch-service", "tag-resource", "untag-resource",
                  "list-tags-for-resource", "notify-source-version",
                  "create-connection", "delete-connection", "list-connections",
                  "associate-custom-domain", "disassociate-custom-domain",
                  "describe-custom-domains"));
}

TEST(CommandsTest, RequiredOptionsNameTheOptionAndTheJsonField) {
  EXPECT_EQ(RequiredErrorOf({"pause-service"}),
            "--service-arn is required (as an option or as \"serviceArn\" in "
            "--cli-input-json)");
  EXPECT_THAT(RequiredErrorOf({"create-service", "--service-name", "a-web"}),
              HasSubstr("--source-configuration is required"));
  EXPECT_THAT(
      RequiredErrorOf({"create-connection", "--connection-name", "my-github"}),
      HasSubstr("--provider-type is required"));
  EXPECT_THAT(
      RequiredErrorOf({"associate-custom-domain", "--service-arn", "arn"}),
      HasSubstr("--domain-name is required"));
  EXPECT_THAT(RequiredErrorOf({"tag-resource", "--resource-arn", "arn"}),
              HasSubstr("--tags is required"));
  EXPECT_THAT(RequiredErrorOf({"describe-operation"}),
              HasSubstr("--operation-id is required"));
  EXPECT_THAT(RequiredErrorOf({"notify-source-version", "--service-arn", "a"}),
              HasSubstr("--image-identifier is required"));
}

TEST(CommandsTest, CliInputJsonGivesWhatAnOptionWould) {
  EXPECT_NO_THROW(
      Parse({"pause-service", "--cli-input-json", R"({"ServiceArn":"arn"})"}));
  EXPECT_NO_THROW(
      Parse({"create-service", "--cli-input-json",
             R"({"serviceName":"a-web","sourceConfiguration":{}})"}));
  EXPECT_NO_THROW(
      Parse({"create-service", "--service-name", "a-web", "--cli-input-json",
             R"({"source_configuration":{}})"}));
  EXPECT_NO_THROW(Parse({"list-services", "--cli-input-json",
                         R"({"MaxResults":5})", "--no-paginate"}));
}

TEST(CommandsTest, BadJsonOrTagsAreValidationErrors) {
  EXPECT_THROW(Parse({"pause-service", "--cli-input-json", "{not json"}),
               CLI::ValidationError);
  EXPECT_THROW(Parse({"pause-service", "--cli-input-json",
                      R"({"serviceArn":"a","unknown":1})"}),
               CLI::ValidationError);
  EXPECT_THROW(Parse({"pause-service", "--cli-input-json",
                      "file:///nonexistent/smctl-input.json"}),
               CLI::ValidationError);
  EXPECT_THROW(
      Parse({"tag-resource", "--resource-arn", "a", "--tags", "team=web"}),
      CLI::ValidationError);
}

TEST(CommandsTest, GlobalOptionsMayFollowTheSubcommand) {
  CLI::App app("smctl", "smctl");
  app.fallthrough();
  std::string output;
  app.add_option("--output", output);
  const std::vector<Command> commands = AddCommands(app);
  std::vector<std::string> args = {"describe-service", "--service-arn", "a",
                                   "--output", "text"};
  std::reverse(args.begin(), args.end());
  app.parse(args);
  EXPECT_EQ(output, "text");
}

TEST(ParseTagTest, TakesTheAwsShorthand) {
  absl::StatusOr<v1::Tag> tag = ParseTag("Key=team,Value=web");
  ASSERT_TRUE(tag.ok());
  EXPECT_EQ(tag->key(), "team");
  EXPECT_EQ(tag->value(), "web");
  EXPECT_TRUE(ParseTag("Key=empty,Value=").ok());
  EXPECT_FALSE(ParseTag("team=web").ok());
  EXPECT_FALSE(ParseTag("Key=a").ok());
  EXPECT_FALSE(ParseTag("Key=a,Key=b,Value=c").ok());
}

}  // namespace
}  // namespace servicemanager::client
