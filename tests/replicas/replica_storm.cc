// Replica storm: three real servicemanager replicas (r1, r2, r3) on one
// PostgreSQL database, in a schema of the storm's own. Several clients send
// mixed create/pause/resume/delete calls round-robin over the live replicas;
// r3 is SIGKILLed at a moment it holds claims (stopped first, once seen
// holding one, so that it cannot end them before the kill), and the calls go
// on to the two survivors. Once every operation has ended, a fourth replica,
// r4, is SIGSTOPped while it holds claims and continued once the survivors have
// taken them over and ended them: its late finishes must be refused as lost
// claims. Then the storm checks:
// a. every acknowledged operation ended SUCCEEDED or FAILED;
// b. operation_endings (the execution log) has exactly one row per ended
//    operation, matching it, none for an open or unknown one, and none of
//    the killed replica after its death nor of r4 for what it lost;
// c. every operation r3 held when it died was ended by a survivor on a
//    later attempt, within lease + poll period + worker delay + a margin of
//    the kill;
// d. no service is left OPERATION_IN_PROGRESS;
// e. a WaitOperation on one survivor returns within 100 ms of the other
//    survivor committing the operation's ending (each operation is waited
//    for on both; the wait on the replica that did not end it is measured,
//    from the moment the storm's own LISTEN connection hears the ending's
//    notification; at most --wait-outliers of them may take longer, none 10
//    times as long). The time since the ending's ended_at, taken before its
//    transaction began, is printed beside it.
// Then, on the two survivors, --conflicts rounds of one PauseService sent
// to both at once (exactly one wins; the other is refused as SQLite refuses
// a busy service), and the same with ResumeService.
// Ends with "replica-storm: calls=... violations=V" and exits 0 only if V is
// 0. Without a PostgreSQL server it prints "replica-storm: skipped" and
// exits 0.
#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <iostream>
#include <latch>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"
#include "tests/testing/postgres_schema.h"

namespace {

namespace v1 = ::servicemanager::v1;

using ::servicemanager::testing::PostgresSchema;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::servicemanager::testing::WaitForReadyEndpoint;

struct Options {
  std::string server;
  int calls = 500;
  int clients = 6;
  int worker_delay_ms = 300;
  std::string lease = "2s";
  std::string poll_interval = "1s";
  int takeover_margin_ms = 1000;
  int waits = 30;
  int wait_limit_ms = 100;
  // How many cross-replica waits may exceed wait_limit_ms (none by 10
  // times): a machine with more runnable threads than cores delays some.
  int wait_outliers = 0;
  int conflicts = 20;
  uint64_t seed = 0;
  std::string work_dir;
  bool verbose = false;
};

constexpr char kVictim[] = "r3";
constexpr char kOpen[] = "('IN_PROGRESS', 'ROLLBACK_IN_PROGRESS')";

// A running (or killed) server.
struct Replica {
  std::string id;
  pid_t pid = -1;
  std::filesystem::path log;
  std::unique_ptr<v1::ServiceManager::Stub> stub;
};

enum class Expect { kRunning, kPaused, kDeleted };

// An acknowledged operation: its id, and the replica that accepted it.
struct Acknowledged {
  std::string operation_id;
  std::string replica;
};

// What the replicas acknowledged, and what each service should be once its
// operations have run.
class Ledger {
 public:
  void Acked(const std::string& arn, const std::string& operation_id,
             const std::string& replica, Expect next) {
    absl::MutexLock lock(&mu_);
    Service& service = services_[arn];
    service.expect = next;
    service.touched = absl::Now();
    acknowledged_.push_back({operation_id, replica});
  }

  // A live service nobody has touched for `idle_for` (so its last operation
  // has likely ended), marked touched; none if there is no such service.
  std::optional<std::pair<std::string, Expect>> PickIdle(
      std::mt19937_64& random, absl::Duration idle_for) {
    absl::MutexLock lock(&mu_);
    const absl::Time now = absl::Now();
    std::vector<std::map<std::string, Service>::iterator> idle;
    for (auto it = services_.begin(); it != services_.end(); ++it) {
      if (it->second.expect != Expect::kDeleted &&
          now - it->second.touched >= idle_for) {
        idle.push_back(it);
      }
    }
    if (idle.empty()) return std::nullopt;
    auto it = idle[random() % idle.size()];
    it->second.touched = now;
    return std::make_pair(it->first, it->second.expect);
  }

  std::vector<Acknowledged> acknowledged() const {
    absl::MutexLock lock(&mu_);
    return acknowledged_;
  }

 private:
  struct Service {
    Expect expect = Expect::kRunning;
    absl::Time touched;
  };
  mutable absl::Mutex mu_;
  std::map<std::string, Service> services_ ABSL_GUARDED_BY(mu_);
  std::vector<Acknowledged> acknowledged_ ABSL_GUARDED_BY(mu_);
};

// A row of operation_endings.
struct Ending {
  std::string status;
  std::string replica;
  int attempt = 0;
  int64_t ended_at = 0;  // Microseconds since the epoch, the server's clock.
};

struct StoredOperation {
  std::string status;
  std::string owner;
  int attempt = 0;
  bool ended = false;
};

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }

double Median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const size_t mid = values.size() / 2;
  return values.size() % 2 == 1 ? values[mid]
                                : (values[mid - 1] + values[mid]) / 2;
}

// When each operation's ending was announced: the notification the ending
// transaction sends ("REPLICA SERVICE_ID OPERATION_ID STATUS", on the
// schema's channel "sm_ops.SCHEMA" cut to 63 bytes, as the store names it)
// is delivered as it commits, so its arrival on a LISTEN connection of the
// storm's own marks the commit, as every replica's listener sees it.
class EndingAnnouncements final : public pqxx::notification_receiver {
 public:
  explicit EndingAnnouncements(pqxx::connection& c)
      : pqxx::notification_receiver(c, Channel(c)) {}

