#include "elit/io/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

constexpr double kWidth = 720, kHeight = 440;
constexpr double kLeft = 80, kRight = 24, kTop = 48, kBottom = 64;
const char* const kColors[] = {"#2196F3", "#FF5722", "#4CAF50", "#9C27B0", "#795548", "#607D8B"};

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// A "nice" tick spacing (1, 2, 2.5 or 5 times a power of ten) giving at most ~6 ticks.
double tick_step(double range) {
  const double raw = range / 5.0;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * power >= raw) return m * power;
  }
  return 10 * power;
}

// Linear axis from 0 (or from below the data minimum when it is far from 0) to a padded maximum,
// with ticks at round numbers.
struct Axis {
  double lo = 0, hi = 1;
  Axis(double min_v, double max_v) {
    lo = min_v >= 0 && min_v < 0.5 * max_v ? 0.0 : min_v;
    hi = max_v > lo ? max_v : lo + 1;
    const double pad = 0.08 * (hi - lo);
    hi += pad;
    if (lo != 0) lo -= pad;
  }
  double map(double v, double from, double to) const {
    return from + (v - lo) / (hi - lo) * (to - from);
  }
  std::vector<double> ticks() const {
    const double step = tick_step(hi - lo);
    std::vector<double> out;
    for (double v = std::ceil(lo / step) * step; v <= hi + 1e-12 * step; v += step)
      out.push_back(v);
    return out;
  }
};

void open_svg(std::ostringstream& out, const PlotText& text) {
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\" "
      << "font-weight=\"bold\">" << escape(text.title) << "</text>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"" << kHeight - 16
      << "\" text-anchor=\"middle\" font-size=\"13\">" << escape(text.x_label) << "</text>\n"
      << "<text transform=\"translate(18," << kHeight / 2
      << ") rotate(-90)\" text-anchor=\"middle\" font-size=\"13\">" << escape(text.y_label)
      << "</text>\n";
}

void y_axis(std::ostringstream& out, const Axis& y) {
  for (double v : y.ticks()) {
    const double py = y.map(v, kHeight - kBottom, kTop);
    out << "<line x1=\"" << kLeft << "\" x2=\"" << kWidth - kRight << "\" y1=\"" << num(py)
        << "\" y2=\"" << num(py) << "\" stroke=\"#ddd\"/>\n"
        << "<text x=\"" << kLeft - 6 << "\" y=\"" << num(py + 4) << "\" text-anchor=\"end\">"
        << short_number(v) << "</text>\n";
  }
  out << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft << "\" y1=\"" << kTop << "\" y2=\""
      << kHeight - kBottom << "\" stroke=\"black\"/>\n";
}

void legend(std::ostringstream& out, const std::vector<std::string>& labels) {
  if (labels.size() < 2) return;
  for (size_t i = 0; i < labels.size(); ++i) {
    const double y = kTop + 8 + 18.0 * i;
    out << "<rect x=\"" << kLeft + 12 << "\" y=\"" << y - 9 << "\" width=\"12\" height=\"12\" "
        << "fill=\"" << kColors[i % 6] << "\"/><text x=\"" << kLeft + 30 << "\" y=\"" << y + 1
        << "\">" << escape(labels[i]) << "</text>\n";
  }
}

}  // namespace

std::string short_number(double v) {
  const double a = std::fabs(v);
  char buf[32];
  if (a >= 1e12)
    std::snprintf(buf, sizeof buf, "%.3g T", v / 1e12);
  else if (a >= 1e9)
    std::snprintf(buf, sizeof buf, "%.4g G", v / 1e9);
  else if (a >= 1e6)
    std::snprintf(buf, sizeof buf, "%.4g M", v / 1e6);
  else if (a >= 1e3)
    std::snprintf(buf, sizeof buf, "%.4g k", v / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string svg_line_plot(const std::vector<PlotSeries>& series, const PlotText& text) {
  check(!series.empty(), "plot '", text.title, "' has no data");
  double x_min = INFINITY, x_max = -INFINITY, y_min = INFINITY, y_max = -INFINITY;
  for (const auto& s : series) {
    check(!s.x.empty() && s.x.size() == s.y.size(), "plot '", text.title, "': series '", s.label,
          "' has ", s.x.size(), " x and ", s.y.size(), " y values");
    for (size_t i = 0; i < s.x.size(); ++i) {
      x_min = std::min(x_min, s.x[i]), x_max = std::max(x_max, s.x[i]);
      y_min = std::min(y_min, s.y[i]), y_max = std::max(y_max, s.y[i]);
    }
  }
  const Axis x(std::min(0.0, x_min), std::max(x_max, x_min + 1e-9)), y(y_min, y_max);
  std::ostringstream out;
  open_svg(out, text);
  y_axis(out, y);
  for (double v : x.ticks()) {
    const double px = x.map(v, kLeft, kWidth - kRight);
    out << "<text x=\"" << num(px) << "\" y=\"" << kHeight - kBottom + 18
        << "\" text-anchor=\"middle\">" << short_number(v) << "</text>\n";
  }
  std::vector<std::string> labels;
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % 6];
    labels.push_back(s.label);
    std::string points;
    for (size_t i = 0; i < s.x.size(); ++i) {
      points += num(x.map(s.x[i], kLeft, kWidth - kRight)) + "," +
                num(y.map(s.y[i], kHeight - kBottom, kTop)) + " ";
    }
    out << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"2\" points=\""
        << points << "\"/>\n";
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double px = x.map(s.x[i], kLeft, kWidth - kRight);
      const double py = y.map(s.y[i], kHeight - kBottom, kTop);
      out << "<circle cx=\"" << num(px) << "\" cy=\"" << num(py) << "\" r=\"4\" fill=\"" << color
          << "\"><title>" << s.x[i] << ": " << s.y[i] << "</title></circle>\n"
          << "<text x=\"" << num(px) << "\" y=\"" << num(py - 9)
          << "\" text-anchor=\"middle\" font-size=\"9\">" << short_number(s.y[i]) << "</text>\n";
    }
  }
  legend(out, labels);
  out << "</svg>\n";
  return out.str();
}

