// Operations beyond App Runner, through the real gRPC API: DescribeOperation,
// WaitOperation, WatchService, client tokens, etags, validate_only,
// CancelOperation, deadlines, show_deleted and the retention janitor.
#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "google/protobuf/util/message_differencer.h"
#include "tests/api/api_test_fixture.h"
#include "worker/janitor.h"

namespace servicemanager::api {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

// Reads a WatchService stream in a thread and keeps what it saw.
class StreamReader {
 public:
  StreamReader(v1::ServiceManager::Stub& stub, const std::string& arn) {
    request_.set_service_arn(arn);
    reader_ = stub.WatchService(&context_, request_);
    thread_ = std::thread([this] {
      v1::WatchServiceResponse response;
      while (reader_->Read(&response)) {
        absl::MutexLock lock(&mu_);
        statuses_.push_back(response.service().status());
      }
      grpc::Status status = reader_->Finish();
      absl::MutexLock lock(&mu_);
      finished_ = status;
    });
  }
  ~StreamReader() {
    context_.TryCancel();
    thread_.join();
  }

  // The statuses seen once there are `count` of them (or after 10 s).
  std::vector<v1::ServiceStatus> Await(size_t count) {
    absl::MutexLock lock(&mu_);
    auto enough = [this, count]() {
      return statuses_.size() >= count || finished_.has_value();
    };
    mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
    return statuses_;
  }
  // The stream's final status once it ended (or after 10 s).
  std::optional<grpc::Status> AwaitEnd() {
    absl::MutexLock lock(&mu_);
    auto ended = [this]() { return finished_.has_value(); };
    mu_.AwaitWithTimeout(absl::Condition(&ended), absl::Seconds(10));
    return finished_;
  }

 private:
  grpc::ClientContext context_;
  v1::WatchServiceRequest request_;
  std::unique_ptr<grpc::ClientReader<v1::WatchServiceResponse>> reader_;
  absl::Mutex mu_;
  std::vector<v1::ServiceStatus> statuses_ ABSL_GUARDED_BY(mu_);
  std::optional<grpc::Status> finished_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

class OperationsApiTest : public ApiTest {
 protected:
  Outcome Wait(const std::string& id, absl::Duration timeout,
               v1::WaitOperationResponse* response) {
    v1::WaitOperationRequest request;
    request.set_operation_id(id);
    request.mutable_timeout()->set_seconds(
        absl::ToInt64Seconds(absl::Trunc(timeout, absl::Seconds(1))));
    request.mutable_timeout()->set_nanos(static_cast<int32_t>(
        absl::ToInt64Nanoseconds(timeout % absl::Seconds(1))));
    return Call(&v1::ServiceManager::Stub::WaitOperation, request, response);
  }

  Outcome Cancel(const std::string& id, v1::Operation* operation) {
    v1::CancelOperationRequest request;
    request.set_operation_id(id);
    v1::CancelOperationResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CancelOperation, request, &response);
    *operation = response.operation();
    return outcome;
  }

  // Pauses the service and returns the operation id.
  std::string StartPause(const std::string& arn,
                         const std::string& client_token = "",
                         const std::string& etag = "") {
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    request.set_client_token(client_token);
    request.set_etag(etag);
    v1::PauseServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::PauseService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response.operation_id();
  }

