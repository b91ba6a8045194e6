// sm_bench_load: keeps N calls in flight over M channels against one or more
// servers on 127.0.0.1 (the channels go round-robin over the targets) for a
// fixed time, with gRPC's callback API, and prints one line:
//
//   result scenario=S calls=N errors=E qps=Q p50_us=.. p90_us=.. p99_us=..
//     p999_us=..
//
// Scenarios: echo (the baseline server), describe, list_operations (first
// page), deep_list_operations (a page far down the busiest service's
// history), pause (distinct RUNNING services, one pause each), resume
// (distinct PAUSED services, one resume each), mixed (90% describe, 10%
// pause), create (services bench-0, bench-1, ... up to
// --max-services of them, for seeding through the API). On stderr it also
// prints "load_cpu_s S", its own CPU time during the load.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/seeded_ids.h"
#include "common/process_defaults.h"
#include "echo.grpc.pb.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"

namespace {

namespace v1 = ::servicemanager::v1;
namespace bench = ::servicemanager::bench;

struct Options {
  std::vector<std::string> targets;
  std::string scenario;
  int concurrency = 64;
  int channels = 4;
  double duration_seconds = 5;
  int max_services = 20000;
  int64_t seeded = 0;
  int deep_pages = 200;
};

// What the load needs to know of the server's data before it starts.
struct Fixture {
  // Without `seeded`: services listed from the server, and those the write
  // scenario acts on (RUNNING ones to pause, PAUSED ones to resume).
  std::vector<std::string> arns;
  std::vector<std::string> ready_arns;
  // With it: services 0..seeded-1 as sm_bench_seed wrote them, all RUNNING
  // (or all PAUSED, seeded with --paused).
  int64_t seeded = 0;
  std::string deep_arn;    // The service with most operations.
  std::string deep_token;  // A token far down its history.
};

// The ARN of the i-th service sm_bench_seed wrote (default region and
// account).
std::string SeededArn(int64_t i) {
  return absl::StrFormat(
      "arn:aws:apprunner:us-east-1:000000000000:service/svc-%08d/%s", i,
      bench::SeededServiceId(i));
}

bool LoadFixture(v1::ServiceManager::Stub& stub, const Options& options,
                 Fixture& fixture) {
  // Seeded services are known without listing a million of them.
  fixture.seeded = options.seeded;
  std::string token;
  while (options.seeded == 0) {
    grpc::ClientContext context;
    v1::ListServicesRequest request;
    request.set_max_results(100);
    request.set_next_token(token);
    v1::ListServicesResponse response;
    grpc::Status status = stub.ListServices(&context, request, &response);
    if (!status.ok()) {
      std::cerr << "ListServices: " << status.error_message() << "\n";
      return false;
    }
    for (const v1::ServiceSummary& summary : response.service_summary_list()) {
      fixture.arns.push_back(summary.service_arn());
      if (summary.status() ==
          (options.scenario == "resume" ? v1::PAUSED : v1::RUNNING)) {
        fixture.ready_arns.push_back(summary.service_arn());
      }
    }
    token = response.next_token();
    if (token.empty() ||
        static_cast<int>(fixture.arns.size()) >= options.max_services) {
      break;
    }
  }
  if (fixture.arns.empty() && fixture.seeded == 0) {
    std::cerr << "the server has no services\n";
    return false;
  }
  if (options.scenario != "deep_list_operations") {
    return true;
  }
  // The seeder gives the first service the longest history.
  fixture.deep_arn = fixture.seeded > 0 ? SeededArn(0) : fixture.arns.front();
  for (int page = 0; page < options.deep_pages; ++page) {
    grpc::ClientContext context;
    v1::ListOperationsRequest request;
    request.set_service_arn(fixture.deep_arn);
    request.set_max_results(100);
    request.set_next_token(fixture.deep_token);
    v1::ListOperationsResponse response;
    if (!stub.ListOperations(&context, request, &response).ok() ||
        response.next_token().empty()) {
      break;
    }
    fixture.deep_token = response.next_token();
  }
  return true;
}

// User and system time of this process so far, all threads.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Keeps `concurrency` calls in flight until the deadline.
class Load {
 public:
  Load(const Options& options, const Fixture& fixture)
      : options_(options), fixture_(fixture) {
    for (int i = 0; i < options.channels; ++i) {
      grpc::ChannelArguments args;
      // One connection per channel, as separate clients would have.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      auto channel = grpc::CreateCustomChannel(
          options.targets[static_cast<size_t>(i) % options.targets.size()],
          grpc::InsecureChannelCredentials(), args);
      stubs_.push_back(v1::ServiceManager::NewStub(channel));
      echo_stubs_.push_back(bench::Echo::NewStub(channel));
    }
  }

