#include "elit/io/safetensors.h"

#include <gtest/gtest.h>

#include <fstream>

#include "elit/runtime/error.h"
#include "support/reference.h"

namespace elit::io {
namespace {

std::string header_file(const std::string& json, const std::string& data) {
  std::string out(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json + data;
}

void expect_error(const std::string& bytes, const std::string& fragment) {
  try {
    parse_safetensors(bytes, "test.safetensors");
    FAIL() << "expected an error mentioning '" << fragment << "'";
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("test.safetensors"), std::string::npos) << e.what();
  }
}

TEST(Safetensors, RoundTripsEveryDtype) {
  TensorMap in;
  in["f64"] = torch::randn({3, 4}, torch::kFloat64);
  in["f32"] = torch::randn({2, 5});
  in["f16"] = torch::randn({7}).to(torch::kFloat16);
  in["bf16"] = torch::randn({2, 2}).to(torch::kBFloat16);
  in["i64"] = torch::randint(-1000, 1000, {5}, torch::kInt64);
  in["i32"] = torch::randint(-1000, 1000, {5}, torch::kInt32);
  in["u8"] = torch::randint(0, 255, {4, 4}, torch::kUInt8);
  in["bool"] = torch::rand({6}) > 0.5;
  in["empty"] = torch::zeros({0, 3});
  in["strided"] = torch::randn({4, 6}).t();  // non-contiguous input is written contiguously
  const auto bytes = serialize_safetensors(in, {{"note", "hello"}});
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | static_cast<uint8_t>(bytes[i]);
  EXPECT_EQ(header_len % 8, 0u) << "the data section must start 8-byte aligned";
  const auto out = parse_safetensors(bytes, "roundtrip");
  EXPECT_EQ(out.metadata.at("note"), "hello");
  ASSERT_EQ(out.tensors.size(), in.size());
  for (const auto& [name, t] : in) {
    const auto& u = out.tensors.at(name);
    EXPECT_EQ(u.scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(torch::equal(u, t)) << name;
  }
}

TEST(Safetensors, WritesAtomicallyAndReadsBack) {
  const auto dir = elit::testing::temp_dir("st_atomic");
  const auto path = dir + "/w.safetensors";
  write_safetensors(path, {{"a", torch::ones({2})}});
  write_safetensors(path, {{"a", torch::zeros({2})}});
  EXPECT_TRUE(torch::equal(read_safetensors(path).tensors.at("a"), torch::zeros({2})));
}

TEST(Safetensors, RejectsCorruptInput) {
  expect_error("abc", "truncated");
  expect_error(header_file("{}", "").substr(0, 7), "truncated");
  std::string huge(8, '\xff');
  expect_error(huge + "{}", "runs past the end");
  expect_error(header_file("{not json", ""), "not valid JSON");
  expect_error(header_file("[1,2]", ""), "JSON object");
  expect_error(header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", "1234"),
               "out of range");
  expect_error(header_file(R"({"a":{"dtype":"F64","shape":[2],"data_offsets":[0,8]}})", "12345678"),
               "needs 16");
  expect_error(header_file(R"({"a":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", "12345678"),
               "unsupported dtype");
  expect_error(header_file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", "12345678"),
               "non-negative");
  expect_error(header_file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}})", "12345678"),
               "begin");
  expect_error(header_file(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                           R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
                           "12345678"),
               "overlap");
  expect_error(header_file(R"({"a":{"dtype":"F32","shape":[1]}})", "1234"), "data_offsets");
  expect_error(header_file(R"({"__metadata__":{"k":1}})", ""), "must be a string");
}

TEST(Safetensors, MissingFileNamesThePath) {
  try {
    read_safetensors("/nonexistent/dir/w.safetensors");
    FAIL();
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/dir/w.safetensors"), std::string::npos);
  }
}

TEST(Safetensors, ReadsReferenceFiles) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto f = read_safetensors(dir + "/elit_sit_tiny_g2.safetensors");
  EXPECT_EQ(f.tensors.at("input.y").scalar_type(), torch::kInt64);
  EXPECT_EQ(f.tensors.at("output.budget_1.0000").scalar_type(), torch::kFloat64);
  EXPECT_EQ(f.tensors.at("weight.pos_embed").sizes(), (std::vector<int64_t>{1, 64, 64}));
}

}  // namespace
}  // namespace elit::io
