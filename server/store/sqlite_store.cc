#include "store/sqlite_store.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "SQLiteCpp/Database.h"
#include "SQLiteCpp/Statement.h"
#include "SQLiteCpp/Transaction.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/status_macros.h"
#include "domain/lifecycle.h"
#include "domain/validation.h"
#include "store/migrator.h"
#include "store/sqlite_status.h"

namespace servicemanager::store {

using domain::ImageVersion;
using domain::Operation;
using domain::OperationStatus;
using domain::OperationType;
using domain::Service;
using domain::ServiceConfig;
using domain::ServiceStatus;

// One SQLite connection and its prepared statements. Used by one thread at a
// time (the store's mutexes see to it).
class Connection {
 public:
  Connection(const std::string& path, int flags, int busy_timeout_ms)
      : db_(path, flags, busy_timeout_ms) {}

  SQLite::Database& db() { return db_; }

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
};

class SqliteStore::ReadLease {
 public:
  ReadLease(SqliteStore& store, std::unique_ptr<Connection> connection)
      : store_(store), connection_(std::move(connection)) {}
  ReadLease(ReadLease&&) = default;
  ~ReadLease() {
    if (connection_ != nullptr) {
      absl::MutexLock lock(&store_.read_mu_);
      store_.idle_readers_.push_back(std::move(connection_));
    }
  }
  Connection& operator*() { return *connection_; }

