// Crash storm: drives the real servicemanager binary on 127.0.0.1 with
// concurrent random create/pause/resume/delete/tag/untag calls, SIGKILLs it at
// random moments and restarts it on the same data directory, N times. It
// records every acknowledged (OK) response, and after each restart checks:
// - lost: an acknowledged operation, created service or tag change that the
//   restarted server does not have;
// - violations: after the worker drains, an operation not SUCCEEDED/FAILED;
//   a service OPERATION_IN_PROGRESS without an open operation; a status
//   history that does not follow from the service's operations; PRAGMA
//   integrity_check not ok; a paused service without its image and
//   configuration, or a deleted one with any left.
// Ends with "crash-storm: kills=K acknowledged=A lost=L violations=V" and
// exits 0 only if L and V are 0.
#include <SQLiteCpp/SQLiteCpp.h>
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"

namespace {

namespace v1 = ::servicemanager::v1;

using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::servicemanager::testing::WaitForReadyEndpoint;

struct Options {
  std::string server;
  int kills = 20;
  uint64_t seed = 0;
  int clients = 8;
  int min_run_ms = 100;
  int max_run_ms = 1200;
  int max_worker_delay_ms = 100;
  std::string work_dir;
  bool verbose = false;
};

// What the server acknowledged, by the driver's clients.
class Ledger {
 public:
  void Created(const std::string& arn, const std::string& operation_id) {
    absl::MutexLock lock(&mu_);
    services_.push_back(arn);
    operations_.emplace_back(operation_id, arn);
    ++acknowledged_;
  }
  void Operation(const std::string& arn, const std::string& operation_id) {
    absl::MutexLock lock(&mu_);
    operations_.emplace_back(operation_id, arn);
    ++acknowledged_;
  }
  // A tag key is used once. Before an untag is sent the key stops being
  // required; once the untag is acknowledged it must be gone.
  void Tagged(const std::string& arn, const std::string& key) {
    absl::MutexLock lock(&mu_);
    tags_present_[arn].insert(key);
    ++acknowledged_;
  }
  std::optional<std::string> TakeTagToRemove(const std::string& arn,
                                             std::mt19937_64& random) {
    absl::MutexLock lock(&mu_);
    std::set<std::string>& keys = tags_present_[arn];
    if (keys.empty()) {
      return std::nullopt;
    }
    auto it = keys.begin();
    std::advance(it, random() % keys.size());
    std::string key = *it;
    keys.erase(it);
    return key;
  }
  void Untagged(const std::string& arn, const std::string& key) {
    absl::MutexLock lock(&mu_);
    tags_absent_[arn].insert(key);
    ++acknowledged_;
  }

  std::optional<std::string> RandomService(std::mt19937_64& random) const {
    absl::MutexLock lock(&mu_);
    if (services_.empty()) {
      return std::nullopt;
    }
    return services_[random() % services_.size()];
  }

  int64_t acknowledged() const {
    absl::MutexLock lock(&mu_);
    return acknowledged_;
  }
  std::vector<std::string> services() const {
    absl::MutexLock lock(&mu_);
    return services_;
  }
  // (operation id, service ARN) in the order acknowledged.
  std::vector<std::pair<std::string, std::string>> operations() const {
    absl::MutexLock lock(&mu_);
    return operations_;
  }
  std::map<std::string, std::set<std::string>> tags_present() const {
    absl::MutexLock lock(&mu_);
    return tags_present_;
  }
  std::map<std::string, std::set<std::string>> tags_absent() const {
    absl::MutexLock lock(&mu_);
    return tags_absent_;
  }

 private:
  mutable absl::Mutex mu_;
  int64_t acknowledged_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> services_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<std::string, std::string>> operations_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> tags_present_
      ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::set<std::string>> tags_absent_
      ABSL_GUARDED_BY(mu_);
};

// The id at the end of a service ARN ".../service/NAME/ID".
std::string ServiceId(const std::string& arn) {
  return arn.substr(arn.rfind('/') + 1);
}

class Storm {
 public:
  explicit Storm(Options options)
      : options_(std::move(options)), random_(options_.seed) {}

