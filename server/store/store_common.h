// What the SQLite and PostgreSQL stores share that holds no SQL of one
// database: their common options, page tokens, the rows they read and how
// those become domain objects, the purge list and their error messages.
//
// Row readers are templates over a row type with IsNull(i), Int(i) and
// Text(i) for column i, so each store adapts its own result type.
#ifndef SERVICEMANAGER_SERVER_STORE_STORE_COMMON_H_
#define SERVICEMANAGER_SERVER_STORE_STORE_COMMON_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "domain/connection.h"
#include "domain/lifecycle.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "store/store.h"

namespace servicemanager::store {

// The options every backend takes.
struct StoreOptions {
  // "<label>.<url_suffix>" is a new service's URL, e.g.
  // "us-east-1.servicemanager.local".
  std::string url_suffix;
  // The account of services created before services had one (migration
  // 0004): the server's --account-id.
  std::string legacy_account_id = "000000000000";
  // How long an operation may stay open before the worker fails it, by type;
  // types not listed get default_operation_deadline. Fixed when the operation
  // starts.
  std::map<domain::OperationType, absl::Duration> operation_deadlines;
  absl::Duration default_operation_deadline = absl::Minutes(30);
  // Who this server is among the replicas sharing a database: the owner its
  // claims on operations carry. Unique per process on PostgreSQL.
  std::string replica_id = "local";
};

// The deadline `options` give an operation of `type`.
absl::Duration DeadlineOf(const StoreOptions& options,
                          domain::OperationType type);

inline int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline absl::Time FromMicros(int64_t micros) {
  return absl::FromUnixMicros(micros);
}

// Page tokens are opaque to clients: "<kind>:<numbers>" in web-safe base64.
// A token names the request it belongs to, so one from another listing is
// refused.
std::string EncodeToken(absl::string_view kind, int64_t scope, int64_t after);
absl::StatusOr<int64_t> DecodeToken(absl::string_view token,
                                    absl::string_view kind, int64_t scope);

// ABORTED if the caller's etag is not the service's.
absl::Status CheckEtag(const domain::Service& service,
                       const std::optional<std::string>& expected);

absl::string_view RepositoryTypeName(domain::ImageRepositoryType type);
absl::string_view ProtocolName(domain::HealthCheckProtocol protocol);

// The service deletion purge list: what a successful DELETE_SERVICE removes
// of its service, in the transaction that ends the operation (the compute
// went before, in Runtime::Remove). It keeps:
// - connections: services share them, and a connection outlives them all;
// - certificate records: released here, purged by the janitor after the
//   certificate retention (7 days by default);
// - the service row (DELETED) and its operation history, purged by the
//   janitor after the retention.
// README's "Delete" lists the same. Each statement takes the service's pk as
// ?1 and, if it needs it, the time as ?2 (PostgreSQL spells them $1, $2).
inline constexpr const char* kDeletePurgeList[] = {
    // Certificate records of its domains: released, not removed.
    ("UPDATE certificates SET released_at = ?2 WHERE pk IN"
     " (SELECT certificate_pk FROM custom_domains WHERE service_pk = ?1)"),
    // Custom domain links.
    "DELETE FROM custom_domains WHERE service_pk = ?1",
    // Configuration versions, with their environment and connection
    // references (ON DELETE CASCADE).
    "DELETE FROM service_configs WHERE service_pk = ?1",
    // Stored image versions.
    "DELETE FROM service_images WHERE service_pk = ?1",
    // Its host port (a real runtime's endpoint), free for another service.
    "DELETE FROM service_endpoints WHERE service_pk = ?1",
    // Tags.
    "DELETE FROM tags WHERE service_pk = ?1",
};

// A service row and its internal key.
struct ServiceRow {
  int64_t pk = 0;
  domain::Service service;
  std::optional<int64_t> config_version;
  std::optional<int64_t> deployed_image_version;
};

// The columns ReadServiceRow reads, from a table aliased `t`.
#define SM_SERVICE_COLUMNS(t)                                             \
  t ".pk, " t ".service_id, " t ".name, " t ".url, " t ".status, " t      \
    ".config_version, " t ".deployed_image_version, " t ".created_at, " t \
    ".updated_at, " t ".deleted_at, " t ".revision, " t ".account_id"
inline constexpr int kServiceColumns = 12;
// Column indexes of a service's name and account, to check a ServiceRef.
inline constexpr int kServiceNameColumn = 2;
inline constexpr int kServiceAccountColumn = 11;

// The columns of a service_configs row aliased `t`.
#define SM_CONFIG_COLUMNS(t)                                         \
  t ".image_identifier, " t ".image_repository_type, " t ".port, " t \
    ".start_command, " t ".auto_deployments_enabled, " t ".cpu, " t  \
    ".memory, " t ".health_protocol, " t ".health_path, " t          \
    ".health_interval, " t ".health_timeout, " t                     \
    ".health_healthy_threshold, " t ".health_unhealthy_threshold"
inline constexpr int kConfigColumns = 13;

// The connection a configuration version uses, joined to the configuration
// `t` (a service_configs alias): its account, name and id, or NULLs.
#define SM_CONNECTION_COLUMNS "cn.account_id, cn.name, cn.connection_id"
inline constexpr int kConnectionColumns = 3;
#define SM_JOIN_CONNECTION(t)                                      \
  " LEFT JOIN service_config_connections cc ON cc.service_pk = " t \
  ".service_pk AND cc.version = " t                                \
  ".version LEFT JOIN connections cn ON cn.pk = cc.connection_pk"

// A whole service (its configuration, both image versions, its connection
// and endpoint) as one row of the view service_snapshot_source, which
// SQLite also keeps as the table service_snapshots (migrations/0007,
// migrations/postgres/0004). The environment is loaded apart, only if the
// configuration has one.
#define SM_SNAPSHOT_COLUMNS                                                  \
  "pk, service_id, name, url, status, config_version,"                       \
  " deployed_image_version, created_at, updated_at, deleted_at, revision,"   \
  " account_id, image_identifier, image_repository_type, port,"              \
  " start_command, auto_deployments_enabled, cpu, memory, health_protocol,"  \
  " health_path, health_interval, health_timeout, health_healthy_threshold," \
  " health_unhealthy_threshold, deployed_version, deployed_identifier,"      \
  " deployed_recorded_at, latest_version, latest_identifier,"                \
  " latest_recorded_at, connection_account_id, connection_name,"             \
  " connection_id, has_env, endpoint"

// The columns ReadOperation reads, first in a SELECT from operations o JOIN
// services s.
#define SM_OPERATION_COLUMNS                                                 \
  "o.operation_id, o.type, o.status, s.service_id, s.name, o.started_at,"    \
  " o.updated_at, o.ended_at, o.deadline_at, o.error_code, o.error_message," \
  " s.account_id"
inline constexpr int kOperationColumns = 12;

// An operation's summary, what ListOperations answers, from operations o:
// the index operations_by_service holds these columns (migrations/0007, and
// 0010, which built it again after 0009), so a page is read from it alone.
// The last column is the keyset's seq.
#define SM_OPERATION_SUMMARY_COLUMNS                                           \
  "o.operation_id, o.type, o.status, o.started_at, o.updated_at, o.ended_at, " \
  "o.seq"
inline constexpr int kOperationSummarySeqColumn = 6;

// The columns FindOperationRow reads, from operations.
#define SM_OPERATION_ROW_COLUMNS                                          \
  "service_pk, type, status, success_status, failure_status,"             \
  " failure_op_status, prior_status, target_config_version,"              \
  " prior_config_version, target_image_version, started_at, deadline_at," \
  " owner, attempt"

// The columns ReadConnectionRow reads, from connections.
#define SM_CONNECTION_ROW \
  "pk, account_id, name, connection_id, provider_type, status, created_at"

template <typename Row>
std::optional<int64_t> NullableInt(const Row& r, int i) {
  if (r.IsNull(i)) return std::nullopt;
  return r.Int(i);
}

template <typename Row>
ServiceRow ReadServiceRow(const Row& r) {
  ServiceRow row;
  row.pk = r.Int(0);
  row.service.id = r.Text(1);
  row.service.name = r.Text(2);
  row.service.url = r.Text(3);
  row.service.status = domain::ParseServiceStatus(r.Text(4)).value_or(
      domain::ServiceStatus::kOperationInProgress);
  row.config_version = NullableInt(r, 5);
  row.deployed_image_version = NullableInt(r, 6);
  row.service.created_at = FromMicros(r.Int(7));
  row.service.updated_at = FromMicros(r.Int(8));
  if (std::optional<int64_t> deleted = NullableInt(r, 9)) {
    row.service.deleted_at = FromMicros(*deleted);
  }
  row.service.revision = r.Int(10);
  row.service.account_id = r.Text(11);
  return row;
}

// Whether the row, read by service id, is the service `ref` names.
template <typename Row>
bool IsService(const Row& r, const domain::ServiceRef& ref) {
  return r.Text(kServiceNameColumn) == ref.name &&
         r.Text(kServiceAccountColumn) == ref.account_id;
}

absl::Status ServiceNotFound(const domain::ServiceRef& ref);

// The configuration's connection, from column `first` (SM_CONNECTION_COLUMNS).
template <typename Row>
void ReadConnection(const Row& r, int first, domain::ServiceConfig& config) {
  if (r.IsNull(first)) return;
  config.source.connection = domain::ConnectionRef{
      r.Text(first), r.Text(first + 1), r.Text(first + 2)};
}

// A configuration without its environment, from column `first`
// (SM_CONFIG_COLUMNS).
template <typename Row>
domain::ServiceConfig ReadConfig(const Row& r, int first) {
  domain::ServiceConfig config;
  config.source.image_identifier = r.Text(first);
  config.source.image_repository_type =
      r.Text(first + 1) == "ECR_PUBLIC"
          ? domain::ImageRepositoryType::kEcrPublic
          : domain::ImageRepositoryType::kEcr;
  config.source.image_configuration.port = r.Text(first + 2);
  config.source.image_configuration.start_command = r.Text(first + 3);
  config.source.auto_deployments_enabled = r.Int(first + 4) != 0;
  config.instance.cpu = r.Text(first + 5);
  config.instance.memory = r.Text(first + 6);
  config.health_check.protocol = r.Text(first + 7) == "HTTP"
                                     ? domain::HealthCheckProtocol::kHttp
                                     : domain::HealthCheckProtocol::kTcp;
  config.health_check.path = r.Text(first + 8);
  config.health_check.interval = static_cast<int>(r.Int(first + 9));
  config.health_check.timeout = static_cast<int>(r.Int(first + 10));
  config.health_check.healthy_threshold = static_cast<int>(r.Int(first + 11));
  config.health_check.unhealthy_threshold = static_cast<int>(r.Int(first + 12));
  return config;
}

// Adds one service_config_env row (kind, name, value from column `first`).
template <typename Row>
void ReadEnv(const Row& r, int first, domain::ServiceConfig& config) {
  domain::ImageConfiguration& image = config.source.image_configuration;
  auto& vars = r.Text(first) == "secret" ? image.runtime_environment_secrets
                                         : image.runtime_environment_variables;
  vars[r.Text(first + 1)] = r.Text(first + 2);
}

// The service a SM_SNAPSHOT_COLUMNS row stands on, and whether its
// configuration has an environment to load.
struct Snapshot {
  ServiceRow row;
  bool has_env = false;
};

template <typename Row>
Snapshot ReadSnapshot(const Row& r) {
  constexpr int kConfig = kServiceColumns;
  constexpr int kDeployed = kConfig + kConfigColumns;
  constexpr int kLatest = kDeployed + 3;
  constexpr int kConnection = kLatest + 3;
  constexpr int kHasEnv = kConnection + kConnectionColumns;
  constexpr int kEndpoint = kHasEnv + 1;
  Snapshot snapshot{ReadServiceRow(r), false};
  domain::Service& service = snapshot.row.service;
  auto image = [&r](int first) -> std::optional<domain::ImageVersion> {
    if (r.IsNull(first)) return std::nullopt;
    return domain::ImageVersion{r.Int(first), r.Text(first + 1),
                                FromMicros(r.Int(first + 2))};
  };
  if (!r.IsNull(kConfig)) {
    service.config = ReadConfig(r, kConfig);
    ReadConnection(r, kConnection, *service.config);
  }
  service.deployed_image = image(kDeployed);
  service.latest_image = image(kLatest);
  if (!r.IsNull(kEndpoint)) {
    service.endpoint = r.Text(kEndpoint);
  }
  snapshot.has_env = r.Int(kHasEnv) != 0 && service.config.has_value();
  return snapshot;
}

// What an operation row and an operation summary share: id, type and status
// in columns 0 to 2, and its started, updated and ended times from column
// `times`.
template <typename Row>
domain::Operation ReadOperationFields(const Row& r, int times) {
  domain::Operation op;
  op.id = r.Text(0);
  op.type = domain::ParseOperationType(r.Text(1)).value_or(
      domain::OperationType::kCreateService);
  op.status = domain::ParseOperationStatus(r.Text(2)).value_or(
      domain::OperationStatus::kPending);
  op.started_at = FromMicros(r.Int(times));
  op.updated_at = FromMicros(r.Int(times + 1));
  if (std::optional<int64_t> ended = NullableInt(r, times + 2)) {
    op.ended_at = FromMicros(*ended);
  }
  return op;
}

// An operation from the first kOperationColumns columns.
template <typename Row>
domain::Operation ReadOperation(const Row& r) {
  domain::Operation op = ReadOperationFields(r, 5);
  op.service_id = r.Text(3);
  op.service_name = r.Text(4);
  if (std::optional<int64_t> deadline = NullableInt(r, 8)) {
    op.deadline_at = FromMicros(*deadline);
  }
  if (!r.IsNull(9)) {
    op.error_code = r.Text(9);
    op.error_message = r.Text(10);
  }
  op.service_account_id = r.Text(11);
  return op;
}

// An operation of `service` from SM_OPERATION_SUMMARY_COLUMNS: no deadline
// or error.
template <typename Row>
domain::Operation ReadOperationSummary(const Row& r,
                                       const domain::Service& service) {
  domain::Operation op = ReadOperationFields(r, 3);
  op.service_id = service.id;
  op.service_name = service.name;
  op.service_account_id = service.account_id;
  return op;
}

absl::Status OperationNotFound(absl::string_view operation_id);

// What ending an operation needs to know of it.
struct OperationRow {
  std::string id;
  int64_t service_pk = 0;
  domain::OperationType type = domain::OperationType::kCreateService;
  domain::OperationStatus status = domain::OperationStatus::kPending;
  domain::ServiceStatus success_status = domain::ServiceStatus::kRunning;
  domain::ServiceStatus failure_status = domain::ServiceStatus::kRunning;
  domain::OperationStatus failure_op_status = domain::OperationStatus::kFailed;
  std::optional<domain::ServiceStatus> prior_status;
  std::optional<int64_t> target_config;
  std::optional<int64_t> prior_config;
  std::optional<int64_t> target_image;
  absl::Time started_at;
  std::optional<absl::Time> deadline_at;
  std::optional<std::string> owner;  // Of its latest claim, if any.
  int attempt = 0;
};

// An operation row from SM_OPERATION_ROW_COLUMNS.
template <typename Row>
OperationRow ReadOperationRow(const Row& r, absl::string_view operation_id) {
  using domain::OperationStatus;
  using domain::ServiceStatus;
  OperationRow row;
  row.id = std::string(operation_id);
  row.service_pk = r.Int(0);
  row.type = domain::ParseOperationType(r.Text(1)).value_or(
      domain::OperationType::kCreateService);
  row.status = domain::ParseOperationStatus(r.Text(2)).value_or(
      OperationStatus::kFailed);
  row.success_status =
      domain::ParseServiceStatus(r.Text(3)).value_or(ServiceStatus::kRunning);
  row.failure_status =
      domain::ParseServiceStatus(r.Text(4)).value_or(ServiceStatus::kRunning);
  row.failure_op_status = domain::ParseOperationStatus(r.Text(5)).value_or(
      OperationStatus::kFailed);
  if (!r.IsNull(6)) {
    row.prior_status = domain::ParseServiceStatus(r.Text(6));
  }
  row.target_config = NullableInt(r, 7);
  row.prior_config = NullableInt(r, 8);
  row.target_image = NullableInt(r, 9);
  row.started_at = FromMicros(r.Int(10));
  if (std::optional<int64_t> deadline = NullableInt(r, 11)) {
    row.deadline_at = FromMicros(*deadline);
  }
  if (!r.IsNull(12)) {
    row.owner = r.Text(12);
  }
  row.attempt = static_cast<int>(r.Int(13));
  return row;
}

// The configuration and image version an operation deploys, and the
// configuration to go back to if it fails.
struct OperationTargets {
  std::optional<int64_t> target_config;
  std::optional<int64_t> prior_config;
  std::optional<int64_t> target_image;
};

// How an operation ends.
struct Outcome {
  bool succeeded = false;
  domain::OperationStatus status = domain::OperationStatus::kSucceeded;
  domain::ServiceStatus service_status = domain::ServiceStatus::kRunning;
  absl::string_view error_code;  // Empty on success.
  std::string error_message;
};

// The end of an open operation that the replica `owner` ran as `finish`
// says: ABORTED if that claim was lost or a cancel changed the operation
// since, FAILED_PRECONDITION if it has ended.
absl::StatusOr<Outcome> FinishOutcome(const OperationRow& op,
                                      const Store::Finish& finish,
                                      absl::string_view owner);
// A PENDING operation cancelled before it started.
Outcome CancelledOutcome(const OperationRow& op);
// An operation past its deadline at `now`.
Outcome ExpiredOutcome(const OperationRow& op, absl::Time now);
// What a cancel of an IN_PROGRESS operation records while it rolls back.
inline constexpr char kRollingBackMessage[] =
    "cancelled while in progress; rolling back";

// A connection row and its internal key.
struct ConnectionRow {
  int64_t pk = 0;
  domain::Connection connection;
};

template <typename Row>
ConnectionRow ReadConnectionRow(const Row& r) {
  ConnectionRow row;
  row.pk = r.Int(0);
  row.connection.ref = {r.Text(1), r.Text(2), r.Text(3)};
  row.connection.provider_type = domain::ParseProviderType(r.Text(4)).value_or(
      domain::ProviderType::kGithub);
  row.connection.status = domain::ParseConnectionStatus(r.Text(5)).value_or(
      domain::ConnectionStatus::kError);
  row.connection.created_at = FromMicros(r.Int(6));
  return row;
}

// Whether the row, read by connection id, is the connection `ref` names.
template <typename Row>
bool IsConnection(const Row& r, const domain::ConnectionRef& ref) {
  return r.Text(1) == ref.account_id && r.Text(2) == ref.name;
}

absl::Status ConnectionNotFound(const domain::ConnectionRef& ref);

// Errors both stores answer alike.
absl::Status ServiceNameTaken(absl::string_view name);
absl::Status ConnectionNameTaken(absl::string_view name);
absl::Status NoSuchConnection(const domain::ConnectionRef& ref);
absl::Status TooManyTags();
absl::Status ClientTokenReused();
absl::Status SourceVersionOfDeleted();
// `users`: "name/id (STATUS)" of each service that uses the connection.
absl::Status ConnectionInUse(const domain::ConnectionRef& ref,
                             const std::vector<std::string>& users,
                             bool paused);
// `linked_here`: the domain is linked to this service; `same_account`: to a
// service of the caller's account, `other_name`.
absl::Status DomainLinked(absl::string_view domain_name, bool linked_here,
                          bool same_account, absl::string_view other_name);
absl::Status DomainNotLinked(absl::string_view domain_name,
                             absl::string_view service_name);
absl::Status PortsExhausted(int first_port, int last_port);
absl::Status NoImageVersion(absl::string_view service_id, int64_t version);

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_STORE_COMMON_H_
