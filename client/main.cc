// smctl: the command-line client of ServiceManager, used like the AWS CLI's
// "aws apprunner" commands. Exits 0 on success, 1 when the call fails and 2 on
// a usage error. The global options may come before or after the
// subcommand, as with the AWS CLI.
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "client/commands.h"
#include "client/output.h"
#include "client/service_manager_client.h"

namespace {

constexpr int kApiErrorExitCode = 1;
constexpr int kUsageErrorExitCode = 2;

// Accepts a number greater than zero.
std::string CheckPositive(std::string& text) {
  double value;
  if (absl::SimpleAtod(text, &value) && value > 0) return "";
  return "must be a number greater than 0";
}

}  // namespace

int main(int argc, char** argv) {
  namespace client = servicemanager::client;

  CLI::App app("Manages the services of a ServiceManager server.", "smctl");
  app.require_subcommand(1);
  // Set before the subcommands are added, which inherit it: lets the global
  // options follow the subcommand.
  app.fallthrough();
  app.footer(
      "Each subcommand has --help. Exit status: 0 on success, 1 when the call "
      "fails (with the App Runner exception name on stderr), 2 on a usage "
      "error.");
  std::string endpoint = "127.0.0.1:50051";
  app.add_option("--endpoint", endpoint, "The server, as HOST:PORT.")
      ->type_name("HOST:PORT")
      ->envname("SERVICEMANAGER_ENDPOINT")
      ->capture_default_str();
  bool tls = false;
  app.add_flag("--tls", tls,
               "Speak TLS, verifying the server with the system's CAs (or "
               "--tls-ca).")
      ->envname("SMCTL_TLS");
  client::TlsFiles tls_files;
  app.add_option("--tls-ca", tls_files.ca,
                 "PEM CA certificate that verifies the server; implies --tls.")
      ->type_name("FILE")
      ->envname("SMCTL_TLS_CA");
  app.add_option("--tls-cert", tls_files.certificate,
                 "PEM client certificate for mTLS, with --tls-key; implies "
                 "--tls.")
      ->type_name("FILE")
      ->envname("SMCTL_TLS_CERT");
  app.add_option("--tls-key", tls_files.key, "PEM key of --tls-cert.")
      ->type_name("FILE")
      ->envname("SMCTL_TLS_KEY");
  std::string token;
  app.add_option("--token", token,
                 "Bearer token sent with every call (authorization: Bearer).")
      ->type_name("TOKEN")
      ->envname("SERVICEMANAGER_TOKEN");
  double timeout_seconds = 30;
  app.add_option("--timeout", timeout_seconds,
                 "How long to wait for the server's answer, in seconds.")
      ->type_name("SECONDS")
      ->check(CLI::Validator(CheckPositive, "POSITIVE"))
      ->capture_default_str();
  std::string output = "json";
  app.add_option("--output", output,
                 "How to print responses: json (protobuf's JSON), table (an "
                 "ASCII table) or text (tab-separated lines), as in the AWS "
                 "CLI.")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"json", "table", "text"}))
      ->capture_default_str();
  const std::vector<client::Command> commands = client::AddCommands(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == EXIT_SUCCESS ? EXIT_SUCCESS : kUsageErrorExitCode;
  }

  // parse() succeeded, so exactly one subcommand was given.
  const auto command = absl::c_find_if(
      commands,
      [](const client::Command& candidate) { return candidate.app->parsed(); });
  std::shared_ptr<grpc::Channel> channel;
  if (tls || !tls_files.ca.empty() || !tls_files.certificate.empty() ||
      !tls_files.key.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::Channel>> secure =
        client::MakeTlsChannel(endpoint, tls_files);
    if (!secure.ok()) {
      std::cerr << "smctl: " << secure.status().message() << "\n";
      return kUsageErrorExitCode;
    }
    channel = *std::move(secure);
  } else {
    channel = client::MakeChannel(endpoint);
  }
  const client::ServiceManagerClient service_manager(
      std::move(channel), absl::Seconds(timeout_seconds), token);
  const client::Io io{.out = std::cout,
                      .err = std::cerr,
                      .terminal = isatty(STDERR_FILENO) == 1,
                      // The check above accepts only valid names.
                      .output = *client::ParseOutputFormat(output)};
  if (absl::Status status = command->run(service_manager, io); !status.ok()) {
    if (status.GetPayload(client::kOperationFailed).has_value()) {
      std::cerr << status.message() << "\n";
    } else {
      std::cerr << client::ApiErrorLine(command->operation, status) << "\n";
    }
    return kApiErrorExitCode;
  }
  return EXIT_SUCCESS;
}
