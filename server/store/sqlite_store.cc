#include "store/sqlite_store.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/algorithm/container.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "domain/lifecycle.h"
#include "domain/validation.h"
#include "sqlite3.h"
#include "store/migrator.h"
#include "store/sqlite_log_buffer.h"
#include "store/sqlite_reads.h"
#include "store/sqlite_status.h"
#include "store/store_common.h"
#include "store/store_logic.h"

namespace servicemanager::store {

using domain::ImageVersion;
using domain::Operation;
using domain::OperationStatus;
using domain::OperationType;
using domain::Service;
using domain::ServiceConfig;
using domain::ServiceStatus;

// One SQLite connection and its prepared statements. Used by one thread at a
// time (the store's mutexes see to it), so it is opened without SQLite's own
// lock around every call (SQLITE_OPEN_NOMUTEX).
class Connection {
 public:
  // Opens `options.path` through the SQLite VFS named `vfs`.
  Connection(const SqliteOptions& options, int flags, const std::string& vfs)
      : db_(options.path, flags, options.busy_timeout_ms, vfs) {}

  SQLite::Database& db() { return db_; }

  // A reader keeps its read transaction open between reads for as long as
  // no write has ended since it began (SqliteStore::write_generation_): a
  // read in an open transaction skips the locks and file checks with which
  // SQLite starts one, which were a sixth of a DescribeService call's CPU.
  // Its snapshot then still holds every write before the read started.

  // Starts a read transaction at write generation `generation`, or keeps the
  // open one if it began at that generation.
  void ReadAt(int64_t generation) {
    if (snapshot_ == generation &&
        sqlite3_get_autocommit(db_.getHandle()) == 0) {
      return;
    }
    EndRead();
    Prepare("BEGIN").exec();
    snapshot_ = generation;
  }
  // Ends the open read transaction, if there is one that did not begin at
  // `generation`.
  void EndReadUnlessAt(int64_t generation) noexcept {
    if (snapshot_ != generation) EndRead();
  }
  // Ends the open read transaction, if any. Nothing was written, so a
  // failure (no transaction left to end) is moot.
  void EndRead() noexcept {
    if (snapshot_) {
      sqlite3_exec(db_.getHandle(), "ROLLBACK", nullptr, nullptr, nullptr);
      snapshot_.reset();
    }
  }

  // A prepared statement, reset and unbound. `sql` must be a string literal:
  // statements are cached by its address.
  SQLite::Statement& Prepare(const char* sql) {
    std::unique_ptr<SQLite::Statement>& statement = statements_[sql];
    if (statement == nullptr) {
      statement = std::make_unique<SQLite::Statement>(db_, sql);
    } else {
      statement->reset();
      statement->clearBindings();
    }
    return *statement;
  }

 private:
  SQLite::Database db_;
  std::unordered_map<const char*, std::unique_ptr<SQLite::Statement>>
      statements_;
  // The write generation at which the open read transaction began.
  std::optional<int64_t> snapshot_;
};

// A reader lent for one read: its open read transaction, if it has one, is
// current (began at the write generation of the lease's start).
class SqliteStore::ReadLease {
 public:
  ReadLease(SqliteStore& store, std::unique_ptr<Connection> connection)
      : store_(store),
        connection_(std::move(connection)),
        generation_(store_.write_generation_.load(std::memory_order_acquire)) {
    connection_->EndReadUnlessAt(generation_);
  }
  ReadLease(ReadLease&&) = default;
  ~ReadLease() {
    if (connection_ != nullptr) {
      // An idle reader keeps no snapshot that is out of date: it would hold
      // back WAL checkpoints.
      connection_->EndReadUnlessAt(
          store_.write_generation_.load(std::memory_order_acquire));
      absl::MutexLock lock(&store_.read_mu_);
      store_.idle_readers_.push_back(std::move(connection_));
    }
  }
  Connection& operator*() { return *connection_; }

  // Reads from here on see one moment: a read transaction at the lease's
  // write generation.
  void Snapshot() { connection_->ReadAt(generation_); }

 private:
  SqliteStore& store_;
  std::unique_ptr<Connection> connection_;
  int64_t generation_;
};

std::optional<int64_t> SnapshotKey(absl::string_view service_id) {
  constexpr size_t kDigits = 15;
  if (service_id.size() < kDigits) return std::nullopt;
  const absl::string_view digits =
      service_id.substr(service_id.size() - kDigits);
  // SimpleHexAtoi also takes capitals and a 0x, which the column does not.
  int64_t key;
  if (digits.find_first_not_of("0123456789abcdef") != absl::string_view::npos ||
      !absl::SimpleHexAtoi(digits, &key)) {
    return std::nullopt;
  }
  return key;
}

namespace {

// Resets a statement when it goes out of scope, so that it keeps no read
// open of its own (the reader's transaction decides how long reads last).
class Query {
 public:
  Query(Connection& connection, const char* sql)
      : statement_(connection.Prepare(sql)) {}
  ~Query() { statement_.tryReset(); }
  SQLite::Statement* operator->() { return &statement_; }
  SQLite::Statement& operator*() { return statement_; }

 private:
  SQLite::Statement& statement_;
};

// A row of a statement, for the readers of store_common.h.
class SqliteRow {
 public:
  explicit SqliteRow(SQLite::Statement& statement) : statement_(&statement) {}
  bool IsNull(int i) const { return statement_->getColumn(i).isNull(); }
  int64_t Int(int i) const { return statement_->getColumn(i).getInt64(); }
  std::string Text(int i) const { return statement_->getColumn(i).getString(); }

