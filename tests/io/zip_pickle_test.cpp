// The zip container and the data-only unpickler on hand-made inputs: valid data, corrupt data,
// and pickles that try to reference code.
#include <gtest/gtest.h>

#include <fstream>

#include "elit/io/pickle.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {

using Kind = PyValue::Kind;

PyRef parse(const std::string& bytes) {
  return unpickle(bytes, [](const PyRef&) -> PyRef { throw elit::Error("no storages"); }, "test");
}

std::string error_of(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const elit::Error& e) {
    return e.what();
  }
  return "";
}

TEST(Pickle, ParsesPlainData) {
  // pickle.dumps({'a': [1, 2.5, 'x', None, True], 'b': (300, -5)}, protocol=2)
  const std::string p(
      "\x80\x02\x7d\x71\x00\x28\x58\x01\x00\x00\x00\x61\x71\x01\x5d\x71\x02\x28\x4b\x01\x47\x40"
      "\x04\x00\x00\x00\x00\x00\x00\x58\x01\x00\x00\x00\x78\x71\x03\x4e\x88\x65\x58\x01\x00\x00"
      "\x00\x62\x71\x04\x4d\x2c\x01\x4a\xfb\xff\xff\xff\x86\x71\x05\x75\x2e",
      61);
  auto v = parse(p);
  ASSERT_EQ(v->kind, Kind::Dict);
  auto a = v->get("a");
  ASSERT_TRUE(a);
  ASSERT_EQ(a->items.size(), 5u);
  EXPECT_EQ(a->items[0]->i, 1);
  EXPECT_DOUBLE_EQ(a->items[1]->f, 2.5);
  EXPECT_EQ(a->items[2]->s, "x");
  EXPECT_EQ(a->items[3]->kind, Kind::None);
  EXPECT_TRUE(a->items[4]->b);
  auto b = v->get("b");
  EXPECT_EQ(b->items[0]->i, 300);
  EXPECT_EQ(b->items[1]->i, -5);
}

TEST(Pickle, RefusesCodeReferences) {
  // GLOBAL 'os system' + REDUCE: the classic code-execution pickle.
  const std::string evil(
      "\x80\x02" "cos\nsystem\nq\x00" "X\x02\x00\x00\x00" "lsq\x01\x85q\x02Rq\x03.", 31);
  const auto msg = error_of(evil);
  EXPECT_NE(msg.find("os.system"), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not load"), std::string::npos) << msg;
  const std::string evil2 = "\x80\x04\x8c\x08" "builtins" "\x8c\x04" "eval" "\x93)R.";
  EXPECT_NE(error_of(evil2).find("builtins.eval"), std::string::npos);
}

TEST(Pickle, RejectsCorruptStreams) {
  EXPECT_NE(error_of(std::string("\x80\x02}q\x00(X\x05\x00\x00\x00" "ab", 13)).find("truncated"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02h\x07.").find("memo"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02" "a.").find("underflow"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02\xff.").find("opcode"), std::string::npos);
  EXPECT_NE(error_of("\x80\x02K\x01K\x02.").find("stack"), std::string::npos);
}

TEST(Zip, RejectsNonZipAndTruncatedFiles) {
  const auto dir = elit::testing::temp_dir("zip");
  {
    std::ofstream(dir + "/short.zip") << "PK";
    std::ofstream(dir + "/text.zip") << std::string(100, 'x');
  }
  EXPECT_THROW(ZipReader(dir + "/short.zip"), elit::Error);
  EXPECT_THROW(ZipReader(dir + "/text.zip"), elit::Error);
  EXPECT_THROW(ZipReader(dir + "/missing.zip"), elit::Error);
}

TEST(Zip, Crc32KnownValue) {
  EXPECT_EQ(crc32_of("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32_of(""), 0u);
}

TEST(Zip, ReadsTorchArchiveAndDetectsTruncation) {
  ELIT_REQUIRE_REFERENCE(ref);
  const auto path = ref + "/published_format_checkpoint.pt";
  ZipReader zip(path);
  EXPECT_TRUE(zip.contains("published_format_checkpoint/data.pkl"));
  EXPECT_GT(zip.read("published_format_checkpoint/data.pkl").size(), 1000u);
  // A copy cut in half has lost its central directory.
  const auto dir = elit::testing::temp_dir("zip_trunc");
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::ofstream(dir + "/half.pt", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  EXPECT_THROW(ZipReader(dir + "/half.pt"), elit::Error);
  // A flipped byte inside a stored tensor is caught by the CRC.
  auto corrupt = bytes;
  const auto pos = corrupt.find("published_format_checkpoint/data/0");
  ASSERT_NE(pos, std::string::npos);
  auto u16 = [&](size_t at) {
    return static_cast<size_t>(static_cast<uint8_t>(corrupt[at])) |
           (static_cast<size_t>(static_cast<uint8_t>(corrupt[at + 1])) << 8);
  };
  const size_t header = pos - 30;  // the local header precedes the entry name
  corrupt[header + 30 + u16(header + 26) + u16(header + 28)] ^= 0x5a;  // first data byte
  std::ofstream(dir + "/flip.pt", std::ios::binary) << corrupt;
  ZipReader flipped(dir + "/flip.pt");
  EXPECT_THROW(flipped.read("published_format_checkpoint/data/0"), elit::Error);
}

}  // namespace
}  // namespace elit::io
