# kubarr_pgdump: parser for pg_dump --data-only --inserts output (import-pg).
# Pure parsing, no SQLite; included from storaged/CMakeLists.txt.
add_library(kubarr_pgdump STATIC ${CMAKE_CURRENT_LIST_DIR}/pgdump.c)
target_include_directories(kubarr_pgdump PUBLIC ${CMAKE_CURRENT_LIST_DIR})
target_link_libraries(kubarr_pgdump PUBLIC kubarr_common)
