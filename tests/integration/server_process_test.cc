// The real servicemanager binary: started on 127.0.0.1 with an ephemeral
// port, killed with SIGKILL while operations are pending, and restarted on
// the same data directory. Also drives it with the real smctl binary.
#include <gmock/gmock.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"
#include "tests/integration/process_fixture.h"

namespace {

namespace v1 = ::servicemanager::v1;

using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::Spawn;
using ::servicemanager::testing::WaitFor;
using ::testing::HasSubstr;
using ::testing::Not;

class ServerProcessTest : public ::servicemanager::testing::ProcessFixture {
 protected:
  ServerProcessTest() : ProcessFixture("sm-process-test") {}

  // Starts the server and waits for its ready line.
  void StartServer(int worker_delay_ms,
                   const std::vector<std::string>& more_flags = {}) {
    const std::filesystem::path log =
        dir_ / absl::StrCat("server-", ++runs_, ".log");
    std::vector<std::string> argv = {SM_SERVER_BINARY,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     (dir_ / "data").string(),
                                     "--worker-delay-ms",
                                     std::to_string(worker_delay_ms)};
    argv.insert(argv.end(), more_flags.begin(), more_flags.end());
    endpoint_ = StartServerProcess(argv, log);
    ASSERT_FALSE(endpoint_.empty());
    stub_ = v1::ServiceManager::NewStub(
        grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials()));
  }

  void KillServer() {
    ASSERT_EQ(kill(pid_, SIGKILL), 0);
    int status = 0;
    waitpid(pid_, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status));
    pid_ = -1;
  }

  v1::Service Describe(const std::string& arn) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    grpc::Status status = stub_->DescribeService(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.service();
  }

  bool AllIn(const std::vector<std::string>& arns, v1::ServiceStatus status) {
    for (const std::string& arn : arns) {
      if (Describe(arn).status() != status) {
        return false;
      }
    }
    return true;
  }

  struct Run {
    int exit_code;
    std::string out;
    std::string err;
  };

  // Runs smctl against the server and waits for it.
  Run Smctl(std::vector<std::string> args) {
    args.insert(args.begin(), {SM_SMCTL_BINARY, "--endpoint", endpoint_});
    const std::filesystem::path out = dir_ / "smctl.out";
    const std::filesystem::path err = dir_ / "smctl.err";
    pid_t pid = Spawn(args, out, err);
    int status = 0;
    waitpid(pid, &status, 0);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(out),
            ReadFile(err)};
  }

  template <typename Message>
  Message Parse(const std::string& json) {
    Message message;
    EXPECT_TRUE(
        google::protobuf::util::JsonStringToMessage(json, &message).ok())
        << json;
    return message;
  }

  int runs_ = 0;
  std::string endpoint_;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
};

TEST_F(ServerProcessTest, SigkillWithPendingOperationsThenRestartFinishesThem) {
  StartServer(/*worker_delay_ms=*/300);
  std::vector<std::string> arns;
  for (int i = 0; i < 5; ++i) {
    grpc::ClientContext context;
    v1::CreateServiceRequest request;
    request.set_service_name(absl::StrCat("durable-", i));
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/hello/web:1");
    v1::CreateServiceResponse response;
    ASSERT_TRUE(stub_->CreateService(&context, request, &response).ok());
    arns.push_back(response.service().service_arn());
  }
  ASSERT_TRUE(WaitFor([&] { return AllIn(arns, v1::RUNNING); },
                      std::chrono::seconds(20)));

  // Pauses are acknowledged, then the process dies before finishing them.
  KillServer();
  StartServer(/*worker_delay_ms=*/60000);
  std::vector<std::string> operation_ids;
  for (const std::string& arn : arns) {
    grpc::ClientContext context;
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    v1::PauseServiceResponse response;
    ASSERT_TRUE(stub_->PauseService(&context, request, &response).ok());
    operation_ids.push_back(response.operation_id());
  }
  KillServer();

  // The restart finishes them, with its own compute time.
  StartServer(/*worker_delay_ms=*/100);
  ASSERT_TRUE(WaitFor([&] { return AllIn(arns, v1::PAUSED); },
                      std::chrono::seconds(20)));
  for (size_t i = 0; i < arns.size(); ++i) {
    grpc::ClientContext context;
    v1::ListOperationsRequest request;
    request.set_service_arn(arns[i]);
    v1::ListOperationsResponse response;
    ASSERT_TRUE(stub_->ListOperations(&context, request, &response).ok());
    ASSERT_GE(response.operation_summary_list_size(), 2);
    const v1::OperationSummary& pause = response.operation_summary_list(0);
    EXPECT_EQ(pause.id(), operation_ids[i]);
    EXPECT_EQ(pause.type(), v1::PAUSE_SERVICE);
    EXPECT_EQ(pause.status(), v1::SUCCEEDED);
  }
}