std::string svg_bar_chart(const std::vector<std::string>& categories,
                          const std::vector<std::string>& series_labels,
                          const std::vector<std::vector<double>>& values, const PlotText& text) {
  check(!categories.empty() && !series_labels.empty() && values.size() == series_labels.size(),
        "bar chart '", text.title, "' needs values for every series");
  double y_max = 0;
  for (const auto& row : values) {
    check(row.size() == categories.size(), "bar chart '", text.title, "': a series has ",
          row.size(), " values for ", categories.size(), " categories");
    for (double v : row) y_max = std::max(y_max, v);
  }
  const Axis y(0, y_max);
  std::ostringstream out;
  open_svg(out, text);
  y_axis(out, y);
  const double slot = (kWidth - kLeft - kRight) / static_cast<double>(categories.size());
  const double bar = 0.8 * slot / static_cast<double>(series_labels.size());
  for (size_t c = 0; c < categories.size(); ++c) {
    const double x0 = kLeft + slot * c + 0.1 * slot;
    out << "<text x=\"" << num(kLeft + slot * (c + 0.5)) << "\" y=\"" << kHeight - kBottom + 18
        << "\" text-anchor=\"middle\">" << escape(categories[c]) << "</text>\n";
    for (size_t s = 0; s < series_labels.size(); ++s) {
      const double v = values[s][c], top = y.map(v, kHeight - kBottom, kTop);
      const double px = x0 + bar * s;
      out << "<rect x=\"" << num(px) << "\" y=\"" << num(top) << "\" width=\"" << num(bar * 0.95)
          << "\" height=\"" << num(kHeight - kBottom - top) << "\" fill=\"" << kColors[s % 6]
          << "\"><title>" << escape(series_labels[s]) << ": " << v << "</title></rect>\n"
          << "<text x=\"" << num(px + bar / 2) << "\" y=\"" << num(top - 4)
          << "\" text-anchor=\"middle\" font-size=\"9\">" << short_number(v) << "</text>\n";
    }
  }
  legend(out, series_labels);
  out << "</svg>\n";
  return out.str();
}

static std::string base64(const std::string& bytes) {
  static const char* table = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n =
        (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += table[(n >> k) & 63];
  }
  if (i < bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= uint8_t(bytes[i + 1]) << 8;
    out += table[(n >> 18) & 63];
    out += table[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? table[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string svg_labelled_grid(const std::string& png_bytes, int64_t width, int64_t height,
                              const std::vector<std::string>& row_labels,
                              const std::vector<std::string>& column_labels, double scale,
                              const std::string& title) {
  check(width > 0 && height > 0 && scale > 0, "labelled grid needs a positive size and scale");
  const double left = row_labels.empty() ? 8 : 150, top = column_labels.empty() ? 40 : 60;
  const double w = width * scale, h = height * scale;
  std::ostringstream out;
  out << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(left + w + 8) << "\" height=\""
      << num(top + h + 8) << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"8\" y=\"24\" font-size=\"15\" font-weight=\"bold\">" << escape(title)
      << "</text>\n"
      << "<image x=\"" << num(left) << "\" y=\"" << num(top) << "\" width=\"" << num(w)
      << "\" height=\"" << num(h) << "\" style=\"image-rendering:pixelated\" "
      << "href=\"data:image/png;base64," << base64(png_bytes) << "\"/>\n";
  for (size_t r = 0; r < row_labels.size(); ++r) {
    const double cy = top + h * (r + 0.5) / row_labels.size();
    out << "<text x=\"" << num(left - 8) << "\" y=\"" << num(cy + 4) << "\" text-anchor=\"end\">"
        << escape(row_labels[r]) << "</text>\n";
  }
  for (size_t c = 0; c < column_labels.size(); ++c) {
    const double cx = left + w * (c + 0.5) / column_labels.size();
    out << "<text x=\"" << num(cx) << "\" y=\"" << num(top - 8) << "\" text-anchor=\"middle\">"
        << escape(column_labels[c]) << "</text>\n";
  }
  out << "</svg>\n";
  return out.str();
}

}  // namespace elit::io
