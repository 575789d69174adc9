// A record of which blocks one forward ran and on what tokens, so that tests can check where a
// backbone's blocks run (spatial tokens or latents) and tools can account compute per block.
// A model with `set_trace(&trace)` appends one entry per block it runs; nullptr turns it off.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace elit::models {

struct BlockRun {
  std::string block;   // published module name: "in_blocks.2", "mid_level.0", "read", "write"
  std::string domain;  // "spatial", "latent", or "interface" for Read/Write
  int64_t tokens = 0;  // tokens the block ran on (class/time tokens included)
};
using BlockTrace = std::vector<BlockRun>;

}  // namespace elit::models