TEST_F(ServerProcessTest, StartUpSaysWhichMigrationsItAppliesAndOnlyOnce) {
  StartServer(/*worker_delay_ms=*/100);
  EXPECT_THAT(ReadFile(dir_ / "server-1.log"),
              HasSubstr("applying migration version=7 "
                        "name=0007_service_snapshots.up.sql"));
  KillServer();
  StartServer(/*worker_delay_ms=*/100);
  EXPECT_THAT(ReadFile(dir_ / "server-2.log"),
              Not(HasSubstr("applying migration")));
}

TEST_F(ServerProcessTest, SmctlWalkthrough) {
  StartServer(/*worker_delay_ms=*/50);
  Run created = Smctl(
      {"create-service", "--service-name", "hello-web",
       "--source-configuration",
       R"({"image_repository":{"image_identifier":"public.ecr.aws/nginx/nginx:latest","image_repository_type":"ECR_PUBLIC"}})",
       "--instance-configuration", R"({"cpu":"1 vCPU","memory":"2 GB"})",
       "--tags", "Key=team,Value=web"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  auto create = Parse<v1::CreateServiceResponse>(created.out);
  EXPECT_EQ(create.service().status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_EQ(create.service().instance_configuration().cpu(), "1024");
  const std::string arn = create.service().service_arn();
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::RUNNING); },
                      std::chrono::seconds(10)));

  Run paused = Smctl({"pause-service", "--service-arn", arn});
  ASSERT_EQ(paused.exit_code, 0) << paused.err;
  EXPECT_EQ(Parse<v1::PauseServiceResponse>(paused.out).service().status(),
            v1::OPERATION_IN_PROGRESS);
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::PAUSED); },
                      std::chrono::seconds(10)));

  Run again = Smctl({"pause-service", "--service-arn", arn});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err,
              ::testing::HasSubstr("An error occurred (InvalidStateException) "
                                   "when calling the PauseService operation"));

  Run ops = Smctl({"list-operations", "--service-arn", arn});
  ASSERT_EQ(ops.exit_code, 0) << ops.err;
  auto listed = Parse<v1::ListOperationsResponse>(ops.out);
  ASSERT_EQ(listed.operation_summary_list_size(), 2);
  EXPECT_EQ(listed.operation_summary_list(0).type(), v1::PAUSE_SERVICE);

  ASSERT_EQ(Smctl({"resume-service", "--service-arn", arn}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::RUNNING); },
                      std::chrono::seconds(10)));
  Run described = Smctl({"describe-service", "--service-arn", arn});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(
      Parse<v1::DescribeServiceResponse>(described.out).service().service_url(),
      create.service().service_url());

  ASSERT_EQ(Smctl({"delete-service", "--service-arn", arn}).exit_code, 0);
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::DELETED); },
                      std::chrono::seconds(10)));
  Run list = Smctl({"list-services"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(
      Parse<v1::ListServicesResponse>(list.out).service_summary_list_size(), 0);
  EXPECT_EQ(Smctl({"pause-service"}).exit_code, 2) << "usage error";
}

}  // namespace

namespace {

// The client's wall-clock time, comparable with the server's timestamps.
absl::Time WallNow() {
  return absl::FromChrono(std::chrono::system_clock::now());
}

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

// The server's thread count, from /proc.
int ThreadCount(pid_t pid) {
  std::smatch match;
  const std::string status = ReadFile(absl::StrCat("/proc/", pid, "/status"));
  const std::regex threads("Threads:\\s+([0-9]+)");
  return std::regex_search(status, match, threads) ? std::stoi(match[1].str())
                                                   : -1;
}

}  // namespace

