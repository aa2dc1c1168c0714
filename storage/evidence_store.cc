#include "storage/evidence_store.h"

#include <openssl/evp.h>

#include <atomic>
#include <deque>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "core/status_macros.h"
#include "rocksdb/db.h"
#include "rocksdb/listener.h"
#include "rocksdb/write_batch.h"
#include "storage/key_codec.h"
#include "storage/rocks_status.h"

namespace fieldledger::storage {
namespace {

// Column families: what is known of each evidence, and its bytes.
//   uploads  <sha256 hex>                  -> Record
//   chunks   <sha256 hex><offset BE64>     -> the bytes from offset on
enum Family { kUploads = 0, kChunks = 1 };
constexpr char kChunksFamily[] = "chunks";

struct Record {
  UploadState state;
  int64_t updated_unix = 0;
};

std::string EncodeRecord(const Record& r) {
  std::string out;
  AppendUint64(out, r.state.size);
  AppendUint64(out, r.state.received);
  AppendUint64(out, static_cast<uint64_t>(r.updated_unix));
  out.push_back(r.state.complete ? 1 : 0);
  AppendString(out, r.state.media_type);
  return out;
}

absl::StatusOr<Record> DecodeRecord(absl::string_view in) {
  Record r;
  uint64_t updated;
  if (!ConsumeUint64(in, r.state.size) ||
      !ConsumeUint64(in, r.state.received) || !ConsumeUint64(in, updated) ||
      in.empty()) {
    return absl::DataLossError("unreadable evidence record");
  }
  r.updated_unix = static_cast<int64_t>(updated);
  r.state.complete = in[0] == 1;
  in.remove_prefix(1);
  if (!ConsumeString(in, r.state.media_type) || !in.empty()) {
    return absl::DataLossError("unreadable evidence record");
  }
  return r;
}

std::string ChunkKey(absl::string_view sha256, uint64_t offset) {
  std::string key(sha256);
  AppendUint64(key, offset);
  return key;
}

absl::Status ValidateName(absl::string_view sha256) {
  if (sha256.size() != 64) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sha256: ", sha256.size(), " characters; want 64 lower-case hex"));
  }
  for (char c : sha256) {
    if (!absl::ascii_isdigit(c) && !(c >= 'a' && c <= 'f')) {
      return absl::InvalidArgumentError(
          "sha256: not lower-case hex (0-9, a-f)");
    }
  }
  return absl::OkStatus();
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

// A running SHA-256 of evidence from byte 0, and its first 64 KiB: what
// `accept` sees as `head`, however the uploader cut its chunks.
class Digest {
 public:
  Digest() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
    ok_ = ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1;
  }

  // The bytes hashed so far.
  uint64_t size() const { return size_; }
  const std::string& head() const { return head_; }

  void Add(absl::string_view bytes) {
    constexpr size_t kHeadBytes = 64 << 10;
    if (head_.size() < kHeadBytes) {
      const absl::string_view more = bytes.substr(0, kHeadBytes - head_.size());
      head_.append(more.data(), more.size());
    }
    if (ok_)
      ok_ = EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()) == 1;
    size_ += bytes.size();
  }

  // Lower-case hex of the hash of everything added.
  absl::StatusOr<std::string> Hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (!ok_ || EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1) {
      return absl::InternalError("SHA-256 unavailable");
    }
    return absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), length));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
  bool ok_ = false;
  uint64_t size_ = 0;
  std::string head_;
};

// The newest sequence number that a completed flush of the chunks moved to
// synced blob files. Flushes of one column family complete in order.
class FlushWatch : public rocksdb::EventListener {
 public:
  void OnFlushCompleted(rocksdb::DB*,
                        const rocksdb::FlushJobInfo& info) override {
    if (info.cf_name != kChunksFamily) return;
    uint64_t seen = flushed_.load();
    while (seen < info.largest_seqno &&
           !flushed_.compare_exchange_weak(seen, info.largest_seqno)) {
    }
  }

  uint64_t flushed() const { return flushed_.load(); }

 private:
  std::atomic<uint64_t> flushed_{0};
};

}  // namespace

