// The ServiceManager gRPC API: thin handlers on gRPC's callback API. Each one
// asks the authorizer who calls, converts its request, validates it, makes
// one store call within the caller's accounts and converts the result; no
// rule of the lifecycle lives here. No exception leaves a handler.
//
// Thread-safe. The store must outlive the service.
#ifndef SERVICEMANAGER_SERVER_API_SERVICE_MANAGER_SERVICE_H_
#define SERVICEMANAGER_SERVER_API_SERVICE_MANAGER_SERVICE_H_

#include <grpcpp/grpcpp.h>

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/authorizer.h"
#include "api/call_record.h"
#include "api/change_hub.h"
#include "common/clock.h"
#include "common/thread_pool.h"
#include "domain/arn.h"
#include "domain/operation.h"
#include "observability/rpc_recorder.h"
#include "servicemanager/v1/service_manager.grpc.pb.h"
#include "store/store.h"

namespace servicemanager::api {

namespace v1 = ::servicemanager::v1;

// The largest request the server reads: a larger one is refused by gRPC
// with RESOURCE_EXHAUSTED before any handler runs. Every server of the API
// sets it (grpc::ServerBuilder::SetMaxReceiveMessageSize). A request within
// every field limit fits unless it carries many long environment variables.
inline constexpr int kMaxRequestBytes = 1 << 20;

struct ApiOptions {
  // The region of this server's ARNs (--region).
  std::string region;
  // ListServices(show_deleted) lists services deleted this recently (the
  // janitor's retention).
  absl::Duration retention = absl::Hours(24 * 30);
  // Threads on which mutating calls wait for their commit: how many writes
  // can share one.
  int write_threads = 64;
  // Records every call when it ends; none if null. Must outlive the calls.
  const observability::RpcRecorder* rpc_recorder = nullptr;
};

class ServiceManagerService final : public v1::ServiceManager::CallbackService {
 public:
  // `on_accepted` runs after every accepted operation (main wires it to wake
  // the worker). `hub` must be the store's ChangeObserver; it, the store, the
  // clock and the authorizer must outlive the service.
  ServiceManagerService(store::Store& store, ChangeHub& hub,
                        common::Clock& clock, const Authorizer& authorizer,
                        ApiOptions options, std::function<void()> on_accepted);

  grpc::ServerUnaryReactor* CreateService(
      grpc::CallbackServerContext* context,
      const v1::CreateServiceRequest* request,
      v1::CreateServiceResponse* response) override;
  grpc::ServerUnaryReactor* DescribeService(
      grpc::CallbackServerContext* context,
      const v1::DescribeServiceRequest* request,
      v1::DescribeServiceResponse* response) override;
  grpc::ServerUnaryReactor* ListServices(
      grpc::CallbackServerContext* context,
      const v1::ListServicesRequest* request,
      v1::ListServicesResponse* response) override;
  grpc::ServerUnaryReactor* UpdateService(
      grpc::CallbackServerContext* context,
      const v1::UpdateServiceRequest* request,
      v1::UpdateServiceResponse* response) override;
  grpc::ServerUnaryReactor* StartDeployment(
      grpc::CallbackServerContext* context,
      const v1::StartDeploymentRequest* request,
      v1::StartDeploymentResponse* response) override;
  grpc::ServerUnaryReactor* PauseService(
      grpc::CallbackServerContext* context,
      const v1::PauseServiceRequest* request,
      v1::PauseServiceResponse* response) override;
  grpc::ServerUnaryReactor* ResumeService(
      grpc::CallbackServerContext* context,
      const v1::ResumeServiceRequest* request,
      v1::ResumeServiceResponse* response) override;
  grpc::ServerUnaryReactor* DeleteService(
      grpc::CallbackServerContext* context,
      const v1::DeleteServiceRequest* request,
      v1::DeleteServiceResponse* response) override;
  grpc::ServerUnaryReactor* ListOperations(
      grpc::CallbackServerContext* context,
      const v1::ListOperationsRequest* request,
      v1::ListOperationsResponse* response) override;
  grpc::ServerUnaryReactor* TagResource(
      grpc::CallbackServerContext* context,
      const v1::TagResourceRequest* request,
      v1::TagResourceResponse* response) override;
  grpc::ServerUnaryReactor* UntagResource(
      grpc::CallbackServerContext* context,
      const v1::UntagResourceRequest* request,
      v1::UntagResourceResponse* response) override;
  grpc::ServerUnaryReactor* ListTagsForResource(
      grpc::CallbackServerContext* context,
      const v1::ListTagsForResourceRequest* request,
      v1::ListTagsForResourceResponse* response) override;
  grpc::ServerUnaryReactor* NotifySourceVersion(
      grpc::CallbackServerContext* context,
      const v1::NotifySourceVersionRequest* request,
      v1::NotifySourceVersionResponse* response) override;
  grpc::ServerUnaryReactor* DescribeOperation(
      grpc::CallbackServerContext* context,
      const v1::DescribeOperationRequest* request,
      v1::DescribeOperationResponse* response) override;
  grpc::ServerUnaryReactor* WaitOperation(
      grpc::CallbackServerContext* context,
      const v1::WaitOperationRequest* request,
      v1::WaitOperationResponse* response) override;
  grpc::ServerUnaryReactor* CancelOperation(
      grpc::CallbackServerContext* context,
      const v1::CancelOperationRequest* request,
      v1::CancelOperationResponse* response) override;
  grpc::ServerWriteReactor<v1::WatchServiceResponse>* WatchService(
      grpc::CallbackServerContext* context,
      const v1::WatchServiceRequest* request) override;
  grpc::ServerUnaryReactor* CreateConnection(
      grpc::CallbackServerContext* context,
      const v1::CreateConnectionRequest* request,
      v1::CreateConnectionResponse* response) override;
  grpc::ServerUnaryReactor* DeleteConnection(
      grpc::CallbackServerContext* context,
      const v1::DeleteConnectionRequest* request,
      v1::DeleteConnectionResponse* response) override;
  grpc::ServerUnaryReactor* ListConnections(
      grpc::CallbackServerContext* context,
      const v1::ListConnectionsRequest* request,
      v1::ListConnectionsResponse* response) override;
  grpc::ServerUnaryReactor* AssociateCustomDomain(
      grpc::CallbackServerContext* context,
      const v1::AssociateCustomDomainRequest* request,
      v1::AssociateCustomDomainResponse* response) override;
  grpc::ServerUnaryReactor* DisassociateCustomDomain(
      grpc::CallbackServerContext* context,
      const v1::DisassociateCustomDomainRequest* request,
      v1::DisassociateCustomDomainResponse* response) override;
  grpc::ServerUnaryReactor* DescribeCustomDomains(
      grpc::CallbackServerContext* context,
      const v1::DescribeCustomDomainsRequest* request,
      v1::DescribeCustomDomainsResponse* response) override;

