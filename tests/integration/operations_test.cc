// The operator's view of the real servicemanager binary on 127.0.0.1:
// grpc.health.v1 and server reflection, GET /metrics, JSON logs configured
// through the environment, and SIGTERM: NOT_SERVING, a bounded drain, exit 0,
// and no operation lost.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "grpc/reflection/v1alpha/reflection.grpc.pb.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/integration/process.h"
#include "tests/integration/process_fixture.h"
#include "tests/testing/prometheus_text.h"

namespace {

namespace v1 = ::servicemanager::v1;
namespace health = ::grpc::health::v1;
namespace reflection = ::grpc::reflection::v1alpha;
using ::servicemanager::testing::FamilyNames;
using ::servicemanager::testing::ReadFile;
using ::servicemanager::testing::SampleValue;
using ::servicemanager::testing::WaitFor;
using ::servicemanager::testing::WaitForExit;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsSupersetOf;
using ::testing::Not;
using ::testing::Optional;
using Clock = std::chrono::steady_clock;

constexpr char kApi[] = "servicemanager.v1.ServiceManager";
constexpr char kCreate[] = "/servicemanager.v1.ServiceManager/CreateService";

std::chrono::system_clock::time_point In(std::chrono::seconds seconds) {
  return std::chrono::system_clock::now() + seconds;
}

struct HttpResponse {
  int status = 0;
  std::string body;
};

// GET http://127.0.0.1:port/path over a plain socket, HTTP/1.0 so that the
// server closes the connection after the response. Each step times out.
HttpResponse HttpGet(int port, const std::string& path) {
  HttpResponse response;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return response;
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string raw;
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) ==
      0) {
    const std::string request =
        absl::StrCat("GET ", path, " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    if (send(fd, request.data(), request.size(), 0) ==
        static_cast<ssize_t>(request.size())) {
      char buffer[8192];
      ssize_t n = 0;
      while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0) {
        raw.append(buffer, static_cast<size_t>(n));
      }
    }
  }
  close(fd);
  // "HTTP/1.x NNN reason\r\n...headers...\r\n\r\nbody"
  const size_t space = raw.find(' ');
  if (space != std::string::npos &&
      absl::SimpleAtoi(absl::string_view(raw).substr(space + 1, 3),
                       &response.status)) {
    const size_t body = raw.find("\r\n\r\n");
    if (body != std::string::npos) response.body = raw.substr(body + 4);
  }
  return response;
}

google::protobuf::Struct ParseJson(const std::string& line) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(line, &object).ok())
      << "not a JSON object: " << line;
  return object;
}

class OperationsTest : public ::servicemanager::testing::ProcessFixture {
 protected:
  OperationsTest() : ProcessFixture("sm-operations-test") {}

  std::filesystem::path data() const { return dir_ / "data"; }

