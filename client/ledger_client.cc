#include "client/ledger_client.h"

#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/rpc.h"
#include "core/merkle.h"
#include "core/packed_leaves.h"
#include "core/status_macros.h"
#include "fieldledger/v1/event.pb.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"

namespace fieldledger::client {
namespace {

absl::StatusOr<std::vector<merkle::Hash>> Hashes(
    const google::protobuf::RepeatedPtrField<std::string>& in) {
  std::vector<merkle::Hash> out;
  out.reserve(in.size());
  for (const std::string& bytes : in) {
    FL_ASSIGN_OR_RETURN(merkle::Hash h, merkle::HashFromBytes(bytes));
    out.push_back(h);
  }
  return out;
}

// The seq field of a serialized Event (0 when absent, as proto3 leaves it),
// read without parsing the rest; nullopt when the bytes are malformed.
std::optional<uint64_t> SeqOf(absl::string_view bytes) {
  google::protobuf::io::CodedInputStream in(
      reinterpret_cast<const uint8_t*>(bytes.data()),
      static_cast<int>(bytes.size()));
  uint64_t seq = 0;
  for (uint32_t tag = in.ReadTag(); tag != 0; tag = in.ReadTag()) {
    if (tag == (v1::Event::kSeqFieldNumber << 3)) {  // varint
      uint64_t value;
      if (!in.ReadVarint64(&value)) return std::nullopt;
      seq = value;
    } else if (!google::protobuf::internal::WireFormatLite::SkipField(&in,
                                                                      tag)) {
      return std::nullopt;
    }
  }
  if (!in.ConsumedEntireMessage()) return std::nullopt;
  return seq;
}

// Leaves [0, end) from StreamEntries: a receiver thread reads messages
// into a queue while the caller takes them, at most `ahead` messages
// ahead of it. Destroying it early cancels the call.
class EntryStream {
 public:
  EntryStream(v1::Ledger::StubInterface& stub, absl::string_view token,
              absl::Duration timeout, uint64_t end, size_t ahead)
      : ahead_(ahead) {
    PrepareContext(context_, token, timeout);
    v1::StreamEntriesRequest request;
    request.set_start(0);
    request.set_end(end);
    reader_ = stub.StreamEntries(&context_, request);
    receiver_ = std::thread([this] { Receive(); });
  }

  ~EntryStream() {
    {
      absl::MutexLock lock(&mu_);
      stopping_ = true;
    }
    context_.TryCancel();
    receiver_.join();
  }

  // The next message, in order; nullopt once the stream ended (status()
  // says how).
  std::optional<v1::StreamEntriesResponse> Next() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](EntryStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
          return !s->queue_.empty() || s->ended_;
        },
        this));
    if (queue_.empty()) return std::nullopt;
    std::optional<v1::StreamEntriesResponse> next(std::move(queue_.front()));
    queue_.pop_front();
    return next;
  }

  absl::Status status() {
    absl::MutexLock lock(&mu_);
    return status_;
  }

 private:
  void Receive() {
    for (;;) {
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(
            +[](EntryStream* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) {
              return s->queue_.size() < s->ahead_ || s->stopping_;
            },
            this));
        if (stopping_) break;
      }
      v1::StreamEntriesResponse message;
      if (!reader_->Read(&message)) break;
      absl::MutexLock lock(&mu_);
      queue_.push_back(std::move(message));
    }
    const absl::Status finished = FromGrpc(reader_->Finish(), "StreamEntries");
    absl::MutexLock lock(&mu_);
    status_ = finished;
    ended_ = true;
  }

  const size_t ahead_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderInterface<v1::StreamEntriesResponse>>
      reader_;
  absl::Mutex mu_;
  std::deque<v1::StreamEntriesResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread receiver_;  // last: started once the rest exists
};

}  // namespace

LedgerClient::LedgerClient(storage::Outbox& outbox,
                           v1::Ledger::StubInterface& stub, std::string token,
                           LedgerClientOptions options)
    : outbox_(outbox),
      stub_(stub),
      token_(std::move(token)),
      options_(std::move(options)) {}

