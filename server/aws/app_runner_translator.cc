#include "aws/app_runner_translator.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "aws/app_runner_json.h"
#include "aws/aws_error.h"
#include "common/status_macros.h"

namespace servicemanager::aws {
namespace {

namespace v1 = ::servicemanager::v1;

// The trailing metadata key in which the gRPC API names App Runner's
// exception (api/grpc_status.h writes it).
constexpr char kErrorTypeKey[] = "x-amzn-errortype";

// The gRPC status as an absl::Status with the exception name of its trailer.
// A status without one (the channel's own errors: a deadline, a shutdown)
// stays without, which makes it an InternalServiceErrorException.
absl::Status FromGrpc(const grpc::Status& status,
                      const grpc::ClientContext& context) {
  absl::Status result(static_cast<absl::StatusCode>(status.error_code()),
                      status.error_message());
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto it = trailers.find(kErrorTypeKey); it != trailers.end()) {
    result =
        WithErrorType(std::move(result),
                      absl::string_view(it->second.data(), it->second.size()));
  }
  return result;
}

}  // namespace

AppRunnerTranslator::AppRunnerTranslator(
    std::shared_ptr<grpc::ChannelInterface> channel,
    absl::Duration call_timeout)
    : stub_(v1::ServiceManager::NewStub(std::move(channel))),
      call_timeout_(call_timeout) {
  using Stub = v1::ServiceManager::Stub;
  Add("CreateService", &Stub::CreateService);
  Add("DescribeService", &Stub::DescribeService);
  Add("ListServices", &Stub::ListServices);
  Add("UpdateService", &Stub::UpdateService);
  Add("StartDeployment", &Stub::StartDeployment);
  Add("PauseService", &Stub::PauseService);
  Add("ResumeService", &Stub::ResumeService);
  Add("DeleteService", &Stub::DeleteService);
  Add("ListOperations", &Stub::ListOperations);
  Add("TagResource", &Stub::TagResource);
  Add("UntagResource", &Stub::UntagResource);
  Add("ListTagsForResource", &Stub::ListTagsForResource);
  Add("CreateConnection", &Stub::CreateConnection);
  Add("DeleteConnection", &Stub::DeleteConnection);
  Add("ListConnections", &Stub::ListConnections);
  Add("AssociateCustomDomain", &Stub::AssociateCustomDomain);
  Add("DisassociateCustomDomain", &Stub::DisassociateCustomDomain);
  Add("DescribeCustomDomains", &Stub::DescribeCustomDomains);
}

template <typename Request, typename Response>
void AppRunnerTranslator::Add(const std::string& operation,
                              grpc::Status (v1::ServiceManager::Stub::*method)(
                                  grpc::ClientContext*, const Request&,
                                  Response*)) {
  operations_[operation] =
      [this, method](
          absl::string_view body,
          absl::string_view bearer_token) -> absl::StatusOr<std::string> {
    Request request;
    RETURN_IF_ERROR(ParseAppRunnerJson(body, request));
    Response response;
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + call_timeout_));
    if (!bearer_token.empty()) {
      context.AddMetadata("authorization",
                          absl::StrCat("Bearer ", bearer_token));
    }
    const grpc::Status status =
        ((*stub_).*method)(&context, request, &response);
    if (!status.ok()) {
      return FromGrpc(status, context);
    }
    return ToAppRunnerJson(response);
  };
}

absl::StatusOr<std::string> AppRunnerTranslator::Call(
    absl::string_view target, absl::string_view body,
    absl::string_view bearer_token) const {
  const auto handler =
      absl::StartsWith(target, kTargetPrefix)
          ? operations_.find(target.substr(sizeof(kTargetPrefix) - 1))
          : operations_.end();
  if (handler == operations_.end()) {
    return AwsError(
        absl::StatusCode::kUnimplemented, kUnknownOperationException,
        target.empty() ? "the X-Amz-Target header is missing"
                       : absl::StrCat("ServiceManager does not serve ", target,
                                      "; it serves ", kTargetPrefix, "{",
                                      absl::StrJoin(Operations(), ","), "}"));
  }
  return handler->second(body, bearer_token);
}

std::vector<std::string> AppRunnerTranslator::Operations() const {
  std::vector<std::string> names;
  for (const auto& [name, handler] : operations_) {
    names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace servicemanager::aws
