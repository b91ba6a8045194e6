#include "common/process_defaults.h"

#include <malloc.h>

#include "absl/synchronization/mutex.h"

namespace servicemanager::common {

void SetServingProcessDefaults() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Memory that stays free is still handed back above 64 MiB.
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
}

}  // namespace servicemanager::common