  void Run() {
    deadline_ = absl::Now() + absl::Seconds(options_.duration_seconds);
    start_ = absl::Now();
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = options_.concurrency;
    }
    for (int slot = 0; slot < options_.concurrency; ++slot) {
      Issue(slot);
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* in_flight) { return *in_flight == 0; }, &in_flight_));
    elapsed_ = absl::Now() - start_;
  }

  void Print() {
    absl::MutexLock lock(&mu_);
    std::sort(latencies_us_.begin(), latencies_us_.end());
    auto percentile = [this](double p) -> int64_t {
      if (latencies_us_.empty()) return 0;
      const size_t index = std::min(
          latencies_us_.size() - 1,
          static_cast<size_t>(p * static_cast<double>(latencies_us_.size())));
      return latencies_us_[index];
    };
    const double seconds = absl::ToDoubleSeconds(elapsed_);
    std::cout << "result scenario=" << options_.scenario
              << " calls=" << latencies_us_.size() << " errors=" << errors_
              << " qps="
              << static_cast<int64_t>(static_cast<double>(ok_) / seconds)
              << " p50_us=" << percentile(0.50)
              << " p90_us=" << percentile(0.90)
              << " p99_us=" << percentile(0.99)
              << " p999_us=" << percentile(0.999) << std::endl;
    if (!first_error_.empty()) {
      std::cerr << "first error: " << first_error_ << "\n";
    }
    if (ran_out_) {
      std::cerr << "ran out of services to "
                << (options_.scenario == "resume" ? "resume" : "pause")
                << " before the end: seed more\n";
    }
  }

 private:
  // One call in flight: its context and messages live until it ends.
  struct Call {
    grpc::ClientContext context;
    absl::Time start;
    v1::DescribeServiceRequest describe;
    v1::DescribeServiceResponse described;
    v1::ListOperationsRequest list;
    v1::ListOperationsResponse listed;
    v1::PauseServiceRequest pause;
    v1::PauseServiceResponse paused;
    v1::ResumeServiceRequest resume;
    v1::ResumeServiceResponse resumed;
    v1::CreateServiceRequest create;
    v1::CreateServiceResponse created;
    bench::EchoRequest echo;
    bench::EchoResponse echoed;
  };

  void Issue(int slot) {
    if (absl::Now() >= deadline_) {
      absl::MutexLock lock(&mu_);
      --in_flight_;
      return;
    }
    auto call = std::make_shared<Call>();
    call->start = absl::Now();
    auto done = [this, call, slot](grpc::Status status) {
      Record(call->start, status);
      Issue(slot);
    };
    const size_t channel = static_cast<size_t>(slot % options_.channels);
    const std::string& scenario = options_.scenario;
    bool pause = scenario == "pause";
    if (scenario == "mixed") {
      pause = absl::Uniform(bitgen_, 0, 10) == 0;
    }
    if (scenario == "echo") {
      call->echo.set_text(SeededArn(0));
      echo_stubs_[channel]->async()->Echo(&call->context, &call->echo,
                                          &call->echoed, std::move(done));
    } else if (scenario == "create") {
      const size_t next = next_created_.fetch_add(1);
      if (next >= static_cast<size_t>(options_.max_services)) {
        absl::MutexLock lock(&mu_);
        --in_flight_;
        return;
      }
      SetCreateRequest(next, call->create);
      stubs_[channel]->async()->CreateService(&call->context, &call->create,
                                              &call->created, std::move(done));
    } else if (pause || scenario == "resume") {
      const size_t next = next_ready_.fetch_add(1);
      const size_t ready = fixture_.seeded > 0
                               ? static_cast<size_t>(fixture_.seeded)
                               : fixture_.ready_arns.size();
      if (next >= ready) {
        absl::MutexLock lock(&mu_);
        ran_out_ = true;
        --in_flight_;
        return;
      }
      const std::string arn = fixture_.seeded > 0
                                  ? SeededArn(static_cast<int64_t>(next))
                                  : fixture_.ready_arns[next];
      if (pause) {
        call->pause.set_service_arn(arn);
        stubs_[channel]->async()->PauseService(&call->context, &call->pause,
                                               &call->paused, std::move(done));
      } else {
        call->resume.set_service_arn(arn);
        stubs_[channel]->async()->ResumeService(
            &call->context, &call->resume, &call->resumed, std::move(done));
      }
    } else if (scenario == "describe" || scenario == "mixed") {
      call->describe.set_service_arn(RandomArn());
      stubs_[channel]->async()->DescribeService(
          &call->context, &call->describe, &call->described, std::move(done));
    } else {
      if (scenario == "deep_list_operations") {
        call->list.set_service_arn(fixture_.deep_arn);
        call->list.set_next_token(fixture_.deep_token);
      } else {
        call->list.set_service_arn(RandomArn());
      }
      stubs_[channel]->async()->ListOperations(&call->context, &call->list,
                                               &call->listed, std::move(done));
    }
  }

  // The smallest valid service, with the image the API tests use.
  static void SetCreateRequest(size_t n, v1::CreateServiceRequest& request) {
    request.set_service_name(absl::StrCat("bench-", n));
    auto* repo =
        request.mutable_source_configuration()->mutable_image_repository();
    repo->set_image_identifier("public.ecr.aws/hello/web:latest");
    repo->set_image_repository_type(v1::ECR_PUBLIC);
  }

  std::string RandomArn() {
    absl::MutexLock lock(&random_mu_);
    if (fixture_.seeded > 0) {
      return SeededArn(absl::Uniform<int64_t>(bitgen_, 0, fixture_.seeded));
    }
    return fixture_
        .arns[absl::Uniform<size_t>(bitgen_, 0, fixture_.arns.size())];
  }

  void Record(absl::Time start, const grpc::Status& status) {
    const int64_t micros = absl::ToInt64Microseconds(absl::Now() - start);
    absl::MutexLock lock(&mu_);
    latencies_us_.push_back(micros);
    if (status.ok()) {
      ++ok_;
    } else {
      ++errors_;
      if (first_error_.empty()) first_error_ = status.error_message();
    }
  }

  const Options& options_;
  const Fixture& fixture_;
  std::vector<std::unique_ptr<v1::ServiceManager::Stub>> stubs_;
  std::vector<std::unique_ptr<bench::Echo::Stub>> echo_stubs_;
  absl::Time start_;
  absl::Time deadline_;
  absl::Duration elapsed_;
  std::atomic<size_t> next_ready_ = 0;
  std::atomic<size_t> next_created_ = 0;
  absl::Mutex random_mu_;
  absl::BitGen bitgen_;

  absl::Mutex mu_;
  int in_flight_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<int64_t> latencies_us_ ABSL_GUARDED_BY(mu_);
  int64_t ok_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t errors_ ABSL_GUARDED_BY(mu_) = 0;
  std::string first_error_ ABSL_GUARDED_BY(mu_);
  bool ran_out_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace

