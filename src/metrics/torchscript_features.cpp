#include "elit/metrics/torchscript_features.h"

#include <caffe2/serialize/versions.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <filesystem>

#include "elit/io/zip_reader.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

using torch::jit::Node;

// The TorchScript archive's file-format version ("<archive>/version"), or "" when unreadable.
std::string archive_version(const std::string& path) {
  try {
    io::ZipReader zip(path);
    for (const auto& name : zip.names()) {
      if (name.size() >= 8 && name.compare(name.size() - 8, 8, "/version") == 0) {
        auto v = zip.read(name);
        while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
        return v;
      }
    }
  } catch (const elit::Error&) {
  }
  return "";
}

// The node `self.layers.forward(x)` at the top level of forward's graph, or nullptr.
Node* find_layers_call(torch::jit::Graph& graph) {
  for (Node* n : graph.nodes()) {
    if (n->kind() != c10::prim::CallMethod || n->s(c10::attr::name) != "forward") continue;
    Node* owner = n->input(0)->node();
    if (owner->kind() == c10::prim::GetAttr && owner->s(c10::attr::name) == "layers" &&
        owner->input(0) == graph.inputs()[0]) {
      return n;
    }
  }
  return nullptr;
}

// forward's graph cut just before `self.layers`, returning the input it would give the layers:
// the file's own resizing and normalisation, whatever they are (NVLabs resizes with grid_sample,
// other ports with interpolate), so that the sFID layer sees exactly what forward feeds it.
std::shared_ptr<torch::jit::Graph> preprocessing_graph(const torch::jit::Module& m) {
  auto graph = m.get_method("forward").graph()->copy();
  Node* call = find_layers_call(*graph);
  if (!call) return nullptr;
  graph->return_node()->replaceInput(0, call->input(1));
  std::vector<Node*> after;
  for (Node* n = call->next(); n != graph->return_node(); n = n->next()) after.push_back(n);
  for (auto it = after.rbegin(); it != after.rend(); ++it) (*it)->destroy();
  call->destroy();
  torch::jit::EliminateDeadCode(graph);
  return graph;
}

// The submodule `name` of `m`, if there is one.
std::optional<torch::jit::Module> submodule(const torch::jit::Module& m, const std::string& name) {
  if (!m.hasattr(name)) return std::nullopt;
  const auto v = m.attr(name);
  if (!v.isModule()) return std::nullopt;
  return v.toModule();
}

}  // namespace

torch::jit::Module load_torchscript(const std::string& path, const torch::Device& device) {
  check(std::filesystem::is_regular_file(path), "TorchScript file '", path, "' does not exist");
  try {
    auto m = torch::jit::load(path, device);
    m.eval();
    return m;
  } catch (const c10::Error& e) {
    const std::string version = archive_version(path);
    fail("cannot load TorchScript file '", path, "' (file format version ",
         version.empty() ? "unknown" : version, "; this libtorch ", TORCH_VERSION,
         " reads versions ", caffe2::serialize::kMinSupportedFileFormatVersion, " to ",
         caffe2::serialize::kMaxSupportedFileFormatVersion, "): ", e.what_without_backtrace());
  }
}

std::string network_identity(const std::string& kind, const std::string& path) {
  char crc[16];
  std::snprintf(crc, sizeof(crc), "%08x", io::crc32_of(read_file(path)));
  return kind + ":" + std::filesystem::path(path).filename().string() + ":" + crc;
}

// ------------------------------------------------------------------------------- Inception

InceptionFeatures::InceptionFeatures(const std::string& path, const torch::Device& device,
                                     bool use_fp16)
    : module_(load_torchscript(path, device)),
      name_(network_identity("inception", path)),
      device_(device),
      use_fp16_(use_fp16) {
  check(module_.find_method("forward").has_value(), "TorchScript file '", path,
        "' has no forward method");
  auto graph = preprocessing_graph(module_);
  const auto layers = submodule(module_, "layers");
  const auto mixed_6 = layers ? submodule(*layers, "mixed_6") : std::nullopt;
  if (!graph || !layers) {
    spatial_problem_ = "its forward does not call self.layers at the top level";
  } else if (!mixed_6 || !submodule(*mixed_6, "conv")) {
    spatial_problem_ = "it has no layers.mixed_6.conv";
  } else {
    preprocess_ =
        std::make_shared<torch::jit::GraphFunction>("elit_inception_preprocess", graph, nullptr);
    spatial_available_ = true;
  }
}

