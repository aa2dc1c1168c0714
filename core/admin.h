// The Admin rules: registry changes and credentials.
#ifndef FIELDLEDGER_CORE_ADMIN_H_
#define FIELDLEDGER_CORE_ADMIN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/limits.h"
#include "core/txn.h"
#include "fieldledger/v1/admin.pb.h"
#include "fieldledger/v1/registry.pb.h"
#include "fieldledger/v1/sync.pb.h"

namespace fieldledger {

// Each validates the item, refuses a taken id with ALREADY_EXISTS, and
// appends the event that creates it. Returns the event's seq. On error
// nothing was written.
absl::StatusOr<uint64_t> CreateRegion(Txn& txn, absl::string_view actor,
                                      const v1::Region& region, absl::Time now,
                                      const Limits& limits);
absl::StatusOr<uint64_t> CreateUnit(Txn& txn, absl::string_view actor,
                                    const v1::Unit& unit, absl::Time now,
                                    const Limits& limits);
absl::StatusOr<uint64_t> CreateCategory(Txn& txn, absl::string_view actor,
                                        const v1::Category& category,
                                        absl::Time now, const Limits& limits);

// Stores a new one-time code for `request.role` and its scope. Errors:
// - INVALID_ARGUMENT "role: ..." for ROLE_UNSPECIFIED or ROLE_ADMIN (admins
//   are made by CreateAdminToken only);
// - INVALID_ARGUMENT "scope: ..." for a supervisor or unit officer without a
//   scope, or an inspector or auditor with one;
// - NOT_FOUND "scope: no region/unit ..." for a scope that does not exist;
// - INVALID_ARGUMENT "ttl_seconds: ..." for a ttl over 90 days.
absl::StatusOr<v1::CreateEnrollmentCodeResponse> CreateEnrollmentCode(
    Txn& txn, const v1::CreateEnrollmentCodeRequest& request, absl::Time now);

// Trades a code for a new credential and deletes the code. The principal gets
// the code's role and scope and a random name ("i-", "s-", "o-", "a-" and 16
// hex digits, by role). Only inspectors get a client_id (a mutation stream):
// the other roles never Push. PERMISSION_DENIED for an unknown, used or
// expired code.
absl::StatusOr<v1::EnrollResponse> Enroll(Txn& txn, absl::string_view code,
                                          absl::Time now);

// Stores a new admin credential and returns its token.
absl::StatusOr<std::string> CreateAdminToken(Txn& txn);

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_ADMIN_H_
