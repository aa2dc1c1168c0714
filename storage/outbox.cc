#include "storage/outbox.h"

#include <algorithm>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/iterator.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"
#include "storage/key_codec.h"
#include "storage/rocks_status.h"

namespace fieldledger::storage {
namespace {

// One column family; the first byte of a key says what it holds.
constexpr char kMutationTag = 'M';  // + uint64 client_seq -> EncodeEntry
constexpr char kMetaTag = 'K';      // + name -> value
constexpr char kRegionTag = 'R';    // + string id -> v1::Region
constexpr char kUnitTag = 'U';      // + string id -> v1::Unit
constexpr char kCategoryTag = 'C';  // + string id -> v1::Category
constexpr char kFindingTag = 'F';   // + string id -> v1::FindingUpdate
constexpr char kCampaignTag = 'P';  // + string id -> v1::Campaign

constexpr absl::string_view kLastSeq = "last_seq";
constexpr absl::string_view kAckedMark = "acked_mark";
constexpr absl::string_view kCursor = "cursor";
constexpr absl::string_view kPulled = "pulled";
constexpr absl::string_view kCredential = "credential";
constexpr absl::string_view kLedgerKey = "ledger_vkey";
constexpr absl::string_view kLedgerCheckpoint = "ledger_checkpoint";
constexpr absl::string_view kLedgerAlarm = "ledger_alarm";

std::string MutationKey(uint64_t seq) {
  std::string key(1, kMutationTag);
  AppendUint64(key, seq);
  return key;
}

std::string MetaKey(absl::string_view name) {
  return absl::StrCat(absl::string_view(&kMetaTag, 1), name);
}

std::string ItemKey(char tag, absl::string_view id) {
  std::string key(1, tag);
  AppendString(key, id);
  return key;
}

// state (1 byte), event_seq, length-prefixed Rejection, then the Mutation.
std::string EncodeEntry(const OutboxEntry& entry) {
  std::string out(1, static_cast<char>(entry.state));
  AppendUint64(out, entry.event_seq);
  AppendString(out, entry.rejection.SerializeAsString());
  out += entry.mutation.SerializeAsString();
  return out;
}

absl::StatusOr<OutboxEntry> DecodeEntry(absl::string_view in) {
  OutboxEntry entry;
  std::string rejection;
  if (in.empty() || in[0] > static_cast<char>(MutationState::kRejected)) {
    return absl::DataLossError("outbox: bad entry state");
  }
  entry.state = static_cast<MutationState>(in[0]);
  in.remove_prefix(1);
  if (!ConsumeUint64(in, entry.event_seq) || !ConsumeString(in, rejection) ||
      !entry.rejection.ParseFromString(rejection) ||
      !entry.mutation.ParseFromArray(in.data(), static_cast<int>(in.size()))) {
    return absl::DataLossError("outbox: malformed entry");
  }
  return entry;
}

std::string EncodeCredential(const Credential& c) {
  std::string out;
  AppendString(out, c.server);
  AppendString(out, c.token);
  AppendString(out, c.client_id);
  AppendString(out, c.pseudonym);
  AppendUint64(out, static_cast<uint64_t>(c.role));
  return out;
}

absl::StatusOr<Credential> DecodeCredential(absl::string_view in) {
  Credential c;
  uint64_t role = 0;
  if (!ConsumeString(in, c.server) || !ConsumeString(in, c.token) ||
      !ConsumeString(in, c.client_id) || !ConsumeString(in, c.pseudonym) ||
      !ConsumeUint64(in, role) || !v1::Role_IsValid(static_cast<int>(role))) {
    return absl::DataLossError("outbox: malformed credential");
  }
  c.role = static_cast<v1::Role>(role);
  return c;
}

template <typename Message>
absl::StatusOr<Message> Parse(absl::string_view bytes) {
  Message m;
  if (!m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::DataLossError(
        absl::StrCat("outbox: malformed ", Message::descriptor()->name()));
  }
  return m;
}

}  // namespace

class Outbox::Impl {
 public:
  Impl(std::unique_ptr<rocksdb::DB> db, bool sync) : db_(std::move(db)) {
    write_options_.sync = sync;
  }

