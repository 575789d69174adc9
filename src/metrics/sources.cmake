list(APPEND ELIT_SOURCES
  src/metrics/flops.cpp
  src/metrics/flops_counter.cpp
  src/metrics/statistics.cpp
  src/metrics/frechet_distance.cpp
  src/metrics/inception_score.cpp
  src/metrics/precision_recall.cpp
  src/metrics/kid.cpp
  src/metrics/feature_network.cpp
  src/metrics/classifier.cpp
  src/metrics/classifier_training.cpp
  src/metrics/torchscript_features.cpp
  src/metrics/reference_batch.cpp
  src/metrics/evaluation.cpp
  src/metrics/evaluation_report.cpp
)
