// FieldClient: what an inspector's device does, over its home directory.
// Findings are recorded into the local outbox first (no network needed) and
// reach the server on Sync().
//
//   FieldClientOptions options;
//   options.home = "/home/me/.fieldledger";
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<FieldClient> client,
//                       FieldClient::Open(options));
//   FindingInput input;
//   input.unit_id = "u-yuehai";
//   input.category_id = "commuting";
//   input.summary = "窗口无人值守";
//   FL_ASSIGN_OR_RETURN(std::string id, client->AddFinding(input,
//   absl::Now())); FL_ASSIGN_OR_RETURN(SyncReport report,
//   client->Sync(SyncOptions()));
//
// Thread-safety: all methods may be called from several threads (the outbox
// serialises writes). One process at a time may open a home.
#ifndef FIELDLEDGER_CLIENT_FIELD_CLIENT_H_
#define FIELDLEDGER_CLIENT_FIELD_CLIENT_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/local_evidence.h"
#include "client/sync_client.h"
#include "core/limits.h"
#include "fieldledger/v1/finding.pb.h"
#include "storage/outbox.h"

namespace fieldledger::client {

struct FieldClientOptions {
  // The device's directory; created when missing. The store is <home>/store.
  // Required.
  std::string home;
  // Fsync each local write. Default true: a finding the CLI reported as
  // recorded survives a crash. Tests may turn it off.
  bool sync_writes = true;
  // Limits checked locally before a finding is recorded; the server checks
  // its own. Default: the protocol's defaults.
  Limits limits;
  // Timeout of Enroll. Default 15 s.
  absl::Duration enroll_timeout = absl::Seconds(15);
};

// A finding's content as typed. For AddFinding, unit_id, category_id and
// summary are required and observed_at defaults to now; for AmendFinding,
// each field given replaces the current one.
struct FindingInput {
  std::optional<std::string> unit_id;
  std::optional<std::string> category_id;
  std::optional<std::string> summary;
  std::optional<std::string> detail;
  std::optional<absl::Time> observed_at;
  // Latitude and longitude, degrees.
  std::optional<std::pair<double, double>> location;
  std::optional<v1::Severity> severity;
  // Files to attach as evidence, added to those the finding has: each is
  // stripped of identifying metadata, hashed and copied into the device's
  // store (<home>/evidence), and uploaded by Sync.
  std::vector<std::string> evidence_files;
};

enum class SyncState {
  // Some mutation about it is not settled by the server yet.
  kPending,
  // The server applied every mutation about it.
  kAccepted,
  // The server refused its last mutation for good.
  kRejected,
};

// One of this device's findings as the device knows it.
struct FindingView {
  // Latest content: the server's when nothing is pending, else as recorded.
  v1::Finding finding;
  SyncState sync_state = SyncState::kPending;
  // For kRejected: which mutation ("report", "amend", "withdraw") and why.
  std::string rejected_action;
  v1::Rejection rejection;
  // The status last pulled from the server; UNSPECIFIED when none yet.
  v1::FindingStatus server_status = v1::FINDING_STATUS_UNSPECIFIED;
  // A withdrawal was recorded on this device (and not rejected).
  bool withdrawn_here = false;
  // client_seq of the first mutation about it; 0 when it is known only from
  // the server.
  uint64_t first_seq = 0;
  // Of finding.evidence: how many pieces, and their bytes, are no longer
  // waiting on this device (uploaded, the node confirmed them complete).
  size_t evidence_uploaded = 0;
  uint64_t evidence_bytes_uploaded = 0;
  // The node said some evidence was pending when it was last pulled.
  bool server_evidence_pending = false;
};

class FieldClient {
 public:
  static absl::StatusOr<std::unique_ptr<FieldClient>> Open(
      const FieldClientOptions& options);