  absl::Status Load() {
    absl::MutexLock lock(&mu_);
    FL_ASSIGN_OR_RETURN(last_seq_, ReadCounter(kLastSeq));
    FL_ASSIGN_OR_RETURN(acked_mark_, ReadCounter(kAckedMark));
    return absl::OkStatus();
  }

  absl::StatusOr<uint64_t> Append(v1::Mutation mutation) {
    absl::MutexLock lock(&mu_);
    const uint64_t seq = last_seq_ + 1;
    mutation.set_client_seq(seq);
    OutboxEntry entry;
    entry.mutation = std::move(mutation);
    rocksdb::WriteBatch batch;
    FL_RETURN_IF_ERROR(
        ToStatus(batch.Put(MutationKey(seq), EncodeEntry(entry))));
    FL_RETURN_IF_ERROR(ToStatus(batch.Put(MetaKey(kLastSeq), Uint64Key(seq))));
    FL_RETURN_IF_ERROR(Write(batch));
    last_seq_ = seq;
    return seq;
  }

  uint64_t last_seq() const {
    absl::MutexLock lock(&mu_);
    return last_seq_;
  }

  uint64_t acked_mark() const {
    absl::MutexLock lock(&mu_);
    return acked_mark_;
  }

  absl::StatusOr<std::vector<OutboxEntry>> Read(uint64_t from,
                                                size_t limit) const {
    std::vector<OutboxEntry> out;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    const std::string end(1, static_cast<char>(kMutationTag + 1));
    for (it->Seek(MutationKey(from));
         it->Valid() && it->key().compare(end) < 0 &&
         (limit == 0 || out.size() < limit);
         it->Next()) {
      FL_ASSIGN_OR_RETURN(OutboxEntry entry, DecodeEntry(ToView(it->value())));
      out.push_back(std::move(entry));
    }
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
    return out;
  }

  absl::Status RecordResults(const std::vector<v1::MutationResult>& results,
                             uint64_t high_water_mark) {
    absl::MutexLock lock(&mu_);
    rocksdb::WriteBatch batch;
    for (const v1::MutationResult& result : results) {
      if (result.outcome() == v1::OUTCOME_UNSPECIFIED ||
          !v1::Outcome_IsValid(result.outcome())) {
        return absl::InvalidArgumentError(
            absl::StrCat("results: client_seq ", result.client_seq(),
                         " has no known outcome"));
      }
      std::string value;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(),
                                   MutationKey(result.client_seq()), &value);
      if (s.IsNotFound()) continue;
      FL_RETURN_IF_ERROR(ToStatus(s));
      FL_ASSIGN_OR_RETURN(OutboxEntry entry, DecodeEntry(value));
      if (result.outcome() == v1::OUTCOME_REJECTED) {
        entry.state = MutationState::kRejected;
        entry.rejection = result.rejection();
        entry.event_seq = 0;
      } else {
        entry.state = MutationState::kAccepted;
        entry.rejection.Clear();
        if (result.event_seq() != 0) entry.event_seq = result.event_seq();
      }
      FL_RETURN_IF_ERROR(ToStatus(
          batch.Put(MutationKey(result.client_seq()), EncodeEntry(entry))));
    }
    const uint64_t mark = std::min(high_water_mark, last_seq_);
    FL_RETURN_IF_ERROR(
        ToStatus(batch.Put(MetaKey(kAckedMark), Uint64Key(mark))));
    FL_RETURN_IF_ERROR(Write(batch));
    acked_mark_ = mark;
    return absl::OkStatus();
  }

  absl::Status SetAckedMark(uint64_t mark) {
    absl::MutexLock lock(&mu_);
    mark = std::min(mark, last_seq_);
    rocksdb::WriteBatch batch;
    FL_RETURN_IF_ERROR(
        ToStatus(batch.Put(MetaKey(kAckedMark), Uint64Key(mark))));
    FL_RETURN_IF_ERROR(Write(batch));
    acked_mark_ = mark;
    return absl::OkStatus();
  }

