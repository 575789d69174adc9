// Precompiled header for the library, tools and tests: libtorch's headers dominate compile time.
#pragma once
#include <torch/torch.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>
