// elit: train, sample, measure and convert ELIT models from the command line.
#include <iostream>

#include "cli_common.h"
#include "commands.h"
#include "distributed.h"
#include "elit/runtime/cpu.h"
#include "elit/runtime/error.h"

namespace {

// CLI11 handles --help before it notices an unknown command word, so `elit serve --help` would
// print the main help and succeed: the first word that is not an option must name a command.
void check_command_word(CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--threads") ++i;  // the global option that takes a value
    if (arg.empty() || arg[0] == '-') continue;
    std::string known;
    for (const auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
      if (sub->get_name() == arg) return;
      known += " " + sub->get_name();
    }
    elit::fail("unknown command '", arg, "' (commands:", known, "; see elit --help)");
  }
}

}  // namespace

int main(int argc, char** argv) {
  elit::ensure_fast_cpu_runtime(argc, argv);
  elit::app::remember_command_line(argc, argv);
  CLI::App app{
      "elit: Elastic Latent Interface Transformers (ELIT) in C++ on libtorch.\n"
      "One model, many budgets: train SiT / ELIT-SiT models, sample them at any compute budget,\n"
      "and measure FLOPs, latency and quality. Run 'elit <command> --help' for details.",
      "elit"};
  app.require_subcommand(1);
  elit::app::add_global_options(app);
  elit::app::add_info_command(app);
  elit::app::add_forward_command(app);
  elit::app::add_convert_command(app);
  elit::app::add_sample_command(app);
  elit::app::add_budgets_command(app);
  elit::app::add_guidance_command(app);
  elit::app::add_teacache_command(app);
  elit::app::add_attention_command(app);
  elit::app::add_read_difficulty_command(app);
  elit::app::add_flops_command(app);
  elit::app::add_eval_command(app);
  elit::app::add_ref_stats_command(app);
  elit::app::add_train_classifier_command(app);
  elit::app::add_train_command(app);
  elit::app::add_bench_command(app);
  elit::app::add_vae_command(app);
  elit::app::add_encode_dataset_command(app);
  elit::app::add_train_vae_command(app);
#ifdef ELIT_HAVE_SERVE
  elit::app::add_serve_command(app);
  elit::app::add_loadtest_command(app);
#endif
  try {
    check_command_word(app, argc, argv);
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const elit::Error& e) {
    std::cerr << "elit: error: " << e.what() << std::endl;
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "elit: error (libtorch): " << e.what_without_backtrace() << std::endl;
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "elit: error: " << e.what() << std::endl;
    return 1;
  }
  return 0;
}