 private:
  SqliteStore& store_;
  std::unique_ptr<Connection> connection_;
};

namespace {

int64_t Micros(absl::Time t) { return absl::ToUnixMicros(t); }
absl::Time FromMicros(int64_t micros) { return absl::FromUnixMicros(micros); }

// Resets a statement when it goes out of scope, so that no read stays open
// (an open read would hold back WAL checkpoints).
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

// A service row and its internal key.
struct ServiceRow {
  int64_t pk = 0;
  Service service;
  std::optional<int64_t> config_version;
  std::optional<int64_t> deployed_image_version;
};

constexpr char kSelectService[] =
    "SELECT pk, service_id, name, url, status, config_version,"
    " deployed_image_version, created_at, updated_at, deleted_at"
    " FROM services WHERE service_id = ?";
constexpr char kSelectLiveServices[] =
    "SELECT pk, service_id, name, url, status, config_version,"
    " deployed_image_version, created_at, updated_at, deleted_at"
    " FROM services WHERE deleted_at IS NULL AND pk > ? ORDER BY pk LIMIT ?";

std::optional<int64_t> NullableInt(const SQLite::Column& column) {
  if (column.isNull()) {
    return std::nullopt;
  }
  return column.getInt64();
}

ServiceRow ReadServiceRow(SQLite::Statement& s) {
  ServiceRow row;
  row.pk = s.getColumn(0).getInt64();
  row.service.id = s.getColumn(1).getString();
  row.service.name = s.getColumn(2).getString();
  row.service.url = s.getColumn(3).getString();
  row.service.status = domain::ParseServiceStatus(s.getColumn(4).getString())
                           .value_or(ServiceStatus::kOperationInProgress);
  row.config_version = NullableInt(s.getColumn(5));
  row.deployed_image_version = NullableInt(s.getColumn(6));
  row.service.created_at = FromMicros(s.getColumn(7).getInt64());
  row.service.updated_at = FromMicros(s.getColumn(8).getInt64());
  if (std::optional<int64_t> deleted = NullableInt(s.getColumn(9))) {
    row.service.deleted_at = FromMicros(*deleted);
  }
  return row;
}

absl::string_view RepositoryTypeName(domain::ImageRepositoryType type) {
  return type == domain::ImageRepositoryType::kEcrPublic ? "ECR_PUBLIC" : "ECR";
}
absl::string_view ProtocolName(domain::HealthCheckProtocol protocol) {
  return protocol == domain::HealthCheckProtocol::kHttp ? "HTTP" : "TCP";
}

std::optional<ServiceConfig> LoadConfig(Connection& c, int64_t pk,
                                        int64_t version) {
  Query q(c,
          "SELECT image_identifier, image_repository_type, port, start_command,"
          " auto_deployments_enabled, cpu, memory, health_protocol,"
          " health_path, health_interval, health_timeout,"
          " health_healthy_threshold, health_unhealthy_threshold"
          " FROM service_configs WHERE service_pk = ? AND version = ?");
  q->bind(1, pk);
  q->bind(2, version);
  if (!q->executeStep()) {
    return std::nullopt;
  }
  ServiceConfig config;
  config.source.image_identifier = q->getColumn(0).getString();
  config.source.image_repository_type =
      q->getColumn(1).getString() == "ECR_PUBLIC"
          ? domain::ImageRepositoryType::kEcrPublic
          : domain::ImageRepositoryType::kEcr;
  config.source.image_configuration.port = q->getColumn(2).getString();
  config.source.image_configuration.start_command = q->getColumn(3).getString();
  config.source.auto_deployments_enabled = q->getColumn(4).getInt() != 0;
  config.instance.cpu = q->getColumn(5).getString();
  config.instance.memory = q->getColumn(6).getString();
  config.health_check.protocol = q->getColumn(7).getString() == "HTTP"
                                     ? domain::HealthCheckProtocol::kHttp
                                     : domain::HealthCheckProtocol::kTcp;
  config.health_check.path = q->getColumn(8).getString();
  config.health_check.interval = q->getColumn(9).getInt();
  config.health_check.timeout = q->getColumn(10).getInt();
  config.health_check.healthy_threshold = q->getColumn(11).getInt();
  config.health_check.unhealthy_threshold = q->getColumn(12).getInt();

  Query env(c,
            "SELECT kind, name, value FROM service_config_env"
            " WHERE service_pk = ? AND version = ?");
  env->bind(1, pk);
  env->bind(2, version);
  domain::ImageConfiguration& image = config.source.image_configuration;
  while (env->executeStep()) {
    auto& vars = env->getColumn(0).getString() == "secret"
                     ? image.runtime_environment_secrets
                     : image.runtime_environment_variables;
    vars[env->getColumn(1).getString()] = env->getColumn(2).getString();
  }
  return config;
}

void InsertConfig(Connection& c, int64_t pk, int64_t version,
                  const ServiceConfig& config) {
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

// The service with its configuration and image versions.
Service Complete(Connection& c, ServiceRow row) {
  if (row.config_version) {
    row.service.config = LoadConfig(c, row.pk, *row.config_version);
  }
  if (row.deployed_image_version) {
    row.service.deployed_image =
        LoadImage(c, row.pk, *row.deployed_image_version);
  }
  if (!row.service.deleted_at) {
    row.service.latest_image = LoadImage(c, row.pk, std::nullopt);
  }
  return std::move(row.service);
}

absl::StatusOr<ServiceRow> FindService(Connection& c,
                                       const domain::ServiceRef& service) {
  Query q(c, kSelectService);
  q->bind(1, service.id);
  if (!q->executeStep() || q->getColumn(2).getString() != service.name) {
    return absl::NotFoundError(absl::StrCat("service ", service.name, "/",
                                            service.id, " does not exist"));
  }
  return ReadServiceRow(*q);
}

void SetServiceStatus(Connection& c, int64_t pk, ServiceStatus status,
                      absl::Time now) {
  Query q(c, "UPDATE services SET status = ?, updated_at = ? WHERE pk = ?");
  q->bind(1, std::string(domain::ToString(status)));
  q->bind(2, Micros(now));
  q->bind(3, pk);
  q->exec();
}

struct OperationTargets {
  std::optional<int64_t> target_config;
  std::optional<int64_t> prior_config;
  std::optional<int64_t> target_image;
};

Operation InsertOperation(Connection& c, common::IdGenerator& ids,
                          const ServiceRow& row, OperationType type,
                          const domain::Transition& transition,
                          const OperationTargets& targets, absl::Time now) {
  Operation op;
  op.id = ids.NewOperationId();
  op.type = type;
  op.status = OperationStatus::kPending;
  op.service_id = row.service.id;
  op.service_name = row.service.name;
  op.started_at = now;
  op.updated_at = now;
  Query q(c,
          "INSERT INTO operations (operation_id, service_pk, type, status,"
          " success_status, failure_status, failure_op_status,"
          " target_config_version, prior_config_version,"
          " target_image_version, due_at, started_at, updated_at)"
          " VALUES (?, ?, ?, 'PENDING', ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  q->bind(1, op.id);
  q->bind(2, row.pk);
  q->bind(3, std::string(domain::ToString(type)));
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
  q->bind(10, Micros(now));
  q->bind(11, Micros(now));
  q->bind(12, Micros(now));
  q->exec();
  return op;
}

Operation ReadOperation(SQLite::Statement& s) {
  // Columns: operation_id, type, status, service_id, name, started_at,
  // updated_at, ended_at.
  Operation op;
  op.id = s.getColumn(0).getString();
  op.type = domain::ParseOperationType(s.getColumn(1).getString())
                .value_or(OperationType::kCreateService);
  op.status = domain::ParseOperationStatus(s.getColumn(2).getString())
                  .value_or(OperationStatus::kPending);
  op.service_id = s.getColumn(3).getString();
  op.service_name = s.getColumn(4).getString();
  op.started_at = FromMicros(s.getColumn(5).getInt64());
  op.updated_at = FromMicros(s.getColumn(6).getInt64());
  if (std::optional<int64_t> ended = NullableInt(s.getColumn(7))) {
    op.ended_at = FromMicros(*ended);
  }
  return op;
}

// Page tokens are opaque to clients: "<kind>:<numbers>" in web-safe base64.
// A token names the request it belongs to, so one from another listing is
// refused.
std::string EncodeToken(absl::string_view kind, int64_t scope, int64_t after) {
  return absl::WebSafeBase64Escape(absl::StrCat(kind, ":", scope, ":", after));
}

absl::StatusOr<int64_t> DecodeToken(absl::string_view token,
                                    absl::string_view kind, int64_t scope) {
  std::string plain;
  std::vector<absl::string_view> parts;
  int64_t token_scope = 0;
  int64_t after = 0;
  if (!absl::WebSafeBase64Unescape(token, &plain) ||
      (parts = absl::StrSplit(plain, ':')).size() != 3 || parts[0] != kind ||
      !absl::SimpleAtoi(parts[1], &token_scope) || token_scope != scope ||
      !absl::SimpleAtoi(parts[2], &after) || after < 0) {
    return absl::InvalidArgumentError(
        "next_token: not a token from the previous page of this listing");
  }
  return after;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const SqliteOptions& options, common::Clock& clock,
    common::IdGenerator& ids) {
  return GuardSqlite(
      "open database", [&]() -> absl::StatusOr<std::unique_ptr<SqliteStore>> {
        auto writer = std::make_unique<Connection>(
            options.path, SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE,
            options.busy_timeout_ms);
        SQLite::Database& db = writer->db();
        db.exec("PRAGMA journal_mode = WAL");
        db.exec(options.synchronous_full ? "PRAGMA synchronous = FULL"
                                         : "PRAGMA synchronous = NORMAL");
        db.exec("PRAGMA foreign_keys = ON");
        RETURN_IF_ERROR(Migrate(db, EmbeddedMigrations(), clock.Now()));
        std::vector<std::unique_ptr<Connection>> readers;
        for (int i = 0; i < options.read_connections; ++i) {
          readers.push_back(std::make_unique<Connection>(
              options.path, SQLite::OPEN_READONLY, options.busy_timeout_ms));
        }
        return std::unique_ptr<SqliteStore>(new SqliteStore(
            options, clock, ids, std::move(writer), std::move(readers)));
      });
}

SqliteStore::SqliteStore(const SqliteOptions& options, common::Clock& clock,
                         common::IdGenerator& ids,
                         std::unique_ptr<Connection> writer,
                         std::vector<std::unique_ptr<Connection>> readers)
    : options_(options),
      clock_(clock),
      ids_(ids),
      writer_(std::move(writer)),
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

absl::StatusOr<Accepted> SqliteStore::CreateService(const NewService& input) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite("create service", [&]() -> absl::StatusOr<Accepted> {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
    const absl::Time now = clock_.Now();
    {
      Query taken(c,
                  "SELECT 1 FROM services"
                  " WHERE name = ? AND deleted_at IS NULL");
      taken->bind(1, input.name);
      if (taken->executeStep()) {
        return absl::AlreadyExistsError(absl::StrCat(
            "service_name: a service named ", input.name, " already exists"));
      }
    }
    ServiceRow row;
    row.service.id = ids_.NewServiceId();
    row.service.name = input.name;
    row.service.url =
        absl::StrCat(ids_.NewUrlLabel(), ".", options_.url_suffix);
    row.service.status = ServiceStatus::kOperationInProgress;
    row.service.created_at = now;
    row.service.updated_at = now;
    {
      Query q(c,
              "INSERT INTO services (service_id, name, url, status,"
              " config_version, created_at, updated_at)"
              " VALUES (?, ?, ?, 'OPERATION_IN_PROGRESS', 1, ?, ?)");
      q->bind(1, row.service.id);
      q->bind(2, row.service.name);
      q->bind(3, row.service.url);
      q->bind(4, Micros(now));
      q->bind(5, Micros(now));
      q->exec();
      row.pk = c.db().getLastInsertRowid();
    }
    InsertConfig(c, row.pk, 1, input.config);
    const int64_t image =
        InsertImage(c, row.pk, input.config.source.image_identifier, now);
    for (const domain::Tag& tag : input.tags) {
      Query q(c, "INSERT INTO tags (service_pk, key, value) VALUES (?, ?, ?)");
      q->bind(1, row.pk);
      q->bind(2, tag.key);
      q->bind(3, tag.value);
      q->exec();
    }
    Operation op = InsertOperation(c, ids_, row, OperationType::kCreateService,
                                   domain::StartCreate(),
                                   {.target_config = 1,
                                    .prior_config = std::nullopt,
                                    .target_image = image},
                                   now);
    row.config_version = 1;
    Service service = Complete(c, std::move(row));
    tx.commit();
    return Accepted{std::move(service), std::move(op)};
  });
}

absl::StatusOr<Service> SqliteStore::GetService(
    const domain::ServiceRef& service) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("describe service", [&]() -> absl::StatusOr<Service> {
    // One read transaction, so the parts are of one moment.
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::DEFERRED);
    ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
    return Complete(c, std::move(row));
  });
}

absl::StatusOr<Page<Service>> SqliteStore::ListServices(
    int page_size, absl::string_view page_token) {
  int64_t after = 0;
  if (!page_token.empty()) {
    ASSIGN_OR_RETURN(after, DecodeToken(page_token, "s", 0));
  }
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("list services", [&]() -> absl::StatusOr<Page<Service>> {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::DEFERRED);
    Page<Service> page;
    std::vector<ServiceRow> rows;
    {
      Query q(c, kSelectLiveServices);
      q->bind(1, after);
      q->bind(2, page_size + 1);
      while (q->executeStep()) {
        rows.push_back(ReadServiceRow(*q));
      }
    }
    if (static_cast<int>(rows.size()) > page_size) {
      rows.pop_back();
      page.next_token = EncodeToken("s", 0, rows.back().pk);
    }
    for (ServiceRow& row : rows) {
      page.items.push_back(std::move(row.service));
    }
    return page;
  });
}