class EvidenceStore::Impl {
 public:
  Impl(const EvidenceOptions& options, rocksdb::DB* db,
       std::vector<rocksdb::ColumnFamilyHandle*> cfs,
       std::shared_ptr<FlushWatch> flushes)
      : options_(options),
        db_(db),
        cfs_(std::move(cfs)),
        flushes_(std::move(flushes)) {
    write_options_.sync = options.sync;
  }

  ~Impl() {
    for (auto* cf : cfs_) {
      db_->DestroyColumnFamilyHandle(cf).PermitUncheckedError();
    }
    delete db_;
  }

  // Holds one evidence's name so that its uploads do not interleave.
  class Hold {
   public:
    enum Mode { kWait, kTry };
    // kWait waits until no other Hold has the name; kTry gives up at once,
    // leaving held() false.
    Hold(Impl& impl, absl::string_view sha256, Mode mode = kWait)
        : impl_(impl), sha256_(sha256) {
      absl::MutexLock lock(&impl_.mu_);
      if (mode == kWait) {
        impl_.mu_.Await(absl::Condition(
            +[](Hold* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(h->impl_.mu_) {
              return !h->impl_.busy_.contains(h->sha256_);
            },
            this));
      }
      held_ = impl_.busy_.insert(sha256_).second;
    }
    ~Hold() {
      if (!held_) return;
      absl::MutexLock lock(&impl_.mu_);
      impl_.busy_.erase(sha256_);
    }
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

    bool held() const { return held_; }

   private:
    Impl& impl_;
    const std::string sha256_;
    bool held_ = false;
  };

  absl::StatusOr<std::optional<Record>> Get(absl::string_view sha256) {
    std::string value;
    const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), cfs_[kUploads],
                                       ToSlice(sha256), &value);
    if (s.IsNotFound()) return std::nullopt;
    FL_RETURN_IF_ERROR(ToStatus(s));
    FL_ASSIGN_OR_RETURN(Record r, DecodeRecord(value));
    return r;
  }

  // Writes `batch`; waits for the WAL sync when `sync` and options_.sync.
  absl::Status Write(rocksdb::WriteBatch& batch, bool sync = true) {
    rocksdb::WriteOptions options = write_options_;
    options.sync = options.sync && sync;
    return ToStatus(db_->Write(options, &batch));
  }

  // Writes `batch` (chunks only) past the WAL, so chunk bytes are written
  // to disk once, into blob files. They are durable once a flush has moved
  // them there: returns the sequence number FlushedSeq() must reach.
  absl::StatusOr<uint64_t> WriteChunks(rocksdb::WriteBatch& batch) {
    rocksdb::WriteOptions options;
    options.disableWAL = true;
    FL_RETURN_IF_ERROR(ToStatus(db_->Write(options, &batch)));
    return db_->GetLatestSequenceNumber();
  }

  uint64_t FlushedSeq() const { return flushes_->flushed(); }

  // Makes every chunk written so far durable: moves the chunks' memtable to
  // a blob file (synced) and waits for it.
  absl::Status FlushChunks() {
    rocksdb::FlushOptions options;
    options.wait = true;
    options.allow_write_stall = true;
    return ToStatus(db_->Flush(options, cfs_[kChunks]));
  }

  // Adds the removal of everything stored for `sha256` to `batch`.
  void Discard(absl::string_view sha256, rocksdb::WriteBatch& batch) {
    batch
        .DeleteRange(cfs_[kChunks], ChunkKey(sha256, 0),
                     ChunkKey(sha256, UINT64_MAX))
        .PermitUncheckedError();
    batch.Delete(cfs_[kUploads], ToSlice(sha256)).PermitUncheckedError();
  }

  // The record of `sha256` (Begin's contract), created when missing. The
  // caller holds the name.
  absl::StatusOr<Record> BeginHeld(absl::string_view sha256, uint64_t size,
                                   absl::string_view media_type,
                                   absl::Time now) {
    FL_ASSIGN_OR_RETURN(std::optional<Record> r, Get(sha256));
    if (r) {
      if (r->state.size != size) {
        return absl::InvalidArgumentError(absl::StrCat(
            "size: ", size, " bytes, but this evidence was begun with ",
            r->state.size));
      }
      return *r;
    }
    Record fresh;
    fresh.state.size = size;
    fresh.state.media_type = std::string(media_type);
    fresh.updated_unix = absl::ToUnixSeconds(now);
    rocksdb::WriteBatch batch;
    FL_RETURN_IF_ERROR(ToStatus(
        batch.Put(cfs_[kUploads], ToSlice(sha256), EncodeRecord(fresh))));
    FL_RETURN_IF_ERROR(Write(batch));
    return fresh;
  }

  // Calls `fn(offset, bytes)` for each stored chunk of `sha256` that holds
  // a byte in [from, to), in order, until it returns false. Keys at or past
  // `to` (a crash may leave chunks past the durable offset) are not read.
  template <typename Fn>
  absl::Status ScanChunks(absl::string_view sha256, uint64_t from, uint64_t to,
                          Fn fn) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cfs_[kChunks]));
    const std::string start = ChunkKey(sha256, from);
    it->SeekForPrev(start);
    if (!it->Valid() || !it->key().starts_with(ToSlice(sha256))) {
      it->Seek(start);
    }
    for (; it->Valid() && it->key().starts_with(ToSlice(sha256)); it->Next()) {
      absl::string_view key(it->key().data() + sha256.size(),
                            it->key().size() - sha256.size());
      uint64_t offset;
      if (!ConsumeUint64(key, offset) || !key.empty()) {
        return absl::DataLossError("unreadable evidence chunk key");
      }
      if (offset >= to) break;
      absl::string_view bytes(it->value().data(), it->value().size());
      if (offset + bytes.size() <= from) continue;
      if (offset < from) {
        bytes.remove_prefix(from - offset);
        offset = from;
      }
      if (offset + bytes.size() > to) bytes = bytes.substr(0, to - offset);
      if (!fn(offset, bytes)) break;
    }
    return ToStatus(it->status());
  }

  // Whether a chunk key of `sha256` at or past `offset` exists.
  absl::StatusOr<bool> HasChunksFrom(absl::string_view sha256,
                                     uint64_t offset) {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), cfs_[kChunks]));
    it->Seek(ChunkKey(sha256, offset));
    const bool found = it->Valid() && it->key().starts_with(ToSlice(sha256));
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
    return found;
  }

  // The stored bytes [0, end) of `sha256` followed by `tail`.
  absl::StatusOr<std::string> Content(absl::string_view sha256, uint64_t end,
                                      absl::string_view tail) {
    std::string content;
    FL_RETURN_IF_ERROR(
        ScanChunks(sha256, 0, end, [&](uint64_t, absl::string_view bytes) {
          content.append(bytes.data(), bytes.size());
          return true;
        }));
    content.append(tail.data(), tail.size());
    return content;
  }

  const EvidenceOptions options_;
  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  const std::shared_ptr<FlushWatch> flushes_;
  rocksdb::WriteOptions write_options_;

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> busy_ ABSL_GUARDED_BY(mu_);
};