  // Starts the server with these flags (and environment) and waits for its
  // ready line; also finds the /metrics port if the server reports one.
  void StartServer(std::vector<std::string> flags,
                   const std::vector<std::string>& env = {}) {
    log_ = dir_ / absl::StrCat("server-", ++runs_, ".log");
    flags.insert(flags.begin(), SM_SERVER_BINARY);
    endpoint_ = StartServerProcess(flags, log_, env);
    ASSERT_FALSE(endpoint_.empty());
    channel_ =
        grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials());
    stub_ = v1::ServiceManager::NewStub(channel_);
    health_ = health::Health::NewStub(channel_);
    const std::regex metrics(
        "metrics: serving http://127\\.0\\.0\\.1:([0-9]+)/metrics");
    metrics_port_ = 0;
    // The server reports /metrics before it is ready.
    const std::string text = ReadFile(log_);
    std::smatch match;
    if (std::regex_search(text, match, metrics)) {
      metrics_port_ = std::stoi(match[1].str());
    }
  }

  // Closes the test's connection (the server's drain waits for open
  // connections to go, and an idle gRPC client only notices the server's
  // GOAWAY when it next polls), then SIGTERM: the process must exit with
  // code 0 within `timeout`.
  void StopServer(std::chrono::seconds timeout = std::chrono::seconds(20)) {
    stub_.reset();
    health_.reset();
    channel_.reset();
    ASSERT_EQ(kill(pid_, SIGTERM), 0);
    ExpectCleanExit(timeout);
  }

  void ExpectCleanExit(std::chrono::seconds timeout) {
    std::optional<int> status = WaitForExit(pid_, timeout);
    ASSERT_TRUE(status.has_value()) << "still running after SIGTERM";
    pid_ = -1;
    ASSERT_TRUE(WIFEXITED(*status)) << "status " << *status;
    EXPECT_EQ(WEXITSTATUS(*status), 0);
  }

  std::string Log() const { return ReadFile(log_); }

  grpc::Status Check(const std::string& service,
                     health::HealthCheckResponse::ServingStatus* serving) {
    // A channel of its own: the shared one may have been told to go away.
    auto stub = health::Health::NewStub(
        grpc::CreateChannel(endpoint_, grpc::InsecureChannelCredentials()));
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    health::HealthCheckRequest request;
    request.set_service(service);
    health::HealthCheckResponse response;
    grpc::Status status = stub->Check(&context, request, &response);
    *serving = response.status();
    return status;
  }

  v1::CreateServiceResponse Create(const std::string& name) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::CreateServiceRequest request;
    request.set_service_name(name);
    request.mutable_source_configuration()
        ->mutable_image_repository()
        ->set_image_identifier("public.ecr.aws/hello/web:1");
    v1::CreateServiceResponse response;
    grpc::Status status = stub_->CreateService(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  v1::ServiceStatus StatusOf(const std::string& arn) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::DescribeServiceRequest request;
    request.set_service_arn(arn);
    v1::DescribeServiceResponse response;
    grpc::Status status = stub_->DescribeService(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.service().status();
  }

  std::vector<v1::OperationSummary> Operations(const std::string& arn) {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::ListOperationsRequest request;
    request.set_service_arn(arn);
    v1::ListOperationsResponse response;
    grpc::Status status = stub_->ListOperations(&context, request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return {response.operation_summary_list().begin(),
            response.operation_summary_list().end()};
  }

  // Server reflection lists the services and gives the descriptors of the
  // API and of health.
  void ExpectReflectionDescribesTheServices();

  std::string Scrape() {
    HttpResponse response = HttpGet(metrics_port_, "/metrics");
    EXPECT_EQ(response.status, 200);
    return response.body;
  }

  int runs_ = 0;
  std::filesystem::path log_;
  std::string endpoint_;
  int metrics_port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
  std::unique_ptr<health::Health::Stub> health_;
};

TEST_F(OperationsTest, HealthIsServingAndReflectionListsTheServices) {
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string()});
  health::HealthCheckResponse::ServingStatus serving;
  ASSERT_TRUE(Check("", &serving).ok());
  EXPECT_EQ(serving, health::HealthCheckResponse::SERVING);
  ASSERT_TRUE(Check(kApi, &serving).ok());
  EXPECT_EQ(serving, health::HealthCheckResponse::SERVING);
  EXPECT_EQ(Check("no.such.Service", &serving).error_code(),
            grpc::StatusCode::NOT_FOUND);

  ExpectReflectionDescribesTheServices();

  // Metrics are off unless asked for.
  EXPECT_EQ(metrics_port_, 0);
  EXPECT_THAT(Log(), Not(HasSubstr("metrics: serving")));
  StopServer();
}