 private:
  absl::Status Create(const Caller& caller,
                      const v1::CreateServiceRequest& request,
                      v1::CreateServiceResponse& response);
  absl::Status Update(const Caller& caller,
                      const v1::UpdateServiceRequest& request,
                      v1::UpdateServiceResponse& response);
  // Pause, resume, delete and deployment.
  template <typename Request, typename Response>
  absl::Status Start(grpc::CallbackServerContext& context,
                     const Request& request, domain::OperationType type,
                     Response& response);
  // The request's client token (within the caller's account), etag and
  // validate_only for the store.
  template <typename Request, typename Response>
  absl::StatusOr<store::CallOptions> CallOptionsOf(
      const Caller& caller, absl::string_view method,
      const Request& request) const;
  // Fills the response of an accepted (or replayed) call.
  template <typename Response>
  absl::Status FillResponse(const store::Accepted& accepted, bool validate_only,
                            Response& response) const;
  // AssociateCustomDomain and DisassociateCustomDomain: the caller may
  // write, the service and domain name are valid, and `change(ref, name)`
  // links or unlinks; the response shows the domain `shown_as`.
  template <typename Request, typename Response, typename Change>
  absl::Status ChangeCustomDomain(grpc::CallbackServerContext& context,
                                  const Request& request,
                                  v1::CustomDomain::Status shown_as,
                                  Response& response, Change change) const;
  // The service of `arn`, if it is of an account the caller may reach;
  // NOT_FOUND otherwise, as if it did not exist.
  absl::StatusOr<domain::ServiceRef> Resolve(const Caller& caller,
                                             absl::string_view arn,
                                             absl::string_view field) const;
  // The source configuration of a request for a service of `account_id`,
  // with its connection: a bad connection ARN, or one of another account, is
  // INVALID_ARGUMENT naming the field.
  absl::StatusOr<domain::SourceConfiguration> SourceOf(
      absl::string_view account_id, const v1::SourceConfiguration& proto) const;

  CallRecord Record(const char* method) const {
    return CallRecord(options_.rpc_recorder, method);
  }

  store::Store& store_;
  ChangeHub& hub_;
  common::Clock& clock_;
  const Authorizer& authorizer_;
  const ApiOptions options_;
  const std::function<void()> on_accepted_;
  // Last: destroyed first, so the writes it still runs find the rest alive.
  common::ThreadPool write_pool_;
};

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_SERVICE_MANAGER_SERVICE_H_
