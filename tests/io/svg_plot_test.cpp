// SVG figures: well-formed documents that carry the data, the labels and the embedded image.
#include "elit/io/svg_plot.h"

#include <gtest/gtest.h>

#include "elit/runtime/error.h"

namespace elit::io {
namespace {

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
  return n;
}

TEST(SvgPlot, LinePlotHasOnePointPerValueAndEscapedLabels) {
  const auto svg = svg_line_plot({{"flops", {0.25, 0.5, 1.0}, {1e9, 2e9, 4e9}}},
                                 {"budget <vs> FLOPs", "budget", "FLOPs"});
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(count(svg, "<circle"), 3u);
  EXPECT_NE(svg.find("budget &lt;vs&gt; FLOPs"), std::string::npos);
  EXPECT_NE(svg.find("4 G"), std::string::npos);  // value labels
  EXPECT_THROW(svg_line_plot({{"bad", {1, 2}, {1}}}, {}), elit::Error);
  EXPECT_THROW(svg_line_plot({}, {}), elit::Error);
}

TEST(SvgPlot, BarChartHasOneBarPerSeriesAndCategory) {
  const auto svg = svg_bar_chart({"2", "3"}, {"CFG", "CCFG", "AutoG"}, {{10, 10}, {6, 6}, {6, 6}},
                                 {"t", "x", "y"});
  EXPECT_EQ(count(svg, "<rect x="), 6u + 3u);  // bars + legend swatches
  EXPECT_THROW(svg_bar_chart({"2"}, {"CFG"}, {{1, 2}}, {}), elit::Error);
}

TEST(SvgPlot, LabelledGridEmbedsThePng) {
  const std::string png("\x89PNG\r\n\x1a\n", 8);
  const auto svg = svg_labelled_grid(png, 10, 20, {"b=0.25", "b=1"}, {"Trouser"}, 4, "grid");
  EXPECT_NE(svg.find("data:image/png;base64,iVBORw0KGgo="), std::string::npos);
  EXPECT_NE(svg.find("b=0.25"), std::string::npos);
  EXPECT_NE(svg.find("Trouser"), std::string::npos);
  EXPECT_NE(svg.find("width=\"40.00\""), std::string::npos);  // scaled 4x
}

TEST(SvgPlot, ShortNumbers) {
  EXPECT_EQ(short_number(245443461120.0), "245.4 G");
  EXPECT_EQ(short_number(12.5e6), "12.5 M");
  EXPECT_EQ(short_number(0.25), "0.25");
}

}  // namespace
}  // namespace elit::io
