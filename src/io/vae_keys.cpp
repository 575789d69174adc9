#include "elit/io/vae_keys.h"

#include <regex>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

// Attention sub-layer names: ldm, diffusers current, diffusers legacy.
struct AttnName {
  const char *ldm, *current, *legacy;
};
const AttnName kAttnNames[] = {{"norm", "group_norm", "group_norm"},
                               {"q", "to_q", "query"},
                               {"k", "to_k", "key"},
                               {"v", "to_v", "value"},
                               {"proj_out", "to_out.0", "proj_attn"}};

// Number of levels: 1 + the largest index captured by `re` over the keys (0 when none match).
int64_t count_levels(const TensorMap& weights, const std::regex& re) {
  int64_t n = 0;
  std::smatch m;
  for (const auto& [key, _] : weights) {
    if (std::regex_search(key, m, re)) n = std::max<int64_t>(n, std::stoll(m[1]) + 1);
  }
  return n;
}

// diffusers tail of an attention layer ("to_q.weight") -> ldm ("q.weight"); "" if unknown.
std::string attn_tail_to_ldm(const std::string& tail) {
  for (const auto& n : kAttnNames) {
    for (const std::string name : {n.current, n.legacy}) {
      if (tail == name + ".weight" || tail == name + ".bias") {
        return n.ldm + tail.substr(name.size());
      }
    }
  }
  return "";
}

std::string resnet_tail_to_ldm(const std::string& tail) {
  static const std::regex re(R"(^(norm1|conv1|norm2|conv2|conv_shortcut)\.(weight|bias)$)");
  if (!std::regex_match(tail, re)) return "";
  return tail.rfind("conv_shortcut", 0) == 0 ? "nin_shortcut" + tail.substr(13) : tail;
}

// One diffusers key (inside encoder./decoder.) to its ldm name; "" when not a VAE key.
std::string coder_key_to_ldm(const std::string& key, int64_t up_levels, bool& attention) {
  static const std::regex block(R"(^(down|up)_blocks\.(\d+)\.(resnets|attentions)\.(\d+)\.(.+)$)");
  static const std::regex resample(R"(^(down|up)_blocks\.(\d+)\.(down|up)samplers\.0\.(.+)$)");
  static const std::regex mid(R"(^mid_block\.(resnets|attentions)\.(\d+)\.(.+)$)");
  std::smatch m;
  auto level = [&](const std::string& kind, const std::string& index) {
    const int64_t i = std::stoll(index);
    return std::to_string(kind == "up" ? up_levels - 1 - i : i);
  };
  if (std::regex_match(key, m, block)) {
    attention = m[3] == "attentions";
    const std::string tail = attention ? attn_tail_to_ldm(m[5]) : resnet_tail_to_ldm(m[5]);
    if (tail.empty()) return "";
    return std::string(m[1]) + "." + level(m[1], m[2]) + (attention ? ".attn." : ".block.") +
           std::string(m[4]) + "." + tail;
  }
  if (std::regex_match(key, m, resample)) {
    if (m[4] != "conv.weight" && m[4] != "conv.bias") return "";
    return std::string(m[1]) + "." + level(m[1], m[2]) + "." + std::string(m[3]) + "sample." +
           std::string(m[4]);
  }
  if (std::regex_match(key, m, mid)) {
    attention = m[1] == "attentions";
    if (attention) {
      const auto tail = attn_tail_to_ldm(m[3]);
      return m[2] == "0" && !tail.empty() ? "mid.attn_1." + tail : "";
    }
    const auto tail = resnet_tail_to_ldm(m[3]);
    if (tail.empty() || (m[2] != "0" && m[2] != "1")) return "";
    return "mid.block_" + std::to_string(std::stoll(m[2]) + 1) + "." + tail;
  }
  for (const char* plain : {"conv_in.", "conv_out."}) {
    if (key.rfind(plain, 0) == 0) return key;
  }
  if (key.rfind("conv_norm_out.", 0) == 0) return "norm_out." + key.substr(14);
  return "";
}

}  // namespace

bool is_diffusers_vae_layout(const TensorMap& weights) {
  for (const auto& [key, _] : weights) {
    for (const char* marker : {"encoder.down_blocks.", "decoder.up_blocks.", ".mid_block."}) {
      if (key.find(marker) != std::string::npos) return true;
    }
  }
  return false;
}