// What a Writer keeps between calls.
struct EvidenceStore::Writer::Session {
  // `hash_from_start`: hash the durable prefix at the first Append (a
  // session of many appends); otherwise only when completing (one append).
  Session(Impl& impl, absl::string_view sha256,
          std::unique_ptr<Impl::Hold> hold, const Record& record,
          bool hash_from_start)
      : impl(impl),
        sha256(sha256),
        hold(std::move(hold)),
        record(record),
        durable(record.state.received),
        hash_from_start(hash_from_start) {}

  absl::StatusOr<UploadState> Append(uint64_t offset, absl::string_view bytes,
                                     absl::Time now);
  absl::StatusOr<UploadState> Commit(absl::Time now);

  // Hashes the stored bytes from what the digest has up to `offset`.
  absl::Status CatchUp(uint64_t offset) {
    return impl.ScanChunks(sha256, digest.size(), offset,
                           [&](uint64_t, absl::string_view bytes) {
                             digest.Add(bytes);
                             return true;
                           });
  }

  // Whether the bytes hashed so far may complete the evidence; `tail` is the
  // last chunk, not yet stored.
  absl::Status Verify(absl::string_view tail) {
    FL_ASSIGN_OR_RETURN(const std::string actual, digest.Hex());
    if (actual != sha256) {
      return absl::InvalidArgumentError(
          absl::StrCat("sha256: the bytes hash to ", actual, ", not ", sha256,
                       "; the upload was discarded"));
    }
    if (!impl.options_.accept) return absl::OkStatus();
    const uint64_t stored = record.state.received;
    return impl.options_.accept(
        digest.head(), [&] { return impl.Content(sha256, stored, tail); });
  }