int main(int argc, char** argv) {
  servicemanager::common::SetServingProcessDefaults();
  Options options;
  std::string targets;
  CLI::App app{"Load generator of the ServiceManager benchmark (127.0.0.1)."};
  app.add_option("--target", targets,
                 "HOST:PORT, or several comma-separated (replicas of one "
                 "database): the channels go round-robin over them")
      ->required();
  app.add_option("--scenario", options.scenario)
      ->required()
      ->check(CLI::IsMember({"echo", "describe", "list_operations",
                             "deep_list_operations", "pause", "resume", "mixed",
                             "create"}));
  app.add_option("--concurrency", options.concurrency, "calls in flight")
      ->capture_default_str();
  app.add_option("--channels", options.channels, "connections")
      ->capture_default_str();
  app.add_option("--duration-seconds", options.duration_seconds)
      ->capture_default_str();
  app.add_option("--max-services", options.max_services,
                 "services listed before the run, to pick from; for create, "
                 "the services to create")
      ->capture_default_str();
  app.add_option("--seeded", options.seeded,
                 "the server's database holds the N services sm_bench_seed "
                 "wrote: use their ARNs instead of listing")
      ->capture_default_str();
  app.add_option("--deep-pages", options.deep_pages,
                 "pages of 100 to skip for deep_list_operations")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  options.targets = absl::StrSplit(targets, ',');
  for (const std::string& target : options.targets) {
    if (target.rfind("127.0.0.1:", 0) != 0) {
      std::cerr << "--target must be on 127.0.0.1: " << target << "\n";
      return 2;
    }
  }

  Fixture fixture;
  if (options.scenario != "echo" && options.scenario != "create") {
    auto stub = v1::ServiceManager::NewStub(grpc::CreateChannel(
        options.targets.front(), grpc::InsecureChannelCredentials()));
    if (!LoadFixture(*stub, options, fixture)) {
      return 1;
    }
  }
  Load load(options, fixture);
  // The timed load's CPU time goes to stderr, for scripts that account for
  // where the time went.
  const double cpu_before = CpuSeconds();
  load.Run();
  std::cerr << "load_cpu_s " << CpuSeconds() - cpu_before << "\n";
  load.Print();
  return 0;
}