  int Run() {
    dir_ = options_.work_dir;
    std::filesystem::create_directories(dir_ / "data");
    for (int round = 0; round <= options_.kills; ++round) {
      if (!StartServer(round)) {
        Violation(absl::StrCat("the server did not start (round ", round,
                               "); see ", log_.string()));
        break;
      }
      Check(round);
      if (round == options_.kills) {
        break;
      }
      Load(round);
    }
    StopServer();
    std::cout << "crash-storm: kills=" << kills_
              << " acknowledged=" << ledger_.acknowledged() << " lost=" << lost_
              << " violations=" << violations_ << std::endl;
    return lost_ == 0 && violations_ == 0 ? 0 : 1;
  }

 private:
  bool StartServer(int round) {
    log_ = dir_ / absl::StrCat("server-", round, ".log");
    const int delay = static_cast<int>(
        random_() % (static_cast<uint64_t>(options_.max_worker_delay_ms) + 1));
    pid_ = Spawn(
        {options_.server, "--listen", "127.0.0.1:0", "--data-dir",
         (dir_ / "data").string(), "--worker-delay-ms", std::to_string(delay)},
        dir_ / "server.out", log_);
    if (pid_ <= 0) {
      return false;
    }
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(log_, nullptr, std::chrono::seconds(30));
    if (!endpoint.has_value()) {
      return false;
    }
    stub_ = v1::ServiceManager::NewStub(
        grpc::CreateChannel(*endpoint, grpc::InsecureChannelCredentials()));
    return true;
  }

