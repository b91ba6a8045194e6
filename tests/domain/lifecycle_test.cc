#include "domain/lifecycle.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "domain/operation.h"
#include "domain/service.h"
#include "tests/domain/printers.h"
#include "tests/testing/status_matchers.h"

namespace {

using ::servicemanager::domain::CheckCanChangeCustomDomains;
using ::servicemanager::domain::CheckCanTag;
using ::servicemanager::domain::OperationStatus;
using ::servicemanager::domain::OperationType;
using ::servicemanager::domain::ServiceStatus;
using ::servicemanager::domain::Start;
using ::servicemanager::domain::StartCreate;
using ::servicemanager::domain::ToString;
using ::servicemanager::domain::Transition;
using ::servicemanager::testing::IsOk;
using ::servicemanager::testing::StatusIs;
using ::testing::HasSubstr;

constexpr ServiceStatus kAllStatuses[] = {
    ServiceStatus::kCreateFailed, ServiceStatus::kRunning,
    ServiceStatus::kDeleted,      ServiceStatus::kDeleteFailed,
    ServiceStatus::kPaused,       ServiceStatus::kOperationInProgress,
};

constexpr OperationType kNonCreateTypes[] = {
    OperationType::kUpdateService, OperationType::kStartDeployment,
    OperationType::kPauseService,  OperationType::kResumeService,
    OperationType::kDeleteService,
};

struct Case {
  ServiceStatus current;
  OperationType type;
  // Empty when App Runner refuses the operation in `current`.
  std::optional<Transition> expected;
};

constexpr Transition kUpdateFromRunning{ServiceStatus::kRunning,
                                        ServiceStatus::kRunning,
                                        OperationStatus::kRollbackSucceeded};
constexpr Transition kDeployFromRunning{ServiceStatus::kRunning,
                                        ServiceStatus::kRunning,
                                        OperationStatus::kRollbackSucceeded};
constexpr Transition kPause{ServiceStatus::kPaused, ServiceStatus::kRunning,
                            OperationStatus::kRollbackSucceeded};
constexpr Transition kResume{ServiceStatus::kRunning, ServiceStatus::kPaused,
                             OperationStatus::kRollbackSucceeded};
constexpr Transition kDelete{ServiceStatus::kDeleted,
                             ServiceStatus::kDeleteFailed,
                             OperationStatus::kFailed};
constexpr Transition kUpdateFromCreateFailed{
    ServiceStatus::kRunning, ServiceStatus::kCreateFailed,
    OperationStatus::kRollbackSucceeded};

// Every status x every non-create operation type, exactly once.
const std::vector<Case>& Table() {
  static const auto* table = new std::vector<Case>{
      {ServiceStatus::kRunning, OperationType::kUpdateService,
       kUpdateFromRunning},
      {ServiceStatus::kRunning, OperationType::kStartDeployment,
       kDeployFromRunning},
      {ServiceStatus::kRunning, OperationType::kPauseService, kPause},
      {ServiceStatus::kRunning, OperationType::kResumeService, std::nullopt},
      {ServiceStatus::kRunning, OperationType::kDeleteService, kDelete},

      {ServiceStatus::kPaused, OperationType::kUpdateService, std::nullopt},
      {ServiceStatus::kPaused, OperationType::kStartDeployment, std::nullopt},
      {ServiceStatus::kPaused, OperationType::kPauseService, std::nullopt},
      {ServiceStatus::kPaused, OperationType::kResumeService, kResume},
      {ServiceStatus::kPaused, OperationType::kDeleteService, kDelete},

      {ServiceStatus::kOperationInProgress, OperationType::kUpdateService,
       std::nullopt},
      {ServiceStatus::kOperationInProgress, OperationType::kStartDeployment,
       std::nullopt},
      {ServiceStatus::kOperationInProgress, OperationType::kPauseService,
       std::nullopt},
      {ServiceStatus::kOperationInProgress, OperationType::kResumeService,
       std::nullopt},
      {ServiceStatus::kOperationInProgress, OperationType::kDeleteService,
       std::nullopt},

      {ServiceStatus::kCreateFailed, OperationType::kUpdateService,
       kUpdateFromCreateFailed},
      {ServiceStatus::kCreateFailed, OperationType::kStartDeployment,
       std::nullopt},
      {ServiceStatus::kCreateFailed, OperationType::kPauseService,
       std::nullopt},
      {ServiceStatus::kCreateFailed, OperationType::kResumeService,
       std::nullopt},
      {ServiceStatus::kCreateFailed, OperationType::kDeleteService, kDelete},

      {ServiceStatus::kDeleteFailed, OperationType::kUpdateService,
       std::nullopt},
      {ServiceStatus::kDeleteFailed, OperationType::kStartDeployment,
       std::nullopt},
      {ServiceStatus::kDeleteFailed, OperationType::kPauseService,
       std::nullopt},
      {ServiceStatus::kDeleteFailed, OperationType::kResumeService,
       std::nullopt},
      {ServiceStatus::kDeleteFailed, OperationType::kDeleteService, kDelete},

      {ServiceStatus::kDeleted, OperationType::kUpdateService, std::nullopt},
      {ServiceStatus::kDeleted, OperationType::kStartDeployment, std::nullopt},
      {ServiceStatus::kDeleted, OperationType::kPauseService, std::nullopt},
      {ServiceStatus::kDeleted, OperationType::kResumeService, std::nullopt},
      {ServiceStatus::kDeleted, OperationType::kDeleteService, std::nullopt},
  };
  return *table;
}

TEST(LifecycleTableTest, CoversEveryStatusAndOperationTypeExactlyOnce) {
  std::set<std::pair<ServiceStatus, OperationType>> seen;
  for (const Case& c : Table()) {
    EXPECT_TRUE(seen.emplace(c.current, c.type).second)
        << ToString(c.current) << " x " << ToString(c.type) << " is repeated";
  }
  EXPECT_EQ(seen.size(), std::size(kAllStatuses) * std::size(kNonCreateTypes));
  for (ServiceStatus status : kAllStatuses) {
    for (OperationType type : kNonCreateTypes) {
      EXPECT_TRUE(seen.contains({status, type}))
          << ToString(status) << " x " << ToString(type) << " is missing";
    }
  }
}

class LifecycleStartTest : public ::testing::TestWithParam<Case> {};

TEST_P(LifecycleStartTest, AllowsOrRefusesAsAppRunnerDoes) {
  const Case& c = GetParam();
  auto transition = Start(c.type, c.current);
  if (c.expected) {
    ASSERT_THAT(transition, IsOk());
    EXPECT_EQ(transition->on_success, c.expected->on_success);
    EXPECT_EQ(transition->on_failure, c.expected->on_failure);
    EXPECT_EQ(transition->failure_status, c.expected->failure_status);
  } else {
    EXPECT_THAT(transition,
                StatusIs(absl::StatusCode::kFailedPrecondition,
                         HasSubstr(std::string(ToString(c.current)))));
  }
}

INSTANTIATE_TEST_SUITE_P(EveryStatusAndType, LifecycleStartTest,
                         ::testing::ValuesIn(Table()),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           return absl::StrCat(ToString(info.param.current),
                                               "_", ToString(info.param.type));
                         });

