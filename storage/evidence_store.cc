#include "storage/evidence_store.h"

#include <openssl/evp.h>

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
#include "rocksdb/write_batch.h"
#include "storage/key_codec.h"
#include "storage/rocks_status.h"

namespace fieldledger::storage {
namespace {

// Column families: what is known of each evidence, and its bytes.
//   uploads  <sha256 hex>                  -> Record
//   chunks   <sha256 hex><offset BE64>     -> the bytes from offset on
enum Family { kUploads = 0, kChunks = 1 };

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

}  // namespace

class EvidenceStore::Impl {
 public:
  Impl(const EvidenceOptions& options, rocksdb::DB* db,
       std::vector<rocksdb::ColumnFamilyHandle*> cfs)
      : options_(options), db_(db), cfs_(std::move(cfs)) {
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
    Hold(Impl& impl, absl::string_view sha256) : impl_(impl), sha256_(sha256) {
      absl::MutexLock lock(&impl_.mu_);
      impl_.mu_.Await(absl::Condition(
          +[](Hold* h) ABSL_EXCLUSIVE_LOCKS_REQUIRED(h->impl_.mu_) {
            return !h->impl_.busy_.contains(h->sha256_);
          },
          this));
      impl_.busy_.insert(sha256_);
    }
    ~Hold() {
      absl::MutexLock lock(&impl_.mu_);
      impl_.busy_.erase(sha256_);
    }

   private:
    Impl& impl_;
    const std::string sha256_;
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

  absl::Status Write(rocksdb::WriteBatch& batch) {
    return ToStatus(db_->Write(write_options_, &batch));
  }

  // Adds the removal of everything stored for `sha256` to `batch`.
  void Discard(absl::string_view sha256, rocksdb::WriteBatch& batch) {
    batch
        .DeleteRange(cfs_[kChunks], ChunkKey(sha256, 0),
                     ChunkKey(sha256, UINT64_MAX))
        .PermitUncheckedError();
    batch.Delete(cfs_[kUploads], ToSlice(sha256)).PermitUncheckedError();
  }

  // Calls `fn(offset, bytes)` for each stored chunk of `sha256` that holds
  // a byte at or after `from`, in order, until it returns false.
  template <typename Fn>
  absl::Status ScanChunks(absl::string_view sha256, uint64_t from, Fn fn) {
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
      if (!fn(offset,
              absl::string_view(it->value().data(), it->value().size()))) {
        break;
      }
    }
    return ToStatus(it->status());
  }

  // The stored chunks of `sha256` followed by `tail`.
  absl::StatusOr<std::string> Content(absl::string_view sha256,
                                      absl::string_view tail) {
    std::string content;
    FL_RETURN_IF_ERROR(
        ScanChunks(sha256, 0, [&](uint64_t, absl::string_view bytes) {
          content.append(bytes.data(), bytes.size());
          return true;
        }));
    content.append(tail.data(), tail.size());
    return content;
  }

  // The first bytes `accept` sees, however the uploader cut its chunks.
  static void AddToHead(std::string& head, absl::string_view bytes) {
    constexpr size_t kHeadBytes = 64 << 10;
    if (head.size() < kHeadBytes) {
      const absl::string_view more = bytes.substr(0, kHeadBytes - head.size());
      head.append(more.data(), more.size());
    }
  }

  // Whether the stored chunks of `sha256` and then `tail` may complete it.
  // Hashes a chunk at a time.
  absl::Status Verify(absl::string_view sha256, absl::string_view tail) {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(
        EVP_MD_CTX_new(), EVP_MD_CTX_free);
    if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
      return absl::InternalError("SHA-256 unavailable");
    }
    std::string head;
    FL_RETURN_IF_ERROR(
        ScanChunks(sha256, 0, [&](uint64_t, absl::string_view bytes) {
          AddToHead(head, bytes);
          EVP_DigestUpdate(ctx.get(), bytes.data(), bytes.size());
          return true;
        }));
    AddToHead(head, tail);
    EVP_DigestUpdate(ctx.get(), tail.data(), tail.size());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    EVP_DigestFinal_ex(ctx.get(), digest, &length);
    const std::string actual = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(digest), length));
    if (actual != sha256) {
      return absl::InvalidArgumentError(
          absl::StrCat("sha256: the bytes hash to ", actual, ", not ", sha256,
                       "; the upload was discarded"));
    }
    if (!options_.accept) return absl::OkStatus();
    return options_.accept(head, [&] { return Content(sha256, tail); });
  }

  const EvidenceOptions options_;
  rocksdb::DB* const db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> cfs_;
  rocksdb::WriteOptions write_options_;

 private:
  absl::Mutex mu_;
  absl::flat_hash_set<std::string> busy_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<std::unique_ptr<EvidenceStore>> EvidenceStore::Open(
    const EvidenceOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.keep_log_file_num = 3;

  rocksdb::ColumnFamilyOptions chunks;
  // Chunks wait in the memtable only until a small flush moves them to a
  // blob file: the memtable is what an upload costs in memory.
  chunks.write_buffer_size = 4 << 20;
  chunks.max_write_buffer_number = 2;
  chunks.enable_blob_files = true;
  chunks.min_blob_size = 0;
  // Discarded and expired uploads leave garbage in blob files.
  chunks.enable_blob_garbage_collection = true;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {"chunks", chunks}};
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  FL_RETURN_IF_ERROR(ToStatus(
      rocksdb::DB::Open(db_options, options.path, families, &handles, &db)));
  return std::unique_ptr<EvidenceStore>(new EvidenceStore(
      std::make_unique<Impl>(options, db, std::move(handles))));
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

