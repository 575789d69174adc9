#include "elit/io/vae_file.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <regex>
#include <set>
#include <sstream>

#include "elit/io/published_checkpoint.h"
#include "elit/io/state_dict.h"
#include "elit/io/vae_keys.h"
#include "elit/runtime/error.h"

namespace elit::io {
namespace fs = std::filesystem;
namespace {

const char* kDiffusersWeights = "diffusion_pytorch_model.safetensors";

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  check(in.good(), "cannot read '", path, "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("'", path, "' is not valid JSON (", e.what(), ")");
  }
}

models::AutoencoderKLConfig config_from_any(const nlohmann::json& j) {
  return models::is_diffusers_vae_config(j) ? models::autoencoder_kl_config_from_diffusers(j)
                                            : models::autoencoder_kl_config_from_json(j);
}

// A diffusers folder: the VAE folder itself or a pipeline folder with vae/.
std::string diffusers_folder(const std::string& dir) {
  for (const auto& d : {fs::path(dir), fs::path(dir) / "vae"}) {
    if (fs::exists(d / "config.json") && fs::exists(d / kDiffusersWeights)) return d.string();
  }
  fail("folder '", dir, "' is not a diffusers AutoencoderKL (expected config.json and ",
       kDiffusersWeights, " in it or in vae/)");
}

bool any_prefix(const TensorMap& w, const std::string& prefix) {
  return std::any_of(w.begin(), w.end(),
                     [&](const auto& kv) { return kv.first.rfind(prefix, 0) == 0; });
}

// Keys of a file that belong to the VAE: under first_stage_model. when present (a Stable
// Diffusion checkpoint; `stable_diffusion` is set), under weight. in the reference case files;
// ldm's own VAE checkpoints carry their training loss (loss.*: LPIPS and discriminator) and EMA
// copies (model_ema.*), which inference does not use.
TensorMap vae_entries(const TensorMap& all, bool& stable_diffusion) {
  stable_diffusion = any_prefix(all, "first_stage_model.");
  if (stable_diffusion) return select_prefix(all, "first_stage_model.");
  if (any_prefix(all, "weight.encoder.")) return select_prefix(all, "weight.");
  const bool ddp = std::all_of(all.begin(), all.end(),
                               [](const auto& kv) { return kv.first.rfind("module.", 0) == 0; });
  const auto w = ddp ? select_prefix(all, "module.") : all;
  TensorMap out;
  for (const auto& [k, t] : w) {
    if (k.rfind("loss.", 0) != 0 && k.rfind("model_ema.", 0) != 0) out[k] = t;
  }
  return out;
}

}  // namespace

VAEFile read_vae_file(const std::string& path, const std::optional<nlohmann::json>& config) {
  check(fs::exists(path), "VAE '", path, "' does not exist");
  VAEFile out;
  std::optional<models::AutoencoderKLConfig> found;
  std::string file = path;
  if (fs::is_directory(path)) {
    const auto dir = diffusers_folder(path);
    file = (fs::path(dir) / kDiffusersWeights).string();
    found = models::autoencoder_kl_config_from_diffusers(read_json_file(dir + "/config.json"));
  }
  TensorMap weights;
  bool sd = false;
  if (is_torch_zip(file)) {
    auto ck = read_published_checkpoint(file, {"state_dict"});
    check(ck.weights.count("state_dict"), "'", file, "' has no 'state_dict' of tensors (top-level ",
          "keys: ", ck.keys.size(), "); an ldm or Stable Diffusion .ckpt keeps its weights there");
    weights = vae_entries(ck.weights.at("state_dict"), sd);
  } else {
    auto st = read_safetensors(file);
    auto meta = st.metadata.find(kVAEConfigKey);
    if (meta != st.metadata.end() && !found) {
      try {
        found = models::autoencoder_kl_config_from_json(nlohmann::json::parse(meta->second));
      } catch (const nlohmann::json::exception& e) {
        fail("'", file, "': metadata '", kVAEConfigKey, "' is not valid JSON (", e.what(), ")");
      }
      out.layout = "elit";
    }
    weights = vae_entries(st.tensors, sd);
  }
  if (sd) out.layout = "stable-diffusion";
  check(!weights.empty(), "'", file, "' holds no VAE weights");
  if (is_diffusers_vae_layout(weights)) {
    weights = diffusers_vae_to_ldm(weights, file);
    out.layout = "diffusers";
    // A diffusers weights file alone: its config.json may sit next to it.
    const auto beside = fs::path(file).parent_path() / "config.json";
    if (!found && !config && fs::exists(beside)) {
      found = models::autoencoder_kl_config_from_diffusers(read_json_file(beside.string()));
    }
  }
  if (out.layout.empty()) out.layout = "ldm";
  if (config) {
    out.config = config_from_any(*config);
  } else {
    out.config = found ? *found : infer_vae_config(weights, file);
  }
  out.weights = std::move(weights);
  out.source = file;
  return out;
}

