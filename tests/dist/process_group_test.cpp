// c10d process groups on loopback with real processes: collectives, a peer that dies, a peer
// that hangs, an unreachable rendezvous, and the --nproc launcher.
#include "elit/dist/process_group.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "elit/dist/launcher.h"
#include "elit/runtime/error.h"
#include "support/worker.h"

namespace elit::dist {
namespace {

using namespace std::chrono_literals;
using elit::testing::spawn_worker;
using elit::testing::wait_for;

ProcessGroupPtr join(std::chrono::milliseconds timeout = 20s) {
  return ProcessGroup::create(Environment::from_env(), timeout);
}

std::map<std::string, std::string> rank_env(int rank, int world, int port) {
  return {{"RANK", std::to_string(rank)},
          {"WORLD_SIZE", std::to_string(world)},
          {"MASTER_ADDR", "127.0.0.1"},
          {"MASTER_PORT", std::to_string(port)},
          {"OMP_NUM_THREADS", "1"}};
}

ELIT_TEST_WORKER(collectives) {
  auto pg = join();
  const int r = pg->rank(), n = pg->size();
  // all-reduce (mean) over two dtypes and several buckets
  std::vector<torch::Tensor> ts = {torch::full({1000}, static_cast<float>(r + 1)),
                                   torch::full({3, 4}, 10.0 * r, torch::kFloat64),
                                   torch::full({5}, static_cast<float>(r))};
  pg->all_reduce(ts, /*average=*/true, /*bucket_bytes=*/1024);
  const double mean_r = (n - 1) / 2.0;
  if (!torch::allclose(ts[0], torch::full({1000}, static_cast<float>(mean_r + 1)))) return 1;
  if (!torch::allclose(ts[1], torch::full({3, 4}, 10 * mean_r, torch::kFloat64))) return 2;
  if (!torch::allclose(ts[2], torch::full({5}, static_cast<float>(mean_r)))) return 3;
  // broadcast from rank 0
  std::vector<torch::Tensor> b = {torch::full({7}, static_cast<float>(r + 5))};
  pg->broadcast(b, 0);
  if (!torch::equal(b[0], torch::full({7}, 5.0f))) return 4;
  // all-gather of uneven row counts, in rank order
  auto mine = torch::full({r + 1, 2}, static_cast<int64_t>(r), torch::kInt64);
  auto all = pg->all_gather_cat(mine);
  if (all.size(0) != n * (n + 1) / 2) return 5;
  if (all[0][0].item<int64_t>() != 0 || all[all.size(0) - 1][0].item<int64_t>() != n - 1) return 6;
  pg->barrier();
  return 0;
}

ELIT_TEST_WORKER(peer_dies) {
  auto pg = join(3s);
  if (pg->rank() == 1) _exit(3);  // dies without a word
  std::vector<torch::Tensor> ts = {torch::ones({10})};
  const auto start = std::chrono::steady_clock::now();
  try {
    pg->all_reduce(ts, true);
  } catch (const elit::Error& e) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::string msg = e.what();
    return msg.find("rank 0") != std::string::npos && secs < 15 ? 0 : 10;
  }
  return 11;  // the collective must not succeed without its peer
}

ELIT_TEST_WORKER(peer_hangs) {
  auto pg = join(2s);
  if (pg->rank() == 1) {
    std::this_thread::sleep_for(60s);
    return 0;
  }
  std::vector<torch::Tensor> ts = {torch::ones({10})};
  try {
    pg->all_reduce(ts, true);
  } catch (const elit::Error& e) {
    return std::string(e.what()).find("did not answer") != std::string::npos ? 0 : 10;
  }
  return 11;
}

ELIT_TEST_WORKER(fail_fast_rank1) {
  if (std::getenv("RANK") && std::string(std::getenv("RANK")) == "1") return 5;
  std::this_thread::sleep_for(60s);  // rank 0 would wait forever without the launcher
  return 0;
}

TEST(ProcessGroup, CollectivesAcrossTwoAndThreeRanks) {
  for (int world : {2, 3}) {
    const int port = free_port();
    std::vector<int> pids;
    for (int r = 0; r < world; ++r)
      pids.push_back(spawn_worker("collectives", rank_env(r, world, port)));
    for (int r = 0; r < world; ++r)
      EXPECT_EQ(wait_for(pids[r], 120), 0) << "rank " << r << " of " << world;
  }
}

TEST(ProcessGroup, DeadPeerFailsTheCollectiveWithinTheTimeout) {
  const int port = free_port();
  const int p0 = spawn_worker("peer_dies", rank_env(0, 2, port));
  const int p1 = spawn_worker("peer_dies", rank_env(1, 2, port));
  EXPECT_EQ(wait_for(p1, 60), 3);
  EXPECT_EQ(wait_for(p0, 60), 0) << "rank 0 must report the dead peer within its timeout";
}

TEST(ProcessGroup, HangingPeerTimesOut) {
  const int port = free_port();
  const int p0 = spawn_worker("peer_hangs", rank_env(0, 2, port));
  const int p1 = spawn_worker("peer_hangs", rank_env(1, 2, port));
  EXPECT_EQ(wait_for(p0, 60), 0) << "rank 0 must give up on the silent peer";
  kill(p1, SIGKILL);
  wait_for(p1, 10);
}

TEST(ProcessGroup, UnreachableRendezvousIsAClearError) {
  Environment env;
  env.rank = 1;  // a client: nobody hosts the store on this port
  env.world_size = 2;
  env.master_port = free_port();
  const auto start = std::chrono::steady_clock::now();
  try {
    ProcessGroup::create(env, 1500ms);
    FAIL() << "expected an error";
  } catch (const elit::Error& e) {
    EXPECT_NE(std::string(e.what()).find("MASTER_ADDR"), std::string::npos) << e.what();
  }
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
}

TEST(Launcher, StopsEveryRankWhenOneFails) {
  // The launcher re-executes this binary; the worker runs from the environment.
  setenv("ELIT_TEST_WORKER", "fail_fast_rank1", 1);
  LaunchOptions o;
  o.nproc = 2;
  o.grace_seconds = 1;
  const auto start = std::chrono::steady_clock::now();
  const int code = launch_local_ranks(o, {"elit_test_worker"});
  unsetenv("ELIT_TEST_WORKER");
  EXPECT_EQ(code, 5);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 30);
}

TEST(Launcher, RunsAllRanksToSuccess) {
  setenv("ELIT_TEST_WORKER", "collectives", 1);
  LaunchOptions o;
  o.nproc = 2;
  const int code = launch_local_ranks(o, {"elit_test_worker"});
  unsetenv("ELIT_TEST_WORKER");
  EXPECT_EQ(code, 0);
}

}  // namespace
}  // namespace elit::dist
