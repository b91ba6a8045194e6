// Plain data of the domain: a service, its configuration and its image
// versions. No proto, SQL or I/O here; api/ converts from and to proto.
#ifndef SERVICEMANAGER_SERVER_DOMAIN_SERVICE_H_
#define SERVICEMANAGER_SERVER_DOMAIN_SERVICE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/connection.h"

namespace servicemanager::domain {

enum class ServiceStatus {
  kCreateFailed,
  kRunning,
  kDeleted,
  kDeleteFailed,
  kPaused,
  kOperationInProgress,
};

// App Runner's own spelling ("PAUSED"); also how the store writes it.
absl::string_view ToString(ServiceStatus status);
std::optional<ServiceStatus> ParseServiceStatus(absl::string_view text);

enum class ImageRepositoryType { kEcr, kEcrPublic };
enum class HealthCheckProtocol { kTcp, kHttp };

struct ImageConfiguration {
  std::string port = "8080";
  std::string start_command;
  std::map<std::string, std::string> runtime_environment_variables;
  std::map<std::string, std::string> runtime_environment_secrets;

  bool operator==(const ImageConfiguration&) const = default;
};

struct SourceConfiguration {
  std::string image_identifier;
  ImageRepositoryType image_repository_type = ImageRepositoryType::kEcr;
  ImageConfiguration image_configuration;
  bool auto_deployments_enabled = true;
  // AuthenticationConfiguration.ConnectionArn: a connection of the service's
  // account, checked to exist when the configuration is stored.
  std::optional<ConnectionRef> connection;

  bool operator==(const SourceConfiguration&) const = default;
};

// Canonical numbers as strings: cpu in vCPU units of 1/1024, memory in MB.
struct InstanceConfiguration {
  std::string cpu = "1024";
  std::string memory = "2048";

  bool operator==(const InstanceConfiguration&) const = default;
};

struct HealthCheckConfiguration {
  HealthCheckProtocol protocol = HealthCheckProtocol::kTcp;
  std::string path = "/";
  int interval = 5;
  int timeout = 2;
  int healthy_threshold = 1;
  int unhealthy_threshold = 5;

  bool operator==(const HealthCheckConfiguration&) const = default;
};

// Everything that decides what a service runs, apart from the image version.
struct ServiceConfig {
  SourceConfiguration source;
  InstanceConfiguration instance;
  HealthCheckConfiguration health_check;

  bool operator==(const ServiceConfig&) const = default;
};

// What UpdateService changes. The source and the health check are replaced
// whole when given (as in App Runner); cpu and memory each when given.
struct ConfigUpdate {
  std::optional<SourceConfiguration> source;
  std::optional<std::string> cpu;
  std::optional<std::string> memory;
  std::optional<HealthCheckConfiguration> health_check;

  bool empty() const { return !source && !cpu && !memory && !health_check; }
  ServiceConfig ApplyTo(ServiceConfig config) const;
};

// A recorded version of a service's image.
struct ImageVersion {
  int64_t version = 0;
  std::string image_identifier;
  absl::Time recorded_at;

  bool operator==(const ImageVersion&) const = default;
};

struct Service {
  std::string id;          // 32 lowercase hex characters.
  std::string account_id;  // 12 digits; part of the service's ARN.
  // Unique among the account's services that are not deleted.
  std::string name;
  std::string url;  // Host name; kept for the service's whole life.
  ServiceStatus status = ServiceStatus::kOperationInProgress;
  // Absent once the service is deleted: delete purges them.
  std::optional<ServiceConfig> config;
  std::optional<ImageVersion> deployed_image;
  std::optional<ImageVersion> latest_image;
  // "ADDRESS:PORT" where a runtime that publishes ports (Podman) serves the
  // service, once it allocated one; kept across pause and resume, freed on
  // delete. The API shows it only while the service is RUNNING.
  std::string endpoint;
  absl::Time created_at;
  absl::Time updated_at;
  std::optional<absl::Time> deleted_at;
  // Counts the changes of the service; grows with each one.
  int64_t revision = 1;
};

// The service's etag: opaque, and different after every change of the
// service (status, configuration, image versions). Tags have their own API
// and do not change it.
std::string Etag(const Service& service);

struct Tag {
  std::string key;
  std::string value;

  bool operator==(const Tag&) const = default;
};

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_SERVER_DOMAIN_SERVICE_H_
