# Warnings, warnings-as-errors and sanitizers for the project's own targets.
add_library(pmt_compile_options INTERFACE)
target_compile_options(pmt_compile_options INTERFACE
  -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 -Wvla
  -Wpointer-arith -Wundef)
if(PMT_WERROR)
  target_compile_options(pmt_compile_options INTERFACE -Werror)
endif()
if(PMT_SANITIZE)
  string(REPLACE ";" "," _pmt_sanitizers "${PMT_SANITIZE}")
  target_compile_options(pmt_compile_options INTERFACE
    -fsanitize=${_pmt_sanitizers} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  target_link_options(pmt_compile_options INTERFACE -fsanitize=${_pmt_sanitizers})
endif()
