#include "store/postgres_store.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/status_macros.h"
#include "domain/lifecycle.h"
#include "domain/validation.h"
#include "pqxx/pqxx"
#include "store/migrator.h"
#include "store/store_logic.h"

namespace servicemanager::store {

using domain::ImageVersion;
using domain::Operation;
using domain::OperationStatus;
using domain::OperationType;
using domain::Service;
using domain::ServiceConfig;
using domain::ServiceStatus;

namespace {

// The statements that nearly every call runs, prepared once per connection:
// PostgreSQL takes far longer to plan the snapshot's joins than to run them.
constexpr char kSelectService[] = "select_service";
constexpr char kLockService[] = "lock_service";
constexpr char kSnapshotById[] = "snapshot_by_id";
constexpr char kSnapshotByPk[] = "snapshot_by_pk";
struct PreparedStatement {
  const char* name;
  const char* sql;
};
constexpr PreparedStatement kPreparedStatements[] = {
    {kSelectService, "SELECT " SM_SERVICE_COLUMNS(
                         "s") " FROM services s WHERE service_id = $1"},
    // For a write: the service row stays locked until the transaction ends,
    // so the checks made on it hold at commit.
    {kLockService,
     "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s WHERE service_id = $1"
                                       " FOR UPDATE"},
    {kSnapshotById, "SELECT " SM_SNAPSHOT_COLUMNS
                    " FROM service_snapshot_source WHERE service_id = $1"},
    {kSnapshotByPk, "SELECT " SM_SNAPSHOT_COLUMNS
                    " FROM service_snapshot_source WHERE pk = $1"},
};

}  // namespace

class PostgresStore::Connection {
 public:
  explicit Connection(const std::string& url) : connection_(url) {
    for (const PreparedStatement& statement : kPreparedStatements) {
      connection_.prepare(statement.name, statement.sql);
    }
  }
  pqxx::connection& get() { return connection_; }

 private:
  pqxx::connection connection_;
};

PostgresStore::Pool::Pool(int size) : size(size) {}
PostgresStore::Pool::~Pool() = default;

class PostgresStore::Lease {
 public:
  Lease(Pool& pool, std::unique_ptr<Connection> connection)
      : pool_(&pool), connection_(std::move(connection)) {}
  Lease(Lease&& other)
      : pool_(std::exchange(other.pool_, nullptr)),
        connection_(std::move(other.connection_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (pool_ == nullptr) return;
    absl::MutexLock lock(&pool_->mu);
    if (connection_ != nullptr) {
      pool_->idle.push_back(std::move(connection_));
    } else {
      --pool_->open;
    }
  }
  pqxx::connection& operator*() { return connection_->get(); }
  // The connection broke: close it rather than lend it again.
  void Drop() { connection_.reset(); }

 private:
  Pool* pool_;
  std::unique_ptr<Connection> connection_;
};

namespace {

// What a notification says: "REPLICA SERVICE_ID" for a change of a
// service alone, "REPLICA SERVICE_ID OPERATION_ID STATUS" for a change of an
// operation (and its service). Enough for a listener to decide, without
// reading, whether anyone waits on it and whether its worker has work.
struct Notification {
  std::string replica;
  std::string service_id;
  std::optional<std::string> operation_id;
  domain::OperationStatus operation_status = domain::OperationStatus::kPending;
};

std::string NotificationPayload(absl::string_view replica,
                                const Change& change) {
  if (!change.operation) {
    return absl::StrCat(replica, " ", change.service->id);
  }
  return absl::StrCat(replica, " ", change.operation->service_id, " ",
                      change.operation->id, " ",
                      domain::ToString(change.operation->status));
}

std::optional<Notification> ParseNotification(absl::string_view payload) {
  const std::vector<std::string> parts = absl::StrSplit(payload, ' ');
  if (parts.size() != 2 && parts.size() != 4) {
    return std::nullopt;
  }
  Notification notification{parts[0], parts[1], std::nullopt};
  if (parts.size() == 4) {
    notification.operation_id = parts[2];
    std::optional<domain::OperationStatus> status =
        domain::ParseOperationStatus(parts[3]);
    if (!status) {
      return std::nullopt;
    }
    notification.operation_status = *status;
  }
  return notification;
}

}  // namespace

// The notification channel of the schema `schema`: "sm_ops.SCHEMA", cut to
// PostgreSQL's 63 bytes. Channels are per database, not per schema, so
// deployments in two schemas of one database do not hear each other.
std::string ChannelOf(absl::string_view schema) {
  constexpr size_t kMaxIdentifierBytes = 63;
  return std::string(
      absl::StrCat("sm_ops.", schema).substr(0, kMaxIdentifierBytes));
}

// Receives the schema's notifications on a LISTEN connection.
class SmOpsReceiver final : public pqxx::notification_receiver {
 public:
  SmOpsReceiver(pqxx::connection_base& c, const std::string& channel,
                std::function<void(const std::string&)> on_payload)
      : pqxx::notification_receiver(c, channel),
        on_payload_(std::move(on_payload)) {}
  void operator()(const std::string& payload, int) override {
    on_payload_(payload);
  }

 private:
  const std::function<void(const std::string&)> on_payload_;
};

struct PostgresStore::ListenSession {
  std::unique_ptr<pqxx::connection> connection;
  std::unique_ptr<SmOpsReceiver> receiver;
};

struct PostgresStore::Tx {
  pqxx::transaction_base& t;
  // Told to the observer once the transaction commits.
  std::vector<Change> changes;
  // Roll back although the body succeeded (validate_only).
  bool discard = false;
};

namespace {

// A row of a result, for the readers of store_common.h.
class PgRow {
 public:
  explicit PgRow(const pqxx::row& row) : row_(&row) {}
  bool IsNull(int i) const { return Field(i).is_null(); }
  int64_t Int(int i) const { return Field(i).as<int64_t>(); }
  std::string Text(int i) const { return Field(i).c_str(); }

