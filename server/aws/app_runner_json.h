// App Runner's JSON (the awsJson1_0 bodies of its API model) <-> the
// ServiceManager protos, by reflection: a member is the PascalCase of the
// proto field's name (service_arn <-> ServiceArn), timestamps are epoch
// seconds, enums are their value names. No rule of the API lives here; the
// gRPC handlers validate what is read.
#ifndef SERVICEMANAGER_SERVER_AWS_APP_RUNNER_JSON_H_
#define SERVICEMANAGER_SERVER_AWS_APP_RUNNER_JSON_H_

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace servicemanager::aws {

// "service_arn" -> "ServiceArn"; App Runner's acronyms stay in capitals
// ("dns_target" -> "DNSTarget", "enable_www_subdomain" ->
// "EnableWWWSubdomain").
std::string PascalCase(absl::string_view snake_case);

// Whether `field` is one of ServiceManager's extensions (client_token, etag,
// validate_only, show_deleted, deployed_image, latest_image, validation,
// certificate_id),
// which App Runner's model does not have: they are neither read nor written.
bool IsExtensionField(const google::protobuf::FieldDescriptor& field);

// Reads a request body into `message` (cleared first). An empty body reads
// as {}. Errors carry their AWS exception name (aws_error.h):
// - SerializationException: not a JSON object, or a member of the wrong JSON
//   type (a string where a number belongs, a fraction for an integer).
// - InvalidRequestException: an enum string that is not one of the enum's
//   values, or SourceConfiguration.CodeRepository (ServiceManager deploys
//   images, it builds no source).
// Members the model has and ServiceManager does not implement
// (EncryptionConfiguration, NetworkConfiguration, ...) and members unknown to
// both are ignored, as Smithy servers ignore unknown members so that newer
// clients keep working; null reads as absent.
absl::Status ParseAppRunnerJson(absl::string_view body,
                                google::protobuf::Message& message);

// Writes `message` as an App Runner response body. Scalars at their proto3
// default and unset messages are left out, lists are always written, and so
// are what the model requires (a Service's SourceConfiguration and
// InstanceConfiguration, {} once it is deleted; a Tag's Value). A Service
// also gets the two members App Runner's model requires and
// ServiceManager has no settings for: AutoScalingConfigurationSummary (App
// Runner's DefaultConfiguration) and NetworkConfiguration (public ingress,
// default egress); a custom domain response gets VpcDNSTargets, empty.
std::string ToAppRunnerJson(const google::protobuf::Message& message);

}  // namespace servicemanager::aws

#endif  // SERVICEMANAGER_SERVER_AWS_APP_RUNNER_JSON_H_
