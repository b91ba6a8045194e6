#include "api/service_manager_service.h"

#include <grpcpp/grpcpp.h>

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/arena_messages.h"
#include "api/call_record.h"
#include "api/grpc_status.h"
#include "api/operation_waiter.h"
#include "api/proto_convert.h"
#include "api/service_watcher.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "domain/validation.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace servicemanager::api {
namespace {

using domain::OperationType;

// Runs a handler body; nothing it throws crosses into gRPC.
template <typename Body>
absl::Status RunGuarded(Body& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    common::Log(common::LogLevel::kError,
                absl::StrCat("handler threw: ", e.what()));
    return absl::InternalError("internal error");
  }
}

// Finishes a unary call with `status`, recording it first. The call keeps
// gRPC's default reactor: with a reactor of its own, gRPC runs OnDone on
// another thread, which cost a DescribeService call more than a quarter of
// its CPU time (BENCHMARKS.md); so the latency recorded ends when the
// response is handed to gRPC.
void Finish(CallRecord& record, grpc::CallbackServerContext& context,
            grpc::ServerUnaryReactor& reactor, const absl::Status& status) {
  grpc::Status reply = record.Finishing(ToGrpcStatus(status, context));
  record.Done();
  reactor.Finish(std::move(reply));
}

// Runs a handler body and finishes the call with its status.
template <typename Body>
grpc::ServerUnaryReactor* Respond(CallRecord record,
                                  grpc::CallbackServerContext* context,
                                  Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  Finish(record, *context, *reactor, RunGuarded(body));
  return reactor;
}

// The same for a body that writes: it runs on `pool`, where waiting for its
// group commit holds none of gRPC's few callback threads, so many writes can
// wait at once and share a commit. `body` must capture nothing of the
// handler's stack (the request and response pointers stay valid).
template <typename Body>
grpc::ServerUnaryReactor* RespondFromPool(CallRecord record,
                                          common::ThreadPool& pool,
                                          grpc::CallbackServerContext* context,
                                          Body body) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  pool.Schedule([record = std::move(record), context, reactor,
                 body = std::move(body)]() mutable {
    Finish(record, *context, *reactor, RunGuarded(body));
  });
  return reactor;
}

// The page a listing asks for: its size from max_results (the default when
// absent), once max_results and next_token are both valid.
template <typename Request>
absl::StatusOr<int> RequestedPageSize(const Request& request) {
  ASSIGN_OR_RETURN(
      int page_size,
      domain::PageSize(request.has_max_results()
                           ? std::optional<int32_t>(request.max_results())
                           : std::nullopt));
  RETURN_IF_ERROR(domain::ValidatePageToken(request.next_token()));
  return page_size;
}

// The request in canonical bytes, for comparing a retry with the call it
// repeats: deterministic (map order fixed), without the client token.
template <typename Request>
std::string Fingerprint(absl::string_view method, Request request) {
  request.clear_client_token();
  std::string bytes = absl::StrCat(method, "\n");
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return bytes;
}

absl::Status ValidateTagsToAdd(const std::vector<domain::Tag>& tags) {
  if (tags.empty()) {
    return absl::InvalidArgumentError("tags: give at least one tag");
  }
  return domain::ValidateTags(tags, "tags");
}

absl::Status ValidateTagKeysToRemove(const std::vector<std::string>& keys) {
  if (keys.empty()) {
    return absl::InvalidArgumentError("tag_keys: give at least one key");
  }
  return domain::ValidateTagKeys(keys, "tag_keys");
}

}  // namespace