absl::StatusOr<Accepted> SqliteStore::StartOperation(
    const domain::ServiceRef& service, OperationType type,
    const domain::ConfigUpdate& update) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite(
      absl::StrCat("start ", domain::ToString(type)),
      [&]() -> absl::StatusOr<Accepted> {
        SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
        const absl::Time now = clock_.Now();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        ASSIGN_OR_RETURN(domain::Transition transition,
                         domain::Start(type, row.service.status));
        OperationTargets targets;
        switch (type) {
          case OperationType::kUpdateService: {
            std::optional<ServiceConfig> current =
                LoadConfig(c, row.pk, row.config_version.value_or(0));
            if (!current) {
              return absl::InternalError("the service has no configuration");
            }
            const ServiceConfig next = update.ApplyTo(*current);
            targets.prior_config = row.config_version;
            targets.target_config = *row.config_version + 1;
            InsertConfig(c, row.pk, *targets.target_config, next);
            // A new image identifier is a new image version; otherwise the
            // update redeploys what runs (or, after a failed create, the
            // image it could not start).
            if (next.source.image_identifier !=
                current->source.image_identifier) {
              targets.target_image =
                  InsertImage(c, row.pk, next.source.image_identifier, now);
            } else if (row.deployed_image_version) {
              targets.target_image = row.deployed_image_version;
            } else {
              targets.target_image =
                  LoadImage(c, row.pk, std::nullopt)->version;
            }
            Query q(c, "UPDATE services SET config_version = ? WHERE pk = ?");
            q->bind(1, *targets.target_config);
            q->bind(2, row.pk);
            q->exec();
            row.config_version = targets.target_config;
            break;
          }
          case OperationType::kStartDeployment:
            targets.target_config = row.config_version;
            targets.target_image = LoadImage(c, row.pk, std::nullopt)->version;
            break;
          case OperationType::kResumeService:
            // The version that ran before the pause, never a newer one.
            targets.target_config = row.config_version;
            targets.target_image = row.deployed_image_version;
            break;
          case OperationType::kPauseService:
          case OperationType::kDeleteService:
          case OperationType::kCreateService:
            break;
        }
        Operation op =
            InsertOperation(c, ids_, row, type, transition, targets, now);
        SetServiceStatus(c, row.pk, ServiceStatus::kOperationInProgress, now);
        row.service.status = ServiceStatus::kOperationInProgress;
        row.service.updated_at = now;
        Service service = Complete(c, std::move(row));
        tx.commit();
        return Accepted{std::move(service), std::move(op)};
      });
}

