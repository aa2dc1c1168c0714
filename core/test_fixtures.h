// Shared by the core and storage tests: a small registry and findings to
// report into it.
#ifndef FIELDLEDGER_CORE_TEST_FIXTURES_H_
#define FIELDLEDGER_CORE_TEST_FIXTURES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "core/admin.h"
#include "core/status_macros.h"
#include "core/text.h"
#include "core/txn.h"

namespace fieldledger::fixtures {

inline const absl::Time kNow = absl::FromUnixSeconds(1756800000);

// Region "sz" (深圳市) holding unit "u1" (粤海街道办); category "commuting"
// (走读).
inline absl::Status SeedRegistry(Txn& txn) {
  const Limits limits;
  v1::Region region;
  region.set_id("sz");
  region.set_name("深圳市");
  v1::Unit unit;
  unit.set_id("u1");
  unit.set_name("粤海街道办");
  unit.set_region_id("sz");
  v1::Category category;
  category.set_id("commuting");
  category.set_name("走读");
  FL_RETURN_IF_ERROR(CreateRegion(txn, "admin", region, kNow, limits).status());
  FL_RETURN_IF_ERROR(CreateUnit(txn, "admin", unit, kNow, limits).status());
  return CreateCategory(txn, "admin", category, kNow, limits).status();
}

// A valid report of a new finding in unit "u1", observed at kNow.
inline v1::Mutation ReportMutation(absl::string_view client_id, uint64_t seq,
                                   absl::string_view summary = "窗口无人") {
  v1::Mutation m;
  m.set_client_id(std::string(client_id));
  m.set_client_seq(seq);
  v1::Finding* f = m.mutable_report_finding()->mutable_finding();
  f->set_id(NewUuidV7(kNow));
  f->set_unit_id("u1");
  f->set_category_id("commuting");
  f->set_summary(std::string(summary));
  f->mutable_observed_at()->set_seconds(absl::ToUnixSeconds(kNow));
  return m;
}

}  // namespace fieldledger::fixtures

#endif  // FIELDLEDGER_CORE_TEST_FIXTURES_H_
