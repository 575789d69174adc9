// Progress bars for work in named stages (evaluation: features, precision/recall, KID, ...): one
// bar per stage, created once the stage reports its total.
#pragma once
#include <memory>
#include <string>

#include "progress.h"

namespace elit::app {

class StageBars {
 public:
  void operator()(const std::string& stage, int64_t done, int64_t total) {
    if (stage != stage_) {
      finish();
      stage_ = stage;
    }
    if (done <= 0) return;  // the stage has started; its total is known with the first report
    if (!bar_ || total != total_) {
      if (bar_) bar_->finish();
      bar_ = std::make_unique<Progress>(stage, total, "");
      total_ = total;
    }
    bar_->update(done);
  }
  void finish() {
    if (bar_) bar_->finish();
    bar_.reset();
  }

 private:
  std::string stage_;
  std::unique_ptr<Progress> bar_;
  int64_t total_ = 0;
};

}  // namespace elit::app