 private:
  pqxx::field Field(int i) const {
    return (*row_)[static_cast<pqxx::row::size_type>(i)];
  }
  const pqxx::row* row_;
};

// The advisory locks, by name (kPostgresLockKey): the one that serializes
// migrations, and the one that serializes host port allocation (ports are
// unique across services).
constexpr char kMigrationLock[] = "migrate";
constexpr char kEndpointLock[] = "ports";
// The singletons: one replica at a time expires operations past their
// deadline, purges old rows, or moves the due times of unclaimed operations
// at start-up. Each takes its lock with pg_try_advisory_xact_lock in its own
// transaction, so a replica that dies mid-way holds nothing.
constexpr char kExpireLock[] = "expire";
constexpr char kPurgeLock[] = "purge";
constexpr char kRecoverLock[] = "recover";

// Waits for this schema's advisory lock `name`, held to the transaction's
// end.
void LockFor(pqxx::transaction_base& t, const char* name) {
  t.exec_params(
      absl::StrCat("SELECT pg_advisory_xact_lock(", kPostgresLockKey, ")"),
      name);
}

// Whether this transaction holds the singleton `name` (held to its end).
bool TrySingleton(pqxx::transaction_base& t, const char* name) {
  return t
      .exec_params(absl::StrCat("SELECT pg_try_advisory_xact_lock(",
                                kPostgresLockKey, ")"),
                   name)
      .at(0)[0]
      .as<bool>();
}

// SQLSTATEs after which the transaction runs again: a unique index taken by
// a concurrent transaction, a serialization failure, a deadlock.
bool IsRetryable(const std::string& sqlstate) {
  return sqlstate == "23505" || sqlstate == "40001" || sqlstate == "40P01";
}

// A statement of the shared purge list, with PostgreSQL's placeholders.
std::string PostgresPlaceholders(absl::string_view sql) {
  return absl::StrReplaceAll(sql, {{"?1", "$1"}, {"?2", "$2"}});
}

absl::Status FromPqxx(absl::string_view what, const std::exception& e,
                      absl::string_view sqlstate) {
  common::Log(common::LogLevel::kError,
              absl::StrCat("store: ", what, " failed: ", e.what(),
                           sqlstate.empty() ? "" : " (SQLSTATE ", sqlstate,
                           sqlstate.empty() ? "" : ")"));
  // Class 53: insufficient resources (disk full, out of memory, too many
  // connections); 57: the server shuts down; 08: connection exceptions.
  if (absl::StartsWith(sqlstate, "53300") || absl::StartsWith(sqlstate, "57") ||
      absl::StartsWith(sqlstate, "08")) {
    return absl::UnavailableError(
        absl::StrCat(what, ": the database is unavailable"));
  }
  if (absl::StartsWith(sqlstate, "53")) {
    return absl::ResourceExhaustedError(
        absl::StrCat(what, ": the database is out of resources"));
  }
  if (absl::StartsWith(sqlstate, "XX001") ||
      absl::StartsWith(sqlstate, "XX002")) {
    return absl::DataLossError(absl::StrCat(what, ": the data is corrupt"));
  }
  return absl::InternalError(absl::StrCat(what, ": internal error"));
}

absl::StatusOr<ServiceRow> FindService(pqxx::transaction_base& t,
                                       const domain::ServiceRef& ref,
                                       bool lock) {
  pqxx::result r =
      t.exec_prepared(lock ? kLockService : kSelectService, ref.id);
  if (r.empty() || !IsService(PgRow(r[0]), ref)) {
    return ServiceNotFound(ref);
  }
  return ReadServiceRow(PgRow(r[0]));
}

void LoadEnv(pqxx::transaction_base& t, int64_t pk, int64_t version,
             ServiceConfig& config) {
  for (const pqxx::row& row :
       t.exec_params("SELECT kind, name, value FROM service_config_env"
                     " WHERE service_pk = $1 AND version = $2",
                     pk, version)) {
    ReadEnv(PgRow(row), 0, config);
  }
}

std::optional<ServiceConfig> LoadConfig(pqxx::transaction_base& t, int64_t pk,
                                        int64_t version) {
  pqxx::result r = t.exec_params(
      "SELECT " SM_CONFIG_COLUMNS("c") ", " SM_CONNECTION_COLUMNS
                                       " FROM service_configs c" SM_JOIN_CONNECTION(
                                           "c") " WHERE c.service_pk = $1 AND"
                                                " c.version = $2",
      pk, version);
  if (r.empty()) return std::nullopt;
  ServiceConfig config = ReadConfig(PgRow(r[0]), 0);
  ReadConnection(PgRow(r[0]), kConfigColumns, config);
  LoadEnv(t, pk, version, config);
  return config;
}

// Stores a configuration version. INVALID_ARGUMENT, before writing, if it
// names a connection that does not exist.
absl::Status InsertConfig(pqxx::transaction_base& t, int64_t pk,
                          int64_t version, const ServiceConfig& config) {
  std::optional<int64_t> connection_pk;
  if (const auto& ref = config.source.connection) {
    pqxx::result found = t.exec_params(
        "SELECT pk FROM connections"
        " WHERE connection_id = $1 AND account_id = $2 AND name = $3"
        " FOR KEY SHARE",
        ref->id, ref->account_id, ref->name);
    if (found.empty()) {
      return NoSuchConnection(*ref);
    }
    connection_pk = found[0][0].as<int64_t>();
  }
  const domain::ImageConfiguration& image = config.source.image_configuration;
  t.exec_params(
      "INSERT INTO service_configs (service_pk, version, image_identifier,"
      " image_repository_type, port, start_command,"
      " auto_deployments_enabled, cpu, memory, health_protocol,"
      " health_path, health_interval, health_timeout,"
      " health_healthy_threshold, health_unhealthy_threshold)"
      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,"
      " $15)",
      pk, version, config.source.image_identifier,
      std::string(RepositoryTypeName(config.source.image_repository_type)),
      image.port, image.start_command,
      config.source.auto_deployments_enabled ? 1 : 0, config.instance.cpu,
      config.instance.memory,
      std::string(ProtocolName(config.health_check.protocol)),
      config.health_check.path, config.health_check.interval,
      config.health_check.timeout, config.health_check.healthy_threshold,
      config.health_check.unhealthy_threshold);
  for (const auto& [kind, vars] :
       {std::pair{"variable", &image.runtime_environment_variables},
        std::pair{"secret", &image.runtime_environment_secrets}}) {
    for (const auto& [name, value] : *vars) {
      t.exec_params(
          "INSERT INTO service_config_env (service_pk, version, kind, name,"
          " value) VALUES ($1, $2, $3, $4, $5)",
          pk, version, std::string(kind), name, value);
    }
  }
  if (connection_pk) {
    t.exec_params(
        "INSERT INTO service_config_connections"
        " (service_pk, version, connection_pk) VALUES ($1, $2, $3)",
        pk, version, *connection_pk);
  }
  return absl::OkStatus();
}

std::optional<ImageVersion> LoadImage(pqxx::transaction_base& t, int64_t pk,
                                      std::optional<int64_t> version) {
  // Without a version: the newest one.
  pqxx::result r = t.exec_params(
      "SELECT version, image_identifier, recorded_at FROM service_images"
      " WHERE service_pk = $1 AND ($2::BIGINT IS NULL OR version = $2)"
      " ORDER BY version DESC LIMIT 1",
      pk, version);
  if (r.empty()) return std::nullopt;
  PgRow row(r[0]);
  return ImageVersion{row.Int(0), row.Text(1), FromMicros(row.Int(2))};
}

int64_t InsertImage(pqxx::transaction_base& t, int64_t pk,
                    absl::string_view identifier, absl::Time now) {
  std::optional<ImageVersion> latest = LoadImage(t, pk, std::nullopt);
  const int64_t version = latest ? latest->version + 1 : 1;
  t.exec_params(
      "INSERT INTO service_images"
      " (service_pk, version, image_identifier, recorded_at)"
      " VALUES ($1, $2, $3, $4)",
      pk, version, std::string(identifier), Micros(now));
  return version;
}

Service ReadServiceSnapshot(pqxx::transaction_base& t, const pqxx::row& row) {
  Snapshot snapshot = ReadSnapshot(PgRow(row));
  if (snapshot.has_env) {
    LoadEnv(t, snapshot.row.pk, *snapshot.row.config_version,
            *snapshot.row.service.config);
  }
  return std::move(snapshot.row.service);
}

absl::StatusOr<Service> ReadServiceSnapshot(pqxx::transaction_base& t,
                                            const domain::ServiceRef& ref) {
  pqxx::result r = t.exec_prepared(kSnapshotById, ref.id);
  if (r.empty() || !IsService(PgRow(r[0]), ref)) {
    return ServiceNotFound(ref);
  }
  return ReadServiceSnapshot(t, r[0]);
}

// The service with internal key `pk`, complete, as the transaction sees it.
Service LoadService(pqxx::transaction_base& t, int64_t pk) {
  pqxx::result r = t.exec_prepared(kSnapshotByPk, pk);
  return ReadServiceSnapshot(t, r.at(0));
}

void SetServiceStatus(pqxx::transaction_base& t, int64_t pk,
                      ServiceStatus status, absl::Time now) {
  t.exec_params(
      "UPDATE services SET status = $1, updated_at = $2 WHERE pk = $3",
      std::string(domain::ToString(status)), Micros(now), pk);
}

// NOT_FOUND, as for an operation that does not exist, if its service's
// account is not in `scope`.
absl::StatusOr<Operation> LoadOperation(pqxx::transaction_base& t,
                                        const domain::AccountScope& scope,
                                        absl::string_view operation_id) {
  pqxx::result r =
      t.exec_params("SELECT " SM_OPERATION_COLUMNS
                    " FROM operations o JOIN services s ON s.pk = o.service_pk"
                    " WHERE o.operation_id = $1",
                    std::string(operation_id));
  if (r.empty() || !scope.Covers(PgRow(r[0]).Text(kOperationColumns - 1))) {
    return OperationNotFound(operation_id);
  }
  return ReadOperation(PgRow(r[0]));
}

absl::StatusOr<OperationRow> FindOperationRow(pqxx::transaction_base& t,
                                              absl::string_view operation_id) {
  pqxx::result r = t.exec_params("SELECT " SM_OPERATION_ROW_COLUMNS
                                 " FROM operations WHERE operation_id = $1"
                                 " FOR UPDATE",
                                 std::string(operation_id));
  if (r.empty()) {
    return OperationNotFound(operation_id);
  }
  return ReadOperationRow(PgRow(r[0]), operation_id);
}

void PurgeDeletedService(pqxx::transaction_base& t, int64_t pk,
                         absl::Time now) {
  for (const char* sql : kDeletePurgeList) {
    const std::string statement = PostgresPlaceholders(sql);
    if (absl::StrContains(statement, "$2")) {
      t.exec_params(statement, pk, Micros(now));
    } else {
      t.exec_params(statement, pk);
    }
  }
}

// Ends the operation as `outcome` says, with every consequence for its
// service, in the caller's transaction, and logs the ending in
// operation_endings as ended by `replica`.
void EndOperation(pqxx::transaction_base& t, const OperationRow& op,
                  const Outcome& outcome, absl::Time now,
                  const std::string& replica) {
  const int64_t pk = op.service_pk;
  std::optional<std::string> code;
  std::optional<std::string> message;
  if (!outcome.succeeded) {
    code = std::string(outcome.error_code);
    message = outcome.error_message;
  }
  const std::string status(domain::ToString(outcome.status));
  t.exec_params(
      "UPDATE operations SET status = $1, due_at = NULL, deadline_at = NULL,"
      " lease_until = NULL, ended_at = $2, updated_at = $2, error_code = $3,"
      " error_message = $4 WHERE operation_id = $5",
      status, Micros(now), code, message, op.id);
  t.exec_params(
      "INSERT INTO operation_endings (operation_id, status, replica, attempt,"
      " ended_at) VALUES ($1, $2, $3, $4, $5)",
      op.id, status, replica, op.attempt, Micros(now));
  if (outcome.succeeded && op.type == OperationType::kDeleteService) {
    t.exec_params(
        "UPDATE services SET status = 'DELETED', updated_at = $1,"
        " deleted_at = $1, config_version = NULL,"
        " deployed_image_version = NULL WHERE pk = $2",
        Micros(now), pk);
    PurgeDeletedService(t, pk, now);
    return;
  }
  SetServiceStatus(t, pk, outcome.service_status, now);
  if (outcome.succeeded && op.target_image) {
    // What ran before is no longer needed: keep the deployed version and
    // the newer ones, and only the configuration that now runs.
    t.exec_params(
        "UPDATE services SET deployed_image_version = $1 WHERE pk = $2",
        *op.target_image, pk);
    t.exec_params(
        "DELETE FROM service_images WHERE service_pk = $1 AND version < $2", pk,
        *op.target_image);
    if (op.target_config) {
      t.exec_params(
          "DELETE FROM service_configs WHERE service_pk = $1 AND version < $2",
          pk, *op.target_config);
    }
  } else if (!outcome.succeeded && op.prior_config && op.target_config) {
    // A failed update goes back to the configuration it replaced, and
    // forgets the image version it added (if it changed the image).
    if (op.target_image) {
      t.exec_params(
          "DELETE FROM service_images WHERE service_pk = $1"
          " AND version = $2 AND image_identifier <> ("
          "  SELECT image_identifier FROM service_configs"
          "  WHERE service_pk = $1 AND version = $3)",
          pk, *op.target_image, *op.prior_config);
    }
    t.exec_params("UPDATE services SET config_version = $1 WHERE pk = $2",
                  *op.prior_config, pk);
    t.exec_params(
        "DELETE FROM service_configs WHERE service_pk = $1 AND version = $2",
        pk, *op.target_config);
  }
}

absl::StatusOr<ConnectionRow> FindConnection(pqxx::transaction_base& t,
                                             const domain::ConnectionRef& ref,
                                             bool lock) {
  pqxx::result r = t.exec_params(
      lock ? "SELECT " SM_CONNECTION_ROW
             " FROM connections WHERE connection_id = $1 FOR UPDATE"
           : "SELECT " SM_CONNECTION_ROW
             " FROM connections WHERE connection_id = $1",
      ref.id);
  if (r.empty() || !IsConnection(PgRow(r[0]), ref)) {
    return ConnectionNotFound(ref);
  }
  return ReadConnectionRow(PgRow(r[0]));
}

// Adds tags to the resource `pk`, overwriting existing keys, with the
// `upsert` statement of its tag table; INVALID_ARGUMENT if the resource then
// has more than domain::kMaxTagsPerResource (`count` counts them).
absl::Status UpsertTags(pqxx::transaction_base& t, const char* upsert,
                        const char* count, int64_t pk,
                        const std::vector<domain::Tag>& tags) {
  for (const domain::Tag& tag : tags) {
    t.exec_params(upsert, pk, tag.key, tag.value);
  }
  if (t.exec_params(count, pk).at(0)[0].as<int64_t>() >
      domain::kMaxTagsPerResource) {
    return TooManyTags();
  }
  return absl::OkStatus();
}

std::vector<domain::Tag> ReadTags(const pqxx::result& r) {
  std::vector<domain::Tag> tags;
  for (const pqxx::row& row : r) {
    tags.push_back({row[0].c_str(), row[1].c_str()});
  }
  return tags;
}

// The stored response of an earlier call with `token`, if there was one with
// the same request; INVALID_ARGUMENT if there was one with another. The
// request and response are bytes, passed as hex.
absl::StatusOr<std::optional<std::string>> FindClientToken(
    pqxx::transaction_base& t, const ClientToken& token) {
  pqxx::result r = t.exec_params(
      "SELECT encode(request, 'hex'), encode(response, 'hex')"
      " FROM client_tokens WHERE token = $1",
      token.token);
  if (r.empty()) return std::nullopt;
  if (absl::HexStringToBytes(r[0][0].c_str()) != token.request) {
    return ClientTokenReused();
  }
  return absl::HexStringToBytes(r[0][1].c_str());
}

void SaveClientToken(pqxx::transaction_base& t, const ClientToken& token,
                     const std::string& response, absl::Time now) {
  t.exec_params(
      "INSERT INTO client_tokens (token, request, response, created_at)"
      " VALUES ($1, decode($2, 'hex'), decode($3, 'hex'), $4)",
      token.token, absl::BytesToHexString(token.request),
      absl::BytesToHexString(response), Micros(now));
}

// Brings the database to the newest of `migrations`, as Migrate does for
// SQLite, in one transaction under an advisory lock: servers that start
// together wait for each other, and only the first one migrates.
absl::Status MigratePostgres(pqxx::connection& c,
                             const std::vector<Migration>& migrations,
                             absl::Time now) {
  pqxx::work t(c);
  LockFor(t, kMigrationLock);
  t.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
      " checksum TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  std::map<int, std::string> applied;
  for (const pqxx::row& row :
       t.exec("SELECT version, checksum FROM schema_migrations")) {
    applied[row[0].as<int>()] = row[1].c_str();
  }
  RETURN_IF_ERROR(CheckAppliedMigrations(applied, migrations));
  for (const Migration& m : migrations) {
    if (applied.contains(m.version)) continue;
    LogApplyingMigration(m);
    t.exec(m.sql);
    t.exec_params(
        "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
        " VALUES ($1, $2, $3, $4)",
        m.version, m.name, MigrationChecksum(m.sql), Micros(now));
  }
  t.commit();
  return absl::OkStatus();
}

// The primitives of store_logic.h in a PostgreSQL transaction.
class PgTx {
 public:
  explicit PgTx(pqxx::transaction_base& t) : t_(t) {}
  std::optional<ServiceConfig> LoadConfig(int64_t pk, int64_t version) {
    return store::LoadConfig(t_, pk, version);
  }
  absl::Status InsertConfig(int64_t pk, int64_t version,
                            const ServiceConfig& config) {
    return store::InsertConfig(t_, pk, version, config);
  }
  std::optional<ImageVersion> LoadImage(int64_t pk,
                                        std::optional<int64_t> version) {
    return store::LoadImage(t_, pk, version);
  }
  int64_t InsertImage(int64_t pk, absl::string_view identifier,
                      absl::Time now) {
    return store::InsertImage(t_, pk, identifier, now);
  }
  void SetConfigVersion(int64_t pk, int64_t version) {
    t_.exec_params("UPDATE services SET config_version = $1 WHERE pk = $2",
                   version, pk);
  }
  void TouchService(int64_t pk, absl::Time now) {
    t_.exec_params("UPDATE services SET updated_at = $1 WHERE pk = $2",
                   Micros(now), pk);
  }
  void SetServiceStatus(int64_t pk, ServiceStatus status, absl::Time now) {
    store::SetServiceStatus(t_, pk, status, now);
  }
  void InsertOperation(int64_t pk, const Operation& op,
                       std::optional<ServiceStatus> prior,
                       const domain::Transition& transition,
                       const OperationTargets& targets) {
    std::optional<std::string> prior_text;
    if (prior) prior_text = std::string(domain::ToString(*prior));
    t_.exec_params(
        "INSERT INTO operations (operation_id, service_pk, type, status,"
        " success_status, failure_status, failure_op_status,"
        " target_config_version, prior_config_version, target_image_version,"
        " due_at, started_at, updated_at, prior_status, deadline_at)"
        " VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $9, $10, $10,"
        " $10, $11, $12)",
        op.id, pk, std::string(domain::ToString(op.type)),
        std::string(domain::ToString(transition.on_success)),
        std::string(domain::ToString(transition.on_failure)),
        std::string(domain::ToString(transition.failure_status)),
        targets.target_config, targets.prior_config, targets.target_image,
        Micros(op.started_at), prior_text, Micros(*op.deadline_at));
  }
  absl::StatusOr<std::optional<std::string>> FindClientToken(
      const ClientToken& token) {
    return store::FindClientToken(t_, token);
  }
  void SaveClientToken(const ClientToken& token, const std::string& response,
                       absl::Time now) {
    store::SaveClientToken(t_, token, response, now);
  }
  Service LoadService(int64_t pk) { return store::LoadService(t_, pk); }