absl::StatusOr<UploadState> EvidenceStore::Begin(absl::string_view sha256,
                                                 uint64_t size,
                                                 absl::string_view media_type,
                                                 absl::Time now) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  if (size == 0) return absl::InvalidArgumentError("size: must be positive");
  if (size > impl_->options_.max_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("size: ", size, " bytes, over the limit of ",
                     impl_->options_.max_bytes, " bytes per evidence"));
  }
  if (media_type.empty()) {
    return absl::InvalidArgumentError("media_type: missing");
  }
  Impl::Hold hold(*impl_, sha256);
  FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
  if (r) {
    if (r->state.size != size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "size: ", size, " bytes, but this evidence was begun with ",
          r->state.size));
    }
    return r->state;
  }
  Record fresh;
  fresh.state.size = size;
  fresh.state.media_type = std::string(media_type);
  fresh.updated_unix = absl::ToUnixSeconds(now);
  rocksdb::WriteBatch batch;
  FL_RETURN_IF_ERROR(ToStatus(
      batch.Put(impl_->cfs_[kUploads], ToSlice(sha256), EncodeRecord(fresh))));
  FL_RETURN_IF_ERROR(impl_->Write(batch));
  return fresh.state;
}

absl::StatusOr<UploadState> EvidenceStore::Append(absl::string_view sha256,
                                                  uint64_t offset,
                                                  absl::string_view bytes,
                                                  absl::Time now) {
  FL_RETURN_IF_ERROR(ValidateName(sha256));
  if (bytes.empty()) return absl::InvalidArgumentError("chunk: empty");
  if (bytes.size() > impl_->options_.max_chunk_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("chunk: ", bytes.size(), " bytes, over the limit of ",
                     impl_->options_.max_chunk_bytes, " bytes per chunk"));
  }
  Impl::Hold hold(*impl_, sha256);
  FL_ASSIGN_OR_RETURN(std::optional<Record> r, impl_->Get(sha256));
  if (!r) {
    return absl::NotFoundError(
        absl::StrCat("evidence ", sha256, ": no upload begun"));
  }
  if (r->state.complete) return r->state;
  if (offset != r->state.received) {
    return absl::FailedPreconditionError(absl::StrCat(
        "offset: ", offset, ", but the node has ", r->state.received,
        " bytes of evidence ", sha256, "; resume at ", r->state.received));
  }
  const uint64_t end = offset + bytes.size();
  if (end > r->state.size) {
    return absl::OutOfRangeError(absl::StrCat("chunk: ends at byte ", end,
                                              ", past the declared size ",
                                              r->state.size));
  }

  rocksdb::WriteBatch batch;
  if (end == r->state.size) {
    if (absl::Status refused = impl_->Verify(sha256, bytes); !refused.ok()) {
      impl_->Discard(sha256, batch);
      FL_RETURN_IF_ERROR(impl_->Write(batch));
      return refused;
    }
    r->state.complete = true;
  }
  r->state.received = end;
  r->updated_unix = absl::ToUnixSeconds(now);
  FL_RETURN_IF_ERROR(ToStatus(batch.Put(
      impl_->cfs_[kChunks], ChunkKey(sha256, offset), ToSlice(bytes))));
  FL_RETURN_IF_ERROR(ToStatus(
      batch.Put(impl_->cfs_[kUploads], ToSlice(sha256), EncodeRecord(*r))));
  FL_RETURN_IF_ERROR(impl_->Write(batch));
  return r->state;
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
  return impl_->ScanChunks(sha256, offset,
                           [&](uint64_t start, absl::string_view bytes) {
                             if (start + bytes.size() <= offset) return true;
                             if (start < offset)
                               bytes.remove_prefix(offset - start);
                             return fn(bytes);
                           });
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
    Impl::Hold hold(*impl_, sha256);
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
