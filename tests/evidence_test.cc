// Evidence upload through a node on port 0: resumable after a cut stream,
// stored once, verified against its name, and refused while a photo still
// carries identifying metadata.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "client/admin_client.h"
#include "client/evidence_upload.h"
#include "core/media.h"
#include "core/text.h"
#include "fieldledger/v1/sync.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/node.h"

namespace fieldledger {
namespace {

constexpr size_t kChunk = 1 << 20;

std::string HexSha256(absl::string_view bytes) {
  return absl::BytesToHexString(Sha256(bytes));
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class EvidenceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = ::testing::TempDir() + "evidence_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    server::NodeOptions options;
    options.data_dir = dir_;
    options.listen = "127.0.0.1:0";
    options.uploads.max_per_device = 2;
    auto node = server::Node::Start(options);
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = *std::move(node);
    stub_ = v1::FieldSync::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", node_->port()),
                            grpc::InsecureChannelCredentials()));
    std::ifstream token_file(dir_ + "/admin.token");
    std::getline(token_file, admin_token_);
    alice_ = Enroll();
    bob_ = Enroll();
  }

  void TearDown() override {
    node_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string Enroll() {
    auto admin = client::AdminClient::Connect(
        absl::StrCat("127.0.0.1:", node_->port()), admin_token_);
    EXPECT_TRUE(admin.ok());
    auto code = (*admin)->CreateEnrollmentCode(v1::ROLE_INSPECTOR, 0);
    EXPECT_TRUE(code.ok());
    v1::EnrollRequest request;
    request.set_code(code->code());
    v1::EnrollResponse reply;
    grpc::ClientContext context;
    EXPECT_TRUE(stub_->Enroll(&context, request, &reply).ok());
    return reply.token();
  }

  // Streams `data` from `from` in kChunk pieces as `token`; when
  // `cut_after` is given, cancels the call after that many chunks, once the
  // node has stored some of them.
  grpc::Status Upload(const std::string& token, const std::string& data,
                      uint64_t from, v1::UploadStatus* reply,
                      std::optional<int> cut_after = std::nullopt,
                      const std::string& media_type = "image/jpeg",
                      std::string sha256 = "") {
    if (sha256.empty()) sha256 = HexSha256(data);
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    auto writer = stub_->UploadEvidence(&context, reply);
    v1::EvidenceChunk chunk;
    chunk.set_sha256(sha256);
    chunk.set_size(data.size());
    chunk.set_media_type(media_type);
    int sent = 0;
    for (uint64_t at = from; at < data.size(); at += kChunk) {
      if (cut_after && sent == *cut_after) {
        // Cut once the node holds some of what was sent, so that every
        // round makes progress; the chunks still in flight are lost.
        for (int polls = 0; polls < 1000; ++polls) {
          auto status = Status(token, sha256);
          if (status.ok() && status->received() > from) break;
        }
        context.TryCancel();
        break;
      }
      chunk.set_offset(at);
      chunk.set_data(data.substr(at, kChunk));
      if (!writer->Write(chunk)) break;  // the server finished early
      chunk.clear_sha256();
      ++sent;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  absl::StatusOr<v1::UploadStatus> Status(const std::string& token,
                                          const std::string& sha256) {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + token);
    v1::GetUploadStatusRequest request;
    request.set_sha256(sha256);
    v1::UploadStatus reply;
    const grpc::Status s = stub_->GetUploadStatus(&context, request, &reply);
    if (!s.ok()) {
      return absl::Status(static_cast<absl::StatusCode>(s.error_code()),
                          s.error_message());
    }
    return reply;
  }

  std::string dir_;
  std::string admin_token_, alice_, bob_;
  std::unique_ptr<server::Node> node_;
  std::unique_ptr<v1::FieldSync::Stub> stub_;
};

TEST_F(EvidenceTest, CutUploadsResumeFromTheDurableOffset) {
  std::mt19937 gen(20261129);
  for (int round = 0; round < 4; ++round) {
    std::string data(5 * kChunk + gen() % kChunk, '\0');
    for (char& c : data) c = static_cast<char>(gen());
    const std::string sha = HexSha256(data);
    uint64_t from = 0;
    int cuts = 0;
    for (;;) {
      ASSERT_LT(cuts++, 30) << "no progress";
      v1::UploadStatus reply;
      const int cut_after = 1 + static_cast<int>(gen() % 3);
      Upload(alice_, data, from, &reply, cut_after);
      auto status = Status(alice_, sha);
      if (status.status().code() == absl::StatusCode::kNotFound) {
        ASSERT_EQ(from, 0u);  // cut before the node began it
        continue;
      }
      ASSERT_TRUE(status.ok()) << status.status();
      // Never less than before: no durable byte is asked for again.
      ASSERT_GE(status->received(), from);
      from = status->received();
      if (status->complete()) break;
      // Bytes before the node's offset are refused, not stored twice.
      if (from > 0) {
        grpc::ClientContext context;
        context.AddMetadata("authorization", "Bearer " + alice_);
        v1::UploadStatus refused;
        auto writer = stub_->UploadEvidence(&context, &refused);
        v1::EvidenceChunk chunk;
        chunk.set_sha256(sha);
        chunk.set_size(data.size());
        chunk.set_media_type("image/jpeg");
        chunk.set_data(data.substr(0, kChunk));
        writer->Write(chunk);
        writer->WritesDone();
        const grpc::Status s = writer->Finish();
        // The cut streams may still hold the device's upload slots a moment.
        if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) continue;
        EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
        // A cancelled stream's last chunk may land after the Status call,
        // so the node can be further on than `from`.
        EXPECT_NE(s.error_message().find("resume at "), std::string::npos)
            << s.error_message();
      }
    }
    EXPECT_EQ(from, data.size());
  }
}

