list(APPEND ELIT_FAST_TEST_SOURCES
  models/budget_test.cpp
  models/grouping_test.cpp
  models/parity_test.cpp
  models/sit_test.cpp
  models/reference_case.cpp
)