  std::vector<std::string> ListedNames(bool show_deleted) {
    v1::ListServicesRequest request;
    request.set_max_results(100);
    request.set_show_deleted(show_deleted);
    v1::ListServicesResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::ListServices, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    std::vector<std::string> names;
    for (const v1::ServiceSummary& summary : response.service_summary_list()) {
      names.push_back(summary.service_name());
    }
    return names;
  }
};

// --- DescribeOperation -----------------------------------------------------

TEST_F(OperationsApiTest, DescribeOperationShowsTheOperationAndWhyItFailed) {
  const std::string arn = CreateRunning("described-web");
  runtime_.Fail(testing::FaultyRuntime::Call::kStop);
  const std::string id = StartPause(arn);

  v1::Operation pending = DescribeOperation(id);
  EXPECT_EQ(pending.id(), id);
  EXPECT_EQ(pending.type(), v1::PAUSE_SERVICE);
  EXPECT_EQ(pending.status(), v1::PENDING);
  EXPECT_EQ(pending.service_arn(), arn);
  EXPECT_EQ(pending.target_arn(), arn);
  EXPECT_TRUE(pending.has_deadline());
  EXPECT_FALSE(pending.has_error());

  FinishOperations();
  v1::Operation failed = DescribeOperation(id);
  EXPECT_EQ(failed.status(), v1::ROLLBACK_SUCCEEDED);
  EXPECT_TRUE(failed.has_ended_at());
  EXPECT_FALSE(failed.has_deadline());
  EXPECT_EQ(failed.error().code(), "RUNTIME_ERROR");
  EXPECT_THAT(failed.error().message(), HasSubstr("did not stop"));
}

TEST_F(OperationsApiTest, DescribeOperationRefusesUnknownAndMalformedIds) {
  v1::DescribeOperationRequest request;
  v1::DescribeOperationResponse response;
  request.set_operation_id("00000000-0000-4000-8000-00000000abcd");
  Outcome unknown =
      Call(&v1::ServiceManager::Stub::DescribeOperation, request, &response);
  EXPECT_EQ(unknown.code, grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(unknown.error_type, "ResourceNotFoundException");

  request.set_operation_id("not-a-uuid");
  Outcome malformed =
      Call(&v1::ServiceManager::Stub::DescribeOperation, request, &response);
  EXPECT_EQ(malformed.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(malformed.message, StartsWith("operation_id"));
}

// --- WaitOperation ---------------------------------------------------------

TEST_F(OperationsApiTest, WaitReturnsAsSoonAsTheWorkerCommits) {
  const std::string arn = CreateRunning("waited-web");
  const std::string id = StartPause(arn);

  auto waited = std::async(std::launch::async, [&] {
    v1::WaitOperationResponse response;
    Outcome outcome = Wait(id, absl::Seconds(30), &response);
    return std::make_pair(outcome, response);
  });
  // The waiter subscribes before the worker commits; wait until it has.
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (hub_.operation_subscriptions() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(hub_.operation_subscriptions(), 1u);
  const absl::Time committed = absl::Now();
  FinishOperations();

  auto [outcome, response] = waited.get();
  EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_TRUE(response.done());
  EXPECT_EQ(response.operation().status(), v1::SUCCEEDED);
  EXPECT_LT(absl::Now() - committed, absl::Seconds(5))
      << "the waiter must return at the commit, not at its timeout";
  EXPECT_EQ(hub_.operation_subscriptions(), 0u);
}

TEST_F(OperationsApiTest, WaitReturnsWhenAnotherReplicaCommits) {
  if (schema_ == nullptr) {
    GTEST_SKIP() << "replicas share a PostgreSQL database: "
                    "SM_TEST_BACKEND=postgres";
  }
  const std::string arn = CreateRunning("replicated-web");
  const std::string id = StartPause(arn);
  // Replica B: another store and worker on the same database; this server's
  // worker never runs the pause.
  store::PostgresOptions options;
  options.url = schema_->url();
  options.url_suffix = "us-east-1.test";
  options.replica_id = "replica-b";
  auto b = store::PostgresStore::Open(options, clock_, ids_);
  ASSERT_TRUE(b.ok()) << b.status();
  worker::OperationWorker b_worker(
      **b, runtime_, clock_,
      worker::WorkerOptions{.compute_time = absl::ZeroDuration()});

  auto waited = std::async(std::launch::async, [&] {
    v1::WaitOperationResponse response;
    Outcome outcome = Wait(id, absl::Seconds(30), &response);
    return std::make_pair(outcome, response);
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (hub_.operation_subscriptions() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(hub_.operation_subscriptions(), 1u);
  const absl::Time committed = absl::Now();
  auto finished = b_worker.RunOnce();
  ASSERT_TRUE(finished.ok()) << finished.status();
  ASSERT_EQ(*finished, 1);

  auto [outcome, response] = waited.get();
  EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_TRUE(response.done());
  EXPECT_EQ(response.operation().status(), v1::SUCCEEDED);
  EXPECT_LT(absl::Now() - committed, absl::Seconds(5))
      << "B's commit must reach this server's waiter (NOTIFY), not its "
         "timeout";
}

TEST_F(OperationsApiTest, WaitReturnsTheCurrentStateWhenTheTimeoutRunsOut) {
  const std::string arn = CreateRunning("slow-web");
  const std::string id = StartPause(arn);

  v1::WaitOperationResponse response;
  Outcome outcome = Wait(id, absl::Milliseconds(50), &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_FALSE(response.done());
  EXPECT_EQ(response.operation().status(), v1::PENDING);
}

TEST_F(OperationsApiTest, WaitIsBoundedByTheCallDeadline) {
  const std::string arn = CreateRunning("deadline-web");
  const std::string id = StartPause(arn);

  v1::WaitOperationRequest request;
  request.set_operation_id(id);  // No timeout: up to 60 s.
  v1::WaitOperationResponse response;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(500));
  grpc::Status status = stub_->WaitOperation(&context, request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  EXPECT_FALSE(response.done());
}

TEST_F(OperationsApiTest, WaitOnAnEndedOperationReturnsAtOnce) {
  const std::string arn = CreateRunning("done-web");
  const std::string id = StartPause(arn);
  FinishOperations();

  v1::WaitOperationResponse response;
  const absl::Time start = absl::Now();
  Outcome outcome = Wait(id, absl::Seconds(30), &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::OK);
  EXPECT_TRUE(response.done());
  EXPECT_EQ(response.operation().status(), v1::SUCCEEDED);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));

  v1::WaitOperationRequest negative;
  negative.set_operation_id(id);
  negative.mutable_timeout()->set_seconds(-1);
  Outcome refused =
      Call(&v1::ServiceManager::Stub::WaitOperation, negative, &response);
  EXPECT_EQ(refused.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.message, StartsWith("timeout"));
}

// --- WatchService ----------------------------------------------------------

TEST_F(OperationsApiTest, WatchSeesEveryStatusInOrderAndEndsAfterDelete) {
  const std::string arn = CreateRunning("watched-web");
  StreamReader watch(*stub_, arn);
  EXPECT_THAT(watch.Await(1), ElementsAre(v1::RUNNING));

  StartPause(arn);
  FinishOperations();
  ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  EXPECT_THAT(watch.Await(5),
              ElementsAre(v1::RUNNING, v1::OPERATION_IN_PROGRESS, v1::PAUSED,
                          v1::OPERATION_IN_PROGRESS, v1::RUNNING));

  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();
  std::optional<grpc::Status> end = watch.AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_TRUE(end->ok()) << end->error_message();
  EXPECT_THAT(watch.Await(7),
              ElementsAre(v1::RUNNING, v1::OPERATION_IN_PROGRESS, v1::PAUSED,
                          v1::OPERATION_IN_PROGRESS, v1::RUNNING,
                          v1::OPERATION_IN_PROGRESS, v1::DELETED));
}

// --- Recording ---------------------------------------------------------------

TEST_F(OperationsApiTest, EveryCallIsRecordedWithItsMethodAndCode) {
  const std::string arn = CreateRunning("recorded-web");
  // A unary call is recorded before its answer leaves.
  EXPECT_EQ(RpcCount("CreateService", "OK"), 1);
  Describe(arn);
  v1::DescribeServiceRequest unknown;
  unknown.set_service_arn(
      absl::StrCat("arn:aws:apprunner:us-east-1:123456789012:service/other/",
                   ServiceId(arn)));
  v1::DescribeServiceResponse response;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeService, unknown, &response).code,
      grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(RpcCount("DescribeService", "OK"), 1);
  EXPECT_EQ(RpcCount("DescribeService", "NOT_FOUND"), 1);

  // A stream is recorded when it ends, which may be just after the client
  // sees the end.
  {
    StreamReader watch(*stub_, arn);
    ASSERT_EQ(watch.Await(1).size(), 1u);
    ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
    FinishOperations();
    ASSERT_TRUE(watch.AwaitEnd().has_value());
  }
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (RpcCount("WatchService", "OK") == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  EXPECT_EQ(RpcCount("WatchService", "OK"), 1);
  EXPECT_EQ(RpcCount("DeleteService", "OK"), 1);
}

TEST_F(OperationsApiTest, AReaderThatDoesNotReadBlocksNoOneElse) {
  const std::string arn = CreateRunning("busy-web");
  // A client that opens a watch and never reads it.
  grpc::ClientContext idle_context;
  v1::WatchServiceRequest request;
  request.set_service_arn(arn);
  auto idle = stub_->WatchService(&idle_context, request);

  StreamReader watch(*stub_, arn);
  // Both watches start with the service as it stands: let them subscribe
  // before it changes, so the count below is exact.
  ASSERT_EQ(watch.Await(1).size(), 1u);
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (hub_.service_subscriptions() < 2 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }
  ASSERT_EQ(hub_.service_subscriptions(), 2u);
  // More changes than gRPC's flow-control window holds for the idle client.
  constexpr int kCycles = 40;
  for (int i = 0; i < kCycles; ++i) {
    StartPause(arn);
    FinishOperations();
    ASSERT_EQ(Resume(arn).code, grpc::StatusCode::OK);
    FinishOperations();
  }
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_EQ(watch.Await(4 * kCycles + 1).size(), 4u * kCycles + 1);
  idle_context.TryCancel();
  idle->Finish().IgnoreError();
}

TEST_F(OperationsApiTest, WatchOfAnUnknownServiceIsNotFound) {
  StreamReader watch(*stub_,
                     "arn:aws:apprunner:us-east-1:123456789012:service/"
                     "nobody/0123456789abcdef0123456789abcdef");
  std::optional<grpc::Status> end = watch.AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(OperationsApiTest, AShutdownAnswersWaitersAndEndsWatches) {
  const std::string arn = CreateRunning("stopping-web");
  const std::string id = StartPause(arn);
  StreamReader watch(*stub_, arn);
  ASSERT_EQ(watch.Await(1).size(), 1u);
  auto waited = std::async(std::launch::async, [&] {
    v1::WaitOperationResponse response;
    Outcome outcome = Wait(id, absl::Seconds(30), &response);
    return std::make_pair(outcome, response);
  });
  const absl::Time give_up = absl::Now() + absl::Seconds(10);
  while (hub_.operation_subscriptions() == 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(1));
  }

  const absl::Time start = absl::Now();
  hub_.Shutdown();
  auto [outcome, response] = waited.get();
  EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
  EXPECT_FALSE(response.done());
  EXPECT_EQ(response.operation().status(), v1::PENDING);
  std::optional<grpc::Status> end = watch.AwaitEnd();
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

// --- client_token ----------------------------------------------------------

TEST_F(OperationsApiTest, ARetryWithTheSameTokenGetsTheFirstResponse) {
  const std::string arn = CreateRunning("retried-web");
  const std::string first = StartPause(arn, "pause-1");
  const std::string again = StartPause(arn, "pause-1");
  EXPECT_EQ(again, first);
  EXPECT_EQ(Operations(arn).size(), 2u) << "create and one pause, no more";

  // Even once the operation has ended.
  FinishOperations();
  EXPECT_EQ(StartPause(arn, "pause-1"), first);
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);
}

TEST_F(OperationsApiTest, TheSameTokenWithAnotherRequestIsRefused) {
  const std::string arn = CreateRunning("token-web");
  StartPause(arn, "shared-token");
  FinishOperations();

  v1::ResumeServiceRequest request;
  request.set_service_arn(arn);
  request.set_client_token("shared-token");
  v1::ResumeServiceResponse response;
  Outcome outcome =
      Call(&v1::ServiceManager::Stub::ResumeService, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.message, StartsWith("client_token"));
  EXPECT_EQ(Describe(arn).status(), v1::PAUSED);

  request.set_client_token(std::string(65, 'x'));
  outcome = Call(&v1::ServiceManager::Stub::ResumeService, request, &response);
  EXPECT_EQ(outcome.code, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(outcome.message, StartsWith("client_token"));
}

TEST_F(OperationsApiTest, CreateWithATokenIsNotRepeated) {
  v1::CreateServiceRequest request;
  request.set_service_name("token-created");
  request.set_client_token("create-1");
  request.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:1");
  v1::CreateServiceResponse first;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::CreateService, request, &first).code,
      grpc::StatusCode::OK);
  v1::CreateServiceResponse second;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::CreateService, request, &second).code,
      grpc::StatusCode::OK);
  EXPECT_TRUE(
      google::protobuf::util::MessageDifferencer::Equals(first, second));
  EXPECT_EQ(ListedNames(false), std::vector<std::string>{"token-created"});
}

// --- etag ------------------------------------------------------------------

TEST_F(OperationsApiTest, AStaleEtagIsAbortedAndChangesNothing) {
  const std::string arn = CreateRunning("guarded-web");
  const std::string seen = Describe(arn).etag();
  ASSERT_FALSE(seen.empty());
  ASSERT_EQ(Update(arn, "2048").code, grpc::StatusCode::OK);
  FinishOperations();
  const v1::Service updated = Describe(arn);
  EXPECT_NE(updated.etag(), seen);

  v1::PauseServiceRequest request;
  request.set_service_arn(arn);
  request.set_etag(seen);
  v1::PauseServiceResponse response;
  Outcome stale =
      Call(&v1::ServiceManager::Stub::PauseService, request, &response);
  EXPECT_EQ(stale.code, grpc::StatusCode::ABORTED);
  EXPECT_THAT(stale.message, StartsWith("etag"));
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_EQ(Describe(arn).etag(), updated.etag());

  request.set_etag(updated.etag());
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::PauseService, request, &response).code,
      grpc::StatusCode::OK);
}

// --- validate_only ---------------------------------------------------------

TEST_F(OperationsApiTest, ValidateOnlyRunsTheChecksAndWritesNothing) {
  const std::string arn = CreateRunning("dry-web");
  const std::string etag = Describe(arn).etag();

  v1::PauseServiceRequest request;
  request.set_service_arn(arn);
  request.set_validate_only(true);
  v1::PauseServiceResponse response;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::PauseService, request, &response).code,
      grpc::StatusCode::OK);
  EXPECT_THAT(response.operation_id(), IsEmpty());
  EXPECT_EQ(response.service().status(), v1::OPERATION_IN_PROGRESS);
  EXPECT_EQ(response.validation().operation_type(), v1::PAUSE_SERVICE);
  EXPECT_EQ(response.validation().status_on_success(), v1::PAUSED);
  EXPECT_EQ(response.validation().status_on_failure(), v1::RUNNING);
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_EQ(Describe(arn).etag(), etag);
  EXPECT_EQ(Operations(arn).size(), 1u);

  // The checks still run: a refused call is refused.
  v1::ResumeServiceRequest resume;
  resume.set_service_arn(arn);
  resume.set_validate_only(true);
  v1::ResumeServiceResponse resumed;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::ResumeService, resume, &resumed).code,
      grpc::StatusCode::FAILED_PRECONDITION);

  v1::CreateServiceRequest create;
  create.set_service_name("never-created");
  create.set_validate_only(true);
  create.mutable_source_configuration()
      ->mutable_image_repository()
      ->set_image_identifier("public.ecr.aws/hello/web:1");
  v1::CreateServiceResponse created;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::CreateService, create, &created).code,
      grpc::StatusCode::OK);
  EXPECT_EQ(created.validation().status_on_success(), v1::RUNNING);
  EXPECT_THAT(ListedNames(false), ElementsAre("dry-web"));
}

