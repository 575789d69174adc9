#include "elit/dist/environment.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>

#include "elit/dist/process_group.h"
#include "elit/runtime/error.h"
#include "elit/train/process_group_communicator.h"

namespace elit::dist {
namespace {

// Sets variables for one test and restores the previous environment afterwards.
class EnvGuard {
 public:
  explicit EnvGuard(std::map<std::string, std::string> vars) {
    for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"}) {
      if (const char* v = std::getenv(k)) saved_[k] = v;
      unsetenv(k);
    }
    for (const auto& [k, v] : vars) setenv(k.c_str(), v.c_str(), 1);
  }
  ~EnvGuard() {
    for (const char* k : {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"})
      unsetenv(k);
    for (const auto& [k, v] : saved_) setenv(k.c_str(), v.c_str(), 1);
  }

 private:
  std::map<std::string, std::string> saved_;
};

TEST(DistEnvironment, DefaultsToOneProcess) {
  EnvGuard env({});
  auto e = Environment::from_env();
  EXPECT_EQ(e.world_size, 1);
  EXPECT_EQ(e.rank, 0);
  EXPECT_FALSE(e.distributed());
}

TEST(DistEnvironment, ReadsTorchrunVariables) {
  EnvGuard env({{"RANK", "3"},
                {"WORLD_SIZE", "4"},
                {"LOCAL_RANK", "1"},
                {"MASTER_ADDR", "10.1.2.3"},
                {"MASTER_PORT", "1234"}});
  auto e = Environment::from_env();
  EXPECT_EQ(e.rank, 3);
  EXPECT_EQ(e.world_size, 4);
  EXPECT_EQ(e.local_rank, 1);
  EXPECT_EQ(e.master_addr, "10.1.2.3");
  EXPECT_EQ(e.master_port, 1234);
  EXPECT_TRUE(e.distributed());
  EXPECT_FALSE(e.is_main());
}

TEST(DistEnvironment, MalformedValuesNameTheVariable) {
  for (auto vars : std::vector<std::map<std::string, std::string>>{
           {{"RANK", "4"}, {"WORLD_SIZE", "4"}},
           {{"RANK", "x"}, {"WORLD_SIZE", "2"}},
           {{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_PORT", "70000"}},
           {{"WORLD_SIZE", "2"}}}) {
    EnvGuard env(vars);
    try {
      Environment::from_env();
      FAIL() << "expected an error";
    } catch (const elit::Error& e) {
      const std::string msg = e.what();
      EXPECT_TRUE(msg.find("RANK") != std::string::npos ||
                  msg.find("MASTER_PORT") != std::string::npos)
          << msg;
    }
  }
}

TEST(DistEnvironment, CudaRanksTakeTheirLocalGpu) {
  {
    EnvGuard env({{"RANK", "3"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "1"}});
    EXPECT_EQ(train::rank_device("cuda"), "cuda:1");
    EXPECT_EQ(train::rank_device("cuda:0"), "cuda:0");  // an explicit index is kept
    EXPECT_EQ(train::rank_device("cpu"), "cpu");
  }
  EnvGuard alone({});
  EXPECT_EQ(train::rank_device("cuda"), "cuda");
}

TEST(DistEnvironment, CudaWithoutNcclIsAClearError) {
  if (nccl_available()) GTEST_SKIP() << "this build has NCCL";
  EnvGuard env({{"RANK", "0"}, {"WORLD_SIZE", "2"}});
  try {
    ProcessGroup::create(Environment::from_env(), std::chrono::seconds(1), torch::Device("cuda:0"));
    FAIL() << "expected an error";
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("NCCL"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace elit::dist
