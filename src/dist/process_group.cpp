#include "elit/dist/process_group.h"

#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

// A CUDA libtorch built with NCCL defines USE_C10D_NCCL for its users; its header needs nccl.h.
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#define ELIT_HAVE_NCCL 1
#endif

#include <map>

#include "elit/runtime/error.h"

namespace elit::dist {
namespace {

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

std::string where(const Environment& env) {
  return env.master_addr + ":" + std::to_string(env.master_port);
}

// Rank 0 hosts the TCPStore at MASTER_ADDR:MASTER_PORT, the others connect to it.
c10::intrusive_ptr<c10d::Store> rendezvous(const Environment& env,
                                           std::chrono::milliseconds timeout) {
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(env.master_port);
    opts.isServer = env.rank == 0;
    opts.numWorkers = static_cast<size_t>(env.world_size);
    opts.timeout = timeout;
    return c10::make_intrusive<c10d::TCPStore>(env.master_addr, opts);
  } catch (const std::exception& e) {
    fail("rank ", env.rank, " cannot ", env.rank == 0 ? "host" : "reach",
         " the rendezvous at MASTER_ADDR:MASTER_PORT = ", where(env), " within ",
         timeout.count() / 1000.0,
         " s (is the address right, the port free, rank 0 running?): ", first_line(e.what()));
  }
}

// Connecting to the peers: `make` builds the c10d backend on the store.
template <typename Make>
auto connect(const Environment& env, const char* backend, Make make) {
  try {
    return make();
  } catch (const std::exception& e) {
    fail("rank ", env.rank, " could not connect to its ", env.world_size - 1, " peers (", backend,
         ") through ", where(env), ": ", first_line(e.what()));
  }
}

// The collectives on one c10d backend (ProcessGroupGloo or ProcessGroupNCCL, whose methods have
// the same signatures). Tensors on another device than the backend's are staged through it.
template <typename Backend>
class C10dGroup : public ProcessGroup {
 public:
  C10dGroup(const Environment& env, std::chrono::milliseconds timeout, torch::Device device,
            c10::intrusive_ptr<c10d::Store> store, c10::intrusive_ptr<Backend> group)
      : rank_(env.rank),
        size_(env.world_size),
        timeout_(timeout),
        device_(device),
        store_(std::move(store)),
        group_(std::move(group)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    for_each_bucket(
        tensors, 25 << 20,
        [&](std::vector<torch::Tensor>& flat) {
          c10d::BroadcastOptions o;
          o.rootRank = root;
          o.timeout = timeout_;
          return group_->broadcast(flat, o);
        },
        /*average=*/false, "broadcast");
  }

  void all_reduce(std::vector<torch::Tensor>& tensors, bool average,
                  int64_t bucket_bytes) override {
    for_each_bucket(
        tensors, bucket_bytes,
        [&](std::vector<torch::Tensor>& flat) {
          c10d::AllreduceOptions o;
          o.timeout = timeout_;
          return group_->allreduce(flat, o);
        },
        average, "all-reduce");
  }

  std::function<void()> start_all_reduce_sum(torch::Tensor flat) override {
    check(flat.is_contiguous(), "start_all_reduce_sum needs a contiguous tensor");
    auto on_device = flat.to(device_);
    std::vector<torch::Tensor> list{on_device};
    c10d::AllreduceOptions o;
    o.timeout = timeout_;
    auto work = group_->allreduce(list, o);
    return [this, work, flat, on_device]() mutable {
      wait(work, "all-reduce");
      if (!on_device.is_same(flat)) flat.copy_(on_device);
    };
  }

  torch::Tensor all_gather_cat(const torch::Tensor& tensor) override {
    auto t = tensor.contiguous().to(device_);
    // Ranks may hold different numbers of rows: exchange the counts, pad to the largest.
    auto rows = torch::tensor({t.size(0)}, torch::kInt64).to(device_);
    const std::vector<torch::Tensor> counts = gather(rows);
    int64_t most = 0;
    for (const auto& c : counts) most = std::max(most, c.item<int64_t>());
    auto sizes = t.sizes().vec();
    sizes[0] = most;
    auto padded = torch::zeros(sizes, t.options());
    padded.narrow(0, 0, t.size(0)).copy_(t);
    const std::vector<torch::Tensor> parts = gather(padded);
    std::vector<torch::Tensor> pieces;
    for (int r = 0; r < size_; ++r)
      pieces.push_back(parts[r].narrow(0, 0, counts[r].item<int64_t>()));
    return torch::cat(pieces, 0).to(tensor.device());
  }

  void barrier() override {
    c10d::BarrierOptions o;
    o.timeout = timeout_;
    wait(group_->barrier(o), "barrier");
  }

 private:
  // c10d::ProcessGroup::Work in libtorch 1.x, c10d::Work in 2.x.
  using WorkPtr = decltype(std::declval<Backend&>().barrier());

