#include "api/proto_convert.h"

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace servicemanager::api {
namespace {

void SetTime(absl::Time t, google::protobuf::Timestamp* proto) {
  const int64_t micros = absl::ToUnixMicros(t);
  proto->set_seconds(micros / 1000000);
  proto->set_nanos(static_cast<int32_t>(micros % 1000000) * 1000);
}

// The domain's enumerators and the proto's share App Runner's names.
template <typename ProtoEnum, typename DomainEnum>
ProtoEnum ByName(DomainEnum value,
                 bool (*parse)(const std::string&, ProtoEnum*)) {
  ProtoEnum result{};
  parse(std::string(domain::ToString(value)), &result);
  return result;
}

v1::ServiceStatus ToProto(domain::ServiceStatus status) {
  return ByName(status, &v1::ServiceStatus_Parse);
}
v1::OperationType ToProto(domain::OperationType type) {
  return ByName(type, &v1::OperationType_Parse);
}
v1::OperationStatus ToProto(domain::OperationStatus status) {
  return ByName(status, &v1::OperationStatus_Parse);
}

void ToProto(const domain::ImageVersion& image, v1::ImageVersion* proto) {
  proto->set_version(image.version);
  proto->set_image_identifier(image.image_identifier);
  SetTime(image.recorded_at, proto->mutable_recorded_at());
}

}  // namespace

absl::StatusOr<domain::SourceConfiguration> FromProto(
    const v1::SourceConfiguration& proto) {
  domain::SourceConfiguration source;
  const v1::ImageRepository& repo = proto.image_repository();
  source.image_identifier = repo.image_identifier();
  switch (repo.image_repository_type()) {
    case v1::IMAGE_REPOSITORY_TYPE_UNSPECIFIED:
    case v1::ECR:
      source.image_repository_type = domain::ImageRepositoryType::kEcr;
      break;
    case v1::ECR_PUBLIC:
      source.image_repository_type = domain::ImageRepositoryType::kEcrPublic;
      break;
    default:
      return absl::InvalidArgumentError(
          "source_configuration.image_repository.image_repository_type: must "
          "be ECR or ECR_PUBLIC");
  }
  const v1::ImageConfiguration& image = repo.image_configuration();
  if (!image.port().empty()) {
    source.image_configuration.port = image.port();
  }
  source.image_configuration.start_command = image.start_command();
  source.image_configuration.runtime_environment_variables.insert(
      image.runtime_environment_variables().begin(),
      image.runtime_environment_variables().end());
  source.image_configuration.runtime_environment_secrets.insert(
      image.runtime_environment_secrets().begin(),
      image.runtime_environment_secrets().end());
  if (proto.has_auto_deployments_enabled()) {
    source.auto_deployments_enabled = proto.auto_deployments_enabled();
  }
  return source;
}

domain::InstanceConfiguration FromProto(
    const v1::InstanceConfiguration& proto) {
  domain::InstanceConfiguration instance;
  if (!proto.cpu().empty()) {
    instance.cpu = proto.cpu();
  }
  if (!proto.memory().empty()) {
    instance.memory = proto.memory();
  }
  return instance;
}

absl::StatusOr<domain::HealthCheckConfiguration> FromProto(
    const v1::HealthCheckConfiguration& proto) {
  domain::HealthCheckConfiguration health;
  switch (proto.protocol()) {
    case v1::HEALTH_CHECK_PROTOCOL_UNSPECIFIED:
    case v1::TCP:
      health.protocol = domain::HealthCheckProtocol::kTcp;
      break;
    case v1::HTTP:
      health.protocol = domain::HealthCheckProtocol::kHttp;
      break;
    default:
      return absl::InvalidArgumentError(
          "health_check_configuration.protocol: must be TCP or HTTP");
  }
  if (!proto.path().empty()) {
    health.path = proto.path();
  }
  if (proto.has_interval()) {
    health.interval = proto.interval();
  }
  if (proto.has_timeout()) {
    health.timeout = proto.timeout();
  }
  if (proto.has_healthy_threshold()) {
    health.healthy_threshold = proto.healthy_threshold();
  }
  if (proto.has_unhealthy_threshold()) {
    health.unhealthy_threshold = proto.unhealthy_threshold();
  }
  return health;
}

std::vector<domain::Tag> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Tag>& tags) {
  std::vector<domain::Tag> result;
  result.reserve(tags.size());
  for (const v1::Tag& tag : tags) {
    result.push_back({tag.key(), tag.value()});
  }
  return result;
}