  void operator()(const std::string& payload, int) override {
    const std::vector<std::string> parts = absl::StrSplit(payload, ' ');
    if (parts.size() != 4 ||
        (parts[3] != "SUCCEEDED" && parts[3] != "FAILED")) {
      return;
    }
    absl::MutexLock lock(&mu_);
    announced_.emplace(parts[2], absl::Now());
  }

  // When the ending of `operation_id` was announced; waits up to `timeout`
  // for it.
  std::optional<absl::Time> Await(const std::string& operation_id,
                                  absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto announced = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return announced_.contains(operation_id);
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&announced), timeout)) {
      return std::nullopt;
    }
    return announced_.at(operation_id);
  }

 private:
  static std::string Channel(pqxx::connection& c) {
    pqxx::nontransaction t(c);
    return absl::StrCat("sm_ops.",
                        t.exec("SELECT current_schema()").at(0)[0].c_str())
        .substr(0, 63);
  }

  absl::Mutex mu_;
  std::map<std::string, absl::Time> announced_ ABSL_GUARDED_BY(mu_);
};

// A LISTEN connection and the thread that receives its notifications.
class Listener {
 public:
  explicit Listener(const std::string& url)
      : connection_(url), announcements_(connection_), thread_([this] {
          while (!stop_.load()) connection_.await_notification(0, 50000);
        }) {}
  ~Listener() {
    stop_ = true;
    thread_.join();
  }
  EndingAnnouncements& announcements() { return announcements_; }

 private:
  pqxx::connection connection_;
  EndingAnnouncements announcements_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

class ReplicaStorm {
 public:
  ReplicaStorm(Options options, std::string url)
      : options_(std::move(options)),
        url_(std::move(url)),
        random_(options_.seed) {
    replicas_.resize(4);
    for (int i = 0; i < 4; ++i) {
      replicas_[i].id = absl::StrCat("r", i + 1);
    }
  }

  // Whatever went wrong, no server outlives the storm.
  ~ReplicaStorm() {
    for (Replica& replica : replicas_) {
      if (replica.pid > 0) {
        kill(replica.pid, SIGKILL);
        waitpid(replica.pid, nullptr, 0);
      }
    }
  }

  int Run() {
    if (!StartReplicas()) {
      return Summary();
    }
    Phase("started");
    Storm();
    Phase("storm");
    if (Drain()) {
      Phase("drain");
      StaleOwner();
      Phase("stale owner");
      if (Drain()) {
        CheckOperations();
        CheckTakeover();
        CheckStaleTakeover();
        CheckServices();
      }
      Phase("checks");
      WaitAcrossReplicas();
      Phase("waits");
      Conflicts();
      Phase("conflicts");
    }
    StopReplicas();
    return Summary();
  }

  // With --verbose, how long each part took.
  void Phase(absl::string_view name) {
    const absl::Time now = absl::Now();
    if (options_.verbose) {
      std::cerr << name << ": " << absl::FormatDuration(now - phase_start_)
                << "\n";
    }
    phase_start_ = now;
  }

 private:
  // --- Servers -------------------------------------------------------------

  std::string ApplicationName(const Replica& replica) const {
    return absl::StrCat("replica-storm-", getpid(), "-", replica.id);
  }

  // Starts the server of `replica`; Ready waits until it listens.
  bool Launch(Replica& replica) {
    const std::filesystem::path dir = options_.work_dir;
    std::filesystem::create_directories(dir / replica.id);
    replica.log = dir / absl::StrCat(replica.id, ".log");
    std::vector<std::string> argv = {
        options_.server,
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        (dir / replica.id).string(),
        "--database-url",
        absl::StrCat(url_, "&application_name=", ApplicationName(replica)),
        "--replica-id",
        replica.id,
        "--worker-delay-ms",
        std::to_string(options_.worker_delay_ms),
        "--lease",
        options_.lease,
        "--poll-interval",
        options_.poll_interval};
    replica.pid =
        Spawn(argv, dir / absl::StrCat(replica.id, ".out"), replica.log);
    if (replica.pid <= 0) {
      Violation(absl::StrCat("cannot start ", replica.id));
      return false;
    }
    return true;
  }

  bool Ready(Replica& replica) {
    const std::optional<std::string> endpoint =
        WaitForReadyEndpoint(replica.log, nullptr, std::chrono::seconds(30));
    if (!endpoint.has_value()) {
      Violation(absl::StrCat(replica.id, " did not start; see ",
                             replica.log.string()));
      return false;
    }
    replica.stub = v1::ServiceManager::NewStub(
        grpc::CreateChannel(*endpoint, grpc::InsecureChannelCredentials()));
    return true;
  }

  // r1, r2 and r3, together (they migrate the new schema once).
  bool StartReplicas() {
    for (int i = 0; i < 3; ++i) {
      if (!Launch(replicas_[i])) return false;
    }
    for (int i = 0; i < 3; ++i) {
      if (!Ready(replicas_[i])) return false;
    }
    absl::MutexLock lock(&mu_);
    live_ = {0, 1, 2};
    return true;
  }

  void StopReplica(Replica& replica) {
    if (replica.pid <= 0) return;
    replica.stub.reset();
    kill(replica.pid, SIGTERM);
    const std::optional<int> status =
        WaitForExit(replica.pid, std::chrono::seconds(30));
    if (!status.has_value()) {
      kill(replica.pid, SIGKILL);
      waitpid(replica.pid, nullptr, 0);
      Violation(
          absl::StrCat(replica.id, " did not stop within 30 s of SIGTERM"));
    } else if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0) {
      Violation(absl::StrCat(
          replica.id, " did not exit 0 on SIGTERM: ",
          WIFEXITED(*status)
              ? absl::StrCat("exit code ", WEXITSTATUS(*status))
              : absl::StrCat("signal ",
                             WIFSIGNALED(*status) ? WTERMSIG(*status) : 0)));
    }
    replica.pid = -1;
  }

  void StopReplicas() {
    for (Replica& replica : replicas_) StopReplica(replica);
  }

  Replica& Victim() { return replicas_[2]; }
  Replica& Stale() { return replicas_[3]; }
  std::vector<Replica*> Survivors() { return {&replicas_[0], &replicas_[1]}; }

