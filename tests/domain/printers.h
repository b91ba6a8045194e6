// gtest printers for the domain's enums, so failures read "PAUSED" rather
// than a byte dump. Shared by domain_test, store_test and worker_test.
#ifndef SERVICEMANAGER_TESTS_DOMAIN_PRINTERS_H_
#define SERVICEMANAGER_TESTS_DOMAIN_PRINTERS_H_

#include <ostream>

#include "domain/operation.h"
#include "domain/service.h"

namespace servicemanager::domain {

inline void PrintTo(ServiceStatus status, std::ostream* os) {
  *os << ToString(status);
}
inline void PrintTo(OperationType type, std::ostream* os) {
  *os << ToString(type);
}
inline void PrintTo(OperationStatus status, std::ostream* os) {
  *os << ToString(status);
}

}  // namespace servicemanager::domain

#endif  // SERVICEMANAGER_TESTS_DOMAIN_PRINTERS_H_
