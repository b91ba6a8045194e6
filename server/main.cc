// servicemanager: flags, database, worker, gRPC server (with health checking,
// reflection and RPC logging), the optional /metrics endpoint and the optional
// App Runner (AWS JSON) endpoint; drains and stops on SIGTERM or SIGINT.
#include <grpc/support/log.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/cleanup/cleanup.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/authorizer.h"
#include "api/change_hub.h"
#include "api/service_manager_service.h"
#include "api/tls_credentials.h"
#include "auth/principals.h"
#include "aws/app_runner_translator.h"
#include "aws/aws_endpoint.h"
#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "common/log.h"
#include "common/process_defaults.h"
#include "domain/arn.h"
#include "grpc/health/v1/health.pb.h"
#include "observability/metrics.h"
#include "observability/rpc_recorder.h"
#include "prometheus/exposer.h"
#include "runtime/podman_runtime.h"
#include "runtime/simulated_runtime.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "store/open_store.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "worker/janitor.h"
#include "worker/operation_worker.h"

namespace {

using servicemanager::common::Log;
using servicemanager::common::LogFormat;
using servicemanager::common::LogLevel;

struct Flags {
  std::string listen = "127.0.0.1:50051";
  std::string data_dir = "./data";
  std::string database_url;  // Empty: SQLite under data_dir.
  int postgres_pool_size = servicemanager::store::PostgresOptions{}.pool_size;
  int worker_delay_ms = 200;
  std::string lease = "30s";
  int max_attempts = 3;
  std::string poll_interval = "5s";
  std::string replica_id;  // Empty: hostname-pid-random.
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string service_url_domain = "servicemanager.local";
  std::string sqlite_synchronous = "full";
  std::string log_format = "text";
  std::string metrics_listen;        // Empty: no /metrics.
  std::string aws_listen;            // Empty: no App Runner endpoint.
  std::string aws_credentials_file;  // Empty: any signature (loopback only).
  int shutdown_grace_seconds = 10;
  std::string retention = "720h";
  std::string client_token_retention = "24h";
  std::string certificate_retention = "168h";
  std::string janitor_interval = "1m";
  std::vector<std::string> operation_deadlines;
  std::string tls_cert;  // Empty: plaintext (loopback only).
  std::string tls_key;
  std::string tls_client_ca;     // Empty: no client certificates.
  std::string auth_tokens_file;  // Empty: auth off (loopback only).
  bool insecure = false;
  std::string health_listen;          // Empty: health on --listen only.
  std::string runtime = "simulated";  // Or "podman".
  std::string podman_socket = "/run/podman/podman.sock";
  std::string port_range = "20000-20999";
  std::string bind_address = "127.0.0.1";
};

// How the gRPC server is reached and who may call it.
struct Security {
  std::shared_ptr<grpc::ServerCredentials> credentials;
  // For the App Runner endpoint (auth on): its bearer token of each key.
  absl::flat_hash_map<std::string, std::string> access_key_bearer_tokens = {};
};

// How often the TLS files are looked at for a renewed certificate.
constexpr absl::Duration kTlsRefresh = absl::Minutes(1);

// The inclusive host port range of --port-range "FIRST-LAST".
absl::StatusOr<std::pair<int, int>> ParsePortRange(absl::string_view range) {
  std::vector<absl::string_view> parts = absl::StrSplit(range, '-');
  int first = 0;
  int last = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &first) ||
      !absl::SimpleAtoi(parts[1], &last) || first < 1 || last > 65535 ||
      first > last) {
    return absl::InvalidArgumentError(
        absl::StrCat("--port-range ", range,
                     ": not FIRST-LAST with 1 <= FIRST <= LAST <= "
                     "65535"));
  }
  return std::pair{first, last};
}

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

// Unique per process: the host, the process id and a random part (so a
// restarted process with a recycled pid is another replica).
std::string DefaultReplicaId(servicemanager::common::IdGenerator& ids) {
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) != 0) {
    host[0] = '\0';
  }
  return absl::StrCat(host[0] == '\0' ? "servicemanager" : host, "-", getpid(),
                      "-", ids.NewUrlLabel());
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

// gRPC's own messages (errors only, unless GRPC_VERBOSITY says otherwise) go
// through Log, so that in json mode every line of stderr is an object.
void LogGrpcMessage(gpr_log_func_args* args) {
  Log(args->severity == GPR_LOG_SEVERITY_ERROR ? LogLevel::kError
                                               : LogLevel::kInfo,
      args->message != nullptr ? args->message : "",
      {{"component", "grpc"},
       {"file", args->file != nullptr ? args->file : ""},
       {"line", args->line}});
}