  // --- The storm -----------------------------------------------------------

  // The calls, and the kill while they go on: the killer starts looking once
  // a third of the calls have started, and the calls past the half wait for
  // the kill, so that both halves of the storm are real.
  void Storm() {
    std::vector<std::thread> clients;
    for (int c = 0; c < options_.clients; ++c) {
      clients.emplace_back([this, c, seed = random_()] { Client(c, seed); });
    }
    std::thread killer([this] { Kill(); });
    for (std::thread& client : clients) client.join();
    killer.join();
  }

  void Client(int c, uint64_t seed) {
    std::mt19937_64 random(seed);
    while (true) {
      Replica* replica = nullptr;
      int n = 0;
      {
        absl::MutexLock lock(&mu_);
        n = started_calls_++;
        if (n >= options_.calls) return;
        if (n >= options_.calls / 2) {
          auto killed = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            return kill_done_;
          };
          mu_.Await(absl::Condition(&killed));
        }
        replica = &replicas_[live_[n % live_.size()]];
      }
      Call(*replica, random, absl::StrCat("rs-", c, "-", n));
    }
  }

  template <typename Request, typename Response, typename Method>
  grpc::Status Send(Replica& replica, Method method, const Request& request,
                    Response& response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    return ((*replica.stub).*method)(&context, request, &response);
  }

  void Call(Replica& replica, std::mt19937_64& random,
            const std::string& name) {
    const std::optional<std::pair<std::string, Expect>> pick = ledger_.PickIdle(
        random, absl::Milliseconds(options_.worker_delay_ms + 200));
    const int roll = static_cast<int>(random() % 100);
    grpc::Status status;
    std::string arn;
    std::string operation_id;
    Expect next = Expect::kRunning;
    if (!pick.has_value() || roll < 20) {
      v1::CreateServiceRequest request;
      request.set_service_name(name);
      request.mutable_source_configuration()
          ->mutable_image_repository()
          ->set_image_identifier("public.ecr.aws/storm/web:1");
      v1::CreateServiceResponse response;
      status = Send(replica, &v1::ServiceManager::Stub::CreateService, request,
                    response);
      arn = response.service().service_arn();
      operation_id = response.operation_id();
    } else {
      // Delete, pause or resume the service picked: each names it by ARN and
      // answers with an operation id.
      arn = pick->first;
      auto start = [&](auto method, auto request, auto response) {
        request.set_service_arn(arn);
        status = Send(replica, method, request, response);
        operation_id = response.operation_id();
      };
      if (roll < 30) {
        start(&v1::ServiceManager::Stub::DeleteService,
              v1::DeleteServiceRequest{}, v1::DeleteServiceResponse{});
        next = Expect::kDeleted;
      } else if (pick->second == Expect::kRunning) {
        start(&v1::ServiceManager::Stub::PauseService,
              v1::PauseServiceRequest{}, v1::PauseServiceResponse{});
        next = Expect::kPaused;
      } else {
        start(&v1::ServiceManager::Stub::ResumeService,
              v1::ResumeServiceRequest{}, v1::ResumeServiceResponse{});
      }
    }
    if (status.ok()) {
      ledger_.Acked(arn, operation_id, replica.id, next);
      return;
    }
    absl::MutexLock lock(&mu_);
    switch (status.error_code()) {
      case grpc::StatusCode::FAILED_PRECONDITION:  // Busy, or not in a
      case grpc::StatusCode::NOT_FOUND:            // state for the call.
        ++refused_;
        return;
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DEADLINE_EXCEEDED:
        if (replica.id == kVictim) {
          ++lost_to_kill_;
          return;
        }
        break;
      default:
        break;
    }
    ViolationLocked(absl::StrCat(
        replica.id, " answered ", static_cast<int>(status.error_code()), " (",
        status.error_message(), ") to a call for ", name));
  }

  // Waits until r3 holds a claim, SIGKILLs it, and records what it held.
  void Kill() {
    {
      absl::MutexLock lock(&mu_);
      auto third = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return started_calls_ >= options_.calls / 3;
      };
      mu_.Await(absl::Condition(&third));
    }
    Replica& victim = Victim();
    try {
      pqxx::connection c(url_);
      // Seen holding a claim, it is stopped, so that it cannot end its
      // claims before the kill; if it ended them before it stopped, it goes
      // on and is caught again.
      const absl::Time deadline = absl::Now() + absl::Seconds(30);
      bool stopped_holding = false;
      while (!stopped_holding &&
             AwaitHolding(c, victim, deadline - absl::Now())) {
        SetLive({0, 1});
        kill(victim.pid, SIGSTOP);
        stopped_holding = Settled(c, victim) && !Held(c, victim).empty();
        if (!stopped_holding) {
          kill(victim.pid, SIGCONT);
          SetLive({0, 1, 2});
        }
      }
      if (!stopped_holding) {
        Violation(absl::StrCat(victim.id,
                               " was never stopped holding a claim in 30 s"));
      } else {
        kill_time_ = absl::Now();
        kill(victim.pid, SIGKILL);
        waitpid(victim.pid, nullptr, 0);
        victim.pid = -1;
        // Once its sessions are gone, no commit of it can still land: what
        // it owns then is what it held when it died.
        if (!WaitFor(
                [&] {
                  pqxx::nontransaction t(c);
                  return t.exec_params(
                              "SELECT count(*) FROM pg_stat_activity"
                              " WHERE application_name = $1",
                              ApplicationName(victim))
                             .at(0)[0]
                             .as<int>() == 0;
                },
                std::chrono::seconds(10))) {
          Violation(absl::StrCat(victim.id, "'s sessions outlived it by 10 s"));
        }
        held_ = Held(c, victim);
        if (held_.empty()) {
          Violation(absl::StrCat(victim.id,
                                 " ended its last claims as it was stopped: "
                                 "nothing to take over"));
        }
      }
    } catch (const std::exception& e) {
      Violation(absl::StrCat("PostgreSQL, while killing: ", e.what()));
    }
    absl::MutexLock lock(&mu_);
    kill_done_ = true;
  }

  void SetLive(std::vector<int> live) {
    absl::MutexLock lock(&mu_);
    live_ = std::move(live);
  }

  // Whether the stopped `replica`'s sessions soon run no statement: none can
  // then end until it is continued. One may stay inside a transaction,
  // holding the rows it changed so far.
  bool Settled(pqxx::connection& c, const Replica& replica) {
    return WaitFor(
        [&] {
          pqxx::nontransaction t(c);
          return t.exec_params(
                      "SELECT count(*) FROM pg_stat_activity"
                      " WHERE application_name = $1 AND state = 'active'",
                      ApplicationName(replica))
                     .at(0)[0]
                     .as<int>() == 0;
        },
        std::chrono::seconds(1));
  }

  // Looks without pause (a claim may be held for a few milliseconds only)
  // until `replica` owns an open operation; whether it did in `timeout`.
  bool AwaitHolding(pqxx::connection& c, const Replica& replica,
                    absl::Duration timeout) {
    c.prepare("holding",
              absl::StrCat("SELECT count(*) FROM operations WHERE owner = $1"
                           " AND status IN ",
                           kOpen));
    const absl::Time deadline = absl::Now() + timeout;
    bool holding = false;
    while (!holding && absl::Now() < deadline) {
      pqxx::nontransaction t(c);
      holding = t.exec_prepared("holding", replica.id).at(0)[0].as<int>() > 0;
    }
    c.unprepare("holding");
    return holding;
  }

  // The open operations `replica` owns.
  std::vector<std::string> Held(pqxx::connection& c, const Replica& replica) {
    pqxx::nontransaction t(c);
    std::vector<std::string> held;
    for (const pqxx::row& r :
         t.exec_params(absl::StrCat("SELECT operation_id FROM operations"
                                    " WHERE owner = $1 AND status IN ",
                                    kOpen),
                       replica.id)) {
      held.push_back(r[0].c_str());
    }
    return held;
  }

  // A CreateService on `replica`, recorded if acknowledged.
  std::optional<v1::CreateServiceResponse> Create(Replica& replica,
                                                  const std::string& name) {
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/storm/web:1");
    v1::CreateServiceResponse response;
    const grpc::Status status = Send(
        replica, &v1::ServiceManager::Stub::CreateService, request, response);
    if (!status.ok()) {
      Violation(absl::StrCat("CreateService ", name, " on ", replica.id, ": ",
                             status.error_message()));
      return std::nullopt;
    }
    ledger_.Acked(response.service().service_arn(), response.operation_id(),
                  replica.id, Expect::kRunning);
    return response;
  }

  // --- A stale owner -------------------------------------------------------

  // A fourth replica, r4, accepts operations and is SIGSTOPped while it holds
  // claims (if it held none by then, it is continued and tried again). A
  // call to each survivor, as live traffic would, makes their workers look
  // at the due times: once r4's leases run out they take its operations over
  // and end them. Then r4 is continued: each of its late finishes must be
  // refused as a lost claim (its log says so) and add no ending, which
  // CheckOperations sees.
  void StaleOwner() {
    Replica& stale = Stale();
    if (!Launch(stale) || !Ready(stale)) return;
    try {
      pqxx::connection c(url_);
      for (int round = 0; round < 10 && stale_held_.empty(); ++round) {
        for (int i = 0; i < 8; ++i) {
          Create(stale, absl::StrCat("rs-stale-", round, "-", i));
        }
        if (!AwaitHolding(c, stale, absl::Seconds(10))) continue;
        kill(stale.pid, SIGSTOP);
        // A row its stopped session still locks (of the operation it was
        // finishing or renewing) is left out: it still owns it, and rightly
        // finishes it when continued.
        const bool settled = Settled(c, stale);
        if (settled) {
          pqxx::work t(c);
          for (const pqxx::row& r :
               t.exec_params(absl::StrCat("SELECT operation_id FROM operations"
                                          " WHERE owner = $1 AND status IN ",
                                          kOpen, " FOR UPDATE SKIP LOCKED"),
                             stale.id)) {
            stale_held_.push_back(r[0].c_str());
          }
          t.abort();
        }
        if (stale_held_.empty()) kill(stale.pid, SIGCONT);
      }
      if (stale_held_.empty()) {
        Violation(absl::StrCat(stale.id, " was never stopped holding a claim"));
        StopReplica(stale);
        return;
      }
      for (Replica* survivor : Survivors()) {
        Create(*survivor, absl::StrCat("rs-stale-", survivor->id));
      }
      const std::string ids = absl::StrJoin(stale_held_, ",");
      const bool ended = WaitFor(
          [&] {
            pqxx::nontransaction t(c);
            return t.exec_params(
                        "SELECT count(DISTINCT operation_id) FROM"
                        " operation_endings WHERE operation_id ="
                        " ANY (string_to_array($1, ','))",
                        ids)
                       .at(0)[0]
                       .as<size_t>() == stale_held_.size();
          },
          std::chrono::seconds(30));
      kill(stale.pid, SIGCONT);
      if (!ended) {
        Violation(absl::StrCat("the survivors did not end what the stopped ",
                               stale.id, " held within 30 s"));
      } else {
        CheckStaleFinishes(stale);
      }
    } catch (const std::exception& e) {
      Violation(absl::StrCat("PostgreSQL, with a stale owner: ", e.what()));
    }
    StopReplica(stale);
  }

  // Each operation the stopped replica held: its late finish logged as a
  // lost claim.
  void CheckStaleFinishes(const Replica& stale) {
    std::set<std::string> refused;
    WaitFor(
        [&] {
          for (absl::string_view line :
               absl::StrSplit(ReadFile(stale.log), '\n')) {
            if (!absl::StrContains(line, "lost its claim")) continue;
            for (const std::string& id : stale_held_) {
              if (absl::StrContains(line, id)) refused.insert(id);
            }
          }
          return refused.size() == stale_held_.size();
        },
        std::chrono::seconds(10));
    stale_refused_ = static_cast<int>(refused.size());
    for (const std::string& id : stale_held_) {
      if (!refused.contains(id)) {
        Violation(absl::StrCat(stale.id, "'s late finish of ", id,
                               " was not refused as a lost claim"));
      }
    }
    std::cout << "stale-owner: held=" << stale_held_.size()
              << " refused=" << stale_refused_ << std::endl;
  }

  // Waits until every operation has ended.
  bool Drain() {
    try {
      pqxx::connection c(url_);
      pqxx::nontransaction t(c);
      int open = 0;
      if (!WaitFor(
              [&] {
                open = t.exec(
                            "SELECT count(*) FROM operations"
                            " WHERE ended_at IS NULL")
                           .at(0)[0]
                           .as<int>();
                return open == 0;
              },
              std::chrono::seconds(60))) {
        Violation(absl::StrCat(open,
                               " operations still open 60 s after the "
                               "last call"));
      }
      return true;
    } catch (const std::exception& e) {
      Violation(absl::StrCat("PostgreSQL, while draining: ", e.what()));
      return false;
    }
  }

  // --- Checks --------------------------------------------------------------

  // a and b: every acknowledged operation ended SUCCEEDED or FAILED, and the
  // execution log has one row for each ended operation.
  void CheckOperations() {
    pqxx::connection c(url_);
    pqxx::nontransaction t(c);
    for (const pqxx::row& r :
         t.exec("SELECT operation_id, status, COALESCE(owner, ''), attempt,"
                " ended_at IS NOT NULL FROM operations")) {
      stored_[r[0].c_str()] = {r[1].c_str(), r[2].c_str(), r[3].as<int>(),
                               r[4].as<bool>()};
    }
    for (const pqxx::row& r :
         t.exec("SELECT operation_id, status, replica, attempt, ended_at"
                " FROM operation_endings")) {
      endings_[r[0].c_str()].push_back(
          {r[1].c_str(), r[2].c_str(), r[3].as<int>(), r[4].as<int64_t>()});
    }
    std::set<std::string> logged_right;  // Ended, with its one ending.
    for (const auto& [id, op] : stored_) {
      if (EndingMatches(id, op) && op.ended) logged_right.insert(id);
    }
    const std::vector<Acknowledged> acknowledged = ledger_.acknowledged();
    acknowledged_ = static_cast<int>(acknowledged.size());
    for (const Acknowledged& ack : acknowledged) {
      auto it = stored_.find(ack.operation_id);
      if (it == stored_.end()) {
        Violation(absl::StrCat("operation ", ack.operation_id,
                               " acknowledged by ", ack.replica,
                               " is not in the database"));
        continue;
      }
      if (it->second.status != "SUCCEEDED" && it->second.status != "FAILED") {
        Violation(absl::StrCat("operation ", ack.operation_id,
                               " acknowledged by ", ack.replica, " ended ",
                               it->second.status));
      }
      if (logged_right.contains(ack.operation_id)) ++endings_ok_;
    }
    for (const auto& [id, rows] : endings_) {
      if (!stored_.contains(id)) {
        Violation(absl::StrCat(rows.size(), " endings of ", id,
                               ", an operation the database does not have"));
      }
      for (const Ending& ending : rows) {
        if (!held_.empty() && ending.replica == kVictim &&
            ending.ended_at >= Micros(kill_time_)) {
          Violation(
              absl::StrCat(id, " ended by ", kVictim, " after it was killed"));
        }
      }
    }
  }

  // Whether the operation's log is right: one row matching it if it ended,
  // none if not. Each finding is reported once.
  bool EndingMatches(const std::string& id, const StoredOperation& op) {
    auto it = endings_.find(id);
    const size_t rows = it == endings_.end() ? 0 : it->second.size();
    if (!op.ended) {
      if (rows != 0) {
        Violation(absl::StrCat(id, " is open but has ", rows, " endings"));
      }
      return rows == 0;
    }
    if (rows != 1) {
      Violation(absl::StrCat(id, " ended ", op.status, " with ", rows,
                             " rows in operation_endings"));
      return false;
    }
    const Ending& ending = it->second[0];
    if (ending.status != op.status || ending.replica != op.owner ||
        ending.attempt != op.attempt) {
      Violation(absl::StrCat(id, " is ", op.status, " of ", op.owner,
                             " attempt ", op.attempt, " but its ending says ",
                             ending.status, " of ", ending.replica, " attempt ",
                             ending.attempt));
      return false;
    }
    return true;
  }

  // The longest a survivor may take to end an operation the killed replica
  // held: the lease runs out, a survivor looks (its poll period at the
  // latest), and runs it (the worker delay, counted although a takeover
  // does not wait for it again), plus the margin.
  absl::Duration TakeoverBound() const {
    absl::Duration lease;
    absl::Duration poll;
    absl::ParseDuration(options_.lease, &lease);
    absl::ParseDuration(options_.poll_interval, &poll);
    return lease + poll + absl::Milliseconds(options_.worker_delay_ms) +
           absl::Milliseconds(options_.takeover_margin_ms);
  }

  // c: what r3 held was ended by a survivor on a later attempt, in time.
  void CheckTakeover() {
    const absl::Duration bound = TakeoverBound();
    for (const std::string& id : held_) {
      auto it = endings_.find(id);
      if (it == endings_.end() || it->second.size() != 1) {
        continue;  // Reported by CheckOperations.
      }
      const Ending& ending = it->second[0];
      if (ending.replica == kVictim || ending.attempt < 2) {
        Violation(absl::StrCat(id, " held by ", kVictim, " was ended by ",
                               ending.replica, " on attempt ", ending.attempt));
        continue;
      }
      ++taken_over_;
      const absl::Duration after =
          absl::Microseconds(ending.ended_at - Micros(kill_time_));
      takeover_max_ = std::max(takeover_max_, after);
      if (after > bound) {
        Violation(absl::StrCat(
            id, " was taken over ", absl::FormatDuration(after),
            " after the kill; the bound is ", absl::FormatDuration(bound)));
      }
    }
  }

  // What the stopped r4 held was ended by a survivor on a later attempt.
  void CheckStaleTakeover() {
    for (const std::string& id : stale_held_) {
      auto it = endings_.find(id);
      if (it == endings_.end() || it->second.size() != 1) {
        continue;  // Reported by CheckOperations.
      }
      const Ending& ending = it->second[0];
      if (ending.replica == Stale().id || ending.attempt < 2) {
        Violation(absl::StrCat(id, " held by the stopped ", Stale().id,
                               " was ended by ", ending.replica, " on attempt ",
                               ending.attempt));
      }
    }
  }

  // d: no service is left OPERATION_IN_PROGRESS.
  void CheckServices() {
    pqxx::connection c(url_);
    pqxx::nontransaction t(c);
    for (const pqxx::row& r :
         t.exec("SELECT service_id FROM services"
                " WHERE status = 'OPERATION_IN_PROGRESS'")) {
      ++in_progress_left_;
      Violation(absl::StrCat("service ", r[0].c_str(),
                             " is left OPERATION_IN_PROGRESS"));
    }
  }

  // --- WaitOperation across replicas ---------------------------------------

  // Waits for the operation to end on `replica`; the response and when it
  // came, or nullopt if the call failed.
  std::optional<std::pair<v1::Operation, absl::Time>> Wait(
      Replica& replica, const std::string& operation_id) {
    v1::WaitOperationRequest request;
    request.set_operation_id(operation_id);
    request.mutable_timeout()->set_seconds(30);
    v1::WaitOperationResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(40));
    const grpc::Status status =
        replica.stub->WaitOperation(&context, request, &response);
    const absl::Time returned = absl::Now();
    if (!status.ok() || !response.done()) {
      Violation(absl::StrCat(
          "WaitOperation ", operation_id, " on ", replica.id, ": ",
          status.ok() ? "not done after 30 s" : status.error_message()));
      return std::nullopt;
    }
    return std::make_pair(response.operation(), returned);
  }

  // e: each operation is accepted by one survivor and waited for on both at
  // once; the wait on the survivor that did not end it (the log says which
  // did) measures the cross-replica wake-up. Three lanes, one service each,
  // pausing and resuming in turn.
  void WaitAcrossReplicas() {
    std::vector<Replica*> survivors = Survivors();
    constexpr int kLanes = 3;
    std::unique_ptr<Listener> listener;
    try {
      listener = std::make_unique<Listener>(url_);
    } catch (const std::exception& e) {
      Violation(absl::StrCat("PostgreSQL, LISTEN: ", e.what()));
      return;
    }
    // After the commit, and after the ending's ended_at (taken before its
    // transaction began).
    std::vector<double> latencies_ms;
    std::vector<double> since_ended_at_ms;
    absl::Mutex latencies_mu;
    std::vector<std::thread> lanes;
    for (int lane = 0; lane < kLanes; ++lane) {
      lanes.emplace_back([&, lane] {
        Replica& home = *survivors[lane % 2];
        std::optional<v1::CreateServiceResponse> created =
            Create(home, absl::StrCat("rs-wait-", lane));
        if (!created || !Wait(home, created->operation_id())) return;
        const std::string arn = created->service().service_arn();
        bool running = true;
        for (int k = lane; k < options_.waits; k += kLanes) {
          Replica& accepting = *survivors[k % 2];
          std::string operation_id;
          grpc::Status accepted;
          if (running) {
            v1::PauseServiceRequest request;
            request.set_service_arn(arn);
            v1::PauseServiceResponse response;
            accepted = Send(accepting, &v1::ServiceManager::Stub::PauseService,
                            request, response);
            operation_id = response.operation_id();
          } else {
            v1::ResumeServiceRequest request;
            request.set_service_arn(arn);
            v1::ResumeServiceResponse response;
            accepted = Send(accepting, &v1::ServiceManager::Stub::ResumeService,
                            request, response);
            operation_id = response.operation_id();
          }
          if (!accepted.ok()) {
            Violation(absl::StrCat("a call for the waits on ", accepting.id,
                                   ": ", accepted.error_message()));
            return;
          }
          running = !running;
          std::optional<std::pair<v1::Operation, absl::Time>> waited[2];
          std::thread first(
              [&] { waited[0] = Wait(*survivors[0], operation_id); });
          std::thread second(
              [&] { waited[1] = Wait(*survivors[1], operation_id); });
          first.join();
          second.join();
          if (!waited[0] || !waited[1]) return;
          std::optional<Ending> ending = EndingOf(operation_id);
          if (!ending) {
            Violation(absl::StrCat(operation_id, " has no single ending"));
            return;
          }
          const std::optional<absl::Time> committed =
              listener->announcements().Await(operation_id, absl::Seconds(5));
          if (!committed) {
            Violation(absl::StrCat("the ending of ", operation_id,
                                   " was never announced"));
            return;
          }
          for (int i = 0; i < 2; ++i) {
            if (survivors[i]->id == ending->replica) continue;
            const double ms =
                absl::ToDoubleMilliseconds(waited[i]->second - *committed);
            absl::MutexLock lock(&latencies_mu);
            latencies_ms.push_back(ms);
            since_ended_at_ms.push_back(absl::ToDoubleMilliseconds(
                waited[i]->second - absl::FromUnixMicros(ending->ended_at)));
            if (ms > options_.wait_limit_ms) {
              std::cerr << "slow: WaitOperation " << operation_id << " on "
                        << survivors[i]->id << " returned " << ms
                        << " ms after " << ending->replica
                        << " committed its ending\n";
            }
          }
        }
      });
    }
    for (std::thread& lane : lanes) lane.join();
    wait_cross_ = static_cast<int>(latencies_ms.size());
    if (!latencies_ms.empty()) {
      wait_max_ms_ =
          *std::max_element(latencies_ms.begin(), latencies_ms.end());
    }
    const int over = static_cast<int>(
        std::count_if(latencies_ms.begin(), latencies_ms.end(),
                      [&](double ms) { return ms > options_.wait_limit_ms; }));
    std::cout << "wait: operations=" << options_.waits
              << " cross_replica=" << wait_cross_
              << " median_ms=" << Median(latencies_ms)
              << " max_ms=" << wait_max_ms_ << " over_"
              << options_.wait_limit_ms << "ms=" << over
              << " since_ended_at_median_ms=" << Median(since_ended_at_ms)
              << " since_ended_at_max_ms="
              << (since_ended_at_ms.empty()
                      ? 0
                      : *std::max_element(since_ended_at_ms.begin(),
                                          since_ended_at_ms.end()))
              << std::endl;
    if (over > options_.wait_outliers) {
      Violation(absl::StrCat(over, " cross-replica waits took over ",
                             options_.wait_limit_ms, " ms (",
                             options_.wait_outliers, " allowed)"));
    }
    if (wait_max_ms_ > 10 * options_.wait_limit_ms) {
      Violation(absl::StrCat("a cross-replica wait took ", wait_max_ms_,
                             " ms, over 10 times ", options_.wait_limit_ms,
                             " ms"));
    }
    if (wait_cross_ < std::min(10, options_.waits)) {
      Violation(
          absl::StrCat("only ", wait_cross_, " waits were across replicas"));
    }
  }

  std::optional<Ending> EndingOf(const std::string& operation_id) {
    pqxx::connection c(url_);
    pqxx::nontransaction t(c);
    pqxx::result r = t.exec_params(
        "SELECT status, replica, attempt, ended_at FROM operation_endings"
        " WHERE operation_id = $1",
        operation_id);
    if (r.size() != 1) return std::nullopt;
    return Ending{r[0][0].c_str(), r[0][1].c_str(), r[0][2].as<int>(),
                  r[0][3].as<int64_t>()};
  }

  // --- Conflicts -----------------------------------------------------------

  struct Outcome {
    grpc::StatusCode code = grpc::StatusCode::UNKNOWN;
    std::string message;
    std::string error_type;
    std::string operation_id;
  };

  // PauseService (or ResumeService) sent to both survivors at the same
  // moment.
  std::vector<Outcome> Race(const std::string& arn, bool pause) {
    std::vector<Replica*> survivors = Survivors();
    std::vector<Outcome> outcomes(2);
    std::latch start(2);
    std::vector<std::thread> threads;
    for (int i = 0; i < 2; ++i) {
      threads.emplace_back([&, i] {
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() +
                             std::chrono::seconds(10));
        grpc::Status status;
        start.arrive_and_wait();
        if (pause) {
          v1::PauseServiceRequest request;
          request.set_service_arn(arn);
          v1::PauseServiceResponse response;
          status =
              survivors[i]->stub->PauseService(&context, request, &response);
          outcomes[i].operation_id = response.operation_id();
        } else {
          v1::ResumeServiceRequest request;
          request.set_service_arn(arn);
          v1::ResumeServiceResponse response;
          status =
              survivors[i]->stub->ResumeService(&context, request, &response);
          outcomes[i].operation_id = response.operation_id();
        }
        outcomes[i].code = status.error_code();
        outcomes[i].message = status.error_message();
        const auto& trailers = context.GetServerTrailingMetadata();
        if (auto it = trailers.find("x-amzn-errortype"); it != trailers.end()) {
          outcomes[i].error_type =
              std::string(it->second.data(), it->second.size());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    return outcomes;
  }

  // Whether exactly one call won and the other was refused as SQLite
  // refuses a call on a busy service; waits for the winner's operation.
  bool OneWinner(int round, const std::string& arn, bool pause) {
    const std::vector<Outcome> outcomes = Race(arn, pause);
    const std::string what = absl::StrCat("conflict round ", round, " (",
                                          pause ? "pause" : "resume", ")");
    const int winners = static_cast<int>(std::count_if(
        outcomes.begin(), outcomes.end(), [](const Outcome& outcome) {
          return outcome.code == grpc::StatusCode::OK;
        }));
    if (winners != 1) {
      Violation(absl::StrCat(what, ": ", winners, " calls won"));
      return false;
    }
    const int winner = outcomes[0].code == grpc::StatusCode::OK ? 0 : 1;
    const Outcome& loser = outcomes[1 - winner];
    const std::string expected = absl::StrCat(
        "cannot start ", pause ? "PAUSE_SERVICE" : "RESUME_SERVICE",
        ": the service is OPERATION_IN_PROGRESS; one operation at a time, "
        "retry when it has finished");
    bool ok = true;
    if (loser.code != grpc::StatusCode::FAILED_PRECONDITION ||
        loser.error_type != "InvalidStateException" ||
        loser.message != expected) {
      Violation(absl::StrCat(what, ": the loser got code ",
                             static_cast<int>(loser.code), " ",
                             loser.error_type, " \"", loser.message, "\""));
      ok = false;
    }
    std::optional<std::pair<v1::Operation, absl::Time>> ended =
        Wait(*Survivors()[winner], outcomes[winner].operation_id);
    if (!ended || ended->first.status() != v1::SUCCEEDED) {
      Violation(absl::StrCat(what, ": the winner's operation did not succeed"));
      return false;
    }
    return ok;
  }

  void Conflicts() {
    if (options_.conflicts == 0) return;
    Replica& home = *Survivors()[0];
    std::optional<v1::CreateServiceResponse> created =
        Create(home, "rs-conflict");
    if (!created || !Wait(home, created->operation_id())) return;
    const std::string arn = created->service().service_arn();
    int one_winner = 0;
    for (int round = 1; round <= options_.conflicts; ++round) {
      const bool paused = OneWinner(round, arn, /*pause=*/true);
      const bool resumed = OneWinner(round, arn, /*pause=*/false);
      if (paused && resumed) ++one_winner;
    }
    std::cout << "conflicts: rounds=" << options_.conflicts
              << " one_winner=" << one_winner << std::endl;
  }

  // --- Findings ------------------------------------------------------------

  void Violation(const std::string& what) {
    absl::MutexLock lock(&mu_);
    ViolationLocked(what);
  }
  void ViolationLocked(const std::string& what)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    ++violations_;
    std::cerr << "VIOLATION: " << what << "\n";
  }

  int Summary() {
    absl::MutexLock lock(&mu_);
    if (options_.verbose) {
      std::cerr << "refused " << refused_ << " calls; " << lost_to_kill_
                << " calls to " << kVictim
                << " failed with it; held: " << absl::StrJoin(held_, ",")
                << "; takeover bound " << absl::FormatDuration(TakeoverBound())
                << "\n";
    }
    std::cout << "replica-storm: calls="
              << std::min(started_calls_, options_.calls)
              << " acknowledged=" << acknowledged_
              << " held_by_killed=" << held_.size()
              << " taken_over=" << taken_over_
              << " takeover_max_ms=" << absl::ToInt64Milliseconds(takeover_max_)
              << " endings_ok=" << endings_ok_
              << " in_progress_left=" << in_progress_left_
              << " wait_cross_replica=" << wait_cross_
              << " wait_max_ms=" << static_cast<int64_t>(wait_max_ms_)
              << " violations=" << violations_ << std::endl;
    return violations_ == 0 ? 0 : 1;
  }

  const Options options_;
  const std::string url_;
  std::mt19937_64 random_;
  std::vector<Replica> replicas_;
  Ledger ledger_;

  absl::Mutex mu_;
  std::vector<int> live_ ABSL_GUARDED_BY(mu_);
  int started_calls_ ABSL_GUARDED_BY(mu_) = 0;
  bool kill_done_ ABSL_GUARDED_BY(mu_) = false;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  int lost_to_kill_ ABSL_GUARDED_BY(mu_) = 0;
  int violations_ ABSL_GUARDED_BY(mu_) = 0;

  // Written by the killer before kill_done_, read after the storm.
  absl::Time kill_time_;
  std::vector<std::string> held_;
  // What r4 held when it was stopped, and its late finishes refused.
  std::vector<std::string> stale_held_;
  int stale_refused_ = 0;

  std::map<std::string, StoredOperation> stored_;
  std::map<std::string, std::vector<Ending>> endings_;
  int acknowledged_ = 0;
  int endings_ok_ = 0;
  int taken_over_ = 0;
  absl::Duration takeover_max_;
  absl::Time phase_start_ = absl::Now();
  int in_progress_left_ = 0;
  int wait_cross_ = 0;
  double wait_max_ms_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options options;
  options.seed = std::random_device()();
  CLI::App app{
      "Three servicemanager replicas on one PostgreSQL database under "
      "concurrent calls; one is SIGKILLed while it holds claims. Checks that "
      "every operation ends once, what it held is taken over in time, waits "
      "wake across replicas, and conflicting calls have one winner."};
  app.add_option("--server", options.server, "the servicemanager binary")
      ->required()
      ->check(CLI::ExistingFile);
  app.add_option("--calls", options.calls, "calls in the storm")
      ->check(CLI::Range(30, 100000));
  app.add_option("--clients", options.clients, "concurrent callers")
      ->check(CLI::Range(1, 64));
  app.add_option("--worker-delay-ms", options.worker_delay_ms,
                 "the servers' --worker-delay-ms")
      ->check(CLI::Range(0, 10000));
  app.add_option("--lease", options.lease, "the servers' --lease");
  app.add_option("--poll-interval", options.poll_interval,
                 "the servers' --poll-interval");
  app.add_option("--takeover-margin-ms", options.takeover_margin_ms,
                 "allowed beyond lease + poll interval + worker delay for a "
                 "survivor to end what the killed replica held")
      ->check(CLI::Range(0, 600000));
  app.add_option("--waits", options.waits,
                 "operations waited for across replicas")
      ->check(CLI::Range(0, 10000));
  app.add_option("--wait-limit-ms", options.wait_limit_ms,
                 "the longest a cross-replica wait may lag the ending")
      ->check(CLI::Range(1, 60000));
  app.add_option("--wait-outliers", options.wait_outliers,
                 "how many cross-replica waits may exceed --wait-limit-ms "
                 "(none by 10 times)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--conflicts", options.conflicts,
                 "rounds of conflicting pause and resume calls")
      ->check(CLI::Range(0, 10000));
  app.add_option("--seed", options.seed, "random seed (printed)");
  app.add_option("--work-dir", options.work_dir,
                 "where the logs go (default: a new temporary directory, "
                 "removed if the storm passes)");
  app.add_flag("--verbose", options.verbose, "details on stderr");
  CLI11_PARSE(app, argc, argv);
  for (const std::string* duration : {&options.lease, &options.poll_interval}) {
    absl::Duration parsed;
    if (!absl::ParseDuration(*duration, &parsed)) {
      std::cerr << "not a duration: " << *duration << "\n";
      return 2;
    }
  }

  const std::optional<std::string> server_url =
      servicemanager::testing::TestPostgresUrl();
  if (!server_url) {
    std::cout << "replica-storm: skipped: no PostgreSQL server (set "
                 "SM_TEST_POSTGRES_URL or SM_TEST_POSTGRES_URL_FILE)"
              << std::endl;
    return 0;
  }
  auto schema = PostgresSchema::Create(*server_url);
  if (!schema.ok()) {
    std::cerr << "replica-storm: " << schema.status() << "\n";
    return 1;
  }
  const bool temporary = options.work_dir.empty();
  if (temporary) {
    options.work_dir = (std::filesystem::temp_directory_path() /
                        absl::StrCat("sm-replica-storm-", getpid()))
                           .string();
  }
  std::cerr << "replica-storm: seed " << options.seed << ", schema "
            << (*schema)->name() << ", logs in " << options.work_dir << "\n";
  signal(SIGPIPE, SIG_IGN);
  const int rc = ReplicaStorm(options, (*schema)->url()).Run();
  if (rc == 0 && temporary) {
    std::filesystem::remove_all(options.work_dir);
  }
  return rc;
}
