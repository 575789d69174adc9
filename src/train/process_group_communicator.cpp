#include "elit/train/process_group_communicator.h"

#include <cstring>

#include "elit/runtime/error.h"

namespace elit::train {

ProcessGroupCommunicator::ProcessGroupCommunicator(dist::ProcessGroupPtr group)
    : group_(std::move(group)) {
  check(group_ != nullptr, "ProcessGroupCommunicator needs a process group");
}

int ProcessGroupCommunicator::rank() const {
  return group_->rank();
}

int ProcessGroupCommunicator::world_size() const {
  return group_->size();
}

void ProcessGroupCommunicator::broadcast(std::vector<torch::Tensor>& tensors, int root) {
  group_->broadcast(tensors, root);
}

void ProcessGroupCommunicator::all_reduce_mean(std::vector<torch::Tensor>& tensors) {
  group_->all_reduce(tensors, /*average=*/true);
}

std::function<void()> ProcessGroupCommunicator::start_all_reduce_sum(torch::Tensor flat) {
  return group_->start_all_reduce_sum(std::move(flat));
}

std::vector<std::string> ProcessGroupCommunicator::all_gather(const std::string& value) {
  // Strings travel as bytes: first every rank's length, then the concatenated bytes.
  const auto lengths =
      group_->all_gather_cat(torch::tensor({static_cast<int64_t>(value.size())}, torch::kInt64));
  auto bytes = torch::empty({static_cast<int64_t>(value.size())}, torch::kUInt8);
  if (!value.empty()) std::memcpy(bytes.data_ptr<uint8_t>(), value.data(), value.size());
  const auto all = group_->all_gather_cat(bytes);
  std::vector<std::string> out;
  int64_t offset = 0;
  for (int r = 0; r < group_->size(); ++r) {
    const int64_t n = lengths[r].item<int64_t>();
    out.emplace_back(reinterpret_cast<const char*>(all.data_ptr<uint8_t>()) + offset,
                     static_cast<size_t>(n));
    offset += n;
  }
  return out;
}

void ProcessGroupCommunicator::barrier() {
  group_->barrier();
}

std::shared_ptr<Communicator> communicator_from_env(std::chrono::milliseconds timeout,
                                                    torch::Device device) {
  const auto env = dist::Environment::from_env();
  if (!env.distributed()) return local_communicator();
  return std::make_shared<ProcessGroupCommunicator>(
      dist::ProcessGroup::create(env, timeout, device));
}

std::string rank_device(const std::string& configured) {
  const auto env = dist::Environment::from_env();
  if (configured != "cuda" || !env.distributed()) return configured;
  return "cuda:" + std::to_string(env.local_rank);
}

}  // namespace elit::train
