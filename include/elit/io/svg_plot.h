// Small hand-written SVG figures that a person can open in any browser: line plots (budget vs
// FLOPs, budget vs latency), grouped bar charts (FLOPs per step of CFG/CCFG/autoguidance) and a
// labelled image grid (a PNG embedded with row and column captions).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace elit::io {

struct PlotSeries {
  std::string label;
  std::vector<double> x, y;  // same length
};

struct PlotText {
  std::string title, x_label, y_label;
};

// Lines with markers and each point's value written above it. Throws elit::Error for empty or
// mismatched series.
std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotText& text);

// Bars grouped by category: values[s][c] is series s in category c.
std::string svg_bar_chart(const std::vector<std::string>& categories,
                          const std::vector<std::string>& series_labels,
                          const std::vector<std::vector<double>>& values, const PlotText& text);

// A grid image (PNG bytes, width x height pixels, `rows` x `columns` cells) drawn `scale` times
// larger with a caption left of every row and above every column.
std::string svg_labelled_grid(const std::string& png_bytes, int64_t width, int64_t height,
                              const std::vector<std::string>& row_labels,
                              const std::vector<std::string>& column_labels, double scale,
                              const std::string& title);

// "1.23e+09"-style numbers shortened for labels: 245.4 G, 12.5 M, 0.53.
std::string short_number(double value);

}  // namespace elit::io
