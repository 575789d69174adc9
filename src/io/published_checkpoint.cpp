#include "elit/io/published_checkpoint.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>

#include "elit/io/pickle.h"
#include "elit/io/zip_reader.h"
#include "elit/runtime/checked_size.h"
#include "elit/runtime/error.h"

namespace elit::io {
namespace {

using Kind = PyValue::Kind;

std::string archive_prefix(const ZipReader& zip) {
  for (const auto& name : zip.names()) {
    const auto pos = name.rfind("data.pkl");
    if (pos != std::string::npos && pos + 8 == name.size()) return name.substr(0, pos);
  }
  fail("'", zip.path(), "' is a zip file but not a torch.save archive (no data.pkl)");
}

PyRef load_storage(const PyRef& pid, const std::string& origin) {
  check(pid->kind == Kind::Tuple && pid->items.size() >= 5 && pid->items[0]->kind == Kind::Str &&
            pid->items[0]->s == "storage",
        "'", origin, "': unsupported persistent id (expected a torch storage)");
  const auto& type = pid->items[1];
  const auto& key = pid->items[2];
  const auto& numel = pid->items[4];
  check(type->kind == Kind::Global && key->kind == Kind::Str && numel->kind == Kind::Int, "'",
        origin, "': malformed storage reference");
  auto storage = std::make_shared<PyValue>();
  storage->kind = Kind::Storage;
  storage->tensor.storage_key = key->s;
  storage->tensor.storage_numel = numel->i;
  // The allow-list already limited the global to torch.<Type>Storage.
  static const std::map<std::string, torch::ScalarType> dtypes = {
      {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
      {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
      {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
      {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
      {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};
  auto it = dtypes.find(type->s);
  check(it != dtypes.end(), "'", origin, "': '", type->s, "' is not a tensor storage type");
  storage->tensor.dtype = it->second;
  return storage;
}

// True when every element the strided view addresses lies inside its storage (overflow-safe).
bool view_fits(const TensorRecord& r) {
  if (r.offset < 0 || r.storage_numel < 0) return false;
  int64_t last = r.offset;  // highest element index addressed
  for (size_t d = 0; d < r.sizes.size(); ++d) {
    if (r.sizes[d] < 0 || r.strides[d] < 0) return false;
    if (r.sizes[d] == 0) return true;  // an empty view addresses nothing
  }
  for (size_t d = 0; d < r.sizes.size(); ++d) {
    if (r.strides[d] > 0 && r.sizes[d] - 1 > (r.storage_numel - 1 - last) / r.strides[d]) {
      return false;
    }
    last += (r.sizes[d] - 1) * r.strides[d];
  }
  return last < r.storage_numel;
}

class TensorLoader {
 public:
  TensorLoader(const ZipReader& zip, std::string prefix) : zip_(zip), prefix_(std::move(prefix)) {}

  torch::Tensor load(const TensorRecord& r, const std::string& name) {
    const std::string ctx = "'" + zip_.path() + "' tensor '" + name + "'";
    // Checked before the storage is read: sizes come from the pickle.
    const uint64_t storage_bytes =
        checked_nbytes({r.storage_numel}, c10::elementSize(r.dtype), ctx + " storage size");
    checked_numel(r.sizes, ctx + " sizes");
    check(view_fits(r), ctx, ": view (offset ", r.offset, ", sizes ", c10::IntArrayRef(r.sizes),
          ", strides ", c10::IntArrayRef(r.strides), ") runs past its storage (", r.storage_numel,
          " elements)");
    check(zip_.size_of(prefix_ + "data/" + r.storage_key) == storage_bytes, ctx, ": storage ",
          r.storage_key, " has ", zip_.size_of(prefix_ + "data/" + r.storage_key), " bytes, ",
          storage_bytes, " expected");
    const std::string& bytes = storage(r.storage_key);
    auto flat = torch::from_blob(const_cast<char*>(bytes.data()), {r.storage_numel},
                                 torch::TensorOptions().dtype(r.dtype));
    return flat.as_strided(r.sizes, r.strides, r.offset).clone();
  }

 private:
  const std::string& storage(const std::string& key) {
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, zip_.read(prefix_ + "data/" + key)).first;
    return it->second;
  }
  const ZipReader& zip_;
  std::string prefix_;
  std::map<std::string, std::string> cache_;
};

bool is_tensor_dict(const PyRef& v) {
  if (!v || v->kind != Kind::Dict || v->dict.empty()) return false;
  return std::all_of(v->dict.begin(), v->dict.end(), [](const auto& kv) {
    return kv.first->kind == Kind::Str && kv.second->kind == Kind::Tensor;
  });
}

nlohmann::json to_json(const PyRef& v) {
  switch (v->kind) {
    case Kind::None:
      return nullptr;
    case Kind::Bool:
      return v->b;
    case Kind::Int:
      return v->i;
    case Kind::Float:
      return v->f;
    case Kind::Str:
      return v->s;
    case Kind::List:
    case Kind::Tuple:
    case Kind::Set: {
      auto arr = nlohmann::json::array();
      for (const auto& x : v->items) arr.push_back(to_json(x));
      return arr;
    }
    case Kind::Dict:
    case Kind::Object: {
      auto obj = nlohmann::json::object();
      for (const auto& [k, x] : v->dict) {
        obj[k->kind == Kind::Str ? k->s : std::to_string(k->i)] = to_json(x);
      }
      return obj;
    }
    default:
      return "<" + v->describe() + ">";
  }
}

}  // namespace

bool is_torch_zip(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {0, 0, 0, 0};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0;
}

PublishedCheckpoint read_published_checkpoint(const std::string& path,
                                              const std::vector<std::string>& which) {
  ZipReader zip(path);
  const std::string prefix = archive_prefix(zip);
  if (zip.contains(prefix + "byteorder")) {
    check(zip.read(prefix + "byteorder") == "little", "'", path,
          "' was saved on a big-endian machine; only little-endian files are supported");
  }
  auto root = unpickle(
      zip.read(prefix + "data.pkl"), [&](const PyRef& pid) { return load_storage(pid, path); },
      path);
  check(root->kind == Kind::Dict, "'", path, "': expected a dict at the top level, found ",
        root->describe());
  PublishedCheckpoint ck;
  ck.path = path;
  TensorLoader loader(zip, prefix);
  for (const auto& [k, v] : root->dict) {
    check(k->kind == Kind::Str, "'", path, "': top-level keys must be strings");
    ck.keys.push_back(k->s);
    const bool wanted = which.empty() || std::count(which.begin(), which.end(), k->s) > 0;
    if (wanted && is_tensor_dict(v)) {
      TensorMap& m = ck.weights[k->s];
      for (const auto& [name, t] : v->dict)
        m[name->s] = loader.load(t->tensor, k->s + "." + name->s);
    } else if (k->s == "args" && (v->kind == Kind::Object || v->kind == Kind::Dict)) {
      ck.args = to_json(v);
    } else if (k->s == "steps" && v->kind == Kind::Int) {
      ck.steps = v->i;
    }
  }
  return ck;
}

models::SiTConfig infer_sit_config(const TensorMap& w, const nlohmann::json& args,
                                   const nlohmann::json& overrides) {
  auto need = [&](const std::string& key) -> const torch::Tensor& {
    auto it = w.find(key);
    check(it != w.end(), "weights have no '", key, "': not a SiT / ELIT-SiT state_dict");
    return it->second;
  };
  const std::string name = args.contains("model") && args["model"].is_string()
                               ? args["model"].get<std::string>()
                               : std::string("custom");
  models::SiTConfig c =
      models::is_named_sit_model(name) ? models::named_sit_config(name) : models::SiTConfig{};
  c.model = name;
  const bool named = models::is_named_sit_model(name);
  const auto& patch = need("x_embedder.proj.weight");  // [D, C, p, p]
  c.hidden_size = patch.size(0);
  c.in_channels = patch.size(1);
  c.patch_size = patch.size(2);
  const auto grid = static_cast<int64_t>(std::llround(std::sqrt(need("pos_embed").size(1))));
  c.input_size = grid * c.patch_size;
  std::set<int64_t> block_ids;
  const std::regex block_re(R"(^blocks\.(\d+)\.)");
  std::smatch m;
  for (const auto& [key, _] : w) {
    if (std::regex_search(key, m, block_re)) block_ids.insert(std::stoll(m[1]));
  }
  c.depth = static_cast<int64_t>(block_ids.size());
  c.mlp_ratio = static_cast<double>(need("blocks.0.mlp.fc1.weight").size(0)) /
                static_cast<double>(c.hidden_size);
  c.qk_norm = w.count("blocks.0.attn.q_norm.weight") > 0;
  const int64_t table_rows = need("y_embedder.embedding_table.weight").size(0);
  c.num_classes = table_rows - (c.class_dropout_prob > 0 ? 1 : 0);
  const bool heads_known = named || c.qk_norm || overrides.contains("num_heads");
  if (c.qk_norm) c.num_heads = c.hidden_size / need("blocks.0.attn.q_norm.weight").size(0);
  c.enable_elit = w.count("input_token_editor.adapters.0.pos_embed") > 0;
  if (args.contains("encoder_depth")) c.encoder_depth = args["encoder_depth"].get<int64_t>();
  if (c.enable_elit) {
    const auto& gpos = need("input_token_editor.adapters.0.pos_embed");
    c.group_size = static_cast<int64_t>(std::llround(std::sqrt(gpos.size(0))));
    c.latent_pos_embed_rows = need("input_token_editor.adapters.0.latent_pos_embed").size(0);
    int64_t write_depth = 0;
    while (w.count("output_token_editor.adapters.0.patches_attend_to_latents." +
                   std::to_string(write_depth) + ".q_proj.weight")) {
      ++write_depth;
    }
    c.elit_write_depth = write_depth;
    for (const char* key : {"elit_max_mask_prob", "elit_min_mask_prob"}) {
      if (!args.contains(key)) continue;
      auto& field =
          std::string(key) == "elit_max_mask_prob" ? c.elit_max_mask_prob : c.elit_min_mask_prob;
      field = args[key].is_null() ? std::nullopt : std::optional<double>(args[key].get<double>());
    }
    check(named || overrides.contains("dit_decoder_depth"), "cannot tell dit_decoder_depth of '",
          name, "' from its weights: give it in a model config (dit_decoder_depth)");
  }
  check(heads_known, "cannot tell num_heads of '", name,
        "' from its weights (no qk-norm): give it in a model config (num_heads)");
  c = models::sit_config_from_json(overrides, c);
  c.validate();
  return c;
}

}  // namespace elit::io
