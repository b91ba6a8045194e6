// Conversions between the API's protos and the domain's structs. Absent
// fields take App Runner's defaults; only the structure is checked here
// (unknown enum values), the rules live in domain/validation.
#ifndef SERVICEMANAGER_SERVER_API_PROTO_CONVERT_H_
#define SERVICEMANAGER_SERVER_API_PROTO_CONVERT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "domain/arn.h"
#include "domain/connection.h"
#include "domain/lifecycle.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "google/protobuf/repeated_field.h"
#include "servicemanager/v1/service_manager.pb.h"

namespace servicemanager::api {

namespace v1 = ::servicemanager::v1;

absl::StatusOr<domain::SourceConfiguration> FromProto(
    const v1::SourceConfiguration& proto);
domain::InstanceConfiguration FromProto(const v1::InstanceConfiguration& proto);
absl::StatusOr<domain::HealthCheckConfiguration> FromProto(
    const v1::HealthCheckConfiguration& proto);
std::vector<domain::Tag> FromProto(
    const google::protobuf::RepeatedPtrField<v1::Tag>& tags);

void ToProto(const domain::Service& service, absl::string_view region,
             v1::Service* proto);
void ToProto(const domain::Service& service, absl::string_view region,
             v1::ServiceSummary* proto);
void ToProto(const domain::Operation& operation, absl::string_view region,
             v1::OperationSummary* proto);
void ToProto(const domain::Operation& operation, absl::string_view region,
             v1::Operation* proto);
// What a validate_only call would have done.
void ToProto(domain::OperationType type, const domain::Transition& transition,
             v1::ValidationResult* proto);
void ToProto(const domain::Tag& tag, v1::Tag* proto);

// INVALID_ARGUMENT naming provider_type for an unset or unknown value.
absl::StatusOr<domain::ProviderType> FromProto(v1::ProviderType proto);
// Connection ARNs are made of `region` and the connection's own account.
void ToProto(const domain::Connection& connection, absl::string_view region,
             v1::Connection* proto);
void ToProto(const domain::Connection& connection, absl::string_view region,
             v1::ConnectionSummary* proto);
// The domain in `status`, with its certificate's validation records.
void ToProto(const domain::CustomDomain& domain,
             v1::CustomDomain::Status status, v1::CustomDomain* proto);

}  // namespace servicemanager::api

#endif  // SERVICEMANAGER_SERVER_API_PROTO_CONVERT_H_
