// servicemanager: flags, database, worker and gRPC server; stops on SIGTERM.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/change_hub.h"
#include "api/service_manager_service.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "common/log.h"
#include "domain/arn.h"
#include "runtime/simulated_runtime.h"
#include "store/sqlite_store.h"
#include "worker/janitor.h"
#include "worker/operation_worker.h"

namespace {

using servicemanager::common::Log;
using servicemanager::common::LogLevel;

struct Flags {
  std::string listen = "127.0.0.1:50051";
  std::string data_dir = "./data";
  int worker_delay_ms = 200;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string service_url_domain = "servicemanager.local";
  std::string sqlite_synchronous = "full";
  std::string retention = "720h";
  std::string client_token_retention = "24h";
  std::string janitor_interval = "1m";
  std::vector<std::string> operation_deadlines;
};

// The deadlines of --operation-deadline: "DURATION" for every type, or
// "TYPE=DURATION" for one (the later wins).
absl::StatusOr<servicemanager::store::SqliteOptions> WithDeadlines(
    servicemanager::store::SqliteOptions options,
    const std::vector<std::string>& specs) {
  for (const std::string& spec : specs) {
    std::vector<std::string> parts =
        absl::StrSplit(spec, absl::MaxSplits('=', 1));
    absl::Duration deadline;
    if (!absl::ParseDuration(parts.back(), &deadline) ||
        deadline <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--operation-deadline ", spec, ": not a positive duration"));
    }
    if (parts.size() == 1) {
      options.default_operation_deadline = deadline;
      options.operation_deadlines.clear();
      continue;
    }
    std::optional<servicemanager::domain::OperationType> type =
        servicemanager::domain::ParseOperationType(parts[0]);
    if (!type) {
      return absl::InvalidArgumentError(
          absl::StrCat("--operation-deadline ", spec,
                       ": unknown operation type ", parts[0]));
    }
    options.operation_deadlines[*type] = deadline;
  }
  return options;
}

[[noreturn]] void Fatal(const std::string& message) {
  Log(LogLevel::kError, message);
  std::exit(1);
}

// A duration flag, already checked by CheckDuration.
absl::Duration ParseDurationFlag(const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration)) {
    Fatal(absl::StrCat("not a duration: ", text));
  }
  return duration;
}

// Accepts a positive duration of at least `minimum`, such as "90s" or "24h".
CLI::Validator CheckDuration(absl::Duration minimum) {
  return CLI::Validator(
      [minimum](std::string& text) -> std::string {
        absl::Duration duration;
        if (!absl::ParseDuration(text, &duration)) {
          return "not a duration such as 90s, 30m or 720h";
        }
        if (duration < minimum || duration <= absl::ZeroDuration()) {
          return absl::StrCat("must be at least ",
                              absl::FormatDuration(minimum));
        }
        return "";
      },
      "DURATION");
}

