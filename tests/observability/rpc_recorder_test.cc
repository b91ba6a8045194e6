// The RPC recorder: one log line and one count per RPC; and the generic
// service that answers (and records) methods the server does not have, on a
// real in-process gRPC server (127.0.0.1, ephemeral port). How the API's
// handlers record their calls is tested with the API (tests/api).
#include "observability/rpc_recorder.h"

#include <gmock/gmock.h>
#include <google/protobuf/descriptor.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "observability/metrics.h"
#include "prometheus/text_serializer.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "tests/testing/prometheus_text.h"

namespace {

using ::servicemanager::observability::GrpcCodeName;
using ::servicemanager::observability::MethodsOf;
using ::servicemanager::observability::Metrics;
using ::servicemanager::observability::RpcRecorder;
using ::servicemanager::observability::UnknownMethods;
using ::servicemanager::testing::SampleValue;
using ::testing::HasSubstr;

constexpr char kDescribe[] =
    "/servicemanager.v1.ServiceManager/DescribeService";

double Count(Metrics& metrics, const std::string& method,
             const std::string& code) {
  const std::string text =
      prometheus::TextSerializer().Serialize(metrics.registry()->Collect());
  return SampleValue(text, "servicemanager_rpc_requests_total",
                     {{"method", method}, {"code", code}})
      .value_or(0);
}

TEST(RpcRecorderTest, LogsAndCountsEachRpcWithItsCode) {
  Metrics metrics;
  const RpcRecorder recorder(metrics,
                             MethodsOf({"servicemanager.v1.ServiceManager"}));
  ::testing::internal::CaptureStderr();
  recorder.Record(kDescribe, grpc::StatusCode::OK, absl::Milliseconds(2));
  recorder.Record(kDescribe, grpc::StatusCode::NOT_FOUND,
                  absl::Milliseconds(1));
  recorder.Record(kDescribe, grpc::StatusCode::UNAVAILABLE,
                  absl::Milliseconds(1));
  const std::string logged = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(Count(metrics, kDescribe, "OK"), 1);
  EXPECT_EQ(Count(metrics, kDescribe, "NOT_FOUND"), 1);
  EXPECT_EQ(Count(metrics, kDescribe, "UNAVAILABLE"), 1);
  EXPECT_THAT(logged, HasSubstr(absl::StrCat(" INFO rpc method=", kDescribe,
                                             " code=OK latency_ms=2\n")));
  EXPECT_THAT(logged, HasSubstr(absl::StrCat(" INFO rpc method=", kDescribe,
                                             " code=NOT_FOUND latency_ms=1")));
  // A fault is a warning.
  EXPECT_THAT(logged,
              HasSubstr(absl::StrCat(" WARNING rpc method=", kDescribe,
                                     " code=UNAVAILABLE latency_ms=1")));
}

TEST(RpcRecorderTest, CountsAMethodItDoesNotKnowAsUnknown) {
  Metrics metrics;
  const RpcRecorder recorder(metrics,
                             MethodsOf({"servicemanager.v1.ServiceManager"}));
  ::testing::internal::CaptureStderr();
  recorder.Record("/no.such.Service/Call", grpc::StatusCode::UNIMPLEMENTED,
                  absl::Milliseconds(1));
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("rpc method=/no.such.Service/Call code=UNIMPLEMENTED"));
  EXPECT_EQ(Count(metrics, "unknown", "UNIMPLEMENTED"), 1);
  EXPECT_EQ(Count(metrics, "/no.such.Service/Call", "UNIMPLEMENTED"), 0);
}

TEST(UnknownMethodsTest, AnswersAMethodNoServiceHasAndRecordsIt) {
  Metrics metrics;
  const RpcRecorder recorder(metrics, MethodsOf({"grpc.health.v1.Health"}));
  UnknownMethods unknown(recorder);
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                           &port);
  builder.RegisterCallbackGenericService(&unknown);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  auto stub = servicemanager::v1::ServiceManager::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
  ::testing::internal::CaptureStderr();
  {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() +
                         std::chrono::seconds(10));
    servicemanager::v1::ListServicesResponse response;
    EXPECT_EQ(stub->ListServices(&context, {}, &response).error_code(),
              grpc::StatusCode::UNIMPLEMENTED);
  }
  // The call is recorded when the server is done with it, which may be just
  // after the client has its answer; the shutdown waits for it.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  EXPECT_THAT(::testing::internal::GetCapturedStderr(),
              HasSubstr("rpc method=/servicemanager.v1.ServiceManager/"
                        "ListServices code=UNIMPLEMENTED"));
  EXPECT_EQ(Count(metrics, "unknown", "UNIMPLEMENTED"), 1);
}

TEST(MethodsOfTest, ListsTheMethodsOfServicesInTheDescriptorPool) {
  const auto methods =
      MethodsOf({"servicemanager.v1.ServiceManager", "no.such.Service"});
  const google::protobuf::ServiceDescriptor* service =
      servicemanager::v1::DescribeServiceRequest::descriptor()
          ->file()
          ->FindServiceByName("ServiceManager");
  ASSERT_NE(service, nullptr);
  EXPECT_EQ(methods.size(), static_cast<size_t>(service->method_count()));
  EXPECT_TRUE(methods.contains(kDescribe));
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