TEST_F(ServerProcessTest, ARetryAfterARestartGetsTheSameOperation) {
  StartServer(/*worker_delay_ms=*/50);
  grpc::ClientContext create_context;
  v1::CreateServiceRequest create;
  create.set_service_name("retried-web");
  create.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:1");
  v1::CreateServiceResponse created;
  ASSERT_TRUE(stub_->CreateService(&create_context, create, &created).ok());
  const std::string arn = created.service().service_arn();
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::RUNNING); },
                      std::chrono::seconds(10)));

  auto pause = [&]() {
    grpc::ClientContext context;
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    request.set_client_token("nightly-pause-2026-11-26");
    v1::PauseServiceResponse response;
    grpc::Status status = stub_->PauseService(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.operation_id();
  };
  const std::string first = pause();
  ASSERT_FALSE(first.empty());
  // The response is lost: the caller cannot tell whether the pause took.
  KillServer();
  StartServer(/*worker_delay_ms=*/50);
  EXPECT_EQ(pause(), first);
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::PAUSED); },
                      std::chrono::seconds(10)));
  EXPECT_EQ(pause(), first) << "still the same once it has ended";

  grpc::ClientContext context;
  v1::ListOperationsRequest request;
  request.set_service_arn(arn);
  v1::ListOperationsResponse response;
  ASSERT_TRUE(stub_->ListOperations(&context, request, &response).ok());
  EXPECT_EQ(response.operation_summary_list_size(), 2)
      << "one create and one pause, however often it was retried";
}

TEST_F(ServerProcessTest, ARequestOverOneMebibyteIsRefusedByGrpc) {
  StartServer(/*worker_delay_ms=*/50);
  auto create = [&](size_t command_bytes) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    v1::CreateServiceRequest request;
    request.set_service_name("big-request");
    auto* repo =
        request.mutable_source_configuration()->mutable_image_repository();
    repo->set_image_identifier("public.ecr.aws/hello/web:1");
    repo->mutable_image_configuration()->set_start_command(
        std::string(command_bytes, 'x'));
    v1::CreateServiceResponse response;
    return stub_->CreateService(&context, request, &response);
  };
  // Under 1 MiB the handler reads it and names the field over its limit.
  grpc::Status read = create(1000 * 1000);
  EXPECT_EQ(read.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(read.error_message(),
              ::testing::HasSubstr("image_configuration.start_command: "));
  // Over 1 MiB gRPC refuses it before any handler runs.
  grpc::Status refused = create(1100 * 1000);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << refused.error_message();
}