 private:
  SQLite::Statement* statement_;
};

// A service by id, when kSelectServiceByKey (sqlite_reads.h) finds another
// service's row under its key.
constexpr char kSelectServiceById[] =
    "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s WHERE service_id = ?";
constexpr char kSelectLiveServices[] =
    "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s"
    " WHERE deleted_at IS NULL AND pk > ? ORDER BY pk LIMIT ?";
constexpr char kSelectAccountLiveServices[] =
    "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s"
    " WHERE deleted_at IS NULL AND account_id = ? AND pk > ?"
    " ORDER BY pk LIMIT ?";
constexpr char kSelectServicesDeletedSince[] =
    "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s"
    " WHERE (deleted_at IS NULL OR deleted_at >= ?)"
    " AND pk > ? ORDER BY pk LIMIT ?";
constexpr char kSelectAccountServicesDeletedSince[] =
    "SELECT " SM_SERVICE_COLUMNS("s") " FROM services s"
    " WHERE (deleted_at IS NULL OR deleted_at >= ?)"
    " AND account_id = ? AND pk > ? ORDER BY pk LIMIT ?";

// Adds the configuration's environment variables and secrets.
void LoadEnv(Connection& c, int64_t pk, int64_t version, ServiceConfig& config);

std::optional<ServiceConfig> LoadConfig(Connection& c, int64_t pk,
                                        int64_t version) {
  Query q(c, "SELECT " SM_CONFIG_COLUMNS(
                 "c") ", " SM_CONNECTION_COLUMNS
                      " FROM service_configs c" SM_JOIN_CONNECTION(
                          "c") " WHERE c.service_pk = ? AND c.version = ?");
  q->bind(1, pk);
  q->bind(2, version);
  if (!q->executeStep()) {
    return std::nullopt;
  }
  ServiceConfig config = ReadConfig(SqliteRow(*q), 0);
  ReadConnection(SqliteRow(*q), kConfigColumns, config);
  LoadEnv(c, pk, version, config);
  return config;
}

void LoadEnv(Connection& c, int64_t pk, int64_t version,
             ServiceConfig& config) {
  Query env(c,
            "SELECT kind, name, value FROM service_config_env"
            " WHERE service_pk = ? AND version = ?");
  env->bind(1, pk);
  env->bind(2, version);
  while (env->executeStep()) {
    ReadEnv(SqliteRow(*env), 0, config);
  }
}

// Stores a configuration version. INVALID_ARGUMENT, before writing, if it
// names a connection that does not exist.
absl::Status InsertConfig(Connection& c, int64_t pk, int64_t version,
                          const ServiceConfig& config) {
  std::optional<int64_t> connection_pk;
  if (const auto& ref = config.source.connection) {
    Query find(c,
               "SELECT pk FROM connections"
               " WHERE connection_id = ? AND account_id = ? AND name = ?");
    find->bind(1, ref->id);
    find->bind(2, ref->account_id);
    find->bind(3, ref->name);
    if (!find->executeStep()) {
      return NoSuchConnection(*ref);
    }
    connection_pk = find->getColumn(0).getInt64();
  }
  Query q(c,
          "INSERT INTO service_configs (service_pk, version, image_identifier,"
          " image_repository_type, port, start_command,"
          " auto_deployments_enabled, cpu, memory, health_protocol,"
          " health_path, health_interval, health_timeout,"
          " health_healthy_threshold, health_unhealthy_threshold)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  const domain::ImageConfiguration& image = config.source.image_configuration;
  q->bind(1, pk);
  q->bind(2, version);
  q->bind(3, config.source.image_identifier);
  q->bind(4,
          std::string(RepositoryTypeName(config.source.image_repository_type)));
  q->bind(5, image.port);
  q->bind(6, image.start_command);
  q->bind(7, config.source.auto_deployments_enabled ? 1 : 0);
  q->bind(8, config.instance.cpu);
  q->bind(9, config.instance.memory);
  q->bind(10, std::string(ProtocolName(config.health_check.protocol)));
  q->bind(11, config.health_check.path);
  q->bind(12, config.health_check.interval);
  q->bind(13, config.health_check.timeout);
  q->bind(14, config.health_check.healthy_threshold);
  q->bind(15, config.health_check.unhealthy_threshold);
  q->exec();
  for (const auto& [kind, vars] :
       {std::pair{"variable", &image.runtime_environment_variables},
        std::pair{"secret", &image.runtime_environment_secrets}}) {
    for (const auto& [name, value] : *vars) {
      Query env(c,
                "INSERT INTO service_config_env"
                " (service_pk, version, kind, name, value)"
                " VALUES (?, ?, ?, ?, ?)");
      env->bind(1, pk);
      env->bind(2, version);
      env->bind(3, kind);
      env->bind(4, name);
      env->bind(5, value);
      env->exec();
    }
  }
  if (connection_pk) {
    Query uses(c,
               "INSERT INTO service_config_connections"
               " (service_pk, version, connection_pk) VALUES (?, ?, ?)");
    uses->bind(1, pk);
    uses->bind(2, version);
    uses->bind(3, *connection_pk);
    uses->exec();
  }
  return absl::OkStatus();
}

std::optional<ImageVersion> LoadImage(Connection& c, int64_t pk,
                                      std::optional<int64_t> version) {
  // Without a version: the newest one.
  Query q(c,
          "SELECT version, image_identifier, recorded_at FROM service_images"
          " WHERE service_pk = ?1 AND (?2 IS NULL OR version = ?2)"
          " ORDER BY version DESC LIMIT 1");
  q->bind(1, pk);
  if (version) {
    q->bind(2, *version);
  }
  if (!q->executeStep()) {
    return std::nullopt;
  }
  return ImageVersion{q->getColumn(0).getInt64(), q->getColumn(1).getString(),
                      FromMicros(q->getColumn(2).getInt64())};
}

int64_t InsertImage(Connection& c, int64_t pk, absl::string_view identifier,
                    absl::Time now) {
  std::optional<ImageVersion> latest = LoadImage(c, pk, std::nullopt);
  const int64_t version = latest ? latest->version + 1 : 1;
  Query q(c,
          "INSERT INTO service_images"
          " (service_pk, version, image_identifier, recorded_at)"
          " VALUES (?, ?, ?, ?)");
  q->bind(1, pk);
  q->bind(2, version);
  q->bind(3, std::string(identifier));
  q->bind(4, Micros(now));
  q->exec();
  return version;
}

// As kSelectServiceById, all of DescribeService's columns from the view that
// service_snapshots copies (kSnapshotByKey reads the table).
constexpr char kSnapshotById[] = "SELECT " SM_SNAPSHOT_COLUMNS
                                 " FROM service_snapshot_source"
                                 " WHERE service_id = ?";
constexpr char kSnapshotByPk[] =
    "SELECT " SM_SNAPSHOT_COLUMNS " FROM service_snapshot_source WHERE pk = ?";

// `read` of the row that service `ref` has in statement `by_key` (bound to
// its snapshot key and id) or else in `by_id` (bound to its id). NOT_FOUND if
// neither has it, or it is of another account or name.
template <typename Read>
auto ReadServiceBy(Connection& c, const domain::ServiceRef& ref,
                   const char* by_key, const char* by_id, Read read)
    -> absl::StatusOr<decltype(read(std::declval<SQLite::Statement&>()))> {
  if (const std::optional<int64_t> key = SnapshotKey(ref.id)) {
    Query q(c, by_key);
    q->bind(1, *key);
    q->bind(2, ref.id);
    if (q->executeStep()) {
      if (!IsService(SqliteRow(*q), ref)) return ServiceNotFound(ref);
      return read(*q);
    }
  }
  Query q(c, by_id);
  q->bind(1, ref.id);
  if (!q->executeStep() || !IsService(SqliteRow(*q), ref)) {
    return ServiceNotFound(ref);
  }
  return read(*q);
}

// The service the snapshot statement `q` stands on.
Service ReadServiceSnapshot(Connection& c, SQLite::Statement& q) {
  Snapshot snapshot = ReadSnapshot(SqliteRow(q));
  if (snapshot.has_env) {
    LoadEnv(c, snapshot.row.pk, *snapshot.row.config_version,
            *snapshot.row.service.config);
  }
  return std::move(snapshot.row.service);
}

absl::StatusOr<Service> ReadServiceSnapshot(Connection& c,
                                            const domain::ServiceRef& ref) {
  return ReadServiceBy(
      c, ref, kSnapshotByKey, kSnapshotById,
      [&](SQLite::Statement& q) { return ReadServiceSnapshot(c, q); });
}

// The service with internal key `pk`, complete, as the transaction sees it.
Service LoadService(Connection& c, int64_t pk) {
  Query q(c, kSnapshotByPk);
  q->bind(1, pk);
  q->executeStep();
  return ReadServiceSnapshot(c, *q);
}

absl::StatusOr<ServiceRow> FindService(Connection& c,
                                       const domain::ServiceRef& service) {
  return ReadServiceBy(
      c, service, kSelectServiceByKey, kSelectServiceById,
      [](SQLite::Statement& q) { return ReadServiceRow(SqliteRow(q)); });
}

// The hottest update of a service (every accepted and every finished
// operation): it counts the revision itself, which spares the second update
// of services_count_revision (migrations/0002), and changes only the
// service's own columns, so its snapshot row is updated in place
// (migrations/0011).
void SetServiceStatus(Connection& c, int64_t pk, ServiceStatus status,
                      absl::Time now) {
  Query q(c,
          "UPDATE services SET status = ?, updated_at = ?,"
          " revision = revision + 1 WHERE pk = ?");
  q->bind(1, std::string(domain::ToString(status)));
  q->bind(2, Micros(now));
  q->bind(3, pk);
  q->exec();
}

constexpr char kSelectOperation[] =
    "SELECT " SM_OPERATION_COLUMNS
    " FROM operations o JOIN services s ON s.pk = o.service_pk"
    " WHERE o.operation_id = ?";

// NOT_FOUND, as for an operation that does not exist, if its service's
// account is not in `scope`.
absl::StatusOr<Operation> LoadOperation(Connection& c,
                                        const domain::AccountScope& scope,
                                        absl::string_view operation_id) {
  Query q(c, kSelectOperation);
  q->bind(1, std::string(operation_id));
  if (!q->executeStep() ||
      !scope.Covers(q->getColumn(kOperationColumns - 1).getString())) {
    return OperationNotFound(operation_id);
  }
  return ReadOperation(SqliteRow(*q));
}

absl::StatusOr<OperationRow> FindOperationRow(Connection& c,
                                              absl::string_view operation_id) {
  Query q(c, "SELECT " SM_OPERATION_ROW_COLUMNS
             " FROM operations WHERE operation_id = ?");
  q->bind(1, std::string(operation_id));
  if (!q->executeStep()) {
    return OperationNotFound(operation_id);
  }
  return ReadOperationRow(SqliteRow(*q), operation_id);
}

void PurgeDeletedService(Connection& c, int64_t pk, absl::Time now) {
  for (const char* sql : kDeletePurgeList) {
    Query purge(c, sql);
    purge->bind(1, pk);
    if (purge->getBindParameterCount() > 1) {
      purge->bind(2, Micros(now));
    }
    purge->exec();
  }
}

// Ends the operation as `outcome` says, with every consequence for its
// service, in the caller's transaction.
void EndOperation(Connection& c, const OperationRow& op, const Outcome& outcome,
                  absl::Time now) {
  const int64_t pk = op.service_pk;
  {
    Query end(c,
              "UPDATE operations SET status = ?, due_at = NULL,"
              " deadline_at = NULL, lease_until = NULL, ended_at = ?,"
              " updated_at = ?,"
              " error_code = ?, error_message = ? WHERE operation_id = ?");
    end->bind(1, std::string(domain::ToString(outcome.status)));
    end->bind(2, Micros(now));
    end->bind(3, Micros(now));
    if (!outcome.succeeded) {
      end->bind(4, std::string(outcome.error_code));
      end->bind(5, outcome.error_message);
    }
    end->bind(6, op.id);
    end->exec();
  }
  const bool deleted =
      outcome.succeeded && op.type == OperationType::kDeleteService;
  if (deleted) {
    Query q(c,
            "UPDATE services SET status = 'DELETED', updated_at = ?1,"
            " deleted_at = ?1, config_version = NULL,"
            " deployed_image_version = NULL WHERE pk = ?2");
    q->bind(1, Micros(now));
    q->bind(2, pk);
    q->exec();
    PurgeDeletedService(c, pk, now);
    return;
  }
  SetServiceStatus(c, pk, outcome.service_status, now);
  if (outcome.succeeded && op.target_image) {
    // What ran before is no longer needed: keep the deployed version and
    // the newer ones, and only the configuration that now runs.
    Query deployed(
        c, "UPDATE services SET deployed_image_version = ? WHERE pk = ?");
    deployed->bind(1, *op.target_image);
    deployed->bind(2, pk);
    deployed->exec();
    Query old_images(
        c, "DELETE FROM service_images WHERE service_pk = ? AND version < ?");
    old_images->bind(1, pk);
    old_images->bind(2, *op.target_image);
    old_images->exec();
    if (op.target_config) {
      Query old_configs(c,
                        "DELETE FROM service_configs"
                        " WHERE service_pk = ? AND version < ?");
      old_configs->bind(1, pk);
      old_configs->bind(2, *op.target_config);
      old_configs->exec();
    }
  } else if (!outcome.succeeded && op.prior_config && op.target_config) {
    // A failed update goes back to the configuration it replaced, and
    // forgets the image version it added (if it changed the image).
    if (op.target_image) {
      Query added(c,
                  "DELETE FROM service_images WHERE service_pk = ?1"
                  " AND version = ?2 AND image_identifier <> ("
                  "  SELECT image_identifier FROM service_configs"
                  "  WHERE service_pk = ?1 AND version = ?3)");
      added->bind(1, pk);
      added->bind(2, *op.target_image);
      added->bind(3, *op.prior_config);
      added->exec();
    }
    Query back(c, "UPDATE services SET config_version = ? WHERE pk = ?");
    back->bind(1, *op.prior_config);
    back->bind(2, pk);
    back->exec();
    Query drop(c,
               "DELETE FROM service_configs"
               " WHERE service_pk = ? AND version = ?");
    drop->bind(1, pk);
    drop->bind(2, *op.target_config);
    drop->exec();
  }
}

absl::StatusOr<ConnectionRow> FindConnection(Connection& c,
                                             const domain::ConnectionRef& ref) {
  Query q(c, "SELECT " SM_CONNECTION_ROW
             " FROM connections WHERE connection_id = ?");
  q->bind(1, ref.id);
  if (!q->executeStep() || !IsConnection(SqliteRow(*q), ref)) {
    return ConnectionNotFound(ref);
  }
  return ReadConnectionRow(SqliteRow(*q));
}

// Adds tags to the resource `pk`, overwriting existing keys, with the
// `upsert` statement of its tag table; INVALID_ARGUMENT if the resource then
// has more than domain::kMaxTagsPerResource (`count` counts them).
absl::Status UpsertTags(Connection& c, const char* upsert, const char* count,
                        int64_t pk, const std::vector<domain::Tag>& tags) {
  for (const domain::Tag& tag : tags) {
    Query q(c, upsert);
    q->bind(1, pk);
    q->bind(2, tag.key);
    q->bind(3, tag.value);
    q->exec();
  }
  Query n(c, count);
  n->bind(1, pk);
  n->executeStep();
  if (n->getColumn(0).getInt() > domain::kMaxTagsPerResource) {
    return TooManyTags();
  }
  return absl::OkStatus();
}

// The stored response of an earlier call with `token`, if there was one with
// the same request; INVALID_ARGUMENT if there was one with another.
absl::StatusOr<std::optional<std::string>> FindClientToken(
    Connection& c, const ClientToken& token) {
  Query q(c, "SELECT request, response FROM client_tokens WHERE token = ?");
  q->bind(1, token.token);
  if (!q->executeStep()) {
    return std::nullopt;
  }
  if (q->getColumn(0).getString() != token.request) {
    return ClientTokenReused();
  }
  return q->getColumn(1).getString();
}

void SaveClientToken(Connection& c, const ClientToken& token,
                     const std::string& response, absl::Time now) {
  Query q(c,
          "INSERT INTO client_tokens (token, request, response, created_at)"
          " VALUES (?, ?, ?, ?)");
  q->bind(1, token.token);
  q->bind(2, token.request.data(), static_cast<int>(token.request.size()));
  q->bind(3, response.data(), static_cast<int>(response.size()));
  q->bind(4, Micros(now));
  q->exec();
}

// The primitives of store_logic.h in a SQLite transaction.
class SqliteTx {
 public:
  explicit SqliteTx(Connection& c) : c_(c) {}
  std::optional<ServiceConfig> LoadConfig(int64_t pk, int64_t version) {
    return store::LoadConfig(c_, pk, version);
  }
  absl::Status InsertConfig(int64_t pk, int64_t version,
                            const ServiceConfig& config) {
    return store::InsertConfig(c_, pk, version, config);
  }
  std::optional<ImageVersion> LoadImage(int64_t pk,
                                        std::optional<int64_t> version) {
    return store::LoadImage(c_, pk, version);
  }
  int64_t InsertImage(int64_t pk, absl::string_view identifier,
                      absl::Time now) {
    return store::InsertImage(c_, pk, identifier, now);
  }
  void SetConfigVersion(int64_t pk, int64_t version) {
    Query q(c_, "UPDATE services SET config_version = ? WHERE pk = ?");
    q->bind(1, version);
    q->bind(2, pk);
    q->exec();
  }
  void TouchService(int64_t pk, absl::Time now) {
    Query q(c_, "UPDATE services SET updated_at = ? WHERE pk = ?");
    q->bind(1, Micros(now));
    q->bind(2, pk);
    q->exec();
  }
  void SetServiceStatus(int64_t pk, ServiceStatus status, absl::Time now) {
    store::SetServiceStatus(c_, pk, status, now);
  }
  void InsertOperation(int64_t pk, const Operation& op,
                       std::optional<ServiceStatus> prior,
                       const domain::Transition& transition,
                       const OperationTargets& targets) {
    Query q(c_,
            "INSERT INTO operations (operation_id, service_pk, type, status,"
            " success_status, failure_status, failure_op_status,"
            " target_config_version, prior_config_version,"
            " target_image_version, due_at, started_at, updated_at,"
            " prior_status, deadline_at)"
            " VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    q->bind(1, op.id);
    q->bind(2, pk);
    q->bind(3, std::string(domain::ToString(op.type)));
    q->bind(4, std::string(domain::ToString(transition.on_success)));
    q->bind(5, std::string(domain::ToString(transition.on_failure)));
    q->bind(6, std::string(domain::ToString(transition.failure_status)));
    const std::optional<int64_t>* columns[] = {
        &targets.target_config, &targets.prior_config, &targets.target_image};
    for (int i = 0; i < 3; ++i) {
      if (*columns[i]) {
        q->bind(7 + i, **columns[i]);
      }
    }
    q->bind(10, Micros(op.started_at));
    q->bind(11, Micros(op.started_at));
    q->bind(12, Micros(op.started_at));
    if (prior) {
      q->bind(13, std::string(domain::ToString(*prior)));
    }
    q->bind(14, Micros(*op.deadline_at));
    q->exec();
  }
  absl::StatusOr<std::optional<std::string>> FindClientToken(
      const ClientToken& token) {
    return store::FindClientToken(c_, token);
  }
  void SaveClientToken(const ClientToken& token, const std::string& response,
                       absl::Time now) {
    store::SaveClientToken(c_, token, response, now);
  }
  Service LoadService(int64_t pk) { return store::LoadService(c_, pk); }

 private:
  Connection& c_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const SqliteOptions& options, common::Clock& clock,
    common::IdGenerator& ids, ChangeObserver* observer) {
  return GuardSqlite(
      "open database", [&]() -> absl::StatusOr<std::unique_ptr<SqliteStore>> {
        // With FULL, the writer's appends to the log go out in one system
        // call per commit (store/sqlite_log_buffer.h).
        std::string writer_vfs = options.vfs;
        if (options.synchronous_full) {
          ASSIGN_OR_RETURN(writer_vfs, LogBufferingVfs(options.vfs));
        }
        auto writer = std::make_unique<Connection>(
            options,
            SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE | SQLite::OPEN_NOMUTEX,
            writer_vfs);
        SQLite::Database& db = writer->db();
        db.exec("PRAGMA journal_mode = WAL");
        const char* synchronous = options.synchronous_full
                                      ? "PRAGMA synchronous = FULL"
                                      : "PRAGMA synchronous = NORMAL";
        db.exec(synchronous);
        db.exec("PRAGMA foreign_keys = ON");
        const std::string cache_size =
            absl::StrCat("PRAGMA cache_size = -", options.cache_kib);
        db.exec(cache_size);
        RETURN_IF_ERROR(Migrate(db, EmbeddedMigrations(), clock.Now(),
                                options.legacy_account_id));
        std::vector<std::unique_ptr<Connection>> readers;
        for (int i = 0; i < options.read_connections; ++i) {
          readers.push_back(std::make_unique<Connection>(
              options, SQLite::OPEN_READONLY | SQLite::OPEN_NOMUTEX,
              options.vfs));
          readers.back()->db().exec(cache_size);
        }
        // The log's checkpoints sync as the writer's commits do.
        auto checkpoints = std::make_unique<SQLite::Database>(
            options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_NOMUTEX,
            options.busy_timeout_ms, options.vfs);
        checkpoints->exec(synchronous);
        auto checkpointer = std::make_unique<SqliteCheckpointer>(
            db.getHandle(), std::move(checkpoints),
            SqliteCheckpointer::Options{});
        return std::unique_ptr<SqliteStore>(
            new SqliteStore(options, clock, ids, observer, std::move(writer),
                            std::move(checkpointer), std::move(readers)));
      });
}

SqliteStore::SqliteStore(const SqliteOptions& options, common::Clock& clock,
                         common::IdGenerator& ids, ChangeObserver* observer,
                         std::unique_ptr<Connection> writer,
                         std::unique_ptr<SqliteCheckpointer> checkpointer,
                         std::vector<std::unique_ptr<Connection>> readers)
    : options_(options),
      clock_(clock),
      ids_(ids),
      observer_(observer),
      writer_(std::move(writer)),
      checkpointer_(std::move(checkpointer)),
      idle_readers_(std::move(readers)) {}

SqliteStore::~SqliteStore() = default;

SqliteStore::ReadLease SqliteStore::Read() {
  absl::MutexLock lock(&read_mu_);
  read_mu_.Await(absl::Condition(
      +[](std::vector<std::unique_ptr<Connection>>* idle) {
        return !idle->empty();
      },
      &idle_readers_));
  std::unique_ptr<Connection> connection = std::move(idle_readers_.back());
  idle_readers_.pop_back();
  return ReadLease(*this, std::move(connection));
}

// One write waiting in the queue: its body, and once done its status and
// changes.
struct SqliteStore::PendingWrite {
  absl::string_view what;
  const WriteBody* body = nullptr;
  absl::Status status;
  std::vector<Change> changes;
  bool done = false;
};

absl::Status SqliteStore::Write(absl::string_view what, WriteBody body) {
  std::vector<WriteBody> bodies;
  bodies.push_back(std::move(body));
  return WriteAll(what, std::move(bodies)).front();
}

std::vector<absl::Status> SqliteStore::WriteAll(absl::string_view what,
                                                std::vector<WriteBody> bodies) {
  std::vector<PendingWrite> writes(bodies.size());
  for (size_t i = 0; i < bodies.size(); ++i) {
    writes[i].what = what;
    writes[i].body = &bodies[i];
  }
  auto all_done = [&writes] {
    return absl::c_all_of(writes, [](const PendingWrite& w) { return w.done; });
  };
  queue_mu_.Lock();
  for (PendingWrite& write : writes) {
    queue_.push_back(&write);
  }
  // Group commit: whoever finds no batch running leads the next one, made of
  // every write queued by then; the others wait for it to commit theirs.
  while (!all_done()) {
    auto can_lead = [this, &all_done]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(
                        queue_mu_) { return !leading_ || all_done(); };
    queue_mu_.Await(absl::Condition(&can_lead));
    if (all_done()) {
      break;
    }
    leading_ = true;
    std::vector<PendingWrite*> batch;
    while (!queue_.empty() &&
           static_cast<int>(batch.size()) < options_.max_writes_per_commit) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    queue_mu_.Unlock();
    {
      absl::MutexLock lock(&write_mu_);
      RunBatch(batch);
    }
    queue_mu_.Lock();
    for (PendingWrite* write : batch) {
      write->done = true;
    }
    leading_ = false;
  }
  queue_mu_.Unlock();
  std::vector<absl::Status> statuses;
  for (const PendingWrite& write : writes) {
    statuses.push_back(write.status);
  }
  return statuses;
}

void SqliteStore::RunBatch(const std::vector<PendingWrite*>& batch) {
  RunBatchInTransaction(batch);
  // The idle readers' out-of-date snapshots end now, unless the readers are
  // busy (then the lease that returns a reader ends its snapshot).
  const int64_t generation = write_generation_.load(std::memory_order_acquire);
  if (read_mu_.TryLock()) {
    for (const std::unique_ptr<Connection>& reader : idle_readers_) {
      reader->EndReadUnlessAt(generation);
    }
    read_mu_.Unlock();
  }
}

void SqliteStore::RunBatchInTransaction(
    const std::vector<PendingWrite*>& batch) {
  Connection& c = *writer_;
  auto exec = [&c](absl::string_view what, const char* sql) {
    return GuardSqlite(what, [&c, sql] {
      Query(c, sql)->exec();
      return absl::OkStatus();
    });
  };
  // A failure of the batch's own statements, told to each write by name.
  auto named = [](const PendingWrite& write, const absl::Status& status) {
    return absl::Status(status.code(),
                        absl::StrCat(write.what, ": ", status.message()));
  };
  if (absl::Status begin = exec("begin", "BEGIN IMMEDIATE"); !begin.ok()) {
    for (PendingWrite* write : batch) {
      write->status = named(*write, begin);
    }
    return;
  }
  // Each write runs in its own savepoint: one that fails (or only
  // validates) is rolled back alone, and the rest still commit.
  std::vector<PendingWrite*> kept;
  absl::Status lost;  // Set if SQLite rolled the whole transaction back.
  for (PendingWrite* write : batch) {
    if (!lost.ok()) {
      write->status = lost;
      continue;
    }
    WriteContext context{.connection = c, .changes = {}, .discard = false};
    absl::Status status = exec(write->what, "SAVEPOINT sm_write");
    if (status.ok()) {
      status =
          GuardSqlite(write->what, [&] { return (*write->body)(context); });
    }
    if (sqlite3_get_autocommit(c.db().getHandle()) != 0) {
      // An I/O error, a full disk and the like can end the transaction.
      lost = status.ok() ? absl::UnavailableError(absl::StrCat(
                               write->what, ": the transaction was lost"))
                         : status;
      write->status = lost;
      continue;
    }
    if (!status.ok() || context.discard) {
      absl::Status undone = exec(write->what, "ROLLBACK TO sm_write");
      if (undone.ok()) undone = exec(write->what, "RELEASE sm_write");
      write->status = undone.ok() ? status : undone;
      if (!undone.ok()) lost = undone;
      continue;
    }
    if (absl::Status released = exec(write->what, "RELEASE sm_write");
        !released.ok()) {
      lost = released;
      write->status = released;
      continue;
    }
    write->changes = std::move(context.changes);
    kept.push_back(write);
  }
  absl::Status commit = lost.ok() ? exec("commit", "COMMIT") : lost;
  // Whatever the outcome, reads from here on (those of the observer's
  // listeners included) start from a new snapshot.
  write_generation_.fetch_add(1, std::memory_order_acq_rel);
  if (!commit.ok()) {
    if (sqlite3_get_autocommit(c.db().getHandle()) == 0) {
      exec("rollback", "ROLLBACK").IgnoreError();
    }
    for (PendingWrite* write : kept) {
      write->status = named(*write, commit);
      write->changes.clear();
    }
    return;
  }
  commits_.fetch_add(1, std::memory_order_relaxed);
  if (observer_ != nullptr) {
    for (PendingWrite* write : kept) {
      for (const Change& change : write->changes) {
        observer_->OnCommit(change);
      }
    }
  }
}

int64_t SqliteStore::commits() const {
  return commits_.load(std::memory_order_relaxed);
}

template <typename Body>
absl::StatusOr<Accepted> SqliteStore::Accept(absl::string_view what,
                                             const CallOptions& options,
                                             Body&& body) {
  Accepted accepted;
  RETURN_IF_ERROR(Write(what, [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    const absl::Time now = clock_.Now();
    SqliteTx tx(c);
    ASSIGN_OR_RETURN(
        accepted, AcceptIn(
                      tx, options, now, [&] { return body(c, now); }, w.discard,
                      w.changes));
    return absl::OkStatus();
  }));
  return accepted;
}

absl::StatusOr<Accepted> SqliteStore::CreateService(
    const NewService& input, const CallOptions& options) {
  return Accept(
      "create service", options,
      [&](Connection& c, absl::Time now) -> absl::StatusOr<Accepted> {
        {
          Query taken(
              c,
              "SELECT 1 FROM services"
              " WHERE account_id = ? AND name = ? AND deleted_at IS NULL");
          taken->bind(1, input.account_id);
          taken->bind(2, input.name);
          if (taken->executeStep()) {
            return ServiceNameTaken(input.name);
          }
        }
        ServiceRow row;
        row.service.id = ids_.NewServiceId();
        row.service.account_id = input.account_id;
        row.service.name = input.name;
        row.service.url =
            absl::StrCat(ids_.NewUrlLabel(), ".", options_.url_suffix);
        {
          Query q(c,
                  "INSERT INTO services (service_id, name, url, status,"
                  " config_version, created_at, updated_at, account_id)"
                  " VALUES (?, ?, ?, 'OPERATION_IN_PROGRESS', 1, ?, ?, ?)");
          q->bind(1, row.service.id);
          q->bind(2, row.service.name);
          q->bind(3, row.service.url);
          q->bind(4, Micros(now));
          q->bind(5, Micros(now));
          q->bind(6, row.service.account_id);
          q->exec();
          row.pk = c.db().getLastInsertRowid();
        }
        RETURN_IF_ERROR(InsertConfig(c, row.pk, 1, input.config));
        const int64_t image =
            InsertImage(c, row.pk, input.config.source.image_identifier, now);
        for (const domain::Tag& tag : input.tags) {
          Query q(c,
                  "INSERT INTO tags (service_pk, key, value) VALUES (?, ?, ?)");
          q->bind(1, row.pk);
          q->bind(2, tag.key);
          q->bind(3, tag.value);
          q->exec();
        }
        Accepted accepted;
        accepted.transition = domain::StartCreate();
        SqliteTx tx(c);
        accepted.operation = StartPending(
            tx, ids_, row, OperationType::kCreateService, std::nullopt,
            accepted.transition,
            {.target_config = 1,
             .prior_config = std::nullopt,
             .target_image = image},
            now, DeadlineOf(options_, OperationType::kCreateService));
        accepted.service = LoadService(c, row.pk);
        return accepted;
      });
}

absl::StatusOr<Service> SqliteStore::GetService(
    const domain::ServiceRef& service) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("describe service", [&]() -> absl::StatusOr<Service> {
    // One read transaction, so the parts are of one moment (the environment
    // is a second statement).
    lease.Snapshot();
    return ReadServiceSnapshot(c, service);
  });
}

absl::StatusOr<Page<Service>> SqliteStore::ListServices(
    const domain::AccountScope& scope, int page_size,
    absl::string_view page_token, std::optional<absl::Time> deleted_since) {
  // Tokens of the listings differ (with or without deleted services, of
  // which accounts), so one is not used for another.
  const std::string kind =
      absl::StrCat(deleted_since ? "S" : "s", scope.account_id.value_or("*"));
  int64_t after = 0;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodeToken(page_token, kind, 0));
  }
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("list services", [&]() -> absl::StatusOr<Page<Service>> {
    lease.Snapshot();
    Page<Service> page;
    std::vector<ServiceRow> rows;
    {
      const char* sql =
          scope.account_id ? (deleted_since ? kSelectAccountServicesDeletedSince
                                            : kSelectAccountLiveServices)
                           : (deleted_since ? kSelectServicesDeletedSince
                                            : kSelectLiveServices);
      Query q(c, sql);
      int i = 1;
      if (deleted_since) {
        q->bind(i++, Micros(*deleted_since));
      }
      if (scope.account_id) {
        q->bind(i++, *scope.account_id);
      }
      q->bind(i++, after);
      q->bind(i++, page_size + 1);
      while (q->executeStep()) {
        rows.push_back(ReadServiceRow(SqliteRow(*q)));
      }
    }
    if (static_cast<int>(rows.size()) > page_size) {
      rows.pop_back();
      page.next_token = EncodeToken(kind, 0, rows.back().pk);
    }
    for (ServiceRow& row : rows) {
      page.items.push_back(std::move(row.service));
    }
    return page;
  });
}

absl::StatusOr<Accepted> SqliteStore::StartOperation(
    const domain::ServiceRef& service, OperationType type,
    const domain::ConfigUpdate& update, const CallOptions& options) {
  return Accept(
      absl::StrCat("start ", domain::ToString(type)), options,
      [&](Connection& c, absl::Time now) -> absl::StatusOr<Accepted> {
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        RETURN_IF_ERROR(CheckEtag(row.service, options.expected_etag));
        SqliteTx tx(c);
        return StartOperationIn(tx, ids_, row, type, update, now,
                                DeadlineOf(options_, type));
      });
}

absl::StatusOr<Operation> SqliteStore::GetOperation(
    const domain::AccountScope& scope, absl::string_view operation_id) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("describe operation", [&]() -> absl::StatusOr<Operation> {
    return LoadOperation(c, scope, operation_id);
  });
}