void OperationsTest::ExpectReflectionDescribesTheServices() {
  auto stub = reflection::ServerReflection::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(In(std::chrono::seconds(10)));
  auto stream = stub->ServerReflectionInfo(&context);
  reflection::ServerReflectionRequest request;
  reflection::ServerReflectionResponse response;
  request.set_list_services("");
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  std::vector<std::string> services;
  for (const auto& service : response.list_services_response().service()) {
    services.push_back(service.name());
  }
  EXPECT_THAT(services,
              IsSupersetOf({kApi, "grpc.health.v1.Health",
                            "grpc.reflection.v1alpha.ServerReflection"}));

  // What grpcurl asks before it calls a method: the file of the symbol.
  for (const auto& [symbol, file, service] :
       {std::tuple{kApi, "servicemanager/v1/service_manager.proto",
                   "ServiceManager"},
        std::tuple{"grpc.health.v1.Health", "grpc/health/v1/health.proto",
                   "Health"}}) {
    SCOPED_TRACE(symbol);
    request.set_file_containing_symbol(symbol);
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    ASSERT_TRUE(response.has_file_descriptor_response())
        << response.error_response().error_message();
    // The file comes with the files it imports, in no promised order.
    std::vector<std::string> services;
    for (const std::string& bytes :
         response.file_descriptor_response().file_descriptor_proto()) {
      google::protobuf::FileDescriptorProto descriptor;
      ASSERT_TRUE(descriptor.ParseFromString(bytes));
      if (descriptor.name() == file) {
        for (const auto& s : descriptor.service()) services.push_back(s.name());
      }
    }
    EXPECT_THAT(services, Contains(service));
  }
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_TRUE(stream->Finish().ok());
}