TEST_F(OperationsApiTest, ValidateOnlyOnTagsPushesAndCancelsWritesNothing) {
  const std::string arn = CreateRunning("dry-tags-web");
  v1::TagResourceRequest tag;
  tag.set_resource_arn(arn);
  tag.set_validate_only(true);
  *tag.add_tags() = [] {
    v1::Tag t;
    t.set_key("env");
    t.set_value("dev");
    return t;
  }();
  v1::TagResourceResponse tagged;
  EXPECT_EQ(Call(&v1::ServiceManager::Stub::TagResource, tag, &tagged).code,
            grpc::StatusCode::OK);
  v1::UntagResourceRequest untag;
  untag.set_resource_arn(arn);
  untag.set_validate_only(true);
  untag.add_tag_keys("team");
  v1::UntagResourceResponse untagged;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::UntagResource, untag, &untagged).code,
      grpc::StatusCode::OK);
  EXPECT_THAT(Tags(arn),
              ElementsAre(std::pair<std::string, std::string>("team", "web")));

  v1::NotifySourceVersionRequest push;
  push.set_service_arn(arn);
  push.set_image_identifier("public.ecr.aws/hello/web:2");
  push.set_validate_only(true);
  v1::NotifySourceVersionResponse pushed;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::NotifySourceVersion, push, &pushed).code,
      grpc::StatusCode::OK);
  EXPECT_EQ(pushed.service().latest_image().version(), 2)
      << "the response shows the version it would record";
  EXPECT_THAT(pushed.operation_id(), IsEmpty());
  EXPECT_EQ(Describe(arn).latest_image().version(), 1);
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);

  const std::string id = StartPause(arn);
  v1::CancelOperationRequest cancel;
  cancel.set_operation_id(id);
  cancel.set_validate_only(true);
  v1::CancelOperationResponse cancelled;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::CancelOperation, cancel, &cancelled).code,
      grpc::StatusCode::OK);
  EXPECT_EQ(cancelled.operation().status(), v1::FAILED);
  EXPECT_EQ(DescribeOperation(id).status(), v1::PENDING);
  EXPECT_EQ(Describe(arn).status(), v1::OPERATION_IN_PROGRESS);
}

