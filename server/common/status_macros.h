// RETURN_IF_ERROR and ASSIGN_OR_RETURN, which abseil 20220623 lacks.
#ifndef SERVICEMANAGER_SERVER_COMMON_STATUS_MACROS_H_
#define SERVICEMANAGER_SERVER_COMMON_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define SM_CONCAT_INNER_(a, b) a##b
#define SM_CONCAT_(a, b) SM_CONCAT_INNER_(a, b)

#define RETURN_IF_ERROR(expr)                                 \
  do {                                                        \
    if (absl::Status sm_status_ = (expr); !sm_status_.ok()) { \
      return sm_status_;                                      \
    }                                                         \
  } while (false)

#define ASSIGN_OR_RETURN(lhs, expr) \
  SM_ASSIGN_OR_RETURN_IMPL_(SM_CONCAT_(sm_statusor_, __LINE__), lhs, expr)

#define SM_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr) \
  auto statusor = (expr);                              \
  if (!statusor.ok()) {                                \
    return std::move(statusor).status();               \
  }                                                    \
  lhs = std::move(statusor).value()

#endif  // SERVICEMANAGER_SERVER_COMMON_STATUS_MACROS_H_