TEST_F(EvidenceTest, SameBytesFromTwoInspectorsAreStoredOnce) {
  std::string data(kChunk + 17, 'x');
  v1::UploadStatus first, second;
  ASSERT_TRUE(Upload(alice_, data, 0, &first).ok());
  EXPECT_TRUE(first.complete());
  // Bob's first message already gets the answer: complete.
  const grpc::Status s = Upload(bob_, data, 0, &second, 0);
  EXPECT_TRUE(s.ok() || s.error_code() == grpc::StatusCode::CANCELLED)
      << s.error_message();
  auto status = Status(bob_, HexSha256(data));
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->complete());
}

TEST_F(EvidenceTest, BytesThatDoNotMatchTheirNameAreRefused) {
  const std::string data(1000, 'y');
  const std::string claimed = HexSha256("other");
  v1::UploadStatus reply;
  const grpc::Status s =
      Upload(alice_, data, 0, &reply, std::nullopt, "image/jpeg", claimed);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("sha256:"), std::string::npos);
  EXPECT_EQ(Status(alice_, claimed).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(EvidenceTest, PhotosWithIdentifyingMetadataAreRefused) {
  const std::string with_meta =
      ReadFile(std::string(MEDIA_TESTDATA_DIR) + "/meta.jpg");
  ASSERT_FALSE(with_meta.empty());
  v1::UploadStatus reply;
  const grpc::Status s = Upload(alice_, with_meta, 0, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(s.error_message().find("EXIF"), std::string::npos)
      << s.error_message();
  EXPECT_EQ(Status(alice_, HexSha256(with_meta)).status().code(),
            absl::StatusCode::kNotFound);

  // What the client library uploads: the same photo, stripped.
  auto stripped = StripMetadata(with_meta);
  ASSERT_TRUE(stripped.ok());
  ASSERT_TRUE(Upload(alice_, *stripped, 0, &reply).ok());
  EXPECT_TRUE(reply.complete());
}

TEST_F(EvidenceTest, OversizedEvidenceAndStrangersAreRefused) {
  v1::UploadStatus reply;
  {
    grpc::ClientContext context;
    context.AddMetadata("authorization", "Bearer " + alice_);
    auto writer = stub_->UploadEvidence(&context, &reply);
    v1::EvidenceChunk chunk;
    chunk.set_sha256(HexSha256("big"));
    chunk.set_size(uint64_t{65} << 20);
    chunk.set_media_type("video/mp4");
    writer->Write(chunk);
    writer->WritesDone();
    const grpc::Status s = writer->Finish();
    EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_NE(s.error_message().find("size:"), std::string::npos);
  }
  EXPECT_EQ(Upload("not-a-token", "abc", 0, &reply).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Upload(admin_token_, "abc", 0, &reply).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(EvidenceTest, ADeviceHasAtMostItsLimitOfUploadsOpen) {
  // Two streams held open (the limit here), each known to the node.
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientWriter<v1::EvidenceChunk>>> writers;
  v1::UploadStatus replies[3];
  for (int i = 0; i < 2; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    contexts.back()->AddMetadata("authorization", "Bearer " + alice_);
    writers.push_back(
        stub_->UploadEvidence(contexts.back().get(), &replies[i]));
    v1::EvidenceChunk header;
    header.set_sha256(HexSha256(absl::StrCat("open ", i)));
    header.set_size(10);
    header.set_media_type("text/plain");
    ASSERT_TRUE(writers.back()->Write(header));
    // Begun means the stream is open on the node.
    while (!Status(alice_, header.sha256()).ok()) {
    }
  }
  EXPECT_EQ(Upload(alice_, "third", 0, &replies[2]).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  // Another device is not affected.
  EXPECT_TRUE(Upload(bob_, "fourth", 0, &replies[2]).ok());
  for (auto& writer : writers) {
    writer->WritesDone();
    EXPECT_TRUE(writer->Finish().ok());
  }
  EXPECT_TRUE(Upload(alice_, "third", 0, &replies[2]).ok());
}

TEST_F(EvidenceTest, TheClientLibraryFinishesACutUploadFromTheNodesOffset) {
  std::string data(3 * kChunk + 5, '\0');
  std::mt19937 gen(7);
  for (char& c : data) c = static_cast<char>(gen());
  v1::UploadStatus cut;
  Upload(alice_, data, 0, &cut, 2);

  client::UploadOptions options;
  int waits = 0;
  options.sleep = [&](absl::Duration) { ++waits; };
  std::vector<uint64_t> progress;
  options.progress = [&](uint64_t received, uint64_t) {
    progress.push_back(received);
  };
  auto done =
      client::UploadEvidence(*stub_, alice_, "audio/mp4", data, options);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_TRUE(done->complete());
  EXPECT_EQ(progress.back(), data.size());

  // A refusal for good is returned at once, not retried.
  waits = 0;
  const std::string with_meta =
      ReadFile(std::string(MEDIA_TESTDATA_DIR) + "/meta.jpg");
  auto refused =
      client::UploadEvidence(*stub_, alice_, "image/jpeg", with_meta, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(waits, 0);
}

}  // namespace
}  // namespace fieldledger