TEST_F(OperationsTest, MetricsEndpointServesTheFamiliesAndCounts) {
  // The create stays queued for the worker's delay, in which the test must
  // see the queue's depth: seconds, so that a loaded machine has the time.
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--metrics-listen", "127.0.0.1:0", "--worker-delay-ms", "4000"});
  ASSERT_GT(metrics_port_, 0) << Log();
  std::string text = Scrape();
  EXPECT_THAT(
      FamilyNames(text),
      IsSupersetOf({"servicemanager_rpc_requests_total",
                    "servicemanager_rpc_duration_seconds",
                    "servicemanager_operations_finished_total",
                    "servicemanager_operation_queue_depth",
                    "servicemanager_oldest_pending_operation_age_seconds",
                    "servicemanager_database_size_bytes"}))
      << text;
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_requests_total",
                          {{"method", kCreate}, {"code", "OK"}}),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_database_size_bytes"),
              Optional(::testing::Gt(0.0)));
  EXPECT_EQ(HttpGet(metrics_port_, "/other").status, 404);

  const std::string arn = Create("metered").service().service_arn();
  // The count moves as the call ends on the server, just after the reply.
  ASSERT_TRUE(WaitFor(
      [&] {
        text = Scrape();
        return SampleValue(text, "servicemanager_rpc_requests_total",
                           {{"method", kCreate}, {"code", "OK"}}) == 1.0;
      },
      std::chrono::seconds(10)))
      << text;
  EXPECT_THAT(SampleValue(text, "servicemanager_rpc_duration_seconds_count",
                          {{"method", kCreate}}),
              Optional(1.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(1.0));

  ASSERT_TRUE(WaitFor([&] { return StatusOf(arn) == v1::RUNNING; },
                      std::chrono::seconds(20)));
  text = Scrape();
  EXPECT_THAT(
      SampleValue(text, "servicemanager_operations_finished_total",
                  {{"type", "CREATE_SERVICE"}, {"status", "SUCCEEDED"}}),
      Optional(1.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(0.0));
  EXPECT_THAT(
      SampleValue(text, "servicemanager_oldest_pending_operation_age_seconds"),
      Optional(0.0));
  StopServer();
}

TEST_F(OperationsTest, MetricsCountAnOperationACancelEnded) {
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--worker-delay-ms", "20"});
  const std::string arn = Create("cancelled").service().service_arn();
  ASSERT_TRUE(WaitFor([&] { return StatusOf(arn) == v1::RUNNING; },
                      std::chrono::seconds(20)));
  StopServer();

  // The pause's compute step takes a minute; the cancel rolls it back.
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--metrics-listen", "127.0.0.1:0", "--worker-delay-ms",
               "60000"});
  ASSERT_GT(metrics_port_, 0) << Log();
  std::string operation_id;
  {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    v1::PauseServiceResponse response;
    ASSERT_TRUE(stub_->PauseService(&context, request, &response).ok());
    operation_id = response.operation_id();
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<v1::OperationSummary> ops = Operations(arn);
        return !ops.empty() && ops[0].status() == v1::IN_PROGRESS;
      },
      std::chrono::seconds(10)));
  {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::CancelOperationRequest request;
    request.set_operation_id(operation_id);
    v1::CancelOperationResponse response;
    grpc::Status status = stub_->CancelOperation(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_TRUE(WaitFor([&] { return StatusOf(arn) == v1::RUNNING; },
                      std::chrono::seconds(20)));
  std::string text;
  ASSERT_TRUE(WaitFor(
      [&] {
        text = Scrape();
        return SampleValue(text, "servicemanager_operations_finished_total",
                           {{"type", "PAUSE_SERVICE"},
                            {"status", "ROLLBACK_SUCCEEDED"}}) == 1.0;
      },
      std::chrono::seconds(10)))
      << text;
  EXPECT_THAT(SampleValue(text, "servicemanager_operations_finished_total",
                          {{"type", "PAUSE_SERVICE"}, {"status", "SUCCEEDED"}}),
              Optional(0.0));
  EXPECT_THAT(SampleValue(text, "servicemanager_operation_queue_depth"),
              Optional(0.0));
  StopServer();
}

TEST_F(OperationsTest, SigtermGoesNotServingDrainsAndLosesNoOperation) {
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--worker-delay-ms", "20"});
  const std::string arn = Create("drained").service().service_arn();
  ASSERT_TRUE(WaitFor([&] { return StatusOf(arn) == v1::RUNNING; },
                      std::chrono::seconds(20)));
  StopServer();
  EXPECT_THAT(Log(), HasSubstr("stopped: database closed"));
  // The last connection to close checkpointed the write-ahead log away.
  EXPECT_FALSE(std::filesystem::exists(data() / "servicemanager.db-wal"));

  // The pause's compute step takes a minute: SIGTERM comes in the middle.
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--worker-delay-ms", "60000", "--shutdown-grace-seconds", "2"});
  grpc::ClientContext watch_context;
  watch_context.set_deadline(In(std::chrono::seconds(30)));
  health::HealthCheckRequest watch_request;
  auto watch = health_->Watch(&watch_context, watch_request);
  health::HealthCheckResponse watched;
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), health::HealthCheckResponse::SERVING);

  std::string operation_id;
  {
    grpc::ClientContext context;
    context.set_deadline(In(std::chrono::seconds(5)));
    v1::PauseServiceRequest request;
    request.set_service_arn(arn);
    v1::PauseServiceResponse response;
    ASSERT_TRUE(stub_->PauseService(&context, request, &response).ok());
    operation_id = response.operation_id();
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::vector<v1::OperationSummary> ops = Operations(arn);
        return !ops.empty() && ops[0].id() == operation_id &&
               ops[0].status() == v1::IN_PROGRESS;
      },
      std::chrono::seconds(10)));

  const auto signalled = Clock::now();
  ASSERT_EQ(kill(pid_, SIGTERM), 0);
  // Health goes NOT_SERVING first; the open Watch stream hears it.
  ASSERT_TRUE(watch->Read(&watched));
  EXPECT_EQ(watched.status(), health::HealthCheckResponse::NOT_SERVING);
  // A new probe is refused, or at most told NOT_SERVING: never SERVING.
  health::HealthCheckResponse::ServingStatus serving;
  grpc::Status probe = Check("", &serving);
  EXPECT_TRUE(!probe.ok() ||
              serving == health::HealthCheckResponse::NOT_SERVING);
  // The Watch is a call in flight: it is given the grace period, then
  // cancelled.
  while (watch->Read(&watched)) {
  }
  EXPECT_FALSE(watch->Finish().ok());
  EXPECT_GE(Clock::now() - signalled, std::chrono::milliseconds(1500));
  ExpectCleanExit(std::chrono::seconds(20));
  const std::string log = Log();
  EXPECT_THAT(log, HasSubstr("shutting down signal=SIGTERM grace_seconds=2"));
  EXPECT_THAT(log, HasSubstr("stopped: database closed"));
  EXPECT_FALSE(std::filesystem::exists(data() / "servicemanager.db-wal"));

  // The next start finishes the pause: not lost, not half done.
  StartServer({"--listen", "127.0.0.1:0", "--data-dir", data().string(),
               "--worker-delay-ms", "50"});
  ASSERT_TRUE(WaitFor([&] { return StatusOf(arn) == v1::PAUSED; },
                      std::chrono::seconds(20)));
  std::vector<v1::OperationSummary> ops = Operations(arn);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].id(), operation_id);
  EXPECT_EQ(ops[0].type(), v1::PAUSE_SERVICE);
  EXPECT_EQ(ops[0].status(), v1::SUCCEEDED);
  StopServer();
}

