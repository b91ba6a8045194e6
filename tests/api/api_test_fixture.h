// The fixture of the API tests: a real grpc::Server on 127.0.0.1 with an
// ephemeral port, the real store, and the worker driven by hand on a fake
// clock, so every intermediate state is seen.
//
// The store is SQLite on a temporary file, or, with SM_TEST_BACKEND=postgres,
// PostgreSQL in a fresh schema of the server that SM_TEST_POSTGRES_URL names
// (or the file SM_TEST_POSTGRES_URL_FILE names holds), dropped after the
// test. Without such a server every test skips and says so.
#ifndef SERVICEMANAGER_TESTS_API_API_TEST_FIXTURE_H_
#define SERVICEMANAGER_TESTS_API_API_TEST_FIXTURE_H_

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/authorizer.h"
#include "api/change_hub.h"
#include "api/service_manager_service.h"
#include "observability/metrics.h"
#include "observability/rpc_recorder.h"
#include "prometheus/text_serializer.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "store/postgres_store.h"
#include "store/sqlite_store.h"
#include "tests/testing/derived_tables_check.h"
#include "tests/testing/fake_clock.h"
#include "tests/testing/faulty_runtime.h"
#include "tests/testing/postgres_schema.h"
#include "tests/testing/prometheus_text.h"
#include "tests/testing/sequential_ids.h"
#include "worker/operation_worker.h"