absl::StatusOr<std::pair<std::string, fieldledger::Checkpoint>>
LedgerClient::FetchCheckpoint(bool* pinned_now) {
  *pinned_now = false;
  grpc::ClientContext ctx;
  PrepareContext(ctx, token_, options_.rpc_timeout);
  v1::GetCheckpointResponse reply;
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_.GetCheckpoint(&ctx, v1::GetCheckpointRequest(), &reply),
               "GetCheckpoint"));
  FL_ASSIGN_OR_RETURN(storage::LedgerTrust trust, outbox_.GetLedgerTrust());
  std::string key(absl::StripAsciiWhitespace(options_.verifier_key));
  if (!trust.verifier_key.empty()) {
    if (!key.empty() && key != trust.verifier_key) {
      return absl::FailedPreconditionError(
          "the given ledger verifier key differs from the one pinned for "
          "this server; refusing to switch keys silently");
    }
    key = trust.verifier_key;
  } else {
    if (key.empty()) key = reply.verifier_key();  // trust on first use
    FL_ASSIGN_OR_RETURN(NoteVerifier parsed, NoteVerifier::Parse(key));
    trust.verifier_key = parsed.ToString();
    FL_RETURN_IF_ERROR(outbox_.PutLedgerTrust(trust));
    *pinned_now = options_.verifier_key.empty();
  }
  FL_ASSIGN_OR_RETURN(NoteVerifier verifier, NoteVerifier::Parse(key));
  FL_ASSIGN_OR_RETURN(
      fieldledger::Checkpoint checkpoint,
      OpenCheckpoint(reply.checkpoint(), verifier.name(), {verifier}));
  return std::make_pair(reply.checkpoint(), std::move(checkpoint));
}

absl::StatusOr<std::string> LedgerClient::Checkpoint() {
  bool pinned;
  FL_ASSIGN_OR_RETURN(auto fetched, FetchCheckpoint(&pinned));
  return fetched.first;
}

absl::StatusOr<std::string> LedgerClient::Receipt(uint64_t index) {
  bool pinned;
  FL_ASSIGN_OR_RETURN(auto fetched, FetchCheckpoint(&pinned));
  if (index >= fetched.second.tree_size) {
    return absl::OutOfRangeError(
        absl::StrCat("index: leaf ", index, " is not covered by the latest ",
                     "checkpoint (size ", fetched.second.tree_size,
                     "); try again after the next checkpoint"));
  }
  grpc::ClientContext ctx;
  PrepareContext(ctx, token_, options_.rpc_timeout);
  v1::GetInclusionProofRequest request;
  request.set_leaf_index(index);
  request.set_tree_size(fetched.second.tree_size);
  v1::GetInclusionProofResponse reply;
  FL_RETURN_IF_ERROR(FromGrpc(stub_.GetInclusionProof(&ctx, request, &reply),
                              "GetInclusionProof"));
  TlogProof proof;
  proof.index = index;
  FL_ASSIGN_OR_RETURN(proof.hashes, Hashes(reply.hashes()));
  proof.checkpoint = fetched.first;
  return FormatTlogProof(proof);
}

absl::Status LedgerClient::Alarm(storage::LedgerTrust trust,
                                 const std::string& alarm) {
  trust.alarm = alarm;
  return outbox_.PutLedgerTrust(trust);
}