  absl::Status Rebase(uint64_t server_mark) {
    absl::MutexLock lock(&mu_);
    if (server_mark <= last_seq_) return absl::OkStatus();
    std::vector<OutboxEntry> moving;
    {
      // Read() takes no lock; it only reads the DB.
      FL_ASSIGN_OR_RETURN(moving, Read(acked_mark_ + 1, 0));
    }
    rocksdb::WriteBatch batch;
    uint64_t next = server_mark;
    for (OutboxEntry& entry : moving) {
      FL_RETURN_IF_ERROR(
          ToStatus(batch.Delete(MutationKey(entry.mutation.client_seq()))));
      entry.mutation.set_client_seq(++next);
      entry.state = MutationState::kPending;
      entry.event_seq = 0;
      entry.rejection.Clear();
      FL_RETURN_IF_ERROR(
          ToStatus(batch.Put(MutationKey(next), EncodeEntry(entry))));
    }
    FL_RETURN_IF_ERROR(ToStatus(batch.Put(MetaKey(kLastSeq), Uint64Key(next))));
    FL_RETURN_IF_ERROR(
        ToStatus(batch.Put(MetaKey(kAckedMark), Uint64Key(server_mark))));
    FL_RETURN_IF_ERROR(Write(batch));
    last_seq_ = next;
    acked_mark_ = server_mark;
    return absl::OkStatus();
  }