// "HOST" of "HOST:PORT", for the lines that report the port that was bound.
std::string HostOf(const std::string& address) {
  return address.substr(0, address.rfind(':'));
}

// Runs the worker, the gRPC server, the metrics endpoint and the App Runner
// endpoint on an open store until SIGTERM or SIGINT, then stops them in order.
// The store is closed by the caller, after everything that uses it is gone.
void Serve(const Flags& flags,
           const std::vector<servicemanager::aws::AwsCredential>& aws_keys,
           const Security& security,
           const servicemanager::api::Authorizer& authorizer,
           const sigset_t& signals, const std::string& database_path,
           servicemanager::store::Store& store,
           servicemanager::api::ChangeHub& hub,
           servicemanager::observability::Metrics& metrics,
           servicemanager::common::Clock& clock) {
  namespace observability = servicemanager::observability;
  std::unique_ptr<servicemanager::runtime::Runtime> runtime;
  if (flags.runtime == "podman") {
    const std::pair<int, int> ports = *ParsePortRange(flags.port_range);
    auto podman = std::make_unique<servicemanager::runtime::PodmanRuntime>(
        servicemanager::runtime::PodmanOptions{
            .socket_path = flags.podman_socket,
            .bind_address = flags.bind_address,
            .first_port = ports.first,
            .last_port = ports.second},
        store);
    if (absl::Status ping = podman->Ping(); !ping.ok()) {
      Fatal(absl::StrCat("--runtime podman: podman does not answer on ",
                         flags.podman_socket, ": ", ping.message()));
    }
    Log(LogLevel::kInfo,
        absl::StrCat("runtime: podman on ", flags.podman_socket,
                     ", services published on ", flags.bind_address, " ports ",
                     flags.port_range));
    runtime = std::move(podman);
  } else {
    runtime = std::make_unique<servicemanager::runtime::SimulatedRuntime>();
  }
  servicemanager::worker::OperationWorker worker(
      store, *runtime, clock,
      {.compute_time = absl::Milliseconds(flags.worker_delay_ms),
       .reconcile_on_start = flags.runtime == "podman",
       .lease = ParseDurationFlag(flags.lease),
       .max_attempts = flags.max_attempts,
       .poll_interval = ParseDurationFlag(flags.poll_interval)});
  // Other replicas' new operations wake this worker (PostgreSQL).
  hub.SetRemoteWorkCallback([&worker] { worker.Wake(); });
  const absl::Cleanup forget_worker = [&hub] {
    hub.SetRemoteWorkCallback(nullptr);
  };
  servicemanager::worker::Janitor janitor(
      store, clock,
      {.retention = ParseDurationFlag(flags.retention),
       .client_token_retention =
           ParseDurationFlag(flags.client_token_retention),
       .certificate_retention = ParseDurationFlag(flags.certificate_retention),
       .interval = ParseDurationFlag(flags.janitor_interval)});
  // Every call of the API is logged and counted; so are calls of methods the
  // server does not have, under "unknown".
  absl::flat_hash_set<std::string> methods = observability::MethodsOf(
      {servicemanager::v1::ServiceManager::service_full_name()});
  metrics.InitializeRpcs(
      std::vector<std::string>(methods.begin(), methods.end()));
  const observability::RpcRecorder recorder(metrics, std::move(methods));
  observability::UnknownMethods unknown_methods(recorder);
  servicemanager::api::ServiceManagerService service(
      store, hub, clock, authorizer,
      {.region = flags.region,
       .retention = ParseDurationFlag(flags.retention),
       .rpc_recorder = &recorder},
      [&worker] { worker.Wake(); });

  // The worker runs before the server answers, so that health is SERVING
  // only once migrations have run (the store is open) and the worker is up.
  worker.Start();
  janitor.Start();

  auto stats =
      std::make_shared<observability::StoreStatsCollector>(store, clock);
  std::unique_ptr<prometheus::Exposer> exposer;
  if (!flags.metrics_listen.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(flags.metrics_listen);
    } catch (const std::exception& e) {
      janitor.Stop();
      worker.Stop();
      Fatal(absl::StrCat("cannot listen on --metrics-listen ",
                         flags.metrics_listen, ": ", e.what()));
    }
    exposer->RegisterCollectable(metrics.registry());
    exposer->RegisterCollectable(stats);
    const std::vector<int> ports = exposer->GetListeningPorts();
    Log(LogLevel::kInfo,
        absl::StrCat("metrics: serving http://", HostOf(flags.metrics_listen),
                     ":", ports.empty() ? 0 : ports.front(), "/metrics"));
  }

  // grpc.health.v1.Health: "" (the whole server) and the API by name.
  grpc::EnableDefaultHealthCheckService(true);
  // grpc.reflection.v1alpha.ServerReflection, for grpcurl and the like.
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  // Referring to the health messages links their descriptors in, so that
  // reflection can describe grpc.health.v1.Health too.
  grpc::health::v1::HealthCheckRequest::descriptor();

  grpc::ServerBuilder builder;
  // gRPC sets SO_REUSEPORT by default: a second server on the same port would
  // start and silently take half the connections. A taken port is an error.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  builder.SetMaxReceiveMessageSize(servicemanager::api::kMaxRequestBytes);
  int port = 0;
  builder.AddListeningPort(flags.listen, security.credentials, &port);
  builder.RegisterService(&service);
  builder.RegisterCallbackGenericService(&unknown_methods);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    janitor.Stop();
    worker.Stop();
    Fatal(absl::StrCat("cannot listen on --listen ", flags.listen));
  }

  // The App Runner endpoint calls the API through the server's in-process
  // channel, so every rule (and the RPC log and metrics) is the gRPC API's.
  std::unique_ptr<servicemanager::aws::AppRunnerTranslator> translator;
  std::unique_ptr<servicemanager::aws::SigV4Verifier> verifier;
  std::unique_ptr<servicemanager::aws::AwsEndpoint> aws_endpoint;
  if (!flags.aws_listen.empty()) {
    translator = std::make_unique<servicemanager::aws::AppRunnerTranslator>(
        server->InProcessChannel(grpc::ChannelArguments()));
    if (!aws_keys.empty()) {
      // With auth on, a key of any account is accepted: its principal's
      // account and role decide what it may do.
      verifier = std::make_unique<servicemanager::aws::SigV4Verifier>(
          aws_keys, flags.region, "apprunner",
          flags.auth_tokens_file.empty()
              ? std::optional<std::string>(flags.account_id)
              : std::nullopt,
          clock);
    }
    absl::StatusOr<std::unique_ptr<servicemanager::aws::AwsEndpoint>> started =
        servicemanager::aws::AwsEndpoint::Start(
            *translator, verifier.get(), clock,
            {.listen = flags.aws_listen,
             .access_key_bearer_tokens = security.access_key_bearer_tokens});
    if (!started.ok()) {
      server->Shutdown();
      janitor.Stop();
      worker.Stop();
      Fatal(absl::StrCat("cannot listen on --aws-listen ", flags.aws_listen,
                         ": ", started.status().message()));
    }
    aws_endpoint = *std::move(started);
    Log(LogLevel::kInfo,
        absl::StrCat("aws: serving App Runner's API on http://",
                     HostOf(flags.aws_listen), ":", aws_endpoint->port(),
                     verifier ? ", SigV4 verified"
                              : ", any signature accepted (loopback only)"));
  }

  // Plaintext health for probes that cannot speak TLS (the kubelet's): a
  // server of its own that serves grpc.health.v1.Health, never the API.
  std::unique_ptr<grpc::Server> health_server;
  if (!flags.health_listen.empty()) {
    grpc::ServerBuilder health_builder;
    health_builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    int health_port = 0;
    health_builder.AddListeningPort(
        flags.health_listen, grpc::InsecureServerCredentials(), &health_port);
    health_server = health_builder.BuildAndStart();
    if (health_server == nullptr || health_port == 0) {
      if (aws_endpoint != nullptr) aws_endpoint->Stop();
      server->Shutdown();
      janitor.Stop();
      worker.Stop();
      Fatal(absl::StrCat("cannot listen on --health-listen ",
                         flags.health_listen));
    }
    Log(LogLevel::kInfo,
        absl::StrCat("health: serving grpc.health.v1.Health on ",
                     HostOf(flags.health_listen), ":", health_port,
                     " (plaintext)"));
  }
  std::vector<grpc::HealthCheckServiceInterface*> healths = {
      server->GetHealthCheckService()};
  if (health_server != nullptr) {
    healths.push_back(health_server->GetHealthCheckService());
  }
  for (grpc::HealthCheckServiceInterface* health : healths) {
    health->SetServingStatus("", true);
    health->SetServingStatus(
        servicemanager::v1::ServiceManager::service_full_name(), true);
  }
  Log(LogLevel::kInfo,
      absl::StrCat("servicemanager ready: listening on ", HostOf(flags.listen),
                   ":", port, flags.tls_cert.empty() ? "" : " (TLS)",
                   flags.tls_client_ca.empty() ? "" : " (mTLS)",
                   flags.auth_tokens_file.empty() ? ", auth off" : ", auth on",
                   ", database ", database_path, ", region ", flags.region,
                   ", account ", flags.account_id, ", worker delay ",
                   flags.worker_delay_ms, "ms"));

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  Log(LogLevel::kInfo, "shutting down",
      {{"signal", signal_number == SIGTERM ? "SIGTERM" : "SIGINT"},
       {"grace_seconds", flags.shutdown_grace_seconds}});
  // Load balancers and probes see NOT_SERVING first (Watch streams get it
  // at once); then no new call is accepted, and calls in flight have the
  // grace period to end before they are cancelled.
  for (grpc::HealthCheckServiceInterface* health : healths) {
    health->Shutdown();
  }
  // WaitOperation calls answer with the operation as it stands and
  // WatchService streams end, rather than holding the shutdown for the whole
  // grace period.
  hub.Shutdown();
  // civetweb takes up to two seconds to stop its listener; meanwhile the
  // server drains.
  std::thread stop_metrics([&exposer] { exposer.reset(); });
  // The App Runner endpoint stops first: its requests in flight are gRPC
  // calls, which need the server up to finish.
  if (aws_endpoint != nullptr) {
    aws_endpoint->Stop();
    Log(LogLevel::kInfo, "aws endpoint stopped");
  }
  server->Shutdown(std::chrono::system_clock::now() +
                   std::chrono::seconds(flags.shutdown_grace_seconds));
  Log(LogLevel::kInfo, "gRPC server stopped");
  if (health_server != nullptr) {
    health_server->Shutdown();
  }
  // The worker commits the operation it is finishing, or leaves it (and the
  // rest of its batch) due for the next start; never half of one.
  janitor.Stop();
  worker.Stop();
  Log(LogLevel::kInfo, "worker stopped");
  stop_metrics.join();  // Before the store, which its gauges read, closes.
}

