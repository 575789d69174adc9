// One function per subcommand; each registers its flags and its callback on the app.
#pragma once
#include <CLI/CLI.hpp>

namespace elit::app {

void add_info_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_sample_command(CLI::App& app);
void add_budgets_command(CLI::App& app);
void add_guidance_command(CLI::App& app);
void add_teacache_command(CLI::App& app);
void add_attention_command(CLI::App& app);
void add_read_difficulty_command(CLI::App& app);
void add_flops_command(CLI::App& app);
void add_eval_command(CLI::App& app);
void add_ref_stats_command(CLI::App& app);
void add_train_classifier_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_vae_command(CLI::App& app);
void add_encode_dataset_command(CLI::App& app);
void add_train_vae_command(CLI::App& app);
void add_serve_command(CLI::App& app);     // with the HTTP server (ELIT_HAVE_SERVE)
void add_loadtest_command(CLI::App& app);  // with the HTTP server (ELIT_HAVE_SERVE)

}  // namespace elit::app