// --- CancelOperation -------------------------------------------------------

TEST_F(OperationsApiTest, CancellingAPendingPauseLeavesTheServiceRunning) {
  const std::string arn = CreateRunning("cancelled-web");
  const std::string id = StartPause(arn);

  v1::Operation cancelled;
  ASSERT_EQ(Cancel(id, &cancelled).code, grpc::StatusCode::OK);
  EXPECT_EQ(cancelled.status(), v1::FAILED);
  EXPECT_EQ(cancelled.error().code(), "CANCELLED");
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);

  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_TRUE(runtime_.inner().Find(ServiceId(arn)).has_value())
      << "the compute must never have stopped";
  EXPECT_EQ(DescribeOperation(id).status(), v1::FAILED);

  Outcome again = Cancel(id, &cancelled);
  EXPECT_EQ(again.code, grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(OperationsApiTest, CancellingAnOperationInProgressRollsItBack) {
  const std::string arn = CreateRunning("rolled-back-web");
  const std::string id = StartPause(arn);
  ASSERT_TRUE(worker_->RunOnce().ok());  // Now IN_PROGRESS.
  ASSERT_EQ(DescribeOperation(id).status(), v1::IN_PROGRESS);

  v1::Operation cancelling;
  ASSERT_EQ(Cancel(id, &cancelling).code, grpc::StatusCode::OK);
  EXPECT_EQ(cancelling.status(), v1::ROLLBACK_IN_PROGRESS);
  EXPECT_EQ(Describe(arn).status(), v1::OPERATION_IN_PROGRESS);

  ASSERT_TRUE(worker_->RunOnce().ok());
  v1::Operation ended = DescribeOperation(id);
  EXPECT_EQ(ended.status(), v1::ROLLBACK_SUCCEEDED);
  EXPECT_EQ(ended.error().code(), "CANCELLED");
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_TRUE(runtime_.inner().Find(ServiceId(arn)).has_value());
}

TEST_F(OperationsApiTest, ACancelWhileTheRuntimeWorksIsRolledBackAfter) {
  const std::string arn = CreateRunning("raced-web");
  const std::string id = StartPause(arn);
  ASSERT_TRUE(worker_->RunOnce().ok());
  clock_.Advance(kComputeTime);
  // The cancel lands while the runtime stops the compute.
  runtime_.SetHook([&](testing::FaultyRuntime::Call call) {
    if (call == testing::FaultyRuntime::Call::kStop) {
      runtime_.SetHook(nullptr);
      v1::Operation cancelling;
      EXPECT_EQ(Cancel(id, &cancelling).code, grpc::StatusCode::OK);
    }
  });
  ASSERT_TRUE(worker_->RunOnce().ok());
  EXPECT_EQ(DescribeOperation(id).status(), v1::ROLLBACK_IN_PROGRESS);

  ASSERT_TRUE(worker_->RunOnce().ok());
  EXPECT_EQ(DescribeOperation(id).status(), v1::ROLLBACK_SUCCEEDED);
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);
  EXPECT_TRUE(runtime_.inner().Find(ServiceId(arn)).has_value())
      << "the rollback must start the stopped compute again";
}