TEST_F(ServerProcessTest, AThousandWaitersReturnWhenTheOperationEnds) {
  constexpr int kWaiters = 1000;
  constexpr int kChannels = 4;
  StartServer(/*worker_delay_ms=*/1500);
  grpc::ClientContext create_context;
  v1::CreateServiceRequest create;
  create.set_service_name("awaited-web");
  create.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:1");
  v1::CreateServiceResponse created;
  ASSERT_TRUE(stub_->CreateService(&create_context, create, &created).ok());
  const std::string arn = created.service().service_arn();
  ASSERT_TRUE(WaitFor([&] { return AllIn({arn}, v1::RUNNING); },
                      std::chrono::seconds(20)));
  const int threads_idle = ThreadCount(pid_);

  grpc::ClientContext pause_context;
  v1::PauseServiceRequest pause;
  pause.set_service_arn(arn);
  v1::PauseServiceResponse paused;
  ASSERT_TRUE(stub_->PauseService(&pause_context, pause, &paused).ok());

  std::vector<std::unique_ptr<v1::ServiceManager::Stub>> stubs;
  for (int i = 0; i < kChannels; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(v1::ServiceManager::NewStub(grpc::CreateCustomChannel(
        endpoint_, grpc::InsecureChannelCredentials(), args)));
  }
  struct Waiter {
    grpc::ClientContext context;
    v1::WaitOperationRequest request;
    v1::WaitOperationResponse response;
    grpc::Status status;
    absl::Time returned_at;
  };
  std::vector<std::unique_ptr<Waiter>> waiters;
  absl::Mutex mu;
  int returned = 0;
  for (int i = 0; i < kWaiters; ++i) {
    auto waiter = std::make_unique<Waiter>();
    waiter->context.set_deadline(std::chrono::system_clock::now() +
                                 std::chrono::seconds(30));
    waiter->request.set_operation_id(paused.operation_id());
    waiter->request.mutable_timeout()->set_seconds(20);
    Waiter* w = waiter.get();
    stubs[i % kChannels]->async()->WaitOperation(
        &w->context, &w->request, &w->response,
        [w, &mu, &returned](grpc::Status s) {
          absl::MutexLock lock(&mu);
          w->status = std::move(s);
          w->returned_at = WallNow();
          ++returned;
        });
    waiters.push_back(std::move(waiter));
  }

  // Sample the server's threads while the calls wait.
  int threads_waiting = 0;
  {
    absl::MutexLock lock(&mu);
    auto all_returned = [&returned] { return returned == kWaiters; };
    while (!mu.AwaitWithTimeout(absl::Condition(&all_returned),
                                absl::Milliseconds(50))) {
      threads_waiting = std::max(threads_waiting, ThreadCount(pid_));
    }
  }
  std::cout << "server threads: " << threads_idle << " idle, at most "
            << threads_waiting << " while " << kWaiters
            << " WaitOperation calls waited\n";
  RecordProperty("server_threads_idle", threads_idle);
  RecordProperty("server_threads_with_1000_waiters", threads_waiting);
  EXPECT_LT(threads_waiting, 100) << "waiters must not hold a thread each";

  absl::Duration latest = absl::ZeroDuration();
  for (const auto& waiter : waiters) {
    ASSERT_TRUE(waiter->status.ok()) << waiter->status.error_message();
    ASSERT_TRUE(waiter->response.done());
    ASSERT_EQ(waiter->response.operation().status(), v1::SUCCEEDED);
    latest = std::max(
        latest, waiter->returned_at -
                    FromTimestamp(waiter->response.operation().ended_at()));
  }
  std::cout << "the last waiter returned " << absl::FormatDuration(latest)
            << " after the operation ended\n";
  // A waiter left unwoken would run to its timeout and fail done() above;
  // this bounds how long the wake-ups of all 1,000 take, with room for a
  // loaded machine.
  EXPECT_LT(latest, absl::Seconds(5));
}

TEST_F(ServerProcessTest, SmctlWaitsForTheOperationAndFailsWhenItFails) {
  // Pauses take longer than their deadline, so they fail.
  StartServer(/*worker_delay_ms=*/1000,
              {"--operation-deadline", "PAUSE_SERVICE=200ms"});
  Run created = Smctl(
      {"create-service", "--service-name", "waited-web",
       "--source-configuration",
       R"({"image_repository":{"image_identifier":"public.ecr.aws/nginx/nginx:1"}})",
       "--wait"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const std::string arn =
      Parse<v1::CreateServiceResponse>(created.out).service().service_arn();
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING)
      << "--wait returns once the operation has ended";

  Run dry = Smctl({"pause-service", "--service-arn", arn, "--validate-only"});
  ASSERT_EQ(dry.exit_code, 0) << dry.err;
  EXPECT_EQ(
      Parse<v1::PauseServiceResponse>(dry.out).validation().status_on_success(),
      v1::PAUSED);
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);

  Run paused = Smctl({"pause-service", "--service-arn", arn, "--wait"});
  EXPECT_EQ(paused.exit_code, 1);
  EXPECT_THAT(paused.err, ::testing::HasSubstr("ended FAILED: "
                                               "DEADLINE_EXCEEDED"));
  const std::string operation_id =
      Parse<v1::PauseServiceResponse>(paused.out).operation_id();
  Run described = Smctl({"describe-operation", "--operation-id", operation_id});
  ASSERT_EQ(described.exit_code, 0) << described.err;
  EXPECT_EQ(Parse<v1::DescribeOperationResponse>(described.out)
                .operation()
                .error()
                .code(),
            "DEADLINE_EXCEEDED");
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);

  Run deleted = Smctl({"delete-service", "--service-arn", arn, "--wait"});
  EXPECT_EQ(deleted.exit_code, 0) << deleted.err;
  EXPECT_EQ(Describe(arn).status(), v1::DELETED);
  Run listed = Smctl({"list-services", "--show-deleted"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(
      Parse<v1::ListServicesResponse>(listed.out).service_summary_list_size(),
      1);
}
