// The Store on SQLite, in WAL mode with foreign keys on.
//
// Writes go through one connection (SQLite has one writer anyway, and this
// keeps lock waits out of the database), with group commit: writes that
// arrive while a transaction commits wait and then share the next one, each
// in its own savepoint, so one fsync serves many calls while each call's
// changes still commit all or nothing, and no call returns before its commit.
// Reads use a small pool of their own connections, so they never wait behind
// a write. Every connection keeps its prepared statements.
// Thread-safe. The clock and id generator must outlive the store.
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_STORE_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_STORE_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "store/sqlite_checkpointer.h"
#include "store/store.h"
#include "store/store_common.h"

namespace servicemanager::store {

class Connection;

struct SqliteOptions : StoreOptions {
  std::string path;  // The database file; created if missing.
  // FULL survives power loss; NORMAL (WAL) survives a process crash.
  bool synchronous_full = true;
  int read_connections = 4;
  // Page cache of each connection. The hot pages of a large database (the
  // service and operation indexes) fit, so reads seldom go to the file.
  int cache_kib = 8192;
  // How long a write waits for a lock held by another process before it
  // fails UNAVAILABLE.
  int busy_timeout_ms = 5000;
  // The SQLite VFS to open the file with; empty for the default. Tests use a
  // fault-injecting one.
  std::string vfs;
  // The most writes that share one transaction.
  int max_writes_per_commit = 256;
};

// The key of service `service_id`'s row in service_snapshots: its last 15
// hex digits as an integer, as the services.snapshot_key column computes it
// (migrations/0008). None if those are not lowercase hex digits.
std::optional<int64_t> SnapshotKey(absl::string_view service_id);

class SqliteStore final : public Store {
 public:
  // Opens the database, sets its PRAGMAs and applies the embedded migrations.
  // FAILED_PRECONDITION for a newer schema; UNAVAILABLE if it cannot open.
  // `observer`, if any, must outlive the store.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(
      const SqliteOptions& options, common::Clock& clock,
      common::IdGenerator& ids, ChangeObserver* observer = nullptr);

  ~SqliteStore() override;

  absl::StatusOr<Accepted> CreateService(const NewService& service,
                                         const CallOptions& options) override;
  absl::StatusOr<domain::Service> GetService(
      const domain::ServiceRef& service) override;
  absl::StatusOr<Page<domain::Service>> ListServices(
      const domain::AccountScope& scope, int page_size,
      absl::string_view page_token,
      std::optional<absl::Time> deleted_since) override;
  absl::StatusOr<Accepted> StartOperation(const domain::ServiceRef& service,
                                          domain::OperationType type,
                                          const domain::ConfigUpdate& update,
                                          const CallOptions& options) override;
  absl::StatusOr<domain::Operation> GetOperation(
      const domain::AccountScope& scope,
      absl::string_view operation_id) override;
  absl::StatusOr<domain::Operation> CancelOperation(
      const domain::AccountScope& scope, absl::string_view operation_id,
      bool validate_only) override;
  absl::StatusOr<SourceVersionRecorded> RecordSourceVersion(
      const domain::ServiceRef& service, absl::string_view image_identifier,
      bool validate_only) override;
  absl::StatusOr<Page<domain::Operation>> ListOperations(
      const domain::ServiceRef& service, int page_size,
      absl::string_view page_token) override;
  absl::Status TagService(const domain::ServiceRef& service,
                          const std::vector<domain::Tag>& tags,
                          bool validate_only) override;
  absl::Status UntagService(const domain::ServiceRef& service,
                            const std::vector<std::string>& keys,
                            bool validate_only) override;
  absl::StatusOr<std::vector<domain::Tag>> ListTags(
      const domain::ServiceRef& service) override;
  absl::StatusOr<domain::Connection> CreateConnection(
      const NewConnection& connection) override;
  absl::StatusOr<domain::Connection> DeleteConnection(
      const domain::ConnectionRef& connection) override;
  absl::StatusOr<Page<domain::Connection>> ListConnections(
      absl::string_view account_id, std::optional<std::string> name,
      int page_size, absl::string_view page_token) override;
  absl::Status TagConnection(const domain::ConnectionRef& connection,
                             const std::vector<domain::Tag>& tags,
                             bool validate_only) override;
  absl::Status UntagConnection(const domain::ConnectionRef& connection,
                               const std::vector<std::string>& keys,
                               bool validate_only) override;
  absl::StatusOr<std::vector<domain::Tag>> ListConnectionTags(
      const domain::ConnectionRef& connection) override;
  absl::StatusOr<DomainChange> AssociateCustomDomain(
      const domain::ServiceRef& service, absl::string_view account_id,
      absl::string_view domain_name, bool enable_www_subdomain) override;
  absl::StatusOr<DomainChange> DisassociateCustomDomain(
      const domain::ServiceRef& service,
      absl::string_view domain_name) override;
  absl::StatusOr<ServiceDomains> ListCustomDomains(
      const domain::ServiceRef& service, int page_size,
      absl::string_view page_token) override;
  absl::StatusOr<std::vector<Work>> TakeDueOperations(
      absl::Time now, absl::Duration compute_time, absl::Duration lease,
      int limit) override;
  absl::Status RenewLeases(const std::vector<std::string>& operation_ids,
                           absl::Time until) override;
  std::vector<absl::Status> FinishOperations(
      const std::vector<Finish>& finishes, absl::Time now) override;
  absl::StatusOr<int> ExpireOperations(absl::Time now) override;
  absl::StatusOr<Purged> Purge(const PurgeRequest& request) override;
  absl::StatusOr<int> RecoverOperations(absl::Time latest_due) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueTime() override;
  absl::StatusOr<int> AllocateEndpoint(absl::string_view service_id,
                                       absl::string_view address,
                                       int first_port, int last_port) override;
  absl::Status RecordImageDigest(absl::string_view service_id, int64_t version,
                                 absl::string_view digest) override;

