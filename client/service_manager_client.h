// A synchronous client of the ServiceManager gRPC service, returning the
// result of each call as absl::StatusOr.
#ifndef SERVICEMANAGER_CLIENT_SERVICE_MANAGER_CLIENT_H_
#define SERVICEMANAGER_CLIENT_SERVICE_MANAGER_CLIENT_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"

namespace servicemanager::client {

// The trailing metadata key in which the server sends App Runner's exception
// name (e.g. "InvalidStateException"), and the type URL of the absl::Status
// payload in which ServiceManagerClient passes it on.
inline constexpr char kErrorTypeKey[] = "x-amzn-errortype";

// A channel to `endpoint` ("host:port") without transport security.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint);

// How to reach a server that speaks TLS: PEM files, each optional.
struct TlsFiles {
  std::string ca;           // Verifies the server; empty: the system's CAs.
  std::string certificate;  // The client's own, for mTLS, with `key`.
  std::string key;
};

// A TLS channel to `endpoint`; INVALID_ARGUMENT naming a file that cannot be
// read, or a certificate without its key.
absl::StatusOr<std::shared_ptr<grpc::Channel>> MakeTlsChannel(
    const std::string& endpoint, const TlsFiles& files);

// The App Runner exception name carried by a status that
// ServiceManagerClient returned, or "" if there is none (as for a server that
// could not be reached or did not answer in time).
std::string ErrorType(const absl::Status& status);

// Calls the ServiceManager service over one channel, one blocking RPC per
// method, each with its own deadline of `timeout` from the start of the call.
// A failed RPC becomes an absl::Status with the gRPC code and message and,
// when the server sent one, the exception name as the kErrorTypeKey payload.
//
// Thread-safe: the methods may be called concurrently.
class ServiceManagerClient {
 public:
  // A non-empty `token` goes with every call as "authorization: Bearer
  // TOKEN".
  ServiceManagerClient(std::shared_ptr<grpc::Channel> channel,
                       absl::Duration timeout, std::string token = "");

  absl::StatusOr<v1::CreateServiceResponse> CreateService(
      const v1::CreateServiceRequest& request) const;
  absl::StatusOr<v1::DescribeServiceResponse> DescribeService(
      const v1::DescribeServiceRequest& request) const;
  absl::StatusOr<v1::ListServicesResponse> ListServices(
      const v1::ListServicesRequest& request) const;
  absl::StatusOr<v1::UpdateServiceResponse> UpdateService(
      const v1::UpdateServiceRequest& request) const;
  absl::StatusOr<v1::StartDeploymentResponse> StartDeployment(
      const v1::StartDeploymentRequest& request) const;
  absl::StatusOr<v1::PauseServiceResponse> PauseService(
      const v1::PauseServiceRequest& request) const;
  absl::StatusOr<v1::ResumeServiceResponse> ResumeService(
      const v1::ResumeServiceRequest& request) const;
  absl::StatusOr<v1::DeleteServiceResponse> DeleteService(
      const v1::DeleteServiceRequest& request) const;
  absl::StatusOr<v1::ListOperationsResponse> ListOperations(
      const v1::ListOperationsRequest& request) const;
  absl::StatusOr<v1::TagResourceResponse> TagResource(
      const v1::TagResourceRequest& request) const;
  absl::StatusOr<v1::UntagResourceResponse> UntagResource(
      const v1::UntagResourceRequest& request) const;
  absl::StatusOr<v1::ListTagsForResourceResponse> ListTagsForResource(
      const v1::ListTagsForResourceRequest& request) const;
  absl::StatusOr<v1::NotifySourceVersionResponse> NotifySourceVersion(
      const v1::NotifySourceVersionRequest& request) const;
  absl::StatusOr<v1::CreateConnectionResponse> CreateConnection(
      const v1::CreateConnectionRequest& request) const;
  absl::StatusOr<v1::DeleteConnectionResponse> DeleteConnection(
      const v1::DeleteConnectionRequest& request) const;
  absl::StatusOr<v1::ListConnectionsResponse> ListConnections(
      const v1::ListConnectionsRequest& request) const;
  absl::StatusOr<v1::AssociateCustomDomainResponse> AssociateCustomDomain(
      const v1::AssociateCustomDomainRequest& request) const;
  absl::StatusOr<v1::DisassociateCustomDomainResponse> DisassociateCustomDomain(
      const v1::DisassociateCustomDomainRequest& request) const;
  absl::StatusOr<v1::DescribeCustomDomainsResponse> DescribeCustomDomains(
      const v1::DescribeCustomDomainsRequest& request) const;
  absl::StatusOr<v1::DescribeOperationResponse> DescribeOperation(
      const v1::DescribeOperationRequest& request) const;
  // Its deadline is the request's timeout (60 s if unset) plus `timeout`.
  absl::StatusOr<v1::WaitOperationResponse> WaitOperation(
      const v1::WaitOperationRequest& request) const;
  absl::StatusOr<v1::CancelOperationResponse> CancelOperation(
      const v1::CancelOperationRequest& request) const;
  // Calls `on_change` with each message of the stream until it ends or
  // `on_change` returns false. No deadline: a watch lasts until the service
  // is deleted. OK when the server ended the stream normally.
  absl::Status WatchService(
      const v1::WatchServiceRequest& request,
      const std::function<bool(const v1::WatchServiceResponse&)>& on_change)
      const;

 private:
  std::unique_ptr<v1::ServiceManager::Stub> stub_;
  absl::Duration timeout_;
  std::string token_;
};

}  // namespace servicemanager::client

#endif  // SERVICEMANAGER_CLIENT_SERVICE_MANAGER_CLIENT_H_
