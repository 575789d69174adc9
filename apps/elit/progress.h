// A terminal progress bar for long work (training, sampling, evaluation) on stderr:
//   train [=========>          ]  450/1000  45%  loss 0.312  lr 1e-4  8.1 it/s  ETA 01:08
// On a terminal it redraws in place (at most 10 times a second); otherwise (logs, CI) it prints
// one line every few seconds. Silent under --quiet.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace elit::app {

class Progress {
 public:
  Progress(std::string label, int64_t total, std::string unit = "it");
  ~Progress();
  // Reports that `done` of `total` are finished, with extra "key value" fields.
  void update(int64_t done, const std::vector<std::pair<std::string, std::string>>& fields = {});
  void finish();  // final line with the total time
  // The work stops after this many seconds from the bar's creation even if unfinished (the ETA
  // shows whichever comes first); 0: no limit.
  void set_time_limit(double seconds);

 private:
  void draw(bool final_line);
  std::string label_, unit_;
  int64_t total_, done_ = 0, start_done_ = -1;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::chrono::steady_clock::time_point start_, last_draw_;
  double time_limit_ = 0;
  bool tty_, finished_ = false;
};

// "01:08", "1:02:03".
std::string format_duration(double seconds);
// Compact number for progress fields: 0.3124, 1.2e-04.
std::string format_number(double value);

}  // namespace elit::app