absl::StatusOr<VerifyReport> LedgerClient::Verify() {
  VerifyReport report;
  auto fetched = FetchCheckpoint(&report.trusted_on_first_use);
  FL_ASSIGN_OR_RETURN(storage::LedgerTrust trust, outbox_.GetLedgerTrust());
  if (!fetched.ok()) {
    const absl::StatusCode code = fetched.status().code();
    // A checkpoint that does not verify with the pinned key is a
    // contradiction, not a transient failure.
    if (code == absl::StatusCode::kInvalidArgument ||
        code == absl::StatusCode::kUnauthenticated) {
      report.alarm = absl::StrCat(
          "the server's checkpoint does not verify with the pinned key: ",
          fetched.status().message());
      FL_RETURN_IF_ERROR(Alarm(trust, report.alarm));
      return report;
    }
    return fetched.status();
  }
  const auto& [note, checkpoint] = *fetched;
  report.tree_size = checkpoint.tree_size;

  if (trust.checkpoint.empty()) {
    report.first_checkpoint = true;
  } else {
    FL_ASSIGN_OR_RETURN(NoteVerifier verifier,
                        NoteVerifier::Parse(trust.verifier_key));
    FL_ASSIGN_OR_RETURN(
        fieldledger::Checkpoint older,
        OpenCheckpoint(trust.checkpoint, verifier.name(), {verifier}));
    report.previous_size = older.tree_size;
    if (checkpoint.tree_size < older.tree_size) {
      report.alarm = absl::StrCat(
          "ROLLBACK: the server's checkpoint has ", checkpoint.tree_size,
          " entries but this device verified one with ", older.tree_size,
          ": the server's history was rolled back");
      FL_RETURN_IF_ERROR(Alarm(trust, report.alarm));
      return report;
    }
    grpc::ClientContext ctx;
    PrepareContext(ctx, token_, options_.rpc_timeout);
    v1::GetConsistencyProofRequest request;
    request.set_first_size(older.tree_size);
    request.set_second_size(checkpoint.tree_size);
    v1::GetConsistencyProofResponse reply;
    const absl::Status got =
        FromGrpc(stub_.GetConsistencyProof(&ctx, request, &reply),
                 "GetConsistencyProof");
    absl::Status consistent = got;
    if (got.ok()) {
      absl::StatusOr<std::vector<merkle::Hash>> proof = Hashes(reply.hashes());
      consistent = proof.ok()
                       ? VerifyCheckpointConsistency(older, checkpoint, *proof)
                       : proof.status();
    } else if (IsTransient(got.code())) {
      return got;
    }
    if (!consistent.ok()) {
      report.alarm = absl::StrCat(
          "FORK: the server's checkpoint of ", checkpoint.tree_size,
          " entries does not extend the one of ", older.tree_size,
          " this device verified: ", consistent.message());
      FL_RETURN_IF_ERROR(Alarm(trust, report.alarm));
      return report;
    }
  }

  // Own events: each must be in the signed tree, as this device's mutation.
  FL_ASSIGN_OR_RETURN(std::vector<storage::OutboxEntry> entries,
                      outbox_.Read(1, 0));
  FL_ASSIGN_OR_RETURN(storage::Credential credential, outbox_.GetCredential());
  for (const storage::OutboxEntry& entry : entries) {
    if (entry.state != storage::MutationState::kAccepted) continue;
    const uint64_t index = entry.event_seq;
    if (index >= checkpoint.tree_size) {
      ++report.events_not_yet_covered;
      continue;
    }
    v1::GetEntriesRequest entries_request;
    entries_request.set_start(index);
    entries_request.set_max_entries(1);
    v1::GetEntriesResponse entries_reply;
    std::string problem;
    {
      grpc::ClientContext ctx;
      PrepareContext(ctx, token_, options_.rpc_timeout);
      const absl::Status got =
          FromGrpc(stub_.GetEntries(&ctx, entries_request, &entries_reply),
                   "GetEntries");
      // The server acknowledged this leaf as ours: refusing it, or having
      // lost it, contradicts that.
      if (got.code() == absl::StatusCode::kPermissionDenied ||
          got.code() == absl::StatusCode::kDataLoss ||
          got.code() == absl::StatusCode::kOutOfRange) {
        problem = std::string(got.message());
      } else {
        FL_RETURN_IF_ERROR(got);
      }
    }
    v1::Event event;
    if (!problem.empty()) {
    } else if (entries_reply.entries_size() != 1 ||
               !event.ParseFromString(entries_reply.entries(0))) {
      problem = "the server does not return it";
    } else if (event.seq() != index ||
               event.origin().client_id() != credential.client_id ||
               event.origin().client_seq() != entry.mutation.client_seq()) {
      problem = "the server holds another event there";
    } else {
      v1::GetInclusionProofRequest request;
      request.set_leaf_index(index);
      request.set_tree_size(checkpoint.tree_size);
      v1::GetInclusionProofResponse reply;
      grpc::ClientContext ctx;
      PrepareContext(ctx, token_, options_.rpc_timeout);
      FL_RETURN_IF_ERROR(FromGrpc(
          stub_.GetInclusionProof(&ctx, request, &reply), "GetInclusionProof"));
      absl::StatusOr<std::vector<merkle::Hash>> proof = Hashes(reply.hashes());
      absl::Status included =
          proof.ok() ? merkle::VerifyInclusion(
                           index, checkpoint.tree_size,
                           merkle::HashLeaf(entries_reply.entries(0)), *proof,
                           checkpoint.root_hash)
                     : proof.status();
      if (!included.ok()) problem = std::string(included.message());
    }
    if (!problem.empty()) {
      report.alarm = absl::StrCat(
          "TAMPERED: this device's mutation ", entry.mutation.client_seq(),
          " (ledger leaf ", index, ") is not in the signed tree of ",
          checkpoint.tree_size, " entries as acknowledged: ", problem);
      FL_RETURN_IF_ERROR(Alarm(trust, report.alarm));
      return report;
    }
    ++report.events_verified;
  }
  trust.checkpoint = note;
  FL_RETURN_IF_ERROR(outbox_.PutLedgerTrust(trust));
  return report;
}