absl::StatusOr<Operation> SqliteStore::CancelOperation(
    const domain::AccountScope& scope, absl::string_view operation_id,
    bool validate_only) {
  Operation result;
  RETURN_IF_ERROR(
      Write("cancel operation", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        const absl::Time now = clock_.Now();
        RETURN_IF_ERROR(LoadOperation(c, scope, operation_id).status());
        ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(c, operation_id));
        ASSIGN_OR_RETURN(domain::CancelAction action,
                         domain::Cancel(op.status));
        switch (action) {
          case domain::CancelAction::kEndNow:
            EndOperation(c, op, CancelledOutcome(op), now);
            break;
          case domain::CancelAction::kRollBack: {
            // Due at once, unclaimed: the worker rolls back what the
            // operation did, and the claim that ran it can no longer finish
            // it.
            Query q(c,
                    "UPDATE operations SET status = 'ROLLBACK_IN_PROGRESS',"
                    " due_at = ?1, updated_at = ?1, error_code = ?2,"
                    " error_message = ?3, owner = NULL, attempt = 0,"
                    " lease_until = NULL WHERE operation_id = ?4");
            q->bind(1, Micros(now));
            q->bind(2, std::string(domain::kErrorCancelled));
            q->bind(3, kRollingBackMessage);
            q->bind(4, op.id);
            q->exec();
            break;
          }
          case domain::CancelAction::kAlreadyRollingBack:
            break;
        }
        ASSIGN_OR_RETURN(result, LoadOperation(c, scope, operation_id));
        w.discard = validate_only;
        w.changes.push_back({LoadService(c, op.service_pk), result});
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<SourceVersionRecorded> SqliteStore::RecordSourceVersion(
    const domain::ServiceRef& service, absl::string_view image_identifier,
    bool validate_only) {
  SourceVersionRecorded result;
  RETURN_IF_ERROR(
      Write("record source version", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        const absl::Time now = clock_.Now();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        SqliteTx tx(c);
        ASSIGN_OR_RETURN(
            result, RecordSourceVersionIn(
                        tx, ids_, row, image_identifier, now,
                        DeadlineOf(options_, OperationType::kStartDeployment)));
        if (validate_only) {
          w.discard = true;
          if (result.deployment) result.deployment->id.clear();
        }
        w.changes.push_back({result.service, result.deployment});
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Page<Operation>> SqliteStore::ListOperations(
    const domain::ServiceRef& service, int page_size,
    absl::string_view page_token) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list operations", [&]() -> absl::StatusOr<Page<Operation>> {
        lease.Snapshot();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        // A token holds the seq of the last operation on its page. Its kind
        // is "o": a token of migration 0009's layout ("n", a number within
        // the service) is refused, not misread.
        int64_t before = INT64_MAX;
        if (!page_token.empty()) {
          ASSIGN_OR_RETURN(before, DecodeToken(page_token, "o", row.pk));
        }
        Page<Operation> page;
        std::vector<int64_t> seqs;
        Query q(c, kSelectOperationSummaries);
        q->bind(1, row.pk);
        q->bind(2, before);
        q->bind(3, page_size + 1);
        while (q->executeStep()) {
          page.items.push_back(
              ReadOperationSummary(SqliteRow(*q), row.service));
          seqs.push_back(q->getColumn(kOperationSummarySeqColumn).getInt64());
        }
        if (static_cast<int>(page.items.size()) > page_size) {
          page.items.pop_back();
          page.next_token = EncodeToken("o", row.pk, seqs[page_size - 1]);
        }
        return page;
      });
}

absl::Status SqliteStore::TagService(const domain::ServiceRef& service,
                                     const std::vector<domain::Tag>& tags,
                                     bool validate_only) {
  return Write("tag resource", [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    RETURN_IF_ERROR(UpsertTags(
        c,
        "INSERT INTO tags (service_pk, key, value) VALUES (?, ?, ?)"
        " ON CONFLICT (service_pk, key) DO UPDATE SET value = excluded.value",
        "SELECT COUNT(*) FROM tags WHERE service_pk = ?", row.pk, tags));
    w.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::UntagService(const domain::ServiceRef& service,
                                       const std::vector<std::string>& keys,
                                       bool validate_only) {
  return Write("untag resource", [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    for (const std::string& key : keys) {
      Query q(c, "DELETE FROM tags WHERE service_pk = ? AND key = ?");
      q->bind(1, row.pk);
      q->bind(2, key);
      q->exec();
    }
    w.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<domain::Tag>> SqliteStore::ListTags(
    const domain::ServiceRef& service) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list tags", [&]() -> absl::StatusOr<std::vector<domain::Tag>> {
        lease.Snapshot();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        std::vector<domain::Tag> tags;
        Query q(
            c, "SELECT key, value FROM tags WHERE service_pk = ? ORDER BY key");
        q->bind(1, row.pk);
        while (q->executeStep()) {
          tags.push_back(
              {q->getColumn(0).getString(), q->getColumn(1).getString()});
        }
        return tags;
      });
}

absl::StatusOr<domain::Connection> SqliteStore::CreateConnection(
    const NewConnection& input) {
  domain::Connection result;
  RETURN_IF_ERROR(
      Write("create connection", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        {
          Query taken(c,
                      "SELECT 1 FROM connections"
                      " WHERE account_id = ? AND name = ?");
          taken->bind(1, input.account_id);
          taken->bind(2, input.name);
          if (taken->executeStep()) {
            return ConnectionNameTaken(input.name);
          }
        }
        result.ref = {input.account_id, input.name, ids_.NewServiceId()};
        result.provider_type = input.provider_type;
        result.status = domain::ConnectionStatus::kAvailable;
        result.created_at = clock_.Now();
        Query q(
            c,
            "INSERT INTO connections (connection_id, account_id, name,"
            " provider_type, status, created_at) VALUES (?, ?, ?, ?, ?, ?)");
        q->bind(1, result.ref.id);
        q->bind(2, result.ref.account_id);
        q->bind(3, result.ref.name);
        q->bind(4, std::string(domain::ToString(result.provider_type)));
        q->bind(5, std::string(domain::ToString(result.status)));
        q->bind(6, Micros(result.created_at));
        q->exec();
        const int64_t pk = c.db().getLastInsertRowid();
        for (const domain::Tag& tag : input.tags) {
          Query t(c,
                  "INSERT INTO connection_tags (connection_pk, key, value)"
                  " VALUES (?, ?, ?)");
          t->bind(1, pk);
          t->bind(2, tag.key);
          t->bind(3, tag.value);
          t->exec();
        }
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<domain::Connection> SqliteStore::DeleteConnection(
    const domain::ConnectionRef& ref) {
  domain::Connection result;
  RETURN_IF_ERROR(
      Write("delete connection", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(c, ref));
        // Services that are not deleted and keep a configuration version
        // (the one they run, or one an update goes back to) that uses it.
        std::vector<std::string> users;
        bool paused = false;
        {
          Query q(c,
                  "SELECT s.name, s.service_id, s.status FROM services s"
                  " WHERE s.deleted_at IS NULL AND s.pk IN (SELECT service_pk"
                  "  FROM service_config_connections WHERE connection_pk = ?)"
                  " ORDER BY s.pk");
          q->bind(1, row.pk);
          while (q->executeStep()) {
            const std::string status = q->getColumn(2).getString();
            paused |= status == "PAUSED";
            users.push_back(absl::StrCat(q->getColumn(0).getString(), "/",
                                         q->getColumn(1).getString(), " (",
                                         status, ")"));
          }
        }
        if (!users.empty()) {
          return ConnectionInUse(ref, users, paused);
        }
        Query q(c, "DELETE FROM connections WHERE pk = ?");
        q->bind(1, row.pk);
        q->exec();
        result = row.connection;
        result.status = domain::ConnectionStatus::kDeleted;
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<Page<domain::Connection>> SqliteStore::ListConnections(
    absl::string_view account_id, std::optional<std::string> name,
    int page_size, absl::string_view page_token) {
  int64_t after = 0;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodeToken(page_token, "c", 0));
  }
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list connections", [&]() -> absl::StatusOr<Page<domain::Connection>> {
        Page<domain::Connection> page;
        std::vector<int64_t> pks;
        Query q(c, "SELECT " SM_CONNECTION_ROW
                   " FROM connections WHERE account_id = ?1"
                   " AND (?2 IS NULL OR name = ?2) AND pk > ?3"
                   " ORDER BY pk LIMIT ?4");
        q->bind(1, std::string(account_id));
        if (name) {
          q->bind(2, *name);
        }
        q->bind(3, after);
        q->bind(4, page_size + 1);
        while (q->executeStep()) {
          ConnectionRow row = ReadConnectionRow(SqliteRow(*q));
          pks.push_back(row.pk);
          page.items.push_back(std::move(row.connection));
        }
        if (static_cast<int>(page.items.size()) > page_size) {
          page.items.pop_back();
          page.next_token = EncodeToken("c", 0, pks[page_size - 1]);
        }
        return page;
      });
}

absl::Status SqliteStore::TagConnection(const domain::ConnectionRef& ref,
                                        const std::vector<domain::Tag>& tags,
                                        bool validate_only) {
  return Write("tag resource", [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(c, ref));
    RETURN_IF_ERROR(UpsertTags(
        c,
        "INSERT INTO connection_tags (connection_pk, key, value)"
        " VALUES (?, ?, ?) ON CONFLICT (connection_pk, key)"
        " DO UPDATE SET value = excluded.value",
        "SELECT COUNT(*) FROM connection_tags WHERE connection_pk = ?", row.pk,
        tags));
    w.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::UntagConnection(const domain::ConnectionRef& ref,
                                          const std::vector<std::string>& keys,
                                          bool validate_only) {
  return Write("untag resource", [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(c, ref));
    for (const std::string& key : keys) {
      Query q(
          c, "DELETE FROM connection_tags WHERE connection_pk = ? AND key = ?");
      q->bind(1, row.pk);
      q->bind(2, key);
      q->exec();
    }
    w.discard = validate_only;
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<domain::Tag>> SqliteStore::ListConnectionTags(
    const domain::ConnectionRef& ref) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list tags", [&]() -> absl::StatusOr<std::vector<domain::Tag>> {
        lease.Snapshot();
        ASSIGN_OR_RETURN(ConnectionRow row, FindConnection(c, ref));
        std::vector<domain::Tag> tags;
        Query q(c,
                "SELECT key, value FROM connection_tags"
                " WHERE connection_pk = ? ORDER BY key");
        q->bind(1, row.pk);
        while (q->executeStep()) {
          tags.push_back(
              {q->getColumn(0).getString(), q->getColumn(1).getString()});
        }
        return tags;
      });
}

absl::StatusOr<DomainChange> SqliteStore::AssociateCustomDomain(
    const domain::ServiceRef& service, absl::string_view account_id,
    absl::string_view domain_name, bool enable_www_subdomain) {
  DomainChange result;
  RETURN_IF_ERROR(
      Write("associate custom domain", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        const absl::Time now = clock_.Now();
        const std::string name(domain_name);
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        RETURN_IF_ERROR(domain::CheckCanChangeCustomDomains(
            row.service.status, "associate a custom domain"));
        {
          Query linked(c,
                       "SELECT s.pk, s.name, cert.account_id"
                       " FROM custom_domains d"
                       " JOIN services s ON s.pk = d.service_pk"
                       " JOIN certificates cert ON cert.pk = d.certificate_pk"
                       " WHERE d.domain_name = ?");
          linked->bind(1, name);
          if (linked->executeStep()) {
            return DomainLinked(name, linked->getColumn(0).getInt64() == row.pk,
                                linked->getColumn(2).getString() == account_id,
                                linked->getColumn(1).getString());
          }
        }
        int64_t certificate_pk = 0;
        {
          Query kept(c,
                     "SELECT pk, certificate_id FROM certificates"
                     " WHERE account_id = ? AND domain_name = ?");
          kept->bind(1, std::string(account_id));
          kept->bind(2, name);
          if (kept->executeStep()) {
            certificate_pk = kept->getColumn(0).getInt64();
            result.domain.certificate_id = kept->getColumn(1).getString();
          }
        }
        if (certificate_pk != 0) {
          Query reuse(c,
                      "UPDATE certificates SET released_at = NULL"
                      " WHERE pk = ?");
          reuse->bind(1, certificate_pk);
          reuse->exec();
        } else {
          result.domain.certificate_id = ids_.NewServiceId();
          Query q(c,
                  "INSERT INTO certificates (certificate_id, account_id,"
                  " domain_name, created_at) VALUES (?, ?, ?, ?)");
          q->bind(1, result.domain.certificate_id);
          q->bind(2, std::string(account_id));
          q->bind(3, name);
          q->bind(4, Micros(now));
          q->exec();
          certificate_pk = c.db().getLastInsertRowid();
        }
        Query link(c,
                   "INSERT INTO custom_domains (domain_name, service_pk,"
                   " certificate_pk, enable_www_subdomain, linked_at)"
                   " VALUES (?, ?, ?, ?, ?)");
        link->bind(1, name);
        link->bind(2, row.pk);
        link->bind(3, certificate_pk);
        link->bind(4, enable_www_subdomain ? 1 : 0);
        link->bind(5, Micros(now));
        link->exec();
        result.service = std::move(row.service);
        result.domain.domain_name = name;
        result.domain.enable_www_subdomain = enable_www_subdomain;
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<DomainChange> SqliteStore::DisassociateCustomDomain(
    const domain::ServiceRef& service, absl::string_view domain_name) {
  DomainChange result;
  RETURN_IF_ERROR(
      Write("disassociate custom domain", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        const std::string name(domain_name);
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        RETURN_IF_ERROR(domain::CheckCanChangeCustomDomains(
            row.service.status, "disassociate a custom domain"));
        int64_t certificate_pk = 0;
        {
          Query q(c,
                  "SELECT d.certificate_pk, d.enable_www_subdomain,"
                  " cert.certificate_id FROM custom_domains d"
                  " JOIN certificates cert ON cert.pk = d.certificate_pk"
                  " WHERE d.domain_name = ? AND d.service_pk = ?");
          q->bind(1, name);
          q->bind(2, row.pk);
          if (!q->executeStep()) {
            return DomainNotLinked(name, row.service.name);
          }
          certificate_pk = q->getColumn(0).getInt64();
          result.domain.enable_www_subdomain = q->getColumn(1).getInt() != 0;
          result.domain.certificate_id = q->getColumn(2).getString();
        }
        Query release(c,
                      "UPDATE certificates SET released_at = ? WHERE pk = ?");
        release->bind(1, Micros(clock_.Now()));
        release->bind(2, certificate_pk);
        release->exec();
        Query unlink(c, "DELETE FROM custom_domains WHERE domain_name = ?");
        unlink->bind(1, name);
        unlink->exec();
        result.service = std::move(row.service);
        result.domain.domain_name = name;
        return absl::OkStatus();
      }));
  return result;
}

absl::StatusOr<ServiceDomains> SqliteStore::ListCustomDomains(
    const domain::ServiceRef& service, int page_size,
    absl::string_view page_token) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "describe custom domains", [&]() -> absl::StatusOr<ServiceDomains> {
        lease.Snapshot();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        int64_t after = 0;
        if (!page_token.empty()) {
          ASSIGN_OR_RETURN(after, DecodeToken(page_token, "d", row.pk));
        }
        ServiceDomains result;
        std::vector<int64_t> rowids;
        Query q(c,
                "SELECT d.domain_name, d.enable_www_subdomain,"
                " cert.certificate_id, d.rowid FROM custom_domains d"
                " JOIN certificates cert ON cert.pk = d.certificate_pk"
                " WHERE d.service_pk = ? AND d.rowid > ?"
                " ORDER BY d.rowid LIMIT ?");
        q->bind(1, row.pk);
        q->bind(2, after);
        q->bind(3, page_size + 1);
        while (q->executeStep()) {
          result.domains.items.push_back({q->getColumn(0).getString(),
                                          q->getColumn(1).getInt() != 0,
                                          q->getColumn(2).getString()});
          rowids.push_back(q->getColumn(3).getInt64());
        }
        if (static_cast<int>(result.domains.items.size()) > page_size) {
          result.domains.items.pop_back();
          result.domains.next_token =
              EncodeToken("d", row.pk, rowids[page_size - 1]);
        }
        result.service = std::move(row.service);
        return result;
      });
}

absl::StatusOr<std::vector<Work>> SqliteStore::TakeDueOperations(
    absl::Time now, absl::Duration compute_time, absl::Duration lease,
    int limit) {
  std::vector<Work> due;
  RETURN_IF_ERROR(
      Write("take due operations", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        due.clear();
        {
          Query claim(c,
                      "UPDATE operations SET status = 'IN_PROGRESS',"
                      " due_at = ?1, updated_at = ?2"
                      " WHERE due_at <= ?2 AND status = 'PENDING'");
          claim->bind(1, Micros(now + compute_time));
          claim->bind(2, Micros(now));
          claim->exec();
        }
        // The claim, as on PostgreSQL: a claimed operation is due again
        // when its lease runs out.
        std::map<int64_t, int> attempts;
        {
          Query claim(c,
                      "UPDATE operations SET owner = ?1,"
                      " attempt = attempt + 1, lease_until = ?2, due_at = ?2"
                      " WHERE seq IN (SELECT seq FROM operations"
                      "  WHERE due_at <= ?3"
                      "  AND status IN ('IN_PROGRESS', 'ROLLBACK_IN_PROGRESS')"
                      "  AND (owner IS NULL OR lease_until <= ?3)"
                      "  ORDER BY due_at, seq LIMIT ?4)"
                      " RETURNING seq, attempt");
          claim->bind(1, options_.replica_id);
          claim->bind(2, Micros(now + lease));
          claim->bind(3, Micros(now));
          claim->bind(4, limit);
          while (claim->executeStep()) {
            attempts[claim->getColumn(0).getInt64()] =
                claim->getColumn(1).getInt();
          }
        }
        if (attempts.empty()) {
          return absl::OkStatus();
        }
        std::vector<int64_t> seqs;
        for (const auto& [seq, attempt] : attempts) {
          seqs.push_back(seq);
        }
        struct Targets {
          int64_t pk;
          std::optional<int64_t> config;
          std::optional<int64_t> image;
        };
        std::vector<Targets> targets;
        {
          // A rollback restores what ran before the operation: the prior
          // configuration (an update's) or the current one, and the deployed
          // image version, which only a success moves.
          Query q(c, "SELECT " SM_OPERATION_COLUMNS
                     ", o.service_pk, o.prior_status,"
                     " CASE o.status WHEN 'ROLLBACK_IN_PROGRESS'"
                     "  THEN COALESCE(o.prior_config_version, s.config_version)"
                     "  ELSE o.target_config_version END,"
                     " CASE o.status WHEN 'ROLLBACK_IN_PROGRESS'"
                     "  THEN s.deployed_image_version"
                     "  ELSE o.target_image_version END"
                     ", o.seq"
                     " FROM operations o JOIN services s ON s.pk = o.service_pk"
                     " WHERE o.seq IN (SELECT value FROM json_each(?))"
                     " ORDER BY o.seq");
          q->bind(1, absl::StrCat("[", absl::StrJoin(seqs, ","), "]"));
          while (q->executeStep()) {
            Work work{ReadOperation(SqliteRow(*q)), {}, {}, {}, 0};
            work.attempt =
                attempts[q->getColumn(kOperationColumns + 4).getInt64()];
            if (!q->getColumn(kOperationColumns + 1).isNull()) {
              work.prior_status = domain::ParseServiceStatus(
                  q->getColumn(kOperationColumns + 1).getString());
            }
            due.push_back(std::move(work));
            targets.push_back(
                {q->getColumn(kOperationColumns).getInt64(),
                 NullableInt(SqliteRow(*q), kOperationColumns + 2),
                 NullableInt(SqliteRow(*q), kOperationColumns + 3)});
          }
        }
        for (size_t i = 0; i < due.size(); ++i) {
          if (targets[i].config) {
            due[i].config = LoadConfig(c, targets[i].pk, *targets[i].config);
          }
          if (targets[i].image) {
            due[i].image = LoadImage(c, targets[i].pk, *targets[i].image);
          }
        }
        return absl::OkStatus();
      }));
  return due;
}

absl::Status SqliteStore::RenewLeases(
    const std::vector<std::string>& operation_ids, absl::Time until) {
  if (operation_ids.empty()) return absl::OkStatus();
  return Write("renew leases", [&](WriteContext& w) -> absl::Status {
    Query q(w.connection,
            "UPDATE operations SET lease_until = ?1, due_at = ?1"
            " WHERE operation_id IN (SELECT value FROM json_each(?2))"
            " AND owner = ?3 AND lease_until IS NOT NULL");
    q->bind(1, Micros(until));
    q->bind(2,
            absl::StrCat("[\"", absl::StrJoin(operation_ids, "\",\""), "\"]"));
    q->bind(3, options_.replica_id);
    q->exec();
    return absl::OkStatus();
  });
}

std::vector<absl::Status> SqliteStore::FinishOperations(
    const std::vector<Finish>& finishes, absl::Time now) {
  std::vector<WriteBody> bodies;
  for (const Finish& finish : finishes) {
    bodies.push_back([this, &finish, now](WriteContext& w) {
      return FinishOne(w, finish, now);
    });
  }
  return WriteAll("finish operation", std::move(bodies));
}

absl::Status SqliteStore::FinishOne(WriteContext& w, const Finish& finish,
                                    absl::Time now) {
  Connection& c = w.connection;
  const std::string& operation_id = finish.operation_id;
  {
    ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(c, operation_id));
    ASSIGN_OR_RETURN(Outcome outcome,
                     FinishOutcome(op, finish, options_.replica_id));
    EndOperation(c, op, outcome, now);
    ASSIGN_OR_RETURN(Operation ended,
                     LoadOperation(c, domain::AccountScope{}, operation_id));
    w.changes.push_back({LoadService(c, op.service_pk), std::move(ended)});
    return absl::OkStatus();
  }
}

absl::StatusOr<int> SqliteStore::ExpireOperations(absl::Time now) {
  std::vector<std::string> expired;
  RETURN_IF_ERROR(
      Write("expire operations", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        expired.clear();
        {
          Query q(c,
                  "SELECT operation_id FROM operations WHERE deadline_at <= ?");
          q->bind(1, Micros(now));
          while (q->executeStep()) {
            expired.push_back(q->getColumn(0).getString());
          }
        }
        for (const std::string& id : expired) {
          ASSIGN_OR_RETURN(OperationRow op, FindOperationRow(c, id));
          EndOperation(c, op, ExpiredOutcome(op, now), now);
          ASSIGN_OR_RETURN(Operation ended,
                           LoadOperation(c, domain::AccountScope{}, id));
          w.changes.push_back(
              {LoadService(c, op.service_pk), std::move(ended)});
        }
        return absl::OkStatus();
      }));
  return static_cast<int>(expired.size());
}

absl::StatusOr<Purged> SqliteStore::Purge(const PurgeRequest& request) {
  Purged purged;
  RETURN_IF_ERROR(Write("purge", [&](WriteContext& w) -> absl::Status {
    Connection& c = w.connection;
    purged = Purged{};
    {
      Query q(c,
              "DELETE FROM operations WHERE seq IN (SELECT seq FROM operations"
              " WHERE ended_at < ? ORDER BY ended_at LIMIT ?)");
      q->bind(1, Micros(request.operations_ended_before));
      q->bind(2, request.batch_size);
      purged.operations = q->exec();
    }
    std::vector<int64_t> services;
    {
      Query q(c,
              "SELECT pk FROM services WHERE deleted_at < ?"
              " ORDER BY deleted_at LIMIT ?");
      q->bind(1, Micros(request.services_deleted_before));
      q->bind(2, request.batch_size);
      while (q->executeStep()) {
        services.push_back(q->getColumn(0).getInt64());
      }
    }
    for (int64_t pk : services) {
      // A deleted service has no configuration, images or tags left; its
      // operations go with it.
      Query ops(c, "DELETE FROM operations WHERE service_pk = ?");
      ops->bind(1, pk);
      purged.operations += ops->exec();
      Query service(c, "DELETE FROM services WHERE pk = ?");
      service->bind(1, pk);
      purged.services += service->exec();
    }
    {
      Query q(c,
              "DELETE FROM client_tokens WHERE token IN (SELECT token FROM"
              " client_tokens WHERE created_at < ? ORDER BY created_at"
              " LIMIT ?)");
      q->bind(1, Micros(request.client_tokens_created_before));
      q->bind(2, request.batch_size);
      purged.client_tokens = q->exec();
    }
    {
      Query q(c,
              "DELETE FROM certificates WHERE pk IN (SELECT pk FROM"
              " certificates WHERE released_at < ? ORDER BY released_at"
              " LIMIT ?)");
      q->bind(1, Micros(request.certificates_released_before));
      q->bind(2, request.batch_size);
      purged.certificates = q->exec();
    }
    return absl::OkStatus();
  }));
  return purged;
}

absl::StatusOr<int> SqliteStore::RecoverOperations(absl::Time latest_due) {
  int count = 0;
  RETURN_IF_ERROR(
      Write("recover operations", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        // One process uses the database, and it holds no claim yet: every
        // claim is released, due at once (a claimed operation was due when
        // it was claimed, and has not changed since).
        {
          Query release(c,
                        "UPDATE operations SET due_at = updated_at,"
                        " owner = NULL, lease_until = NULL"
                        " WHERE due_at IS NOT NULL AND owner IS NOT NULL");
          release->exec();
        }
        Query q(c, "UPDATE operations SET due_at = ?1 WHERE due_at > ?1");
        q->bind(1, Micros(latest_due));
        q->exec();
        Query open(c,
                   "SELECT COUNT(*) FROM operations WHERE due_at IS NOT NULL");
        open->executeStep();
        count = open->getColumn(0).getInt();
        return absl::OkStatus();
      }));
  return count;
}

absl::StatusOr<std::optional<absl::Time>> SqliteStore::NextDueTime() {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "next due time", [&]() -> absl::StatusOr<std::optional<absl::Time>> {
        // Each MIN is one step down its partial index.
        Query q(c,
                "SELECT MIN((SELECT MIN(due_at) FROM operations"
                "            WHERE due_at IS NOT NULL),"
                "           (SELECT MIN(deadline_at) FROM operations"
                "            WHERE deadline_at IS NOT NULL))");
        q->executeStep();
        std::optional<int64_t> due = NullableInt(SqliteRow(*q), 0);
        if (!due) {
          return std::nullopt;
        }
        return FromMicros(*due);
      });
}

absl::StatusOr<int> SqliteStore::AllocateEndpoint(absl::string_view service_id,
                                                  absl::string_view address,
                                                  int first_port,
                                                  int last_port) {
  int port = 0;
  RETURN_IF_ERROR(
      Write("allocate endpoint", [&](WriteContext& w) -> absl::Status {
        Connection& c = w.connection;
        Query find(c,
                   "SELECT pk, deleted_at FROM services WHERE service_id = ?");
        find->bind(1, std::string(service_id));
        if (!find->executeStep()) {
          return absl::NotFoundError(
              absl::StrCat("service ", service_id, " does not exist"));
        }
        const int64_t pk = find->getColumn(0).getInt64();
        if (!find->getColumn(1).isNull()) {
          return absl::FailedPreconditionError(
              absl::StrCat("service ", service_id, " is deleted"));
        }
        {
          Query held(c,
                     "SELECT port FROM service_endpoints WHERE service_pk = ?");
          held->bind(1, pk);
          if (held->executeStep()) {
            port = held->getColumn(0).getInt();
            Query update(c,
                         "UPDATE service_endpoints SET address = ?"
                         " WHERE service_pk = ?");
            update->bind(1, std::string(address));
            update->bind(2, pk);
            update->exec();
            return absl::OkStatus();
          }
        }
        // The lowest port of the range that is free: the first one, or one
        // above a held port whose successor is not held.
        Query free(
            c,
            "SELECT MIN(p) FROM ("
            "  SELECT ?1 AS p WHERE NOT EXISTS ("
            "   SELECT 1 FROM service_endpoints WHERE port = ?1)"
            "  UNION ALL SELECT e.port + 1 FROM service_endpoints e"
            "  WHERE e.port BETWEEN ?1 AND ?2 - 1 AND NOT EXISTS ("
            "   SELECT 1 FROM service_endpoints n WHERE n.port = e.port + 1))");
        free->bind(1, first_port);
        free->bind(2, last_port);
        free->executeStep();
        if (free->getColumn(0).isNull()) {
          return PortsExhausted(first_port, last_port);
        }
        port = free->getColumn(0).getInt();
        Query insert(c,
                     "INSERT INTO service_endpoints (service_pk, address, port)"
                     " VALUES (?, ?, ?)");
        insert->bind(1, pk);
        insert->bind(2, std::string(address));
        insert->bind(3, port);
        insert->exec();
        return absl::OkStatus();
      }));
  return port;
}

absl::Status SqliteStore::RecordImageDigest(absl::string_view service_id,
                                            int64_t version,
                                            absl::string_view digest) {
  return Write("record image digest", [&](WriteContext& w) -> absl::Status {
    Query q(
        w.connection,
        "UPDATE service_images SET digest = ?1 WHERE version = ?2"
        " AND service_pk = (SELECT pk FROM services WHERE service_id = ?3)");
    q->bind(1, std::string(digest));
    q->bind(2, version);
    q->bind(3, std::string(service_id));
    if (q->exec() == 0) {
      return NoImageVersion(service_id, version);
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<StoreStats> SqliteStore::GetStats(absl::Time now) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("read statistics", [&]() -> absl::StatusOr<StoreStats> {
    // One read transaction, so that the numbers agree with each other.
    lease.Snapshot();
    StoreStats stats;
    {
      // operations_due holds exactly the open operations.
      Query q(c,
              "SELECT COUNT(*), MIN(started_at) FROM operations"
              " WHERE due_at IS NOT NULL");
      q->executeStep();
      stats.open_operations = q->getColumn(0).getInt64();
      if (std::optional<int64_t> oldest = NullableInt(SqliteRow(*q), 1)) {
        stats.oldest_open_operation_age =
            std::max(absl::ZeroDuration(), now - FromMicros(*oldest));
      }
    }
    {
      Query q(c,
              "SELECT page_count * page_size"
              " FROM pragma_page_count(), pragma_page_size()");
      q->executeStep();
      stats.database_size_bytes = q->getColumn(0).getInt64();
    }
    return stats;
  });
}

}  // namespace servicemanager::store
