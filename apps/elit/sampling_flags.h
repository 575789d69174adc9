// Flags and output helpers shared by `elit sample`, `elit budgets` and `elit guidance`.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "elit/sampling/generate.h"
#include "vae_flags.h"

namespace elit::app {

// --num when not given (any count the user can type, 0 included, is checked).
inline constexpr int64_t kNumDefault = std::numeric_limits<int64_t>::min();
// The images of one run are held in memory until written: more than this is refused up front.
inline constexpr uint64_t kMaxSampleBytes = uint64_t(8) << 30;

struct LoadedModel;

struct SamplingFlags {
  ModelOptions model;
  std::string sampler = "euler";
  int64_t steps = 50;
  double cfg_scale = 1.0;
  double guidance_low = 0.0, guidance_high = 1.0;
  std::string classes;        // "0,3,7" or "all"; empty = the command's default
  int64_t num = kNumDefault;  // kNumDefault = one image per listed class
  uint64_t seed = 0;
  int64_t batch_size = 16;
  std::string dtype = "float32", device = "cpu";
  std::string out;
  VAEFlags vae;                    // --vae: decode latent samples to images
  std::optional<double> teacache;  // --teacache THRESH: TeaCache on (0 = computes every step)
  std::string teacache_span;       // --teacache-span; empty = the calibration's span, else core

  // --ckpt/--model/..., --sampler, --steps, --cfg-scale, --guidance-low/high, --classes, --num,
  // --seed, --batch-size, --dtype, --device, --out (default `out_default`).
  void add_to(CLI::App& cmd, const std::string& out_default);
  // Sampler kind, steps, seed, batch, dtype, device and the guidance interval/scale.
  sampling::GenerateOptions generate_options() const;
  // With --teacache: TeaCache options from the flags and the model file's calibration (a note
  // says which fit is used, or that there is none), and a fresh log for the report.
  void apply_teacache(sampling::GenerateOptions& g, const LoadedModel& m) const;
};

// What TeaCache did in a run (steps skipped, FLOPs saved) for the command's JSON; null when it
// was off. Prints one line unless quiet.
nlohmann::json teacache_report(const sampling::GenerateOptions& g, const LoadedModel& m);

struct LoadedModel {
  io::ModelFile file;
  models::ModelPtr model;
  models::ModelSpec spec;
  std::string data_space;  // "pixels" or "latents"
  // A caption for a class: the Fashion-MNIST name for such models, else "class N".
  std::string class_name(int64_t label) const;
  // With --vae on a latent model: the decoder and the latent scaling the model was trained with
  // (checkpoint metadata elit.latents_scale / latents_bias; 0 when absent: the VAE's own).
  models::AutoencoderKL vae{nullptr};
  models::VAECodecOptions vae_codec;
  double latents_scale = 0, latents_bias = 0;
  // Samples [N, C, H, W] in model space -> pixels [N, C', H', W'] (decoded when a VAE is given),
  // with a progress bar.
  torch::Tensor to_pixels(const torch::Tensor& samples) const;
  // The decoder's options: --vae-* flags, else the latent scaling the model was trained with.
  models::VAECodecOptions decode_options() const;
  int64_t pixel_height() const;
};

// Loads --vae for a latent model and checks that its latents fit the model.
void attach_vae(LoadedModel& model, const VAEFlags& flags);

// Reads, builds and describes the model (one note line).
LoadedModel load_model(const SamplingFlags& flags);

// The labels to sample: --classes (checked against the model) cycled to --num images. Without
// --classes: every class when the model has at most `max_default` classes, else that many
// classes spread over the range.
torch::Tensor class_labels(const SamplingFlags& flags, const models::ModelSpec& spec,
                           int64_t max_default = 16, bool held_in_memory = true);

// Numbers from a comma list ("1,2.5"); an item that is not a number, or that `valid` rejects, is
// an error "FLAG: 'ITEM' is not WHAT"; an empty list is an error too.
std::vector<double> parse_number_list(const std::string& text, const std::string& flag,
                                      const std::string& what,
                                      const std::function<bool(double)>& valid);

// Budgets from a comma list ("0.25,0.5,1" or "all" = every valid budget of the model).
std::vector<double> parse_budget_list(const std::string& text, const models::ModelSpec& spec);

// Writes samples [N, C, H, W] (float, model space) under `dir`: pixel models as
// images/NNNNNN.png, grid.png (`columns` per row) and samples.npz (ADM layout: arr_0 uint8
// NHWC, and arr_1 int64 class labels when given, as ADM's class-conditional samples carry them);
// latent models (no decoder here) as latents.npz (arr_0 float32 NCHW), saying so.
// Returns the grid PNG path ("" for latents).
std::string write_samples(const std::string& dir, const torch::Tensor& samples,
                          const LoadedModel& model, int64_t columns, bool individual_pngs = true,
                          const torch::Tensor& labels = {});

// A grid of images [N, C, H, W] (row-major, `columns` per row) as grid PNG plus an SVG with row
// and column captions. Pixel models only; returns false (writing nothing) for latent models.
bool write_labelled_grid(const std::string& png_path, const std::string& svg_path,
                         const torch::Tensor& samples, const LoadedModel& model, int64_t columns,
                         const std::vector<std::string>& row_labels,
                         const std::vector<std::string>& column_labels, const std::string& title);

// Writes uint8 images [N, H, W, C] as dir/NNNNNN.png, numbered from `first_index`.
void write_pngs(const std::string& dir, const torch::Tensor& images, int64_t first_index);

// Writes uint8 images [N, H, W, C] under `dir`: images/NNNNNN.png (when asked), grid.png and
// samples.npz (arr_0, and arr_1 labels when given). Returns the grid path.
std::string write_image_set(const std::string& dir, const torch::Tensor& images, int64_t columns,
                            bool individual_pngs, const torch::Tensor& labels = {});

// Writes text (JSON, SVG) atomically, creating the folder.
void write_text(const std::string& path, const std::string& text);

// "0.25" -> "0.25", budgets and scales in labels and file names.
std::string format_value(double v);

}  // namespace elit::app