absl::StatusOr<AuditReport> LedgerClient::Audit() {
  bool pinned;
  FL_ASSIGN_OR_RETURN(auto fetched, FetchCheckpoint(&pinned));
  const fieldledger::Checkpoint& checkpoint = fetched.second;
  AuditReport report;
  report.tree_size = checkpoint.tree_size;
  report.signer = checkpoint.origin;
  merkle::RootBuilder builder;
  EntryStream stream(stub_, token_, options_.audit_timeout,
                     checkpoint.tree_size, kAuditMessagesAhead);
  while (std::optional<v1::StreamEntriesResponse> message = stream.Next()) {
    const uint64_t first = builder.size();
    if (message->first_index() != first) {
      report.problem =
          absl::StrCat("the server sent entries from ", message->first_index(),
                       " where ", first, " was due");
      return report;
    }
    PackedLeaves leaves(message->leaves());
    for (absl::string_view leaf; leaves.Next(leaf);) {
      if (builder.size() == checkpoint.tree_size) {
        report.problem = absl::StrCat("the server sent more entries than the ",
                                      checkpoint.tree_size, " signed");
        return report;
      }
      if (SeqOf(leaf) != builder.size()) {
        report.problem =
            absl::StrCat("entry ", builder.size(),
                         " is not the event with that sequence number");
        return report;
      }
      builder.AppendLeaf(leaf);
      report.bytes_read += leaf.size();
    }
    report.entries_read = builder.size();
    if (leaves.malformed() || builder.size() - first != message->count()) {
      report.problem =
          absl::StrCat("the message of entries from ", first, " is malformed");
      return report;
    }
  }
  const absl::Status ended = stream.status();
  if (ended.code() == absl::StatusCode::kDataLoss) {
    report.problem = absl::StrCat("entry ", builder.size(),
                                  " cannot be read: ", ended.message());
    return report;
  }
  FL_RETURN_IF_ERROR(ended);
  if (builder.size() != checkpoint.tree_size) {
    report.problem =
        absl::StrCat("the server ended the entries after ", builder.size(),
                     " of the ", checkpoint.tree_size, " signed");
  } else if (builder.Root() != checkpoint.root_hash) {
    report.problem = absl::StrCat(
        "the entries hash to root ", merkle::HashToHex(builder.Root()),
        " but the signed checkpoint of ", checkpoint.tree_size, " says ",
        merkle::HashToHex(checkpoint.root_hash));
  }
  return report;
}

absl::StatusOr<std::string> LedgerClient::Entry(uint64_t index) {
  v1::GetEntriesRequest request;
  request.set_start(index);
  request.set_max_entries(1);
  v1::GetEntriesResponse reply;
  grpc::ClientContext ctx;
  PrepareContext(ctx, token_, options_.rpc_timeout);
  FL_RETURN_IF_ERROR(
      FromGrpc(stub_.GetEntries(&ctx, request, &reply), "GetEntries"));
  if (reply.entries_size() != 1) {
    return absl::DataLossError(
        absl::StrCat("GetEntries: no entry ", index, " in the reply"));
  }
  return reply.entries(0);
}

absl::StatusOr<fieldledger::Checkpoint> CheckReceipt(absl::string_view receipt,
                                                     absl::string_view entry,
                                                     absl::string_view vkey) {
  FL_ASSIGN_OR_RETURN(NoteVerifier verifier,
                      NoteVerifier::Parse(absl::StripAsciiWhitespace(vkey)));
  FL_ASSIGN_OR_RETURN(TlogProof proof, ParseTlogProof(receipt));
  return VerifyTlogProof(proof, merkle::HashLeaf(entry), verifier.name(),
                         {verifier});
}

}  // namespace fieldledger::client