  void StopServer() {
    if (pid_ <= 0) {
      return;
    }
    kill(pid_, SIGTERM);
    const std::optional<int> status =
        WaitForExit(pid_, std::chrono::seconds(30));
    if (!status.has_value()) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      Violation("the server did not stop within 30 s of SIGTERM");
    } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      Violation("the server did not exit 0 on SIGTERM");
    }
    pid_ = -1;
  }

  // Random calls from `options_.clients` threads; the process is killed
  // while they are still calling.
  void Load(int round) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < options_.clients; ++c) {
      clients.emplace_back([this, round, c, seed = random_(), &stop] {
        std::mt19937_64 random(seed);
        for (int n = 0; !stop.load(); ++n) {
          Call(random, absl::StrCat("cs", round, "-", c, "-", n));
        }
      });
    }
    const int run_ms =
        options_.min_run_ms +
        static_cast<int>(random_() %
                         static_cast<uint64_t>(options_.max_run_ms -
                                               options_.min_run_ms + 1));
    std::this_thread::sleep_for(std::chrono::milliseconds(run_ms));
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    ++kills_;
    stop = true;
    for (std::thread& client : clients) {
      client.join();
    }
    if (options_.verbose) {
      std::cerr << "round " << round << ": killed after " << run_ms
                << " ms, acknowledged so far " << ledger_.acknowledged()
                << "\n";
    }
  }

  template <typename Request, typename Response, typename Method>
  bool Send(Method method, const Request& request, Response& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    return ((*stub_).*method)(&context, request, &response).ok();
  }

  void Call(std::mt19937_64& random, const std::string& name) {
    const std::optional<std::string> arn = ledger_.RandomService(random);
    const int pick = static_cast<int>(random() % 100);
    if (!arn.has_value() || pick < 15) {
      v1::CreateServiceRequest request;
      request.set_service_name(name);
      request.mutable_source_configuration()
          ->mutable_image_repository()
          ->set_image_identifier("public.ecr.aws/storm/web:1");
      v1::CreateServiceResponse response;
      if (Send(&v1::ServiceManager::Stub::CreateService, request, response)) {
        ledger_.Created(response.service().service_arn(),
                        response.operation_id());
      }
    } else if (pick < 40) {
      v1::PauseServiceRequest request;
      request.set_service_arn(*arn);
      v1::PauseServiceResponse response;
      if (Send(&v1::ServiceManager::Stub::PauseService, request, response)) {
        ledger_.Operation(*arn, response.operation_id());
      }
    } else if (pick < 65) {
      v1::ResumeServiceRequest request;
      request.set_service_arn(*arn);
      v1::ResumeServiceResponse response;
      if (Send(&v1::ServiceManager::Stub::ResumeService, request, response)) {
        ledger_.Operation(*arn, response.operation_id());
      }
    } else if (pick < 72) {
      v1::DeleteServiceRequest request;
      request.set_service_arn(*arn);
      v1::DeleteServiceResponse response;
      if (Send(&v1::ServiceManager::Stub::DeleteService, request, response)) {
        ledger_.Operation(*arn, response.operation_id());
      }
    } else if (pick < 90) {
      v1::TagResourceRequest request;
      request.set_resource_arn(*arn);
      v1::Tag* tag = request.add_tags();
      tag->set_key(name);
      tag->set_value("storm");
      v1::TagResourceResponse response;
      if (Send(&v1::ServiceManager::Stub::TagResource, request, response)) {
        ledger_.Tagged(*arn, name);
      }
    } else {
      const std::optional<std::string> key =
          ledger_.TakeTagToRemove(*arn, random);
      if (!key.has_value()) {
        return;
      }
      v1::UntagResourceRequest request;
      request.set_resource_arn(*arn);
      request.add_tag_keys(*key);
      v1::UntagResourceResponse response;
      if (Send(&v1::ServiceManager::Stub::UntagResource, request, response)) {
        ledger_.Untagged(*arn, *key);
      }
    }
  }

  // Each finding counts once, however many later checks see it again.
  void Lost(const std::string& what) {
    if (findings_.insert(absl::StrCat("lost ", what)).second) {
      ++lost_;
      std::cerr << "LOST: " << what << "\n";
    }
  }
  void Violation(const std::string& what) {
    if (findings_.insert(absl::StrCat("violation ", what)).second) {
      ++violations_;
      std::cerr << "VIOLATION: " << what << "\n";
    }
  }

  // The invariants, after a restart.
  void Check(int round) {
    const int64_t lost_before = lost_;
    const int64_t violations_before = violations_;
    SQLite::Database db((dir_ / "data" / "servicemanager.db").string(),
                        SQLite::OPEN_READONLY, 5000);
    CheckAcknowledgedOperations(db);
    if (!WaitFor(
            [&] {
              return db.execAndGet(
                           "SELECT count(*) FROM operations WHERE "
                           "ended_at IS NULL")
                         .getInt() == 0;
            },
            std::chrono::seconds(60))) {
      Violation(absl::StrCat("round ", round,
                             ": operations still open 60 s after restart"));
    }
    CheckDatabase(db, round);
    CheckTags(db);
    if (options_.verbose) {
      std::cerr << "round " << round << ": checked, lost "
                << lost_ - lost_before << ", violations "
                << violations_ - violations_before << "\n";
    }
  }

  // Those acknowledged since the last check through the API; all of them in
  // the database, since a later crash could lose an earlier write too.
  void CheckAcknowledgedOperations(SQLite::Database& db) {
    const std::vector<std::pair<std::string, std::string>> acknowledged =
        ledger_.operations();
    for (size_t i = described_; i < acknowledged.size(); ++i) {
      const auto& [operation_id, arn] = acknowledged[i];
      v1::DescribeOperationRequest request;
      request.set_operation_id(operation_id);
      v1::DescribeOperationResponse response;
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
      const grpc::Status status =
          stub_->DescribeOperation(&context, request, &response);
      if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
        Lost(absl::StrCat("operation ", operation_id, " of ", arn));
      } else if (!status.ok()) {
        Violation(absl::StrCat("DescribeOperation ", operation_id, ": ",
                               status.error_message()));
      } else if (response.operation().service_arn() != arn) {
        Violation(absl::StrCat("operation ", operation_id, " belongs to ",
                               response.operation().service_arn(), ", not to ",
                               arn));
      }
    }
    described_ = acknowledged.size();
    std::map<std::string, std::string> stored;  // operation id -> service id
    SQLite::Statement all(db,
                          "SELECT o.operation_id, s.service_id FROM operations "
                          "o JOIN services s ON s.pk = o.service_pk");
    while (all.executeStep()) {
      stored.emplace(all.getColumn(0).getString(),
                     all.getColumn(1).getString());
    }
    for (const auto& [operation_id, arn] : acknowledged) {
      auto it = stored.find(operation_id);
      if (it == stored.end()) {
        Lost(absl::StrCat("operation ", operation_id, " of ", arn));
      } else if (it->second != ServiceId(arn)) {
        Violation(absl::StrCat("operation ", operation_id, " belongs to ",
                               it->second, ", not to ", arn));
      }
    }
  }

  // Where a service ends when an operation of `type` succeeds.
  static std::string SuccessStatus(const std::string& type) {
    if (type == "PAUSE_SERVICE") {
      return "PAUSED";
    }
    if (type == "DELETE_SERVICE") {
      return "DELETED";
    }
    return "RUNNING";
  }

  void CheckDatabase(SQLite::Database& db, int round) {
    const std::string integrity =
        db.execAndGet("PRAGMA integrity_check").getString();
    if (integrity != "ok") {
      Violation(
          absl::StrCat("round ", round, ": integrity_check: ", integrity));
    }
    SQLite::Statement open_ops(
        db,
        "SELECT count(*) FROM operations WHERE ended_at IS NOT NULL AND "
        "status NOT IN ('SUCCEEDED', 'FAILED')");
    open_ops.executeStep();
    if (open_ops.getColumn(0).getInt() != 0) {
      Violation(absl::StrCat(open_ops.getColumn(0).getInt(),
                             " ended operations neither SUCCEEDED nor FAILED"));
    }
    SQLite::Statement stuck(
        db,
        "SELECT service_id FROM services s WHERE status = "
        "'OPERATION_IN_PROGRESS' AND NOT EXISTS (SELECT 1 FROM operations o "
        "WHERE o.service_pk = s.pk AND o.ended_at IS NULL)");
    while (stuck.executeStep()) {
      Violation(absl::StrCat("service ", stuck.getColumn(0).getString(),
                             " OPERATION_IN_PROGRESS with no open operation"));
    }

    // Each service's status follows from replaying its operations in order.
    std::map<int64_t, std::string> replayed;
    SQLite::Statement ops(
        db,
        "SELECT service_pk, operation_id, type, status, "
        "coalesce(prior_status, ''), failure_status FROM operations "
        "ORDER BY service_pk, seq");
    while (ops.executeStep()) {
      const int64_t pk = ops.getColumn(0).getInt64();
      const std::string id = ops.getColumn(1).getString();
      const std::string type = ops.getColumn(2).getString();
      const std::string status = ops.getColumn(3).getString();
      const std::string prior = ops.getColumn(4).getString();
      const std::string on_failure = ops.getColumn(5).getString();
      auto it = replayed.find(pk);
      if (it == replayed.end()) {
        if (type != "CREATE_SERVICE") {
          Violation(absl::StrCat("operation ", id,
                                 ": the first operation of "
                                 "its service is ",
                                 type));
        }
        replayed[pk] = status == "SUCCEEDED" ? "RUNNING" : on_failure;
        continue;
      }
      if (it->second == "DELETED") {
        Violation(absl::StrCat("operation ", id, " (", type,
                               ") after its service was deleted"));
      }
      if (prior != it->second) {
        Violation(absl::StrCat("operation ", id, " (", type, ") started from ",
                               prior, " but the service was ", it->second));
      }
      it->second = status == "SUCCEEDED" ? SuccessStatus(type) : on_failure;
    }
    SQLite::Statement services(
        db,
        "SELECT pk, service_id, status, config_version IS NOT NULL AND EXISTS "
        "(SELECT 1 FROM service_configs c WHERE c.service_pk = s.pk AND "
        "c.version = s.config_version), deployed_image_version IS NOT NULL AND "
        "EXISTS (SELECT 1 FROM service_images i WHERE i.service_pk = s.pk AND "
        "i.version = s.deployed_image_version), (SELECT count(*) FROM "
        "service_configs c WHERE c.service_pk = s.pk) + (SELECT count(*) FROM "
        "service_images i WHERE i.service_pk = s.pk) + (SELECT count(*) FROM "
        "tags t WHERE t.service_pk = s.pk) FROM services s");
    while (services.executeStep()) {
      const int64_t pk = services.getColumn(0).getInt64();
      const std::string id = services.getColumn(1).getString();
      const std::string status = services.getColumn(2).getString();
      const bool has_config = services.getColumn(3).getInt() != 0;
      const bool has_image = services.getColumn(4).getInt() != 0;
      const int64_t leftovers = services.getColumn(5).getInt64();
      auto it = replayed.find(pk);
      if (it == replayed.end()) {
        Violation(absl::StrCat("service ", id, " has no operations"));
      } else if (it->second != status) {
        Violation(absl::StrCat("service ", id, " is ", status,
                               " but its operations lead to ", it->second));
      }
      if (status == "PAUSED" && (!has_config || !has_image)) {
        Violation(absl::StrCat("paused service ", id, " lost its ",
                               has_config ? "image" : "configuration"));
      }
      if (status == "DELETED" && leftovers != 0) {
        Violation(absl::StrCat("deleted service ", id, " keeps ", leftovers,
                               " configuration, image or tag rows"));
      }
    }
    for (const std::string& arn : ledger_.services()) {
      SQLite::Statement find(db, "SELECT 1 FROM services WHERE service_id = ?");
      find.bind(1, ServiceId(arn));
      if (!find.executeStep()) {
        Lost(absl::StrCat("service ", arn));
      }
    }
  }

  void CheckTags(SQLite::Database& db) {
    SQLite::Statement find(
        db,
        "SELECT s.status, EXISTS (SELECT 1 FROM tags t WHERE t.service_pk = "
        "s.pk AND t.key = ?) FROM services s WHERE s.service_id = ?");
    const auto has_tag = [&](const std::string& arn,
                             const std::string& key) -> std::optional<bool> {
      find.reset();
      find.bind(1, key);
      find.bind(2, ServiceId(arn));
      if (!find.executeStep() || find.getColumn(0).getString() == "DELETED") {
        return std::nullopt;  // Deleted services have no tags.
      }
      return find.getColumn(1).getInt() != 0;
    };
    for (const auto& [arn, keys] : ledger_.tags_present()) {
      for (const std::string& key : keys) {
        if (has_tag(arn, key) == false) {
          Lost(absl::StrCat("tag ", key, " of ", arn));
        }
      }
    }
    for (const auto& [arn, keys] : ledger_.tags_absent()) {
      for (const std::string& key : keys) {
        if (has_tag(arn, key) == true) {
          Lost(absl::StrCat("untag of ", key, " of ", arn));
        }
      }
    }
  }

  const Options options_;
  std::mt19937_64 random_;
  std::filesystem::path dir_;
  std::filesystem::path log_;
  pid_t pid_ = -1;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
  Ledger ledger_;
  int kills_ = 0;
  size_t described_ = 0;  // Acknowledged operations checked through the API.
  std::set<std::string> findings_;
  int64_t lost_ = 0;
  int64_t violations_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.seed = std::random_device()();
  CLI::App app{
      "Kills and restarts servicemanager under load; checks that no "
      "acknowledged change is lost and the invariants hold."};
  app.add_option("--server", options.server, "the servicemanager binary")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--kills", options.kills, "SIGKILLs to deliver")
      ->check(CLI::Range(0, 100000));
  app.add_option("--seed", options.seed, "random seed (printed)");
  app.add_option("--clients", options.clients, "concurrent callers")
      ->check(CLI::Range(1, 64));
  app.add_option("--min-run-ms", options.min_run_ms,
                 "shortest load before a kill")
      ->check(CLI::Range(0, 600000));
  app.add_option("--max-run-ms", options.max_run_ms,
                 "longest load before a kill")
      ->check(CLI::Range(0, 600000));
  app.add_option("--max-worker-delay-ms", options.max_worker_delay_ms,
                 "each start picks --worker-delay-ms up to this")
      ->check(CLI::Range(0, 10000));
  app.add_option("--work-dir", options.work_dir,
                 "where the data and logs go (default: a new temporary "
                 "directory, removed if the storm passes)");
  app.add_flag("--verbose", options.verbose, "a line per round on stderr");
  CLI11_PARSE(app, argc, argv);
  if (options.max_run_ms < options.min_run_ms) {
    std::cerr << "--max-run-ms must be at least --min-run-ms\n";
    return 2;
  }
  const bool temporary = options.work_dir.empty();
  if (temporary) {
    options.work_dir = (std::filesystem::temp_directory_path() /
                        absl::StrCat("sm-crash-storm-", getpid()))
                           .string();
  }
  std::cerr << "crash-storm: seed " << options.seed << ", data and logs in "
            << options.work_dir << "\n";
  signal(SIGPIPE, SIG_IGN);
  const int rc = Storm(options).Run();
  if (rc == 0 && temporary) {
    std::filesystem::remove_all(options.work_dir);
  }
  return rc;
}
