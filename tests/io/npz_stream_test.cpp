// .npz written block by block (io/npz_stream.h): the same bytes as write_npz, every CRC checked by
// the reader, and a file that is incomplete, over-full or of the wrong type is never created.
#include "elit/io/npz_stream.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "elit/io/npz.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "support/error_of.h"
#include "support/reference.h"

namespace elit::io {
namespace {

using elit::testing::error_of;
namespace fs = std::filesystem;

TEST(NpzStream, BlocksGiveTheBytesOfOneWrite) {
  const auto dir = elit::testing::temp_dir("npz_stream");
  const auto images = torch::randint(0, 256, {7, 4, 5, 1}).to(torch::kUInt8);
  const auto labels = torch::randint(0, 10, {7}, torch::kInt64);
  write_npz(dir + "/whole.npz", {{"arr_0", images}, {"arr_1", labels}});
  write_npz_streaming(dir + "/blocks.npz",
                      {{"arr_0", torch::kUInt8, {7, 4, 5, 1}}, {"arr_1", torch::kInt64, {7}}},
                      [&](NpzRowSink& sink) {
                        sink.append("arr_0", images.narrow(0, 0, 3));
                        sink.append("arr_0", images.narrow(0, 3, 0));  // an empty block is fine
                        sink.append("arr_0", images.narrow(0, 3, 4));
                        sink.append("arr_1", labels);
                      });
  EXPECT_EQ(read_file(dir + "/blocks.npz"), read_file(dir + "/whole.npz"));
  const auto back = read_npz(dir + "/blocks.npz");  // checks each entry's CRC
  EXPECT_TRUE(back.at("arr_0").equal(images));
  EXPECT_TRUE(back.at("arr_1").equal(labels));
  EXPECT_EQ(crc32_update(crc32_update(0, "ab", 2), "cd", 2), crc32_of("abcd"));
}

TEST(NpzStream, IncompleteOverfullOrMistypedArraysLeaveNoFile) {
  const auto dir = elit::testing::temp_dir("npz_stream_bad");
  const std::vector<NpyArraySpec> spec = {{"arr_0", torch::kFloat32, {4, 2}},
                                          {"arr_1", torch::kInt64, {4}}};
  const auto rows = torch::zeros({3, 2});
  auto attempt = [&](const std::string& name, const std::function<void(NpzRowSink&)>& fill) {
    const auto path = dir + "/" + name + ".npz";
    const auto message = error_of([&] { write_npz_streaming(path, spec, fill); });
    EXPECT_FALSE(fs::exists(path)) << name;
    EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 0)
        << name << ": a temporary file was left behind";
    return message;
  };
  EXPECT_NE(attempt("short", [&](NpzRowSink& s) { s.append("arr_0", rows); })
                .find("array 'arr_0' got 3 of its 4 rows"),
            std::string::npos);
  EXPECT_NE(attempt("over",
                    [&](NpzRowSink& s) {
                      s.append("arr_0", rows);
                      s.append("arr_0", rows);
                    })
                .find("declared 4 rows, got 6"),
            std::string::npos);
  EXPECT_NE(attempt("dtype", [&](NpzRowSink& s) { s.append("arr_0", rows.to(torch::kFloat64)); })
                .find("holds Float, got Double"),
            std::string::npos);
  EXPECT_NE(attempt("shape",
                    [&](NpzRowSink& s) {
                      s.append("arr_0", torch::zeros({4, 3}));
                    })
                .find("do not fit its declared shape"),
            std::string::npos);
  EXPECT_NE(attempt("order",
                    [&](NpzRowSink& s) {
                      s.append("arr_1", torch::zeros({4}, torch::kInt64));
                      s.append("arr_0", torch::zeros({4, 2}));
                    })
                .find("array 'arr_0' got 0 of its 4 rows"),
            std::string::npos);
  EXPECT_NE(attempt("thrown", [&](NpzRowSink&) { fail("the sampler failed"); })
                .find("the sampler failed"),
            std::string::npos);
}

}  // namespace
}  // namespace elit::io