TEST_F(OperationsTest, EnvironmentConfiguresAndJsonLogsAreOneObjectPerLine) {
  StartServer(
      {}, {"SERVICEMANAGER_LISTEN=127.0.0.1:0",
           absl::StrCat("SERVICEMANAGER_DATA_DIR=", data().string()),
           "SERVICEMANAGER_LOG_FORMAT=json", "SERVICEMANAGER_REGION=eu-west-1",
           "SERVICEMANAGER_WORKER_DELAY_MS=25",
           "SERVICEMANAGER_METRICS_LISTEN=127.0.0.1:0",
           "SERVICEMANAGER_SHUTDOWN_GRACE_SECONDS=3"});
  EXPECT_GT(metrics_port_, 0);
  const v1::CreateServiceResponse created = Create("json-logged");
  EXPECT_THAT(created.service().service_arn(),
              HasSubstr("arn:aws:apprunner:eu-west-1:"));
  ASSERT_TRUE(WaitFor(
      [&] { return StatusOf(created.service().service_arn()) == v1::RUNNING; },
      std::chrono::seconds(20)));
  StopServer();

  bool configuration = false;
  bool ready = false;
  bool rpc = false;
  for (absl::string_view line : absl::StrSplit(Log(), '\n')) {
    if (line.empty()) continue;
    google::protobuf::Struct object = ParseJson(std::string(line));
    const auto& fields = object.fields();
    ASSERT_TRUE(fields.contains("time") && fields.contains("level") &&
                fields.contains("msg"))
        << line;
    const std::string& msg = fields.at("msg").string_value();
    if (msg == "configuration") {
      configuration = true;
      EXPECT_EQ(fields.at("region").string_value(), "eu-west-1");
      EXPECT_EQ(fields.at("worker_delay_ms").number_value(), 25);
      EXPECT_EQ(fields.at("log_format").string_value(), "json");
      EXPECT_EQ(fields.at("listen").string_value(), "127.0.0.1:0");
      EXPECT_EQ(fields.at("shutdown_grace_seconds").number_value(), 3);
      EXPECT_EQ(fields.at("database").string_value(),
                (data() / "servicemanager.db").string());
    } else if (msg.rfind("servicemanager ready: listening on 127.0.0.1:", 0) ==
               0) {
      ready = true;
    } else if (msg == "rpc" && fields.at("method").string_value() == kCreate) {
      rpc = true;
      EXPECT_EQ(fields.at("code").string_value(), "OK");
      EXPECT_GE(fields.at("latency_ms").number_value(), 0);
    }
  }
  EXPECT_TRUE(configuration);
  EXPECT_TRUE(ready);
  EXPECT_TRUE(rpc);
}

}  // namespace