ServiceManagerService::ServiceManagerService(store::Store& store,
                                             ChangeHub& hub,
                                             common::Clock& clock,
                                             const Authorizer& authorizer,
                                             ApiOptions options,
                                             std::function<void()> on_accepted)
    : store_(store),
      hub_(hub),
      clock_(clock),
      authorizer_(authorizer),
      options_(std::move(options)),
      on_accepted_(std::move(on_accepted)),
      write_pool_(options_.write_threads) {
  // Each unary call's request and response live on one arena.
  SetMessageAllocatorFor_CreateService(ArenaMessages());
  SetMessageAllocatorFor_DescribeService(ArenaMessages());
  SetMessageAllocatorFor_ListServices(ArenaMessages());
  SetMessageAllocatorFor_UpdateService(ArenaMessages());
  SetMessageAllocatorFor_StartDeployment(ArenaMessages());
  SetMessageAllocatorFor_PauseService(ArenaMessages());
  SetMessageAllocatorFor_ResumeService(ArenaMessages());
  SetMessageAllocatorFor_DeleteService(ArenaMessages());
  SetMessageAllocatorFor_ListOperations(ArenaMessages());
  SetMessageAllocatorFor_DescribeOperation(ArenaMessages());
  SetMessageAllocatorFor_WaitOperation(ArenaMessages());
  SetMessageAllocatorFor_CancelOperation(ArenaMessages());
  SetMessageAllocatorFor_TagResource(ArenaMessages());
  SetMessageAllocatorFor_UntagResource(ArenaMessages());
  SetMessageAllocatorFor_ListTagsForResource(ArenaMessages());
  SetMessageAllocatorFor_NotifySourceVersion(ArenaMessages());
  SetMessageAllocatorFor_CreateConnection(ArenaMessages());
  SetMessageAllocatorFor_DeleteConnection(ArenaMessages());
  SetMessageAllocatorFor_ListConnections(ArenaMessages());
  SetMessageAllocatorFor_AssociateCustomDomain(ArenaMessages());
  SetMessageAllocatorFor_DisassociateCustomDomain(ArenaMessages());
  SetMessageAllocatorFor_DescribeCustomDomains(ArenaMessages());
}

absl::StatusOr<domain::ServiceRef> ServiceManagerService::Resolve(
    const Caller& caller, absl::string_view arn,
    absl::string_view field) const {
  return domain::ParseServiceArn(options_.region, caller.scope, arn, field);
}

absl::StatusOr<domain::SourceConfiguration> ServiceManagerService::SourceOf(
    absl::string_view account_id, const v1::SourceConfiguration& proto) const {
  ASSIGN_OR_RETURN(domain::SourceConfiguration source, FromProto(proto));
  const std::string& arn =
      proto.authentication_configuration().connection_arn();
  if (!arn.empty()) {
    constexpr absl::string_view kField =
        "source_configuration.authentication_configuration.connection_arn";
    absl::StatusOr<domain::ConnectionRef> ref = domain::ParseConnectionArn(
        options_.region, domain::AccountScope{std::string(account_id)}, arn,
        kField);
    if (absl::IsNotFound(ref.status())) {
      return absl::InvalidArgumentError(
          absl::StrCat(kField, ": ", ref.status().message()));
    }
    if (!ref.ok()) {
      return ref.status();
    }
    source.connection = *std::move(ref);
  }
  return source;
}

template <typename Request, typename Response>
absl::StatusOr<store::CallOptions> ServiceManagerService::CallOptionsOf(
    const Caller& caller, absl::string_view method,
    const Request& request) const {
  store::CallOptions options;
  options.validate_only = request.validate_only();
  if constexpr (requires { request.etag(); }) {
    RETURN_IF_ERROR(domain::ValidateEtag(request.etag()));
    if (!request.etag().empty()) {
      options.expected_etag = request.etag();
    }
  }
  if (!request.client_token().empty()) {
    RETURN_IF_ERROR(domain::ValidateClientToken(request.client_token()));
    options.client_token = store::ClientToken{
        // One account's token never replays another's response.
        .token = absl::StrCat(caller.account_id, "/", request.client_token()),
        .request = Fingerprint(method, request),
        .encode_response =
            [this](const store::Accepted& accepted) {
              Response response;
              FillResponse(accepted, /*validate_only=*/false, response)
                  .IgnoreError();
              return response.SerializeAsString();
            },
    };
  }
  return options;
}

template <typename Response>
absl::Status ServiceManagerService::FillResponse(
    const store::Accepted& accepted, bool validate_only,
    Response& response) const {
  if (accepted.replayed_response) {
    if (!response.ParseFromString(*accepted.replayed_response)) {
      return absl::InternalError("the stored response cannot be read");
    }
    return absl::OkStatus();
  }
  if constexpr (requires { response.mutable_service(); }) {
    ToProto(accepted.service, options_.region, response.mutable_service());
  }
  if (validate_only) {
    ToProto(accepted.operation.type, accepted.transition,
            response.mutable_validation());
  } else {
    response.set_operation_id(accepted.operation.id);
  }
  return absl::OkStatus();
}

