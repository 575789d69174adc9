// Where evaluation data comes from (datasets, reference files) and how its report is written.
#include <filesystem>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "elit/data/fashion_mnist.h"
#include "elit/metrics/evaluation.h"
#include "elit/runtime/error.h"

namespace elit::metrics {
namespace {

using nlohmann::json;

json fd_json(const FdResult& f) {
  return {{"value", f.value},
          {"floor", f.floor},
          {"count", f.count},
          {"reference_count", f.reference_count},
          {"floor_count", f.floor_count},
          {"floor_method", f.floor_method}};
}

std::string fd_line(const std::string& name, const FdResult& f) {
  std::ostringstream s;
  s << std::setprecision(6) << name << " " << f.value << "  (real-vs-real floor " << f.floor << ", "
    << f.floor_method << "; N = " << f.count << " samples, " << f.floor_count << " floor)";
  return s.str();
}

void add_fashion_test(RealData& d, const std::string& dir, int64_t size) {
  auto test = data::load_fashion_mnist("test", dir);
  d.floor_images = fit_images(test.images, size);
  d.floor_description = "fashion-mnist test split";
  d.test_images = d.floor_images;
  d.test_labels = test.labels;
}

}  // namespace

RealData real_data_from_dataset(const std::string& name, const std::string& dir_in, int64_t size) {
  check(name == "fashion-mnist", "unknown reference dataset '", name,
        "' (expected fashion-mnist; give other data as a reference batch .npz)");
  const std::string dir = dir_in.empty() ? std::string(data::kFashionMnistDir) : dir_in;
  RealData d;
  d.description = "fashion-mnist train split";
  d.reference.images = fit_images(data::load_fashion_mnist("train", dir).images, size);
  d.reference.dataset = "fashion-mnist/train";
  add_fashion_test(d, dir, size);
  return d;
}

RealData real_data_from_file(const std::string& path) {
  RealData d;
  d.description = path;
  d.reference = read_reference_batch(path);
  if (d.reference.dataset.rfind("fashion-mnist", 0) == 0 &&
      std::filesystem::exists(std::string(data::kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz")) {
    add_fashion_test(d, data::kFashionMnistDir,
                     d.reference.images.defined() ? d.reference.images.size(1) : 0);
  }
  return d;
}

std::string report_json(const EvalReport& r) {
  json j = {{"samples", r.samples},
            {"reference", r.reference},
            {"feature_network", r.feature_network},
            {"sample_count", r.sample_count},
            {"fd", fd_json(r.fd)},
            {"precision", r.pr.precision},
            {"recall", r.pr.recall},
            {"precision_recall",
             {{"k", r.pr_k},
              {"reference_count", r.pr_reference_count},
              {"sample_count", r.sample_count}}},
            {"kid",
             {{"value", r.kid.value},
              {"std", r.kid.std},
              {"subsets", r.kid.subsets},
              {"subset_size", r.kid.subset_size}}}};
  if (r.sfid) j["sfid"] = fd_json(*r.sfid);
  if (r.fdd) j["fdd"] = fd_json(*r.fdd);
  if (r.inception_score) {
    j["inception_score"] = *r.inception_score;
    j["is_split_size"] = r.is_split_size;
  }
  if (r.cas) {
    j["cas"] = {{"accuracy", r.cas->accuracy},
                {"train_count", r.cas->train_count},
                {"test_count", r.cas->test_count},
                {"steps", r.cas->steps},
                {"seconds", r.cas->seconds}};
  } else {
    j["cas"] = {{"skipped", r.cas_note}};
  }
  json secs = json::object();
  for (const auto& [stage, s] : r.seconds) secs[stage] = s;
  j["seconds"] = secs;
  return j.dump(2);
}

std::string report_text(const EvalReport& r) {
  std::ostringstream s;
  s << "samples " << r.samples << " (N = " << r.sample_count << ") vs " << r.reference
    << "\nfeatures " << r.feature_network << "\n"
    << fd_line("FD", r.fd) << "\n";
  if (r.sfid) s << fd_line("sFID", *r.sfid) << "\n";
  if (r.fdd) s << fd_line("FDD", *r.fdd) << "\n";
  s << std::fixed << std::setprecision(4);
  if (r.inception_score)
    s << "IS " << *r.inception_score << " (splits of " << r.is_split_size << ")\n";
  s << "precision " << r.pr.precision << "  recall " << r.pr.recall << "  (k = " << r.pr_k << ", "
    << r.pr_reference_count << " reference images)\n";
  s << std::defaultfloat << std::setprecision(6) << "KID " << r.kid.value;
  if (r.kid.subsets > 0)
    s << " +- " << r.kid.std << " (" << r.kid.subsets << " subsets of " << r.kid.subset_size << ")";
  s << "\n";
  if (r.cas) {
    s << std::fixed << std::setprecision(4) << "CAS " << r.cas->accuracy << " (trained on "
      << r.cas->train_count << " samples, tested on " << r.cas->test_count << " real)\n";
  } else {
    s << "CAS skipped: " << r.cas_note << "\n";
  }
  return s.str();
}

}  // namespace elit::metrics
