#include "client/service_manager_client.h"

#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/status.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"

namespace servicemanager::client {
namespace {

absl::StatusCode ToAbslCode(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return absl::StatusCode::kOk;
    case grpc::StatusCode::CANCELLED:
      return absl::StatusCode::kCancelled;
    case grpc::StatusCode::UNKNOWN:
      return absl::StatusCode::kUnknown;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return absl::StatusCode::kInvalidArgument;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StatusCode::kDeadlineExceeded;
    case grpc::StatusCode::NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case grpc::StatusCode::ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StatusCode::kPermissionDenied;
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::StatusCode::kUnauthenticated;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StatusCode::kResourceExhausted;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return absl::StatusCode::kFailedPrecondition;
    case grpc::StatusCode::ABORTED:
      return absl::StatusCode::kAborted;
    case grpc::StatusCode::OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case grpc::StatusCode::UNIMPLEMENTED:
      return absl::StatusCode::kUnimplemented;
    case grpc::StatusCode::INTERNAL:
      return absl::StatusCode::kInternal;
    case grpc::StatusCode::UNAVAILABLE:
      return absl::StatusCode::kUnavailable;
    case grpc::StatusCode::DATA_LOSS:
      return absl::StatusCode::kDataLoss;
    case grpc::StatusCode::DO_NOT_USE:
      return absl::StatusCode::kUnknown;
  }
  return absl::StatusCode::kUnknown;
}

// The status of a failed RPC, with the exception name from the trailing
// metadata as payload.
absl::Status FromGrpcStatus(const grpc::Status& status,
                            const grpc::ClientContext& context) {
  absl::Status result(ToAbslCode(status.error_code()), status.error_message());
  const auto& trailers = context.GetServerTrailingMetadata();
  if (auto it = trailers.find(kErrorTypeKey); it != trailers.end()) {
    result.SetPayload(
        kErrorTypeKey,
        absl::Cord(absl::string_view(it->second.data(), it->second.size())));
  }
  return result;
}

void AddToken(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

absl::StatusOr<std::string> ReadPem(const std::string& path,
                                    absl::string_view flag) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in || text.str().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " ", path, ": cannot be read"));
  }
  return text.str();
}

template <typename Request, typename Response>
using StubMethod = grpc::Status (v1::ServiceManager::Stub::*)(
    grpc::ClientContext*, const Request&, Response*);

template <typename Request, typename Response>
absl::StatusOr<Response> Call(v1::ServiceManager::Stub& stub,
                              StubMethod<Request, Response> method,
                              const Request& request, absl::Duration timeout,
                              const std::string& token) {
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  AddToken(context, token);
  Response response;
  grpc::Status status = (stub.*method)(&context, request, &response);
  if (!status.ok()) return FromGrpcStatus(status, context);
  return response;
}

}  // namespace

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint) {
  return grpc::CreateChannel(endpoint, grpc::InsecureChannelCredentials());
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeTlsChannel(
    const std::string& endpoint, const TlsFiles& files) {
  grpc::SslCredentialsOptions options;
  if (!files.ca.empty()) {
    absl::StatusOr<std::string> ca = ReadPem(files.ca, "--tls-ca");
    if (!ca.ok()) return ca.status();
    options.pem_root_certs = *std::move(ca);
  }
  if (files.certificate.empty() != files.key.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key are given together or not at all");
  }
  if (!files.certificate.empty()) {
    absl::StatusOr<std::string> cert = ReadPem(files.certificate, "--tls-cert");
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key = ReadPem(files.key, "--tls-key");
    if (!key.ok()) return key.status();
    options.pem_cert_chain = *std::move(cert);
    options.pem_private_key = *std::move(key);
  }
  return grpc::CreateChannel(endpoint, grpc::SslCredentials(options));
}

std::string ErrorType(const absl::Status& status) {
  if (auto payload = status.GetPayload(kErrorTypeKey); payload.has_value()) {
    return std::string(*payload);
  }
  return "";
}

ServiceManagerClient::ServiceManagerClient(
    std::shared_ptr<grpc::Channel> channel, absl::Duration timeout,
    std::string token)
    : stub_(v1::ServiceManager::NewStub(std::move(channel))),
      timeout_(timeout),
      token_(std::move(token)) {}

absl::StatusOr<v1::CreateServiceResponse> ServiceManagerClient::CreateService(
    const v1::CreateServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::CreateService, request,
              timeout_, token_);
}

absl::StatusOr<v1::DescribeServiceResponse>
ServiceManagerClient::DescribeService(
    const v1::DescribeServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DescribeService, request,
              timeout_, token_);
}

absl::StatusOr<v1::ListServicesResponse> ServiceManagerClient::ListServices(
    const v1::ListServicesRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::ListServices, request,
              timeout_, token_);
}

