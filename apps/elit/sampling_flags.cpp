#include "sampling_flags.h"

#include <cmath>
#include <filesystem>
#include <sstream>

#include "elit/data/fashion_mnist.h"
#include "elit/io/checkpoint_path.h"
#include "elit/io/image.h"
#include "elit/io/labelled_grid.h"
#include "elit/io/npz.h"
#include "elit/io/svg_plot.h"
#include "elit/models/budget.h"
#include "elit/runtime/atomic_file.h"
#include "elit/runtime/error.h"
#include "progress.h"

namespace elit::app {
namespace fs = std::filesystem;

void SamplingFlags::add_to(CLI::App& cmd, const std::string& out_default) {
  model.add_to(cmd);
  vae.add_to(cmd, /*required=*/false);
  out = out_default;
  cmd.add_option("--sampler", sampler, "euler | heun (ODE) | sde (Euler-Maruyama)")
      ->check(CLI::IsMember({"euler", "heun", "sde", "ode"}))
      ->capture_default_str();
  cmd.add_option("--steps", steps, "sampling steps")->capture_default_str();
  cmd.add_option("--cfg-scale", cfg_scale, "classifier-free guidance scale (guidance when > 1)")
      ->capture_default_str();
  cmd.add_option("--guidance-low", guidance_low, "guidance only for t >= this")
      ->capture_default_str();
  cmd.add_option("--guidance-high", guidance_high, "guidance only for t <= this")
      ->capture_default_str();
  cmd.add_option("--classes", classes,
                 "class labels to sample, e.g. 0,3,7, or 'all' (default: every class of a model "
                 "with up to 16 classes, else 16 spread over the range)");
  cmd.add_option("--num", num,
                 "number of images (labels cycle through --classes; default one "
                 "per class)");
  cmd.add_option("--seed", seed, "image i uses noise from seed (s, i), whatever the batch")
      ->capture_default_str();
  cmd.add_option("--batch-size", batch_size, "images per batch")->capture_default_str();
  cmd.add_option("--dtype", dtype, "float32, float64 or bfloat16")->capture_default_str();
  cmd.add_option("--device", device, "cpu, cuda or cuda:N")->capture_default_str();
  cmd.add_option("--out", out, "output folder")->capture_default_str();
  cmd.add_option("--teacache", teacache,
                 "TeaCache threshold: skip the cached span while the accumulated (calibrated) "
                 "change of its input stays below this, e.g. 0.1 (0: off). Calibrate first with "
                 "elit teacache calibrate; SiT / ELIT-SiT models")
      ->check(CLI::NonNegativeNumber);
  cmd.add_option("--teacache-span", teacache_span,
                 "what TeaCache skips: core (the latent blocks) or interface (Read -> core -> "
                 "Write); default: the calibrated span, else core")
      ->check(CLI::IsMember({"core", "interface"}));
}

void SamplingFlags::apply_teacache(sampling::GenerateOptions& g, const LoadedModel& m) const {
  if (!teacache) return;
  g.options.teacache = sampling::TeaCacheOptions::for_model(*teacache, teacache_span,
                                                            m.file.metadata, m.file.source);
  g.options.teacache_log = std::make_shared<sampling::TeaCacheLog>();
  note("TeaCache: " + g.options.teacache->describe());
}

nlohmann::json teacache_report(const sampling::GenerateOptions& g, const LoadedModel& m) {
  if (!g.options.teacache || !g.options.teacache_log) return nullptr;
  const auto& t = *g.options.teacache;
  const auto summary = sampling::summarize(*g.options.teacache_log, m.file.config, t.span);
  auto j = summary.to_json();
  j["threshold"] = t.threshold;
  j["span"] = models::cached_span_name(t.span);
  j["calibrated"] = !t.calibration.fits.empty();
  std::ostringstream line;
  line << "TeaCache skipped " << summary.skipped << " of " << summary.evaluations
       << " span evaluations";
  if (summary.flops > 0) {
    line << ", " << std::lround(100.0 * summary.flops_saved / summary.flops)
         << "% of the forward FLOPs";
  }
  note(line.str());
  return j;
}

sampling::GenerateOptions SamplingFlags::generate_options() const {
  sampling::GenerateOptions o;
  o.sampler = sampling::parse_sampler(sampler);
  o.steps = steps;
  o.seed = seed;
  o.batch_size = batch_size;
  o.dtype = parse_dtype(dtype);
  o.device = parse_device(device);
  o.options.guidance.scale = cfg_scale;
  o.options.guidance.low = guidance_low;
  o.options.guidance.high = guidance_high;
  return o;
}

std::string LoadedModel::class_name(int64_t label) const {
  auto it = file.metadata.find("elit.dataset");
  const bool fashion = it != file.metadata.end() ? it->second.find("fashion") != std::string::npos
                                                 : spec.num_classes == 10 && spec.in_channels == 1;
  const auto& names = data::fashion_mnist_classes();
  if (fashion && label >= 0 && label < static_cast<int64_t>(names.size())) return names[label];
  return "class " + std::to_string(label);
}

int64_t LoadedModel::pixel_height() const {
  return vae ? spec.height * vae->config().downsample_factor() : spec.height;
}

void attach_vae(LoadedModel& m, const VAEFlags& flags) {
  check(m.data_space == "latents", "--vae: model '", m.spec.name,
        "' works on pixels; a VAE only decodes the samples of latent models");
  m.vae = flags.load();
  check(m.vae->config().embed_dim == m.spec.in_channels, "--vae: the VAE's latents have ",
        m.vae->config().embed_dim, " channels, model '", m.spec.name, "' makes ",
        m.spec.in_channels);
  m.vae_codec = flags.codec_options();
  auto number = [&](const char* key) {
    auto it = m.file.metadata.find(key);
    return it == m.file.metadata.end() ? 0.0 : std::stod(it->second);
  };
  m.latents_scale = number("elit.latents_scale");
  m.latents_bias = number("elit.latents_bias");
}

LoadedModel load_model(const SamplingFlags& flags) {
  LoadedModel m;
  m.file = flags.model.read();
  m.model = io::build_model(m.file, parse_dtype(flags.dtype), parse_device(flags.device));
  m.file.weights.clear();  // the model holds its own copy; do not keep two
  m.spec = m.model->spec();
  m.data_space = io::model_data_space(m.file, m.spec.in_channels);
  if (flags.vae.given()) attach_vae(m, flags.vae);
  std::ostringstream msg;
  msg << "model " << m.spec.name << " from " << m.file.source << ": " << m.spec.in_channels << "x"
      << m.spec.height << "x" << m.spec.width << " " << m.data_space;
  if (m.spec.elit) msg << ", " << m.spec.tokens_per_group << " latents per group";
  note(msg.str());
  return m;
}

torch::Tensor class_labels(const SamplingFlags& flags, const models::ModelSpec& spec,
                           int64_t max_default, bool held_in_memory) {
  check(spec.num_classes > 0, "model '", spec.name, "' is not class-conditional");
  std::vector<int64_t> classes;
  if (flags.classes.empty() || flags.classes == "all") {
    const int64_t n =
        flags.classes == "all" ? spec.num_classes : std::min(spec.num_classes, max_default);
    for (int64_t i = 0; i < n; ++i) classes.push_back(i * spec.num_classes / n);
  } else {
    std::istringstream in(flags.classes);
    std::string item;
    while (std::getline(in, item, ',')) {
      size_t used = 0;
      int64_t label = -1;
      try {
        label = std::stoll(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      check(used > 0 && used == item.size(), "--classes: '", item, "' is not a class number");
      check(label >= 0 && label < spec.num_classes, "unknown class ", label, ": model '", spec.name,
            "' has ", spec.num_classes, " classes (0..", spec.num_classes - 1, ")");
      classes.push_back(label);
    }
  }
  check(!classes.empty(), "--classes lists no class");
  check(flags.num == kNumDefault || flags.num >= 1, "invalid --num ", flags.num,
        ": must be at least 1");
  const int64_t n = flags.num == kNumDefault ? static_cast<int64_t>(classes.size()) : flags.num;
  // Checked before anything is allocated: the samples (float32) are held until written, unless
  // the command writes them block by block; the labels (8 bytes each) are held in any case.
  const uint64_t image_bytes =
      held_in_memory ? 4 * static_cast<uint64_t>(spec.in_channels * spec.height * spec.width) : 8;
  check(static_cast<uint64_t>(n) <= kMaxSampleBytes / std::max<uint64_t>(image_bytes, 1), "--num ",
        n, " would hold ", static_cast<double>(n) * image_bytes / (1 << 30), " GiB of ",
        held_in_memory ? "samples" : "labels", " in memory (limit ", kMaxSampleBytes >> 30,
        " GiB): sample in several runs with different --seed");
  auto labels = torch::empty({n}, torch::kInt64);
  auto* data = labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) data[i] = classes[i % classes.size()];
  return labels;
}

std::vector<double> parse_number_list(const std::string& text, const std::string& flag,
                                      const std::string& what,
                                      const std::function<bool(double)>& valid) {
  std::vector<double> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used > 0 && used == item.size() && valid(v), flag, ": '", item, "' is not ", what);
    out.push_back(v);
  }
  check(!out.empty(), flag, " is empty");
  return out;
}

