#include "api/service_manager_service.h"

#include <grpcpp/grpcpp.h>

#include <exception>
#include <functional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/grpc_status.h"
#include "api/proto_convert.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "domain/validation.h"

namespace servicemanager::api {
namespace {

using domain::OperationType;

// Runs a handler body and finishes the call with its status. Nothing the body
// throws crosses into gRPC.
template <typename Body>
grpc::ServerUnaryReactor* Respond(grpc::CallbackServerContext* context,
                                  Body&& body) {
  absl::Status status;
  try {
    status = std::forward<Body>(body)();
  } catch (const std::exception& e) {
    common::Log(common::LogLevel::kError,
                absl::StrCat("handler threw: ", e.what()));
    status = absl::InternalError("internal error");
  }
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  reactor->Finish(ToGrpcStatus(status, *context));
  return reactor;
}

std::optional<int32_t> MaxResults(bool has, int32_t value) {
  return has ? std::optional<int32_t>(value) : std::nullopt;
}

}  // namespace

ServiceManagerService::ServiceManagerService(store::Store& store,
                                             domain::Partition partition,
                                             std::function<void()> on_accepted)
    : store_(store),
      partition_(std::move(partition)),
      on_accepted_(std::move(on_accepted)) {}

absl::StatusOr<domain::ServiceRef> ServiceManagerService::Resolve(
    absl::string_view arn, absl::string_view field) const {
  return domain::ParseServiceArn(partition_, arn, field);
}

absl::Status ServiceManagerService::Create(
    const v1::CreateServiceRequest& request,
    v1::CreateServiceResponse& response) {
  RETURN_IF_ERROR(domain::ValidateServiceName(request.service_name()));
  store::NewService service;
  service.name = request.service_name();
  if (!request.has_source_configuration()) {
    return absl::InvalidArgumentError("source_configuration: is required");
  }
  ASSIGN_OR_RETURN(service.config.source,
                   FromProto(request.source_configuration()));
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

  ASSIGN_OR_RETURN(store::Accepted accepted, store_.CreateService(service));
  on_accepted_();
  ToProto(accepted.service, partition_, response.mutable_service());
  response.set_operation_id(accepted.operation.id);
  return absl::OkStatus();
}

absl::Status ServiceManagerService::Update(
    const v1::UpdateServiceRequest& request,
    v1::UpdateServiceResponse& response) {
  ASSIGN_OR_RETURN(domain::ServiceRef ref,
                   Resolve(request.service_arn(), "service_arn"));
  domain::ConfigUpdate update;
  if (request.has_source_configuration()) {
    ASSIGN_OR_RETURN(update.source, FromProto(request.source_configuration()));
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
      store::Accepted accepted,
      store_.StartOperation(ref, OperationType::kUpdateService, update));
  on_accepted_();
  ToProto(accepted.service, partition_, response.mutable_service());
  response.set_operation_id(accepted.operation.id);
  return absl::OkStatus();
}

template <typename Response>
absl::Status ServiceManagerService::Start(absl::string_view service_arn,
                                          OperationType type,
                                          Response& response) {
  ASSIGN_OR_RETURN(domain::ServiceRef ref, Resolve(service_arn, "service_arn"));
  ASSIGN_OR_RETURN(store::Accepted accepted,
                   store_.StartOperation(ref, type, {}));
  on_accepted_();
  if constexpr (!std::is_same_v<Response, v1::StartDeploymentResponse>) {
    ToProto(accepted.service, partition_, response.mutable_service());
  }
  response.set_operation_id(accepted.operation.id);
  return absl::OkStatus();
}

grpc::ServerUnaryReactor* ServiceManagerService::CreateService(
    grpc::CallbackServerContext* context,
    const v1::CreateServiceRequest* request,
    v1::CreateServiceResponse* response) {
  return Respond(context, [&] { return Create(*request, *response); });
}

grpc::ServerUnaryReactor* ServiceManagerService::DescribeService(
    grpc::CallbackServerContext* context,
    const v1::DescribeServiceRequest* request,
    v1::DescribeServiceResponse* response) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->service_arn(), "service_arn"));
    ASSIGN_OR_RETURN(domain::Service service, store_.GetService(ref));
    ToProto(service, partition_, response->mutable_service());
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListServices(
    grpc::CallbackServerContext* context,
    const v1::ListServicesRequest* request,
    v1::ListServicesResponse* response) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int page_size,
                     domain::PageSize(MaxResults(request->has_max_results(),
                                                 request->max_results())));
    ASSIGN_OR_RETURN(store::Page<domain::Service> page,
                     store_.ListServices(page_size, request->next_token()));
    for (const domain::Service& service : page.items) {
      ToProto(service, partition_, response->add_service_summary_list());
    }
    response->set_next_token(page.next_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::UpdateService(
    grpc::CallbackServerContext* context,
    const v1::UpdateServiceRequest* request,
    v1::UpdateServiceResponse* response) {
  return Respond(context, [&] { return Update(*request, *response); });
}

grpc::ServerUnaryReactor* ServiceManagerService::StartDeployment(
    grpc::CallbackServerContext* context,
    const v1::StartDeploymentRequest* request,
    v1::StartDeploymentResponse* response) {
  return Respond(context, [&] {
    return Start(request->service_arn(), OperationType::kStartDeployment,
                 *response);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::PauseService(
    grpc::CallbackServerContext* context,
    const v1::PauseServiceRequest* request,
    v1::PauseServiceResponse* response) {
  return Respond(context, [&] {
    return Start(request->service_arn(), OperationType::kPauseService,
                 *response);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::ResumeService(
    grpc::CallbackServerContext* context,
    const v1::ResumeServiceRequest* request,
    v1::ResumeServiceResponse* response) {
  return Respond(context, [&] {
    return Start(request->service_arn(), OperationType::kResumeService,
                 *response);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::DeleteService(
    grpc::CallbackServerContext* context,
    const v1::DeleteServiceRequest* request,
    v1::DeleteServiceResponse* response) {
  return Respond(context, [&] {
    return Start(request->service_arn(), OperationType::kDeleteService,
                 *response);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListOperations(
    grpc::CallbackServerContext* context,
    const v1::ListOperationsRequest* request,
    v1::ListOperationsResponse* response) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->service_arn(), "service_arn"));
    ASSIGN_OR_RETURN(int page_size,
                     domain::PageSize(MaxResults(request->has_max_results(),
                                                 request->max_results())));
    ASSIGN_OR_RETURN(
        store::Page<domain::Operation> page,
        store_.ListOperations(ref, page_size, request->next_token()));
    for (const domain::Operation& op : page.items) {
      ToProto(op, partition_, response->add_operation_summary_list());
    }
    response->set_next_token(page.next_token);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::TagResource(
    grpc::CallbackServerContext* context, const v1::TagResourceRequest* request,
    v1::TagResourceResponse*) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->resource_arn(), "resource_arn"));
    std::vector<domain::Tag> tags = FromProto(request->tags());
    if (tags.empty()) {
      return absl::InvalidArgumentError("tags: give at least one tag");
    }
    RETURN_IF_ERROR(domain::ValidateTags(tags, "tags"));
    return store_.TagService(ref, tags);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::UntagResource(
    grpc::CallbackServerContext* context,
    const v1::UntagResourceRequest* request, v1::UntagResourceResponse*) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->resource_arn(), "resource_arn"));
    std::vector<std::string> keys(request->tag_keys().begin(),
                                  request->tag_keys().end());
    if (keys.empty()) {
      return absl::InvalidArgumentError("tag_keys: give at least one key");
    }
    RETURN_IF_ERROR(domain::ValidateTagKeys(keys, "tag_keys"));
    return store_.UntagService(ref, keys);
  });
}

grpc::ServerUnaryReactor* ServiceManagerService::ListTagsForResource(
    grpc::CallbackServerContext* context,
    const v1::ListTagsForResourceRequest* request,
    v1::ListTagsForResourceResponse* response) {
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->resource_arn(), "resource_arn"));
    ASSIGN_OR_RETURN(std::vector<domain::Tag> tags, store_.ListTags(ref));
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
  return Respond(context, [&]() -> absl::Status {
    ASSIGN_OR_RETURN(domain::ServiceRef ref,
                     Resolve(request->service_arn(), "service_arn"));
    RETURN_IF_ERROR(domain::ValidateImageIdentifier(request->image_identifier(),
                                                    "image_identifier"));
    ASSIGN_OR_RETURN(
        store::SourceVersionRecorded recorded,
        store_.RecordSourceVersion(ref, request->image_identifier()));
    if (recorded.deployment) {
      on_accepted_();
      response->set_operation_id(recorded.deployment->id);
    }
    ToProto(recorded.service, partition_, response->mutable_service());
    return absl::OkStatus();
  });
}

}  // namespace servicemanager::api
