// The limits a node enforces on what clients send. The server sets them from
// flags; the defaults are the documented ones (docs/PROTOCOL.md).
#ifndef FIELDLEDGER_CORE_LIMITS_H_
#define FIELDLEDGER_CORE_LIMITS_H_

#include <cstddef>
#include <cstdint>

#include "absl/time/time.h"

namespace fieldledger {

struct Limits {
  // Most mutations in one Push; a larger request is refused whole.
  size_t max_push_mutations = 500;
  // Code points in a finding's summary.
  size_t max_summary_chars = 200;
  // Code points in a finding's detail and in free-text reasons.
  size_t max_detail_chars = 10000;
  // Code points in registry names.
  size_t max_name_chars = 200;
  // Code points in a category's description and a withdrawal reason.
  size_t max_note_chars = 2000;
  // How far in the future observed_at may lie (clients' clocks drift).
  absl::Duration max_clock_skew = absl::Minutes(5);
  // Evidence references in one finding or rectification report.
  size_t max_evidence_refs = 20;
  // Bytes of one piece of evidence: the most a reference may declare and
  // the most an upload may send (--max_evidence_bytes).
  uint64_t max_evidence_bytes = uint64_t{64} << 20;
  // Escalations recorded on one case; each is kept in the case's state.
  size_t max_escalations_per_case = 100;
};

}  // namespace fieldledger

#endif  // FIELDLEDGER_CORE_LIMITS_H_