std::vector<double> parse_budget_list(const std::string& text, const models::ModelSpec& spec) {
  if (text.empty() || text == "all") {
    return spec.elit ? models::valid_budgets(spec.tokens_per_group) : std::vector<double>{1.0};
  }
  std::vector<double> out;
  std::istringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    double b = 0;
    try {
      b = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    check(used > 0 && used == item.size(), "--budgets: '", item, "' is not a number");
    sampling::check_budget(spec, b, "--budgets");
    out.push_back(b);
  }
  return out;
}

void write_text(const std::string& path, const std::string& text) {
  const auto parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent);
  write_file_atomically(path, text);
}

std::string format_value(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

void write_pngs(const std::string& dir, const torch::Tensor& images, int64_t first_index) {
  fs::create_directories(dir);
  char name[32];
  for (int64_t i = 0; i < images.size(0); ++i) {
    std::snprintf(name, sizeof name, "%06lld.png", static_cast<long long>(first_index + i));
    io::write_png((fs::path(dir) / name).string(), images[i]);
  }
}

std::string write_image_set(const std::string& dir, const torch::Tensor& images, int64_t columns,
                            bool individual_pngs, const torch::Tensor& labels) {
  fs::create_directories(dir);
  if (individual_pngs) write_pngs((fs::path(dir) / "images").string(), images, 0);
  std::map<std::string, torch::Tensor> arrays{{"arr_0", images.contiguous()}};
  if (labels.defined()) arrays["arr_1"] = labels.to(torch::kInt64).cpu();
  io::write_npz((fs::path(dir) / "samples.npz").string(), arrays);
  const auto grid = (fs::path(dir) / "grid.png").string();
  io::write_png(grid, io::make_grid(images, columns));
  return grid;
}

models::VAECodecOptions LoadedModel::decode_options() const {
  auto codec = vae_codec;
  if (codec.scale_factor <= 0 && latents_scale > 0) {
    codec.scale_factor = latents_scale;  // what the diffusion model was trained with
    codec.shift_factor = -latents_bias / latents_scale;
  }
  return codec;
}

torch::Tensor LoadedModel::to_pixels(const torch::Tensor& samples) const {
  if (!vae) return samples;
  auto codec = decode_options();
  Progress bar("vae decode", samples.size(0), "img");
  codec.progress = [&](int64_t done, int64_t) { bar.update(done); };
  auto images = models::decode_latents(*vae.ptr(), samples, codec);
  bar.finish();
  return images;
}

std::string write_samples(const std::string& dir, const torch::Tensor& samples,
                          const LoadedModel& model, int64_t columns, bool individual_pngs,
                          const torch::Tensor& labels) {
  fs::create_directories(dir);
  if (model.data_space == "latents" && !model.vae) {
    const auto path = (fs::path(dir) / "latents.npz").string();
    std::map<std::string, torch::Tensor> arrays{
        {"arr_0", samples.to(torch::kFloat32).contiguous()}};
    if (labels.defined()) arrays["arr_1"] = labels.to(torch::kInt64).cpu();
    io::write_npz(path, arrays);
    note("model '" + model.spec.name + "' works in latent space and no --vae was given: wrote " +
         "the latents (arr_0 float32 NCHW) to " + path);
    return "";
  }
  const auto images = io::to_uint8_images(model.to_pixels(samples));  // [N, H, W, C]
  return write_image_set(dir, images, columns, individual_pngs, labels);
}

bool write_labelled_grid(const std::string& png_path, const std::string& svg_path,
                         const torch::Tensor& samples, const LoadedModel& model, int64_t columns,
                         const std::vector<std::string>& row_labels,
                         const std::vector<std::string>& column_labels, const std::string& title) {
  if (model.data_space == "latents" && !model.vae) return false;
  const auto images = io::to_uint8_images(model.to_pixels(samples));
  // Small images (28 px garments) are drawn larger so that a person can see them.
  const double scale = std::max(1.0, std::floor(96.0 / static_cast<double>(model.pixel_height())));
  // The PNG carries its captions itself (most viewers open the PNG); the SVG embeds the bare grid.
  io::write_png(png_path, io::labelled_grid_image(images, columns, row_labels, column_labels, title,
                                                  static_cast<int64_t>(scale)));
  const auto grid = io::make_grid(images, columns);
  write_text(svg_path, io::svg_labelled_grid(io::encode_png(grid), grid.size(1), grid.size(0),
                                             row_labels, column_labels, scale, title));
  return true;
}

}  // namespace elit::app