absl::Status ServiceManagerService::Create(
    const Caller& caller, const v1::CreateServiceRequest& request,
    v1::CreateServiceResponse& response) {
  RETURN_IF_ERROR(domain::ValidateServiceName(request.service_name()));
  store::NewService service;
  service.account_id = caller.account_id;
  service.name = request.service_name();
  if (!request.has_source_configuration()) {
    return absl::InvalidArgumentError("source_configuration: is required");
  }
  ASSIGN_OR_RETURN(service.config.source,
                   SourceOf(caller.account_id, request.source_configuration()));
  RETURN_IF_ERROR(domain::ValidateSourceConfiguration(service.config.source,
                                                      "source_configuration"));
  service.config.instance = FromProto(request.instance_configuration());
  RETURN_IF_ERROR(domain::CanonicalizeInstanceConfiguration(
      service.config.instance, "instance_configuration"));
  ASSIGN_OR_RETURN(service.config.health_check,
                   FromProto(request.health_check_configuration()));
  RETURN_IF_ERROR(domain::ValidateHealthCheckConfiguration(
      service.config.health_check, "health_check_configuration"));
  service.tags = FromProto(request.tags());
  RETURN_IF_ERROR(domain::ValidateTags(service.tags, "tags"));
  ASSIGN_OR_RETURN(
      store::CallOptions options,
      (CallOptionsOf<v1::CreateServiceRequest, v1::CreateServiceResponse>(
          caller, "CreateService", request)));

  ASSIGN_OR_RETURN(store::Accepted accepted,
                   store_.CreateService(service, options));
  if (!options.validate_only) {
    on_accepted_();
  }
  return FillResponse(accepted, options.validate_only, response);
}

absl::Status ServiceManagerService::Update(
    const Caller& caller, const v1::UpdateServiceRequest& request,
    v1::UpdateServiceResponse& response) {
  ASSIGN_OR_RETURN(domain::ServiceRef ref,
                   Resolve(caller, request.service_arn(), "service_arn"));
  domain::ConfigUpdate update;
  if (request.has_source_configuration()) {
    ASSIGN_OR_RETURN(update.source,
                     SourceOf(ref.account_id, request.source_configuration()));
    RETURN_IF_ERROR(domain::ValidateSourceConfiguration(
        *update.source, "source_configuration"));
  }
  if (request.has_instance_configuration()) {
    domain::InstanceConfiguration instance =
        FromProto(request.instance_configuration());
    RETURN_IF_ERROR(domain::CanonicalizeInstanceConfiguration(
        instance, "instance_configuration"));
    if (!request.instance_configuration().cpu().empty()) {
      update.cpu = instance.cpu;
    }
    if (!request.instance_configuration().memory().empty()) {
      update.memory = instance.memory;
    }
  }
  if (request.has_health_check_configuration()) {
    ASSIGN_OR_RETURN(update.health_check,
                     FromProto(request.health_check_configuration()));
    RETURN_IF_ERROR(domain::ValidateHealthCheckConfiguration(
        *update.health_check, "health_check_configuration"));
  }
  if (update.empty()) {
    return absl::InvalidArgumentError(
        "source_configuration, instance_configuration, "
        "health_check_configuration: give at least one to change");
  }
  ASSIGN_OR_RETURN(
      store::CallOptions options,
      (CallOptionsOf<v1::UpdateServiceRequest, v1::UpdateServiceResponse>(
          caller, "UpdateService", request)));
  ASSIGN_OR_RETURN(store::Accepted accepted,
                   store_.StartOperation(ref, OperationType::kUpdateService,
                                         update, options));
  if (!options.validate_only) {
    on_accepted_();
  }
  return FillResponse(accepted, options.validate_only, response);
}

