#include "progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli_common.h"

namespace elit::app {

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const auto s = static_cast<int64_t>(seconds + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof buf, "%lld:%02lld:%02lld", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%02lld:%02lld", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  }
  return buf;
}

std::string format_number(double value) {
  char buf[32];
  const double a = std::fabs(value);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) {
    std::snprintf(buf, sizeof buf, "%.2e", value);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", value);
  }
  return buf;
}

Progress::Progress(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_ - std::chrono::hours(1)),
      tty_(isatty(STDERR_FILENO) != 0) {}

Progress::~Progress() {
  if (!finished_ && done_ > 0) finish();
}

void Progress::update(int64_t done,
                      const std::vector<std::pair<std::string, std::string>>& fields) {
  if (start_done_ < 0) {
    // Rates count from the bar's creation and the first report's predecessor, so a resumed run
    // shows its own speed.
    start_done_ = done > 0 ? done - 1 : 0;
  }
  done_ = done;
  fields_ = fields;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : 5.0) || done_ >= total_) {
    last_draw_ = now;
    draw(false);
  }
}

void Progress::set_time_limit(double seconds) {
  time_limit_ = seconds;
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  draw(true);
}

void Progress::draw(bool final_line) {
  if (quiet()) return;
  const double elapsed =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate =
      elapsed > 0 ? static_cast<double>(done_ - std::max<int64_t>(start_done_, 0)) / elapsed : 0;
  double eta = rate > 0 ? static_cast<double>(total_ - done_) / rate : NAN;
  const bool limited = time_limit_ > 0 && !(eta < time_limit_ - elapsed);
  if (limited) eta = std::max(0.0, time_limit_ - elapsed);
  std::ostringstream line;
  line << label_ << " ";
  if (total_ > 0) {
    const int width = 24;
    const int filled = static_cast<int>(static_cast<double>(width) * static_cast<double>(done_) /
                                        static_cast<double>(total_));
    line << "[" << std::string(std::min(filled, width), '=') << (filled < width ? ">" : "")
         << std::string(std::max(0, width - filled - 1), ' ') << "] " << done_ << "/" << total_
         << " "
         << static_cast<int>(100.0 * static_cast<double>(done_) / static_cast<double>(total_))
         << "%";
  }
  for (const auto& [k, v] : fields_) line << "  " << k << " " << v;
  line << "  " << format_number(rate) << " " << unit_ << "/s";
  line << (final_line ? "  took " + format_duration(elapsed)
                      : "  ETA " + format_duration(eta) + (limited ? " (time limit)" : ""));
  if (tty_) {
    std::cerr << "\r\033[K" << line.str() << (final_line ? "\n" : "") << std::flush;
  } else {
    std::cerr << line.str() << std::endl;
  }
}

}  // namespace elit::app
