// The Store on PostgreSQL (libpqxx), for several servers sharing one
// database.
//
// Each call is one transaction on a pooled connection: READ COMMITTED for
// writes, which lock the service row they check (SELECT ... FOR UPDATE), and
// REPEATABLE READ, read only, for reads of several statements. A write that
// loses a race to a unique index (a name, a client token, the one open
// operation of a service), a serialization failure or a deadlock runs again
// from the start, so its checks see the winner and answer as SQLite would.
// A connection that breaks is dropped, never reused: the call answers
// UNAVAILABLE and the next one opens a new connection.
// Every transaction that changes an operation or a service notifies the
// channel of its schema ("sm_ops.SCHEMA") as it commits ("REPLICA SERVICE_ID
// [OPERATION_ID STATUS]").
// With an observer, the store keeps one LISTEN connection. Another replica's
// change of an operation that has not ended tells the observer there may be
// work (OnRemoteWork: the worker wakes); a change that someone here waits on
// (ChangeObserver::Watches) is read back and told to the observer as a
// remote Change, so that WaitOperation and WatchService on this replica see
// it at once. The listener reconnects after a break; notifications sent
// meanwhile are lost (waits still end at their timeout with the operation as
// it stands, and the worker's poll finds the work).
// Thread-safe. The clock and id generator must outlive the store.
#ifndef SERVICEMANAGER_SERVER_STORE_POSTGRES_STORE_H_
#define SERVICEMANAGER_SERVER_STORE_POSTGRES_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/id_generator.h"
#include "store/store.h"
#include "store/store_common.h"

namespace servicemanager::store {

// The key of the store's advisory lock named by the statement's parameter $1
// (migrate, ports, expire, purge, recover), as a SQL expression. The key
// hashes the schema's name with the lock's: deployments in two schemas of
// one database (each with its search_path) neither wait for nor skip each
// other's.
inline constexpr char kPostgresLockKey[] =
    "hashtextextended(coalesce(current_schema(), '') || '.' || $1, 0)";

struct PostgresOptions : StoreOptions {
  // A libpq connection URL: postgres://user:password@host:port/dbname?...
  std::string url;
  // The most connections the API's calls use at once. The worker, janitor
  // and listener have 2 more of their own, and LISTEN one.
  int pool_size = 8;
};

class PostgresStore final : public Store {
 public:
  // Connects, then applies the embedded PostgreSQL migrations under an
  // advisory lock (so that servers starting together migrate once), then,
  // with an observer, listens for other replicas' changes.
  // FAILED_PRECONDITION for a newer schema; UNAVAILABLE if it cannot connect
  // or listen. `observer`, if any, must outlive the store.
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(
      const PostgresOptions& options, common::Clock& clock,
      common::IdGenerator& ids, ChangeObserver* observer = nullptr);

  ~PostgresStore() override;

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
  absl::StatusOr<StoreStats> GetStats(absl::Time now) override;

 private:
  class Connection;
  // Lends a pooled connection for the lifetime of the lease.
  class Lease;
  // What a transaction's body works with (defined in the .cc).
  struct Tx;
  using Body = std::function<absl::Status(Tx&)>;

  PostgresStore(const PostgresOptions& options, common::Clock& clock,
                common::IdGenerator& ids, ChangeObserver* observer);

  // Connections, opened as needed up to `size`, lent one call at a time.
  struct Pool {
    // Both where Connection is complete.
    explicit Pool(int size);
    ~Pool();
    const int size;
    absl::Mutex mu;
    std::vector<std::unique_ptr<Connection>> idle ABSL_GUARDED_BY(mu);
    int open ABSL_GUARDED_BY(mu) = 0;
  };
  // Which pool a transaction uses: the API's calls, or the worker, janitor
  // and listener. Each has its own, so that a busy API cannot starve the
  // worker of connections (its operations would never finish) and the
  // worker cannot take the API's.
  enum class Lane { kCalls, kBackground };
  // A connection of `pool`, opened if none is idle and the pool has room.
  absl::StatusOr<Lease> Acquire(Pool& pool);
  // Closes the idle connections of both pools, after one of them broke.
  void DropIdleConnections();
  // Runs `body` in one transaction (see the class comment) and commits it
  // unless it fails or sets Tx::discard. `what` names it in errors.
  absl::Status Write(absl::string_view what, const Body& body);
  // Runs `body` in one read-only transaction.
  absl::Status Read(absl::string_view what, const Body& body);
  // The same, on the background pool.
  absl::Status BackgroundWrite(absl::string_view what, const Body& body);
  absl::Status BackgroundRead(absl::string_view what, const Body& body);
  absl::Status Run(absl::string_view what, bool write, const Body& body,
                   Lane lane);

  // Runs `body` as one write, honouring `options` (client token,
  // validate_only).
  template <typename Make>
  absl::StatusOr<Accepted> Accept(absl::string_view what,
                                  const CallOptions& options, Make&& make);
  absl::Status FinishOne(Tx& tx, const Finish& finish, absl::Time now);

  const PostgresOptions options_;
  common::Clock& clock_;
  common::IdGenerator& ids_;
  ChangeObserver* const observer_;

  static constexpr int kBackgroundConnections = 2;
  Pool calls_{options_.pool_size};
  // The worker and its lease renewer, the janitor, the deadline sweeper and
  // the listener's read-backs.
  Pool background_{kBackgroundConnections};

  // A LISTEN connection and what receives its notifications.
  struct ListenSession;
  // Connects and listens; nullptr if it cannot (logged).
  std::unique_ptr<ListenSession> StartListening();
  // The LISTEN connection's loop, reconnecting after a break, until the
  // store is destroyed.
  void Listen(std::unique_ptr<ListenSession> session);
  // Reads back what another replica's notification `payload` names and
  // tells the observer.
  void PublishRemote(absl::string_view payload);
  bool ListenerStopping() const {
    absl::MutexLock lock(&listener_mu_);
    return listener_stopping_;
  }

  // A commit that changed services holds their stripes until the observer
  // has seen it, so the observer sees each service's changes in commit order
  // (the service row lock orders the transactions themselves).
  std::array<absl::Mutex, 64> commit_stripes_;

  // The notification channel of the store's schema, set by Open.
  std::string channel_;
  mutable absl::Mutex listener_mu_;
  bool listener_stopping_ ABSL_GUARDED_BY(listener_mu_) = false;
  std::thread listener_;
};

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_POSTGRES_STORE_H_
