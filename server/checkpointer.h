// Checkpointer: signs the node's ledger checkpoints (c2sp.org/tlog-checkpoint
// in a signed note) as the durable tree grows, and serves the latest one.
//
//   FL_ASSIGN_OR_RETURN(std::unique_ptr<Checkpointer> checkpointer,
//                       Checkpointer::Start(store, signer,
//                                           absl::Seconds(1)));
//   FL_ASSIGN_OR_RETURN(std::string note, checkpointer->Latest());
//
// It signs at most once per `interval`, only when the tree has grown, and
// never two inconsistent checkpoints: each new tree is checked against the
// last signed one with a consistency proof from the store, and the last one
// is kept in the store (meta), so a restart continues from it. A tree
// smaller than the last checkpoint, or one whose root at that size differs,
// means the data was rolled back or altered: Start fails with DATA_LOSS, and
// a later occurrence stops signing and is reported on stderr.
//
// Thread-safe. Its own thread signs; Latest() may be called from any thread.
#ifndef FIELDLEDGER_SERVER_CHECKPOINTER_H_
#define FIELDLEDGER_SERVER_CHECKPOINTER_H_

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/note.h"
#include "storage/store.h"

namespace fieldledger::server {

class Checkpointer {
 public:
  // Loads the last checkpoint from `store` (checking it against the tree),
  // signs one for the current tree when it grew or none exists, then signs
  // every `interval` while the tree grows. `interval` of zero or less: no
  // thread; call SignNow(). `store` must outlive the Checkpointer.
  static absl::StatusOr<std::unique_ptr<Checkpointer>> Start(
      storage::Store& store, const NoteSigner& signer, absl::Duration interval);

  // Stops the thread.
  ~Checkpointer();

  // The latest signed checkpoint note, verbatim. FAILED_PRECONDITION when
  // signing stopped because the data was rolled back or altered.
  absl::StatusOr<std::string> Latest();

  // Signs a checkpoint for the durable tree now if it grew; returns the
  // latest note. For tests and shutdown.
  absl::StatusOr<std::string> SignNow();

  const NoteVerifier& verifier() const { return signer_.verifier(); }

 private:
  Checkpointer(storage::Store& store, const NoteSigner& signer)
      : store_(store), signer_(signer) {}

  absl::Status Load() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status SignLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Loop(absl::Duration interval);

  storage::Store& store_;
  const NoteSigner signer_;

  absl::Mutex mu_;
  std::string note_ ABSL_GUARDED_BY(mu_);
  Checkpoint last_ ABSL_GUARDED_BY(mu_);
  bool have_last_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

// The meta key under which the last signed checkpoint note is kept.
inline constexpr char kCheckpointMetaKey[] = "ledger_checkpoint";

}  // namespace fieldledger::server

#endif  // FIELDLEDGER_SERVER_CHECKPOINTER_H_