  // Writes `next` as the durable record (WAL synced), first making every
  // chunk written durable when `flush`, else claiming no more than
  // background flushes made durable.
  absl::Status WriteRecord(const Record& next, bool flush) {
    if (flush) {
      FL_RETURN_IF_ERROR(impl.FlushChunks());
      unflushed.clear();
    }
    rocksdb::WriteBatch batch;
    FL_RETURN_IF_ERROR(ToStatus(
        batch.Put(impl.cfs_[kUploads], ToSlice(sha256), EncodeRecord(next))));
    FL_RETURN_IF_ERROR(impl.Write(batch));
    durable = next.state.received;
    return absl::OkStatus();
  }

  // Records as durable the bytes that background flushes have moved to blob
  // files since: no waiting, and one small sync per flush.
  absl::Status RecordFlushed(absl::Time now) {
    const uint64_t flushed = impl.FlushedSeq();
    uint64_t end = durable;
    while (!unflushed.empty() && unflushed.front().seq <= flushed) {
      end = unflushed.front().end;
      unflushed.pop_front();
    }
    if (end == durable) return absl::OkStatus();
    Record next = record;
    next.state.received = end;
    next.updated_unix = absl::ToUnixSeconds(now);
    return WriteRecord(next, /*flush=*/false);
  }

  Impl& impl;
  const std::string sha256;
  const std::unique_ptr<Impl::Hold> hold;
  // `received` counts the bytes appended, durable or not.
  Record record;
  uint64_t durable;
  // Chunks written and not yet known to be flushed: the sequence number a
  // flush must reach, and the offset they take the upload to.
  struct Unflushed {
    uint64_t seq;
    uint64_t end;
  };
  std::deque<Unflushed> unflushed;
  const bool hash_from_start;
  Digest digest;
  // Chunk keys past `durable` (left by a crash) were deleted or not there.
  bool tail_clear = false;
  // Set once the upload was discarded or a write failed: the session is over.
  absl::Status broken;
};

absl::StatusOr<UploadState> EvidenceStore::Writer::Session::Append(
    uint64_t offset, absl::string_view bytes, absl::Time now) {
  FL_RETURN_IF_ERROR(broken);
  if (bytes.empty()) return absl::InvalidArgumentError("chunk: empty");
  if (bytes.size() > impl.options_.max_chunk_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk: ", bytes.size(), " bytes, over the limit of ",
                     impl.options_.max_chunk_bytes, " bytes per chunk"));
  }
  UploadState& state = record.state;
  if (state.complete) return state;
  if (offset != state.received) {
    return absl::FailedPreconditionError(absl::StrCat(
        "offset: ", offset, ", but the node has ", state.received,
        " bytes of evidence ", sha256, "; resume at ", state.received));
  }
  const uint64_t end = offset + bytes.size();
  if (end > state.size) {
    return absl::OutOfRangeError(absl::StrCat(
        "chunk: ends at byte ", end, ", past the declared size ", state.size));
  }

  if (hash_from_start || end == state.size) {
    FL_RETURN_IF_ERROR(CatchUp(offset));
  }
  rocksdb::WriteBatch batch;
  if (!tail_clear) {
    FL_ASSIGN_OR_RETURN(const bool stale, impl.HasChunksFrom(sha256, durable));
    if (stale) {
      FL_RETURN_IF_ERROR(ToStatus(
          batch.DeleteRange(impl.cfs_[kChunks], ChunkKey(sha256, durable),
                            ChunkKey(sha256, UINT64_MAX))));
    }
  }
  // From here on a failure ends the session: the digest has the bytes.
  if (digest.size() == offset) digest.Add(bytes);
  const bool completes = end == state.size;
  if (completes) {
    if (absl::Status refused = Verify(bytes); !refused.ok()) {
      rocksdb::WriteBatch discard;
      impl.Discard(sha256, discard);
      broken = impl.Write(discard);
      if (broken.ok()) {
        broken = absl::NotFoundError(
            absl::StrCat("evidence ", sha256, ": no upload begun"));
      }
      return refused;
    }
  }
  FL_RETURN_IF_ERROR(ToStatus(
      batch.Put(impl.cfs_[kChunks], ChunkKey(sha256, offset), ToSlice(bytes))));
  absl::StatusOr<uint64_t> seq = impl.WriteChunks(batch);
  absl::Status written = seq.status();
  if (written.ok() && completes) {
    Record next = record;
    next.state.received = end;
    next.state.complete = true;
    next.updated_unix = absl::ToUnixSeconds(now);
    written = WriteRecord(next, /*flush=*/true);
    if (written.ok()) record = next;
  } else if (written.ok()) {
    unflushed.push_back({*seq, end});
    state.received = end;
    written = RecordFlushed(now);
  }
  if (!written.ok()) {
    broken = written;
    return written;
  }
  tail_clear = true;
  return state;
}