torch::Tensor InceptionFeatures::network_input(const torch::Tensor& images) const {
  auto x = as_nhwc_images(images, "Inception input").permute({0, 3, 1, 2});  // [B, C, H, W]
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});                         // grey -> RGB
  return x.contiguous().to(device_);
}

torch::Tensor InceptionFeatures::preprocessed(const torch::Tensor& input) {
  return (*preprocess_)({module_._ivalue(), input, false, use_fp16_, false}).toTensor();
}

torch::Tensor InceptionFeatures::mixed_6_conv(const torch::Tensor& images) {
  check(spatial_available_, "sFID features unavailable from '", name_, "': ", spatial_problem_);
  torch::NoGradGuard no_grad;
  auto x = preprocessed(network_input(images));
  // self.layers is a Sequential; run its children in order up to mixed_6, then mixed_6.conv
  // (the first branch of that Inception block, TensorFlow's "mixed_6/conv").
  for (const auto& child : module_.attr("layers").toModule().named_children()) {
    if (child.name == "mixed_6") {
      return child.value.attr("conv").toModule().forward({x}).toTensor();
    }
    auto module = child.value;  // forward() is not const
    x = module.forward({x}).toTensor();
  }
  fail("'", name_, "': layers.mixed_6 not reached");  // unreachable: checked at load
}

torch::Tensor InceptionFeatures::probabilities(const torch::Tensor& images, bool no_output_bias) {
  torch::NoGradGuard no_grad;
  return module_.forward({network_input(images), false, use_fp16_, no_output_bias}).toTensor();
}

FeatureSet InceptionFeatures::extract(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  const auto input = network_input(images);
  FeatureSet out;
  const auto f = module_.forward({input, true, use_fp16_, false}).toTensor().to(torch::kFloat32);
  out.features = f.cpu();
  if (const auto output = submodule(module_, "output"); output && output->hasattr("weight")) {
    // The same operations as forward(..., no_output_bias=True), reusing the features.
    const auto w = output->attr("weight").toTensor().to(torch::kFloat32);
    out.probs = torch::softmax(f.matmul(w.t()), 1).cpu();
  } else {
    out.probs =
        module_.forward({input, false, use_fp16_, true}).toTensor().to(torch::kFloat32).cpu();
  }
  if (spatial_available_) {
    // [B, C, H, W] -> first 7 channels -> [B, H, W, 7] -> [B, H*W*7]
    const auto s = mixed_6_conv(images).slice(1, 0, 7).permute({0, 2, 3, 1});
    out.spatial = s.reshape({s.size(0), -1}).to(torch::kFloat32).cpu();
  }
  return out;
}

// ------------------------------------------------------------------------------- generic

ImagePreprocessing dinov2_preprocessing() {
  return {};
}

torch::Tensor preprocess_images(const torch::Tensor& images, const ImagePreprocessing& p) {
  auto x = as_nhwc_images(images, "feature network input").permute({0, 3, 1, 2});
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  x = x.to(torch::kFloat32).div(255.0);  // [B, 3, H, W] in [0, 1]
  if (p.size > 0) {
    x = p.bicubic_antialias
            ? torch::_upsample_bicubic2d_aa(x, {p.size, p.size}, /*align_corners=*/false)
            : torch::upsample_bilinear2d(x, {p.size, p.size}, /*align_corners=*/false);
  }
  const auto mean = torch::tensor({p.mean[0], p.mean[1], p.mean[2]}, torch::kFloat32);
  const auto std = torch::tensor({p.std[0], p.std[1], p.std[2]}, torch::kFloat32);
  return ((x - mean.view({1, 3, 1, 1})) / std.view({1, 3, 1, 1})).contiguous();
}

TorchScriptFeatures::TorchScriptFeatures(const std::string& path, ImagePreprocessing p,
                                         const torch::Device& device, std::string kind)
    : module_(load_torchscript(path, device)),
      preprocessing_(p),
      name_(network_identity(kind, path)),
      device_(device) {}

FeatureSet TorchScriptFeatures::extract(const torch::Tensor& images) {
  torch::NoGradGuard no_grad;
  auto y = module_.forward({preprocess_images(images, preprocessing_).to(device_)}).toTensor();
  if (y.dim() == 3) y = y.select(1, 0);  // [B, T, D] -> CLS token [B, D]
  check(y.dim() == 2 && y.size(0) == images.size(0), "'", name_, "' returned features of shape ",
        y.sizes(), "; expected [B, D] or [B, T, D]");
  FeatureSet out;
  out.features = y.to(torch::kFloat32).cpu();
  return out;
}

}  // namespace elit::metrics