int Run(const Flags& flags) {
  // Signals are taken by sigwait below; every thread started from here on
  // inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::error_code error;
  std::filesystem::create_directories(flags.data_dir, error);
  if (error) {
    Fatal(absl::StrCat("cannot create --data-dir ", flags.data_dir, ": ",
                       error.message()));
  }
  servicemanager::common::RealClock clock;
  servicemanager::common::RandomIdGenerator ids;
  servicemanager::store::SqliteOptions options;
  options.path =
      (std::filesystem::path(flags.data_dir) / "servicemanager.db").string();
  options.url_suffix =
      absl::StrCat(flags.region, ".", flags.service_url_domain);
  options.synchronous_full = flags.sqlite_synchronous == "full";
  absl::StatusOr<servicemanager::store::SqliteOptions> with_deadlines =
      WithDeadlines(options, flags.operation_deadlines);
  if (!with_deadlines.ok()) {
    Fatal(std::string(with_deadlines.status().message()));
  }
  options = *std::move(with_deadlines);
  servicemanager::api::ChangeHub hub;
  auto store =
      servicemanager::store::SqliteStore::Open(options, clock, ids, &hub);
  if (!store.ok()) {
    Fatal(absl::StrCat("cannot open the database ", options.path, ": ",
                       store.status().message()));
  }

  servicemanager::runtime::SimulatedRuntime runtime;
  servicemanager::worker::OperationWorker worker(
      **store, runtime, clock,
      {.compute_time = absl::Milliseconds(flags.worker_delay_ms)});
  servicemanager::worker::Janitor janitor(
      **store, clock,
      {.retention = ParseDurationFlag(flags.retention),
       .client_token_retention =
           ParseDurationFlag(flags.client_token_retention),
       .interval = ParseDurationFlag(flags.janitor_interval)});
  servicemanager::api::ServiceManagerService service(
      **store, hub, clock,
      {.partition = {flags.region, flags.account_id},
       .retention = ParseDurationFlag(flags.retention)},
      [&worker] { worker.Wake(); });

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(flags.listen, grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    Fatal(absl::StrCat("cannot listen on --listen ", flags.listen));
  }
  worker.Start();
  janitor.Start();
  const std::string host = flags.listen.substr(0, flags.listen.rfind(':'));
  Log(LogLevel::kInfo,
      absl::StrCat("servicemanager ready: listening on ", host, ":", port,
                   ", database ", options.path, ", region ", flags.region,
                   ", account ", flags.account_id, ", worker delay ",
                   flags.worker_delay_ms, "ms"));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo,
      absl::StrCat("received signal ", signal_number, ", shutting down"));
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  janitor.Stop();
  worker.Stop();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  CLI::App app{
      "servicemanager: manages web services' lifecycle (create, pause, resume, "
      "delete) the way AWS App Runner does, over gRPC, stored in SQLite."};
  app.add_option("--listen", flags.listen, "gRPC address, HOST:PORT")
      ->capture_default_str();
  app.add_option("--data-dir", flags.data_dir,
                 "directory of the SQLite file servicemanager.db (created if "
                 "missing)")
      ->capture_default_str();
  app.add_option("--worker-delay-ms", flags.worker_delay_ms,
                 "how long the simulated compute step of an operation takes")
      ->capture_default_str()
      ->check(CLI::Range(0, 3600 * 1000));
  app.add_option("--region", flags.region, "region in ARNs and URLs")
      ->capture_default_str()
      ->check([](const std::string& value) -> std::string {
        for (char c : value) {
          if (!absl::ascii_islower(static_cast<unsigned char>(c)) &&
              !absl::ascii_isdigit(static_cast<unsigned char>(c)) && c != '-') {
            return "a region is lowercase letters, digits and '-'";
          }
        }
        return value.empty() || value.size() > 63 ? "1 to 63 characters" : "";
      });
  app.add_option("--account-id", flags.account_id, "12-digit account id")
      ->capture_default_str()
      ->check([](const std::string& value) -> std::string {
        bool digits = value.size() == 12;
        for (char c : value) {
          digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
        }
        return digits ? "" : "an account id is 12 digits";
      });
  app.add_option("--service-url-domain", flags.service_url_domain,
                 "domain of service URLs: LABEL.REGION.DOMAIN")
      ->capture_default_str();
  app.add_option("--sqlite-synchronous", flags.sqlite_synchronous,
                 "full: a commit survives power loss; normal: it survives a "
                 "process crash")
      ->capture_default_str()
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--retention", flags.retention,
                 "how long finished operations and deleted services are kept")
      ->capture_default_str()
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--client-token-retention", flags.client_token_retention,
                 "how long a client_token is remembered (at least 24h)")
      ->capture_default_str()
      ->check(CheckDuration(absl::Hours(24)));
  app.add_option("--janitor-interval", flags.janitor_interval,
                 "time between two purges of what is past retention")
      ->capture_default_str()
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--operation-deadline", flags.operation_deadlines,
                 "how long an operation may run before the worker fails it: "
                 "DURATION for every type (default 30m) or TYPE=DURATION, "
                 "e.g. PAUSE_SERVICE=10m; repeatable")
      ->type_name("[TYPE=]DURATION");
  CLI11_PARSE(app, argc, argv);
  return Run(flags);
}