absl::StatusOr<UploadState> EvidenceStore::Writer::Session::Commit(
    absl::Time now) {
  FL_RETURN_IF_ERROR(broken);
  if (durable == record.state.received) return record.state;
  record.updated_unix = absl::ToUnixSeconds(now);
  if (absl::Status written = WriteRecord(record, /*flush=*/true);
      !written.ok()) {
    broken = written;
    return written;
  }
  return record.state;
}

EvidenceStore::Writer::Writer(std::unique_ptr<Session> session)
    : session_(std::move(session)) {}
EvidenceStore::Writer::~Writer() = default;

const UploadState& EvidenceStore::Writer::state() const {
  return session_->record.state;
}

uint64_t EvidenceStore::Writer::durable() const { return session_->durable; }

absl::StatusOr<UploadState> EvidenceStore::Writer::Append(
    uint64_t offset, absl::string_view bytes, absl::Time now) {
  return session_->Append(offset, bytes, now);
}

absl::StatusOr<UploadState> EvidenceStore::Writer::Commit(absl::Time now) {
  return session_->Commit(now);
}

absl::StatusOr<std::unique_ptr<EvidenceStore>> EvidenceStore::Open(
    const EvidenceOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;
  auto flushes = std::make_shared<FlushWatch>();
  db_options.listeners.push_back(flushes);

  // Flushes write blob files of up to a memtable each: sync them as they
  // grow, so that the flush's final sync is short and uploads rarely stall.
  db_options.bytes_per_sync = 1 << 20;
  // A chunk larger than the file buffer goes from the memtable to the blob
  // file without being copied into the buffer first.
  db_options.writable_file_max_buffer_size = 256 << 10;

  rocksdb::ColumnFamilyOptions chunks;
  // Chunks (written past the WAL) wait in the memtable until a flush moves
  // them to a synced blob file, which makes them durable. The memtables are
  // shared by all uploads: at most 32 MiB, whatever the number of uploads.
  // Smaller ones flush so often that they halve the upload rate
  // (docs/BENCHMARKS.md, "Evidence upload").
  chunks.write_buffer_size = 16 << 20;
  chunks.max_write_buffer_number = 2;
  chunks.enable_blob_files = true;
  chunks.min_blob_size = 0;
  // Discarded and expired uploads leave garbage in blob files.
  chunks.enable_blob_garbage_collection = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kChunksFamily, chunks}};
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  FL_RETURN_IF_ERROR(ToStatus(
      rocksdb::DB::Open(db_options, options.path, families, &handles, &db)));
  return std::unique_ptr<EvidenceStore>(
      new EvidenceStore(std::make_unique<Impl>(options, db, std::move(handles),
                                               std::move(flushes))));
}

EvidenceStore::EvidenceStore(std::unique_ptr<Impl> impl)
    : impl_(std::move(impl)) {}
EvidenceStore::~EvidenceStore() = default;

absl::StatusOr<std::optional<UploadState>> EvidenceStore::Status(
    absl::string_view sha256) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
  if (!r) return std::nullopt;
  return r->state;
}

