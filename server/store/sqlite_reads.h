// The SQLite store's statements on its busiest read paths: DescribeService
// and a page of ListOperations. They live here, not in sqlite_store.cc, so
// that bench/page_misses.cc measures the very SQL the store runs.
#ifndef SERVICEMANAGER_SERVER_STORE_SQLITE_READS_H_
#define SERVICEMANAGER_SERVER_STORE_SQLITE_READS_H_

#include "store/store_common.h"

namespace servicemanager::store {

// A service by the key of its service_snapshots row (one B-tree), which
// triggers keep in step with services in every transaction: its service
// row, and all of DescribeService's columns. Bound to the snapshot key (?1)
// and the service id (?2); no row if another service has that key (their
// ids end alike), when the store reads services or the view instead.
inline constexpr char kSelectServiceByKey[] = "SELECT " SM_SERVICE_COLUMNS(
    "s") " FROM service_snapshots s WHERE snapshot_key = ? AND service_id = ?";
inline constexpr char kSnapshotByKey[] =
    "SELECT " SM_SNAPSHOT_COLUMNS
    " FROM service_snapshots WHERE snapshot_key = ? AND service_id = ?";

// A page of a service's operations, newest first: bound to the service's pk
// (?1), the seq to start below (?2) and the most rows to return (?3).
inline constexpr char kSelectOperationSummaries[] =
    "SELECT " SM_OPERATION_SUMMARY_COLUMNS
    " FROM operations o WHERE o.service_pk = ? AND o.seq < ?"
    " ORDER BY o.seq DESC LIMIT ?";

}  // namespace servicemanager::store

#endif  // SERVICEMANAGER_SERVER_STORE_SQLITE_READS_H_
