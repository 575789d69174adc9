// One function per subcommand; each registers its flags and its callback on the app.
#pragma once
#include <CLI/CLI.hpp>

namespace elit::app {

void add_info_command(CLI::App& app);
void add_forward_command(CLI::App& app);
void add_convert_command(CLI::App& app);
void add_train_command(CLI::App& app);
void add_bench_command(CLI::App& app);

}  // namespace elit::app
