# test_pgdump: the pg_dump --inserts parser (storaged/pgdump.c), with real
# PostgreSQL 15 dumps in fixtures/.  Included from tests/unit/CMakeLists.txt.
add_executable(test_pgdump ${CMAKE_CURRENT_LIST_DIR}/test_pgdump.c)
target_link_libraries(test_pgdump PRIVATE kubarr_pgdump PkgConfig::CMOCKA)
target_compile_definitions(test_pgdump PRIVATE
  PGDUMP_FIXTURE_DIR="${CMAKE_CURRENT_LIST_DIR}/fixtures")
add_test(NAME unit_test_pgdump COMMAND test_pgdump)
set_tests_properties(unit_test_pgdump PROPERTIES TIMEOUT 60 LABELS unit)