absl::StatusOr<SourceVersionRecorded> SqliteStore::RecordSourceVersion(
    const domain::ServiceRef& service, absl::string_view image_identifier) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite(
      "record source version", [&]() -> absl::StatusOr<SourceVersionRecorded> {
        SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
        const absl::Time now = clock_.Now();
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        if (row.service.status == ServiceStatus::kDeleted) {
          return absl::FailedPreconditionError(
              "cannot record a source version: the service is DELETED");
        }
        const int64_t version = InsertImage(c, row.pk, image_identifier, now);
        std::optional<ServiceConfig> config =
            LoadConfig(c, row.pk, row.config_version.value_or(0));
        SourceVersionRecorded result;
        // A paused service records the version only; App Runner deploys
        // nothing that arrived while paused, even with auto deployments on.
        if (row.service.status == ServiceStatus::kRunning && config &&
            config->source.auto_deployments_enabled) {
          ASSIGN_OR_RETURN(domain::Transition transition,
                           domain::Start(OperationType::kStartDeployment,
                                         row.service.status));
          result.deployment = InsertOperation(
              c, ids_, row, OperationType::kStartDeployment, transition,
              {.target_config = row.config_version,
               .prior_config = std::nullopt,
               .target_image = version},
              now);
          SetServiceStatus(c, row.pk, ServiceStatus::kOperationInProgress, now);
          row.service.status = ServiceStatus::kOperationInProgress;
          row.service.updated_at = now;
        }
        result.service = Complete(c, std::move(row));
        tx.commit();
        return result;
      });
}