absl::StatusOr<v1::UpdateServiceResponse> ServiceManagerClient::UpdateService(
    const v1::UpdateServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::UpdateService, request,
              timeout_, token_);
}

absl::StatusOr<v1::StartDeploymentResponse>
ServiceManagerClient::StartDeployment(
    const v1::StartDeploymentRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::StartDeployment, request,
              timeout_, token_);
}

absl::StatusOr<v1::PauseServiceResponse> ServiceManagerClient::PauseService(
    const v1::PauseServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::PauseService, request,
              timeout_, token_);
}

absl::StatusOr<v1::ResumeServiceResponse> ServiceManagerClient::ResumeService(
    const v1::ResumeServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::ResumeService, request,
              timeout_, token_);
}

absl::StatusOr<v1::DeleteServiceResponse> ServiceManagerClient::DeleteService(
    const v1::DeleteServiceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DeleteService, request,
              timeout_, token_);
}

absl::StatusOr<v1::ListOperationsResponse> ServiceManagerClient::ListOperations(
    const v1::ListOperationsRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::ListOperations, request,
              timeout_, token_);
}

absl::StatusOr<v1::TagResourceResponse> ServiceManagerClient::TagResource(
    const v1::TagResourceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::TagResource, request, timeout_,
              token_);
}

absl::StatusOr<v1::UntagResourceResponse> ServiceManagerClient::UntagResource(
    const v1::UntagResourceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::UntagResource, request,
              timeout_, token_);
}

absl::StatusOr<v1::ListTagsForResourceResponse>
ServiceManagerClient::ListTagsForResource(
    const v1::ListTagsForResourceRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::ListTagsForResource, request,
              timeout_, token_);
}

absl::StatusOr<v1::NotifySourceVersionResponse>
ServiceManagerClient::NotifySourceVersion(
    const v1::NotifySourceVersionRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::NotifySourceVersion, request,
              timeout_, token_);
}

absl::StatusOr<v1::CreateConnectionResponse>
ServiceManagerClient::CreateConnection(
    const v1::CreateConnectionRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::CreateConnection, request,
              timeout_, token_);
}

absl::StatusOr<v1::DeleteConnectionResponse>
ServiceManagerClient::DeleteConnection(
    const v1::DeleteConnectionRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DeleteConnection, request,
              timeout_, token_);
}

absl::StatusOr<v1::ListConnectionsResponse>
ServiceManagerClient::ListConnections(
    const v1::ListConnectionsRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::ListConnections, request,
              timeout_, token_);
}

absl::StatusOr<v1::AssociateCustomDomainResponse>
ServiceManagerClient::AssociateCustomDomain(
    const v1::AssociateCustomDomainRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::AssociateCustomDomain, request,
              timeout_, token_);
}

absl::StatusOr<v1::DisassociateCustomDomainResponse>
ServiceManagerClient::DisassociateCustomDomain(
    const v1::DisassociateCustomDomainRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DisassociateCustomDomain,
              request, timeout_, token_);
}

absl::StatusOr<v1::DescribeCustomDomainsResponse>
ServiceManagerClient::DescribeCustomDomains(
    const v1::DescribeCustomDomainsRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DescribeCustomDomains, request,
              timeout_, token_);
}

absl::StatusOr<v1::DescribeOperationResponse>
ServiceManagerClient::DescribeOperation(
    const v1::DescribeOperationRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::DescribeOperation, request,
              timeout_, token_);
}

absl::StatusOr<v1::WaitOperationResponse> ServiceManagerClient::WaitOperation(
    const v1::WaitOperationRequest& request) const {
  const absl::Duration wait =
      request.has_timeout() ? absl::Seconds(request.timeout().seconds()) +
                                  absl::Nanoseconds(request.timeout().nanos())
                            : absl::Seconds(60);
  return Call(*stub_, &v1::ServiceManager::Stub::WaitOperation, request,
              wait + timeout_, token_);
}

absl::StatusOr<v1::CancelOperationResponse>
ServiceManagerClient::CancelOperation(
    const v1::CancelOperationRequest& request) const {
  return Call(*stub_, &v1::ServiceManager::Stub::CancelOperation, request,
              timeout_, token_);
}

absl::Status ServiceManagerClient::WatchService(
    const v1::WatchServiceRequest& request,
    const std::function<bool(const v1::WatchServiceResponse&)>& on_change)
    const {
  grpc::ClientContext context;
  AddToken(context, token_);
  std::unique_ptr<grpc::ClientReader<v1::WatchServiceResponse>> reader =
      stub_->WatchService(&context, request);
  v1::WatchServiceResponse response;
  while (reader->Read(&response)) {
    if (!on_change(response)) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok() && status.error_code() != grpc::StatusCode::CANCELLED) {
    return FromGrpcStatus(status, context);
  }
  return absl::OkStatus();
}

}  // namespace servicemanager::client