models::AutoencoderKLConfig infer_vae_config(const TensorMap& w, const std::string& origin) {
  auto need = [&](const std::string& key) -> const torch::Tensor& {
    auto it = w.find(key);
    check(it != w.end(), "'", origin, "' has no '", key,
          "': not an AutoencoderKL state_dict (give its configuration with --vae-config)");
    return it->second;
  };
  models::AutoencoderKLConfig c;
  const auto& conv_in = need("encoder.conv_in.weight");  // [ch, in, 3, 3]
  c.ch = conv_in.size(0);
  c.in_channels = conv_in.size(1);
  c.out_ch = need("decoder.conv_out.weight").size(0);
  c.z_channels = need("decoder.conv_in.weight").size(1);
  c.embed_dim = need("post_quant_conv.weight").size(1);
  const std::regex level(R"(^encoder\.down\.(\d+)\.block\.(\d+)\.)");
  std::smatch m;
  int64_t levels = 0, blocks = 0;
  for (const auto& [key, _] : w) {
    if (!std::regex_search(key, m, level)) continue;
    levels = std::max<int64_t>(levels, std::stoll(m[1]) + 1);
    blocks = std::max<int64_t>(blocks, std::stoll(m[2]) + 1);
  }
  check(levels > 0, "'", origin, "' has no encoder.down.<i>.block.<j> weights");
  c.num_res_blocks = blocks;
  c.ch_mult.clear();
  c.attn_resolutions.clear();
  c.resolution = 256;  // only positions attention: levels with attn weights get 256 >> level
  for (int64_t i = 0; i < levels; ++i) {
    const auto prefix = "encoder.down." + std::to_string(i) + ".";
    c.ch_mult.push_back(need(prefix + "block.0.conv1.weight").size(0) / c.ch);
    if (w.count(prefix + "attn.0.q.weight")) c.attn_resolutions.push_back(c.resolution >> i);
  }
  // GroupNorm groups are not in the weights: 32 as ldm, fewer for narrow custom models.
  c.norm_groups = c.ch % 32 == 0 ? 32 : std::gcd(c.ch, int64_t{32});
  c.validate();
  return c;
}

models::AutoencoderKL build_vae(const VAEFile& file, torch::Dtype dtype) {
  models::AutoencoderKL vae(file.config);
  load_state_dict(*vae, file.weights, file.source + " (" + file.layout + " layout, ldm names)");
  vae->to(dtype);
  vae->eval();
  return vae;
}

models::AutoencoderKL load_vae(const std::string& path, const std::optional<nlohmann::json>& config,
                               torch::Dtype dtype) {
  return build_vae(read_vae_file(path, config), dtype);
}

void write_vae_file(const std::string& path, models::AutoencoderKLImpl& vae) {
  write_safetensors(path, state_dict(vae),
                    {{kVAEConfigKey, models::autoencoder_kl_config_to_json(vae.config()).dump()},
                     {"format", "pt"}});
}

}  // namespace elit::io
