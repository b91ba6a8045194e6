// The RPC observer on a real in-process gRPC server (127.0.0.1, ephemeral
// port) serving gRPC's health service: one log line and one count per RPC.
#include "observability/rpc_observer.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "observability/metrics.h"
#include "prometheus/text_serializer.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/testing/prometheus_text.h"

namespace {

namespace health = ::grpc::health::v1;
using ::servicemanager::observability::GrpcCodeName;
using ::servicemanager::observability::MethodsOf;
using ::servicemanager::observability::Metrics;
using ::servicemanager::observability::RpcObserverFactory;
using ::servicemanager::testing::SampleValue;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr char kCheck[] = "/grpc.health.v1.Health/Check";
constexpr char kWatch[] = "/grpc.health.v1.Health/Watch";

// Polls `done` until it holds or 10 s pass.
bool Eventually(const std::function<bool()>& done) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return done();
}

std::chrono::system_clock::time_point Deadline() {
  return std::chrono::system_clock::now() + std::chrono::seconds(10);
}

class RpcObserverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(std::make_unique<RpcObserverFactory>(
        metrics_, MethodsOf({health::Health::service_full_name()})));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    // gRPC builds no server without a service of its own. Every method of
    // this one answers UNIMPLEMENTED, on the sync API (health is on the
    // callback API), so that the observer sees both.
    builder.RegisterService(&unimplemented_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port),
                                   grpc::InsecureChannelCredentials());
    health_ = health::Health::NewStub(channel_);
    ::testing::internal::CaptureStderr();
  }

  void TearDown() override {
    if (capturing_) ::testing::internal::GetCapturedStderr();
    server_->Shutdown(Deadline());
  }

  // What the observer logged so far; ends the capture.
  std::string Logged() {
    capturing_ = false;
    return ::testing::internal::GetCapturedStderr();
  }

  double Count(const std::string& method, const std::string& code) {
    const std::string text =
        prometheus::TextSerializer().Serialize(metrics_.registry()->Collect());
    return SampleValue(text, "servicemanager_rpc_requests_total",
                       {{"method", method}, {"code", code}})
        .value_or(0);
  }

  grpc::Status Check(const std::string& service) {
    grpc::ClientContext context;
    context.set_deadline(Deadline());
    health::HealthCheckRequest request;
    request.set_service(service);
    health::HealthCheckResponse response;
    return health_->Check(&context, request, &response);
  }

  Metrics metrics_;
  servicemanager::v1::ServiceManager::Service unimplemented_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<health::Health::Stub> health_;
  bool capturing_ = true;
};

TEST_F(RpcObserverTest, LogsAndCountsEachRpcWithItsCode) {
  ASSERT_TRUE(Check("").ok());
  EXPECT_EQ(Check("no.such.Service").error_code(), grpc::StatusCode::NOT_FOUND);
  // The line and the count come as the call ends on the server, which may
  // be just after the client has its answer.
  ASSERT_TRUE(Eventually([&] {
    return Count(kCheck, "OK") == 1 && Count(kCheck, "NOT_FOUND") == 1;
  }));
  const std::string logged = Logged();
  EXPECT_THAT(logged, HasSubstr(absl::StrCat(" INFO rpc method=", kCheck,
                                             " code=OK latency_ms=")));
  EXPECT_THAT(logged, HasSubstr(absl::StrCat(" INFO rpc method=", kCheck,
                                             " code=NOT_FOUND latency_ms=")));
}

TEST_F(RpcObserverTest, CountsAMethodItDoesNotKnowAsUnknown) {
  auto stub = servicemanager::v1::ServiceManager::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(Deadline());
  servicemanager::v1::ListServicesResponse response;
  EXPECT_EQ(stub->ListServices(&context, {}, &response).error_code(),
            grpc::StatusCode::UNIMPLEMENTED);
  ASSERT_TRUE(
      Eventually([&] { return Count("unknown", "UNIMPLEMENTED") == 1; }));
  EXPECT_THAT(Logged(),
              HasSubstr("rpc method=/servicemanager.v1.ServiceManager/"
                        "ListServices code=UNIMPLEMENTED"));
}

TEST_F(RpcObserverTest, AStreamIsLoggedWhenItEnds) {
  grpc::ClientContext context;
  health::HealthCheckRequest request;
  auto reader = health_->Watch(&context, request);
  health::HealthCheckResponse response;
  ASSERT_TRUE(reader->Read(&response));
  EXPECT_EQ(response.status(), health::HealthCheckResponse::SERVING);
  context.TryCancel();
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Whatever the health service answers a cancelled Watch with, the call is
  // counted once, when it ends.
  ASSERT_TRUE(Eventually([&] {
    return Count(kWatch, "UNKNOWN") + Count(kWatch, "CANCELLED") == 1;
  }));
  EXPECT_THAT(Logged(), HasSubstr(absl::StrCat("rpc method=", kWatch)));
}

TEST(MethodsOfTest, ListsTheMethodsOfServicesInTheDescriptorPool) {
  EXPECT_THAT(MethodsOf({"grpc.health.v1.Health", "no.such.Service"}),
              UnorderedElementsAre(kCheck, kWatch));
}

TEST(GrpcCodeNameTest, NamesEveryCodeAsTheSpecificationDoes) {
  const char* const names[] = {"OK",
                               "CANCELLED",
                               "UNKNOWN",
                               "INVALID_ARGUMENT",
                               "DEADLINE_EXCEEDED",
                               "NOT_FOUND",
                               "ALREADY_EXISTS",
                               "PERMISSION_DENIED",
                               "RESOURCE_EXHAUSTED",
                               "FAILED_PRECONDITION",
                               "ABORTED",
                               "OUT_OF_RANGE",
                               "UNIMPLEMENTED",
                               "INTERNAL",
                               "UNAVAILABLE",
                               "DATA_LOSS",
                               "UNAUTHENTICATED"};
  for (int code = 0; code < 17; ++code) {
    EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(code)), names[code]);
  }
  EXPECT_EQ(GrpcCodeName(static_cast<grpc::StatusCode>(99)), "UNKNOWN");
}

}  // namespace