TensorMap diffusers_vae_to_ldm(const TensorMap& weights, const std::string& origin) {
  const int64_t up_levels = count_levels(weights, std::regex(R"(^decoder\.up_blocks\.(\d+)\.)"));
  TensorMap out;
  for (const auto& [key, tensor] : weights) {
    std::string name;
    bool attention = false;
    if (key.rfind("quant_conv.", 0) == 0 || key.rfind("post_quant_conv.", 0) == 0) {
      name = key;
    } else {
      for (const char* coder : {"encoder.", "decoder."}) {
        const std::string prefix(coder);
        if (key.rfind(prefix, 0) != 0) continue;
        const auto inner = coder_key_to_ldm(key.substr(prefix.size()), up_levels, attention);
        if (!inner.empty()) name = prefix + inner;
      }
    }
    check(!name.empty(), "'", origin, "': '", key, "' is not a key of a diffusers AutoencoderKL");
    check(!out.count(name), "'", origin, "': '", key, "' and another key both give '", name,
          "' (current and legacy attention names mixed?)");
    // diffusers' attention projections are Linear [C, C]; ldm's are 1x1 convolutions.
    const bool linear = attention && tensor.dim() == 2 && name.find(".norm.") == std::string::npos;
    out[name] = linear ? tensor.reshape({tensor.size(0), tensor.size(1), 1, 1}) : tensor;
  }
  return out;
}

TensorMap ldm_vae_to_diffusers(const TensorMap& weights, bool legacy) {
  static const std::regex level(
      R"(^(encoder\.down|decoder\.up)\.(\d+)\.(block|attn)\.(\d+)\.(.+)$)");
  static const std::regex resample(
      R"(^(encoder\.down|decoder\.up)\.(\d+)\.(down|up)sample\.(.+)$)");
  static const std::regex mid(R"(^(encoder|decoder)\.mid\.(block_1|block_2|attn_1)\.(.+)$)");
  const int64_t up_levels = count_levels(weights, std::regex(R"(^decoder\.up\.(\d+)\.)"));
  auto index = [&](const std::string& kind, const std::string& i) {
    return std::to_string(kind == "decoder.up" ? up_levels - 1 - std::stoll(i) : std::stoll(i));
  };
  auto attn_tail = [&](const std::string& tail, const torch::Tensor& t, torch::Tensor& value) {
    for (const auto& n : kAttnNames) {
      const std::string ldm = std::string(n.ldm) + ".";
      if (tail.rfind(ldm, 0) != 0) continue;
      if (!legacy && t.dim() == 4) value = t.reshape({t.size(0), t.size(1)});
      return std::string(legacy ? n.legacy : n.current) + "." + tail.substr(ldm.size());
    }
    return tail;
  };
  auto resnet_tail = [](const std::string& tail) {
    return tail.rfind("nin_shortcut", 0) == 0 ? "conv_shortcut" + tail.substr(12) : tail;
  };
  TensorMap out;
  std::smatch m;
  for (const auto& [key, tensor] : weights) {
    torch::Tensor value = tensor;
    std::string name = key;
    if (std::regex_match(key, m, level)) {
      const std::string kind = m[1];
      const bool attn = m[3] == "attn";
      name = kind + "_blocks." + index(kind, m[2]) + (attn ? ".attentions." : ".resnets.") +
             std::string(m[4]) + "." + (attn ? attn_tail(m[5], tensor, value) : resnet_tail(m[5]));
    } else if (std::regex_match(key, m, resample)) {
      name = std::string(m[1]) + "_blocks." + index(m[1], m[2]) + "." + std::string(m[3]) +
             "samplers.0." + std::string(m[4]);
    } else if (std::regex_match(key, m, mid)) {
      const std::string part = m[2];
      name = std::string(m[1]) + ".mid_block." +
             (part == "attn_1" ? "attentions.0." + attn_tail(m[3], tensor, value)
                               : "resnets." + std::string(part == "block_1" ? "0" : "1") + "." +
                                     resnet_tail(m[3]));
    } else if (key.find(".norm_out.") != std::string::npos) {
      name = key.substr(0, key.find(".norm_out.")) + ".conv_norm_out." +
             key.substr(key.find(".norm_out.") + 10);
    }
    out[name] = value;
  }
  return out;
}

}  // namespace elit::io