TEST_F(OperationsApiTest, CancellingAPendingUpdateRestoresTheConfiguration) {
  const std::string arn = CreateRunning("config-web");
  v1::UpdateServiceRequest request;
  request.set_service_arn(arn);
  request.mutable_instance_configuration()->set_cpu("2048");
  v1::UpdateServiceResponse response;
  ASSERT_EQ(
      Call(&v1::ServiceManager::Stub::UpdateService, request, &response).code,
      grpc::StatusCode::OK);

  v1::Operation cancelled;
  ASSERT_EQ(Cancel(response.operation_id(), &cancelled).code,
            grpc::StatusCode::OK);
  const v1::Service service = Describe(arn);
  EXPECT_EQ(service.status(), v1::RUNNING);
  EXPECT_EQ(service.instance_configuration().cpu(), "1024");
}

// --- deadlines -------------------------------------------------------------

TEST_F(OperationsApiTest,
       AnOperationPastItsDeadlineFailsAndTheServiceIsDeletable) {
  const std::string arn = CreateRunning("stuck-web");
  const std::string id = StartPause(arn);
  // The worker is not around until long after the deadline.
  clock_.Advance(kDeadline + absl::Seconds(1));
  ASSERT_TRUE(worker_->RunOnce().ok());

  v1::Operation failed = DescribeOperation(id);
  EXPECT_EQ(failed.status(), v1::FAILED);
  EXPECT_EQ(failed.error().code(), "DEADLINE_EXCEEDED");
  EXPECT_THAT(failed.error().message(), HasSubstr("30m"));
  EXPECT_EQ(Describe(arn).status(), v1::RUNNING);

  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  clock_.Advance(kDeadline + absl::Seconds(1));
  ASSERT_TRUE(worker_->RunOnce().ok());
  EXPECT_EQ(Describe(arn).status(), v1::DELETE_FAILED);
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK)
      << "a service whose delete ran out of time can be deleted again";
  FinishOperations();
  EXPECT_EQ(Describe(arn).status(), v1::DELETED);
}