  absl::StatusOr<Credential> GetCredential() const {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        Get(MetaKey(kCredential)));
    if (!value) return absl::NotFoundError("not enrolled");
    return DecodeCredential(*value);
  }

  absl::Status PutCredential(const Credential& credential) {
    absl::MutexLock lock(&mu_);
    rocksdb::WriteBatch batch;
    FL_RETURN_IF_ERROR(ToStatus(
        batch.Put(MetaKey(kCredential), EncodeCredential(credential))));
    return Write(batch);
  }

  absl::StatusOr<LedgerTrust> GetLedgerTrust() const {
    LedgerTrust trust;
    FL_ASSIGN_OR_RETURN(std::optional<std::string> key,
                        Get(MetaKey(kLedgerKey)));
    FL_ASSIGN_OR_RETURN(std::optional<std::string> checkpoint,
                        Get(MetaKey(kLedgerCheckpoint)));
    FL_ASSIGN_OR_RETURN(std::optional<std::string> alarm,
                        Get(MetaKey(kLedgerAlarm)));
    trust.verifier_key = key.value_or("");
    trust.checkpoint = checkpoint.value_or("");
    trust.alarm = alarm.value_or("");
    return trust;
  }

  absl::Status PutLedgerTrust(const LedgerTrust& trust) {
    absl::MutexLock lock(&mu_);
    rocksdb::WriteBatch batch;
    for (const auto& [name, value] :
         {std::pair<absl::string_view, const std::string*>{kLedgerKey,
                                                           &trust.verifier_key},
          {kLedgerCheckpoint, &trust.checkpoint},
          {kLedgerAlarm, &trust.alarm}}) {
      FL_RETURN_IF_ERROR(ToStatus(value->empty()
                                      ? batch.Delete(MetaKey(name))
                                      : batch.Put(MetaKey(name), *value)));
    }
    return Write(batch);
  }

  absl::StatusOr<std::string> GetCursor() const {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        Get(MetaKey(kCursor)));
    return value.value_or("");
  }

  absl::StatusOr<bool> HasPulled() const {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        Get(MetaKey(kPulled)));
    return value.has_value();
  }

  absl::Status ApplyPull(const v1::PullResponse& reply) {
    absl::MutexLock lock(&mu_);
    rocksdb::WriteBatch batch;
    if (reply.reset()) {
      for (char tag :
           {kRegionTag, kUnitTag, kCategoryTag, kFindingTag, kCampaignTag}) {
        FL_RETURN_IF_ERROR(ToStatus(batch.DeleteRange(
            std::string(1, tag), std::string(1, static_cast<char>(tag + 1)))));
      }
    }
    for (const v1::Change& change : reply.changes()) {
      switch (change.item_case()) {
        case v1::Change::kRegion:
          FL_RETURN_IF_ERROR(
              ToStatus(batch.Put(ItemKey(kRegionTag, change.region().id()),
                                 change.region().SerializeAsString())));
          break;
        case v1::Change::kUnit:
          FL_RETURN_IF_ERROR(
              ToStatus(batch.Put(ItemKey(kUnitTag, change.unit().id()),
                                 change.unit().SerializeAsString())));
          break;
        case v1::Change::kCategory:
          FL_RETURN_IF_ERROR(
              ToStatus(batch.Put(ItemKey(kCategoryTag, change.category().id()),
                                 change.category().SerializeAsString())));
          break;
        case v1::Change::kFinding:
          FL_RETURN_IF_ERROR(ToStatus(
              batch.Put(ItemKey(kFindingTag, change.finding().finding().id()),
                        change.finding().SerializeAsString())));
          break;
        case v1::Change::kCampaign:
          FL_RETURN_IF_ERROR(
              ToStatus(batch.Put(ItemKey(kCampaignTag, change.campaign().id()),
                                 change.campaign().SerializeAsString())));
          break;
        case v1::Change::ITEM_NOT_SET:
          break;  // From a newer server: nothing this client understands.
      }
    }
    FL_RETURN_IF_ERROR(
        ToStatus(batch.Put(MetaKey(kCursor), reply.next_cursor())));
    FL_RETURN_IF_ERROR(ToStatus(batch.Put(MetaKey(kPulled), "1")));
    return Write(batch);
  }

  template <typename Message>
  absl::StatusOr<std::vector<Message>> Scan(char tag) const {
    std::vector<Message> out;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions()));
    const std::string end(1, static_cast<char>(tag + 1));
    for (it->Seek(std::string(1, tag));
         it->Valid() && it->key().compare(end) < 0; it->Next()) {
      FL_ASSIGN_OR_RETURN(Message m, Parse<Message>(ToView(it->value())));
      out.push_back(std::move(m));
    }
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
    // Keys order by id length first (the codec's length prefix); show by id.
    std::sort(out.begin(), out.end(), [](const Message& a, const Message& b) {
      return IdOf(a) < IdOf(b);
    });
    return out;
  }

  template <typename Message>
  absl::StatusOr<std::optional<Message>> GetItem(char tag,
                                                 absl::string_view id) const {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value,
                        Get(ItemKey(tag, id)));
    if (!value) return std::optional<Message>();
    FL_ASSIGN_OR_RETURN(Message m, Parse<Message>(*value));
    return std::optional<Message>(std::move(m));
  }

 private:
  static absl::string_view ToView(const rocksdb::Slice& s) {
    return absl::string_view(s.data(), s.size());
  }
  static const std::string& IdOf(const v1::Region& m) { return m.id(); }
  static const std::string& IdOf(const v1::Campaign& m) { return m.id(); }
  static const std::string& IdOf(const v1::Unit& m) { return m.id(); }
  static const std::string& IdOf(const v1::Category& m) { return m.id(); }
  static const std::string& IdOf(const v1::FindingUpdate& m) {
    return m.finding().id();
  }

  absl::StatusOr<std::optional<std::string>> Get(const std::string& key) const {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    FL_RETURN_IF_ERROR(ToStatus(s));
    return std::optional<std::string>(std::move(value));
  }

  absl::StatusOr<uint64_t> ReadCounter(absl::string_view name) const {
    FL_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(MetaKey(name)));
    if (!value) return uint64_t{0};
    absl::string_view in = *value;
    uint64_t n = 0;
    if (!ConsumeUint64(in, n) || !in.empty()) {
      return absl::DataLossError(absl::StrCat("outbox: malformed ", name));
    }
    return n;
  }

  absl::Status Write(rocksdb::WriteBatch& batch) {
    return ToStatus(db_->Write(write_options_, &batch));
  }

  const std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
  mutable absl::Mutex mu_;
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t acked_mark_ ABSL_GUARDED_BY(mu_) = 0;
};