template <typename Request, typename Response>
absl::Status ServiceManagerService::Start(grpc::CallbackServerContext& context,
                                          const Request& request,
                                          OperationType type,
                                          Response& response) {
  ASSIGN_OR_RETURN(Caller caller,
                   authorizer_.Authorize(context, Access::kWrite));
  ASSIGN_OR_RETURN(domain::ServiceRef ref,
                   Resolve(caller, request.service_arn(), "service_arn"));
  ASSIGN_OR_RETURN(store::CallOptions options,
                   (CallOptionsOf<Request, Response>(
                       caller, domain::ToString(type), request)));
  ASSIGN_OR_RETURN(store::Accepted accepted,
                   store_.StartOperation(ref, type, {}, options));
  if (!options.validate_only) {
    on_accepted_();
  }
  return FillResponse(accepted, options.validate_only, response);
}

grpc::ServerUnaryReactor* ServiceManagerService::CreateService(
    grpc::CallbackServerContext* context,
    const v1::CreateServiceRequest* request,
    v1::CreateServiceResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("CreateService")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        return Create(caller, *request, *response);
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::DescribeService(
    grpc::CallbackServerContext* context,
    const v1::DescribeServiceRequest* request,
    v1::DescribeServiceResponse* response) {
  return Respond(
      Record(SM_API_METHOD("DescribeService")), context, [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        ASSIGN_OR_RETURN(
            domain::ServiceRef ref,
            Resolve(caller, request->service_arn(), "service_arn"));
        ASSIGN_OR_RETURN(domain::Service service, store_.GetService(ref));
        ToProto(service, options_.region, response->mutable_service());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListServices(
    grpc::CallbackServerContext* context,
    const v1::ListServicesRequest* request,
    v1::ListServicesResponse* response) {
  return Respond(
      Record(SM_API_METHOD("ListServices")), context, [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        ASSIGN_OR_RETURN(int page_size, RequestedPageSize(*request));
        std::optional<absl::Time> deleted_since;
        if (request->show_deleted()) {
          deleted_since = clock_.Now() - options_.retention;
        }
        ASSIGN_OR_RETURN(
            store::Page<domain::Service> page,
            store_.ListServices(caller.scope, page_size, request->next_token(),
                                deleted_since));
        for (const domain::Service& service : page.items) {
          ToProto(service, options_.region,
                  response->add_service_summary_list());
        }
        response->set_next_token(page.next_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::UpdateService(
    grpc::CallbackServerContext* context,
    const v1::UpdateServiceRequest* request,
    v1::UpdateServiceResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("UpdateService")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        return Update(caller, *request, *response);
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::StartDeployment(
    grpc::CallbackServerContext* context,
    const v1::StartDeploymentRequest* request,
    v1::StartDeploymentResponse* response) {
  return RespondFromPool(Record(SM_API_METHOD("StartDeployment")), write_pool_,
                         context, [this, context, request, response] {
                           return Start(*context, *request,
                                        OperationType::kStartDeployment,
                                        *response);
                         });
}

grpc::ServerUnaryReactor* ServiceManagerService::PauseService(
    grpc::CallbackServerContext* context,
    const v1::PauseServiceRequest* request,
    v1::PauseServiceResponse* response) {
  return RespondFromPool(Record(SM_API_METHOD("PauseService")), write_pool_,
                         context, [this, context, request, response] {
                           return Start(*context, *request,
                                        OperationType::kPauseService,
                                        *response);
                         });
}

grpc::ServerUnaryReactor* ServiceManagerService::ResumeService(
    grpc::CallbackServerContext* context,
    const v1::ResumeServiceRequest* request,
    v1::ResumeServiceResponse* response) {
  return RespondFromPool(Record(SM_API_METHOD("ResumeService")), write_pool_,
                         context, [this, context, request, response] {
                           return Start(*context, *request,
                                        OperationType::kResumeService,
                                        *response);
                         });
}

grpc::ServerUnaryReactor* ServiceManagerService::DeleteService(
    grpc::CallbackServerContext* context,
    const v1::DeleteServiceRequest* request,
    v1::DeleteServiceResponse* response) {
  return RespondFromPool(Record(SM_API_METHOD("DeleteService")), write_pool_,
                         context, [this, context, request, response] {
                           return Start(*context, *request,
                                        OperationType::kDeleteService,
                                        *response);
                         });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListOperations(
    grpc::CallbackServerContext* context,
    const v1::ListOperationsRequest* request,
    v1::ListOperationsResponse* response) {
  return Respond(
      Record(SM_API_METHOD("ListOperations")), context, [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        ASSIGN_OR_RETURN(
            domain::ServiceRef ref,
            Resolve(caller, request->service_arn(), "service_arn"));
        ASSIGN_OR_RETURN(int page_size, RequestedPageSize(*request));
        ASSIGN_OR_RETURN(
            store::Page<domain::Operation> page,
            store_.ListOperations(ref, page_size, request->next_token()));
        for (const domain::Operation& op : page.items) {
          ToProto(op, options_.region, response->add_operation_summary_list());
        }
        response->set_next_token(page.next_token);
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::TagResource(
    grpc::CallbackServerContext* context, const v1::TagResourceRequest* request,
    v1::TagResourceResponse*) {
  return RespondFromPool(
      Record(SM_API_METHOD("TagResource")), write_pool_, context,
      [this, context, request]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        const std::string& arn = request->resource_arn();
        std::vector<domain::Tag> tags = FromProto(request->tags());
        if (domain::IsConnectionArn(arn)) {
          ASSIGN_OR_RETURN(
              domain::ConnectionRef ref,
              domain::ParseConnectionArn(options_.region, caller.scope, arn,
                                         "resource_arn"));
          RETURN_IF_ERROR(ValidateTagsToAdd(tags));
          return store_.TagConnection(ref, tags, request->validate_only());
        }
        ASSIGN_OR_RETURN(domain::ServiceRef ref,
                         Resolve(caller, arn, "resource_arn"));
        RETURN_IF_ERROR(ValidateTagsToAdd(tags));
        return store_.TagService(ref, tags, request->validate_only());
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::UntagResource(
    grpc::CallbackServerContext* context,
    const v1::UntagResourceRequest* request, v1::UntagResourceResponse*) {
  return RespondFromPool(
      Record(SM_API_METHOD("UntagResource")), write_pool_, context,
      [this, context, request]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        const std::string& arn = request->resource_arn();
        std::vector<std::string> keys(request->tag_keys().begin(),
                                      request->tag_keys().end());
        if (domain::IsConnectionArn(arn)) {
          ASSIGN_OR_RETURN(
              domain::ConnectionRef ref,
              domain::ParseConnectionArn(options_.region, caller.scope, arn,
                                         "resource_arn"));
          RETURN_IF_ERROR(ValidateTagKeysToRemove(keys));
          return store_.UntagConnection(ref, keys, request->validate_only());
        }
        ASSIGN_OR_RETURN(domain::ServiceRef ref,
                         Resolve(caller, arn, "resource_arn"));
        RETURN_IF_ERROR(ValidateTagKeysToRemove(keys));
        return store_.UntagService(ref, keys, request->validate_only());
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListTagsForResource(
    grpc::CallbackServerContext* context,
    const v1::ListTagsForResourceRequest* request,
    v1::ListTagsForResourceResponse* response) {
  return Respond(
      Record(SM_API_METHOD("ListTagsForResource")), context,
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        const std::string& arn = request->resource_arn();
        std::vector<domain::Tag> tags;
        if (domain::IsConnectionArn(arn)) {
          ASSIGN_OR_RETURN(
              domain::ConnectionRef ref,
              domain::ParseConnectionArn(options_.region, caller.scope, arn,
                                         "resource_arn"));
          ASSIGN_OR_RETURN(tags, store_.ListConnectionTags(ref));
        } else {
          ASSIGN_OR_RETURN(domain::ServiceRef ref,
                           Resolve(caller, arn, "resource_arn"));
          ASSIGN_OR_RETURN(tags, store_.ListTags(ref));
        }
        for (const domain::Tag& tag : tags) {
          ToProto(tag, response->add_tags());
        }
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::NotifySourceVersion(
    grpc::CallbackServerContext* context,
    const v1::NotifySourceVersionRequest* request,
    v1::NotifySourceVersionResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("NotifySourceVersion")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        ASSIGN_OR_RETURN(
            domain::ServiceRef ref,
            Resolve(caller, request->service_arn(), "service_arn"));
        RETURN_IF_ERROR(domain::ValidateImageIdentifier(
            request->image_identifier(), "image_identifier"));
        ASSIGN_OR_RETURN(
            store::SourceVersionRecorded recorded,
            store_.RecordSourceVersion(ref, request->image_identifier(),
                                       request->validate_only()));
        if (recorded.deployment && !request->validate_only()) {
          on_accepted_();
          response->set_operation_id(recorded.deployment->id);
        }
        ToProto(recorded.service, options_.region, response->mutable_service());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::DescribeOperation(
    grpc::CallbackServerContext* context,
    const v1::DescribeOperationRequest* request,
    v1::DescribeOperationResponse* response) {
  return Respond(
      Record(SM_API_METHOD("DescribeOperation")), context,
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        RETURN_IF_ERROR(domain::ValidateOperationId(request->operation_id()));
        ASSIGN_OR_RETURN(
            domain::Operation operation,
            store_.GetOperation(caller.scope, request->operation_id()));
        ToProto(operation, options_.region, response->mutable_operation());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::WaitOperation(
    grpc::CallbackServerContext* context,
    const v1::WaitOperationRequest* request,
    v1::WaitOperationResponse* response) {
  absl::StatusOr<Caller> caller =
      authorizer_.Authorize(*context, Access::kRead);
  if (!caller.ok()) {
    return Respond(Record(SM_API_METHOD("WaitOperation")), context,
                   [&] { return caller.status(); });
  }
  return OperationWaiter::Start(Record(SM_API_METHOD("WaitOperation")), context,
                                *request, response, store_, hub_,
                                options_.region, caller->scope);
}

grpc::ServerUnaryReactor* ServiceManagerService::CancelOperation(
    grpc::CallbackServerContext* context,
    const v1::CancelOperationRequest* request,
    v1::CancelOperationResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("CancelOperation")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        RETURN_IF_ERROR(domain::ValidateOperationId(request->operation_id()));
        ASSIGN_OR_RETURN(
            domain::Operation operation,
            store_.CancelOperation(caller.scope, request->operation_id(),
                                   request->validate_only()));
        // A cancel in progress leaves the worker a rollback to do.
        on_accepted_();
        ToProto(operation, options_.region, response->mutable_operation());
        return absl::OkStatus();
      });
}

grpc::ServerWriteReactor<v1::WatchServiceResponse>*
ServiceManagerService::WatchService(grpc::CallbackServerContext* context,
                                    const v1::WatchServiceRequest* request) {
  absl::StatusOr<domain::ServiceRef> service =
      [&]() -> absl::StatusOr<domain::ServiceRef> {
    ASSIGN_OR_RETURN(Caller caller,
                     authorizer_.Authorize(*context, Access::kRead));
    return Resolve(caller, request->service_arn(), "service_arn");
  }();
  return ServiceWatcher::Start(Record(SM_API_METHOD("WatchService")), context,
                               std::move(service), store_, hub_,
                               options_.region);
}

grpc::ServerUnaryReactor* ServiceManagerService::CreateConnection(
    grpc::CallbackServerContext* context,
    const v1::CreateConnectionRequest* request,
    v1::CreateConnectionResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("CreateConnection")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        RETURN_IF_ERROR(domain::ValidateConnectionName(
            request->connection_name(), "connection_name"));
        store::NewConnection connection;
        connection.account_id = caller.account_id;
        connection.name = request->connection_name();
        ASSIGN_OR_RETURN(connection.provider_type,
                         FromProto(request->provider_type()));
        connection.tags = FromProto(request->tags());
        RETURN_IF_ERROR(domain::ValidateTags(connection.tags, "tags"));
        ASSIGN_OR_RETURN(domain::Connection created,
                         store_.CreateConnection(connection));
        ToProto(created, options_.region, response->mutable_connection());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::DeleteConnection(
    grpc::CallbackServerContext* context,
    const v1::DeleteConnectionRequest* request,
    v1::DeleteConnectionResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("DeleteConnection")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kWrite));
        ASSIGN_OR_RETURN(domain::ConnectionRef ref,
                         domain::ParseConnectionArn(
                             options_.region, caller.scope,
                             request->connection_arn(), "connection_arn"));
        ASSIGN_OR_RETURN(domain::Connection deleted,
                         store_.DeleteConnection(ref));
        ToProto(deleted, options_.region, response->mutable_connection());
        return absl::OkStatus();
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListConnections(
    grpc::CallbackServerContext* context,
    const v1::ListConnectionsRequest* request,
    v1::ListConnectionsResponse* response) {
  return Respond(
      Record(SM_API_METHOD("ListConnections")), context, [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        std::optional<std::string> name;
        if (!request->connection_name().empty()) {
          RETURN_IF_ERROR(domain::ValidateConnectionName(
              request->connection_name(), "connection_name"));
          name = request->connection_name();
        }
        ASSIGN_OR_RETURN(int page_size, RequestedPageSize(*request));
        ASSIGN_OR_RETURN(
            store::Page<domain::Connection> page,
            store_.ListConnections(caller.account_id, name, page_size,
                                   request->next_token()));
        for (const domain::Connection& connection : page.items) {
          ToProto(connection, options_.region,
                  response->add_connection_summary_list());
        }
        response->set_next_token(page.next_token);
        return absl::OkStatus();
      });
}

template <typename Request, typename Response, typename Change>
absl::Status ServiceManagerService::ChangeCustomDomain(
    grpc::CallbackServerContext& context, const Request& request,
    v1::CustomDomain::Status shown_as, Response& response,
    Change change) const {
  ASSIGN_OR_RETURN(Caller caller,
                   authorizer_.Authorize(context, Access::kWrite));
  ASSIGN_OR_RETURN(domain::ServiceRef ref,
                   Resolve(caller, request.service_arn(), "service_arn"));
  ASSIGN_OR_RETURN(std::string name, domain::CanonicalDomainName(
                                         request.domain_name(), "domain_name"));
  ASSIGN_OR_RETURN(store::DomainChange changed, change(ref, name));
  response.set_dns_target(changed.service.url);
  response.set_service_arn(request.service_arn());
  ToProto(changed.domain, shown_as, response.mutable_custom_domain());
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ServiceManagerService::AssociateCustomDomain(
    grpc::CallbackServerContext* context,
    const v1::AssociateCustomDomainRequest* request,
    v1::AssociateCustomDomainResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("AssociateCustomDomain")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        return ChangeCustomDomain(
            *context, *request, v1::CustomDomain::ACTIVE, *response,
            [&](const domain::ServiceRef& ref, const std::string& name) {
              return store_.AssociateCustomDomain(
                  ref, ref.account_id, name, request->enable_www_subdomain());
            });
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::DisassociateCustomDomain(
    grpc::CallbackServerContext* context,
    const v1::DisassociateCustomDomainRequest* request,
    v1::DisassociateCustomDomainResponse* response) {
  return RespondFromPool(
      Record(SM_API_METHOD("DisassociateCustomDomain")), write_pool_, context,
      [this, context, request, response]() -> absl::Status {
        return ChangeCustomDomain(
            *context, *request, v1::CustomDomain::DELETING, *response,
            [&](const domain::ServiceRef& ref, const std::string& name) {
              return store_.DisassociateCustomDomain(ref, name);
            });
      });
}

grpc::ServerUnaryReactor* ServiceManagerService::DescribeCustomDomains(
    grpc::CallbackServerContext* context,
    const v1::DescribeCustomDomainsRequest* request,
    v1::DescribeCustomDomainsResponse* response) {
  return Respond(
      Record(SM_API_METHOD("DescribeCustomDomains")), context,
      [&]() -> absl::Status {
        ASSIGN_OR_RETURN(Caller caller,
                         authorizer_.Authorize(*context, Access::kRead));
        ASSIGN_OR_RETURN(
            domain::ServiceRef ref,
            Resolve(caller, request->service_arn(), "service_arn"));
        ASSIGN_OR_RETURN(int page_size, RequestedPageSize(*request));
        ASSIGN_OR_RETURN(
            store::ServiceDomains domains,
            store_.ListCustomDomains(ref, page_size, request->next_token()));
        response->set_dns_target(domains.service.url);
        response->set_service_arn(request->service_arn());
        for (const domain::CustomDomain& domain : domains.domains.items) {
          ToProto(domain, v1::CustomDomain::ACTIVE,
                  response->add_custom_domains());
        }
        response->set_next_token(domains.domains.next_token);
        return absl::OkStatus();
      });
}

}  // namespace servicemanager::api
