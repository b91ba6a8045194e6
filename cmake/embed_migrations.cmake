# Writes OUTPUT, a C++ file defining servicemanager::store::FUNCTION()
# (EmbeddedMigrations() unless FUNCTION is set) from the NNNN_title.up.sql
# files in MIGRATIONS_DIR, in order.
if(NOT FUNCTION)
  set(FUNCTION EmbeddedMigrations)
endif()
file(GLOB files "${MIGRATIONS_DIR}/*.up.sql")
list(SORT files)
set(body "")
foreach(path IN LISTS files)
  get_filename_component(file_name "${path}" NAME)
  if(NOT file_name MATCHES "^([0-9][0-9][0-9][0-9])_([a-z0-9_]+)\\.up\\.sql$")
    message(FATAL_ERROR "migration ${file_name} is not named NNNN_title.up.sql")
  endif()
  math(EXPR version "${CMAKE_MATCH_1}")
  file(READ "${path}" sql)
  string(APPEND body "      {${version}, \"${file_name}\", R\"sm_sql(${sql})sm_sql\"},\n")
endforeach()
file(WRITE "${OUTPUT}.tmp" "// Generated from migrations/ by cmake/embed_migrations.cmake.
#include \"store/migrator.h\"

namespace servicemanager::store {

const std::vector<Migration>& ${FUNCTION}() {
  static const auto* const kMigrations = new std::vector<Migration>{
${body}  };
  return *kMigrations;
}

}  // namespace servicemanager::store
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