TEST(LifecycleTest, RefusalWhileInProgressSaysToRetryLater) {
  auto transition =
      Start(OperationType::kPauseService, ServiceStatus::kOperationInProgress);
  EXPECT_THAT(transition, StatusIs(absl::StatusCode::kFailedPrecondition,
                                   HasSubstr("OPERATION_IN_PROGRESS")));
}

TEST(LifecycleTest, CreateEndsRunningOrCreateFailedWithFailed) {
  const Transition create = StartCreate();
  EXPECT_EQ(create.on_success, ServiceStatus::kRunning);
  EXPECT_EQ(create.on_failure, ServiceStatus::kCreateFailed);
  EXPECT_EQ(create.failure_status, OperationStatus::kFailed);
}

TEST(LifecycleTest, TagsMayChangeExceptWhileInProgressOrDeleted) {
  for (ServiceStatus status : kAllStatuses) {
    SCOPED_TRACE(ToString(status));
    if (status == ServiceStatus::kOperationInProgress ||
        status == ServiceStatus::kDeleted) {
      EXPECT_THAT(CheckCanTag(status),
                  StatusIs(absl::StatusCode::kFailedPrecondition,
                           HasSubstr(std::string(ToString(status)))));
    } else {
      EXPECT_THAT(CheckCanTag(status), IsOk());
    }
  }
}

TEST(LifecycleTest, CustomDomainsChangeExceptWhilePausedInProgressOrDeleted) {
  for (ServiceStatus status : kAllStatuses) {
    SCOPED_TRACE(ToString(status));
    const absl::Status checked =
        CheckCanChangeCustomDomains(status, "associate a custom domain");
    if (status == ServiceStatus::kPaused ||
        status == ServiceStatus::kOperationInProgress ||
        status == ServiceStatus::kDeleted) {
      EXPECT_THAT(checked, StatusIs(absl::StatusCode::kFailedPrecondition,
                                    HasSubstr(absl::StrCat(
                                        "cannot associate a custom domain: the "
                                        "service is ",
                                        ToString(status)))));
    } else {
      EXPECT_THAT(checked, IsOk());
    }
  }
}

}  // namespace