absl::StatusOr<Page<Operation>> SqliteStore::ListOperations(
    const domain::ServiceRef& service, int page_size,
    absl::string_view page_token) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list operations", [&]() -> absl::StatusOr<Page<Operation>> {
        SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::DEFERRED);
        ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
        int64_t before = INT64_MAX;
        if (!page_token.empty()) {
          ASSIGN_OR_RETURN(before, DecodeToken(page_token, "o", row.pk));
        }
        Page<Operation> page;
        std::vector<int64_t> seqs;
        Query q(c,
                "SELECT o.operation_id, o.type, o.status, s.service_id,"
                " s.name, o.started_at, o.updated_at, o.ended_at, o.seq"
                " FROM operations o JOIN services s ON s.pk = o.service_pk"
                " WHERE o.service_pk = ? AND o.seq < ?"
                " ORDER BY o.seq DESC LIMIT ?");
        q->bind(1, row.pk);
        q->bind(2, before);
        q->bind(3, page_size + 1);
        while (q->executeStep()) {
          page.items.push_back(ReadOperation(*q));
          seqs.push_back(q->getColumn(8).getInt64());
        }
        if (static_cast<int>(page.items.size()) > page_size) {
          page.items.pop_back();
          page.next_token = EncodeToken("o", row.pk, seqs[page_size - 1]);
        }
        return page;
      });
}

