list(APPEND ELIT_FAST_TEST_SOURCES
  models/budget_test.cpp
  models/grouping_test.cpp
  models/parity_test.cpp
  models/sit_test.cpp
  models/reference_case.cpp
  models/mmdit_parity_test.cpp
  models/mmdit_test.cpp
  models/mmdit_text_test.cpp
)
list(APPEND ELIT_SLOW_TEST_SOURCES
  models/mmdit_train_test.cpp
)