namespace servicemanager::api {

namespace v1 = ::servicemanager::v1;

inline constexpr absl::Duration kComputeTime = absl::Milliseconds(200);
inline constexpr absl::Duration kDeadline = absl::Minutes(30);
inline constexpr absl::Duration kRetention = absl::Hours(24 * 30);
// The server's account: with auth off, services are created in it.
inline constexpr char kAccount[] = "123456789012";

// The outcome of one RPC: its code, message and App Runner error name.
struct Outcome {
  grpc::StatusCode code;
  std::string message;
  std::string error_type;
};

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestBackendIsPostgres()) {
      if (SqliteOnly()) {
        GTEST_SKIP() << "tests the SQLite storage engine; "
                        "SM_TEST_BACKEND=postgres";
      }
      std::optional<std::string> url = testing::TestPostgresUrl();
      if (!url) {
        GTEST_SKIP() << "PostgreSQL is not available: set "
                        "SM_TEST_POSTGRES_URL or SM_TEST_POSTGRES_URL_FILE";
      }
      auto schema = testing::PostgresSchema::Create(*url);
      ASSERT_TRUE(schema.ok()) << schema.status();
      schema_ = *std::move(schema);
      store::PostgresOptions options;
      options.url = schema_->url();
      options.url_suffix = "us-east-1.test";
      options.default_operation_deadline = kDeadline;
      auto opened = store::PostgresStore::Open(options, clock_, ids_, &hub_);
      ASSERT_TRUE(opened.ok()) << opened.status();
      store_ = *std::move(opened);
    } else {
      dir_ = std::filesystem::temp_directory_path() /
             absl::StrCat("sm-api-test-", getpid(), "-",
                          ::testing::UnitTest::GetInstance()->random_seed(),
                          "-", counter_++);
      std::filesystem::create_directories(dir_);
      store::SqliteOptions options;
      options.path = (dir_ / "db.sqlite").string();
      options.url_suffix = "us-east-1.test";
      options.synchronous_full = false;
      options.default_operation_deadline = kDeadline;
      ConfigureStore(options);
      auto opened = store::SqliteStore::Open(options, clock_, ids_, &hub_);
      ASSERT_TRUE(opened.ok()) << opened.status();
      store_ = *std::move(opened);
    }
    worker_ = std::make_unique<worker::OperationWorker>(
        *store_, runtime_, clock_,
        worker::WorkerOptions{.compute_time = kComputeTime});
    authorizer_ = std::make_unique<Authorizer>(MakeAuthorizerOptions());
    service_ = std::make_unique<ServiceManagerService>(
        *store_, hub_, clock_, *authorizer_,
        ApiOptions{.region = "us-east-1",
                   .retention = kRetention,
                   .rpc_recorder = &recorder_},
        [this] { ++accepted_; });
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", ServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(port_, 0);
    stub_ = v1::ServiceManager::NewStub(grpc::CreateChannel(
        absl::StrCat("127.0.0.1:", port_), ChannelCredentials()));
  }

  // Auth off unless a test says otherwise: every caller is an admin of
  // kAccount.
  virtual AuthorizerOptions MakeAuthorizerOptions() {
    AuthorizerOptions options;
    options.account_id = kAccount;
    return options;
  }
  virtual std::shared_ptr<grpc::ServerCredentials> ServerCredentials() {
    return grpc::InsecureServerCredentials();
  }
  virtual std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials() {
    return grpc::InsecureChannelCredentials();
  }

  // Lets a test change the SQLite store's options before it opens.
  virtual void ConfigureStore(store::SqliteOptions& options) { (void)options; }
  // Whether the test is about SQLite itself (it skips on PostgreSQL).
  virtual bool SqliteOnly() const { return false; }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    server_.reset();
    service_.reset();
    worker_.reset();
    store_.reset();  // Before its schema goes.
    schema_.reset();
    if (!dir_.empty()) {
      testing::ExpectDerivedTablesMatchSources((dir_ / "db.sqlite").string());
      std::filesystem::remove_all(dir_);
    }
  }

  // Calls `method` on the stub and records the outcome.
  template <typename Request, typename Response, typename Method>
  Outcome Call(Method method, const Request& request, Response* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    grpc::Status status = ((*stub_).*method)(&context, request, response);
    Outcome outcome{status.error_code(), status.error_message(), ""};
    const auto& trailers = context.GetServerTrailingMetadata();
    if (auto it = trailers.find("x-amzn-errortype"); it != trailers.end()) {
      outcome.error_type = std::string(it->second.data(), it->second.size());
    }
    return outcome;
  }

  // Runs the worker through one compute time: due operations start, then
  // finish.
  void FinishOperations() {
    ASSERT_TRUE(worker_->RunOnce().ok());
    clock_.Advance(kComputeTime);
    ASSERT_TRUE(worker_->RunOnce().ok());
  }

  v1::CreateServiceResponse Create(const std::string& name) {
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    auto* repo =
        request.mutable_source_configuration()->mutable_image_repository();
    repo->set_image_identifier("public.ecr.aws/hello/web:latest");
    repo->set_image_repository_type(v1::ECR_PUBLIC);
    repo->mutable_image_configuration()->set_port("8080");
    (*repo->mutable_image_configuration()
          ->mutable_runtime_environment_variables())["MODE"] = "prod";
    v1::Tag* tag = request.add_tags();
    tag->set_key("team");
    tag->set_value("web");
    v1::CreateServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::CreateService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response;
  }

  std::string CreateRunning(const std::string& name) {
    std::string arn = Create(name).service().service_arn();
    FinishOperations();
    return arn;
  }

  v1::Service Describe(const std::string& arn) {
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::DescribeService, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response.service();
  }

  v1::Operation DescribeOperation(const std::string& id) {
    v1::DescribeOperationRequest request;
    request.set_operation_id(id);
    v1::DescribeOperationResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::DescribeOperation, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return response.operation();
  }

  std::vector<v1::OperationSummary> Operations(const std::string& arn) {
    v1::ListOperationsRequest request;
    request.set_service_arn(arn);
    request.set_max_results(100);
    v1::ListOperationsResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::ListOperations, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    return {response.operation_summary_list().begin(),
            response.operation_summary_list().end()};
  }

  template <typename Request, typename Response>
  Outcome Lifecycle(grpc::Status (v1::ServiceManager::Stub::*method)(
                        grpc::ClientContext*, const Request&, Response*),
                    const std::string& arn) {
    Request request;
    request.set_service_arn(arn);
    Response response;
    return Call(method, request, &response);
  }
  Outcome Pause(const std::string& arn) {
    return Lifecycle(&v1::ServiceManager::Stub::PauseService, arn);
  }
  Outcome Resume(const std::string& arn) {
    return Lifecycle(&v1::ServiceManager::Stub::ResumeService, arn);
  }
  Outcome Delete(const std::string& arn) {
    return Lifecycle(&v1::ServiceManager::Stub::DeleteService, arn);
  }
  Outcome Deploy(const std::string& arn) {
    return Lifecycle(&v1::ServiceManager::Stub::StartDeployment, arn);
  }
  Outcome Update(const std::string& arn, const std::string& cpu) {
    v1::UpdateServiceRequest request;
    request.set_service_arn(arn);
    request.mutable_instance_configuration()->set_cpu(cpu);
    v1::UpdateServiceResponse response;
    return Call(&v1::ServiceManager::Stub::UpdateService, request, &response);
  }
  Outcome Tag(const std::string& arn, const std::string& key,
              const std::string& value) {
    v1::TagResourceRequest request;
    request.set_resource_arn(arn);
    v1::Tag* tag = request.add_tags();
    tag->set_key(key);
    tag->set_value(value);
    v1::TagResourceResponse response;
    return Call(&v1::ServiceManager::Stub::TagResource, request, &response);
  }
  Outcome Untag(const std::string& arn, const std::string& key) {
    v1::UntagResourceRequest request;
    request.set_resource_arn(arn);
    request.add_tag_keys(key);
    v1::UntagResourceResponse response;
    return Call(&v1::ServiceManager::Stub::UntagResource, request, &response);
  }
  std::vector<std::pair<std::string, std::string>> Tags(
      const std::string& arn) {
    v1::ListTagsForResourceRequest request;
    request.set_resource_arn(arn);
    v1::ListTagsForResourceResponse response;
    Outcome outcome = Call(&v1::ServiceManager::Stub::ListTagsForResource,
                           request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    std::vector<std::pair<std::string, std::string>> tags;
    for (const v1::Tag& tag : response.tags()) {
      tags.emplace_back(tag.key(), tag.value());
    }
    return tags;
  }
  std::vector<std::string> ListedNames() {
    std::vector<std::string> names;
    v1::ListServicesRequest request;
    request.set_max_results(100);
    v1::ListServicesResponse response;
    Outcome outcome =
        Call(&v1::ServiceManager::Stub::ListServices, request, &response);
    EXPECT_EQ(outcome.code, grpc::StatusCode::OK) << outcome.message;
    for (const v1::ServiceSummary& summary : response.service_summary_list()) {
      names.push_back(summary.service_name());
    }
    return names;
  }
  // How many calls of `method` (its short name) the server recorded with
  // `code`.
  double RpcCount(const std::string& method, const std::string& code) {
    const std::string text =
        prometheus::TextSerializer().Serialize(metrics_.registry()->Collect());
    return testing::SampleValue(
               text, "servicemanager_rpc_requests_total",
               {{"method",
                 absl::StrCat("/", v1::ServiceManager::service_full_name(), "/",
                              method)},
                {"code", code}})
        .value_or(0);
  }

  std::string ServiceId(const std::string& arn) {
    return arn.substr(arn.rfind('/') + 1);
  }

  static inline int counter_ = 0;
  std::filesystem::path dir_;
  testing::FakeClock clock_;
  ChangeHub hub_;
  testing::SequentialIds ids_;
  testing::FaultyRuntime runtime_;
  std::unique_ptr<testing::PostgresSchema> schema_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<worker::OperationWorker> worker_;
  std::atomic<int> accepted_ = 0;
  std::unique_ptr<Authorizer> authorizer_;
  observability::Metrics metrics_;
  const observability::RpcRecorder recorder_{
      metrics_,
      observability::MethodsOf({v1::ServiceManager::service_full_name()})};
  std::unique_ptr<ServiceManagerService> service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_TESTS_API_API_TEST_FIXTURE_H_