 private:
  pqxx::transaction_base& t_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresOptions& options, common::Clock& clock,
    common::IdGenerator& ids, ChangeObserver* observer) {
  if (options.pool_size < 1) {
    return absl::InvalidArgumentError("pool_size: must be at least 1");
  }
  std::unique_ptr<PostgresStore> store(
      new PostgresStore(options, clock, ids, observer));
  ASSIGN_OR_RETURN(Lease lease, store->Acquire(store->calls_));
  try {
    RETURN_IF_ERROR(
        MigratePostgres(*lease, EmbeddedPostgresMigrations(), clock.Now()));
    pqxx::nontransaction t(*lease);
    store->channel_ =
        ChannelOf(t.exec("SELECT current_schema()").at(0)[0].as<std::string>());
  } catch (const pqxx::sql_error& e) {
    if (!(*lease).is_open()) lease.Drop();
    return FromPqxx("migrate", e, e.sqlstate());
  } catch (const std::exception& e) {
    if (!(*lease).is_open()) lease.Drop();
    return FromPqxx("migrate", e, (*lease).is_open() ? "" : "08000");
  }
  if (observer != nullptr) {
    // Listening before Open returns: no change committed after it is missed.
    std::unique_ptr<ListenSession> session = store->StartListening();
    if (session == nullptr) {
      return absl::UnavailableError(
          "cannot LISTEN for other replicas' changes");
    }
    store->listener_ =
        std::thread([raw = store.get(), s = std::move(session)]() mutable {
          raw->Listen(std::move(s));
        });
  }
  return store;
}

std::unique_ptr<PostgresStore::ListenSession> PostgresStore::StartListening() {
  try {
    auto session = std::make_unique<ListenSession>();
    session->connection = std::make_unique<pqxx::connection>(options_.url);
    session->receiver = std::make_unique<SmOpsReceiver>(
        *session->connection, channel_,
        [this](const std::string& payload) { PublishRemote(payload); });
    return session;
  } catch (const std::exception& e) {
    common::Log(common::LogLevel::kWarning,
                absl::StrCat("store: cannot LISTEN for other replicas' "
                             "changes: ",
                             e.what()));
    return nullptr;
  }
}

void PostgresStore::Listen(std::unique_ptr<ListenSession> session) {
  absl::Duration backoff = absl::Milliseconds(100);
  while (!ListenerStopping()) {
    if (session == nullptr) {
      {
        absl::MutexLock lock(&listener_mu_);
        listener_mu_.AwaitWithTimeout(absl::Condition(&listener_stopping_),
                                      backoff);
        if (listener_stopping_) return;
      }
      backoff = std::min(backoff * 2, absl::Seconds(5));
      session = StartListening();
      if (session != nullptr) {
        common::Log(common::LogLevel::kInfo,
                    "store: listening for other replicas' changes again");
      }
      continue;
    }
    try {
      // Wakes at least every 200 ms to see whether the store is closing.
      session->connection->await_notification(0, 200000);
      backoff = absl::Milliseconds(100);
    } catch (const std::exception& e) {
      common::Log(common::LogLevel::kWarning,
                  absl::StrCat("store: the LISTEN connection broke (", e.what(),
                               "); reconnecting"));
      session.reset();
    }
  }
}

void PostgresStore::PublishRemote(absl::string_view payload) {
  const std::optional<Notification> notification = ParseNotification(payload);
  if (!notification || notification->replica == options_.replica_id) {
    return;  // This replica's own change, told at its commit.
  }
  if (notification->operation_id.has_value() &&
      !domain::IsFinal(notification->operation_status)) {
    observer_->OnRemoteWork();
  }
  if (!observer_->Watches(notification->service_id,
                          notification->operation_id.value_or(""))) {
    return;  // No one here waits on it: nothing to read back.
  }
  Change change;
  change.remote = true;
  const absl::Status read = BackgroundRead(
      "read another replica's change", [&](Tx& tx) -> absl::Status {
        change.service.reset();
        change.operation.reset();
        const pqxx::result r =
            tx.t.exec_params("SELECT pk FROM services WHERE service_id = $1",
                             notification->service_id);
        if (r.empty()) return absl::OkStatus();  // Purged since.
        if (notification->operation_id.has_value()) {
          absl::StatusOr<Operation> operation = LoadOperation(
              tx.t, domain::AccountScope{}, *notification->operation_id);
          if (!operation.ok()) return absl::OkStatus();  // Purged since.
          change.operation = *std::move(operation);
        }
        change.service = LoadService(tx.t, r[0][0].as<int64_t>());
        return absl::OkStatus();
      });
  if (!read.ok() || !change.service) return;
  absl::MutexLock stripe(
      &commit_stripes_[absl::Hash<std::string>()(change.service->id) %
                       commit_stripes_.size()]);
  observer_->OnCommit(change);
}

PostgresStore::PostgresStore(const PostgresOptions& options,
                             common::Clock& clock, common::IdGenerator& ids,
                             ChangeObserver* observer)
    : options_(options), clock_(clock), ids_(ids), observer_(observer) {}

PostgresStore::~PostgresStore() {
  {
    absl::MutexLock lock(&listener_mu_);
    listener_stopping_ = true;
  }
  if (listener_.joinable()) {
    listener_.join();
  }
}

absl::StatusOr<PostgresStore::Lease> PostgresStore::Acquire(Pool& pool) {
  {
    absl::MutexLock lock(&pool.mu);
    auto available = [&pool]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(pool.mu) {
      return !pool.idle.empty() || pool.open < pool.size;
    };
    pool.mu.Await(absl::Condition(&available));
    if (!pool.idle.empty()) {
      std::unique_ptr<Connection> connection = std::move(pool.idle.back());
      pool.idle.pop_back();
      return Lease(pool, std::move(connection));
    }
    ++pool.open;
  }
  // Connect outside the lock; a failed connection gives its place back.
  try {
    return Lease(pool, std::make_unique<Connection>(options_.url));
  } catch (const std::exception& e) {
    {
      absl::MutexLock lock(&pool.mu);
      --pool.open;
    }
    common::Log(
        common::LogLevel::kError,
        absl::StrCat("store: cannot connect to PostgreSQL: ", e.what()));
    return absl::UnavailableError("cannot connect to the database");
  }
}

void PostgresStore::DropIdleConnections() {
  for (Pool* pool : {&calls_, &background_}) {
    absl::MutexLock lock(&pool->mu);
    pool->open -= static_cast<int>(pool->idle.size());
    pool->idle.clear();
  }
}

absl::Status PostgresStore::Write(absl::string_view what, const Body& body) {
  return Run(what, /*write=*/true, body, Lane::kCalls);
}

absl::Status PostgresStore::Read(absl::string_view what, const Body& body) {
  return Run(what, /*write=*/false, body, Lane::kCalls);
}

absl::Status PostgresStore::BackgroundWrite(absl::string_view what,
                                            const Body& body) {
  return Run(what, /*write=*/true, body, Lane::kBackground);
}

absl::Status PostgresStore::BackgroundRead(absl::string_view what,
                                           const Body& body) {
  return Run(what, /*write=*/false, body, Lane::kBackground);
}

absl::Status PostgresStore::Run(absl::string_view what, bool write,
                                const Body& body, Lane lane) {
  constexpr int kAttempts = 5;
  for (int attempt = 1;; ++attempt) {
    ASSIGN_OR_RETURN(Lease lease,
                     Acquire(lane == Lane::kBackground ? background_ : calls_));
    pqxx::connection& c = *lease;
    std::unique_ptr<pqxx::dbtransaction> t;
    try {
      if (write) {
        t = std::make_unique<pqxx::work>(c);
      } else {
        t = std::make_unique<
            pqxx::transaction<pqxx::isolation_level::repeatable_read,
                              pqxx::readwrite_policy::read_only>>(c);
      }
    } catch (const std::exception& e) {
      // BEGIN failed, so nothing was done: the connection broke while it
      // was idle (the server restarted, or ended it). So did the other idle
      // ones, likely: try again on a new connection.
      lease.Drop();
      DropIdleConnections();
      if (attempt == kAttempts) return FromPqxx(what, e, "08000");
      continue;
    }
    std::string sqlstate;
    try {
      Tx tx{*t, {}, false};
      absl::Status status = body(tx);
      if (!status.ok() || tx.discard) {
        t->abort();
        return status;
      }
      // Other replicas' listeners hear of it once it commits.
      for (const Change& change : tx.changes) {
        t->exec_params("SELECT pg_notify($1, $2)", channel_,
                       NotificationPayload(options_.replica_id, change));
      }
      if (observer_ == nullptr || tx.changes.empty()) {
        t->commit();
        return absl::OkStatus();
      }
      std::set<size_t> stripes;
      for (const Change& change : tx.changes) {
        const std::string& id =
            change.service ? change.service->id : change.operation->service_id;
        stripes.insert(absl::Hash<std::string>()(id) % commit_stripes_.size());
      }
      for (size_t stripe : stripes) commit_stripes_[stripe].Lock();
      struct Unlock {
        PostgresStore* store;
        const std::set<size_t>& stripes;
        ~Unlock() {
          for (auto it = stripes.rbegin(); it != stripes.rend(); ++it) {
            store->commit_stripes_[*it].Unlock();
          }
        }
      } unlock{this, stripes};
      t->commit();
      for (const Change& change : tx.changes) {
        observer_->OnCommit(change);
      }
      return absl::OkStatus();
    } catch (const pqxx::sql_error& e) {
      sqlstate = e.sqlstate();
      t.reset();
      if (!c.is_open()) {
        lease.Drop();
        DropIdleConnections();
        return FromPqxx(what, e, "08000");
      }
      if (!IsRetryable(sqlstate)) return FromPqxx(what, e, sqlstate);
      if (attempt == kAttempts) {
        return absl::AbortedError(absl::StrCat(
            what, ": lost to concurrent changes ", kAttempts, " times; retry"));
      }
    } catch (const std::exception& e) {
      // A broken connection (or a commit whose outcome is unknown): the
      // connection is not lent again.
      t.reset();
      if (!c.is_open() || dynamic_cast<const pqxx::broken_connection*>(&e) ||
          dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
        lease.Drop();
        DropIdleConnections();
        return FromPqxx(what, e, "08000");
      }
      return FromPqxx(what, e, "");
    }
  }
}

template <typename Make>
absl::StatusOr<Accepted> PostgresStore::Accept(absl::string_view what,
                                               const CallOptions& options,
                                               Make&& make) {
  Accepted accepted;
  RETURN_IF_ERROR(Write(what, [&](Tx& tx) -> absl::Status {
    const absl::Time now = clock_.Now();
    PgTx pg(tx.t);
    ASSIGN_OR_RETURN(accepted,
                     AcceptIn(
                         pg, options, now, [&] { return make(tx.t, now); },
                         tx.discard, tx.changes));
    return absl::OkStatus();
  }));
  return accepted;
}

absl::StatusOr<Accepted> PostgresStore::CreateService(
    const NewService& input, const CallOptions& options) {
  return Accept(
      "create service", options,
      [&](pqxx::transaction_base& t,
          absl::Time now) -> absl::StatusOr<Accepted> {
        if (!t.exec_params("SELECT 1 FROM services WHERE account_id = $1"
                           " AND name = $2 AND deleted_at IS NULL",
                           input.account_id, input.name)
                 .empty()) {
          return ServiceNameTaken(input.name);
        }
        ServiceRow row;
        row.service.id = ids_.NewServiceId();
        row.service.account_id = input.account_id;
        row.service.name = input.name;
        row.service.url =
            absl::StrCat(ids_.NewUrlLabel(), ".", options_.url_suffix);
        row.pk = t.exec_params(
                      "INSERT INTO services (service_id, name, url, status,"
                      " config_version, created_at, updated_at, account_id)"
                      " VALUES ($1, $2, $3, 'OPERATION_IN_PROGRESS', 1, $4,"
                      " $4, $5) RETURNING pk",
                      row.service.id, row.service.name, row.service.url,
                      Micros(now), row.service.account_id)
                     .at(0)[0]
                     .as<int64_t>();
        RETURN_IF_ERROR(InsertConfig(t, row.pk, 1, input.config));
        const int64_t image =
            InsertImage(t, row.pk, input.config.source.image_identifier, now);
        for (const domain::Tag& tag : input.tags) {
          t.exec_params(
              "INSERT INTO tags (service_pk, key, value) VALUES ($1, $2, $3)",
              row.pk, tag.key, tag.value);
        }
        Accepted accepted;
        accepted.transition = domain::StartCreate();
        PgTx tx(t);
        accepted.operation = StartPending(
            tx, ids_, row, OperationType::kCreateService, std::nullopt,
            accepted.transition,
            {.target_config = 1,
             .prior_config = std::nullopt,
             .target_image = image},
            now, DeadlineOf(options_, OperationType::kCreateService));
        accepted.service = LoadService(t, row.pk);
        return accepted;
      });
}

absl::StatusOr<Service> PostgresStore::GetService(
    const domain::ServiceRef& service) {
  Service result;
  RETURN_IF_ERROR(Read("describe service", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(result, ReadServiceSnapshot(tx.t, service));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Page<Service>> PostgresStore::ListServices(
    const domain::AccountScope& scope, int page_size,
    absl::string_view page_token, std::optional<absl::Time> deleted_since) {
  // Tokens of the listings differ (with or without deleted services, of
  // which accounts), so one is not used for another.
  // Keyset paging on pk: a row's pk is taken at its INSERT and the row is
  // seen at its COMMIT, so a row another transaction commits late, behind a
  // page already read, is missed by this listing (README, "Pagination").
  const std::string kind =
      absl::StrCat(deleted_since ? "S" : "s", scope.account_id.value_or("*"));
  int64_t after = 0;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodeToken(page_token, kind, 0));
  }
  std::optional<int64_t> since;
  if (deleted_since) since = Micros(*deleted_since);
  Page<Service> page;
  RETURN_IF_ERROR(Read("list services", [&](Tx& tx) -> absl::Status {
    page = Page<Service>{};
    std::vector<ServiceRow> rows;
    for (const pqxx::row& row : tx.t.exec_params(
             "SELECT " SM_SERVICE_COLUMNS(
                 "s") " FROM services s"
                      " WHERE (deleted_at IS NULL OR deleted_at >= $1)"
                      " AND ($2::TEXT IS NULL OR account_id = $2) AND pk > $3"
                      " ORDER BY pk LIMIT $4",
             since, scope.account_id, after, page_size + 1)) {
      rows.push_back(ReadServiceRow(PgRow(row)));
    }
    if (static_cast<int>(rows.size()) > page_size) {
      rows.pop_back();
      page.next_token = EncodeToken(kind, 0, rows.back().pk);
    }
    for (ServiceRow& row : rows) {
      page.items.push_back(std::move(row.service));
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::StatusOr<Accepted> PostgresStore::StartOperation(
    const domain::ServiceRef& service, OperationType type,
    const domain::ConfigUpdate& update, const CallOptions& options) {
  return Accept(
      absl::StrCat("start ", domain::ToString(type)), options,
      [&](pqxx::transaction_base& t,
          absl::Time now) -> absl::StatusOr<Accepted> {
        ASSIGN_OR_RETURN(ServiceRow row, FindService(t, service, true));
        RETURN_IF_ERROR(CheckEtag(row.service, options.expected_etag));
        PgTx tx(t);
        return StartOperationIn(tx, ids_, row, type, update, now,
                                DeadlineOf(options_, type));
      });
}

absl::StatusOr<Operation> PostgresStore::GetOperation(
    const domain::AccountScope& scope, absl::string_view operation_id) {
  Operation result;
  RETURN_IF_ERROR(Read("describe operation", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(result, LoadOperation(tx.t, scope, operation_id));
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Operation> PostgresStore::CancelOperation(
    const domain::AccountScope& scope, absl::string_view operation_id,
    bool validate_only) {
  Operation result;
  RETURN_IF_ERROR(Write("cancel operation", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    const absl::Time now = clock_.Now();
    RETURN_IF_ERROR(LoadOperation(t, scope, operation_id).status());
    ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(t, operation_id));
    ASSIGN_OR_RETURN(domain::CancelAction action, domain::Cancel(op.status));
    switch (action) {
      case domain::CancelAction::kEndNow:
        EndOperation(t, op, CancelledOutcome(op), now, options_.replica_id);
        break;
      case domain::CancelAction::kRollBack:
        // Due at once, unclaimed: a worker rolls back what the operation
        // did, and the claim that ran it can no longer finish it.
        t.exec_params(
            "UPDATE operations SET status = 'ROLLBACK_IN_PROGRESS',"
            " due_at = $1, updated_at = $1, error_code = $2,"
            " error_message = $3, owner = NULL, attempt = 0,"
            " lease_until = NULL WHERE operation_id = $4",
            Micros(now), std::string(domain::kErrorCancelled),
            std::string(kRollingBackMessage), op.id);
        break;
      case domain::CancelAction::kAlreadyRollingBack:
        break;
    }
    ASSIGN_OR_RETURN(result, LoadOperation(t, scope, operation_id));
    tx.discard = validate_only;
    tx.changes.push_back({LoadService(t, op.service_pk), result});
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<SourceVersionRecorded> PostgresStore::RecordSourceVersion(
    const domain::ServiceRef& service, absl::string_view image_identifier,
    bool validate_only) {
  SourceVersionRecorded result;
  RETURN_IF_ERROR(Write("record source version", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    const absl::Time now = clock_.Now();
    ASSIGN_OR_RETURN(ServiceRow row, FindService(t, service, true));
    PgTx pg(t);
    ASSIGN_OR_RETURN(
        result, RecordSourceVersionIn(
                    pg, ids_, row, image_identifier, now,
                    DeadlineOf(options_, OperationType::kStartDeployment)));
    if (validate_only) {
      tx.discard = true;
      if (result.deployment) result.deployment->id.clear();
    }
    tx.changes.push_back({result.service, result.deployment});
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Page<Operation>> PostgresStore::ListOperations(
    const domain::ServiceRef& service, int page_size,
    absl::string_view page_token) {
  Page<Operation> page;
  RETURN_IF_ERROR(Read("list operations", [&](Tx& tx) -> absl::Status {
    page = Page<Operation>{};
    ASSIGN_OR_RETURN(ServiceRow row, FindService(tx.t, service, false));
    int64_t before = INT64_MAX;
    if (!page_token.empty()) {
      ASSIGN_OR_RETURN(before, DecodeToken(page_token, "o", row.pk));
    }
    std::vector<int64_t> seqs;
    for (const pqxx::row& r : tx.t.exec_params(
             "SELECT " SM_OPERATION_SUMMARY_COLUMNS
             " FROM operations o WHERE o.service_pk = $1 AND o.seq < $2"
             " ORDER BY o.seq DESC LIMIT $3",
             row.pk, before, page_size + 1)) {
      page.items.push_back(ReadOperationSummary(PgRow(r), row.service));
      seqs.push_back(PgRow(r).Int(kOperationSummarySeqColumn));
    }
    if (static_cast<int>(page.items.size()) > page_size) {
      page.items.pop_back();
      page.next_token = EncodeToken("o", row.pk, seqs[page_size - 1]);
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::Status PostgresStore::TagService(const domain::ServiceRef& service,
                                       const std::vector<domain::Tag>& tags,
                                       bool validate_only) {
  return Write("tag resource", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ServiceRow row, FindService(tx.t, service, true));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    RETURN_IF_ERROR(UpsertTags(
        tx.t,
        "INSERT INTO tags (service_pk, key, value) VALUES ($1, $2, $3)"
        " ON CONFLICT (service_pk, key) DO UPDATE SET value = excluded.value",
        "SELECT COUNT(*) FROM tags WHERE service_pk = $1", row.pk, tags));
    tx.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::Status PostgresStore::UntagService(const domain::ServiceRef& service,
                                         const std::vector<std::string>& keys,
                                         bool validate_only) {
  return Write("untag resource", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ServiceRow row, FindService(tx.t, service, true));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    for (const std::string& key : keys) {
      tx.t.exec_params("DELETE FROM tags WHERE service_pk = $1 AND key = $2",
                       row.pk, key);
    }
    tx.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<domain::Tag>> PostgresStore::ListTags(
    const domain::ServiceRef& service) {
  std::vector<domain::Tag> tags;
  RETURN_IF_ERROR(Read("list tags", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ServiceRow row, FindService(tx.t, service, false));
    tags = ReadTags(tx.t.exec_params(
        "SELECT key, value FROM tags WHERE service_pk = $1 ORDER BY key",
        row.pk));
    return absl::OkStatus();
  }));
  return tags;
}

absl::StatusOr<domain::Connection> PostgresStore::CreateConnection(
    const NewConnection& input) {
  domain::Connection result;
  RETURN_IF_ERROR(Write("create connection", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    if (!t.exec_params(
              "SELECT 1 FROM connections WHERE account_id = $1 AND name = $2",
              input.account_id, input.name)
             .empty()) {
      return ConnectionNameTaken(input.name);
    }
    result.ref = {input.account_id, input.name, ids_.NewServiceId()};
    result.provider_type = input.provider_type;
    result.status = domain::ConnectionStatus::kAvailable;
    result.created_at = clock_.Now();
    const int64_t pk =
        t.exec_params(
             "INSERT INTO connections (connection_id, account_id, name,"
             " provider_type, status, created_at)"
             " VALUES ($1, $2, $3, $4, $5, $6) RETURNING pk",
             result.ref.id, result.ref.account_id, result.ref.name,
             std::string(domain::ToString(result.provider_type)),
             std::string(domain::ToString(result.status)),
             Micros(result.created_at))
            .at(0)[0]
            .as<int64_t>();
    for (const domain::Tag& tag : input.tags) {
      t.exec_params(
          "INSERT INTO connection_tags (connection_pk, key, value)"
          " VALUES ($1, $2, $3)",
          pk, tag.key, tag.value);
    }
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<domain::Connection> PostgresStore::DeleteConnection(
    const domain::ConnectionRef& ref) {
  domain::Connection result;
  RETURN_IF_ERROR(Write("delete connection", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(t, ref, true));
    // Services that are not deleted and keep a configuration version (the
    // one they run, or one an update goes back to) that uses it.
    std::vector<std::string> users;
    bool paused = false;
    for (const pqxx::row& r : t.exec_params(
             "SELECT s.name, s.service_id, s.status FROM services s"
             " WHERE s.deleted_at IS NULL AND s.pk IN (SELECT service_pk"
             "  FROM service_config_connections WHERE connection_pk = $1)"
             " ORDER BY s.pk",
             row.pk)) {
      const std::string status = r[2].c_str();
      paused |= status == "PAUSED";
      users.push_back(
          absl::StrCat(r[0].c_str(), "/", r[1].c_str(), " (", status, ")"));
    }
    if (!users.empty()) {
      return ConnectionInUse(ref, users, paused);
    }
    t.exec_params("DELETE FROM connections WHERE pk = $1", row.pk);
    result = row.connection;
    result.status = domain::ConnectionStatus::kDeleted;
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<Page<domain::Connection>> PostgresStore::ListConnections(
    absl::string_view account_id, std::optional<std::string> name,
    int page_size, absl::string_view page_token) {
  int64_t after = 0;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodeToken(page_token, "c", 0));
  }
  Page<domain::Connection> page;
  RETURN_IF_ERROR(Read("list connections", [&](Tx& tx) -> absl::Status {
    page = Page<domain::Connection>{};
    std::vector<int64_t> pks;
    for (const pqxx::row& r : tx.t.exec_params(
             "SELECT " SM_CONNECTION_ROW
             " FROM connections WHERE account_id = $1"
             " AND ($2::TEXT IS NULL OR name = $2) AND pk > $3"
             " ORDER BY pk LIMIT $4",
             std::string(account_id), name, after, page_size + 1)) {
      ConnectionRow row = ReadConnectionRow(PgRow(r));
      pks.push_back(row.pk);
      page.items.push_back(std::move(row.connection));
    }
    if (static_cast<int>(page.items.size()) > page_size) {
      page.items.pop_back();
      page.next_token = EncodeToken("c", 0, pks[page_size - 1]);
    }
    return absl::OkStatus();
  }));
  return page;
}

absl::Status PostgresStore::TagConnection(const domain::ConnectionRef& ref,
                                          const std::vector<domain::Tag>& tags,
                                          bool validate_only) {
  return Write("tag resource", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(tx.t, ref, true));
    RETURN_IF_ERROR(UpsertTags(
        tx.t,
        "INSERT INTO connection_tags (connection_pk, key, value)"
        " VALUES ($1, $2, $3) ON CONFLICT (connection_pk, key)"
        " DO UPDATE SET value = excluded.value",
        "SELECT COUNT(*) FROM connection_tags WHERE connection_pk = $1", row.pk,
        tags));
    tx.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::Status PostgresStore::UntagConnection(
    const domain::ConnectionRef& ref, const std::vector<std::string>& keys,
    bool validate_only) {
  return Write("untag resource", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(tx.t, ref, true));
    for (const std::string& key : keys) {
      tx.t.exec_params(
          "DELETE FROM connection_tags WHERE connection_pk = $1 AND key = $2",
          row.pk, key);
    }
    tx.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<domain::Tag>> PostgresStore::ListConnectionTags(
    const domain::ConnectionRef& ref) {
  std::vector<domain::Tag> tags;
  RETURN_IF_ERROR(Read("list tags", [&](Tx& tx) -> absl::Status {
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(tx.t, ref, false));
    tags = ReadTags(tx.t.exec_params(
        "SELECT key, value FROM connection_tags WHERE connection_pk = $1"
        " ORDER BY key",
        row.pk));
    return absl::OkStatus();
  }));
  return tags;
}

absl::StatusOr<DomainChange> PostgresStore::AssociateCustomDomain(
    const domain::ServiceRef& service, absl::string_view account_id,
    absl::string_view domain_name, bool enable_www_subdomain) {
  DomainChange result;
  RETURN_IF_ERROR(Write("associate custom domain", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    result = DomainChange{};
    const absl::Time now = clock_.Now();
    const std::string name(domain_name);
    ASSIGN_OR_RETURN(ServiceRow row, FindService(t, service, true));
    RETURN_IF_ERROR(domain::CheckCanChangeCustomDomains(
        row.service.status, "associate a custom domain"));
    pqxx::result linked = t.exec_params(
        "SELECT s.pk, s.name, cert.account_id FROM custom_domains d"
        " JOIN services s ON s.pk = d.service_pk"
        " JOIN certificates cert ON cert.pk = d.certificate_pk"
        " WHERE d.domain_name = $1",
        name);
    if (!linked.empty()) {
      PgRow r(linked[0]);
      return DomainLinked(name, r.Int(0) == row.pk, r.Text(2) == account_id,
                          r.Text(1));
    }
    int64_t certificate_pk = 0;
    pqxx::result kept = t.exec_params(
        "SELECT pk, certificate_id FROM certificates"
        " WHERE account_id = $1 AND domain_name = $2",
        std::string(account_id), name);
    if (!kept.empty()) {
      certificate_pk = kept[0][0].as<int64_t>();
      result.domain.certificate_id = kept[0][1].c_str();
      t.exec_params("UPDATE certificates SET released_at = NULL WHERE pk = $1",
                    certificate_pk);
    } else {
      result.domain.certificate_id = ids_.NewServiceId();
      certificate_pk =
          t.exec_params(
               "INSERT INTO certificates (certificate_id, account_id,"
               " domain_name, created_at) VALUES ($1, $2, $3, $4)"
               " RETURNING pk",
               result.domain.certificate_id, std::string(account_id), name,
               Micros(now))
              .at(0)[0]
              .as<int64_t>();
    }
    t.exec_params(
        "INSERT INTO custom_domains (domain_name, service_pk,"
        " certificate_pk, enable_www_subdomain, linked_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        name, row.pk, certificate_pk, enable_www_subdomain ? 1 : 0,
        Micros(now));
    result.service = std::move(row.service);
    result.domain.domain_name = name;
    result.domain.enable_www_subdomain = enable_www_subdomain;
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<DomainChange> PostgresStore::DisassociateCustomDomain(
    const domain::ServiceRef& service, absl::string_view domain_name) {
  DomainChange result;
  RETURN_IF_ERROR(
      Write("disassociate custom domain", [&](Tx& tx) -> absl::Status {
        pqxx::transaction_base& t = tx.t;
        result = DomainChange{};
        const std::string name(domain_name);
        ASSIGN_OR_RETURN(ServiceRow row, FindService(t, service, true));
        RETURN_IF_ERROR(domain::CheckCanChangeCustomDomains(
            row.service.status, "disassociate a custom domain"));
        pqxx::result q = t.exec_params(
            "SELECT d.certificate_pk, d.enable_www_subdomain,"
            " cert.certificate_id FROM custom_domains d"
            " JOIN certificates cert ON cert.pk = d.certificate_pk"
            " WHERE d.domain_name = $1 AND d.service_pk = $2",
            name, row.pk);
        if (q.empty()) {
          return DomainNotLinked(name, row.service.name);
        }
        const int64_t certificate_pk = q[0][0].as<int64_t>();
        result.domain.enable_www_subdomain = q[0][1].as<int>() != 0;
        result.domain.certificate_id = q[0][2].c_str();
        t.exec_params("UPDATE certificates SET released_at = $1 WHERE pk = $2",
                      Micros(clock_.Now()), certificate_pk);
        t.exec_params("DELETE FROM custom_domains WHERE domain_name = $1",
                      name);
        result.service = std::move(row.service);
        result.domain.domain_name = name;
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<ServiceDomains> PostgresStore::ListCustomDomains(
    const domain::ServiceRef& service, int page_size,
    absl::string_view page_token) {
  ServiceDomains result;
  RETURN_IF_ERROR(Read("describe custom domains", [&](Tx& tx) -> absl::Status {
    result = ServiceDomains{};
    ASSIGN_OR_RETURN(ServiceRow row, FindService(tx.t, service, false));
    int64_t after = 0;
    if (!page_token.empty()) {
      ASSIGN_OR_RETURN(after, DecodeToken(page_token, "d", row.pk));
    }
    std::vector<int64_t> seqs;
    for (const pqxx::row& r : tx.t.exec_params(
             "SELECT d.domain_name, d.enable_www_subdomain,"
             " cert.certificate_id, d.seq FROM custom_domains d"
             " JOIN certificates cert ON cert.pk = d.certificate_pk"
             " WHERE d.service_pk = $1 AND d.seq > $2"
             " ORDER BY d.seq LIMIT $3",
             row.pk, after, page_size + 1)) {
      PgRow d(r);
      result.domains.items.push_back({d.Text(0), d.Int(1) != 0, d.Text(2)});
      seqs.push_back(d.Int(3));
    }
    if (static_cast<int>(result.domains.items.size()) > page_size) {
      result.domains.items.pop_back();
      result.domains.next_token = EncodeToken("d", row.pk, seqs[page_size - 1]);
    }
    result.service = std::move(row.service);
    return absl::OkStatus();
  }));
  return result;
}

absl::StatusOr<std::vector<Work>> PostgresStore::TakeDueOperations(
    absl::Time now, absl::Duration compute_time, absl::Duration lease,
    int limit) {
  std::vector<Work> due;
  RETURN_IF_ERROR(
      BackgroundWrite("take due operations", [&](Tx& tx) -> absl::Status {
        pqxx::transaction_base& t = tx.t;
        due.clear();
        t.exec_params(
            "UPDATE operations SET status = 'IN_PROGRESS', due_at = $1,"
            " updated_at = $2 WHERE due_at <= $2 AND status = 'PENDING'",
            Micros(now + compute_time), Micros(now));
        // The claim: rows another replica is claiming at this moment are
        // skipped, not waited for; a claimed operation is due again when its
        // lease runs out.
        std::map<int64_t, int> attempts;
        for (const pqxx::row& r : t.exec_params(
                 "UPDATE operations SET owner = $1, attempt = attempt + 1,"
                 " lease_until = $2, due_at = $2 WHERE seq IN ("
                 "  SELECT seq FROM operations WHERE due_at <= $3"
                 "  AND status IN ('IN_PROGRESS', 'ROLLBACK_IN_PROGRESS')"
                 "  AND (owner IS NULL OR lease_until <= $3)"
                 "  ORDER BY due_at, seq LIMIT $4 FOR UPDATE SKIP LOCKED)"
                 " RETURNING seq, attempt",
                 options_.replica_id, Micros(now + lease), Micros(now),
                 limit)) {
          attempts[r[0].as<int64_t>()] = r[1].as<int>();
        }
        if (attempts.empty()) {
          return absl::OkStatus();
        }
        std::vector<std::string> seqs;
        for (const auto& [seq, attempt] : attempts) {
          seqs.push_back(absl::StrCat(seq));
        }
        struct Targets {
          int64_t pk;
          std::optional<int64_t> config;
          std::optional<int64_t> image;
        };
        std::vector<Targets> targets;
        // A rollback restores what ran before the operation: the prior
        // configuration (an update's) or the current one, and the deployed
        // image version, which only a success moves.
        for (const pqxx::row& r : t.exec_params(
                 "SELECT " SM_OPERATION_COLUMNS
                 ", o.service_pk, o.prior_status,"
                 " CASE o.status WHEN 'ROLLBACK_IN_PROGRESS'"
                 "  THEN COALESCE(o.prior_config_version, s.config_version)"
                 "  ELSE o.target_config_version END,"
                 " CASE o.status WHEN 'ROLLBACK_IN_PROGRESS'"
                 "  THEN s.deployed_image_version"
                 "  ELSE o.target_image_version END"
                 ", o.seq FROM operations o JOIN services s ON s.pk = "
                 "o.service_pk"
                 " WHERE o.seq = ANY (string_to_array($1, ',')::bigint[])"
                 " ORDER BY o.seq",
                 absl::StrJoin(seqs, ","))) {
          PgRow row(r);
          Work work{ReadOperation(row), {}, {}, {}, 0};
          work.attempt = attempts[row.Int(kOperationColumns + 4)];
          if (!row.IsNull(kOperationColumns + 1)) {
            work.prior_status =
                domain::ParseServiceStatus(row.Text(kOperationColumns + 1));
          }
          due.push_back(std::move(work));
          targets.push_back({row.Int(kOperationColumns),
                             NullableInt(row, kOperationColumns + 2),
                             NullableInt(row, kOperationColumns + 3)});
        }
        for (size_t i = 0; i < due.size(); ++i) {
          if (targets[i].config) {
            due[i].config = LoadConfig(t, targets[i].pk, *targets[i].config);
          }
          if (targets[i].image) {
            due[i].image = LoadImage(t, targets[i].pk, *targets[i].image);
          }
        }
        return absl::OkStatus();
      }));
  return due;
}

absl::Status PostgresStore::RenewLeases(
    const std::vector<std::string>& operation_ids, absl::Time until) {
  if (operation_ids.empty()) return absl::OkStatus();
  return BackgroundWrite("renew leases", [&](Tx& tx) -> absl::Status {
    tx.t.exec_params(
        "UPDATE operations SET lease_until = $1, due_at = $1"
        " WHERE operation_id = ANY (string_to_array($2, ','))"
        " AND owner = $3 AND lease_until IS NOT NULL",
        Micros(until), absl::StrJoin(operation_ids, ","), options_.replica_id);
    return absl::OkStatus();
  });
}

std::vector<absl::Status> PostgresStore::FinishOperations(
    const std::vector<Finish>& finishes, absl::Time now) {
  // One transaction each: every finish is all or nothing on its own.
  std::vector<absl::Status> statuses;
  for (const Finish& finish : finishes) {
    statuses.push_back(BackgroundWrite("finish operation", [&](Tx& tx) {
      return FinishOne(tx, finish, now);
    }));
  }
  return statuses;
}

absl::Status PostgresStore::FinishOne(Tx& tx, const Finish& finish,
                                      absl::Time now) {
  pqxx::transaction_base& t = tx.t;
  ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(t, finish.operation_id));
  ASSIGN_OR_RETURN(Outcome outcome,
                   FinishOutcome(op, finish, options_.replica_id));
  EndOperation(t, op, outcome, now, options_.replica_id);
  ASSIGN_OR_RETURN(Operation ended, LoadOperation(t, domain::AccountScope{},
                                                  finish.operation_id));
  tx.changes.push_back({LoadService(t, op.service_pk), std::move(ended)});
  return absl::OkStatus();
}

absl::StatusOr<int> PostgresStore::ExpireOperations(absl::Time now) {
  std::vector<std::string> expired;
  RETURN_IF_ERROR(
      BackgroundWrite("expire operations", [&](Tx& tx) -> absl::Status {
        pqxx::transaction_base& t = tx.t;
        expired.clear();
        if (!TrySingleton(t, kExpireLock)) return absl::OkStatus();
        std::vector<std::string> past;
        for (const pqxx::row& r : t.exec_params(
                 "SELECT operation_id FROM operations WHERE deadline_at <= $1"
                 " ORDER BY seq",
                 Micros(now))) {
          past.push_back(r[0].c_str());
        }
        for (const std::string& id : past) {
          ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(t, id));
          // Read again under its row lock: a transaction that held the row
          // (a replica of an earlier version, whose lock has another key)
          // may have ended it or moved its deadline since.
          if (!op.deadline_at.has_value() || *op.deadline_at > now) continue;
          expired.push_back(id);
          EndOperation(t, op, ExpiredOutcome(op, now), now,
                       options_.replica_id);
          ASSIGN_OR_RETURN(Operation ended,
                           LoadOperation(t, domain::AccountScope{}, id));
          tx.changes.push_back(
              {LoadService(t, op.service_pk), std::move(ended)});
        }
        return absl::OkStatus();
      }));
  return static_cast<int>(expired.size());
}

absl::StatusOr<Purged> PostgresStore::Purge(const PurgeRequest& request) {
  Purged purged;
  RETURN_IF_ERROR(BackgroundWrite("purge", [&](Tx& tx) -> absl::Status {
    pqxx::transaction_base& t = tx.t;
    purged = Purged{};
    if (!TrySingleton(t, kPurgeLock)) return absl::OkStatus();
    // An operation's endings go with it.
    purged.operations =
        t.exec_params(
             "WITH gone AS (DELETE FROM operations WHERE seq IN (SELECT seq"
             "  FROM operations WHERE ended_at < $1 ORDER BY ended_at"
             "  LIMIT $2) RETURNING operation_id),"
             " endings AS (DELETE FROM operation_endings WHERE operation_id IN"
             "  (SELECT operation_id FROM gone))"
             " SELECT COUNT(*) FROM gone",
             Micros(request.operations_ended_before), request.batch_size)
            .at(0)[0]
            .as<int>();
    std::vector<int64_t> services;
    for (const pqxx::row& r : t.exec_params(
             "SELECT pk FROM services WHERE deleted_at < $1"
             " ORDER BY deleted_at LIMIT $2",
             Micros(request.services_deleted_before), request.batch_size)) {
      services.push_back(r[0].as<int64_t>());
    }
    for (int64_t pk : services) {
      // A deleted service has no configuration, images or tags left; its
      // operations and their endings go with it.
      t.exec_params(
          "DELETE FROM operation_endings WHERE operation_id IN (SELECT"
          " operation_id FROM operations WHERE service_pk = $1)",
          pk);
      purged.operations += static_cast<int>(
          t.exec_params("DELETE FROM operations WHERE service_pk = $1", pk)
              .affected_rows());
      purged.services += static_cast<int>(
          t.exec_params("DELETE FROM services WHERE pk = $1", pk)
              .affected_rows());
    }
    purged.client_tokens = static_cast<int>(
        t.exec_params(
             "DELETE FROM client_tokens WHERE token IN (SELECT token FROM"
             " client_tokens WHERE created_at < $1 ORDER BY created_at"
             " LIMIT $2)",
             Micros(request.client_tokens_created_before), request.batch_size)
            .affected_rows());
    purged.certificates = static_cast<int>(
        t.exec_params(
             "DELETE FROM certificates WHERE pk IN (SELECT pk FROM"
             " certificates WHERE released_at < $1 ORDER BY released_at"
             " LIMIT $2)",
             Micros(request.certificates_released_before), request.batch_size)
            .affected_rows());
    return absl::OkStatus();
  }));
  return purged;
}

absl::StatusOr<int> PostgresStore::RecoverOperations(absl::Time latest_due) {
  int count = 0;
  RETURN_IF_ERROR(
      BackgroundWrite("recover operations", [&](Tx& tx) -> absl::Status {
        // This replica holds no claim yet: those of its id (a previous process
        // under the same --replica-id) are released, due at once (a claimed
        // operation was due when it was claimed, and has not changed since).
        tx.t.exec_params(
            "UPDATE operations SET owner = NULL, lease_until = NULL,"
            " due_at = updated_at WHERE owner = $1 AND due_at IS NOT NULL",
            options_.replica_id);
        if (TrySingleton(tx.t, kRecoverLock)) {
          tx.t.exec_params(
              "UPDATE operations SET due_at = $1 WHERE due_at > $1"
              " AND owner IS NULL",
              Micros(latest_due));
        }
        count = tx.t.exec(
                        "SELECT COUNT(*) FROM operations"
                        " WHERE due_at IS NOT NULL")
                    .at(0)[0]
                    .as<int>();
        return absl::OkStatus();
      }));
  return count;
}

absl::StatusOr<std::optional<absl::Time>> PostgresStore::NextDueTime() {
  std::optional<absl::Time> next;
  RETURN_IF_ERROR(BackgroundRead("next due time", [&](Tx& tx) -> absl::Status {
    // Each MIN is one step down its partial index.
    pqxx::result r = tx.t.exec(
        "SELECT LEAST((SELECT MIN(due_at) FROM operations"
        "              WHERE due_at IS NOT NULL),"
        "             (SELECT MIN(deadline_at) FROM operations"
        "              WHERE deadline_at IS NOT NULL))");
    if (std::optional<int64_t> due = NullableInt(PgRow(r.at(0)), 0)) {
      next = FromMicros(*due);
    } else {
      next.reset();
    }
    return absl::OkStatus();
  }));
  return next;
}

absl::StatusOr<int> PostgresStore::AllocateEndpoint(
    absl::string_view service_id, absl::string_view address, int first_port,
    int last_port) {
  int port = 0;
  RETURN_IF_ERROR(
      BackgroundWrite("allocate endpoint", [&](Tx& tx) -> absl::Status {
        pqxx::transaction_base& t = tx.t;
        pqxx::result found = t.exec_params(
            "SELECT pk, deleted_at FROM services WHERE service_id = $1"
            " FOR UPDATE",
            std::string(service_id));
        if (found.empty()) {
          return absl::NotFoundError(
              absl::StrCat("service ", service_id, " does not exist"));
        }
        const int64_t pk = found[0][0].as<int64_t>();
        if (!found[0][1].is_null()) {
          return absl::FailedPreconditionError(
              absl::StrCat("service ", service_id, " is deleted"));
        }
        pqxx::result held = t.exec_params(
            "SELECT port FROM service_endpoints WHERE service_pk = $1", pk);
        if (!held.empty()) {
          port = held[0][0].as<int>();
          t.exec_params(
              "UPDATE service_endpoints SET address = $1 WHERE service_pk = $2",
              std::string(address), pk);
          return absl::OkStatus();
        }
        // Ports are shared by all services: one allocation at a time.
        LockFor(t, kEndpointLock);
        // The lowest port of the range that is free: the first one, or one
        // above a held port whose successor is not held.
        pqxx::result free = t.exec_params(
            "SELECT MIN(p) FROM ("
            "  SELECT $1::INTEGER AS p WHERE NOT EXISTS ("
            "   SELECT 1 FROM service_endpoints WHERE port = $1)"
            "  UNION ALL SELECT e.port + 1 FROM service_endpoints e"
            "  WHERE e.port BETWEEN $1 AND $2 - 1 AND NOT EXISTS ("
            "   SELECT 1 FROM service_endpoints n WHERE n.port = e.port + 1))"
            " AS free",
            first_port, last_port);
        if (free.at(0)[0].is_null()) {
          return PortsExhausted(first_port, last_port);
        }
        port = free[0][0].as<int>();
        t.exec_params(
            "INSERT INTO service_endpoints (service_pk, address, port)"
            " VALUES ($1, $2, $3)",
            pk, std::string(address), port);
        return absl::OkStatus();
      }));
  return port;
}

absl::Status PostgresStore::RecordImageDigest(absl::string_view service_id,
                                              int64_t version,
                                              absl::string_view digest) {
  return BackgroundWrite("record image digest", [&](Tx& tx) -> absl::Status {
    if (tx.t.exec_params(
                "UPDATE service_images SET digest = $1 WHERE version = $2"
                " AND service_pk = (SELECT pk FROM services"
                "  WHERE service_id = $3)",
                std::string(digest), version, std::string(service_id))
            .affected_rows() == 0) {
      return NoImageVersion(service_id, version);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<StoreStats> PostgresStore::GetStats(absl::Time now) {
  StoreStats stats;
  RETURN_IF_ERROR(Read("read statistics", [&](Tx& tx) -> absl::Status {
    stats = StoreStats{};
    // operations_due holds exactly the open operations.
    pqxx::result open = tx.t.exec(
        "SELECT COUNT(*), MIN(started_at) FROM operations"
        " WHERE due_at IS NOT NULL");
    stats.open_operations = open.at(0)[0].as<int64_t>();
    if (std::optional<int64_t> oldest = NullableInt(PgRow(open[0]), 1)) {
      stats.oldest_open_operation_age =
          std::max(absl::ZeroDuration(), now - FromMicros(*oldest));
    }
    stats.database_size_bytes =
        tx.t.exec("SELECT pg_database_size(current_database())")
            .at(0)[0]
            .as<int64_t>();
    return absl::OkStatus();
  }));
  return stats;
}

}  // namespace servicemanager::store
