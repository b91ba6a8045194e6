// smctl's subcommands: their options, named like the AWS CLI's "aws apprunner"
// ones, and one function per subcommand that makes the call and prints the
// response.
#ifndef SERVICEMANAGER_CLIENT_COMMANDS_H_
#define SERVICEMANAGER_CLIENT_COMMANDS_H_

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/output.h"
#include "client/service_manager_client.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::client {

// Where and how a command prints: the response on `out` in `output`,
// progress and errors on `err`, which may be a terminal.
struct Io {
  std::ostream& out;
  std::ostream& err;
  bool terminal = false;  // Whether `err` is a terminal.
  OutputFormat output = OutputFormat::kJson;
};

// The payload key of the status a command returns when its call succeeded
// but the operation it waited for (--wait) did not; the message says how it
// ended.
inline constexpr char kOperationFailed[] = "smctl-operation-failed";

// A subcommand added to a CLI::App, with the request its options fill in.
// Not thread-safe: parsing the command line writes the request.
struct Command {
  // The subcommand; owned by the CLI::App it was added to.
  CLI::App* app;
  // The operation it calls, as error messages name it: "PauseService".
  std::string operation;
  // Sends the request, prints the response and returns OK, or returns the
  // status of the failed call (or of the awaited operation).
  std::function<absl::Status(const ServiceManagerClient&, const Io&)> run;
};

// Adds smctl's subcommands to `app`, which must outlive the result. Each
// takes --cli-input-json, the whole request as JSON; the options given as
// well replace the fields they set. A malformed JSON or tag option makes
// `app.parse` throw CLI::ValidationError, and a request that lacks a
// required field once both are combined CLI::RequiredError naming the
// option. The list commands fetch every page unless --no-paginate is given.
std::vector<Command> AddCommands(CLI::App& app);

// Parses a tag written in the AWS CLI's shorthand, "Key=KEY,Value=VALUE".
absl::StatusOr<v1::Tag> ParseTag(absl::string_view text);

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_COMMANDS_H_