absl::StatusOr<std::unique_ptr<Outbox>> Outbox::Open(
    const OutboxOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError("outbox: path is required");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  // A phone's store is small: keep RocksDB's footprint small too.
  db_options.max_open_files = 64;
  db_options.keep_log_file_num = 2;
  rocksdb::DB* raw = nullptr;
  FL_RETURN_IF_ERROR(
      ToStatus(rocksdb::DB::Open(db_options, options.path, &raw)));
  auto impl =
      std::make_unique<Impl>(std::unique_ptr<rocksdb::DB>(raw), options.sync);
  FL_RETURN_IF_ERROR(impl->Load());
  return std::unique_ptr<Outbox>(new Outbox(std::move(impl)));
}

Outbox::Outbox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Outbox::~Outbox() = default;

absl::StatusOr<uint64_t> Outbox::Append(v1::Mutation mutation) {
  return impl_->Append(std::move(mutation));
}
uint64_t Outbox::last_seq() const { return impl_->last_seq(); }
uint64_t Outbox::acked_mark() const { return impl_->acked_mark(); }

absl::StatusOr<std::vector<OutboxEntry>> Outbox::Unsettled(size_t limit) const {
  if (limit == 0) return std::vector<OutboxEntry>();
  return impl_->Read(impl_->acked_mark() + 1, limit);
}

absl::StatusOr<std::vector<OutboxEntry>> Outbox::Read(uint64_t from,
                                                      size_t limit) const {
  return impl_->Read(from, limit);
}

absl::Status Outbox::RecordResults(
    const std::vector<v1::MutationResult>& results, uint64_t high_water_mark) {
  return impl_->RecordResults(results, high_water_mark);
}

absl::Status Outbox::SetAckedMark(uint64_t mark) {
  return impl_->SetAckedMark(mark);
}

absl::Status Outbox::Rebase(uint64_t server_mark) {
  return impl_->Rebase(server_mark);
}

absl::StatusOr<Credential> Outbox::GetCredential() const {
  return impl_->GetCredential();
}

absl::Status Outbox::PutCredential(const Credential& credential) {
  return impl_->PutCredential(credential);
}

absl::StatusOr<LedgerTrust> Outbox::GetLedgerTrust() const {
  return impl_->GetLedgerTrust();
}

absl::Status Outbox::PutLedgerTrust(const LedgerTrust& trust) {
  return impl_->PutLedgerTrust(trust);
}

absl::StatusOr<std::string> Outbox::GetCursor() const {
  return impl_->GetCursor();
}

absl::Status Outbox::ApplyPull(const v1::PullResponse& reply) {
  return impl_->ApplyPull(reply);
}

absl::StatusOr<bool> Outbox::HasPulled() const { return impl_->HasPulled(); }

absl::StatusOr<PulledRegistry> Outbox::GetRegistry() const {
  PulledRegistry registry;
  FL_ASSIGN_OR_RETURN(registry.regions, impl_->Scan<v1::Region>(kRegionTag));
  FL_ASSIGN_OR_RETURN(registry.units, impl_->Scan<v1::Unit>(kUnitTag));
  FL_ASSIGN_OR_RETURN(registry.categories,
                      impl_->Scan<v1::Category>(kCategoryTag));
  FL_ASSIGN_OR_RETURN(registry.campaigns,
                      impl_->Scan<v1::Campaign>(kCampaignTag));
  return registry;
}

absl::StatusOr<std::optional<v1::Unit>> Outbox::GetUnit(
    absl::string_view id) const {
  return impl_->GetItem<v1::Unit>(kUnitTag, id);
}

absl::StatusOr<std::optional<v1::Category>> Outbox::GetCategory(
    absl::string_view id) const {
  return impl_->GetItem<v1::Category>(kCategoryTag, id);
}

absl::StatusOr<std::vector<v1::FindingUpdate>> Outbox::GetFindingUpdates()
    const {
  return impl_->Scan<v1::FindingUpdate>(kFindingTag);
}

}  // namespace fieldledger::storage