  // Transactions committed so far: with group commit, fewer than writes.
  int64_t commits() const;
  absl::StatusOr<StoreStats> GetStats(absl::Time now) override;

 private:
  // Lends a read connection for the lifetime of the lease.
  class ReadLease;

  SqliteStore(const SqliteOptions& options, common::Clock& clock,
              common::IdGenerator& ids, ChangeObserver* observer,
              std::unique_ptr<Connection> writer,
              std::unique_ptr<SqliteCheckpointer> checkpointer,
              std::vector<std::unique_ptr<Connection>> readers);

  ReadLease Read();

  // What a write's body works with: the writer connection, inside the
  // write's savepoint.
  struct WriteContext {
    Connection& connection;
    // Told to the observer once the transaction commits.
    std::vector<Change> changes;
    // Roll the write back although it succeeded (validate_only).
    bool discard = false;
  };
  using WriteBody = std::function<absl::Status(WriteContext&)>;
  struct PendingWrite;

  // Runs `body` as one write (see the class comment) and returns its status,
  // or the commit's if the commit failed. `what` names it in errors.
  absl::Status Write(absl::string_view what, WriteBody body);
  // Several writes, committed together; one status each.
  std::vector<absl::Status> WriteAll(absl::string_view what,
                                     std::vector<WriteBody> bodies);
  // Runs the batch's transaction, then moves readers to a new snapshot.
  void RunBatch(const std::vector<PendingWrite*>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);
  void RunBatchInTransaction(const std::vector<PendingWrite*>& batch)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_);

  // Runs `body` as one write, honouring `options` (client token,
  // validate_only).
  template <typename Body>
  absl::StatusOr<Accepted> Accept(absl::string_view what,
                                  const CallOptions& options, Body&& body);
  absl::Status FinishOne(WriteContext& w, const Finish& finish, absl::Time now);

  const SqliteOptions options_;
  common::Clock& clock_;
  common::IdGenerator& ids_;
  ChangeObserver* const observer_;

  // Writes waiting for a transaction, and whether one is being run.
  absl::Mutex queue_mu_;
  std::deque<PendingWrite*> queue_ ABSL_GUARDED_BY(queue_mu_);
  bool leading_ ABSL_GUARDED_BY(queue_mu_) = false;
  std::atomic<int64_t> commits_ = 0;
  // Batches of writes run so far, committed or not: a reader's snapshot is
  // current while this has not moved since it began.
  std::atomic<int64_t> write_generation_ = 0;

  absl::Mutex write_mu_;
  std::unique_ptr<Connection> writer_ ABSL_GUARDED_BY(write_mu_);
  // Checkpoints the writer's log; goes before the writer does.
  std::unique_ptr<SqliteCheckpointer> checkpointer_;

  absl::Mutex read_mu_;
  std::vector<std::unique_ptr<Connection>> idle_readers_
      ABSL_GUARDED_BY(read_mu_);
};

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_STORE_H_
