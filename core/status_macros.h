// Return-if-error and assign-or-return for absl::Status / absl::StatusOr.
// abseil 20220623 has neither; these are the project's one copy.
//
//   FL_RETURN_IF_ERROR(Write(batch));
//   FL_ASSIGN_OR_RETURN(std::string value, Read(key));
#ifndef FIELDLEDGER_CORE_STATUS_MACROS_H_
#define FIELDLEDGER_CORE_STATUS_MACROS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define FL_RETURN_IF_ERROR(expr)                                               \
  do {                                                                         \
    if (absl::Status fl_status_ = (expr); !fl_status_.ok()) return fl_status_; \
  } while (0)

#define FL_STATUS_CONCAT_INNER_(a, b) a##b
#define FL_STATUS_CONCAT_(a, b) FL_STATUS_CONCAT_INNER_(a, b)

#define FL_ASSIGN_OR_RETURN(lhs, expr)                                      \
  FL_ASSIGN_OR_RETURN_IMPL_(FL_STATUS_CONCAT_(fl_statusor_, __LINE__), lhs, \
                            expr)

#define FL_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FIELDLEDGER_CORE_STATUS_MACROS_H_
