// servicemanager: flags, database, worker and gRPC server; stops on SIGTERM.
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/service_manager_service.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "common/log.h"
#include "domain/arn.h"
#include "runtime/simulated_runtime.h"
#include "store/sqlite_store.h"
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
};

[[noreturn]] void Fatal(const std::string& message) {
  Log(LogLevel::kError, message);
  std::exit(1);
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
  auto store = servicemanager::store::SqliteStore::Open(options, clock, ids);
  if (!store.ok()) {
    Fatal(absl::StrCat("cannot open the database ", options.path, ": ",
                       store.status().message()));
  }

  servicemanager::runtime::SimulatedRuntime runtime;
  servicemanager::worker::OperationWorker worker(
      **store, runtime, clock,
      {.compute_time = absl::Milliseconds(flags.worker_delay_ms)});
  servicemanager::api::ServiceManagerService service(
      **store, {flags.region, flags.account_id}, [&worker] { worker.Wake(); });

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
  CLI11_PARSE(app, argc, argv);
  return Run(flags);
}
