// Built when the c10d Gloo headers are missing: distributed runs fail with a clear message.
#include "elit/dist/process_group.h"
#include "elit/runtime/error.h"

namespace elit::dist {

bool gloo_available() {
  return false;
}

bool nccl_available() {
  return false;
}

std::shared_ptr<ProcessGroup> ProcessGroup::create(const Environment& env,
                                                   std::chrono::milliseconds, torch::Device) {
  fail("WORLD_SIZE=", env.world_size, " but this build of elit has no c10d Gloo backend ",
       "(install libgloo-dev and rebuild)");
}

}  // namespace elit::dist