int Run(const Flags& flags) {
  // Signals are taken by sigwait in Serve; every thread started from here on
  // (gRPC's, the worker, civetweb's) inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  if (absl::Status url =
          servicemanager::store::ValidateDatabaseUrl(flags.database_url);
      !url.ok()) {
    Fatal(std::string(url.message()));
  }
  // Where the store lives, for the logs: the SQLite file, or PostgreSQL's
  // URL without its password.
  const std::string database_path =
      flags.database_url.empty()
          ? (std::filesystem::path(flags.data_dir) / "servicemanager.db")
                .string()
          : servicemanager::store::RedactDatabaseUrl(flags.database_url);
  Log(LogLevel::kInfo, "configuration",
      {{"listen", flags.listen},
       {"data_dir", flags.data_dir},
       {"database", database_path},
       {"postgres_pool_size", flags.postgres_pool_size},
       {"region", flags.region},
       {"account_id", flags.account_id},
       {"worker_delay_ms", flags.worker_delay_ms},
       {"lease", flags.lease},
       {"max_attempts", flags.max_attempts},
       {"poll_interval", flags.poll_interval},
       {"service_url_domain", flags.service_url_domain},
       {"sqlite_synchronous", flags.sqlite_synchronous},
       {"log_format", flags.log_format},
       {"metrics_listen", flags.metrics_listen},
       {"aws_listen", flags.aws_listen},
       {"aws_credentials_file", flags.aws_credentials_file},
       {"shutdown_grace_seconds", flags.shutdown_grace_seconds},
       {"retention", flags.retention},
       {"client_token_retention", flags.client_token_retention},
       {"certificate_retention", flags.certificate_retention},
       {"janitor_interval", flags.janitor_interval},
       {"runtime", flags.runtime},
       {"podman_socket", flags.podman_socket},
       {"port_range", flags.port_range},
       {"bind_address", flags.bind_address},
       {"operation_deadlines", absl::StrJoin(flags.operation_deadlines, ",")},
       {"tls_cert", flags.tls_cert},
       {"tls_key", flags.tls_key},
       {"tls_client_ca", flags.tls_client_ca},
       {"auth_tokens_file", flags.auth_tokens_file},
       {"insecure", flags.insecure},
       {"health_listen", flags.health_listen}});

  // Off loopback, a server without TLS and auth lets anyone who can connect
  // read and change every service, so it needs to be asked for by name.
  const bool tls = !flags.tls_cert.empty();
  const bool auth = !flags.auth_tokens_file.empty();
  if (tls != !flags.tls_key.empty()) {
    Fatal("--tls-cert and --tls-key are given together or not at all");
  }
  if (!flags.tls_client_ca.empty() && !tls) {
    Fatal("--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (!servicemanager::aws::IsLoopbackListenAddress(flags.listen) &&
      !(tls && auth)) {
    if (!flags.insecure) {
      std::vector<std::string> missing;
      if (!tls) missing.push_back("TLS (--tls-cert, --tls-key)");
      if (!auth) missing.push_back("authentication (--auth-tokens-file)");
      Fatal(absl::StrCat(
          "--listen ", flags.listen,
          " is not a loopback address and the server has no ",
          absl::StrJoin(missing, " and no "),
          ": anyone who can connect could read and change every service. "
          "Give them, listen on 127.0.0.1, or pass --insecure to serve so "
          "anyway"));
    }
    Log(LogLevel::kWarning,
        "--insecure: serving without TLS and authentication on a "
        "non-loopback address",
        {{"listen", flags.listen}});
  }
  if (auth && !flags.aws_listen.empty() && flags.aws_credentials_file.empty()) {
    Fatal(
        "--aws-listen with --auth-tokens-file needs --aws-credentials-file: "
        "each access key acts as the principal of its aws: line");
  }

  // Without credentials the App Runner endpoint accepts any signature, which
  // is only safe where nobody else can connect.
  std::vector<servicemanager::aws::AwsCredential> aws_keys;
  if (!flags.aws_credentials_file.empty()) {
    if (flags.aws_listen.empty()) {
      Fatal("--aws-credentials-file is given without --aws-listen");
    }
    absl::StatusOr<std::vector<servicemanager::aws::AwsCredential>> keys =
        servicemanager::aws::ReadCredentialsFile(flags.aws_credentials_file);
    if (!keys.ok()) {
      Fatal(absl::StrCat("--aws-credentials-file: ", keys.status().message()));
    }
    aws_keys = *std::move(keys);
    for (const servicemanager::aws::AwsCredential& key : aws_keys) {
      if (flags.auth_tokens_file.empty() &&
          key.account_id != flags.account_id) {
        Log(LogLevel::kWarning,
            "aws: access key of another account; its requests are refused "
            "(UnrecognizedClientException)",
            {{"access_key_id", key.access_key_id},
             {"account_id", key.account_id}});
      }
    }
  } else if (!flags.aws_listen.empty() &&
             !servicemanager::aws::IsLoopbackListenAddress(flags.aws_listen)) {
    Fatal(absl::StrCat(
        "--aws-listen ", flags.aws_listen,
        " is not a loopback address: give --aws-credentials-file so that "
        "requests are verified (SigV4), or listen on 127.0.0.1"));
  }

  servicemanager::common::RealClock clock;
  Security security;
  security.credentials = grpc::InsecureServerCredentials();
  if (tls) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> credentials =
        servicemanager::api::TlsServerCredentials(
            {flags.tls_cert, flags.tls_key, flags.tls_client_ca}, kTlsRefresh);
    if (!credentials.ok()) {
      Fatal(std::string(credentials.status().message()));
    }
    security.credentials = *std::move(credentials);
  }
  std::unique_ptr<servicemanager::auth::TokensFile> tokens;
  servicemanager::api::AuthorizerOptions authorizer_options;
  authorizer_options.account_id = flags.account_id;
  if (auth) {
    absl::StatusOr<std::unique_ptr<servicemanager::auth::TokensFile>> opened =
        servicemanager::auth::TokensFile::Open(flags.auth_tokens_file, clock);
    if (!opened.ok()) {
      Fatal(absl::StrCat("--auth-tokens-file ", opened.status().message()));
    }
    tokens = *std::move(opened);
    authorizer_options.tokens = tokens.get();
    // The App Runner endpoint presents each key's own random token, which
    // the authorizer maps to the key's aws: line; no client outside the
    // process ever sees one.
    std::shared_ptr<const servicemanager::auth::Principals> principals =
        tokens->Current();
    std::vector<std::string> access_key_ids;
    for (const servicemanager::aws::AwsCredential& key : aws_keys) {
      const servicemanager::auth::Principal* principal =
          principals->ByAwsAccessKey(key.access_key_id);
      if (principal == nullptr) {
        Fatal(absl::StrCat("--aws-credentials-file: access key ",
                           key.access_key_id,
                           " has no aws: line in --auth-tokens-file"));
      }
      if (principal->account_id != key.account_id) {
        Fatal(absl::StrCat("--aws-credentials-file: access key ",
                           key.access_key_id, " is of account ", key.account_id,
                           " but its principal ", principal->name,
                           " of account ", principal->account_id));
      }
      access_key_ids.push_back(key.access_key_id);
    }
    servicemanager::auth::AccessKeyTokens access_key_tokens =
        servicemanager::auth::MakeAccessKeyTokens(access_key_ids);
    authorizer_options.access_key_token_hashes =
        std::move(access_key_tokens.key_by_token_hash);
    security.access_key_bearer_tokens =
        std::move(access_key_tokens.token_by_key);
  }
  const servicemanager::api::Authorizer authorizer(
      std::move(authorizer_options));

  std::error_code error;
  std::filesystem::create_directories(flags.data_dir, error);
  if (error) {
    Fatal(absl::StrCat("cannot create --data-dir ", flags.data_dir, ": ",
                       error.message()));
  }
  servicemanager::common::RandomIdGenerator ids(clock);
  servicemanager::store::SqliteOptions options;
  options.path = database_path;
  options.legacy_account_id = flags.account_id;
  options.url_suffix =
      absl::StrCat(flags.region, ".", flags.service_url_domain);
  options.synchronous_full = flags.sqlite_synchronous == "full";
  options.replica_id =
      flags.replica_id.empty() ? DefaultReplicaId(ids) : flags.replica_id;
  Log(LogLevel::kInfo, absl::StrCat("replica id: ", options.replica_id));
  absl::StatusOr<servicemanager::store::SqliteOptions> with_deadlines =
      WithDeadlines(options, flags.operation_deadlines);
  if (!with_deadlines.ok()) {
    Fatal(std::string(with_deadlines.status().message()));
  }
  options = *std::move(with_deadlines);
  servicemanager::observability::Metrics metrics;
  servicemanager::api::ChangeHub hub(
      [&metrics](const servicemanager::domain::Operation& operation) {
        metrics.RecordOperationFinished(operation);
      });
  auto store = servicemanager::store::OpenStore(
      flags.database_url, flags.postgres_pool_size, options, clock, ids, &hub);
  if (!store.ok()) {
    Fatal(absl::StrCat("cannot open the database ", database_path, ": ",
                       store.status().message()));
  }
  Log(LogLevel::kInfo,
      absl::StrCat("store opened: ",
                   flags.database_url.empty() ? "SQLite " : "PostgreSQL ",
                   database_path));
  Serve(flags, aws_keys, security, authorizer, signals, database_path, **store,
        hub, metrics, clock);
  store->reset();
  Log(LogLevel::kInfo, "stopped: database closed");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Lock-order checking off; freed heap kept up to 64 MiB. Each write batch
  // frees and allocates again more than glibc's default of 128 KiB, and
  // keeping it halved a PauseService's CPU.
  servicemanager::common::SetServingProcessDefaults();
  // Each write of a group commit runs in a savepoint, whose undo pages SQLite
  // keeps in memory up to this size and past it in a temporary file, for the
  // rest of the transaction. At the default of 64 KiB, a write that changed
  // 16 pages spilled (about one batch in four under a pause load), and each
  // page the batch's later writes changed cost two more pwrite calls. No
  // write of a traced pause load reached 120 KiB, which stays below glibc's
  // mmap threshold: SQLite allocates the in-memory journal in chunks of this
  // size (BENCHMARKS.md, "What a write costs the writer").
  sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 120 << 10);
  Flags flags;
  CLI::App app{
      "servicemanager: manages web services' lifecycle (create, pause, resume, "
      "delete) the way AWS App Runner does, over gRPC, stored in SQLite or "
      "PostgreSQL. Each flag can also be set by the environment variable "
      "shown."};
  app.add_option("--listen", flags.listen, "gRPC address, HOST:PORT")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_LISTEN");
  app.add_option("--data-dir", flags.data_dir,
                 "directory of the SQLite file servicemanager.db (created if "
                 "missing)")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_DATA_DIR");
  app.add_option("--database-url", flags.database_url,
                 "PostgreSQL to store in instead of SQLite: "
                 "postgres://USER:PASSWORD@HOST:PORT/DB or postgresql://...; "
                 "empty for SQLite under --data-dir")
      ->envname("SERVICEMANAGER_DATABASE_URL");
  app.add_option("--postgres-pool-size", flags.postgres_pool_size,
                 "with --database-url: the most PostgreSQL connections the "
                 "API's calls use at once (a call waits for one when all are "
                 "busy); the worker, janitor and listener use 3 more")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_POSTGRES_POOL_SIZE")
      ->check(CLI::Range(1, 1000));
  app.add_option("--worker-delay-ms", flags.worker_delay_ms,
                 "how long the simulated compute step of an operation takes")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_WORKER_DELAY_MS")
      ->check(CLI::Range(0, 3600 * 1000));
  app.add_option("--lease", flags.lease,
                 "how long a replica's claim on an operation holds unless "
                 "renewed (every third of it) while the replica runs it: "
                 "another replica takes a stopped one's operations over "
                 "after it")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_LEASE")
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--max-attempts", flags.max_attempts,
                 "claims an operation may have (replicas that stopped while "
                 "running it) before it ends FAILED")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_MAX_ATTEMPTS")
      ->check(CLI::Range(1, 100));
  app.add_option("--poll-interval", flags.poll_interval,
                 "the longest the worker sleeps without looking for due "
                 "operations; it finds other replicas' work whose "
                 "notification was lost")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_POLL_INTERVAL")
      ->check(CheckDuration(absl::Milliseconds(100)));
  app.add_option("--replica-id", flags.replica_id,
                 "this server's name among the replicas of one database, "
                 "unique to it; default HOSTNAME-PID-RANDOM")
      ->envname("SERVICEMANAGER_REPLICA_ID")
      ->check([](const std::string& value) -> std::string {
        for (char c : value) {
          if (!absl::ascii_isgraph(static_cast<unsigned char>(c))) {
            return "a replica id has no spaces or control characters";
          }
        }
        return "";
      });
  app.add_option("--region", flags.region, "region in ARNs and URLs")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_REGION")
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
      ->envname("SERVICEMANAGER_ACCOUNT_ID")
      ->check([](const std::string& value) -> std::string {
        bool digits = value.size() == 12;
        for (char c : value) {
          digits = digits && absl::ascii_isdigit(static_cast<unsigned char>(c));
        }
        return digits ? "" : "an account id is 12 digits";
      });
  app.add_option("--service-url-domain", flags.service_url_domain,
                 "domain of service URLs: LABEL.REGION.DOMAIN")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_SERVICE_URL_DOMAIN");
  app.add_option("--sqlite-synchronous", flags.sqlite_synchronous,
                 "full: a commit survives power loss; normal: it survives a "
                 "process crash")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_SQLITE_SYNCHRONOUS")
      ->check(CLI::IsMember({"full", "normal"}));
  app.add_option("--log-format", flags.log_format,
                 "text: one readable line per event; json: one JSON object "
                 "per line (for log collectors)")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_LOG_FORMAT")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--metrics-listen", flags.metrics_listen,
                 "HOST:PORT of the Prometheus endpoint GET /metrics; empty "
                 "(the default) serves none")
      ->envname("SERVICEMANAGER_METRICS_LISTEN");
  app.add_option("--aws-listen", flags.aws_listen,
                 "HOST:PORT of App Runner's HTTP API (AWS JSON 1.0, for the "
                 "AWS CLI and SDKs); empty (the default) serves none; port 0 "
                 "picks a free one")
      ->envname("SERVICEMANAGER_AWS_LISTEN");
  app.add_option("--aws-credentials-file", flags.aws_credentials_file,
                 "file of 'ACCESS_KEY_ID SECRET_ACCESS_KEY ACCOUNT_ID' lines; "
                 "requests to --aws-listen must then be signed (SigV4) with "
                 "one of them. Without it any signature is accepted, on a "
                 "loopback --aws-listen only")
      ->envname("SERVICEMANAGER_AWS_CREDENTIALS_FILE");
  app.add_option("--shutdown-grace-seconds", flags.shutdown_grace_seconds,
                 "on SIGTERM or SIGINT, how long RPCs in flight may take to "
                 "end before they are cancelled")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_SHUTDOWN_GRACE_SECONDS")
      ->check(CLI::Range(0, 3600));
  app.add_option("--retention", flags.retention,
                 "how long finished operations and deleted services are kept")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_RETENTION")
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--client-token-retention", flags.client_token_retention,
                 "how long a client_token is remembered (at least 24h)")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_CLIENT_TOKEN_RETENTION")
      ->check(CheckDuration(absl::Hours(24)));
  app.add_option("--certificate-retention", flags.certificate_retention,
                 "how long a custom domain's certificate record is kept after "
                 "the domain is unlinked or its service deleted")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_CERTIFICATE_RETENTION")
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--janitor-interval", flags.janitor_interval,
                 "time between two purges of what is past retention")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_JANITOR_INTERVAL")
      ->check(CheckDuration(absl::Seconds(1)));
  app.add_option("--operation-deadline", flags.operation_deadlines,
                 "how long an operation may run before the worker fails it: "
                 "DURATION for every type (default 30m) or TYPE=DURATION, "
                 "e.g. PAUSE_SERVICE=10m; repeatable")
      ->type_name("[TYPE=]DURATION")
      ->envname("SERVICEMANAGER_OPERATION_DEADLINE");
  app.add_option("--tls-cert", flags.tls_cert,
                 "PEM certificate (chain) of the gRPC server; with --tls-key "
                 "the server speaks TLS only. Re-read when it changes")
      ->envname("SERVICEMANAGER_TLS_CERT");
  app.add_option("--tls-key", flags.tls_key, "PEM private key of --tls-cert")
      ->envname("SERVICEMANAGER_TLS_KEY");
  app.add_option("--tls-client-ca", flags.tls_client_ca,
                 "PEM CA certificate(s): every client must present a "
                 "certificate they verify (mTLS)")
      ->envname("SERVICEMANAGER_TLS_CLIENT_CA");
  app.add_option("--auth-tokens-file", flags.auth_tokens_file,
                 "file of 'NAME ACCOUNT_ID ROLE CREDENTIAL' lines (see "
                 "README, Security): every call must then present a bearer "
                 "token or client certificate of one. Re-read when it "
                 "changes. Without it auth is off")
      ->envname("SERVICEMANAGER_AUTH_TOKENS_FILE");
  app.add_option("--health-listen", flags.health_listen,
                 "HOST:PORT of a plaintext gRPC server of grpc.health.v1."
                 "Health only, for probes that cannot speak TLS; empty (the "
                 "default) serves none")
      ->envname("SERVICEMANAGER_HEALTH_LISTEN");
  app.add_flag("--insecure", flags.insecure,
               "allow a non-loopback --listen without TLS and auth")
      ->envname("SERVICEMANAGER_INSECURE");
  app.add_option("--runtime", flags.runtime,
                 "where services run: simulated (in memory, nothing runs) or "
                 "podman (containers, through --podman-socket)")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_RUNTIME")
      ->check(CLI::IsMember({"simulated", "podman"}));
  app.add_option("--podman-socket", flags.podman_socket,
                 "unix socket of Podman's REST API (podman system service)")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_PODMAN_SOCKET");
  app.add_option("--port-range", flags.port_range,
                 "host ports services are published on, FIRST-LAST; each "
                 "service keeps one from creation to deletion")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_PORT_RANGE")
      ->check([](const std::string& value) -> std::string {
        absl::StatusOr<std::pair<int, int>> range = ParsePortRange(value);
        return range.ok() ? "" : std::string(range.status().message());
      });
  app.add_option("--bind-address", flags.bind_address,
                 "host address services' ports are published on")
      ->capture_default_str()
      ->envname("SERVICEMANAGER_BIND_ADDRESS");
  CLI11_PARSE(app, argc, argv);
  servicemanager::common::SetLogFormat(
      flags.log_format == "json" ? LogFormat::kJson : LogFormat::kText);
  gpr_set_log_function(LogGrpcMessage);
  // The per-RPC lines are written in batches, at most 100 ms late.
  servicemanager::common::LogFlusher flusher(absl::Milliseconds(100));
  return Run(flags);
}