namespace {

// Begin's checks of its arguments.
absl::Status ValidateBegin(absl::string_view sha256, uint64_t size,
                           absl::string_view media_type, uint64_t max_bytes) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  if (size == 0) return absl::InvalidArgumentError("size: must be positive");
  if (size > max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("size: ", size, " bytes, over the limit of ", max_bytes,
                     " bytes per evidence"));
  }
  if (media_type.empty()) {
    return absl::InvalidArgumentError("media_type: missing");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<UploadState> EvidenceStore::Begin(absl::string_view sha256,
                                                 uint64_t size,
                                                 absl::string_view media_type,
                                                 absl::Time now) {
  FL_RETURN_IF_ERROR(
      ValidateBegin(sha256, size, media_type, impl_->options_.max_bytes));
  Impl::Hold hold(*impl_, sha256);
  FL_ASSIGN_OR_RETURN(Record r,
                      impl_->BeginHeld(sha256, size, media_type, now));
  return r.state;
}

absl::StatusOr<std::unique_ptr<EvidenceStore::Writer>>
EvidenceStore::OpenWriter(absl::string_view sha256, uint64_t size,
                          absl::string_view media_type, absl::Time now) {
  FL_RETURN_IF_ERROR(
      ValidateBegin(sha256, size, media_type, impl_->options_.max_bytes));
  auto hold = std::make_unique<Impl::Hold>(*impl_, sha256, Impl::Hold::kTry);
  if (!hold->held()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "evidence ", sha256,
        ": another upload of it is under way; resume where GetUploadStatus "
        "says once it ends"));
  }
  FL_ASSIGN_OR_RETURN(Record r,
                      impl_->BeginHeld(sha256, size, media_type, now));
  return std::unique_ptr<Writer>(new Writer(std::make_unique<Writer::Session>(
      *impl_, sha256, std::move(hold), r, /*hash_from_start=*/true)));
}

absl::StatusOr<UploadState> EvidenceStore::Append(absl::string_view sha256,
                                                  uint64_t offset,
                                                  absl::string_view bytes,
                                                  absl::Time now) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  auto hold = std::make_unique<Impl::Hold>(*impl_, sha256);
  FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
  if (!r) {
    return absl::NotFoundError(
        absl::StrCat("evidence ", sha256, ": no upload begun"));
  }
  // One append: the stored bytes are hashed only if it completes them.
  Writer::Session session(*impl_, sha256, std::move(hold), *r,
                          /*hash_from_start=*/false);
  FL_RETURN_IF_ERROR(session.Append(offset, bytes, now).status());
  return session.Commit(now);
}

absl::Status EvidenceStore::Read(
    absl::string_view sha256, uint64_t offset,
    const std::function<bool(absl::string_view)>& fn) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
  if (!r || !r->state.complete) {
    return absl::NotFoundError(
        absl::StrCat("evidence ", sha256, ": not complete on this node"));
  }
  if (offset > r->state.size) {
    return absl::OutOfRangeError(
        absl::StrCat("offset: ", offset, ", past the size ", r->state.size));
  }
  return impl_->ScanChunks(
      sha256, offset, r->state.size,
      [&](uint64_t, absl::string_view bytes) { return fn(bytes); });
}

absl::StatusOr<int> EvidenceStore::ExpirePartial(absl::Time cutoff) {
  std::vector<std::string> stale;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl_->db_->NewIterator(rocksdb::ReadOptions(), impl_->cfs_[kUploads]));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      FL_ASSIGN_OR_RETURN(Record r,
                          DecodeRecord(absl::string_view(it->value().data(),
                                                         it->value().size())));
      if (!r.state.complete && r.updated_unix < absl::ToUnixSeconds(cutoff)) {
        stale.push_back(it->key().ToString());
      }
    }
    FL_RETURN_IF_ERROR(ToStatus(it->status()));
  }
  int removed = 0;
  for (const std::string& sha256 : stale) {
    // A name being written to is not stale; waiting for it could wait for
    // as long as its uploader takes.
    Impl::Hold hold(*impl_, sha256, Impl::Hold::kTry);
    if (!hold.held()) continue;
    // Look again: an Append may have come in since the scan.
    FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
    if (!r || r->state.complete ||
        r->updated_unix >= absl::ToUnixSeconds(cutoff)) {
      continue;
    }
    rocksdb::WriteBatch batch;
    impl_->Discard(sha256, batch);
    FL_RETURN_IF_ERROR(impl_->Write(batch));
    ++removed;
  }
  return removed;
}

}  // namespace fieldledger::storage
