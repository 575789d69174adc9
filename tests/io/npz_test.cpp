// numpy .npy/.npz reading: files written by numpy itself (np.savez with zip64 headers,
// np.savez_compressed, Fortran order), our own writer round-tripped, and bad files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elit/io/npz.h"
#include "elit/io/safetensors.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::io {
namespace {

using elit::testing::error_of;

// An npy file built by hand: any version, descr, order and payload.
std::string npy_bytes(int major, const std::string& dict, const std::string& payload) {
  std::string header = dict;
  const size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const int len_bytes = major == 1 ? 2 : 4;
  for (int i = 0; i < len_bytes; ++i)
    out.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  return out + header + payload;
}

template <typename T>
std::string raw(const std::vector<T>& v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

TEST(Npz, ReadsNumpySavezWithZip64Headers) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto t = read_safetensors(dir + "/metrics/metrics_vectors.safetensors").tensors;
  const auto a = read_npz(dir + "/metrics/ref_batch.npz");
  ASSERT_EQ(a.size(), 5u);
  EXPECT_EQ(a.at("arr_0").scalar_type(), torch::kUInt8);
  EXPECT_EQ(a.at("arr_0").sizes(), (std::vector<int64_t>{20, 8, 8, 3}));
  EXPECT_EQ(a.at("mu").scalar_type(), torch::kFloat32);
  EXPECT_EQ(a.at("sigma").scalar_type(), torch::kFloat64);
  // mu is the float32 rounding of the float64 mean; sigma is stored exactly.
  EXPECT_TRUE(a.at("mu").equal(t.at("output.mu_real").to(torch::kFloat32)));
  EXPECT_TRUE(a.at("sigma").equal(t.at("output.sigma_real")));
  EXPECT_TRUE(a.at("mu_s").equal(t.at("output.mu_fake").to(torch::kFloat32)));
  EXPECT_TRUE(a.at("sigma_s").equal(t.at("output.sigma_fake")));
  EXPECT_EQ(npz_names(dir + "/metrics/ref_batch.npz"),
            (std::vector<std::string>{"arr_0", "mu", "sigma", "mu_s", "sigma_s"}));
}

TEST(Npz, ReadsNumpySavezCompressed) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto ref = read_npz_array(dir + "/metrics/ref_batch.npz", "arr_0");
  const auto path = dir + "/metrics/samples_compressed.npz";
  // The first local header's compression method (offset 8) is 8: deflate.
  EXPECT_EQ(read_file(path).substr(8, 2), std::string("\x08\x00", 2));
  const auto a = read_npz_array(path, "arr_0");
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{5, 8, 8, 3}));
  EXPECT_TRUE(a.equal(ref.slice(0, 0, 5)));
}

TEST(Npz, ReadsFortranOrder) {
  ELIT_REQUIRE_REFERENCE(dir);
  const auto sigma = read_safetensors(dir + "/metrics/metrics_vectors.safetensors")
                         .tensors.at("output.sigma_real");
  const auto a = read_npy(dir + "/metrics/fortran_order.npy");
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_TRUE(a.is_contiguous());
  EXPECT_TRUE(a.equal(sigma.slice(0, 0, 3).slice(1, 0, 5)));
}

TEST(Npz, ParsesVersion2HeadersAndFortranOrderByHand) {
  // [[0, 1, 2], [3, 4, 5]] stored column-major: 0 3 1 4 2 5.
  const auto bytes = npy_bytes(2, "{'descr': '<i8', 'fortran_order': True, 'shape': (2, 3), }",
                               raw<int64_t>({0, 3, 1, 4, 2, 5}));
  const auto a = parse_npy(bytes, "hand-made");
  EXPECT_TRUE(a.equal(torch::arange(6, torch::kInt64).reshape({2, 3})));
  const auto b = parse_npy(
      npy_bytes(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (), }", raw<int32_t>({-7})),
      "scalar");
  EXPECT_EQ(b.dim(), 0);
  EXPECT_EQ(b.item<int32_t>(), -7);
  const auto c = parse_npy(npy_bytes(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                                     std::string("\x01\x00\x01", 3)),
                           "bools");
  EXPECT_TRUE(c.equal(torch::tensor({true, false, true})));
}

TEST(Npz, RoundTripsEveryDtype) {
  const auto dir = elit::testing::temp_dir("npz_roundtrip");
  std::map<std::string, torch::Tensor> arrays = {
      {"u8", torch::randint(0, 256, {4, 5, 6, 3}).to(torch::kUInt8)},
      {"f4", torch::randn({7, 2})},
      {"f8", torch::randn({3, 3}, torch::kFloat64).t()},  // not contiguous
      {"i8", torch::randint(-1000, 1000, {9}, torch::kInt64)},
      {"i4", torch::randint(-1000, 1000, {2, 2}, torch::kInt32)},
      {"b1", torch::randn({5}) > 0},
      {"scalar", torch::tensor(42, torch::kInt64).reshape({})}};
  write_npz(dir + "/a.npz", arrays);
  const auto back = read_npz(dir + "/a.npz");
  ASSERT_EQ(back.size(), arrays.size());
  for (const auto& [name, t] : arrays) {
    EXPECT_EQ(back.at(name).scalar_type(), t.scalar_type()) << name;
    EXPECT_TRUE(back.at(name).equal(t)) << name;
  }
  write_npy(dir + "/b.npy", arrays.at("f8"));
  EXPECT_TRUE(read_npy(dir + "/b.npy").equal(arrays.at("f8")));
}

TEST(Npz, RejectsBadFiles) {
  const auto dir = elit::testing::temp_dir("npz_bad");
  const auto good = dir + "/good.npz";
  write_npz(good, {{"arr_0", torch::arange(1000, torch::kFloat64)}});
  const std::string bytes = read_file(good);

  write_file_atomically(dir + "/truncated.npz", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_of([&] { read_npz(dir + "/truncated.npz"); }).find("truncated.npz"),
            std::string::npos);

  std::string corrupt = bytes;
  corrupt[200] ^= 0x5a;  // inside arr_0's data: the CRC must catch it
  write_file_atomically(dir + "/corrupt.npz", corrupt);
  EXPECT_NE(error_of([&] { read_npz(dir + "/corrupt.npz"); }).find("CRC"), std::string::npos);

  EXPECT_NE(error_of([&] { read_npz_array(good, "mu"); }).find("holds: arr_0"), std::string::npos);

  const std::string dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }";
  EXPECT_NE(error_of([&] {
              parse_npy(npy_bytes(1, dict, raw<double>({1, 2, 3})), "x");
            }).find("truncated"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse_npy("\x93NUMPZ\x01\x00\x00\x00", "x"); }).find("magic"),
            std::string::npos);
  const std::string big = "{'descr': '>f8', 'fortran_order': False, 'shape': (1,), }";
  EXPECT_NE(
      error_of([&] { parse_npy(npy_bytes(1, big, raw<double>({1})), "x"); }).find("big-endian"),
      std::string::npos);
  const std::string obj = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }";
  EXPECT_NE(error_of([&] { parse_npy(npy_bytes(1, obj, raw<double>({1})), "x"); }).find("dtype"),
            std::string::npos);
  const std::string broken = "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }";
  EXPECT_NE(error_of([&] {
              parse_npy(npy_bytes(1, broken, raw<double>({1})), "x");
            }).find("malformed npy header"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::io