absl::Status SqliteStore::TagService(const domain::ServiceRef& service,
                                     const std::vector<domain::Tag>& tags) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite("tag resource", [&]() -> absl::Status {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
    ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    for (const domain::Tag& tag : tags) {
      Query q(c,
              "INSERT INTO tags (service_pk, key, value) VALUES (?, ?, ?)"
              " ON CONFLICT (service_pk, key) DO UPDATE SET value = "
              "excluded.value");
      q->bind(1, row.pk);
      q->bind(2, tag.key);
      q->bind(3, tag.value);
      q->exec();
    }
    Query count(c, "SELECT COUNT(*) FROM tags WHERE service_pk = ?");
    count->bind(1, row.pk);
    count->executeStep();
    if (count->getColumn(0).getInt() > domain::kMaxTagsPerResource) {
      return absl::InvalidArgumentError(
          absl::StrCat("tags: a resource may have at most ",
                       domain::kMaxTagsPerResource, " tags"));
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::Status SqliteStore::UntagService(const domain::ServiceRef& service,
                                       const std::vector<std::string>& keys) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite("untag resource", [&]() -> absl::Status {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
    ASSIGN_OR_RETURN(ServiceRow row, FindService(c, service));
    RETURN_IF_ERROR(domain::CheckCanTag(row.service.status));
    for (const std::string& key : keys) {
      Query q(c, "DELETE FROM tags WHERE service_pk = ? AND key = ?");
      q->bind(1, row.pk);
      q->bind(2, key);
      q->exec();
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<domain::Tag>> SqliteStore::ListTags(
    const domain::ServiceRef& service) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "list tags", [&]() -> absl::StatusOr<std::vector<domain::Tag>> {
        SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::DEFERRED);
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

absl::StatusOr<std::vector<Work>> SqliteStore::TakeDueOperations(
    absl::Time now, absl::Duration compute_time, int limit) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite(
      "take due operations", [&]() -> absl::StatusOr<std::vector<Work>> {
        SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
        {
          Query claim(c,
                      "UPDATE operations SET status = 'IN_PROGRESS',"
                      " due_at = ?1, updated_at = ?2"
                      " WHERE due_at <= ?2 AND status = 'PENDING'");
          claim->bind(1, Micros(now + compute_time));
          claim->bind(2, Micros(now));
          claim->exec();
        }
        std::vector<Work> due;
        struct Targets {
          int64_t pk;
          std::optional<int64_t> config;
          std::optional<int64_t> image;
        };
        std::vector<Targets> targets;
        {
          Query q(c,
                  "SELECT o.operation_id, o.type, o.status, s.service_id,"
                  " s.name, o.started_at, o.updated_at, o.ended_at,"
                  " o.service_pk, o.target_config_version,"
                  " o.target_image_version"
                  " FROM operations o JOIN services s ON s.pk = o.service_pk"
                  " WHERE o.due_at <= ? AND o.status = 'IN_PROGRESS'"
                  " ORDER BY o.due_at, o.seq LIMIT ?");
          q->bind(1, Micros(now));
          q->bind(2, limit);
          while (q->executeStep()) {
            due.push_back(Work{ReadOperation(*q), {}, {}});
            targets.push_back({q->getColumn(8).getInt64(),
                               NullableInt(q->getColumn(9)),
                               NullableInt(q->getColumn(10))});
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
        tx.commit();
        return due;
      });
}

absl::Status SqliteStore::FinishOperation(absl::string_view operation_id,
                                          bool succeeded,
                                          absl::string_view error,
                                          absl::Time now) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite("finish operation", [&]() -> absl::Status {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
    Query q(c,
            "SELECT service_pk, type, success_status, failure_status,"
            " failure_op_status, target_config_version, prior_config_version,"
            " target_image_version, ended_at"
            " FROM operations WHERE operation_id = ?");
    q->bind(1, std::string(operation_id));
    if (!q->executeStep()) {
      return absl::NotFoundError(
          absl::StrCat("operation ", operation_id, " does not exist"));
    }
    if (!q->getColumn(8).isNull()) {
      return absl::FailedPreconditionError(
          absl::StrCat("operation ", operation_id, " has already ended"));
    }
    const int64_t pk = q->getColumn(0).getInt64();
    const std::string type = q->getColumn(1).getString();
    const std::string service_status =
        q->getColumn(succeeded ? 2 : 3).getString();
    const std::string op_status =
        succeeded ? "SUCCEEDED" : q->getColumn(4).getString();
    const std::optional<int64_t> target_config = NullableInt(q->getColumn(5));
    const std::optional<int64_t> prior_config = NullableInt(q->getColumn(6));
    const std::optional<int64_t> target_image = NullableInt(q->getColumn(7));

    Query end(c,
              "UPDATE operations SET status = ?, due_at = NULL, ended_at = ?,"
              " updated_at = ?, error_message = ? WHERE operation_id = ?");
    end->bind(1, op_status);
    end->bind(2, Micros(now));
    end->bind(3, Micros(now));
    if (!succeeded) {
      end->bind(4, std::string(error));
    }
    end->bind(5, std::string(operation_id));
    end->exec();

    if (!(succeeded && type == "DELETE_SERVICE")) {
      Query status(
          c, "UPDATE services SET status = ?, updated_at = ? WHERE pk = ?");
      status->bind(1, service_status);
      status->bind(2, Micros(now));
      status->bind(3, pk);
      status->exec();
    }
    if (succeeded && type == "DELETE_SERVICE") {
      // Delete purges the stored image, the configuration and the tags; the
      // operation history stays.
      Query deleted(c,
                    "UPDATE services SET status = 'DELETED', updated_at = ?1,"
                    " deleted_at = ?1, config_version = NULL,"
                    " deployed_image_version = NULL WHERE pk = ?2");
      deleted->bind(1, Micros(now));
      deleted->bind(2, pk);
      deleted->exec();
      for (const char* sql : {
               "DELETE FROM service_configs WHERE service_pk = ?",
               "DELETE FROM service_images WHERE service_pk = ?",
               "DELETE FROM tags WHERE service_pk = ?",
           }) {
        Query purge(c, sql);
        purge->bind(1, pk);
        purge->exec();
      }
    } else if (succeeded && target_image) {
      // What ran before is no longer needed: keep the deployed version and
      // the newer ones, and only the configuration that now runs.
      Query deployed(
          c, "UPDATE services SET deployed_image_version = ? WHERE pk = ?");
      deployed->bind(1, *target_image);
      deployed->bind(2, pk);
      deployed->exec();
      Query old_images(
          c, "DELETE FROM service_images WHERE service_pk = ? AND version < ?");
      old_images->bind(1, pk);
      old_images->bind(2, *target_image);
      old_images->exec();
      if (target_config) {
        Query old_configs(c,
                          "DELETE FROM service_configs"
                          " WHERE service_pk = ? AND version < ?");
        old_configs->bind(1, pk);
        old_configs->bind(2, *target_config);
        old_configs->exec();
      }
    } else if (!succeeded && prior_config && target_config) {
      // A failed update goes back to the configuration it replaced, and
      // forgets the image version it added (if it changed the image).
      if (target_image) {
        Query added(c,
                    "DELETE FROM service_images WHERE service_pk = ?1"
                    " AND version = ?2 AND image_identifier <> ("
                    "  SELECT image_identifier FROM service_configs"
                    "  WHERE service_pk = ?1 AND version = ?3)");
        added->bind(1, pk);
        added->bind(2, *target_image);
        added->bind(3, *prior_config);
        added->exec();
      }
      Query back(c, "UPDATE services SET config_version = ? WHERE pk = ?");
      back->bind(1, *prior_config);
      back->bind(2, pk);
      back->exec();
      Query drop(c,
                 "DELETE FROM service_configs"
                 " WHERE service_pk = ? AND version = ?");
      drop->bind(1, pk);
      drop->bind(2, *target_config);
      drop->exec();
    }
    tx.commit();
    return absl::OkStatus();
  });
}

absl::StatusOr<int> SqliteStore::RecoverOperations(absl::Time latest_due) {
  absl::MutexLock lock(&write_mu_);
  Connection& c = *writer_;
  return GuardSqlite("recover operations", [&]() -> absl::StatusOr<int> {
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::IMMEDIATE);
    Query q(c, "UPDATE operations SET due_at = ?1 WHERE due_at > ?1");
    q->bind(1, Micros(latest_due));
    q->exec();
    Query open(c, "SELECT COUNT(*) FROM operations WHERE due_at IS NOT NULL");
    open->executeStep();
    const int count = open->getColumn(0).getInt();
    tx.commit();
    return count;
  });
}

absl::StatusOr<std::optional<absl::Time>> SqliteStore::NextDueTime() {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite(
      "next due time", [&]() -> absl::StatusOr<std::optional<absl::Time>> {
        Query q(c,
                "SELECT MIN(due_at) FROM operations WHERE due_at IS NOT NULL");
        q->executeStep();
        std::optional<int64_t> due = NullableInt(q->getColumn(0));
        if (!due) {
          return std::nullopt;
        }
        return FromMicros(*due);
      });
}

absl::StatusOr<StoreStats> SqliteStore::GetStats(absl::Time now) {
  ReadLease lease = Read();
  Connection& c = *lease;
  return GuardSqlite("read statistics", [&]() -> absl::StatusOr<StoreStats> {
    // One read transaction, so that the numbers agree with each other.
    SQLite::Transaction tx(c.db(), SQLite::TransactionBehavior::DEFERRED);
    StoreStats stats;
    {
      // operations_due holds exactly the open operations.
      Query q(c,
              "SELECT COUNT(*), MIN(started_at) FROM operations"
              " WHERE due_at IS NOT NULL");
      q->executeStep();
      stats.open_operations = q->getColumn(0).getInt64();
      if (std::optional<int64_t> oldest = NullableInt(q->getColumn(1))) {
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