  // Enrolls this device at `server` with a one-time `code` and stores the
  // credential. FAILED_PRECONDITION when it is already enrolled and `force`
  // is false (a new client_id would restart the mutation numbering on the
  // server).
  absl::StatusOr<storage::Credential> Enroll(const std::string& server,
                                             const std::string& code,
                                             bool force);

  // The stored credential; NOT_FOUND before Enroll.
  absl::StatusOr<storage::Credential> GetCredential() const;

  // Records a new finding with a fresh UUIDv7 id and returns the id.
  // INVALID_ARGUMENT ("finding.summary: ...") for a finding the server would
  // refuse on its face; NOT_FOUND ("finding.unit_id: ...") for a unit or
  // category missing from the pulled registry (only once a registry has been
  // pulled); the errors of LocalEvidence::Prepare for an evidence file.
  // Nothing is recorded then. Evidence copies are durable before the
  // finding is.
  absl::StatusOr<std::string> AddFinding(const FindingInput& input,
                                         absl::Time now);

  // Records an amendment of one of this device's findings: `changes` applied
  // to its latest content. NOT_FOUND for a finding this device does not know,
  // FAILED_PRECONDITION for one withdrawn; validation as in AddFinding.
  // Returns the mutation's client_seq.
  absl::StatusOr<uint64_t> AmendFinding(const std::string& id,
                                        const FindingInput& changes,
                                        absl::Time now);

  // Records a withdrawal; same errors as AmendFinding.
  absl::StatusOr<uint64_t> WithdrawFinding(const std::string& id,
                                           const std::string& reason);

  // Pushes and pulls with the stored credential; `server` overrides its
  // address when not empty. Then uploads the evidence copies of this
  // device's findings (not of rejected reports or withdrawn findings),
  // resuming where the node is, and removes each copy once the node holds
  // it complete, and the copies no such finding refers to any more;
  // report.evidence says what happened to each. An upload
  // that fails for a reason of its own (a damaged copy: DATA_LOSS; refused
  // content) does not stop the others; any other failure stops the uploads
  // for this sync. FAILED_PRECONDITION before Enroll.
  absl::StatusOr<SyncReport> Sync(const SyncOptions& options,
                                  const std::string& server = "");

  // This device's findings, in the order they were recorded (those known
  // only from the server last, by id).
  absl::StatusOr<std::vector<FindingView>> Findings() const;

  // What was pulled; empty lists before the first pull.
  absl::StatusOr<storage::PulledRegistry> Registry() const;

  storage::Outbox& outbox() { return *outbox_; }

 private:
  FieldClient(FieldClientOptions options,
              std::unique_ptr<storage::Outbox> outbox);
  absl::Status CheckFinding(const v1::Finding& finding, absl::Time now) const;
  absl::StatusOr<FindingView> Known(const std::string& id) const;

  // Prepares input.evidence_files into `f`'s references.
  absl::StatusOr<std::vector<LocalEvidence::Prepared>> Attach(
      const FindingInput& input, v1::Finding& f) const;
  // Keeps the copies, then appends `mutation`.
  absl::StatusOr<uint64_t> Record(
      const std::vector<LocalEvidence::Prepared>& files, v1::Mutation mutation);
  absl::Status UploadEvidence(v1::FieldSync::StubInterface& stub,
                              const std::string& token,
                              const SyncOptions& options,
                              EvidenceSyncReport& report);

  const FieldClientOptions options_;
  std::unique_ptr<storage::Outbox> outbox_;
  const LocalEvidence local_;
};

// "pending", "accepted", "rejected".
const char* SyncStateName(SyncState state);
// "reported", "withdrawn", "-" for unspecified.
std::string FindingStatusName(v1::FindingStatus status);
// "low", "medium", "high" (unspecified counts as medium); nullopt otherwise.
std::optional<v1::Severity> ParseSeverity(absl::string_view text);
std::string SeverityName(v1::Severity severity);

}  // namespace fieldledger::client

#endif  // FIELDLEDGER_CLIENT_FIELD_CLIENT_H_