  template <typename Work>
  void wait(const Work& work, const char* what) {
    try {
      work->wait(timeout_);
    } catch (const std::exception& e) {
      fail("distributed ", what, " failed on rank ", rank_, " of ", size_,
           ": a peer died or did not answer within ", timeout_.count() / 1000.0, " s (",
           first_line(e.what()), ")");
    }
  }

  std::vector<torch::Tensor> gather(const torch::Tensor& t) {
    std::vector<std::vector<torch::Tensor>> out(1);
    for (int r = 0; r < size_; ++r) out[0].push_back(torch::empty_like(t));
    std::vector<torch::Tensor> in{t};
    c10d::AllgatherOptions o;
    o.timeout = timeout_;
    wait(group_->allgather(out, in, o), "all-gather");
    return out[0];
  }

  // Packs same-dtype tensors into flat buckets, runs `op` on every bucket concurrently, waits,
  // and copies the results back (divided by the world size when averaging).
  template <typename Op>
  void for_each_bucket(std::vector<torch::Tensor>& tensors, int64_t bucket_bytes, Op op,
                       bool average, const char* what) {
    std::map<torch::ScalarType, std::vector<std::vector<size_t>>> buckets;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (!tensors[i].defined() || tensors[i].numel() == 0) continue;
      auto& list = buckets[tensors[i].scalar_type()];
      int64_t used = 0;
      if (!list.empty()) {
        for (size_t j : list.back()) used += tensors[j].numel() * tensors[j].element_size();
      }
      if (list.empty() || used >= bucket_bytes) list.emplace_back();
      list.back().push_back(i);
    }
    struct Pending {
      std::vector<size_t> members;
      std::vector<torch::Tensor> flat;
      WorkPtr work;
    };
    std::vector<Pending> pending;
    for (auto& [type, list] : buckets) {
      for (auto& members : list) {
        std::vector<torch::Tensor> parts;
        for (size_t j : members) parts.push_back(tensors[j].detach().reshape({-1}));
        Pending p{members, {torch::cat(parts).to(device_)}, WorkPtr()};
        p.work = op(p.flat);
        pending.push_back(std::move(p));
      }
    }
    for (auto& p : pending) {
      wait(p.work, what);
      auto flat = average ? p.flat[0].div_(size_) : p.flat[0];
      int64_t offset = 0;
      torch::NoGradGuard no_grad;
      for (size_t j : p.members) {
        auto& t = tensors[j];
        t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
  }

  int rank_, size_;
  std::chrono::milliseconds timeout_;
  torch::Device device_;
  c10::intrusive_ptr<c10d::Store> store_;
  c10::intrusive_ptr<Backend> group_;
};

std::shared_ptr<ProcessGroup> gloo_group(const Environment& env,
                                         std::chrono::milliseconds timeout) {
  auto store = rendezvous(env, timeout);
  auto group = connect(env, "Gloo", [&] {
    auto options = c10d::ProcessGroupGloo::Options::create(timeout);
    // Same-host ranks talk over loopback; otherwise the interface of this host's name.
    options->devices.push_back(is_loopback(env.master_addr)
                                   ? c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1")
                                   : c10d::ProcessGroupGloo::createDefaultDevice());
    return c10::make_intrusive<c10d::ProcessGroupGloo>(store, env.rank, env.world_size, options);
  });
  return std::make_shared<C10dGroup<c10d::ProcessGroupGloo>>(env, timeout, torch::kCPU, store,
                                                             group);
}

#ifdef ELIT_HAVE_NCCL
std::shared_ptr<ProcessGroup> nccl_group(const Environment& env, std::chrono::milliseconds timeout,
                                         torch::Device device) {
  auto store = rendezvous(env, timeout);
  auto group = connect(env, "NCCL", [&] {
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, env.rank, env.world_size, options);
  });
  return std::make_shared<C10dGroup<c10d::ProcessGroupNCCL>>(env, timeout, device, store, group);
}
#endif

}  // namespace

bool gloo_available() {
  return true;
}

bool nccl_available() {
#ifdef ELIT_HAVE_NCCL
  return true;
#else
  return false;
#endif
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const Environment& env,
                                                   std::chrono::milliseconds timeout,
                                                   torch::Device device) {
  if (device.is_cpu()) return gloo_group(env, timeout);
  check(device.is_cuda(), "distributed runs support cpu (Gloo) and cuda (NCCL) devices, not ",
        device.str());
#ifdef ELIT_HAVE_NCCL
  return nccl_group(env, timeout, device);
#else
  fail("distributed training on ", device.str(),
       " needs c10d's NCCL backend, which this libtorch does not provide (USE_C10D_NCCL and ",
       "nccl.h are needed at build time); use device cpu for Gloo");
#endif
}

}  // namespace elit::dist
