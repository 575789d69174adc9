// The two precisions output parity is checked in, each with its tolerance on max_rel_error: the
// parameter of the output parity tests, so that every backbone is held to the same bounds.
#pragma once
#include <torch/types.h>

#include <string>

namespace elit::testing {

struct ParityPrecision {
  const char* name;
  torch::Dtype dtype;
  double tolerance;
};

inline const ParityPrecision kParityPrecisions[] = {{"Float64", torch::kFloat64, 1e-9},
                                                    {"Float32", torch::kFloat32, 1e-4}};

// Names a parameterised test by its precision: "UViT/Float64".
struct ParityPrecisionName {
  template <class Info>
  std::string operator()(const Info& info) const {
    return info.param.name;
  }
};

}  // namespace elit::testing