void ToProto(const domain::Service& service, absl::string_view region,
             v1::Service* proto) {
  proto->set_service_name(service.name);
  proto->set_service_id(service.id);
  proto->set_service_arn(
      domain::ServiceArn(region, service.account_id, service.name, service.id));
  proto->set_service_url(service.url);
  SetTime(service.created_at, proto->mutable_created_at());
  SetTime(service.updated_at, proto->mutable_updated_at());
  if (service.deleted_at) {
    SetTime(*service.deleted_at, proto->mutable_deleted_at());
  }
  proto->set_status(ToProto(service.status));
  proto->set_etag(domain::Etag(service));
  if (service.config) {
    const domain::ServiceConfig& config = *service.config;
    v1::SourceConfiguration* source = proto->mutable_source_configuration();
    v1::ImageRepository* repo = source->mutable_image_repository();
    repo->set_image_identifier(config.source.image_identifier);
    repo->set_image_repository_type(
        config.source.image_repository_type ==
                domain::ImageRepositoryType::kEcrPublic
            ? v1::ECR_PUBLIC
            : v1::ECR);
    const domain::ImageConfiguration& image = config.source.image_configuration;
    v1::ImageConfiguration* image_proto = repo->mutable_image_configuration();
    image_proto->set_port(image.port);
    image_proto->set_start_command(image.start_command);
    image_proto->mutable_runtime_environment_variables()->insert(
        image.runtime_environment_variables.begin(),
        image.runtime_environment_variables.end());
    image_proto->mutable_runtime_environment_secrets()->insert(
        image.runtime_environment_secrets.begin(),
        image.runtime_environment_secrets.end());
    source->set_auto_deployments_enabled(
        config.source.auto_deployments_enabled);
    if (config.source.connection) {
      source->mutable_authentication_configuration()->set_connection_arn(
          domain::ConnectionArn(region, *config.source.connection));
    }
    proto->mutable_instance_configuration()->set_cpu(config.instance.cpu);
    proto->mutable_instance_configuration()->set_memory(config.instance.memory);
    v1::HealthCheckConfiguration* health =
        proto->mutable_health_check_configuration();
    health->set_protocol(config.health_check.protocol ==
                                 domain::HealthCheckProtocol::kHttp
                             ? v1::HTTP
                             : v1::TCP);
    health->set_path(config.health_check.path);
    health->set_interval(config.health_check.interval);
    health->set_timeout(config.health_check.timeout);
    health->set_healthy_threshold(config.health_check.healthy_threshold);
    health->set_unhealthy_threshold(config.health_check.unhealthy_threshold);
  }
  if (service.deployed_image) {
    ToProto(*service.deployed_image, proto->mutable_deployed_image());
  }
  if (service.latest_image) {
    ToProto(*service.latest_image, proto->mutable_latest_image());
  }
  if (service.status == domain::ServiceStatus::kRunning) {
    proto->set_endpoint(service.endpoint);
  }
}

void ToProto(const domain::Service& service, absl::string_view region,
             v1::ServiceSummary* proto) {
  proto->set_service_name(service.name);
  proto->set_service_id(service.id);
  proto->set_service_arn(
      domain::ServiceArn(region, service.account_id, service.name, service.id));
  proto->set_service_url(service.url);
  SetTime(service.created_at, proto->mutable_created_at());
  SetTime(service.updated_at, proto->mutable_updated_at());
  proto->set_status(ToProto(service.status));
}

void ToProto(const domain::Operation& operation, absl::string_view region,
             v1::OperationSummary* proto) {
  proto->set_id(operation.id);
  proto->set_type(ToProto(operation.type));
  proto->set_status(ToProto(operation.status));
  proto->set_target_arn(domain::ServiceArn(region, operation.service_account_id,
                                           operation.service_name,
                                           operation.service_id));
  SetTime(operation.started_at, proto->mutable_started_at());
  SetTime(operation.updated_at, proto->mutable_updated_at());
  if (operation.ended_at) {
    SetTime(*operation.ended_at, proto->mutable_ended_at());
  }
}

