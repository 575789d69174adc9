// The sampling commands end to end through the `elit` binary: outputs of `elit sample` from a
// training run folder, and clear one-line errors for bad input.
#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "elit/io/checkpoint_path.h"
#include "elit/io/model_file.h"
#include "elit/io/npz.h"
#include "elit/models/sit.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "support/reference.h"
#include "support/run_cli.h"
#include "support/tiny_sit.h"
#include "support/worker.h"

namespace elit::sampling {
namespace {
namespace fs = std::filesystem;

// Every command runs single-threaded so that tests running in parallel do not compete.
testing::CliRun run_cli(const std::string& args) {
  return testing::run_elit("--threads 1 " + args);
}

// A training run folder: <run>/checkpoints/<step:07d>/ema.safetensors, two steps.
std::string make_run(const std::string& name) {
  const auto run = testing::temp_dir(name);
  torch::manual_seed(0);
  models::SiT model(testing::tiny_sampling_sit_config(32));
  for (const char* step : {"0000010", "0000200"}) {
    const auto dir = fs::path(run) / "checkpoints" / step;
    fs::create_directories(dir);
    io::write_model_file((dir / "ema.safetensors").string(), *model,
                         {{io::kDataSpaceKey, "pixels"}});
  }
  return run;
}

TEST(SampleCli, WritesPngsGridAndAdmNpzFromARunFolder) {
  const auto run = make_run("cli_run");
  EXPECT_EQ(io::resolve_model_path(run), run + "/checkpoints/0000200/ema.safetensors");
  const auto out = run + "/samples";
  const auto r =
      run_cli("sample --ckpt " + run + " --classes 1,4 --num 4 --steps 2 --cfg-scale 2 " +
              "--budget 0.5 --uncond-budget 0.25 --batch-size 3 --out " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* f :
       {"images/000000.png", "images/000003.png", "grid.png", "samples.npz", "sample.json"}) {
    EXPECT_TRUE(fs::exists(fs::path(out) / f)) << f;
  }
  // ADM layout: arr_0 uint8 [N, H, W, C], arr_1 int64 class labels (for CAS).
  const auto arrays = io::read_npz(out + "/samples.npz");
  ASSERT_TRUE(arrays.count("arr_0") && arrays.count("arr_1"));
  EXPECT_EQ(arrays.at("arr_0").scalar_type(), torch::kUInt8);
  EXPECT_EQ(arrays.at("arr_0").sizes(), (std::vector<int64_t>{4, 8, 8, 1}));
  EXPECT_TRUE(torch::equal(arrays.at("arr_1"), torch::tensor({1, 4, 1, 4}, torch::kInt64)));
  const auto settings = nlohmann::json::parse(read_file(out + "/sample.json"));
  EXPECT_EQ(settings["guidance"], "ccfg");
  EXPECT_EQ(settings["checkpoint"], run + "/checkpoints/0000200/ema.safetensors");
}

// `elit sample` writes its images block by block (--write-every), so memory stays bounded
// whatever --num: the blocks give the images, PNGs and .npz of one block, byte for byte.
TEST(SampleCli, ImagesWrittenInBlocksEqualOneBlock) {
  const auto run = make_run("cli_blocks");
  const std::string common = "sample --ckpt " + run + " --classes all --num 7 --steps 2 " +
                             "--cfg-scale 2 --batch-size 2 --out " + run;
  auto r = run_cli(common + "/one");
  ASSERT_EQ(r.status, 0) << r.output;
  r = run_cli(common + "/blocks --write-every 3");  // rounded down to whole batches: 2
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_file(run + "/blocks/samples.npz"), read_file(run + "/one/samples.npz"));
  EXPECT_EQ(read_file(run + "/blocks/images/000006.png"),
            read_file(run + "/one/images/000006.png"));
  EXPECT_EQ(read_file(run + "/blocks/grid.png"), read_file(run + "/one/grid.png"));
  EXPECT_FALSE(fs::exists(run + "/blocks/images/000007.png"));
  EXPECT_EQ(nlohmann::json::parse(read_file(run + "/blocks/sample.json"))["labels"].size(), 7u);
  EXPECT_NE(run_cli(common + "/zero --write-every 0").status, 0);
}

// SIGTERM (or Ctrl-C) in the middle of a long run stops after the current step: the PNGs written
// so far stay, no half-written .npz or temporary file is left, and the error says what happened.
// The temporary file of a run that was killed outright is removed by the next run, with a note.
TEST(SampleCli, SigtermLeavesNoHalfWrittenNpz) {
  const auto run = make_run("cli_sigterm");
  const auto out = run + "/out";
  fs::create_directories(out);
  const auto stale = out + "/.samples.npz.tmp.999999999";  // above any pid_max: no such process
  write_file_atomically(stale, "partial");
  const auto log = run + "/log.txt";
  const int pid = testing::spawn_process(
      ELIT_CLI_PATH,
      {ELIT_CLI_PATH, "--threads", "1", "sample", "--ckpt", run, "--num", "100000", "--steps", "50",
       "--batch-size", "2", "--write-every", "2", "--out", out},
      {}, log);
  const auto start = std::chrono::steady_clock::now();
  while (!fs::exists(out + "/images/000003.png") &&
         std::chrono::steady_clock::now() - start < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_TRUE(fs::exists(out + "/images/000003.png")) << read_file(log);
  ::kill(pid, SIGTERM);
  const int status = testing::wait_for(pid, 60);
  const auto output = read_file(log);
  EXPECT_EQ(status, 1) << "not ended by its own handler: " << output;
  EXPECT_NE(output.find("interrupted by SIGTERM"), std::string::npos) << output;
  EXPECT_NE(output.find("removed " + stale), std::string::npos) << output;
  EXPECT_TRUE(fs::exists(out + "/images/000000.png"));
  EXPECT_FALSE(fs::exists(out + "/samples.npz"));
  for (const auto& entry : fs::directory_iterator(out)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos)
        << entry.path() << " left behind";
  }
}

TEST(SampleCli, BadInputIsAClearError) {
  const auto run = make_run("cli_bad");
  const auto ckpt = run + "/checkpoints/0000200/ema.safetensors";
  const auto other = testing::temp_dir("cli_bad_config") + "/other.json";
  write_file_atomically(other, R"({"hidden_size": 48, "num_heads": 3})");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"sample --ckpt /nonexistent/model.safetensors", "does not exist"},
      {"sample --ckpt " + testing::temp_dir("cli_empty"), "neither a checkpoint"},
      {"sample --ckpt " + ckpt + " --model-config " + other, "48"},
      {"sample --ckpt " + ckpt + " --budget 1.5", "integer"},
      {"sample --ckpt " + ckpt + " --budget 0.1", "keeps no latent"},
      {"sample --ckpt " + ckpt + " --budget 0.5,1", "2 budgets but sampling takes"},
      {"sample --ckpt " + ckpt + " --classes 3,12", "unknown class 12"},
      {"sample --ckpt " + ckpt + " --steps 0", "steps"},
      {"sample --ckpt " + ckpt + " --steps -3", "steps"},
      {"sample --ckpt " + ckpt + " --cfg-scale 2 --autoguidance", "autoguidance needs"},
      {"budgets --ckpt " + ckpt + " --budgets 0.5,2.5", "integer"},
      {"flops --model ELIT-SiT-XL/2", "--resolution"},
      {"flops --model ELIT-SiT-XL/2 --resolution 256 --budget 0.01", "keeps no latent"}};
  for (const auto& [args, fragment] : cases) {
    const bool has_out = args.rfind("flops", 0) != 0;
    const auto r = run_cli(args + (has_out ? " --out " + run + "/never" : ""));
    EXPECT_NE(r.status, 0) << args;
    EXPECT_NE(r.output.find("error"), std::string::npos) << args << "\n" << r.output;
    EXPECT_NE(r.output.find(fragment), std::string::npos) << args << "\n" << r.output;
  }
  EXPECT_FALSE(fs::exists(run + "/never/grid.png"));
}

TEST(FlopsCli, JsonHasTotalAndComponents) {
  const auto r = run_cli("flops --model ELIT-SiT-XL/2 --resolution 256 --cfg --json");
  ASSERT_EQ(r.status, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["flops"].get<int64_t>(), 490886922240);  // published results.json, budget 1
  EXPECT_EQ(j["components"].size(), 6u);
  EXPECT_EQ(j["batch"].get<int64_t>(), 2);
}

}  // namespace
}  // namespace elit::sampling