// --- show_deleted and retention --------------------------------------------

TEST_F(OperationsApiTest, ShowDeletedListsDeletedServicesWithinRetention) {
  const std::string arn = CreateRunning("gone-web");
  CreateRunning("kept-web");
  ASSERT_EQ(Delete(arn).code, grpc::StatusCode::OK);
  FinishOperations();

  EXPECT_THAT(ListedNames(false), ElementsAre("kept-web"));
  EXPECT_THAT(ListedNames(true), ElementsAre("gone-web", "kept-web"));

  clock_.Advance(kRetention + absl::Seconds(1));
  EXPECT_THAT(ListedNames(true), ElementsAre("kept-web"));
}

TEST_F(OperationsApiTest, TheJanitorPurgesWhatIsPastRetentionOnly) {
  worker::Janitor janitor(*store_, clock_,
                          {.retention = kRetention,
                           .client_token_retention = absl::Hours(24),
                           .batch_size = 2});
  const std::string gone = CreateRunning("purged-web");
  const std::string kept = CreateRunning("old-but-live-web");
  const std::string old_pause = StartPause(kept, "old-token");
  FinishOperations();
  ASSERT_EQ(Delete(gone).code, grpc::StatusCode::OK);
  FinishOperations();

  clock_.Advance(kRetention + absl::Seconds(1));
  ASSERT_EQ(Resume(kept).code, grpc::StatusCode::OK);  // Open: kept.
  auto purged = janitor.RunOnce();
  ASSERT_TRUE(purged.ok()) << purged.status();
  EXPECT_EQ(purged->services, 1);
  EXPECT_EQ(purged->client_tokens, 1);

  v1::DescribeServiceRequest describe;
  describe.set_service_arn(gone);
  v1::DescribeServiceResponse response;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeService, describe, &response)
          .code,
      grpc::StatusCode::NOT_FOUND);
  std::vector<v1::OperationSummary> ops = Operations(kept);
  ASSERT_EQ(ops.size(), 1u) << "only the open resume is left";
  EXPECT_EQ(ops[0].type(), v1::RESUME_SERVICE);

  v1::DescribeOperationRequest request;
  request.set_operation_id(old_pause);
  v1::DescribeOperationResponse op;
  EXPECT_EQ(
      Call(&v1::ServiceManager::Stub::DescribeOperation, request, &op).code,
      grpc::StatusCode::NOT_FOUND);

  auto nothing = janitor.RunOnce();
  ASSERT_TRUE(nothing.ok());
  EXPECT_EQ(nothing->operations + nothing->services + nothing->client_tokens,
            0);
}

}  // namespace
}  // namespace servicemanager::api