void ToProto(const domain::Operation& operation, absl::string_view region,
             v1::Operation* proto) {
  const std::string arn =
      domain::ServiceArn(region, operation.service_account_id,
                         operation.service_name, operation.service_id);
  proto->set_id(operation.id);
  proto->set_type(ToProto(operation.type));
  proto->set_status(ToProto(operation.status));
  proto->set_target_arn(arn);
  proto->set_service_arn(arn);
  SetTime(operation.started_at, proto->mutable_started_at());
  SetTime(operation.updated_at, proto->mutable_updated_at());
  if (operation.ended_at) {
    SetTime(*operation.ended_at, proto->mutable_ended_at());
  }
  if (operation.deadline_at) {
    SetTime(*operation.deadline_at, proto->mutable_deadline());
  }
  if (!operation.error_code.empty()) {
    proto->mutable_error()->set_code(operation.error_code);
    proto->mutable_error()->set_message(operation.error_message);
  }
}

void ToProto(domain::OperationType type, const domain::Transition& transition,
             v1::ValidationResult* proto) {
  proto->set_operation_type(ToProto(type));
  proto->set_status_on_success(ToProto(transition.on_success));
  proto->set_status_on_failure(ToProto(transition.on_failure));
}

void ToProto(const domain::Tag& tag, v1::Tag* proto) {
  proto->set_key(tag.key);
  proto->set_value(tag.value);
}

absl::StatusOr<domain::ProviderType> FromProto(v1::ProviderType proto) {
  switch (proto) {
    case v1::GITHUB:
      return domain::ProviderType::kGithub;
    case v1::BITBUCKET:
      return domain::ProviderType::kBitbucket;
    default:
      return absl::InvalidArgumentError(
          "provider_type: is required, GITHUB or BITBUCKET");
  }
}

void ToProto(const domain::Connection& connection, absl::string_view region,
             v1::Connection* proto) {
  proto->set_connection_name(connection.ref.name);
  proto->set_connection_arn(domain::ConnectionArn(region, connection.ref));
  proto->set_provider_type(
      ByName(connection.provider_type, &v1::ProviderType_Parse));
  proto->set_status(ByName(connection.status, &v1::Connection::Status_Parse));
  SetTime(connection.created_at, proto->mutable_created_at());
}

void ToProto(const domain::Connection& connection, absl::string_view region,
             v1::ConnectionSummary* proto) {
  v1::Connection full;
  ToProto(connection, region, &full);
  proto->set_connection_name(full.connection_name());
  proto->set_connection_arn(full.connection_arn());
  proto->set_provider_type(full.provider_type());
  proto->set_status(full.status());
  *proto->mutable_created_at() = full.created_at();
}

void ToProto(const domain::CustomDomain& domain,
             v1::CustomDomain::Status status, v1::CustomDomain* proto) {
  proto->set_domain_name(domain.domain_name);
  proto->set_enable_www_subdomain(domain.enable_www_subdomain);
  proto->set_status(status);
  proto->set_certificate_id(domain.certificate_id);
  // One CNAME record per name the certificate covers, made from the
  // certificate's id, so that a kept certificate shows the same records.
  // ServiceManager resolves no DNS: the records count as validated.
  std::vector<std::string> names = {domain.domain_name};
  if (domain.enable_www_subdomain) {
    names.push_back(absl::StrCat("www.", domain.domain_name));
  }
  for (const std::string& name : names) {
    v1::CertificateValidationRecord* record =
        proto->add_certificate_validation_records();
    record->set_name(
        absl::StrCat("_sm-", domain.certificate_id, ".", name, "."));
    record->set_type("CNAME");
    record->set_value(absl::StrCat("_sm-", domain.certificate_id,
                                   ".validations.servicemanager.local."));
    record->set_status(v1::CertificateValidationRecord::SUCCESS);
  }
}

}  // namespace servicemanager::api
