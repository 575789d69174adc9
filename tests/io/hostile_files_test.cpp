// Files made to hurt the readers (issue 21's hostile-input findings): each must get one clear
// error naming the file and the field, with flat memory, never a crash.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "elit/data/fashion_mnist.h"
#include "elit/io/image.h"
#include "elit/io/npz.h"
#include "elit/io/pickle.h"
#include "elit/io/safetensors.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "elit/runtime/gzip.h"
#include "support/error_of.h"
#include "support/hostile_bytes.h"
#include "support/reference.h"

#include <stb_image_write.h>  // implemented in src/io/image.cpp: writes the test JPEG

namespace elit::io {
namespace {

using elit::testing::error_of;

std::string unpickle_error(const std::string& bytes) {
  return error_of([&] {
    unpickle(
        bytes, [](const PyRef&) -> PyRef { throw Error("no storages"); }, "t.pkl");
  });
}

std::string write(const std::string& name, const std::string& bytes) {
  const auto path = elit::testing::temp_dir("hostile_files") + "/" + name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

TEST(HostilePickle, DeepNestingIsRefusedNotACrash) {
  // Lists a million deep at the top level, dicts 100k deep: the values' own destructors would
  // recurse that deep.
  EXPECT_NE(unpickle_error(testing::nested_list_pickle(1'000'000)).find("nested deeper than"),
            std::string::npos);
  EXPECT_NE(unpickle_error(testing::nested_dict_pickle(100'000)).find("nested deeper than"),
            std::string::npos);
  // Truncated after the nesting: the error path releases the values without recursing.
  EXPECT_NE(unpickle_error(testing::nested_list_pickle(1'000'000, false)).find("truncated"),
            std::string::npos);
  // Ordinary nesting still loads.
  EXPECT_EQ(error_of([&] { unpickle(testing::nested_list_pickle(50), nullptr, "t.pkl"); }), "");
}

TEST(HostilePickle, CyclesAndMemoBombsAreRefused) {
  // l = []; l.append(l): through the memo.
  EXPECT_NE(unpickle_error(std::string("\x80\x02]q\x00h\x00"
                                       "a.",
                                       9))
                .find("contains itself"),
            std::string::npos);
  // t0 = (1,); t_{i+1} = (t_i, t_i): 2^80 values when expanded.
  std::string p(
      "\x80\x02K\x01\x85q\x00"
      "0",
      8);
  auto get = [](int i) { return "h" + std::string(1, static_cast<char>(i)); };
  for (int i = 0; i < 80; ++i) {
    p += get(i) + get(i) + "\x86q" + std::string(1, static_cast<char>(i + 1)) + "0";
  }
  p += get(80) + ".";
  EXPECT_NE(unpickle_error(p).find("expand to more than"), std::string::npos);
}

TEST(HostilePickle, OsSystemPayloadDoesNothingAndIsNamed) {
  const auto marker = elit::testing::temp_dir("hostile_pickle") + "/pwned";
  std::filesystem::remove(marker);
  const std::string command = "touch " + marker;
  // pickle.dumps of a class whose __reduce__ returns (os.system, (command,)), protocol 2.
  std::string p(
      "\x80\x02"
      "cos\nsystem\n"
      "X",
      14);
  testing::put_le(p, command.size(), 4);
  p += command + "\x85R.";
  const auto msg = unpickle_error(p);
  EXPECT_NE(msg.find("os.system"), std::string::npos) << msg;
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(HostileZip, LyingSizesAreRefusedBeforeAllocating) {
  const std::string data(16384, 'x');
  const auto deflated = testing::deflate_stored(data);
  // Declares 8 GiB (zip64) from 16 KB: refused when the archive is opened.
  const auto big = write("big.npz", testing::one_entry_zip("arr_0.npy", deflated, 8,
                                                           uint64_t(8) << 30, crc32_of(data)));
  const auto msg = error_of([&] { ZipReader zip(big); });
  EXPECT_NE(msg.find("arr_0.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("8589934592"), std::string::npos) << msg;
  // A stored entry that claims more than it holds.
  const auto stored =
      write("stored.npz", testing::one_entry_zip("arr_0.npy", data, 0, uint64_t(1) << 33, 0));
  EXPECT_NE(error_of([&] { ZipReader zip(stored); }).find("stored entry declares"),
            std::string::npos);
}

TEST(HostileZip, InflateStopsAtTheDeclaredSize) {
  // 1 MB of real deflate output behind a header that declares 1000 bytes.
  const std::string data(1 << 20, 'z');
  const auto path = write(
      "bomb.npz",
      testing::one_entry_zip("arr_0.npy", testing::deflate_stored(data), 8, 1000, crc32_of(data)));
  ZipReader zip(path);
  const auto msg = error_of([&] { zip.read("arr_0.npy"); });
  EXPECT_NE(msg.find("more than its declared 1000 bytes"), std::string::npos) << msg;
  // A deflate stream cut short.
  auto cut = testing::deflate_stored(data);
  cut.resize(cut.size() / 2);
  const auto short_path =
      write("cut.npz", testing::one_entry_zip("arr_0.npy", cut, 8, data.size(), crc32_of(data)));
  EXPECT_NE(error_of([&] { ZipReader(short_path).read("arr_0.npy"); }).find("corrupt deflate"),
            std::string::npos);
  // And an honest deflated entry reads back.
  const auto ok = write("ok.npz", testing::one_entry_zip("a.bin", testing::deflate_stored(data), 8,
                                                         data.size(), crc32_of(data)));
  EXPECT_EQ(ZipReader(ok).read("a.bin"), data);
}

TEST(HostileSafetensors, DuplicateKeysAndOverflowingShapesAreNamed) {
  auto file = [](const std::string& header) {
    std::string out;
    testing::put_le(out, header.size(), 8);
    return out + header;
  };
  const auto dup = file(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]},)"
                        R"("w":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})");
  EXPECT_NE(error_of([&] { parse_safetensors(dup, "dup.safetensors"); }).find("'w' appears twice"),
            std::string::npos);
  // 2^32 x 2^32 floats: the product wraps to 0 bytes, which "matches" an empty data section.
  const auto huge =
      file(R"({"big":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}})");
  const auto msg = error_of([&] { parse_safetensors(huge, "huge.safetensors"); });
  EXPECT_NE(msg.find("huge.safetensors"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'big'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows"), std::string::npos) << msg;
}

TEST(HostileSafetensors, SaysWhatAFileIsNot) {
  // A legacy torch.save file starts with a protocol-2 pickle.
  const std::string legacy = std::string("\x80\x02\x8a\x0a", 4) + std::string(30, 'x');
  const auto msg = error_of([&] { parse_safetensors(legacy, "old.pt"); });
  EXPECT_NE(msg.find("'old.pt' is not a safetensors file"), std::string::npos) << msg;
  EXPECT_NE(msg.find("legacy"), std::string::npos) << msg;
  const auto random = error_of([&] { parse_safetensors(std::string(64, '\x17'), "rnd.bin"); });
  EXPECT_NE(random.find("'rnd.bin' is not a safetensors file"), std::string::npos) << random;
}

TEST(HostileNpy, OverflowingShapeIsNamed) {
  std::string header =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, "
      "4294967296), }";
  header.append(63 - (10 + header.size()) % 64, ' ');
  header += '\n';
  std::string npy("\x93NUMPY\x01\x00", 8);
  testing::put_le(npy, header.size(), 2);
  npy += header;
  const auto msg = error_of([&] { parse_npy(npy, "x.npy"); });
  EXPECT_NE(msg.find("x.npy"), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows"), std::string::npos) << msg;
}

TEST(HostileIdx, OverflowingDimensionsAreNamed) {
  std::string idx("\x00\x00\x08\x04", 4);
  for (int d = 0; d < 4; ++d) idx += std::string("\xff\xff\xff\xff", 4);
  const auto path = write("huge-idx3-ubyte", idx);
  const auto msg = error_of([&] { data::read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("overflows"), std::string::npos) << msg;
}

TEST(HostileIdx, AZeroDimensionBesideHugeOnesIsRefused) {
  // Found by fuzz_idx: the count is 0, so the data size matched, and libtorch's strides for the
  // other dimensions overflowed into a crash.
  std::string idx("\x00\x00\x08\x03\x00\x00\x00\x00\xff\xff\x05\xaa\xa7\xff\xff\x05", 16);
  const auto path = write("zero-dim-idx3-ubyte", idx);
  const auto msg = error_of([&] { data::read_idx(path); });
  EXPECT_NE(msg.find(path), std::string::npos) << msg;
  EXPECT_NE(msg.find("dimension 0 is 0"), std::string::npos) << msg;
}

TEST(HostileImage, APngChunkLongerThanTheFileIsRefusedBeforeDecoding) {
  // Found by fuzz_image: an IDAT chunk declaring ~1 GB in a 60-byte file made stb allocate 2 GB.
  std::string png(
      "\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x03\x00\x00\x00\x04"
      "\x08\x02\x00\x00\x00\xc4\x4f\x12\x50\x3f\xff\xff\xffIDATx\x01",
      43);
  const auto msg = error_of([&] { decode_image(png, "bomb.png"); });
  EXPECT_NE(msg.find("bomb.png"), std::string::npos) << msg;
  EXPECT_NE(msg.find("PNG chunk 'IDAT'"), std::string::npos) << msg;
}

TEST(HostileImage, AHeaderClaimingMorePixelsThanTheFileCanHoldIsRefused) {
  // Found by fuzz_image: a 35-byte run-length TGA declaring 514x65280 pixels made stb decode
  // 100 MB from nothing (10 s under ASan).
  const std::string tga(
      "\x01\x00\x0a\xff\xfd\x00\x04\x08\x00\xbc\x00\x41\x02\x02\x00\xff\x10\x00\x63\xa8"
      "\xe1\xe8\x54\xbe\xc2\x47\xfd\x7f\x42\xdc\xc9\x54\xf6\x57\x0a",
      35);
  const auto msg = error_of([&] { decode_image(tga, "rle.tga"); });
  EXPECT_NE(msg.find("rle.tga"), std::string::npos) << msg;
  EXPECT_NE(msg.find("514x65280x3 pixels, more than 35 bytes can hold"), std::string::npos) << msg;
  // A real image compressed far better than usual still decodes: a flat 2048x2048 PNG (4 MB of
  // pixels in a few KB).
  const auto flat = torch::zeros({2048, 2048, 1}, torch::kUInt8);
  const auto path = testing::temp_dir("hostile_image") + "/flat.png";
  write_png(path, flat);
  EXPECT_TRUE(torch::equal(read_image(path), flat));
}

TEST(HostileImage, APnmHeaderNumberTooLongForAnIntIsRefused) {
  // Found by fuzz_image: stb's PNM reader overflowed an int on a 34-digit width (UB).
  const std::string ppm = "P6\x0b" + std::string(34, '6') + std::string(1, '\0');
  const auto msg = error_of([&] { decode_image(ppm, "long.ppm"); });
  EXPECT_NE(msg.find("long.ppm': a PNM header number has 34 digits"), std::string::npos) << msg;
  // A real PNM with a comment still decodes.
  const std::string ok = "P5\n# made by hand\n2 1\n255\n\x07\x09";
  const auto image = decode_image(ok, "ok.pgm");
  EXPECT_EQ(image.sizes(), (std::vector<int64_t>{1, 2, 1}));
  EXPECT_EQ(image[0][1][0].item<int>(), 9);
}

TEST(HostileImage, EmptyIdatChunksAreDroppedBeforeDecoding) {
  // Found by fuzz_image (UBSan): an empty IDAT chunk before the data made stb memcpy zero bytes
  // to a null buffer. Empty chunks carry nothing: the image decodes as without them.
  const auto image = torch::arange(12, torch::kUInt8).reshape({2, 2, 3}) * 20;
  const auto png = encode_png(image);
  const size_t idat = png.find("IDAT") - 4;  // the first IDAT chunk's length field
  const std::string empty_idat("\x00\x00\x00\x00IDAT\x35\xaf\x06\x1e", 12);
  const auto with_empty = png.substr(0, idat) + empty_idat + png.substr(idat);
  EXPECT_TRUE(torch::equal(decode_image(with_empty, "empty-idat.png"), image));
}

TEST(HostileImage, AJpegHuffmanTableWithMoreThan256CodesIsRefused) {
  // Found by fuzz_image (UBSan): stb wrote past its 257-entry size table for this DHT segment.
  const std::string jpeg("\xff\xd8\xff\xc4\x2c\x89\x01\xff\xd8\xff\xc4\x2c", 12);
  const auto msg = error_of([&] { decode_image(jpeg, "dht.jpg"); });
  EXPECT_NE(msg.find("dht.jpg': a JPEG Huffman table declares"), std::string::npos) << msg;
  // The same behind a fill byte before the start marker, which stb skips.
  const std::string filled = "\xff" + jpeg;
  EXPECT_NE(error_of([&] { decode_image(filled, "fill.jpg"); }).find("JPEG Huffman table declares"),
            std::string::npos);
  // A real JPEG still decodes (written by stb, quality 90).
  const auto image = torch::full({16, 16, 3}, 128, torch::kUInt8);
  std::string written;
  stbi_write_jpg_to_func(
      [](void* context, void* data, int size) {
        static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
      },
      &written, 16, 16, 3, image.data_ptr<uint8_t>(), 90);
  const auto decoded = decode_image(written, "ok.jpg");
  EXPECT_EQ(decoded.sizes(), image.sizes());
  EXPECT_LE((decoded.to(torch::kInt32) - 128).abs().max().item<int>(), 2);
}

TEST(HostileGzip, StopsAtTheBound) {
  const std::string data(1 << 20, '\0');
  const auto gz = testing::gzip_stored(data);
  EXPECT_EQ(gunzip(gz, "ok.gz"), data);
  const auto msg = error_of([&] { gunzip(gz, "bomb.gz", 100'000); });
  EXPECT_NE(msg.find("bomb.gz"), std::string::npos) << msg;
  EXPECT_NE(msg.find("more than 100000 bytes"), std::string::npos) << msg;
}

}  // namespace
}  // namespace elit::io
