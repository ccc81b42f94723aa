kubarr_fuzz(fuzz_pgdump LIBS kubarr_pgdump CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/pgdump)
